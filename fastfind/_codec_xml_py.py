"""Pure-Python twin of ``_codec_xml.pxi``: DCMTK 3.6.7's XML of one identifier (findscu -Xx/-Xs).

Both render straight from the identifier's plain bytes and its validated :class:`Tokens` walk
(PS3.5 §7), in the "DCMTK-specific" format of ``dcm2xml.dtd`` with findscu's defaults (element
names on, binary data hidden), and give the same bytes and log lines:

* :func:`xml_document` -- one ``rspNNNN.xml`` (``-Xx``): raw value bytes, the XML ``encoding``
  from Specific Character Set (PS3.3 §C.12.1.1.2), non-ASCII quoted as ``&#nnn;`` when the
  character set has no XML equivalent;
* :func:`xml_dataset_utf8` -- one ``<data-set>`` of the ``-Xs`` file: the values of the
  character-set VRs converted to UTF-8 (DCMTK's ``DcmItem::convertToUTF8``) and (0008,0005)
  rewritten to ``ISO_IR 192``; nothing, and an ``E:`` line, when that fails.

What DCMTK does on reading is reproduced per container (data set or item): ascending tag order,
the first of repeated tags kept; an implicit-VR element's VR from the dictionary, the pseudo VRs
resolved from PixelRepresentation / WaveformBitsAllocated read *before* it (PS3.5 §8.1.2, §8.3,
``DcmItem::checkAndUpdateVR``); a private element named by the creator element read before it in
the same item, as DCMTK's private tag cache sees it (the raw value up to its first NUL; PS3.5
§7.8.1). A UN element of undefined length is the sequence the walk made of it (PS3.5 §6.2.2);
DCMTK writes it with ``vr="SQ"``. ``correct=True`` applies DCMTK's input data correction
(``dcmEnableAutomaticInputDataCorrection``: on in dcm2xml, off in findscu), for comparisons with
``dcm2xml`` only.

The algorithm is the Cython one, step by step: :func:`_kids` orders a container, :func:`_resolve`
gives an element its VR, name and value, :func:`_walk` runs an explicit stack (no recursion).
"""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING

from pydicom import config as _pydicom_config
from pydicom.charset import convert_encodings, decode_bytes

from .dicom import dictionary
from .dicom.vr import (  # noqa: F401  (the C twin reads these tables from here)
    CURVE_DATA,
    OVERLAY_DATA,
    OX_BY_WAVEFORM_BITS,
    PIXEL_DATA,
    PIXEL_REPRESENTATION,
    REPEATING_MASK,
    UNKNOWN_NAME,
    WAVEFORM_BITS_ALLOCATED,
    XS_BY_PIXEL_REP,
)
from .errors import CodecError

if TYPE_CHECKING:  # _codec_py star-imports this module at its end: no import cycle at run time
    from ._codec_py import Tokens
    from .dicom.uids import TransferSyntax

__all__ = ["XML_ENCODINGS", "dcmtk_float", "xml_document", "xml_dataset_utf8"]

ELEMENT, SEQUENCE, ITEM = 0, 1, 2
F_BIG_ENDIAN = 2
UNDEFINED = 0xFFFFFFFF

#: Specific Character Set -> XML encoding name, exactly DCMTK 3.6.7 findscu's table (no ISO_IR 203).
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

# ---- VR codes ------------------------------------------------------------------------------------
# A VR is an int: two upper-case letters -> (b0 - 65) * 26 + (b1 - 65), the walk's own index;
# DCMTK's dictionary pseudo VRs follow; any other dictionary text is VR_OTHER (written as UN).
PSEUDO_VRS = ("xs", "ox", "lt", "up", "px", "pi", "na")
VR_XS, VR_OX, VR_LT, VR_UP, VR_PX, VR_PI, VR_NA = range(676, 683)
VR_OTHER = 683
N_VRS = 684


def vr_code(text: str) -> int:
    """The code of a VR as the walk or the dictionary spells it."""
    if len(text) == 2 and "A" <= text[0] <= "Z" and "A" <= text[1] <= "Z":
        return (ord(text[0]) - 65) * 26 + ord(text[1]) - 65
    if text in PSEUDO_VRS:
        return VR_XS + PSEUDO_VRS.index(text)
    return VR_OTHER


