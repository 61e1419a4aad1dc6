"""DCMTK-compatible XML extraction of C-FIND response identifiers (findscu ``-Xx`` / ``-Xs``).

The output is byte-for-byte what DCMTK 3.6.7 findscu writes (its ``writeXML`` in the
"DCMTK-specific" format of ``dcm2xml.dtd``, default flags: element names on, binary data
hidden). Input is the identifier exactly as received (PS3.7 §9.1.2.1, encoded per PS3.5 §7),
walked with :func:`fastfind.codec.tokens`; nothing is re-encoded.

* :func:`response_xml` -- one ``rspNNNN.xml`` document: raw value bytes, XML ``encoding`` taken
  from Specific Character Set (0008,0005) (PS3.3 §C.12.1.1.2), non-ASCII quoted as ``&#nnn;``
  when the character set has no XML equivalent.
* :class:`SingleXmlWriter` -- the ``-Xs`` file: every data set converted to UTF-8 and its
  (0008,0005) rewritten to ``ISO_IR 192``.
"""

from __future__ import annotations

import logging
import math
import struct
from typing import BinaryIO

from pydicom import config as _pydicom_config
from pydicom.charset import convert_encodings, decode_bytes

from .. import codec
from ..client import FindResponse
from ..dicom import dictionary
from .dump import dcmtk_float
from .files import OutputFile
from .part10 import _FileSink

log = logging.getLogger("fastfind")

__all__ = ["response_xml", "SingleXmlWriter", "DcmtkXmlFilesSink", "DcmtkXmlSink", "XML_ENCODINGS"]

UNDEFINED = 0xFFFFFFFF
UNKNOWN_NAME = "Unknown Tag & Data"

#: Specific Character Set -> XML encoding name, exactly DCMTK 3.6.7's table (no ISO_IR 203).
XML_ENCODINGS = {
    "ISO_IR 6": "UTF-8",
    "ISO_IR 192": "UTF-8",
    "ISO_IR 100": "ISO-8859-1",
    "ISO_IR 101": "ISO-8859-2",
    "ISO_IR 109": "ISO-8859-3",
    "ISO_IR 110": "ISO-8859-4",
    "ISO_IR 148": "ISO-8859-9",
    "ISO_IR 144": "ISO-8859-5",
    "ISO_IR 127": "ISO-8859-6",
    "ISO_IR 126": "ISO-8859-7",
    "ISO_IR 138": "ISO-8859-8",
}

# VRs whose values DCMTK treats as character strings, and how each one normalises a value
# (strip leading / trailing padding); LT, ST, UT and UR are single-valued texts.
_STRING_VRS = frozenset("AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT".split())
_TEXT_VRS = frozenset(("LT", "ST", "UT", "UR"))
_STRIP_LEADING = frozenset(("AE", "CS", "IS", "LO", "SH"))
_STRIP_TRAILING = _STRIP_LEADING | frozenset(("DA", "DT", "TM", "PN", "UC", "UI"))
#: VRs affected by Specific Character Set (DCMTK's DcmCharString classes).
_CHARSET_VRS = frozenset(("LO", "LT", "PN", "SH", "ST", "UC", "UT"))
_BINARY_VRS = frozenset(("OB", "OW", "UN"))
# numeric VRs: struct code, item size, printf-like formatter
_NUMERIC: dict[str, tuple[str, int]] = {
    "US": ("H", 2),
    "SS": ("h", 2),
    "UL": ("L", 4),
    "SL": ("l", 4),
    "UV": ("Q", 8),
    "SV": ("q", 8),
    "FL": ("f", 4),
    "FD": ("d", 8),
    "OL": ("L", 4),
    "OV": ("Q", 8),
    "OF": ("f", 4),
    "OD": ("d", 8),
    "AT": ("H", 4),
}
# dictionary VRs that are not real VRs -> what DCMTK uses (DcmVR::getValidEVR)
_VR_ALIASES = {"US or SS": "US", "OB or OW": "OB", "US or OW": "OW", "US or SS or OW": "OW"}
# delimiters that reset ISO 2022 code extensions, per VR (PS3.5 §6.1.2.5.3)
_DELIMS = {"PN": {0x5C, 0x5E, 0x3D}, "LO": {0x5C}, "SH": {0x5C}, "UC": {0x5C}}
_TEXT_DELIMS = {0x0D, 0x0A, 0x09, 0x0C}


