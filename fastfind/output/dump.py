"""Text dump of a data set, line for line as DCMTK 3.6.7 prints it (``DcmObject::print``, flags 0).

findscu logs every request/response identifier this way; ``dcmdump +L -dc`` prints the same
text for a file. Facts reproduced here (each checked against ``dcmdump``):

* Elements of a data set or item are printed in ascending tag order; a repeated tag keeps its
  first occurrence (DCMTK ignores the second one). Items keep their order.
* ``(gggg,eeee) VR value`` with lowercase hex tags; the value field is padded to 40 columns
  (counted in bytes), then `` # `` + length right-aligned in 3 (``u/l`` if undefined) + ``,`` +
  VM right-aligned in 2 + the dictionary name (``Unknown Tag & Data`` when unknown).
* Sequences and items are announced with ``(Sequence with explicit length #=N)`` etc. and closed
  with the delimiters DCMTK prints: the real ones as read (``(ItemDelimitationItem)``), synthetic
  ones ``... for re-encoding`` / ``... for re-encod.`` after explicit-length containers.
* Implicit VR: VR from the dictionary, DCMTK's internal names where the dictionary is ambiguous
  (``xs`` = US or SS, ``ox`` = OB or OW, ``lt`` = US or OW, ``up`` = offset UL), ``??`` when the
  tag is unknown (value shown as hex bytes); PixelRepresentation / WaveformBitsAllocated resolve
  ``xs``/``ox`` as in DCMTK's ``DcmItem::checkAndUpdateVR`` (PS3.5 §8, PS3.3 C.7.6.3).
* Numbers: US/SS/UL/SL/SV/UV/OL/OV decimal, OB/UN hex bytes, OW hex words, AT ``(gggg,eeee)``,
  FL/OF/FD/OD through :func:`dcmtk_float` (DCMTK's own %g with 9 / 17 significant digits).
* Private elements are named through :func:`fastfind.dicom.dictionary.entry_for` with the creator read
  earlier in the same item (DCMTK's private tag cache); UID names come from the table at the end
  of this module (DCMTK 3.6.7's ``dcmFindNameOfUID`` results, observed with ``dcmdump``).
* String values are the raw bytes between ``[`` and ``]`` (no charset conversion, padding kept:
  findscu runs with automatic data correction off). Known UIDs print as ``=Name``.

Deliberate deviation (terminal-injection defence, hostile-scp.md row 64): DCMTK writes control
characters inside values to the terminal unchanged. Here, inside a string value:

* every C0 control character and DEL is shown as ``\\xNN`` -- except one trailing NUL, the legal
  UI padding (PS3.5 §6.2), which is kept raw so that padded UIDs stay byte-identical with DCMTK
  (a terminal ignores it);
* a C1 control (U+0080-U+009F, e.g. CSI) is escaped in both of its forms: UTF-8 encoded
  (``C2 80``..``C2 9F`` shown as ``\\xc2\\xNN``) and as a raw byte 0x80-0x9F that is not part of
  a valid UTF-8 multi-byte sequence (Latin-1 C1, broken UTF-8; shown as ``\\xNN``);
* everything else is kept byte for byte: valid UTF-8 sequences and bytes >= 0xA0, so ordinary
  text in UTF-8 (ISO_IR 192) and Latin-1 (ISO_IR 100 ...) dumps exactly as DCMTK dumps it.
  (Multi-byte character sets whose trail bytes may fall in 0x80-0x9F, GBK/GB18030, then show
  those bytes escaped.)

Column padding counts the escaped text. Bytes >= 0x80 are returned as surrogate escapes
(``bytes.decode("ascii", "surrogateescape")``); the caller writes them with
``errors="surrogateescape"`` so the original bytes come out.

Bounded memory: :func:`iter_dataset` prints straight from the token walk, one line at a time,
and a value longer than 4 KiB is a :class:`LongLine` whose text comes in pieces of at most
8 Ki bytes or values, so dumping a data set never builds a string or object per element, nor
one string for a value of many MiB.

The text DCMTK logs is ``"\\n" + "\\n".join(lines) + "\\n"``: the logger shows it as an empty
line, the lines, and another empty line (see :func:`log_lines`).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import re
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from struct import Struct
from typing import Any, Union

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from .. import codec
from ..dicom.dictionary import entry, entry_for
from ..dicom.vr import (
    PIXEL_REPRESENTATION,
    SINGLE_VALUED,
    STANDARD_VRS,
    STRING_VRS,
    UNKNOWN_NAME,
    WAVEFORM_BITS_ALLOCATED,
    implicit_vr,
)

__all__ = [
    "dcmtk_float",
    "dump_identifier",
    "format_dataset",
    "format_file",
    "log_lines",
    "request_lines",
    "uid_name",
]


_VALUE_WIDTH = 40  # DCM_OptPrintValueLength
_STRING_VRS = STRING_VRS
_SINGLE_VALUED = SINGLE_VALUED
_STANDARD_VRS = STANDARD_VRS
# VR -> (struct code, item size, kind); kind "i" = integer, "f" = float, "at" = tag pairs.
_NUMERIC = {
    "US": ("H", 2, "i"),
    "xs": ("H", 2, "i"),
    "SS": ("h", 2, "i"),
    "UL": ("L", 4, "i"),
    "up": ("L", 4, "i"),
    "SL": ("l", 4, "i"),
    "SV": ("q", 8, "i"),
    "UV": ("Q", 8, "i"),
    "FL": ("f", 4, "f9"),
    "FD": ("d", 8, "f17"),
    "AT": ("H", 4, "at"),
}
_OTHER = {  # VM is always 1 for these
    "OL": ("L", 4, "i"),
    "OV": ("Q", 8, "i"),
    "OF": ("f", 4, "f9"),
    "OD": ("d", 8, "f17"),
}
_HEX_WORDS = frozenset(("OW", "lt"))

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def log_lines(lines: list[str]) -> list[str]:
    """The lines the DCMTK logger shows for a dump: an empty line, ``lines``, an empty line."""
    return ["", *lines, ""]


# ---- DCMTK's %g (OFStandard::ftoa, 4.3BSD style digit generation) -----------------------------
def _round_up(digits: list[str], exp: list[int] | None) -> None:
    """Add one unit in the last place of ``digits`` (a list of chars, may contain '.')."""
    i = len(digits) - 1
    while True:
        if digits[i] == ".":
            i -= 1
        if digits[i] != "9":
            digits[i] = chr(ord(digits[i]) + 1)
            return
        digits[i] = "0"
        if i == 0:
            if exp is not None:
                digits[0] = "1"
                exp[0] += 1
            else:
                digits.insert(0, "1")
            return
        i -= 1


def _needs_round(fract: float, next_digit: str) -> bool:
    tmp = math.modf(fract * 10)[1] if fract else float(next_digit)
    return tmp > 4


def dcmtk_float(value: float, prec: int) -> str:
    """Format ``value`` the way DCMTK 3.6.7 prints FL (``prec`` 9) and FD (``prec`` 17) values.

    DCMTK does not use the C library here but its own digit generator (repeated ``modf`` by 10),
    so the last digits differ from ``%.17g`` for some values (``0.1`` prints as ``0.1``).
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    sign = ""
    if value < 0:
        sign = "-"
        value = -value
    fract, integer = math.modf(value)
    int_digits: list[str] = []
    while integer:
        tmp, integer = math.modf(integer / 10)
        int_digits.append(chr(48 + int((tmp + 0.01) * 10)))
    int_digits.reverse()
    expcnt = len(int_digits)
    prec = prec or 1
    out: list[str]
    if expcnt > prec or (not expcnt and fract and fract < 0.0001):
        prec -= 1  # e style: the digit before the point is not counted
        exp = [0]
        if expcnt:
            out = [int_digits[0]]
            if prec:
                out.append(".")
            pos = 1
            while prec and pos < expcnt:
                out.append(int_digits[pos])
                pos += 1
                prec -= 1
            if not prec and pos < expcnt:
                fract = 0.0
                exp[0] = expcnt
                if _needs_round(0.0, int_digits[pos]):
                    _round_up(out, exp)
                expcnt = exp[0]
            expcnt -= 1
        elif fract:
            expcnt = -1
            while True:
                fract, tmp = math.modf(fract * 10)
                if tmp:
                    break
                expcnt -= 1
            out = [chr(48 + int(tmp))]
            if prec:
                out.append(".")
        else:
            out = ["0"]
            if prec:
                out.append(".")
        if fract:
            if prec:
                while True:
                    fract, tmp = math.modf(fract * 10)
                    out.append(chr(48 + int(tmp)))
                    prec -= 1
                    if not (prec and fract):
                        break
            if fract:
                exp[0] = expcnt
                if _needs_round(fract, "0"):
                    _round_up(out, exp)
                expcnt = exp[0]
        text = "".join(out).rstrip("0").rstrip(".") if "." in out else "".join(out)
        esign = "-" if expcnt < 0 else "+"
        return f"{sign}{text}e{esign}{abs(expcnt):02d}"
    if expcnt:
        out = list(int_digits)
        prec -= expcnt
    else:
        out = ["0"]
    dotrim = bool(prec)
    if prec:
        out.append(".")
    if fract:
        if prec:
            while True:
                fract, tmp = math.modf(fract * 10)
                out.append(chr(48 + int(tmp)))
                if tmp:
                    break
            while True:
                prec -= 1
                if not (prec and fract):
                    break
                fract, tmp = math.modf(fract * 10)
                out.append(chr(48 + int(tmp)))
        if fract and _needs_round(fract, "0"):
            _round_up(out, None)
    text = "".join(out)
    if dotrim:
        text = text.rstrip("0")
        if text.endswith("."):
            text = text[:-1]
    return sign + text


# ---- UID names --------------------------------------------------------------------------------
_uid_names: dict[str, str] = {}


