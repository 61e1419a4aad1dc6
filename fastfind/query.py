"""Query identifiers: query files and ``-k`` keys, exactly as DCMTK 3.6.7 findscu builds them.

``-k`` keys follow ``DcmPathProcessor::applyPathWithValue`` (``dcpath.cc``) with item wildcards
disabled and private reservations unchecked, as ``dfindscu.cc`` configures it:

* the key is split at the first ``=``; no ``=`` or an empty value gives a zero-length element,
  even over a value from the query file;
* tags are ``(gggg,eeee)``, ``gggg,eeee`` (``sscanf("%x,%x")``, so ``10,10`` works) or a
  case-sensitive dictionary name; paths are ``{sequence[item].}*element``, missing sequences
  and items are created (``[n]`` makes n+1 items); a bare sequence gives an empty SQ;
* values go through DCMTK's ``putString`` for the element's VR (PS3.5 §6.2): ``\\`` separates
  values, binary numbers are parsed like ``sscanf``, OB/UN/unknown tags take hex bytes.

The returned :class:`pydicom.Dataset` holds values typed so that
:func:`fastfind.codec.encode_identifier` writes the bytes DCMTK would send: string values are
kept verbatim (no charset round trip), odd-length strings get DCMTK's pad, sequences and items
get defined lengths. A data set read from a query file also records, for the ``Request
Identifiers`` dump, its transfer syntax (``original_encoding``), which elements still hold the
file's value (:func:`read_from_file`) and which sequences/items had an undefined length
(``read_undefined_length``). DCMTK's parser warnings come back through ``log``.

Not modelled here (the encoder's job): DCMTK recalculates group length elements and byte-swaps
OW/OF/OD/OL/OV values in big endian; pydicom's writer drops the former and not the latter.

Deviations (documented, deliberate): keys are applied atomically (a bad key leaves the data set
as it was; DCMTK's undo is partial, but findscu never sends that data set); an item number above
:data:`MAX_ITEMS` is refused instead of exhausting memory; UI ``=Name`` values use pydicom's UID
keywords, which differ from DCMTK's UID names.
"""

from __future__ import annotations

import copy
import re
import struct
import zlib
from collections.abc import Iterable

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import UID_dictionary
from pydicom.valuerep import PersonName

from . import localfile
from .dicom import dictionary
from .dicom.vr import LONG_VRS, OVERLAY_DATA, PIXEL_DATA, REPEATING_MASK, UNKNOWN_NAME
from .errors import CodecError, UsageError

MAX_ITEMS = 65536

# DCMTK condition codes (module:code as DimseCondition::dump prints them)
COND_PATH = "0001:0019"  # dcmdata module 25 (dcpath.cc)
COND_ILLEGAL_PARAMETER = ("0000:0001", "Illegal parameter")
COND_ILLEGAL_CALL = ("0001:0007", "Illegal call, perhaps wrong parameters")
COND_CORRUPTED = ("0001:0006", "Corrupted data")
COND_UNKNOWN_UID = ("0001:003c", "Unknown UID name: No mapping to UID value defined")
COND_END_OF_STREAM = ("0001:0005", "End of stream")
COND_PREMATURE = ("0001:000a", "I/O suspension or premature end of stream")
COND_INVALID_STREAM = ("0001:0004", "Invalid stream")
COND_OPEN = "0001:0012"


class QueryKeyError(UsageError):
    """A ``-k`` key DCMTK would reject (``E: Bad override key/path: <key>``).

    ``str(exc)`` and :attr:`condition_text` are DCMTK's condition text, :attr:`dcmtk_condition`
    its code (``"0001:0019"``), :attr:`path_text` the whole key as given.
    """

    def __init__(self, message: str, key: str = "", condition: str = COND_PATH):
        super().__init__(message)
        self.condition_text = message
        self.dcmtk_condition = condition
        self.path_text = key


class QueryFileError(UsageError):
    """A query file DCMTK could not load.

    ``str(exc)`` and :attr:`condition_text` are DCMTK's condition text (``"I/O suspension or
    premature end of stream"``), :attr:`dcmtk_condition` its code (``"0001:000a"``), and
    :attr:`log_line` findscu's first error line, ``Bad DICOM file: <file>: <text>``; findscu then
    prints ``Find SCU Failed: <code> <text>``.
    """

    def __init__(
        self, path: str, text: str, condition: str, log: list[tuple[str, str]] | None = None
    ):
        super().__init__(text)
        self.path = path
        self.condition_text = text
        self.dcmtk_condition = condition
        self.log_line = f"Bad DICOM file: {path}: {text}"
        #: DCMTK's parser messages before ``log_line``, as ``(level, message)`` pairs
        self.log_lines: list[tuple[str, str]] = list(log or [])