class _Element:
    __slots__ = ("tag", "vr", "length", "value", "items")

    def __init__(self, tag: int, vr: str, length: int, value: bytes, items: list | None = None):
        self.tag = tag
        self.vr = vr
        self.length = length
        self.value = value
        self.items: list[_Item] | None = items


class _Item:
    __slots__ = ("length", "elements")

    def __init__(self, length: int):
        self.length = length
        self.elements: list[_Element] = []


def _lookup(tag: int, creator: str | None = None) -> tuple[str, str]:
    """``(dictionary vr, name)`` as DCMTK's dictionary gives them (``UN`` when unknown)."""
    found = dictionary.entry_for(tag, creator)
    if found is None:
        return "UN", UNKNOWN_NAME
    return found[0], found[2]


# tags whose implicit "US or SS" VR follows PixelRepresentation (DcmItem::checkAndUpdateVR)
_XS_BY_PIXEL_REP = frozenset(
    (
        0x00280120,
        0x00280121,
        0x00603004,
        0x00603006,
        0x00189810,
        0x00280106,
        0x00280107,
        0x00280108,
        0x00280109,
        0x00283002,
        0x00409211,
        0x00409216,
    )
)
_OX_BY_WAVEFORM_BITS = frozenset((0x54001010, 0x5400100A, 0x54000110, 0x54000112))
_PSEUDO_VR = {"xs": "US", "up": "UL", "lt": "OW", "ox": "OB", "px": "OW", "pi": "UN", "na": "UN"}


def _implicit_vr(tag: int, vr: str, before: list[_Element], little: bool) -> str:
    """The VR DCMTK gives an implicit-VR element: dictionary pseudo VRs resolved as on reading."""

    def u16(t: int) -> int | None:
        for e in before:
            if e.tag == t and e.items is None and len(e.value) >= 2:
                return struct.unpack("<H" if little else ">H", e.value[:2])[0]
        return None

    if vr == "xs" and tag in _XS_BY_PIXEL_REP:
        rep = u16(0x00280103)
        return vr if rep is None else ("SS" if rep == 1 else "US")
    if vr == "ox":
        if tag in _OX_BY_WAVEFORM_BITS:
            bits = u16(0x54001004)
            return "OB" if bits == 8 else ("OW" if bits is not None else "OB")
        if tag == 0x7FE00010 or (tag & 0xFF01FFFF) == 0x60003000:
            return "OW"
        if (tag & 0xFF01FFFF) == 0x50003000:
            return "OB"
    return vr


def _correct(vr: str, value: bytes, length: int) -> tuple[bytes, int]:
    """dcmEnableAutomaticInputDataCorrection (on in dcm2xml, off in findscu): odd lengths get a
    NUL pad byte, then trailing padding is not part of the value."""
    if length & 1:
        value += b"\0"
        length += 1
    pad = 0 if vr == "UI" else 0x20
    end = len(value)
    while end and value[end - 1] == pad:
        end -= 1
    return value[:end], length


def _tree(plain: bytes, toks: codec.Tokens, ts: codec.TransferSyntax, correct: bool = False) -> list[_Element]:
    """The data set as a tree; top-level elements sorted by tag, first duplicate kept (DCMTK).

    ``plain``/``toks`` are the identifier's validated walk (:func:`fastfind.codec.walk_identifier`).
    ``correct`` applies DCMTK's input data correction (only to compare with ``dcm2xml``).
    """
    top: list[_Element] = []
    stack: list[list[_Element] | _Element] = [top]
    for kind, _depth, tag, vr, length, start, end in toks:
        cur = stack[-1]
        if kind == codec.ELEMENT or kind == codec.SEQUENCE:
            if vr is None:
                if kind == codec.SEQUENCE:
                    vr = "SQ"
                else:
                    siblings = _container(cur)
                    dict_vr = _lookup(tag, _creator(tag, siblings))[0]
                    vr = _implicit_vr(tag, dict_vr, siblings, ts.little)
                    vr = _PSEUDO_VR.get(vr, vr)
            if kind == codec.SEQUENCE:
                elem = _Element(tag, vr, length, b"", [])
                _container(cur).append(elem)
                stack.append(elem)
            else:
                value = plain[start:end]
                if correct and vr in _STRING_VRS:
                    value, length = _correct(vr, value, length)
                _container(cur).append(_Element(tag, vr, length, value))
        elif kind == codec.ITEM:
            item = _Item(length)
            assert isinstance(cur, _Element) and cur.items is not None
            cur.items.append(item)
            stack.append(item.elements)
        else:  # any end or delimiter token closes the innermost container
            stack.pop()
    return _sorted(top)