def _c(text: str) -> int:
    return (ord(text[0]) - 65) * 26 + ord(text[1]) - 65


VR_SQ, VR_UN, VR_US, VR_SS, VR_UL, VR_OB, VR_OW, VR_CS, VR_UI, VR_PN = (
    _c(v) for v in ("SQ", "UN", "US", "SS", "UL", "OB", "OW", "CS", "UI", "PN")
)

# How a written VR's value becomes text (the kinds of DCMTK's writeXML).
K_HIDDEN, K_STRING, K_TEXT, K_DS, K_INT, K_FLOAT, K_AT = range(7)
#: per VR code: (kind, strip leading, strip trailing, pad byte, VM forced to 1, item size,
#: struct code, %g precision, DCMTK's own digits, affected by Specific Character Set)
VR_PROPS: list[tuple[int, bool, bool, int, bool, int, str, int, bool, bool]] = [
    (K_HIDDEN, False, False, 0x20, True, 1, "", 0, False, False)
] * N_VRS
for _v in "AE AS CS DA DT IS LO PN SH TM UC UI".split():
    VR_PROPS[_c(_v)] = (
        K_STRING, _v in ("AE", "CS", "IS", "LO", "SH"), _v not in ("AS",),
        0 if _v == "UI" else 0x20, False, 1, "", 0, False, _v in ("LO", "PN", "SH", "UC"),
    )
for _v in ("LT", "ST", "UT", "UR"):
    VR_PROPS[_c(_v)] = (K_TEXT, False, True, 0x20, False, 1, "", 0, False, _v != "UR")
VR_PROPS[_c("DS")] = (K_DS, False, False, 0x20, False, 1, "", 0, False, False)
for _v, _size, _code in (("US", 2, "H"), ("SS", 2, "h"), ("UL", 4, "L"), ("SL", 4, "l"),
                         ("UV", 8, "Q"), ("SV", 8, "q"), ("OL", 4, "L"), ("OV", 8, "Q")):
    VR_PROPS[_c(_v)] = (K_INT, False, False, 0x20, _v[0] == "O", _size, _code, 0, False, False)
for _v, _size, _code, _prec in (("FL", 4, "f", 9), ("FD", 8, "d", 17), ("OF", 4, "f", 8),
                                ("OD", 8, "d", 17)):
    VR_PROPS[_c(_v)] = (K_FLOAT, False, False, 0x20, _v[0] == "O", _size, _code, _prec,
                        _v[0] == "F", False)
VR_PROPS[_c("AT")] = (K_AT, False, False, 0x20, False, 4, "H", 0, False, False)
#: the VRs whose values are character strings (DCMTK's DcmByteString classes)
STRING_KINDS = (K_STRING, K_TEXT, K_DS)
#: the VRs written as themselves with binary="hidden"; any other hidden VR is written as UN
BINARY_VRS = frozenset((VR_OB, VR_OW, VR_UN))

SPECIFIC_CHARACTER_SET = 0x00080005
#: what DCMTK writes for a pseudo VR left unresolved (DcmVR::getValidVRName)
PSEUDO_WRITTEN = {VR_XS: VR_US, VR_OX: VR_OB, VR_LT: VR_OW, VR_UP: VR_UL, VR_PX: VR_OW,
                  VR_PI: VR_UN, VR_NA: VR_UN}