# ---- scanf emulation ----------------------------------------------------------------------

_WS = b" \t\n\v\f\r"
_U64 = (1 << 64) - 1


def _scan_int(text: bytes, bits: int, signed: bool, base: int = 10) -> int | None:
    """``sscanf`` ``%hd/%hu/%d/%u/%ld/%lu/%hx/%x`` on glibc/LP64: strtol(l) then truncate."""
    s = text.lstrip(_WS)
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
    if base == 16 and s[:2].lower() == b"0x" and s[2:3] and s[2:3] in b"0123456789abcdefABCDEF":
        s = s[2:]
    digits = re.match(rb"[0-9a-fA-F]+" if base == 16 else rb"[0-9]+", s)
    if digits is None:
        return None
    magnitude = int(digits.group(0), base)
    if signed:  # strtol: saturate to long
        value = -magnitude if neg else magnitude
        value = max(-(1 << 63), min((1 << 63) - 1, value))
    else:  # strtoul: saturate magnitude, then negate modulo 2**64
        value = _U64 if magnitude > _U64 else magnitude
        if neg and magnitude <= _U64:
            value = -value & _U64
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


_POW10 = (10.0, 100.0, 1.0e4, 1.0e8, 1.0e16, 1.0e32, 1.0e64, 1.0e128, 1.0e256)


def _dcmtk_atof(text: bytes) -> float | None:
    """DCMTK's own ``OFStandard::atof`` (not correctly rounded); ``None`` when it fails."""
    s = text.lstrip(_WS)
    neg = s[:1] == b"-"
    if s[:1] in (b"+", b"-"):
        s = s[1:]
    head = s[:3].lower()
    if head == b"nan":
        return float("nan")
    if head == b"inf":
        return float("-inf") if neg else float("inf")
    m = re.match(rb"([0-9]*)(?:\.([0-9]*))?", s)
    assert m is not None
    int_part, frac_part = m.group(1), m.group(2) or b""
    mantissa = int_part + frac_part
    if not mantissa:
        return None
    dec_pt = len(int_part)
    if len(mantissa) > 18:
        frac_exp = dec_pt - 18
        mantissa = mantissa[:18]
    else:
        frac_exp = dec_pt - len(mantissa)
    split = max(0, len(mantissa) - 9)
    frac1 = int(mantissa[:split] or b"0")
    frac2 = int(mantissa[split:] or b"0")
    fraction = 1.0e9 * float(frac1) + float(frac2)
    rest = s[m.end() :]
    exponent = 0
    if rest[:1] in (b"e", b"E"):
        rest = rest[1:]
        exp_neg = rest[:1] == b"-"
        if rest[:1] in (b"+", b"-"):
            rest = rest[1:]
        for ch in re.match(rb"[0-9]*", rest).group(0):  # type: ignore[union-attr]
            old = exponent
            exponent = (exponent * 10 + ch - 48) & 0xFFFFFFFF
            if exponent >= 1 << 31:
                exponent -= 1 << 32
            if exponent < old:
                return None  # exponent overflow: DCMTK reports failure
        exponent = frac_exp - exponent if exp_neg else frac_exp + exponent
    else:
        exponent = frac_exp
    exp_neg = exponent < 0
    exponent = min(abs(exponent), 511)
    scale = 1.0
    i = 0
    while exponent:
        if exponent & 1:
            scale *= _POW10[i]
        exponent >>= 1
        i += 1
    fraction = fraction / scale if exp_neg else fraction * scale
    return -fraction if neg else fraction