def uid_name(uid: str) -> str | None:
    """DCMTK 3.6.7's name for a well-known UID (``dcmFindNameOfUID``), or ``None``."""
    if not _uid_names:
        for row in _UID_TABLE.split("\n"):
            if row:
                key, _, name = row.partition(" ")
                _uid_names[key] = name
    return _uid_names.get(uid)


# ---- value formatting -------------------------------------------------------------------------
#: Raw bytes 0x80-0x9F, and every multi-byte UTF-8 sequence (PS3.5 §6.1.2.5: ISO_IR 192) --
#: those encoding U+0080-U+009F first, so that they can be told apart from the others.
_HIGH_CONTROL = re.compile(
    rb"\xc2[\x80-\x9f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]"
    rb"|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}"
    rb"|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}|[\x80-\x9f]"
)
_ANY_C1 = re.compile(rb"[\x80-\x9f]")
_LONG_VALUE = 4096  # values longer than this are formatted (and logged) in pieces
_PIECE = 8192  # bytes or values per piece of a long value


def _escape_high(m: re.Match[bytes]) -> bytes:
    seq = m.group()
    if len(seq) == 1:
        return b"\\x%02x" % seq[0]  # a C1 byte on its own (Latin-1 C1, or broken UTF-8)
    if seq[0] == 0xC2 and seq[1] < 0xA0:
        return b"\\xc2\\x%02x" % seq[1]  # U+0080-U+009F in UTF-8
    return seq  # any other character in UTF-8: kept


def _text(raw: bytes) -> str:
    """Raw value bytes as str: controls escaped, one trailing NUL kept, high bytes surrogates."""
    tail = ""
    if raw.endswith(b"\x00"):
        raw = raw[:-1]
        tail = "\x00"
    if _ANY_C1.search(raw) is not None:
        raw = _HIGH_CONTROL.sub(_escape_high, raw)
    return raw.decode("ascii", "surrogateescape").translate(_CONTROL) + tail


def _text_pieces(mv: memoryview) -> Iterator[str]:
    """:func:`_text` of a long value, piece by piece; pieces never split a UTF-8 sequence."""
    n = len(mv)
    pos = 0
    while pos < n:
        stop = min(pos + _PIECE, n)
        if stop < n:
            for back in range(1, 4):  # cut before a lead byte whose sequence would be split
                if mv[stop - back] >= 0xC0:
                    stop -= back
                    break
        piece = bytes(mv[pos:stop])
        if stop < n or not piece.endswith(b"\x00"):
            if _ANY_C1.search(piece) is not None:
                piece = _HIGH_CONTROL.sub(_escape_high, piece)
            yield piece.decode("ascii", "surrogateescape").translate(_CONTROL)
        else:
            yield _text(piece)
        pos = stop


def _numbers(raw: Any, code: str, size: int, kind: str, endian: str, offset: int = 0,
             count: int | None = None) -> list[str]:
    if count is None:
        count = len(raw) // size
    if kind == "at":
        words = Struct(f"{endian}{2 * count}H").unpack_from(raw, offset)
        return [f"({words[i]:04x},{words[i + 1]:04x})" for i in range(0, 2 * count, 2)]
    values = Struct(f"{endian}{count}{code}").unpack_from(raw, offset)
    if kind == "i":
        return [str(v) for v in values]
    prec = 9 if kind == "f9" else 17
    return [dcmtk_float(v, prec) for v in values]


def _hex_words(raw: Any, little: bool) -> str:
    """OW as DCMTK prints it: 16-bit words in the element's byte order, ``\\``-separated."""
    data = bytes(raw[: len(raw) & ~1])
    if little:
        swapped = bytearray(len(data))
        swapped[0::2] = data[1::2]
        swapped[1::2] = data[0::2]
        data = bytes(swapped)
    return data.hex("\\", 2)


def _value(vr: str, raw: bytes, little: bool) -> tuple[str, int]:
    """``(value field, VM)`` for a non-sequence element."""
    endian = "<" if little else ">"
    n = len(raw)
    if vr in _STRING_VRS:
        if not n:
            return "(no value available)", 0
        vm = 1 if vr in _SINGLE_VALUED else raw.count(b"\\") + 1
        if vr == "UI":
            name = uid_name(raw.split(b"\x00", 1)[0].decode("latin-1"))
            if name:
                return "=" + name, vm
        return f"[{_text(raw)}]", vm
    numeric = _NUMERIC.get(vr)
    if numeric is not None:
        code, size, kind = numeric
        if not n:
            return "(no value available)", 0
        if n < size:
            return ("(no value available)" if kind == "at" else "(invalid value)"), 0
        values = _numbers(raw, code, size, kind, endian)
        return "\\".join(values), len(values)
    other = _OTHER.get(vr)
    if other is not None:
        code, size, kind = other
        if not n:
            return "(no value available)", 1
        if n < size:
            return "(invalid value)", 1
        return "\\".join(_numbers(raw, code, size, kind, endian)), 1
    if vr in _HEX_WORDS:
        if not n:
            return "(no value available)", 1
        if n < 2:
            return "(invalid value)", 1
        return _hex_words(raw, little), 1
    # OB, UN, ox, ?? (unknown tag in implicit VR or a non-standard VR): hex bytes
    if not n:
        return "(no value available)", 1
    return raw.hex("\\"), 1


def _long_value(vr: str, plain: bytes, start: int, end: int, little: bool) -> tuple[Iterator[str], int]:
    """:func:`_value` for a value longer than ``_LONG_VALUE`` bytes: ``(pieces, VM)``.

    The pieces joined are exactly :func:`_value`'s text; none is much longer than ``_PIECE``
    values, so a value of many MiB is never one string (nor a list of one string per byte).
    """
    mv = memoryview(plain)[start:end]
    n = end - start
    if vr in _STRING_VRS:
        vm = 1 if vr in _SINGLE_VALUED else plain.count(b"\\", start, end) + 1
        return itertools.chain("[", _text_pieces(mv), "]"), vm
    endian = "<" if little else ">"
    spec = _NUMERIC.get(vr) or _OTHER.get(vr)
    if spec is not None:
        code, size, kind = spec
        count = n // size
        pieces = _joined(
            "\\".join(_numbers(mv, code, size, kind, endian, i * size, min(_PIECE, count - i)))
            for i in range(0, count, _PIECE)
        )
        return pieces, (count if vr in _NUMERIC else 1)
    if vr in _HEX_WORDS:
        step = _PIECE & ~1
        return _joined(_hex_words(mv[i : i + step], little) for i in range(0, n & ~1, step)), 1
    return _joined(bytes(mv[i : i + _PIECE]).hex("\\") for i in range(0, n, _PIECE)), 1


def _joined(pieces: Iterator[str]) -> Iterator[str]:
    """``pieces`` with a ``\\`` between consecutive ones (the value separator)."""
    first = True
    for piece in pieces:
        if not first:
            yield "\\"
        first = False
        yield piece


class LongLine:
    """One dump line with a long value: its text as pieces, never joined unless asked.

    ``str(line)`` is the whole line; iterating yields it piece by piece (for streaming to the
    log handlers, :func:`fastfind.cli.report.log_dump`).
    """

    __slots__ = ("head", "value", "tail")

    def __init__(self, head: str, value: Iterator[str], tail: str):
        self.head = head
        self.value = value
        self.tail = tail

    def __iter__(self) -> Iterator[str]:
        yield self.head
        yield from self.value
        yield self.tail

    def __str__(self) -> str:
        return "".join(self)


Line = Union[str, LongLine]  # noqa: UP007 (a runtime alias)


def _line(indent: str, tag: int, vr: str, value: str, length: int, vm: int, name: str) -> str:
    """One DCMTK info line (``printInfoLineStart`` + value + ``printInfoLineEnd``)."""
    pad = " " * (_VALUE_WIDTH - len(value)) if len(value) < _VALUE_WIDTH else ""
    return f"{_head(indent, tag, vr)}{value}{pad}{_tail(length, vm, name)}"


def _head(indent: str, tag: int, vr: str) -> str:
    return f"{indent}({tag >> 16:04x},{tag & 0xFFFF:04x}) {vr} "


def _tail(length: int, vm: int, name: str) -> str:
    length_text = "u/l" if length == 0xFFFFFFFF else f"{length:3d}"
    return f" # {length_text},{vm:2d} {name}"


def _name_and_vr(tag: int, creator: str | None) -> tuple[str, str | None]:
    """DCMTK's dictionary name and dictionary VR for ``tag``; VR ``None`` when unknown."""
    found = entry_for(tag, creator) if creator is not None else entry(tag)
    if found is None:
        return UNKNOWN_NAME, None
    return found[2], found[0]


def _implicit_vr(tag: int, dict_vr: str | None, seen: dict[int, bytes], little: bool) -> str:
    """The VR DCMTK gives an implicit-VR element (:func:`fastfind.dicom.vr.implicit_vr`); ``??``
    for a tag the dictionary does not know."""
    if dict_vr is None:
        return "??"
    return implicit_vr(tag, dict_vr, _u16(seen.get(PIXEL_REPRESENTATION), little),
                       _u16(seen.get(WAVEFORM_BITS_ALLOCATED), little))


def _u16(raw: bytes | None, little: bool) -> int | None:
    return int.from_bytes(raw[:2], "little" if little else "big") if raw is not None and len(raw) >= 2 else None


# ---- printing, straight from the token walk ---------------------------------------------------
# A container (the data set or an item) is the token range [first, stop): its children are the
# elements and sequences at its top, a sequence's content being skipped through ``link``.
# Nothing per token is kept: the printer holds one generator per open container, and only a
# container whose tags are not ascending gets an index array (4 bytes per child) to sort it.