def _creator(tag: int, siblings: list[_Element]) -> str | None:
    """The private creator reserving ``tag``'s block among ``siblings`` (PS3.5 §7.8.1)."""
    group, elem = tag >> 16, tag & 0xFFFF
    if not group & 1 or elem < 0x1000:
        return None
    want = (group << 16) | (elem >> 8)
    for e in siblings:
        if e.tag == want and e.items is None:
            return e.value.rstrip(b" \0").lstrip(b" ").decode("latin-1")
    return None


def _container(cur: list[_Element] | _Element) -> list[_Element]:
    assert isinstance(cur, list)
    return cur


def _sorted(elements: list[_Element]) -> list[_Element]:
    seen: dict[int, _Element] = {}
    for elem in elements:
        seen.setdefault(elem.tag, elem)
        if elem.items:
            for item in elem.items:
                item.elements = _sorted(item.elements)
    return [seen[t] for t in sorted(seen)]


def _normalize(value: bytes, leading: bool, trailing: bool, pad: int = 0x20) -> bytes:
    """DCMTK ``normalizeString`` for one value (not multi-part)."""
    if leading:
        i = 0
        while i < len(value) and value[i] == pad:
            i += 1
        value = value[i:]
    if trailing and value:
        off = len(value) - 1
        while off > 0 and value[off] == pad:
            off -= 1
        if off != len(value) - 1:
            value = value[:off] if value[off] == 0x20 else value[: off + 1]
    return value


def _string_value(vr: str, raw: bytes) -> tuple[int, bytes]:
    """``(VM, value text)`` of a string element as DCMTK's ``getOFStringArray`` gives them."""
    pad = 0 if vr == "UI" else 0x20
    if not raw:
        return 0, b""
    if vr in _TEXT_VRS:
        return 1, _normalize(raw, False, True)
    if vr == "DS":  # DcmDecimalString::writeXML writes the raw string
        return raw.count(b"\\") + 1, raw
    parts = raw.split(b"\\")
    lead, trail = vr in _STRIP_LEADING, vr in _STRIP_TRAILING
    if lead or trail:
        parts = [_normalize(p, lead, trail, pad) for p in parts]
    return len(parts), b"\\".join(parts)


def _fmt_float(x: float, prec: int, dcmtk: bool) -> str:
    if not dcmtk:  # std::ostream with precision(prec): printf "%.<prec>g"
        if x != x:
            return "-nan" if math.copysign(1.0, x) < 0 else "nan"
        return f"{x:.{prec}g}"
    return dcmtk_float(x, prec)


def _numeric_value(vr: str, raw: bytes, little: bool) -> tuple[int, str]:
    code, size = _NUMERIC[vr]
    count = len(raw) // size
    if not count:
        return count, ""
    order = "<" if little else ">"
    if vr == "AT":
        words = struct.unpack(f"{order}{count * 2}H", raw[: count * size])
        text = "\\".join(f"({words[i]:04x},{words[i + 1]:04x})" for i in range(0, len(words), 2))
        return count, text
    values = struct.unpack(f"{order}{count}{code}", raw[: count * size])
    if vr in ("FL", "FD", "OF", "OD"):
        prec = {"FL": 9, "FD": 17, "OF": 8, "OD": 17}[vr]
        dcmtk = vr in ("FL", "FD")
        return count, "\\".join(_fmt_float(v, prec, dcmtk) for v in values)
    return count, "\\".join(str(v) for v in values)


def _markup(value: bytes, quote_non_ascii: bool) -> bytes:
    """OFStandard::convertToMarkupStream in XML mode (NUL dropped, CR/LF as references)."""
    out = bytearray()
    for c in value:
        if c == 0x3C:
            out += b"&lt;"
        elif c == 0x3E:
            out += b"&gt;"
        elif c == 0x26:
            out += b"&amp;"
        elif c == 0x22:
            out += b"&quot;"
        elif c == 0x27:
            out += b"&apos;"
        elif c == 0x0A:
            out += b"&#10;"
        elif c == 0x0D:
            out += b"&#13;"
        elif quote_non_ascii and (c < 32 or c >= 127):
            out += b"&#%d;" % c
        elif c:
            out.append(c)
    return bytes(out)


def _name(tag: int, siblings: list[_Element]) -> bytes:
    return _markup(_lookup(tag, _creator(tag, siblings))[1].encode("latin-1"), False)