def _float32(value: float) -> float:
    """Round a double to float32 like a C cast (overflow gives infinity)."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


# ---- element values (DcmElement::putString per VR) -----------------------------------------

#: VRs pydicom writes with ``write_string``/``write_number_string`` (default repertoire).
_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"})
#: VRs pydicom writes with ``write_text`` (bytes written verbatim).
_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})
STRING_VRS = _ASCII_VRS | _TEXT_VRS | {"PN"}  # = fastfind.dicom.vr.STRING_VRS (tests/test_vr.py)
_REAL_VRS = frozenset(v for v in dictionary.DIC_VRS if v.isupper())
_INT_VRS = {
    "US": (16, False),
    "SS": (16, True),
    "UL": (32, False),
    "SL": (32, True),
    "SV": (64, True),
    "UV": (64, False),
}
_OTHER_BINARY = {"OL": ("<I", 32, False), "OV": ("<Q", 64, False), "OF": ("<f", 0, 0)}


def _split(value: bytes) -> list[bytes]:
    return value.split(b"\\")


def make_element(tag: int, vr: str, value: object) -> DataElement:
    """A pydicom element with exactly this VR and value (no UN-to-dictionary-VR replacement)."""
    elem = DataElement(tag, "OB" if vr == "UN" else vr, value, already_converted=True)
    elem.VR = vr
    return elem


def string_element(tag: int, vr: str, raw: bytes) -> DataElement:
    """A string element whose pydicom encoding is exactly ``raw`` (padded to even length)."""
    if vr == "PN":
        return make_element(tag, vr, PersonName(raw) if raw else "")  # encodes the original bytes
    if vr in _ASCII_VRS:
        return make_element(tag, vr, raw.decode("latin-1"))
    return make_element(tag, vr, raw)


def _binary_value(vr: str, value: bytes) -> object:
    """putString for binary VRs; raises ``ValueError`` for DCMTK's ``EC_CorruptedData``."""
    parts = _split(value)
    if vr in _INT_VRS:
        bits, signed = _INT_VRS[vr]
        ints = [_scan_int(p, bits, signed) if p else None for p in parts]
        if any(i is None for i in ints):
            raise ValueError
        return ints[0] if len(ints) == 1 else ints
    if vr in ("FL", "FD", "OF", "OD"):
        floats = [_dcmtk_atof(p) if p else None for p in parts]
        if any(f is None for f in floats):
            raise ValueError
        if vr == "FL":
            floats = [_float32(f) for f in floats]  # type: ignore[arg-type]
        if vr == "OF":
            return b"".join(struct.pack("<f", _float32(f)) for f in floats)  # type: ignore[arg-type]
        if vr == "OD":
            return b"".join(struct.pack("<d", f) for f in floats)  # type: ignore[arg-type]
        return floats[0] if len(floats) == 1 else floats
    if vr in ("OL", "OV"):
        bits = 32 if vr == "OL" else 64
        ints = [_scan_int(p, bits, False) if p else None for p in parts]
        if any(i is None for i in ints):
            raise ValueError
        fmt = "<I" if bits == 32 else "<Q"
        return b"".join(struct.pack(fmt, i) for i in ints)  # type: ignore[arg-type]
    if vr == "AT":
        tags = []
        for p in parts:
            tag = _scan_tag_pair(p[1:]) if p.startswith(b"(") else None  # "(%hx,%hx)"
            if tag is None:
                raise ValueError
            tags.append(tag)
        return tags[0] if len(tags) == 1 else tags
    # OB, OW, UN, unknown VRs: hex numbers, one byte (OW/lt: one word) each
    words = vr in ("OW", "lt")
    out = bytearray()
    for p in parts:
        number = _scan_int(p, 16, False, 16) if p else None
        if number is None:
            raise ValueError
        out += struct.pack("<H", number) if words else bytes([number & 0xFF])
    if len(out) & 1:
        out.append(0)
    return bytes(out)


def _strip_padding(vr: str, raw: bytes) -> bytes:
    """``makeMachineByteString`` with automatic data correction (``+dc``)."""
    if vr == "UI":
        raw = bytes(b for b in raw if b not in _WS)
        return raw.rstrip(b"\0")
    return raw.rstrip(b" ")