_SEQ_DELIM_SYNTH = "(SequenceDelimitationItem for re-encod.)"
_ITEM_DELIM_SYNTH = "(ItemDelimitationItem for re-encoding)"
_SORT_CHUNK = 1 << 16
_MAX_CREATORS = 1 << 16  # private creators remembered per unsorted container


class _Printer:
    """Yields the dump lines of a token walk; nesting is driven by an explicit stack."""

    def __init__(
        self,
        plain: bytes,
        toks: codec.Tokens,
        ts: codec.TransferSyntax,
        in_memory: bool = False,
        overrides: dict[int, bytes] | None = None,
        memory_starts: set[int] | None = None,
        unknown_starts: set[int] | None = None,
    ):
        self.plain = plain
        self.toks = toks if hasattr(toks, "link") else _LinkedList(toks)
        self.little = ts.little
        self.in_memory = in_memory
        self.overrides = overrides or {}
        self.memory_starts = memory_starts or set()
        self.unknown_starts = unknown_starts or set()

    def run(self) -> Iterator[Line]:
        stack = [self._container(0, len(self.toks), 0, self._order(0, len(self.toks)))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
            elif isinstance(step, (str, LongLine)):
                yield step
            else:
                stack.append(step)

    # -- children of a container, in DCMTK's order
    def _children(self, first: int, stop: int) -> Iterator[int]:
        toks = self.toks
        opens = (codec.SEQUENCE, codec.ITEM)
        i = first
        while i < stop:
            yield i
            i = toks.link(i) + 1 if toks[i][0] in opens else i + 1

    def _order(self, first: int, stop: int) -> tuple[Any, int]:
        """``(indices, count)``: ``indices`` is ``None`` when the children are already in
        ascending tag order (the usual case), else the sorted, de-duplicated child indices
        (DCMTK keeps the first of a repeated tag)."""
        toks = self.toks
        last = -1
        count = 0
        for i in self._children(first, stop):
            tag = toks[i][2]
            if tag <= last:
                break
            last = tag
            count += 1
        else:
            return None, count
        chunks: list[array] = []
        keys: list[int] = []
        for i in self._children(first, stop):
            keys.append(toks[i][2] << 32 | i)
            if len(keys) == _SORT_CHUNK:
                chunks.append(array("Q", sorted(keys)))
                keys = []
        chunks.append(array("Q", sorted(keys)))
        out = array("I")
        last = -1
        for key in heapq.merge(*chunks):
            if key >> 32 != last:
                out.append(key & 0xFFFFFFFF)
                last = key >> 32
        return out, len(out)

    def _wire_creators(self, first: int, stop: int) -> dict[int, list[tuple[int, str]]]:
        """Private creators of an unsorted container, in wire order: (group, block) key ->
        ``[(token index, creator)]`` (PS3.5 §7.8.1)."""
        out: dict[int, list[tuple[int, str]]] = {}
        remembered = 0
        for i in self._children(first, stop):
            tok = self.toks[i]
            tag = tok[2]
            if tag & 0x10000 and 0x10 <= tag & 0xFFFF <= 0xFF and tok[0] == codec.ELEMENT:
                out.setdefault(tag, []).append((i, self._creator_text(tok)))
                remembered += 1
                if remembered >= _MAX_CREATORS:
                    break
        return out

    def _creator_text(self, tok: tuple) -> str:
        return self.plain[tok[5] : tok[6]].split(b"\x00", 1)[0].decode("latin-1")

    def _container(self, first: int, stop: int, level: int, order: tuple[Any, int]) -> Iterator:
        """Yield the lines of one data set or item; a nested item's content is yielded as a
        generator that the driver runs before resuming this one."""
        toks = self.toks
        indent = "  " * level
        seen: dict[int, bytes] = {}
        indices = order[0]
        wire = self._wire_creators(first, stop) if indices is not None else None
        group = -1
        creators: dict[int, str] = {}
        for i in self._children(first, stop) if indices is None else indices:
            tok = toks[i]
            tag = tok[2]
            creator = None
            if tag & 0x10000:
                elem = tag & 0xFFFF
                if wire is not None:
                    if elem >= 0x1000:
                        creator = _creator_before(wire.get(tag & 0xFFFF0000 | elem >> 8), i)
                else:
                    if tag >> 16 != group:
                        group = tag >> 16
                        creators = {}
                    if 0x10 <= elem <= 0xFF and tok[0] == codec.ELEMENT:
                        creators[elem] = self._creator_text(tok)
                    elif elem >= 0x1000:
                        creator = creators.get(elem >> 8)
            name, dict_vr = _name_and_vr(tag, creator)
            if tok[0] == codec.SEQUENCE:
                yield from self._sequence(i, tok, level, name)
            else:
                yield self._element(indent, tok, dict_vr, name, seen)

    def _element(self, indent: str, tok: tuple, dict_vr: str | None, name: str,
                 seen: dict[int, bytes]) -> Line:
        tag, vr, start, end = tok[2], tok[3], tok[5], tok[6]
        if start in self.unknown_starts:
            vr = "??"  # set from a key with an unknown tag: DCMTK holds it with VR "unknown"
        elif vr is None:
            vr = _implicit_vr(tag, dict_vr, seen, self.little)
        elif vr == "OX" and tag == 0x7FE00010:
            vr = "OW"
        elif vr not in _STANDARD_VRS:
            vr = "??"
        if tag == PIXEL_REPRESENTATION or tag == WAVEFORM_BITS_ALLOCATED:
            seen[tag] = self.plain[start:end]
        raw = self.overrides.get(start)
        if raw is None and end - start > _LONG_VALUE:
            pieces, vm = _long_value(vr, self.plain, start, end, self.little)
            return LongLine(_head(indent, tag, vr), pieces, _tail(tok[4], vm, name))
        value, vm = _value(vr, self.plain[start:end] if raw is None else raw, self.little)
        return _line(indent, tag, vr, value, tok[4], vm, name)

    def _sequence(self, index: int, tok: tuple, level: int, name: str) -> Iterator:
        toks = self.toks
        indent = "  " * level
        inner = "  " * (level + 1)
        tag = tok[2]
        close = toks.link(index)
        count = sum(1 for _ in self._children(index + 1, close))
        memory = self.in_memory or tok[5] in self.memory_starts
        length = 0 if memory else tok[4]
        kind = "undefined" if length == 0xFFFFFFFF else "explicit"
        yield _line(
            indent, tag, "SQ", f"(Sequence with {kind} length #={count})", length, 1, name
        )
        for item in self._children(index + 1, close):
            item_tok = toks[item]
            item_close = toks.link(item)
            order = self._order(item + 1, item_close)
            length = 0 if memory else item_tok[4]
            kind = "undefined" if length == 0xFFFFFFFF else "explicit"
            yield _line(
                inner, 0xFFFEE000, "na", f"(Item with {kind} length #={order[1]})", length, 1,
                "Item",
            )
            yield self._container(item + 1, item_close, level + 2, order)
            real = toks[item_close][0] == codec.ITEM_DELIM and not memory
            text = "(ItemDelimitationItem)" if real else _ITEM_DELIM_SYNTH
            yield _line(inner, 0xFFFEE00D, "na", text, 0, 0, "ItemDelimitationItem")
        real = toks[close][0] == codec.SEQUENCE_DELIM and not memory
        text = "(SequenceDelimitationItem)" if real else _SEQ_DELIM_SYNTH
        yield _line(indent, 0xFFFEE0DD, "na", text, 0, 0, "SequenceDelimitationItem")


class _LinkedList:
    """A plain list of token tuples (:func:`fastfind.codec.walk_dataset`) with ``link``."""

    def __init__(self, toks: list):
        self._toks = toks
        self._links: dict[int, int] = {}
        stack: list[int] = []
        for i, tok in enumerate(toks):
            if tok[0] in (codec.SEQUENCE, codec.ITEM):
                stack.append(i)
            elif tok[0] != codec.ELEMENT:
                self._links[stack.pop()] = i

    def __len__(self) -> int:
        return len(self._toks)

    def __getitem__(self, i: int) -> tuple:
        return self._toks[i]

    def link(self, i: int) -> int:
        return self._links[i]


def _creator_before(found: list[tuple[int, str]] | None, index: int) -> str | None:
    """The creator read last before token ``index`` (DCMTK's private tag cache)."""
    if not found:
        return None
    pos = bisect.bisect_left(found, index, key=lambda entry: entry[0])
    return found[pos - 1][1] if pos else None


def iter_dataset(
    plain: bytes,
    tokens: codec.Tokens,
    ts: codec.TransferSyntax,
    *,
    in_memory: bool = False,
    overrides: dict[int, bytes] | None = None,
    memory_starts: set[int] | None = None,
    unknown_starts: set[int] | None = None,
) -> Iterator[Line]:
    """:func:`format_dataset`, one line at a time, long values as :class:`LongLine` pieces.

    Memory: a few generators per nesting level plus, for a data set or item whose tags are not
    in ascending order, 4 bytes per element of it -- never a string or object per element.
    """
    yield "# Dicom-Data-Set"
    yield f"# Used TransferSyntax: {ts.name}"
    printer = _Printer(plain, tokens, ts, in_memory, overrides, memory_starts, unknown_starts)
    yield from printer.run()


def format_dataset(
    plain: bytes,
    tokens: codec.Tokens,
    ts: codec.TransferSyntax,
    *,
    in_memory: bool = False,
    overrides: dict[int, bytes] | None = None,
    memory_starts: set[int] | None = None,
    unknown_starts: set[int] | None = None,
) -> list[str]:
    """DCMTK's dump of a data set (``DcmDataset::print``): header lines, then one line per entry.

    ``plain`` and ``tokens`` are what :func:`fastfind.codec.tokens` returns (inflated bytes for
    a deflated ``ts``). ``in_memory=True`` prints sequences and items the way DCMTK prints a data
    set it built itself and has not encoded yet (findscu's ``Request Identifiers`` for ``-k``
    keys): explicit length 0 and synthetic delimiters. ``overrides`` maps a value's start offset
    to the bytes to show instead (the unpadded value of an element DCMTK holds as a string);
    ``unknown_starts`` the values of elements DCMTK holds with an unknown VR (``??``).
    """
    return [
        line if isinstance(line, str) else str(line)
        for line in iter_dataset(
            plain, tokens, ts, in_memory=in_memory, overrides=overrides,
            memory_starts=memory_starts, unknown_starts=unknown_starts,
        )
    ]



def request_lines(ds: Dataset, sent: bool = False) -> list[str]:
    """The dump DCMTK findscu prints as ``Request Identifiers``.

    DCMTK prints the query as it holds it in memory. Elements read from a query file (still raw
    in pydicom) show their lengths as read. Elements set from ``-k`` keys have not been encoded
    yet: a string shows without the pad byte encoding will add (the length column shows the
    padded length), a sequence and its items show length 0. Once the query has been ``sent``
    (``--repeat``), DCMTK's copy carries the encoded lengths and padding, so nothing is special.
    The transfer syntax is the query file's, or Little Endian Explicit for ``-k`` only.
    """
    implicit, little = getattr(ds, "original_encoding", (None, None))
    ts = codec.EXPLICIT_LE
    if implicit is not None:
        ts = {(True, True): codec.IMPLICIT_LE, (False, False): codec.EXPLICIT_BE}.get(
            (bool(implicit), bool(little)), codec.EXPLICIT_LE
        )
    if sent:
        plain = codec.encode_identifier(ds, ts)
    else:
        with _as_read(ds):  # sequences read with undefined length are shown that way
            plain = codec.encode_identifier(ds, ts)
    toks = codec.walk_dataset(plain, ts.implicit, ts.little, codec.SQ_TAGS)
    unknown = unknown_vr_starts(ds, plain, ts)
    if sent:
        return format_dataset(plain, toks, ts, unknown_starts=unknown)
    overrides: dict[int, bytes] = {}
    memory_starts: set[int] = set()
    elements = _in_order(ds)
    index = 0
    skip_depth: int | None = None
    memory_items_depth: list[int] = []
    for tok in toks:
        kind, depth = tok[0], tok[1]
        if skip_depth is not None:
            if kind in (codec.SEQUENCE_END, codec.SEQUENCE_DELIM) and depth == skip_depth:
                skip_depth = None
            continue
        if kind == codec.ITEM and memory_items_depth and memory_items_depth[-1] == depth:
            memory_starts.add(tok[5])
            continue
        if kind in (codec.SEQUENCE_END, codec.SEQUENCE_DELIM):
            if memory_items_depth and memory_items_depth[-1] == depth + 1:
                memory_items_depth.pop()
            continue
        if kind not in (codec.ELEMENT, codec.SEQUENCE) or index >= len(elements):
            continue
        elem = elements[index]
        index += 1
        if _from_file(elem):
            if kind == codec.SEQUENCE:
                skip_depth = depth
            continue
        if kind == codec.SEQUENCE:
            memory_starts.add(tok[5])
            memory_items_depth.append(depth + 1)
            continue
        value = elem.value
        raw = plain[tok[5] : tok[6]]
        texts = value if isinstance(value, MultiValue) else [value]
        textual = (str, PersonName, bytes) if elem.VR in _STRING_VRS else (str, PersonName)
        if all(isinstance(v, textual) for v in texts) and raw[-1:] in (b" ", b"\x00"):
            if _unpadded_odd(elem):
                overrides[tok[5]] = raw[:-1]
    return format_dataset(plain, toks, ts, overrides=overrides, memory_starts=memory_starts,
                          unknown_starts=unknown)


def unknown_vr_starts(ds: Dataset, plain: bytes, ts: codec.TransferSyntax) -> set[int]:
    """Value offsets in ``plain`` (``ds`` encoded in ``ts``) of the elements DCMTK holds with
    an unknown VR and prints as ``??``: those set from ``-k`` keys whose tag its dictionary
    does not know (written as UN on the wire), and those read from an implicit VR query file.
    """
    implicit_file = bool(getattr(ds, "original_encoding", (False, True))[0])
    toks = codec.walk(plain, ts.implicit, ts.little, codec.SQ_TAGS, 1 << 30)
    elements = _in_order(ds)
    out: set[int] = set()
    index = i = 0
    while i < len(toks) and index < len(elements):
        kind = toks[i][0]
        if kind != codec.ELEMENT and kind != codec.SEQUENCE:
            i += 1
            continue
        elem = elements[index]
        index += 1
        if isinstance(elem, RawDataElement):
            i = toks.link(i) + 1 if kind == codec.SEQUENCE else i + 1
            continue
        if (kind == codec.ELEMENT and elem.VR == "UN" and entry(int(elem.tag)) is None
                and (implicit_file or not _from_file(elem))):
            out.add(toks[i][5])
        i += 1
    return out


def _from_file(elem: Any) -> bool:
    """True if DCMTK would hold ``elem`` as read from the query file (not set by a key)."""
    from ..query import read_from_file

    return isinstance(elem, RawDataElement) or read_from_file(elem)


@contextmanager
def _as_read(ds: Dataset) -> Iterator[None]:
    """Temporarily mark sequences/items read with undefined length as undefined-length."""
    changed: list[tuple[Any, str, Any]] = []
    for elem in _in_order(ds):
        if isinstance(elem, RawDataElement) or elem.VR != "SQ":
            continue
        if getattr(elem, "read_undefined_length", False):
            changed.append((elem, "is_undefined_length", elem.is_undefined_length))
            elem.is_undefined_length = True
        for item in elem.value:
            if getattr(item, "read_undefined_length", False):
                changed.append((item, "is_undefined_length_sequence_item", item.is_undefined_length_sequence_item))
                item.is_undefined_length_sequence_item = True
    try:
        yield
    finally:
        for obj, attr, old in changed:
            setattr(obj, attr, old)


def _unpadded_odd(elem: Any) -> bool:
    """True if pydicom's encoding of ``elem`` added one pad byte."""
    value = elem.value
    if isinstance(value, bytes):
        return len(value) % 2 == 1
    if isinstance(value, MultiValue):
        text = "\\".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in value)
    else:
        text = str(value)
    try:
        return len(text.encode("latin-1")) % 2 == 1
    except UnicodeEncodeError:
        return False