def _write(out: list[bytes], elements: list[_Element], little: bool, quote: bool) -> None:
    for e in elements:
        tag = b"%04x,%04x" % (e.tag >> 16, e.tag & 0xFFFF)
        if e.items is not None:
            length = b"" if e.length == UNDEFINED else b' len="%d"' % e.length
            out.append(
                b'<sequence tag="%s" vr="%s" card="%d"%s name="%s">\n'
                % (tag, e.vr.encode(), len(e.items), length, _name(e.tag, elements))
            )
            for item in e.items:
                ilen = b"" if item.length == UNDEFINED else b' len="%d"' % item.length
                out.append(b'<item card="%d"%s>\n' % (len(item.elements), ilen))
                _write(out, item.elements, little, quote)
                out.append(b"</item>\n")
            out.append(b"</sequence>\n")
            continue
        vr = e.vr
        length = e.length
        extra = b""
        if vr in _BINARY_VRS or vr not in _STRING_VRS and vr not in _NUMERIC:
            vr = vr if vr in _BINARY_VRS else "UN"
            vm, text, extra = 1, b"", b' binary="hidden"'
        elif vr in _NUMERIC:
            vm, s = _numeric_value(vr, e.value, little)
            text = s.encode("ascii")
            if vr in ("OL", "OV", "OF", "OD"):
                vm = 1
        else:
            vm, text = _string_value(vr, e.value)
        out.append(
            b'<element tag="%s" vr="%s" vm="%d" len="%d" name="%s"%s>%s</element>\n'
            % (tag, vr.encode(), vm, length, _name(e.tag, elements), extra, _markup(text, quote))
        )


def _body(elements: list[_Element], ts: codec.TransferSyntax, quote: bool) -> bytes:
    name = ts.name
    out = [b'<data-set xfer="%s" name="%s">\n' % (ts.uid.encode(), name.encode())]
    _write(out, elements, ts.little, quote)
    out.append(b"</data-set>\n")
    return b"".join(out)


def _charset(elements: list[_Element]) -> str | None:
    """(0008,0005) as ``findAndGetOFStringArray`` returns it, or ``None`` if absent."""
    for e in elements:
        if e.tag == 0x00080005 and e.items is None:
            parts = e.value.split(b"\\") if e.value else []
            parts = [_normalize(p, True, True) for p in parts]
            return b"\\".join(parts).decode("latin-1")
    return None


def _has_extended(elements: list[_Element]) -> bool:
    for e in elements:
        if e.items is not None:
            if any(_has_extended(item.elements) for item in e.items):
                return True
        elif e.vr in _CHARSET_VRS and any(c & 0x80 for c in e.value):
            return True
    return False


def _render_response(
    plain: bytes, toks: codec.Tokens, ts: codec.TransferSyntax, correct: bool
) -> tuple[bytes, list[str]]:
    elements = _tree(plain, toks, ts, correct)
    warnings: list[str] = []
    charset = _charset(elements)
    encoding = None
    quote = False
    if charset is not None:
        encoding = XML_ENCODINGS.get(charset)
        if encoding is None:
            if charset:
                suffix = " ... quoting non-ASCII characters" if _has_extended(elements) else ""
                warnings.append(
                    f"W: SpecificCharacterSet (0008,0005) value '{charset}' not supported{suffix}"
                )
            quote = True
    header = b'<?xml version="1.0"'
    if encoding:
        header += b' encoding="%s"' % encoding.encode()
    header += b"?>\n"
    return header + _body(elements, ts, quote), warnings


def response_xml(
    data: bytes, ts: codec.TransferSyntax, walk: codec.Walk | None = None
) -> tuple[bytes, list[str]]:
    """The ``rspNNNN.xml`` document findscu ``-Xx`` writes for one response identifier.

    ``walk`` is the identifier's validated walk (made with the default limits if not given).
    Returns ``(document bytes, log lines)``; each line is ``"W: ..."`` or ``"E: ..."``, exactly
    as findscu prints it with the default log configuration.
    Raises :class:`fastfind.errors.CodecError` if ``data`` is not a well-formed data set.
    """
    plain, toks = walk if walk is not None else codec.walk_identifier(data, ts)
    return _render_response(plain, toks, ts, correct=False)


# ---------------------------------------------------------------------------------------------
# -Xs: conversion to UTF-8 (DcmItem::convertToUTF8)