def put_string(elem_vr: str, tag: int, value: bytes, data_correction: bool = False) -> DataElement:
    """A new element ``tag`` holding ``value`` as DCMTK's ``putString`` would store it.

    ``elem_vr`` is the VR of DCMTK's element object (dictionary VR, pseudo VRs allowed, or
    ``"??"`` for an unknown tag). Raises :class:`QueryKeyError` (without a key) on bad values.
    """
    if elem_vr in ("ox", "px") and _is_pixel_or_overlay(tag):
        elem_vr = "OW"  # DcmPixelData / DcmOverlayData hold 16-bit words
    wire = dictionary.WIRE_VR.get(elem_vr, elem_vr)
    if wire == "??":
        wire = "UN"
    if elem_vr in STRING_VRS:
        if elem_vr == "UI" and value.startswith(b"="):
            uid = _uid_for_name(value[1:].decode("latin-1"))
            if uid is None:
                raise QueryKeyError(COND_UNKNOWN_UID[1], condition=COND_UNKNOWN_UID[0])
            value = uid.encode("ascii")
        if data_correction:
            value = _strip_padding(elem_vr, value)
        return string_element(tag, elem_vr, value)
    if not value:
        return make_element(
            tag, wire, b"" if wire in ("OB", "OW", "UN", "OF", "OD", "OL", "OV") else None
        )
    try:
        parsed = _binary_value("UN" if elem_vr in ("??", "ox", "px") else elem_vr, value)
    except ValueError:
        raise QueryKeyError(COND_CORRUPTED[1], condition=COND_CORRUPTED[0]) from None
    return make_element(tag, wire, parsed)


def _is_pixel_or_overlay(tag: int) -> bool:
    return tag == PIXEL_DATA or (tag & REPEATING_MASK) == OVERLAY_DATA


def element_vr(tag: int, dict_vr: str) -> str:
    """The VR DCMTK gives an element it creates or reads in implicit VR from ``dict_vr``."""
    if dict_vr in ("ox", "px") and _is_pixel_or_overlay(tag):
        return "OW"
    return dictionary.WIRE_VR.get(dict_vr, dict_vr)


def _uid_for_name(name: str) -> str | None:
    for uid, info in UID_dictionary.items():
        if info[4] == name:
            return str(uid)
    return None


# ---- tag and path parsing (dcpath.cc, dctag.cc) --------------------------------------------


def _find_tag(text: str) -> tuple[int, str] | None:
    """``DcmTag::findTagFromName``: ``(tag, dictionary VR or "??")`` or ``None``."""
    if not text:
        return None
    tag = _scan_tag_pair(text.encode("latin-1", "replace"))
    if tag is not None:
        found = dictionary.entry(tag)
        return tag, found[0] if found else "??"
    return dictionary.lookup_name(text)


_HEX_FIELD = re.compile(rb"[ \t\n\v\f\r]*[+-]?(?:0[xX](?=[0-9a-fA-F]))?[0-9a-fA-F]+")


def _scan_tag_pair(raw: bytes) -> int | None:
    """``sscanf(s, "%x,%x")``: the group must be followed directly by ``,``; 16-bit casts."""
    m = _HEX_FIELD.match(raw)
    if m is None or raw[m.end() : m.end() + 1] != b",":
        return None
    group = _scan_int(raw[: m.end()], 32, False, 16)
    elem = _scan_int(raw[m.end() + 1 :], 32, False, 16)
    if group is None or elem is None:
        return None
    return (group & 0xFFFF) << 16 | (elem & 0xFFFF)


def _parse_tag(path: str) -> tuple[int, str, str]:
    """Parse the tag at the start of ``path``; return ``(tag, vr, rest of path)``."""
    if path.startswith("("):
        close = path.find(")")
        if close < 0:
            raise QueryKeyError(f"Unable to parse tag at beginning of path: {path}")
        found = _find_tag(path[1:close])
        rest = path[close + 1 :]
    else:
        bracket = path.find("[")
        found = _find_tag(path if bracket < 0 else path[:bracket])
        rest = "" if bracket < 0 else path[bracket:]
    if found is None:
        raise QueryKeyError(f"Unable to parse tag/dictionary name at beginning of path: {path}")
    return found[0], found[1], rest


def _parse_item(path: str) -> tuple[int, str]:
    """Parse ``[n]`` at the start of ``path``; return ``(n, rest)`` (one char after ``]`` dropped)."""
    close = path.find("]")
    if close >= 0 and path.startswith("["):
        number = _scan_int(path[1:].encode("latin-1", "replace"), 64, True)
        if number is not None:
            if number < 0:
                raise QueryKeyError(
                    f"Negative item number (not permitted) at beginning of path: {path}"
                )
            if close + 1 < len(path):
                close += 1
            return number & 0xFFFFFFFF, path[close + 1 :]  # DCMTK casts the long to Uint32
    raise QueryKeyError(f"Unable to parse item number at beginning of path: {path}")