def _in_order(ds: Dataset) -> list[Any]:
    """Elements of ``ds`` in encoding order (depth first, items in order), without recursion."""
    out: list[Any] = []
    stack: list[Iterator[Any]] = [iter(sorted(ds.elements(), key=lambda e: e.tag))]
    while stack:
        elem = next(stack[-1], None)
        if elem is None:
            stack.pop()
            continue
        out.append(elem)
        if not isinstance(elem, RawDataElement) and elem.VR == "SQ":
            items = [iter(sorted(item.elements(), key=lambda e: e.tag)) for item in elem.value]
            stack.extend(reversed(items))
    return out


def format_file(
    meta_plain: bytes,
    dataset_plain: bytes,
    ts: codec.TransferSyntax,
    *,
    in_memory: bool = False,
    unknown_starts: set[int] | None = None,
) -> list[str]:
    """DCMTK's dump of a Part-10 file (``DcmFileFormat::print``, PS3.10 §7.1).

    ``meta_plain`` is the encoded group 0002 (explicit VR little endian, without preamble and
    ``DICM``; ``b""`` for the empty meta header of a query built from ``-k`` keys only);
    ``dataset_plain`` the data set in ``ts`` (already inflated if ``ts`` is deflated).
    Raises :class:`fastfind.errors.CodecError` if either part does not parse.
    """
    meta_tokens = codec.walk_dataset(meta_plain, False, True, codec.SQ_TAGS)
    ds_tokens = codec.walk_dataset(dataset_plain, ts.implicit, ts.little, codec.SQ_TAGS)
    lines = ["# Dicom-File-Format", "", "# Dicom-Meta-Information-Header"]
    lines.append(f"# Used TransferSyntax: {codec.EXPLICIT_LE.name}")
    meta = _Printer(meta_plain, meta_tokens, codec.EXPLICIT_LE, in_memory).run()
    lines += [str(line) for line in meta]
    lines.append("")
    lines += format_dataset(dataset_plain, ds_tokens, ts, in_memory=in_memory,
                            unknown_starts=unknown_starts)
    return lines


def dump_identifier(data: bytes, ts: codec.TransferSyntax) -> list[str]:
    """Tokenise an identifier as received (deflated if ``ts`` is) and return its dump lines."""
    plain, toks = codec.tokens(data, ts)
    return format_dataset(plain, toks, ts)