# single-byte and multi-byte terms DCMTK 3.6.7 can convert from -> Python codec
_SINGLE = {
    "ISO_IR 100": "latin_1",
    "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO_IR 144": "iso8859_5",
    "ISO_IR 127": "iso8859_6",
    "ISO_IR 126": "iso8859_7",
    "ISO_IR 138": "iso8859_8",
    "ISO_IR 148": "iso8859_9",
    "ISO_IR 13": "shift_jis",
    "ISO_IR 166": "iso8859_11",
    "ISO_IR 192": "utf_8",
    "GB18030": "gb18030",
    "GBK": "gbk",
}
_EXTENSIONS = {f"ISO 2022 IR {n[9:]}": c for n, c in _SINGLE.items() if n[7:9] == " 1"}
_MULTI_BYTE = ("ISO 2022 IR 87", "ISO 2022 IR 159", "ISO 2022 IR 149", "ISO 2022 IR 58")
_EXTENSIONS.update({"ISO 2022 IR 6": "ascii"})
_EXTENSIONS.update(dict.fromkeys(_MULTI_BYTE, ""))
#: terms the Debian DCMTK 3.6.7 build (glibc iconv) cannot open; -Xs fails for them
_NO_ICONV = ("ISO 2022 IR 87", "ISO 2022 IR 159")
ICONV_NAME = "GNU C library (iconv), version 2.36"
_EILSEQ = "Invalid or incomplete multibyte or wide character"


class _SelectError(Exception):
    """Charset selection failed before any conversion (no SpecificCharacterSet warning)."""


def _select(charset: str, log: list[str]) -> list[str]:
    """DcmSpecificCharacterSet::selectCharacterSet: the encodings for ``charset``."""
    terms = charset.split("\\")
    if len(terms) == 1:
        term = terms[0]
        if term == "ISO_IR 6":
            log.append(
                "W: DcmSpecificCharacterSet: 'ISO_IR 6' is not a defined term in DICOM, "
                "will be treated as an empty value (ASCII)"
            )
            return ["ascii"]
        if term not in _SINGLE:
            raise _SelectError(
                "Cannot select source character set: SpecificCharacterSet (0008,0005) value "
                f"'{charset}' not supported"
            )
        return [_SINGLE[term]]
    for i, term in enumerate(terms):
        term = (term or "ISO 2022 IR 6") if i == 0 else term
        if term not in _EXTENSIONS:
            raise _SelectError(
                "Cannot select source character set: SpecificCharacterSet (0008,0005) value "
                f"{i + 1} of {len(terms)} '{term}' not supported"
            )
        if i == 0 and term in _MULTI_BYTE:
            raise _SelectError(
                f"Cannot select source character set: '{term}' is not a allowed "
                "as the first value in SpecificCharacterSet (0008,0005)"
            )
        if term in _NO_ICONV:
            log.append(
                f"E: DcmSpecificCharacterSet: '{term}' is not supported by the utilized "
                f"character set conversion library '{ICONV_NAME}'"
            )
            raise _SelectError("Cannot open character encoding: Invalid argument")
    return [t or "ISO 2022 IR 6" for t in terms]


def _decode(value: bytes, encodings: list[str], delims: set[int]) -> bytes:
    """One value in UTF-8; raises UnicodeError where iconv reports an illegal sequence."""
    if len(encodings) == 1:
        return value.decode(encodings[0]).encode("utf-8")
    if 0x1B not in value:  # no code extension used: the first (default) repertoire only
        first = _EXTENSIONS[encodings[0]] or "ascii"
        return value.decode(first).encode("utf-8")
    old = _pydicom_config.settings.reading_validation_mode
    _pydicom_config.settings.reading_validation_mode = _pydicom_config.RAISE
    try:
        text = decode_bytes(value, convert_encodings(encodings), delims)
    finally:
        _pydicom_config.settings.reading_validation_mode = old
    return text.encode("utf-8")


def _convert(elements: list[_Element], encodings: list[str]) -> None:
    """DcmItem::convertCharacterSet: every LO/LT/PN/SH/ST/UC/UT value, sequences included."""
    for e in elements:
        if e.items is not None:
            for item in e.items:
                _convert(item.elements, encodings)
        elif e.vr in _CHARSET_VRS and e.value:
            delims = _TEXT_DELIMS if e.vr in ("LT", "ST", "UT") else _DELIMS[e.vr]
            new = _decode(e.value, encodings, delims)
            if new != e.value:
                e.value = new
                e.length = len(new) + (len(new) & 1)  # re-padded to even length