def _is_private(tag: int) -> bool:
    group = tag >> 16
    return bool(group & 1) and group not in (1, 3, 5, 7, 0xFFFF)


def _private_creator(item: Dataset, tag: int) -> str | None:
    slot = (tag & 0xFFFF0000) | ((tag >> 8) & 0xFF)
    elem = item.get_item(BaseTag(slot))
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).rstrip(" \0") if value is not None else ""
    return text or None


def _apply_item(item: Dataset, path: str, value: bytes | None, dc: bool) -> None:
    tag, vr, rest = _parse_tag(path)
    existing = item.get_item(BaseTag(tag))
    if existing is None:
        if _is_private(tag) and (tag & 0xFFFF) not in range(0x10, 0x100):
            creator = _private_creator(item, tag)
            if creator is not None:
                found = dictionary.entry_for(tag, creator)
                if found is not None:
                    vr = found[0]
        if vr == "na":
            raise QueryKeyError(COND_ILLEGAL_CALL[1], condition=COND_ILLEGAL_CALL[0])
        if vr == "SQ":
            new = make_element(tag, "SQ", Sequence())
        else:
            new = put_string(vr, tag, b"")
        item[BaseTag(tag)] = new
        existing = item.get_item(BaseTag(tag))
    elif isinstance(existing, RawDataElement):
        existing = item[BaseTag(tag)]
    if vr == "SQ":
        if existing.VR != "SQ":
            raise QueryKeyError(COND_ILLEGAL_CALL[1], condition=COND_ILLEGAL_CALL[0])
        if rest:
            _apply_sequence(existing.value, rest, value, dc)
            return
        if value:
            raise QueryKeyError("Cannot insert value into path ending with item or sequence")
        return
    if rest:
        raise QueryKeyError("Invalid Path: Non-sequence tag found with rest path following")
    if existing.VR == "SQ":
        if value:
            raise QueryKeyError("Cannot insert value into path ending with item or sequence")
        return
    # DCMTK's element object keeps the VR it was read with; ambiguous pydicom VRs ("US or SS")
    # fall back to the dictionary VR like a newly created element
    elem_vr = existing.VR if existing.VR in _REAL_VRS else vr
    if elem_vr not in dictionary.DIC_VRS:
        elem_vr = "??"
    item[BaseTag(tag)] = put_string(elem_vr, tag, value or b"", dc)


def _apply_sequence(seq: Sequence, path: str, value: bytes | None, dc: bool) -> None:
    number, rest = _parse_item(path)
    if number >= MAX_ITEMS:
        raise QueryKeyError(f"Item number too large (at most {MAX_ITEMS - 1}): {path}")
    while len(seq) <= number:
        seq.append(Dataset())
    if rest:
        _apply_item(seq[number], rest, value, dc)
    elif value:
        raise QueryKeyError("Cannot insert value into path ending with item or sequence")


def apply_key(ds: Dataset, key: str, data_correction: bool = False) -> None:
    """Apply one ``-k`` key to ``ds`` in place (insert or replace); raises :class:`QueryKeyError`.

    ``data_correction`` mirrors findscu ``+dc``: trailing padding is removed from string values.
    """
    if not key:
        return
    path, sep, text = key.partition("=")
    value = text.encode("utf-8", "surrogateescape") if sep else b""
    try:
        if not path:
            raise QueryKeyError(COND_ILLEGAL_PARAMETER[1], condition=COND_ILLEGAL_PARAMETER[0])
        if "*" in path:
            raise QueryKeyError("Item wildcard '*' found in path but wildcards disabled")
        work = copy.deepcopy(ds)
        _apply_item(work, path, value, data_correction)
    except QueryKeyError as exc:
        exc.path_text = key
        raise
    ds.clear()
    ds.update(work)


def apply_keys(ds: Dataset, keys: Iterable[str], data_correction: bool = False) -> None:
    """Apply ``keys`` in order (later keys override earlier ones); stops at the first bad key."""
    for key in keys:
        apply_key(ds, key, data_correction)


# ---- query files (DcmFileFormat::loadFile with read mode auto-detect) -----------------------