def vr_text(code: int) -> bytes:
    """The two letters written for a VR code (hidden non-binary VRs are written as UN)."""
    if VR_PROPS[code][0] == K_HIDDEN and code not in BINARY_VRS:
        code = VR_UN
    return bytes((65 + code // 26, 65 + code % 26))


# ---- the dictionary, through fastfind.dicom.dictionary (cached; rebuilt when it changes) --------
MAX_CACHED = 1 << 16
_cache_owner: object = None
_public: dict[int, tuple[int, bytes]] = {}
_private: dict[tuple[int, bytes], tuple[int, bytes]] = {}


def reset_caches(owner: object) -> None:
    """Forget every cached entry; they now belong to the dictionary ``owner``."""
    global _cache_owner
    _public.clear()
    _private.clear()
    _cache_owner = owner


def dictionary_changed() -> bool:
    """Forget the cached entries if another dictionary was installed (``DCMDICTPATH``) or the
    caches grew too big; True if they were dropped."""
    owner = dictionary._current  # the installed dictionary (its identity changes on reload)
    if owner is _cache_owner and len(_public) + len(_private) < MAX_CACHED:
        return False
    reset_caches(owner)
    return True


def _entry(found: tuple[str, str, str] | None) -> tuple[int, bytes]:
    vr, name = ("UN", UNKNOWN_NAME) if found is None else (found[0], found[2])
    return vr_code(vr), markup(name.encode("latin-1", "replace"), False)


def lookup_public(tag: int) -> tuple[int, bytes]:
    """``(dictionary VR code, escaped name)`` of a tag without a private creator."""
    got = _public.get(tag)
    if got is None:
        got = _public[tag] = _entry(dictionary.entry(tag))
    return got


def lookup_private(tag: int, creator: bytes) -> tuple[int, bytes]:
    """``(dictionary VR code, escaped name)`` of a private tag reserved by ``creator``."""
    got = _private.get((tag, creator))
    if got is None:
        got = _private[(tag, creator)] = _entry(dictionary.entry_for(tag, creator.decode("latin-1")))
    return got


# ---- text ---------------------------------------------------------------------------------------
_MARKUP = {0x3C: b"&lt;", 0x3E: b"&gt;", 0x26: b"&amp;", 0x22: b"&quot;", 0x27: b"&apos;",
           0x0A: b"&#10;", 0x0D: b"&#13;"}


def markup(value: bytes, quote: bool) -> bytes:
    """OFStandard::convertToMarkupStream in XML mode: NUL dropped, CR/LF as references, the
    rest of C0, DEL and bytes >= 128 as ``&#nnn;`` when ``quote``."""
    out = bytearray()
    for c in value:
        ref = _MARKUP.get(c)
        if ref is not None:
            out += ref
        elif quote and (c < 32 or c >= 127):
            out += b"&#%d;" % c
        elif c:
            out.append(c)
    return bytes(out)


def normalize(value: bytes, leading: bool, trailing: bool, pad: int) -> bytes:
    """DCMTK's ``normalizeString`` for one value component."""
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


def corrected(vr: int, value: bytes, length: int) -> tuple[bytes, int]:
    """Input data correction of a string value: an odd length gets a NUL pad byte, a UI loses
    all white space, then the trailing padding is not part of the value."""
    if length & 1:
        value += b"\0"
        length += 1
    pad = 0x20
    if vr == VR_UI:
        value = bytes(c for c in value if c not in b" \t\n\v\f\r")
        pad = 0
    end = len(value)
    while end and value[end - 1] == pad:
        end -= 1
    return value[:end], length


def string_text(kind: int, lead: bool, trail: bool, pad: int, raw: bytes) -> tuple[int, bytes]:
    """``(VM, text)`` of a string value as DCMTK's ``getOFStringArray`` gives them."""
    if not raw:
        return 0, b""
    if kind == K_TEXT:
        return 1, normalize(raw, False, True, 0x20)
    if kind == K_DS:  # DcmDecimalString::writeXML writes the raw string
        return raw.count(b"\\") + 1, raw
    parts = raw.split(b"\\")
    if lead or trail:
        parts = [normalize(p, lead, trail, pad) for p in parts]
    return len(parts), b"\\".join(parts)


def dcmtk_float(value: float, prec: int) -> str:
    """DCMTK's own ``%g`` digits (OFStandard::ftoa) for FL (``prec`` 9) and FD (17) values."""
    from .output.dump import dcmtk_float as digits  # the one Python implementation

    return digits(value, prec)


def printf_g(value: float, prec: int) -> str:
    """``std::ostream`` with ``precision(prec)``, i.e. C's ``%.<prec>g`` (OF and OD values)."""
    if value != value:
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return f"{value:.{prec}g}"


def number_text(kind: int, size: int, code: str, prec: int, dcmtk: bool, raw: bytes,
                big: bool) -> tuple[int, bytes]:
    """``(VM, text)`` of a binary numeric value; bytes beyond the last whole number are ignored."""
    count = len(raw) // size
    if not count:
        return 0, b""
    order = ">" if big else "<"
    if kind == K_AT:
        words = struct.unpack(f"{order}{count * 2}H", raw[: count * 4])
        return count, b"\\".join(
            b"(%04x,%04x)" % (words[i], words[i + 1]) for i in range(0, len(words), 2)
        )
    values = struct.unpack(f"{order}{count}{code}", raw[: count * size])
    if kind == K_FLOAT:
        fmt = dcmtk_float if dcmtk else printf_g
        return count, "\\".join([fmt(v, prec) for v in values]).encode("ascii")
    return count, b"\\".join([b"%d" % v for v in values])


# ---- Specific Character Set (PS3.3 §C.12.1.1.2, PS3.5 §6.1) --------------------------------------
#: single-valued defined terms DCMTK 3.6.7 converts from -> Python codec
SINGLE_TERMS = {
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
#: defined terms with code extensions (PS3.3 Table C.12-3, C.12-4) -> codec of the default
#: repertoire they can start with ("" for the multi-byte ones, which cannot come first)
EXTENSION_TERMS = {"ISO 2022 IR 6": "ascii"}
EXTENSION_TERMS.update({f"ISO 2022 IR {term[7:]}": codec for term, codec in SINGLE_TERMS.items()
                        if term.startswith("ISO_IR ") and term != "ISO_IR 192"})
MULTI_BYTE_TERMS = ("ISO 2022 IR 87", "ISO 2022 IR 159", "ISO 2022 IR 149", "ISO 2022 IR 58")
EXTENSION_TERMS.update(dict.fromkeys(MULTI_BYTE_TERMS, ""))
#: terms the Debian DCMTK 3.6.7 build (glibc iconv) cannot open; -Xs fails for them
NO_ICONV = ("ISO 2022 IR 87", "ISO 2022 IR 159")
ICONV_NAME = "GNU C library (iconv), version 2.36"
EILSEQ = "Invalid or incomplete multibyte or wide character"
#: codecs converted byte by byte (the Cython twin uses a 256-entry table for them)
BYTE_CODECS = frozenset(("ascii", "latin_1", "iso8859_2", "iso8859_3", "iso8859_4",
                         "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8", "iso8859_9",
                         "iso8859_11"))
#: component delimiters that reset ISO 2022 code extensions, per VR (PS3.5 §6.1.2.5.3)
DELIMITERS = {VR_PN: {0x5C, 0x5E, 0x3D}, _c("LO"): {0x5C}, _c("SH"): {0x5C}, _c("UC"): {0x5C}}
TEXT_DELIMITERS = {0x0D, 0x0A, 0x09, 0x0C}
PN_FIRST_GROUP_ESCAPE = (
    "W: DcmSpecificCharacterSet: Escape sequences shall not be used in the first component "
    "group of a Person Name (PN), using them anyway"
)


class SelectError(Exception):
    """The character set cannot be selected: the data set is left out (one ``E:`` line)."""


class ConversionFailed(Exception):
    """A value is illegal in its character set (iconv's EILSEQ): the data set is left out."""


def select(charset: str, log: list[str]) -> tuple[str, ...]:
    """DcmSpecificCharacterSet::selectCharacterSet: ``(codec,)`` for a single term, else the
    terms (the first one defaulted to ISO 2022 IR 6); raises SelectError."""
    terms = charset.split("\\")
    if len(terms) == 1:
        term = terms[0]
        if term == "ISO_IR 6":
            log.append(
                "W: DcmSpecificCharacterSet: 'ISO_IR 6' is not a defined term in DICOM, "
                "will be treated as an empty value (ASCII)"
            )
            return ("ascii",)
        if term not in SINGLE_TERMS:
            raise SelectError(
                "Cannot select source character set: SpecificCharacterSet (0008,0005) value "
                f"'{charset}' not supported"
            )
        return (SINGLE_TERMS[term],)
    out = []
    for i, term in enumerate(terms):
        term = (term or "ISO 2022 IR 6") if i == 0 else term
        if term not in EXTENSION_TERMS:
            raise SelectError(
                "Cannot select source character set: SpecificCharacterSet (0008,0005) value "
                f"{i + 1} of {len(terms)} '{term}' not supported"
            )
        if i == 0 and term in MULTI_BYTE_TERMS:
            raise SelectError(
                f"Cannot select source character set: '{term}' is not a allowed "
                "as the first value in SpecificCharacterSet (0008,0005)"
            )
        if term in NO_ICONV:
            log.append(
                f"E: DcmSpecificCharacterSet: '{term}' is not supported by the utilized "
                f"character set conversion library '{ICONV_NAME}'"
            )
            raise SelectError("Cannot open character encoding: Invalid argument")
        out.append(term)
    return tuple(out)


def byte_table(codec: str) -> list[bytes | None]:
    """UTF-8 of every byte in a byte-by-byte codec (None: the byte is illegal there)."""
    table: list[bytes | None] = []
    for b in range(256):
        try:
            table.append(bytes((b,)).decode(codec).encode("utf-8"))
        except UnicodeDecodeError:
            table.append(None)
    return table


def decode_value(value: bytes, encodings: tuple[str, ...], vr: int) -> bytes:
    """One value in UTF-8, the way needing Python codecs (multi-byte, ISO 2022 escapes).

    Raises UnicodeError / ValueError / LookupError where iconv reports an illegal sequence.
    """
    if len(encodings) == 1:
        return value.decode(encodings[0]).encode("utf-8")
    if 0x1B not in value:  # no code extension used: the first (default) repertoire only
        return value.decode(EXTENSION_TERMS[encodings[0]] or "ascii").encode("utf-8")
    delims = TEXT_DELIMITERS if VR_PROPS[vr][0] == K_TEXT else DELIMITERS[vr]
    old = _pydicom_config.settings.reading_validation_mode
    _pydicom_config.settings.reading_validation_mode = _pydicom_config.RAISE
    try:
        text = decode_bytes(value, convert_encodings(list(encodings)), delims)
    finally:
        _pydicom_config.settings.reading_validation_mode = old
    return text.encode("utf-8")


def pn_escapes_in_first_group(value: bytes) -> int:
    """ESC bytes before the first ``=`` of a PN value (DCMTK warns once for each)."""
    end = value.find(b"=")
    return value.count(b"\x1b", 0, len(value) if end < 0 else end)


def to_utf8(value: bytes, encodings: tuple[str, ...], vr: int, log: list[str]) -> bytes:
    """A character-set VR's value in UTF-8 (DcmByteString::convertCharacterSet)."""
    if len(encodings) > 1 and vr == VR_PN:
        log.extend([PN_FIRST_GROUP_ESCAPE] * pn_escapes_in_first_group(value))
    first = encodings[0] if len(encodings) == 1 else EXTENSION_TERMS[encodings[0]] or "ascii"
    if (len(encodings) == 1 or 0x1B not in value) and first in BYTE_CODECS:
        return value.decode(first).encode("utf-8")  # the Cython twin: byte_table(first)
    if max(value) < 0x80 and (len(encodings) == 1 or 0x1B not in value):
        return value  # every codec here is ASCII-compatible
    return decode_value(value, encodings, vr)


# ---- one rendering --------------------------------------------------------------------------------
class _Node:
    """What is written for one element or sequence token (the Cython twin's Node struct)."""

    __slots__ = ("vr", "name", "value", "length")

    def __init__(self, vr: int, name: bytes, value: bytes, length: int):
        self.vr = vr
        self.name = name
        self.value = value
        self.length = length


class _Render:
    """The state of one rendering: tokens, resolved nodes, the output, the log."""

    def __init__(self, plain: bytes, toks: Tokens, correct: bool):
        self.plain = plain
        self.toks = toks
        self.correct = correct
        self.n = len(toks)
        self.nodes: list[_Node | None] = [None] * self.n
        self.out: list[bytes] = []
        self.log: list[str] = []
        self.quote = False
        self.encodings: tuple[str, ...] | None = None  # -Xs: converting from these
        self.charset_node: _Node | None = None  # -Xs: the (0008,0005) written instead
        self.charset_index = -1  # -Xs: ... of this token
        size = len(plain)
        for i in range(self.n):
            t = toks[i]
            if not 0 <= t[5] <= t[6] <= size:
                raise CodecError(f"token {i} spans {t[5]}..{t[6]} outside the {size} bytes")


def _kids(r: _Render, first: int, stop: int) -> tuple[list[int], list[int]]:
    """A container's children from token ``first`` to ``stop``: ``(sorted, kept)`` -- every
    child by ascending tag (wire order among equal tags), and the first of each tag."""
    toks = r.toks
    children = []
    i = first
    while i < stop:
        children.append(i)
        i = toks.link(i) + 1 if toks[i][0] == SEQUENCE else i + 1
    ordered = sorted(children, key=lambda k: toks[k][2])
    kept = [k for j, k in enumerate(ordered) if j == 0 or toks[ordered[j - 1]][2] != toks[k][2]]
    return ordered, kept


def _first(r: _Render, ordered: list[int], tag: int, before: int) -> int:
    """The first child with ``tag`` if it is an element read before token ``before``, else -1."""
    toks = r.toks
    lo, hi = 0, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if toks[ordered[mid]][2] < tag:
            lo = mid + 1
        else:
            hi = mid
    if lo == len(ordered):
        return -1
    k = ordered[lo]
    t = toks[k]
    return k if t[2] == tag and k < before and t[0] == ELEMENT else -1


def _u16(r: _Render, ordered: list[int], tag: int, before: int) -> int:
    """The US value of ``tag`` read before token ``before`` (``findAndGetUint16``), or -1."""
    k = _first(r, ordered, tag, before)
    if k < 0:
        return -1
    node = _resolve(r, ordered, k)
    if node.vr != VR_US or len(node.value) < 2:
        return -1
    return int.from_bytes(node.value[:2], "big" if r.toks.flags(k) & F_BIG_ENDIAN else "little")


def _creator(r: _Render, ordered: list[int], i: int, tag: int) -> bytes | None:
    """The private creator of ``tag`` (PS3.5 §7.8.1) as DCMTK's private tag cache has it."""
    group, elem = tag >> 16, tag & 0xFFFF
    if not group & 1 or elem < 0x1000:
        return None
    k = _first(r, ordered, (group << 16) | (elem >> 8), i)
    if k < 0:
        return None
    node = _resolve(r, ordered, k)
    if VR_PROPS[node.vr][0] not in STRING_KINDS or not node.value:
        return None
    return node.value.split(b"\0", 1)[0]


def _implicit_vr(r: _Render, ordered: list[int], i: int, tag: int, vr: int) -> int:
    """The VR DCMTK gives an implicit-VR element with dictionary VR ``vr``: the rule of
    :func:`fastfind.dicom.vr.implicit_vr` in VR codes, then DCMTK's replacement for a pseudo VR
    left unresolved (the C twin follows this one)."""
    if vr == VR_XS and tag in XS_BY_PIXEL_REP:
        rep = _u16(r, ordered, PIXEL_REPRESENTATION, i)
        if rep >= 0:
            return VR_SS if rep == 1 else VR_US
    elif vr == VR_OX:
        if tag in OX_BY_WAVEFORM_BITS:
            bits = _u16(r, ordered, WAVEFORM_BITS_ALLOCATED, i)
            return VR_OB if bits < 0 or bits == 8 else VR_OW
        if tag == PIXEL_DATA or (tag & REPEATING_MASK) == OVERLAY_DATA:
            return VR_OW
        if (tag & REPEATING_MASK) == CURVE_DATA:
            return VR_OB
    return PSEUDO_WRITTEN.get(vr, vr)


def _resolve(r: _Render, ordered: list[int], i: int) -> _Node:
    """Token ``i``'s node: written VR, escaped name, value and length (computed once)."""
    node = r.nodes[i]
    if node is not None:
        return node
    kind, _depth, tag, vr_str, length, start, end = r.toks[i]
    creator = _creator(r, ordered, i, tag)
    dict_vr, name = lookup_public(tag) if creator is None else lookup_private(tag, creator)
    value = b""
    if kind == SEQUENCE:
        vr = VR_SQ  # a UN of undefined length too: DCMTK reads it as a sequence (CP-246)
    else:
        vr = vr_code(vr_str) if vr_str is not None else _implicit_vr(r, ordered, i, tag, dict_vr)
        value = r.plain[start:end]
        if r.correct and VR_PROPS[vr][0] in STRING_KINDS:
            value, length = corrected(vr, value, length)
    node = r.nodes[i] = _Node(vr, name, value, length)
    return node


def _element(r: _Render, i: int, node: _Node) -> None:
    """One ``<element>`` line; -Xs converts a character-set VR's value first."""
    tag = r.toks[i][2]
    kind, lead, trail, pad, vm1, size, code, prec, dcmtk, charset_vr = VR_PROPS[node.vr]
    value, length = node.value, node.length
    if r.encodings is not None and charset_vr and value:
        try:
            new = to_utf8(value, r.encodings, node.vr, r.log)
        except (UnicodeError, ValueError, LookupError) as exc:
            raise ConversionFailed from exc
        if new != value:
            value, length = new, len(new) + (len(new) & 1)  # re-padded to even length
    extra = b""
    if kind == K_HIDDEN:
        vm, text, extra = 1, b"", b' binary="hidden"'
    elif kind in STRING_KINDS:
        vm, text = string_text(kind, lead, trail, pad, value)
    else:
        vm, text = number_text(kind, size, code, prec, dcmtk, value,
                               bool(r.toks.flags(i) & F_BIG_ENDIAN))
    if vm1:
        vm = 1
    r.out.append(
        b'<element tag="%04x,%04x" vr="%s" vm="%d" len="%d" name="%s"%s>%s</element>\n'
        % (tag >> 16, tag & 0xFFFF, vr_text(node.vr), vm, length, node.name, extra,
           markup(text, r.quote))
    )


def _items(r: _Render, seq: int) -> list[int]:
    toks = r.toks
    out = []
    i, stop = seq + 1, toks.link(seq)
    while i < stop:
        out.append(i)
        i = toks.link(i) + 1
    return out


def _walk(r: _Render, top: tuple[list[int], list[int]], scan: bool) -> bool:
    """Write the data set's content with an explicit stack of containers and sequences; with
    ``scan``, write nothing and say whether a character-set VR value has a byte >= 128."""
    toks = r.toks
    # frame: [ordered, kept, position, closing text]; a sequence frame has ordered = None
    stack: list[list] = [[top[0], top[1], 0, b""]]  # type: ignore[type-arg]
    while stack:
        frame = stack[-1]
        ordered, kept, pos = frame[0], frame[1], frame[2]
        if pos == len(kept):
            if not scan:
                r.out.append(frame[3])
            stack.pop()
            continue
        frame[2] = pos + 1
        i = kept[pos]
        if ordered is None:  # an item of a sequence
            length = toks[i][4]
            ordered_i, kept_i = _kids(r, i + 1, toks.link(i))
            if not scan:
                r.out.append(b'<item card="%d"%s>\n' % (
                    len(kept_i), b"" if length == UNDEFINED else b' len="%d"' % length))
            stack.append([ordered_i, kept_i, 0, b"</item>\n"])
            continue
        node = _resolve(r, ordered, i)
        if toks[i][0] == ELEMENT:
            if scan:
                if VR_PROPS[node.vr][9] and node.value and max(node.value) >= 0x80:
                    return True
            else:
                _element(r, i, r.charset_node if i == r.charset_index else node)
            continue
        tag, length = toks[i][2], toks[i][4]
        items = _items(r, i)
        if not scan:
            r.out.append(b'<sequence tag="%04x,%04x" vr="SQ" card="%d"%s name="%s">\n' % (
                tag >> 16, tag & 0xFFFF, len(items),
                b"" if length == UNDEFINED else b' len="%d"' % length, node.name))
        stack.append([None, items, 0, b"</sequence>\n"])
    return False


def _charset(r: _Render, top: tuple[list[int], list[int]]) -> tuple[int, str | None]:
    """(0008,0005) as ``findAndGetOFStringArray`` returns it: ``(token, text)``, or (-1, None)."""
    ordered, kept = top
    for i in kept:
        if r.toks[i][2] == SPECIFIC_CHARACTER_SET:
            if r.toks[i][0] != ELEMENT:
                return -1, None
            value = _resolve(r, ordered, i).value
            parts = [normalize(p, True, True, 0x20) for p in value.split(b"\\")] if value else []
            return i, b"\\".join(parts).decode("latin-1")
    return -1, None


def _begin(plain: bytes, tokens: Tokens, correct: bool) -> tuple[_Render, tuple[list[int], list[int]]]:
    dictionary_changed()
    r = _Render(plain, tokens, correct)
    return r, _kids(r, 0, r.n)


def _data_set(r: _Render, top: tuple[list[int], list[int]], ts: TransferSyntax) -> None:
    r.out.append(b'<data-set xfer="%s" name="%s">\n'
                 % (ts.uid.encode("latin-1"), ts.name.encode("latin-1")))
    _walk(r, top, False)
    r.out.append(b"</data-set>\n")


def xml_document(plain: bytes, tokens: Tokens, ts: TransferSyntax, correct: bool = False
                 ) -> tuple[bytes, list[str]]:
    """The ``rspNNNN.xml`` document findscu ``-Xx`` writes: ``(bytes, log lines)``.

    ``tokens`` is ``plain``'s validated walk; ``ts`` its transfer syntax (``uid``, ``name``).
    Log lines are ``"W: ..."`` exactly as findscu prints them.
    """
    r, top = _begin(plain, tokens, correct)
    _, charset = _charset(r, top)
    encoding = None
    if charset is not None:
        encoding = XML_ENCODINGS.get(charset)
        if encoding is None:
            if charset:
                suffix = " ... quoting non-ASCII characters" if _walk(r, top, True) else ""
                r.log.append(
                    f"W: SpecificCharacterSet (0008,0005) value '{charset}' not supported{suffix}"
                )
            r.quote = True
    r.out.append(b'<?xml version="1.0"%s?>\n'
                 % (b' encoding="%s"' % encoding.encode() if encoding else b""))
    _data_set(r, top, ts)
    return b"".join(r.out), r.log


def xml_dataset_utf8(plain: bytes, tokens: Tokens, ts: TransferSyntax, correct: bool = False
                     ) -> tuple[bytes, list[str]]:
    """One ``<data-set>`` of the findscu ``-Xs`` file, in UTF-8: ``(bytes, log lines)``.

    Converts from (0008,0005) unless it is absent, empty or ``ISO_IR 192``; when the character
    set cannot be selected or a value cannot be converted the bytes are empty and the log says
    why (``"E: Writing XML file: ..."``), as findscu leaves such a data set out.
    """
    r, top = _begin(plain, tokens, correct)
    index, charset = _charset(r, top)
    if charset and charset != "ISO_IR 192":
        try:
            r.encodings = select(charset, r.log)
        except SelectError as exc:  # the condition text is a C string: it ends at a NUL byte
            r.log.append(f"E: Writing XML file: {str(exc).split(chr(0))[0]}")
            return b"", r.log
        r.charset_index = index
        r.charset_node = _Node(VR_CS, lookup_public(SPECIFIC_CHARACTER_SET)[1], b"ISO_IR 192", 10)
    try:
        _data_set(r, top, ts)
    except ConversionFailed:
        r.log.append(
            "W: DcmItem: An error occurred during the conversion to UTF-8 encoding, "
            "the value of SpecificCharacterSet (0008,0005) is not updated"
        )
        r.log.append(f"E: Writing XML file: Cannot convert character encoding: {EILSEQ}")
        return b"", r.log
    return b"".join(r.out), r.log