# UID -> name, as DCMTK 3.6.7 prints them (observed with dcmdump for every UID pydicom knows).
_UID_TABLE = """
1.2.840.10008.1.1 VerificationSOPClass
1.2.840.10008.1.2 LittleEndianImplicit
1.2.840.10008.1.2.1 LittleEndianExplicit
1.2.840.10008.1.2.1.99 DeflatedLittleEndianExplicit
1.2.840.10008.1.2.2 BigEndianExplicit
1.2.840.10008.1.2.4.50 JPEGBaseline
1.2.840.10008.1.2.4.51 JPEGExtended:Process2+4
1.2.840.10008.1.2.4.52 JPEGExtended:Process3+5
1.2.840.10008.1.2.4.53 JPEGSpectralSelection:Non-hierarchical:Process6+8
1.2.840.10008.1.2.4.54 JPEGSpectralSelection:Non-hierarchical:Process7+9
1.2.840.10008.1.2.4.55 JPEGFullProgression:Non-hierarchical:Process10+12
1.2.840.10008.1.2.4.56 JPEGFullProgression:Non-hierarchical:Process11+13
1.2.840.10008.1.2.4.57 JPEGLossless:Non-hierarchical:Process14
1.2.840.10008.1.2.4.58 JPEGLossless:Non-hierarchical:Process15
1.2.840.10008.1.2.4.59 JPEGExtended:Hierarchical:Process16+18
1.2.840.10008.1.2.4.60 JPEGExtended:Hierarchical:Process17+19
1.2.840.10008.1.2.4.61 JPEGSpectralSelection:Hierarchical:Process20+22
1.2.840.10008.1.2.4.62 JPEGSpectralSelection:Hierarchical:Process21+23
1.2.840.10008.1.2.4.63 JPEGFullProgression:Hierarchical:Process24+26
1.2.840.10008.1.2.4.64 JPEGFullProgression:Hierarchical:Process25+27
1.2.840.10008.1.2.4.65 JPEGLossless:Hierarchical:Process28
1.2.840.10008.1.2.4.66 JPEGLossless:Hierarchical:Process29
1.2.840.10008.1.2.4.70 JPEGLossless:Non-hierarchical-1stOrderPrediction
1.2.840.10008.1.2.4.80 JPEGLSLossless
1.2.840.10008.1.2.4.81 JPEGLSLossy
1.2.840.10008.1.2.4.90 JPEG2000LosslessOnly
1.2.840.10008.1.2.4.91 JPEG2000
1.2.840.10008.1.2.4.92 JPEG2000MulticomponentLosslessOnly
1.2.840.10008.1.2.4.93 JPEG2000Multicomponent
1.2.840.10008.1.2.4.94 JPIPReferenced
1.2.840.10008.1.2.4.95 JPIPReferencedDeflate
1.2.840.10008.1.2.4.100 MPEG2MainProfile@MainLevel
1.2.840.10008.1.2.4.101 MPEG2MainProfile@HighLevel
1.2.840.10008.1.2.4.102 MPEG4HighProfile/Level4.1
1.2.840.10008.1.2.4.103 MPEG4BDcompatibleHighProfile/Level4.1
1.2.840.10008.1.2.4.104 MPEG4HighProfile/Level4.2For2DVideo
1.2.840.10008.1.2.4.105 MPEG4HighProfile/Level4.2For3DVideo
1.2.840.10008.1.2.4.106 MPEG4StereoHighProfile/Level4.2
1.2.840.10008.1.2.4.107 HEVCMainProfile/Level5.1
1.2.840.10008.1.2.4.108 HEVCMain10Profile/Level5.1
1.2.840.10008.1.2.5 RLELossless
1.2.840.10008.1.2.6.1 RFC2557MIMEEncapsulation
1.2.840.10008.1.2.6.2 XMLEncoding
1.2.840.10008.1.2.7.1 SMPTEST2110-20:UncompressedProgressiveActiveVideo
1.2.840.10008.1.2.7.2 SMPTEST2110-20:UncompressedInterlacedActiveVideo
1.2.840.10008.1.2.7.3 SMPTEST2110-30:PCMDigitalAudio
1.2.840.10008.1.3.10 MediaStorageDirectoryStorage
1.2.840.10008.1.4.1.1 TalairachBrainAtlasFrameOfReference
1.2.840.10008.1.4.1.2 SPM2T1FrameOfReference
1.2.840.10008.1.4.1.3 SPM2T2FrameOfReference
1.2.840.10008.1.4.1.4 SPM2PDFrameOfReference
1.2.840.10008.1.4.1.5 SPM2EPIFrameOfReference
1.2.840.10008.1.4.1.6 SPM2FILT1FrameOfReference
1.2.840.10008.1.4.1.7 SPM2PETFrameOfReference
1.2.840.10008.1.4.1.8 SPM2TRANSMFrameOfReference
1.2.840.10008.1.4.1.9 SPM2SPECTFrameOfReference
1.2.840.10008.1.4.1.10 SPM2GRAYFrameOfReference
1.2.840.10008.1.4.1.11 SPM2WHITEFrameOfReference
1.2.840.10008.1.4.1.12 SPM2CSFFrameOfReference
1.2.840.10008.1.4.1.13 SPM2BRAINMASKFrameOfReference
1.2.840.10008.1.4.1.14 SPM2AVG305T1FrameOfReference
1.2.840.10008.1.4.1.15 SPM2AVG152T1FrameOfReference
1.2.840.10008.1.4.1.16 SPM2AVG152T2FrameOfReference
1.2.840.10008.1.4.1.17 SPM2AVG152PDFrameOfReference
1.2.840.10008.1.4.1.18 SPM2SINGLESUBJT1FrameOfReference
1.2.840.10008.1.4.2.1 ICBM452T1FrameOfReference
1.2.840.10008.1.4.2.2 ICBMSingleSubjectMRIFrameOfReference
1.2.840.10008.1.4.3.1 IEC61217FixedCoordinateSystemFrameOfReference
1.2.840.10008.1.4.3.2 StandardRoboticCoordinateSystemFrameOfReference
1.2.840.10008.1.4.3.3 IEC61217TableTopCoordinateSystemFrameOfReference
1.2.840.10008.1.4.4.1 SRI24FrameOfReferenc
1.2.840.10008.1.4.5.1 Colin27FrameOfReference
1.2.840.10008.1.4.6.1 LPBA40AIRFrameOfReference
1.2.840.10008.1.4.6.2 LPBA40FLIRTFrameOfReference
1.2.840.10008.1.4.6.3 LPBA40SPM5FrameOfReference
1.2.840.10008.1.5.1 HotIronColorPaletteSOPInstance
1.2.840.10008.1.5.2 PETColorPaletteSOPInstance
1.2.840.10008.1.5.3 HotMetalBlueColorPaletteSOPInstance
1.2.840.10008.1.5.4 PET20StepColorPaletteSOPInstance
1.2.840.10008.1.5.5 SpringColorPaletteSOPInstance
1.2.840.10008.1.5.6 SummerColorPaletteSOPInstance
1.2.840.10008.1.5.7 FallColorPaletteSOPInstance
1.2.840.10008.1.5.8 WinterColorPaletteSOPInstance
1.2.840.10008.1.9 RETIRED_BasicStudyContentNotificationSOPClass
1.2.840.10008.1.20.1 StorageCommitmentPushModelSOPClass
1.2.840.10008.1.20.1.1 StorageCommitmentPushModelSOPInstance
1.2.840.10008.1.20.2 RETIRED_StorageCommitmentPullModelSOPClass
1.2.840.10008.1.20.2.1 RETIRED_StorageCommitmentPullModelSOPInstance
1.2.840.10008.1.40 ProceduralEventLoggingSOPClass
1.2.840.10008.1.40.1 ProceduralEventLoggingSOPInstance
1.2.840.10008.1.42 SubstanceAdministrationLoggingSOPClass
1.2.840.10008.1.42.1 SubstanceAdministrationLoggingSOPInstance
1.2.840.10008.2.6.1 DICOMUIDRegistryCodingScheme
1.2.840.10008.2.16.4 DICOMControlledTerminologyCodingScheme
1.2.840.10008.3.1.1.1 StandardApplicationContext
1.2.840.10008.3.1.2.1.1 RETIRED_DetachedPatientManagementSOPClass
1.2.840.10008.3.1.2.1.4 RETIRED_DetachedPatientManagementMetaSOPClass
1.2.840.10008.3.1.2.2.1 RETIRED_DetachedVisitManagementSOPClass
1.2.840.10008.3.1.2.3.1 RETIRED_DetachedStudyManagementSOPClass
1.2.840.10008.3.1.2.3.2 RETIRED_StudyComponentManagementSOPClass
1.2.840.10008.3.1.2.3.3 ModalityPerformedProcedureStepSOPClass
1.2.840.10008.3.1.2.3.4 ModalityPerformedProcedureStepRetrieveSOPClass
1.2.840.10008.3.1.2.3.5 ModalityPerformedProcedureStepNotificationSOPClass
1.2.840.10008.3.1.2.5.1 RETIRED_DetachedResultsManagementSOPClass
1.2.840.10008.3.1.2.5.4 RETIRED_DetachedResultsManagementMetaSOPClass
1.2.840.10008.3.1.2.5.5 RETIRED_DetachedStudyManagementMetaSOPClass
1.2.840.10008.3.1.2.6.1 RETIRED_DetachedInterpretationManagementSOPClass
1.2.840.10008.4.2 StorageServiceClass
1.2.840.10008.5.1.1.1 BasicFilmSessionSOPClass
1.2.840.10008.5.1.1.2 BasicFilmBoxSOPClass
1.2.840.10008.5.1.1.4 BasicGrayscaleImageBoxSOPClass
1.2.840.10008.5.1.1.4.1 BasicColorImageBoxSOPClass
1.2.840.10008.5.1.1.4.2 RETIRED_ReferencedImageBoxSOPClass
1.2.840.10008.5.1.1.9 BasicGrayscalePrintManagementMetaSOPClass
1.2.840.10008.5.1.1.9.1 RETIRED_ReferencedGrayscalePrintManagementMetaSOPClass
1.2.840.10008.5.1.1.14 PrintJobSOPClass
1.2.840.10008.5.1.1.15 BasicAnnotationBoxSOPClass
1.2.840.10008.5.1.1.16 PrinterSOPClass
1.2.840.10008.5.1.1.16.376 PrinterConfigurationRetrievalSOPClass
1.2.840.10008.5.1.1.17 PrinterSOPInstance
1.2.840.10008.5.1.1.17.376 PrinterConfigurationRetrievalSOPInstance
1.2.840.10008.5.1.1.18 BasicColorPrintManagementMetaSOPClass
1.2.840.10008.5.1.1.18.1 RETIRED_ReferencedColorPrintManagementMetaSOPClass
1.2.840.10008.5.1.1.22 VOILUTBoxSOPClass
1.2.840.10008.5.1.1.23 PresentationLUTSOPClass
1.2.840.10008.5.1.1.24 RETIRED_ImageOverlayBoxSOPClass
1.2.840.10008.5.1.1.24.1 RETIRED_BasicPrintImageOverlayBoxSOPClass
1.2.840.10008.5.1.1.25 RETIRED_PrintQueueSOPInstance
1.2.840.10008.5.1.1.26 RETIRED_PrintQueueManagementSOPClass
1.2.840.10008.5.1.1.27 RETIRED_StoredPrintStorage
1.2.840.10008.5.1.1.29 RETIRED_HardcopyGrayscaleImageStorage
1.2.840.10008.5.1.1.30 RETIRED_HardcopyColorImageStorage
1.2.840.10008.5.1.1.31 RETIRED_PullPrintRequestSOPClass
1.2.840.10008.5.1.1.32 RETIRED_PullStoredPrintManagementMetaSOPClass
1.2.840.10008.5.1.1.33 MediaCreationManagementSOPClass
1.2.840.10008.5.1.1.40 DisplaySystemSOPClass
1.2.840.10008.5.1.1.40.1 DisplaySystemSOPInstance
1.2.840.10008.5.1.4.1.1.1 ComputedRadiographyImageStorage
1.2.840.10008.5.1.4.1.1.1.1 DigitalXRayImageStorageForPresentation
1.2.840.10008.5.1.4.1.1.1.1.1 DigitalXRayImageStorageForProcessing
1.2.840.10008.5.1.4.1.1.1.2 DigitalMammographyXRayImageStorageForPresentation
1.2.840.10008.5.1.4.1.1.1.2.1 DigitalMammographyXRayImageStorageForProcessing
1.2.840.10008.5.1.4.1.1.1.3 DigitalIntraOralXRayImageStorageForPresentation
1.2.840.10008.5.1.4.1.1.1.3.1 DigitalIntraOralXRayImageStorageForProcessing
1.2.840.10008.5.1.4.1.1.2 CTImageStorage
1.2.840.10008.5.1.4.1.1.2.1 EnhancedCTImageStorage
1.2.840.10008.5.1.4.1.1.2.2 LegacyConvertedEnhancedCTImageStorage
1.2.840.10008.5.1.4.1.1.3 RETIRED_UltrasoundMultiframeImageStorage
1.2.840.10008.5.1.4.1.1.3.1 UltrasoundMultiframeImageStorage
1.2.840.10008.5.1.4.1.1.4 MRImageStorage
1.2.840.10008.5.1.4.1.1.4.1 EnhancedMRImageStorage
1.2.840.10008.5.1.4.1.1.4.2 MRSpectroscopyStorage
1.2.840.10008.5.1.4.1.1.4.3 EnhancedMRColorImageStorage
1.2.840.10008.5.1.4.1.1.4.4 LegacyConvertedEnhancedMRImageStorage
1.2.840.10008.5.1.4.1.1.5 RETIRED_NuclearMedicineImageStorage
1.2.840.10008.5.1.4.1.1.6 RETIRED_UltrasoundImageStorage
1.2.840.10008.5.1.4.1.1.6.1 UltrasoundImageStorage
1.2.840.10008.5.1.4.1.1.6.2 EnhancedUSVolumeStorage
1.2.840.10008.5.1.4.1.1.7 SecondaryCaptureImageStorage
1.2.840.10008.5.1.4.1.1.7.1 MultiframeSingleBitSecondaryCaptureImageStorage
1.2.840.10008.5.1.4.1.1.7.2 MultiframeGrayscaleByteSecondaryCaptureImageStorage
1.2.840.10008.5.1.4.1.1.7.3 MultiframeGrayscaleWordSecondaryCaptureImageStorage
1.2.840.10008.5.1.4.1.1.7.4 MultiframeTrueColorSecondaryCaptureImageStorage
1.2.840.10008.5.1.4.1.1.8 RETIRED_StandaloneOverlayStorage
1.2.840.10008.5.1.4.1.1.9 RETIRED_StandaloneCurveStorage
1.2.840.10008.5.1.4.1.1.9.1 DRAFT_WaveformStorage
1.2.840.10008.5.1.4.1.1.9.1.1 TwelveLeadECGWaveformStorage
1.2.840.10008.5.1.4.1.1.9.1.2 GeneralECGWaveformStorage
1.2.840.10008.5.1.4.1.1.9.1.3 AmbulatoryECGWaveformStorage
1.2.840.10008.5.1.4.1.1.9.2.1 HemodynamicWaveformStorage
1.2.840.10008.5.1.4.1.1.9.3.1 CardiacElectrophysiologyWaveformStorage
1.2.840.10008.5.1.4.1.1.9.4.1 BasicVoiceAudioWaveformStorage
1.2.840.10008.5.1.4.1.1.9.4.2 GeneralAudioWaveformStorage
1.2.840.10008.5.1.4.1.1.9.5.1 ArterialPulseWaveformStorage
1.2.840.10008.5.1.4.1.1.9.6.1 RespiratoryWaveformStorage
1.2.840.10008.5.1.4.1.1.9.6.2 MultichannelRespiratoryWaveformStorage
1.2.840.10008.5.1.4.1.1.9.7.1 RoutineScalpElectroencephalogramWaveformStorage
1.2.840.10008.5.1.4.1.1.9.7.2 ElectromyogramWaveformStorage
1.2.840.10008.5.1.4.1.1.9.7.3 ElectrooculogramWaveformStorage
1.2.840.10008.5.1.4.1.1.9.7.4 SleepElectroencephalogramWaveformStorage
1.2.840.10008.5.1.4.1.1.9.8.1 BodyPositionWaveformStorage
1.2.840.10008.5.1.4.1.1.10 RETIRED_StandaloneModalityLUTStorage
1.2.840.10008.5.1.4.1.1.11 RETIRED_StandaloneVOILUTStorage
1.2.840.10008.5.1.4.1.1.11.1 GrayscaleSoftcopyPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.2 ColorSoftcopyPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.3 PseudoColorSoftcopyPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.4 BlendingSoftcopyPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.5 XAXRFGrayscaleSoftcopyPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.6 GrayscalePlanarMPRVolumetricPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.7 CompositingPlanarMPRVolumetricPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.8 AdvancedBlendingPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.9 VolumeRenderingVolumetricPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.10 SegmentedVolumeRenderingVolumetricPresentationStateStorage
1.2.840.10008.5.1.4.1.1.11.11 MultipleVolumeRenderingVolumetricPresentationStateStorage
1.2.840.10008.5.1.4.1.1.12.1 XRayAngiographicImageStorage
1.2.840.10008.5.1.4.1.1.12.1.1 EnhancedXAImageStorage
1.2.840.10008.5.1.4.1.1.12.2 XRayRadiofluoroscopicImageStorage
1.2.840.10008.5.1.4.1.1.12.2.1 EnhancedXRFImageStorage
1.2.840.10008.5.1.4.1.1.12.3 RETIRED_XRayAngiographicBiPlaneImageStorage
1.2.840.10008.5.1.4.1.1.13.1.1 XRay3DAngiographicImageStorage
1.2.840.10008.5.1.4.1.1.13.1.2 XRay3DCraniofacialImageStorage
1.2.840.10008.5.1.4.1.1.13.1.3 BreastTomosynthesisImageStorage
1.2.840.10008.5.1.4.1.1.13.1.4 BreastProjectionXRayImageStorageForPresentation
1.2.840.10008.5.1.4.1.1.13.1.5 BreastProjectionXRayImageStorageForProcessing
1.2.840.10008.5.1.4.1.1.14.1 IntravascularOpticalCoherenceTomographyImageStorageForPresentation
1.2.840.10008.5.1.4.1.1.14.2 IntravascularOpticalCoherenceTomographyImageStorageForProcessing
1.2.840.10008.5.1.4.1.1.20 NuclearMedicineImageStorage
1.2.840.10008.5.1.4.1.1.30 ParametricMapStorage
1.2.840.10008.5.1.4.1.1.66 RawDataStorage
1.2.840.10008.5.1.4.1.1.66.1 SpatialRegistrationStorage
1.2.840.10008.5.1.4.1.1.66.2 SpatialFiducialsStorage
1.2.840.10008.5.1.4.1.1.66.3 DeformableSpatialRegistrationStorage
1.2.840.10008.5.1.4.1.1.66.4 SegmentationStorage
1.2.840.10008.5.1.4.1.1.66.5 SurfaceSegmentationStorage
1.2.840.10008.5.1.4.1.1.66.6 TractographyResultsStorage
1.2.840.10008.5.1.4.1.1.67 RealWorldValueMappingStorage
1.2.840.10008.5.1.4.1.1.68.1 SurfaceScanMeshStorage
1.2.840.10008.5.1.4.1.1.68.2 SurfaceScanPointCloudStorage
1.2.840.10008.5.1.4.1.1.77.1 RETIRED_VLImageStorage
1.2.840.10008.5.1.4.1.1.77.1.1 VLEndoscopicImageStorage
1.2.840.10008.5.1.4.1.1.77.1.1.1 VideoEndoscopicImageStorage
1.2.840.10008.5.1.4.1.1.77.1.2 VLMicroscopicImageStorage
1.2.840.10008.5.1.4.1.1.77.1.2.1 VideoMicroscopicImageStorage
1.2.840.10008.5.1.4.1.1.77.1.3 VLSlideCoordinatesMicroscopicImageStorage
1.2.840.10008.5.1.4.1.1.77.1.4 VLPhotographicImageStorage
1.2.840.10008.5.1.4.1.1.77.1.4.1 VideoPhotographicImageStorage
1.2.840.10008.5.1.4.1.1.77.1.5.1 OphthalmicPhotography8BitImageStorage
1.2.840.10008.5.1.4.1.1.77.1.5.2 OphthalmicPhotography16BitImageStorage
1.2.840.10008.5.1.4.1.1.77.1.5.3 StereometricRelationshipStorage
1.2.840.10008.5.1.4.1.1.77.1.5.4 OphthalmicTomographyImageStorage
1.2.840.10008.5.1.4.1.1.77.1.5.5 WideFieldOphthalmicPhotographyStereographicProjectionImageStorage
1.2.840.10008.5.1.4.1.1.77.1.5.6 WideFieldOphthalmicPhotography3DCoordinatesImageStorage
1.2.840.10008.5.1.4.1.1.77.1.5.7 OphthalmicOpticalCoherenceTomographyEnFaceImageStorage
1.2.840.10008.5.1.4.1.1.77.1.5.8 OphthalmicOpticalCoherenceTomographyBscanVolumeAnalysisStorage
1.2.840.10008.5.1.4.1.1.77.1.6 VLWholeSlideMicroscopyImageStorage
1.2.840.10008.5.1.4.1.1.77.1.7 DermoscopicPhotographyImageStorage
1.2.840.10008.5.1.4.1.1.77.2 RETIRED_VLMultiframeImageStorage
1.2.840.10008.5.1.4.1.1.78.1 LensometryMeasurementsStorage
1.2.840.10008.5.1.4.1.1.78.2 AutorefractionMeasurementsStorage
1.2.840.10008.5.1.4.1.1.78.3 KeratometryMeasurementsStorage
1.2.840.10008.5.1.4.1.1.78.4 SubjectiveRefractionMeasurementsStorage
1.2.840.10008.5.1.4.1.1.78.5 VisualAcuityMeasurementsStorage
1.2.840.10008.5.1.4.1.1.78.6 SpectaclePrescriptionReportStorage
1.2.840.10008.5.1.4.1.1.78.7 OphthalmicAxialMeasurementsStorage
1.2.840.10008.5.1.4.1.1.78.8 IntraocularLensCalculationsStorage
1.2.840.10008.5.1.4.1.1.79.1 MacularGridThicknessAndVolumeReportStorage
1.2.840.10008.5.1.4.1.1.80.1 OphthalmicVisualFieldStaticPerimetryMeasurementsStorage
1.2.840.10008.5.1.4.1.1.81.1 OphthalmicThicknessMapStorage
1.2.840.10008.5.1.4.1.1.82.1 CornealTopographyMapStorage
1.2.840.10008.5.1.4.1.1.88.1 DRAFT_SRTextStorage
1.2.840.10008.5.1.4.1.1.88.2 DRAFT_SRAudioStorage
1.2.840.10008.5.1.4.1.1.88.3 DRAFT_SRDetailStorage
1.2.840.10008.5.1.4.1.1.88.4 DRAFT_SRComprehensiveStorage
1.2.840.10008.5.1.4.1.1.88.11 BasicTextSRStorage
1.2.840.10008.5.1.4.1.1.88.22 EnhancedSRStorage
1.2.840.10008.5.1.4.1.1.88.33 ComprehensiveSRStorage
1.2.840.10008.5.1.4.1.1.88.34 Comprehensive3DSRStorage
1.2.840.10008.5.1.4.1.1.88.35 ExtensibleSRStorage
1.2.840.10008.5.1.4.1.1.88.40 ProcedureLogStorage
1.2.840.10008.5.1.4.1.1.88.50 MammographyCADSRStorage
1.2.840.10008.5.1.4.1.1.88.59 KeyObjectSelectionDocumentStorage
1.2.840.10008.5.1.4.1.1.88.65 ChestCADSRStorage
1.2.840.10008.5.1.4.1.1.88.67 XRayRadiationDoseSRStorage
1.2.840.10008.5.1.4.1.1.88.68 RadiopharmaceuticalRadiationDoseSRStorage
1.2.840.10008.5.1.4.1.1.88.69 ColonCADSRStorage
1.2.840.10008.5.1.4.1.1.88.70 ImplantationPlanSRDocumentStorage
1.2.840.10008.5.1.4.1.1.88.71 AcquisitionContextSRStorage
1.2.840.10008.5.1.4.1.1.88.72 SimplifiedAdultEchoSRStorage
1.2.840.10008.5.1.4.1.1.88.73 PatientRadiationDoseSRStorage
1.2.840.10008.5.1.4.1.1.88.74 PlannedImagingAgentAdministrationSRStorage
1.2.840.10008.5.1.4.1.1.88.75 PerformedImagingAgentAdministrationSRStorage
1.2.840.10008.5.1.4.1.1.88.76 EnhancedXRayRadiationDoseSRStorage
1.2.840.10008.5.1.4.1.1.90.1 ContentAssessmentResultsStorage
1.2.840.10008.5.1.4.1.1.91.1 MicroscopyBulkSimpleAnnotationsStorage
1.2.840.10008.5.1.4.1.1.104.1 EncapsulatedPDFStorage
1.2.840.10008.5.1.4.1.1.104.2 EncapsulatedCDAStorage
1.2.840.10008.5.1.4.1.1.104.3 EncapsulatedSTLStorage
1.2.840.10008.5.1.4.1.1.104.4 EncapsulatedOBJStorage
1.2.840.10008.5.1.4.1.1.104.5 EncapsulatedMTLStorage
1.2.840.10008.5.1.4.1.1.128 PositronEmissionTomographyImageStorage
1.2.840.10008.5.1.4.1.1.128.1 LegacyConvertedEnhancedPETImageStorage
1.2.840.10008.5.1.4.1.1.129 RETIRED_StandalonePETCurveStorage
1.2.840.10008.5.1.4.1.1.130 EnhancedPETImageStorage
1.2.840.10008.5.1.4.1.1.131 BasicStructuredDisplayStorage
1.2.840.10008.5.1.4.1.1.200.1 CTDefinedProcedureProtocolStorage
1.2.840.10008.5.1.4.1.1.200.2 CTPerformedProcedureProtocolStorage
1.2.840.10008.5.1.4.1.1.200.3 ProtocolApprovalStorage
1.2.840.10008.5.1.4.1.1.200.4 FINDProtocolApprovalInformationModel
1.2.840.10008.5.1.4.1.1.200.5 MOVEProtocolApprovalInformationModel
1.2.840.10008.5.1.4.1.1.200.6 GETProtocolApprovalInformationModel
1.2.840.10008.5.1.4.1.1.200.7 XADefinedProcedureProtocolStorage
1.2.840.10008.5.1.4.1.1.200.8 XAPerformedProcedureProtocolStorage
1.2.840.10008.5.1.4.1.1.481.1 RTImageStorage
1.2.840.10008.5.1.4.1.1.481.2 RTDoseStorage
1.2.840.10008.5.1.4.1.1.481.3 RTStructureSetStorage
1.2.840.10008.5.1.4.1.1.481.4 RTBeamsTreatmentRecordStorage
1.2.840.10008.5.1.4.1.1.481.5 RTPlanStorage
1.2.840.10008.5.1.4.1.1.481.6 RTBrachyTreatmentRecordStorage
1.2.840.10008.5.1.4.1.1.481.7 RTTreatmentSummaryRecordStorage
1.2.840.10008.5.1.4.1.1.481.8 RTIonPlanStorage
1.2.840.10008.5.1.4.1.1.481.9 RTIonBeamsTreatmentRecordStorage
1.2.840.10008.5.1.4.1.1.481.10 RTPhysicianIntentStorage
1.2.840.10008.5.1.4.1.1.481.11 RTSegmentAnnotationStorage
1.2.840.10008.5.1.4.1.1.481.12 RTRadiationSetStorage
1.2.840.10008.5.1.4.1.1.481.13 CArmPhotonElectronRadiationStorage
1.2.840.10008.5.1.4.1.1.481.14 TomotherapeuticRadiationStorage
1.2.840.10008.5.1.4.1.1.481.15 RoboticArmRadiationStorage
1.2.840.10008.5.1.4.1.1.481.16 RTRadiationRecordSetStorage
1.2.840.10008.5.1.4.1.1.481.17 RTRadiationSalvageRecordStorage
1.2.840.10008.5.1.4.1.1.481.18 TomotherapeuticRadiationRecordStorage
1.2.840.10008.5.1.4.1.1.481.19 CArmPhotonElectronRadiationRecordStorage
1.2.840.10008.5.1.4.1.1.481.20 RoboticRadiationRecordStorage
1.2.840.10008.5.1.4.1.1.481.21 RTRadiationSetDeliveryInstructionStorage
1.2.840.10008.5.1.4.1.1.481.22 RTTreatmentPreparationStorage
1.2.840.10008.5.1.4.1.1.501.1 DICOS_CTImageStorage
1.2.840.10008.5.1.4.1.1.501.2.1 DICOS_DigitalXRayImageStorageForPresentation
1.2.840.10008.5.1.4.1.1.501.2.2 DICOS_DigitalXRayImageStorageForProcessing
1.2.840.10008.5.1.4.1.1.501.3 DICOS_ThreatDetectionReportStorage
1.2.840.10008.5.1.4.1.1.501.4 DICOS_2DAITStorage
1.2.840.10008.5.1.4.1.1.501.5 DICOS_3DAITStorage
1.2.840.10008.5.1.4.1.1.501.6 DICOS_QuadrupoleResonanceStorage
1.2.840.10008.5.1.4.1.1.601.1 DICONDE_EddyCurrentImageStorage
1.2.840.10008.5.1.4.1.1.601.2 DICONDE_EddyCurrentMultiframeImageStorage
1.2.840.10008.5.1.4.1.2.1.1 FINDPatientRootQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.1.2 MOVEPatientRootQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.1.3 GETPatientRootQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.2.1 FINDStudyRootQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.2.2 MOVEStudyRootQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.2.3 GETStudyRootQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.3.1 RETIRED_FINDPatientStudyOnlyQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.3.2 RETIRED_MOVEPatientStudyOnlyQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.3.3 RETIRED_GETPatientStudyOnlyQueryRetrieveInformationModel
1.2.840.10008.5.1.4.1.2.4.2 MOVECompositeInstanceRootRetrieve
1.2.840.10008.5.1.4.1.2.4.3 GETCompositeInstanceRootRetrieve
1.2.840.10008.5.1.4.1.2.5.3 GETCompositeInstanceRetrieveWithoutBulkData
1.2.840.10008.5.1.4.20.1 FINDDefinedProcedureProtocolInformationModel
1.2.840.10008.5.1.4.20.2 MOVEDefinedProcedureProtocolInformationModel
1.2.840.10008.5.1.4.20.3 GETDefinedProcedureProtocolInformationModel
1.2.840.10008.5.1.4.31 FINDModalityWorklistInformationModel
1.2.840.10008.5.1.4.32 RETIRED_GeneralPurposeWorklistManagementMetaSOPClass
1.2.840.10008.5.1.4.32.1 RETIRED_FINDGeneralPurposeWorklistInformationModel
1.2.840.10008.5.1.4.32.2 RETIRED_GeneralPurposeScheduledProcedureStepSOPClass
1.2.840.10008.5.1.4.32.3 RETIRED_GeneralPurposePerformedProcedureStepSOPClass
1.2.840.10008.5.1.4.33 InstanceAvailabilityNotificationSOPClass
1.2.840.10008.5.1.4.34.1 DRAFT_RTBeamsDeliveryInstructionStorage
1.2.840.10008.5.1.4.34.2 DRAFT_RTConventionalMachineVerification
1.2.840.10008.5.1.4.34.3 DRAFT_RTIonMachineVerification
1.2.840.10008.5.1.4.34.4 DRAFT_UnifiedWorklistAndProcedureStepServiceClass
1.2.840.10008.5.1.4.34.4.1 DRAFT_UnifiedProcedureStepPushSOPClass
1.2.840.10008.5.1.4.34.4.2 DRAFT_UnifiedProcedureStepWatchSOPClass
1.2.840.10008.5.1.4.34.4.3 DRAFT_UnifiedProcedureStepPullSOPClass
1.2.840.10008.5.1.4.34.4.4 DRAFT_UnifiedProcedureStepEventSOPClass
1.2.840.10008.5.1.4.34.5 UPSGlobalSubscriptionSOPInstance
1.2.840.10008.5.1.4.34.5.1 UPSFilteredGlobalSubscriptionSOPInstance
1.2.840.10008.5.1.4.34.6 UnifiedWorklistAndProcedureStepServiceClass
1.2.840.10008.5.1.4.34.6.1 UnifiedProcedureStepPushSOPClass
1.2.840.10008.5.1.4.34.6.2 UnifiedProcedureStepWatchSOPClass
1.2.840.10008.5.1.4.34.6.3 UnifiedProcedureStepPullSOPClass
1.2.840.10008.5.1.4.34.6.4 UnifiedProcedureStepEventSOPClass
1.2.840.10008.5.1.4.34.6.5 UnifiedProcedureStepQuerySOPClass
1.2.840.10008.5.1.4.34.7 RTBeamsDeliveryInstructionStorage
1.2.840.10008.5.1.4.34.8 RTConventionalMachineVerification
1.2.840.10008.5.1.4.34.9 RTIonMachineVerification
1.2.840.10008.5.1.4.34.10 RTBrachyApplicationSetupDeliveryInstructionStorage
1.2.840.10008.5.1.4.37.1 GeneralRelevantPatientInformationQuery
1.2.840.10008.5.1.4.37.2 BreastImagingRelevantPatientInformationQuery
1.2.840.10008.5.1.4.37.3 CardiacRelevantPatientInformationQuery
1.2.840.10008.5.1.4.38.1 HangingProtocolStorage
1.2.840.10008.5.1.4.38.2 FINDHangingProtocolInformationModel
1.2.840.10008.5.1.4.38.3 MOVEHangingProtocolInformationModel
1.2.840.10008.5.1.4.39.1 ColorPaletteStorage
1.2.840.10008.5.1.4.39.2 FINDColorPaletteInformationModel
1.2.840.10008.5.1.4.39.3 MOVEColorPaletteInformationModel
1.2.840.10008.5.1.4.39.4 GETColorPaletteInformationModel
1.2.840.10008.5.1.4.41 ProductCharacteristicsQuerySOPClass
1.2.840.10008.5.1.4.42 SubstanceApprovalQuerySOPClass
1.2.840.10008.5.1.4.43.1 GenericImplantTemplateStorage
1.2.840.10008.5.1.4.43.2 FINDGenericImplantTemplateInformationModel
1.2.840.10008.5.1.4.43.3 MOVEGenericImplantTemplateInformationModel
1.2.840.10008.5.1.4.43.4 GETGenericImplantTemplateInformationModel
1.2.840.10008.5.1.4.44.1 ImplantAssemblyTemplateStorage
1.2.840.10008.5.1.4.44.2 FINDImplantAssemblyTemplateInformationModel
1.2.840.10008.5.1.4.44.3 MOVEImplantAssemblyTemplateInformationModel
1.2.840.10008.5.1.4.44.4 GETImplantAssemblyTemplateInformationModel
1.2.840.10008.5.1.4.45.1 ImplantTemplateGroupStorage
1.2.840.10008.5.1.4.45.2 FINDImplantTemplateGroupInformationModel
1.2.840.10008.5.1.4.45.3 MOVEImplantTemplateGroupInformationModel
1.2.840.10008.5.1.4.45.4 GETImplantTemplateGroupInformationModel
1.2.840.10008.7.1.1 NativeDICOMModel
1.2.840.10008.7.1.2 AbstractMultiDimensionalImageModel
1.2.840.10008.8.1.1 DICOMContentMappingResource
1.2.840.10008.10.1 VideoEndoscopicImageRealTimeCommunication
1.2.840.10008.10.2 VideoPhotographicImageRealTimeCommunication
1.2.840.10008.10.3 AudioWaveformRealTimeCommunication
1.2.840.10008.10.4 RenditionSelectionDocumentRealTimeCommunication
1.2.840.10008.15.0.3.1 LDAP_dicomDeviceName
1.2.840.10008.15.0.3.2 LDAP_dicomDescription
1.2.840.10008.15.0.3.3 LDAP_dicomManufacturer
1.2.840.10008.15.0.3.4 LDAP_dicomManufacturerModelName
1.2.840.10008.15.0.3.5 LDAP_dicomSoftwareVersion
1.2.840.10008.15.0.3.6 LDAP_dicomVendorData
1.2.840.10008.15.0.3.7 LDAP_dicomAETitle
1.2.840.10008.15.0.3.8 LDAP_dicomNetworkConnectionReference
1.2.840.10008.15.0.3.9 LDAP_dicomApplicationCluster
1.2.840.10008.15.0.3.10 LDAP_dicomAssociationInitiator
1.2.840.10008.15.0.3.11 LDAP_dicomAssociationAcceptor
1.2.840.10008.15.0.3.12 LDAP_dicomHostname
1.2.840.10008.15.0.3.13 LDAP_dicomPort
1.2.840.10008.15.0.3.14 LDAP_dicomSOPClass
1.2.840.10008.15.0.3.15 LDAP_dicomTransferRole
1.2.840.10008.15.0.3.16 LDAP_dicomTransferSyntax
1.2.840.10008.15.0.3.17 LDAP_dicomPrimaryDeviceType
1.2.840.10008.15.0.3.18 LDAP_dicomRelatedDeviceReference
1.2.840.10008.15.0.3.19 LDAP_dicomPreferredCalledAETitle
1.2.840.10008.15.0.3.20 LDAP_dicomTLSCyphersuite
1.2.840.10008.15.0.3.21 LDAP_dicomAuthorizedNodeCertificateReference
1.2.840.10008.15.0.3.22 LDAP_dicomThisNodeCertificateReference
1.2.840.10008.15.0.3.23 LDAP_dicomInstalled
1.2.840.10008.15.0.3.24 LDAP_dicomStationName
1.2.840.10008.15.0.3.25 LDAP_dicomDeviceSerialNumber
1.2.840.10008.15.0.3.26 LDAP_dicomInstitutionName
1.2.840.10008.15.0.3.27 LDAP_dicomInstitutionAddress
1.2.840.10008.15.0.3.28 LDAP_dicomInstitutionDepartmentName
1.2.840.10008.15.0.3.29 LDAP_dicomIssuerOfPatientID
1.2.840.10008.15.0.3.30 LDAP_dicomPreferredCallingAETitle
1.2.840.10008.15.0.3.31 LDAP_dicomSupportedCharacterSet
1.2.840.10008.15.0.4.1 LDAP_dicomConfigurationRoot
1.2.840.10008.15.0.4.2 LDAP_dicomDevicesRoot
1.2.840.10008.15.0.4.3 LDAP_dicomUniqueAETitlesRegistryRoot
1.2.840.10008.15.0.4.4 LDAP_dicomDevice
1.2.840.10008.15.0.4.5 LDAP_dicomNetworkAE
1.2.840.10008.15.0.4.6 LDAP_dicomNetworkConnection
1.2.840.10008.15.0.4.7 LDAP_dicomUniqueAETitle
1.2.840.10008.15.0.4.8 LDAP_dicomTransferCapability
1.2.840.10008.15.1.1 UniversalCoordinatedTimeSynchronizationFrameOfReference
"""