_META_TS = {
    "1.2.840.10008.1.2": (True, True),
    "1.2.840.10008.1.2.2": (False, False),
}
_DEFLATED = "1.2.840.10008.1.2.1.99"


def _explicit_meta(data: bytes, pos: int) -> tuple[int, str | None]:
    """Walk the explicit-LE group 0002 at ``pos``; return (end offset, transfer syntax UID)."""
    ts_uid = None
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if group != 2:
            break
        vr = data[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"):
            if pos + 12 > len(data):
                raise QueryFileError("", *reversed(COND_PREMATURE))
            length = struct.unpack_from("<I", data, pos + 8)[0]
            start = pos + 12
        else:
            length = struct.unpack_from("<H", data, pos + 6)[0]
            start = pos + 8
        if start + length > len(data):
            tag = 0x00020000 | elem
            message = (
                f"DcmElement: {_tag_name(tag)} {_tag_text(tag)} larger ({length}) than remaining "
                f"bytes ({len(data) - start}) in file, premature end of stream"
            )
            raise QueryFileError("", *reversed(COND_INVALID_STREAM), [("E", message)])
        if elem == 0x10:
            ts_uid = data[start : start + length].rstrip(b"\0 ").decode("latin-1")
        pos = start + length
    return pos, ts_uid


def _guess_syntax(data: bytes) -> tuple[bool, bool]:
    """``(implicit, little)`` for a data set without meta header (DCMTK's heuristic)."""
    if len(data) < 6:
        return True, True
    explicit = data[4:6].decode("latin-1") in dictionary.DIC_VRS and data[4:6].isupper()
    le_tag = struct.unpack_from("<HH", data)
    be_tag = struct.unpack_from(">HH", data)
    le_known = dictionary.entry(le_tag[0] << 16 | le_tag[1]) is not None
    be_known = dictionary.entry(be_tag[0] << 16 | be_tag[1]) is not None
    little = le_known or not be_known and le_tag[0] <= be_tag[0]
    return not explicit, little


def _read_dataset(path: str) -> tuple[bytes, bool, bool]:
    """The data set bytes of a query file (read once, capped) and its ``(implicit, little)``."""
    try:
        data = localfile.read_capped(path, localfile.QUERY_FILE_LIMIT)
    except OSError as exc:
        raise QueryFileError(path, localfile.describe(exc), COND_OPEN) from None
    if not data:
        raise QueryFileError(path, COND_END_OF_STREAM[1], COND_END_OF_STREAM[0])
    if len(data) < 6:
        raise QueryFileError(path, COND_PREMATURE[1], COND_PREMATURE[0])
    pos = 0
    ts_uid = None
    if data[128:132] == b"DICM":
        pos = 132
    if pos or data[:2] == b"\x02\x00" and data[4:6].isupper():
        try:
            pos, ts_uid = _explicit_meta(data, pos)
        except QueryFileError as exc:  # DCMTK: element larger than the rest of the meta header
            raise QueryFileError(
                path, exc.condition_text, exc.dcmtk_condition, exc.log_lines
            ) from None
    body = data[pos:]
    if ts_uid == _DEFLATED:
        body = _inflate(path, body)
    if ts_uid is not None and ts_uid in _META_TS:
        implicit, little = _META_TS[ts_uid]
    elif ts_uid is not None:
        implicit, little = False, True
    else:
        implicit, little = _guess_syntax(body)
    return body, implicit, little


def _inflate(path: str, body: bytes) -> bytes:
    """A deflated query file's data set, inflated to at most the query file cap."""
    limit = localfile.QUERY_FILE_LIMIT
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise QueryFileError(path, COND_PREMATURE[1], COND_PREMATURE[0]) from None
    if len(out) > limit:
        raise QueryFileError(path, localfile.describe(localfile.too_large(path, limit)), COND_OPEN)
    if not inflater.eof:  # truncated stream (zlib.decompress's "incomplete" error)
        raise QueryFileError(path, COND_PREMATURE[1], COND_PREMATURE[0])
    return out


_UNPACK = {
    "US": ("H", 2),
    "SS": ("h", 2),
    "UL": ("L", 4),
    "SL": ("l", 4),
    "SV": ("q", 8),
    "UV": ("Q", 8),
    "FL": ("f", 4),
    "FD": ("d", 8),
    "AT": ("HH", 4),
}


def _convert_item(src: Dataset, implicit: bool, little: bool, dc: bool) -> Dataset:
    """Rebuild a decoded data set with values typed as DCMTK would write them.

    Every element keeps where it was read (``file_tell``, see :func:`read_from_file`);
    sequences and items remember an undefined length as read (``read_undefined_length``).
    """
    out = Dataset()
    for btag in sorted(src.keys()):
        raw = src.get_item(btag)
        elem = _convert_element(src, raw, implicit, little, dc)
        elem.file_tell = getattr(raw, "value_tell", None) or 0
        out[btag] = elem
    return out


def _convert_element(
    src: Dataset, raw: RawDataElement | DataElement, implicit: bool, little: bool, dc: bool
) -> DataElement:
    tag = int(raw.tag)
    vr = raw.VR if raw.VR else None
    if vr is None:  # implicit VR: the dictionary, with the item's private creators
        creator = None
        if (tag >> 16) & 1 and (tag & 0xFFFF) >= 0x1000:
            creator = _private_creator(src, tag)
        found = dictionary.entry_for(tag, creator)
        vr = element_vr(tag, found[0]) if found else "UN"
    undefined = getattr(raw, "length", None) == 0xFFFFFFFF or getattr(
        raw, "is_undefined_length", False
    )
    if vr == "SQ" or undefined:
        source = src[raw.tag]
        items = []
        for item in source.value or []:
            converted = _convert_item(item, implicit, little, dc)
            converted.read_undefined_length = bool(
                getattr(item, "is_undefined_length_sequence_item", False)
            )
            items.append(converted)
        elem = make_element(tag, "SQ", Sequence(items))
        elem.read_undefined_length = bool(undefined)
        return elem
    if not isinstance(raw.value, bytes | None):  # pydicom converted it: encode it back
        raw = RawDataElement(
            raw.tag, vr, 0, _encode_value(raw, implicit, little), 0, implicit, little
        )
    value = raw.value or b""
    if vr in STRING_VRS:
        if dc:
            if len(value) & 1:
                value += b"\0"
            value = _strip_padding(vr, value)
        return string_element(tag, vr, value)
    if vr in _UNPACK:
        fmt, size = _UNPACK[vr]
        count = len(value) // size
        numbers = list(struct.unpack(("<" if little else ">") + fmt * count, value[: count * size]))
        if vr == "AT":
            numbers = [numbers[i] << 16 | numbers[i + 1] for i in range(0, len(numbers), 2)]
        if not numbers:
            return make_element(tag, vr, None)
        return make_element(tag, vr, numbers[0] if len(numbers) == 1 else numbers)
    # OB, OW, OF, OD, OL, OV, UN: bytes as read (big endian OW/OF/... are not byte-swapped)
    return make_element(tag, vr, value)


def _encode_value(elem: DataElement, implicit: bool, little: bool) -> bytes:
    from io import BytesIO

    from pydicom.filebase import DicomFileLike
    from pydicom.filewriter import write_data_element

    fp = DicomFileLike(BytesIO())
    fp.is_implicit_VR, fp.is_little_endian = True, little
    write_data_element(fp, elem)
    return fp.parent.getvalue()[8:]  # type: ignore[attr-defined]


def read_from_file(elem: DataElement) -> bool:
    """True if ``elem`` came from the query file unchanged (no ``-k`` key replaced it).

    For the ``Request Identifiers`` dump: DCMTK prints such elements with their lengths as
    read, and elements set from keys as it holds them in memory.
    """
    return getattr(elem, "file_tell", None) is not None


_LONG_VRS = frozenset(vr.encode() for vr in LONG_VRS)
_VALUE_WIDTH = {
    "US": 2, "SS": 2, "OW": 2, "xs": 2, "lt": 2,
    "UL": 4, "SL": 4, "FL": 4, "AT": 4, "OF": 4, "OL": 4, "up": 4,
    "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8,
}  # fmt: skip
MAX_READ_LENGTH = 4096  # DCMTK's DCM_MaxReadLength used by DcmFileFormat::loadFile


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04x},{tag & 0xFFFF:04x})"