def _to_utf8(elements: list[_Element], log: list[str]) -> list[_Element] | None:
    """findscu -Xs: convert if (0008,0005) is set and not UTF-8; None (logged) on failure."""
    charset = _charset(elements)
    if not charset or charset == "ISO_IR 192":
        return elements
    try:
        _convert(elements, _select(charset, log))
    except _SelectError as exc:  # the condition text is a C string: it ends at a NUL byte
        log.append(f"E: Writing XML file: {str(exc).split(chr(0))[0]}")
        return None
    except (UnicodeError, ValueError, LookupError):
        log.append(
            "W: DcmItem: An error occurred during the conversion to UTF-8 encoding, "
            "the value of SpecificCharacterSet (0008,0005) is not updated"
        )
        log.append(f"E: Writing XML file: Cannot convert character encoding: {_EILSEQ}")
        return None
    out = [e for e in elements if e.tag != 0x00080005]
    out.append(_Element(0x00080005, "CS", 10, b"ISO_IR 192"))
    out.sort(key=lambda e: e.tag)
    return out


def _render_utf8(
    plain: bytes, toks: codec.Tokens, ts: codec.TransferSyntax, correct: bool
) -> tuple[bytes, list[str]]:
    log: list[str] = []
    elements = _to_utf8(_tree(plain, toks, ts, correct), log)
    if elements is None:
        return b"", log
    return _body(elements, ts, False), log


class SingleXmlWriter:
    """The findscu ``-Xs`` file: header, one ``<data-set>`` per response, then the trailer."""

    def __init__(self, fileobj: BinaryIO):
        self._f = fileobj
        self._f.write(XS_HEADER)

    def add(
        self, data: bytes, ts: codec.TransferSyntax, walk: codec.Walk | None = None
    ) -> list[str]:
        """Append one response identifier; returns the ``"W: ..."`` / ``"E: ..."`` lines to log.

        A data set that cannot be converted to UTF-8 is left out, as DCMTK does.
        """
        plain, toks = walk if walk is not None else codec.walk_identifier(data, ts)
        body, warnings = _render_utf8(plain, toks, ts, correct=False)
        self._f.write(body)
        return warnings

    def close(self) -> None:
        """Write ``</responses>`` (the caller closes the file object)."""
        self._f.write(XS_TRAILER)


XS_HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n<responses type="C-FIND">\n'
XS_TRAILER = b"</responses>\n"

_LEVELS = {"F": logging.CRITICAL, "E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "D": logging.DEBUG}


def _log_lines(lines: list[str]) -> None:
    """Log the ``"X: ..."`` lines of the renderers on the fastfind logger."""
    for line in lines:
        if line[1:3] == ": ":
            log.log(_LEVELS.get(line[:1], logging.WARNING), line[3:])
        else:
            log.warning(line)


class DcmtkXmlFilesSink(_FileSink):
    """``-Xx``: ``rspNNNN.xml`` files, byte for byte what DCMTK 3.6.7 findscu writes."""

    suffix = ".xml"

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None or self._over_limit(rsp):
            return
        assert rsp.plain is not None and rsp.tokens is not None
        data, lines = _render_response(rsp.plain, rsp.tokens, rsp.transfer_syntax, correct=False)
        if lines:
            _log_lines(lines)
        self._submit(rsp, [data])


class DcmtkXmlSink:
    """``-Xs``: every response in one XML file, converted to UTF-8 (DCMTK 3.6.7 findscu)."""

    def __init__(self, path: str, *, limit: int | None = None, sync: bool = False, label: str = ""):
        self.path = path
        self.label = label or path
        self.limit = limit
        self.written = 0
        log.info(f"Writing all response datasets to file: {label or path}")
        self._file = OutputFile(path, sync=sync)
        if self._file.replaced:
            log.warning(f"replaced existing file {path}")
        self._file.write(XS_HEADER)

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None or (self.limit is not None and rsp.number > self.limit):
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Writing response dataset to XML file")
        assert rsp.plain is not None and rsp.tokens is not None
        body, lines = _render_utf8(rsp.plain, rsp.tokens, rsp.transfer_syntax, correct=False)
        if lines:
            _log_lines(lines)
        self._file.write(body)
        self.written += 1

    def close(self) -> None:
        self._file.write(XS_TRAILER)
        self._file.close()

    def discard(self) -> None:
        self._file.discard()

    def __enter__(self) -> DcmtkXmlSink:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