def _tag_name(tag: int) -> str:
    found = dictionary.entry(tag)
    return found[2] if found else UNKNOWN_NAME


def scan_dataset(
    body: bytes, implicit: bool, little: bool
) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """DCMTK's parser diagnostics for a data set: ``(log lines, (code, text) or None)``.

    Walks every element header (items and sequences included) the way ``DcmItem::read`` meets
    them: odd or misaligned lengths are ``W:`` lines; a value longer than the rest of the file
    is an ``E:`` line and the load fails (``Invalid stream`` for values DCMTK reads at once,
    ``I/O suspension ...`` for larger ones it defers, and for truncated headers).
    """
    order = "<" if little else ">"
    log: list[tuple[str, str]] = []
    pos, end = 0, len(body)
    while pos < end:
        if end - pos < 8:
            return log, COND_PREMATURE
        group, elem = struct.unpack_from(order + "HH", body, pos)
        tag = group << 16 | elem
        if group == 0xFFFE:
            pos += 8
            continue
        vr: str | None
        if implicit:
            length = struct.unpack_from(order + "I", body, pos + 4)[0]
            header = 8
            found = dictionary.entry(tag)
            vr = found[0] if found else None
        else:
            raw_vr = body[pos + 4 : pos + 6]
            vr = raw_vr.decode("latin-1")
            if raw_vr in _LONG_VRS:
                if end - pos < 12:
                    return log, COND_PREMATURE
                length = struct.unpack_from(order + "I", body, pos + 8)[0]
                header = 12
            else:
                length = struct.unpack_from(order + "H", body, pos + 6)[0]
                header = 8
        if vr == "SQ" or length == 0xFFFFFFFF:
            pos += header  # the items follow
            continue
        width = _VALUE_WIDTH.get(vr or "", 1)
        if width > 1 and length % width:
            log.append(
                (
                    "W",
                    f"DcmItem: Length of element {_tag_text(tag)} is not a multiple of {width} "
                    f"(VR={vr})",
                )
            )
        if length & 1:
            log.append(("W", f"DcmItem: Length of element {_tag_text(tag)} is odd"))
        remaining = end - pos - header
        if length > remaining:
            where = f"DcmElement: {_tag_name(tag)} {_tag_text(tag)} larger ({length})"
            if length > MAX_READ_LENGTH:
                log.append(("E", f"{where} than remaining bytes in file"))
                return log, COND_PREMATURE
            log.append(
                (
                    "E",
                    f"{where} than remaining bytes ({remaining}) in file, premature end of stream",
                )
            )
            return log, COND_INVALID_STREAM
        pos += header + length
    return log, None


def load_query_file(
    path: str, data_correction: bool = False, log: list[tuple[str, str]] | None = None
) -> Dataset:
    """Read a query file (with or without meta header) and return its data set.

    ``data_correction`` is findscu's ``+dc``: odd-length strings get a NUL pad, then trailing
    spaces (UI: all white space and trailing NULs) are removed before re-padding.
    DCMTK's parser warnings (odd lengths, ...) are appended to ``log`` as ``(level, message)``.
    Raises :class:`QueryFileError` with DCMTK's texts (its ``log_lines`` hold the messages).
    """
    from . import codec

    body, implicit, little = _read_dataset(path)
    messages, failure = scan_dataset(body, implicit, little)
    if log is not None:
        log.extend(messages)
    if failure is not None:
        raise QueryFileError(path, failure[1], failure[0], messages)
    ts = codec.TransferSyntax("", implicit, little)
    try:
        decoded = codec.decode_identifier(body, ts)
        ds = _convert_item(decoded, implicit, little, data_correction)
        ds.set_original_encoding(implicit, little, decoded.original_character_set)
        return ds
    except (CodecError, ValueError, KeyError, struct.error, TypeError):
        raise QueryFileError(path, COND_PREMATURE[1], COND_PREMATURE[0], messages) from None


def build_query(path: str | None, keys: Iterable[str], data_correction: bool = False) -> Dataset:
    """The identifier findscu sends: the file's data set (or an empty one) plus ``keys``."""
    ds = Dataset() if path is None else load_query_file(path, data_correction)
    apply_keys(ds, list(keys), data_correction)
    return ds


__all__ = [
    "MAX_ITEMS",
    "element_vr",
    "make_element",
    "read_from_file",
    "scan_dataset",
    "QueryFileError",
    "QueryKeyError",
    "apply_key",
    "apply_keys",
    "build_query",
    "load_query_file",
    "put_string",
    "string_element",
]
