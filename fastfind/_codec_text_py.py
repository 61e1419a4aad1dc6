"""Pure-Python twin of ``_codec_text.pxi``: the text of DICOM values for the output encoders.

What :mod:`fastfind._codec_json_py` and :mod:`fastfind._codec_cells_py` need to turn an
element's bytes into text exactly as pydicom would (``pydicom.values`` converters, PS3.5 §6.2):

* **VR resolution.** Explicit VR as on the wire; implicit VR from pydicom's dictionary (PS3.5
  §7.1.3, §6.2.2): a private creator is LO, an unknown public tag UN, a group length UL.
  Ambiguous VRs (US or SS, OB or OW ...), other private tags, repeater-group tags, explicit UN
  and the LUT descriptors are resolved by pydicom (class :data:`C_SLOW`).
* **Character sets** (PS3.5 §6.1, PS3.3 C.12.1.1.2). A text VR (SH, LO, UC, ST, LT, UT, PN) is
  decoded with the data set's SpecificCharacterSet -- an item's own (0008,0005) or its
  parent's -- as ``pydicom.charset.decode_bytes`` does; every other VR as Latin-1, as pydicom
  does. Fast paths that need no Python call: no byte >= 0x80 and no ESC (ASCII: the same in
  every character set pydicom maps a DICOM term to), Latin-1 (ISO_IR 100, and pydicom's
  default when (0008,0005) is absent), valid UTF-8 for ISO_IR 192. Anything else (ISO 2022
  escapes such as ISO 2022 IR 87/149, GB18030, mislabeled bytes to replace) is decoded by
  pydicom, once per value (:func:`fastfind._pydicom_values.decode`).
* **Splitting and padding**, per VR as the pydicom converters do it: values split at ``\\``
  (PS3.5 §6.4); trailing spaces/NULs removed as pydicom removes them (AE and UI values stripped
  of white space, DS of white space at both ends, UR and the texts without splitting, PN split
  after its trailing padding is cut); IS and DS accepted on the fast path only in the strict
  number grammar of PS3.5 Table 6.2-1 (anything else goes to pydicom).
* **JSON strings** escaped exactly as ``json.dumps(ensure_ascii=False)`` (RFC 8259 §7).
"""

from __future__ import annotations

import codecs
import re

from pydicom.charset import python_encoding
from pydicom.datadict import DicomDictionary, RepeatersDictionary

__all__ = ["charset_kind", "decode_text", "dictionary_vr", "json_quote"]

# ---- fast-path kind of a data set's first character set -----------------------------------------
K_OTHER = 0  #: no fast path except none: every non-empty value goes to pydicom
K_ASCII = 1  #: ASCII bytes decode as ASCII (every character set pydicom names a DICOM term for)
K_LATIN1 = 2  #: ISO 8859-1: every byte is one character
K_UTF8 = 3  #: UTF-8: valid bytes are their own text

_ASCII_SAFE = {
    codecs.lookup(e).name
    for e in set(python_encoding.values())
    if bytes(range(27)).decode(e) + bytes(range(28, 128)).decode(e)
    == bytes(range(27)).decode("ascii") + bytes(range(28, 128)).decode("ascii")
}


def charset_kind(encodings: list[str]) -> int:
    """The fast path for text in a data set whose Python encodings are ``encodings``."""
    name = codecs.lookup(encodings[0]).name
    if name == "iso8859-1":
        return K_LATIN1
    if name == "utf-8":
        return K_UTF8
    return K_ASCII if name in _ASCII_SAFE else K_OTHER


# ---- VR classes --------------------------------------------------------------------------------
C_SLOW = 0  #: pydicom decides (see the module docstring)
C_AE = 1  #: AE: Latin-1, split, each value stripped of white space
C_STR = 2  #: AS CS DA DT TM: Latin-1, trailing spaces/NULs removed, split
C_UI = 3  #: UI: Latin-1, trailing NULs/spaces removed, split, each value stripped
C_UR = 4  #: UR: Latin-1, trailing white space removed, one value
C_IS = 5  #: IS: integer strings
C_DS = 6  #: DS: decimal strings
C_AT = 7  #: AT: tags
C_US, C_SS, C_UL, C_SL, C_UV, C_SV, C_FL, C_FD = 8, 9, 10, 11, 12, 13, 14, 15  #: binary numbers
C_BIN = 16  #: OB OD OF OL OV OW (and an implicit unknown tag, UN): bytes
C_MTEXT = 17  #: SH LO UC: character set, split, trailing spaces/NULs removed per value
C_STEXT = 18  #: ST LT UT: character set, one value, trailing spaces/NULs removed
C_PN = 19  #: PN: character set, split, components at '='

_CLASS_OF = {
    "AE": C_AE, "AS": C_STR, "CS": C_STR, "DA": C_STR, "DT": C_STR, "TM": C_STR, "UI": C_UI,
    "UR": C_UR, "IS": C_IS, "DS": C_DS, "AT": C_AT, "US": C_US, "SS": C_SS, "UL": C_UL,
    "SL": C_SL, "UV": C_UV, "SV": C_SV, "FL": C_FL, "FD": C_FD, "OB": C_BIN, "OD": C_BIN,
    "OF": C_BIN, "OL": C_BIN, "OV": C_BIN, "OW": C_BIN, "SH": C_MTEXT, "LO": C_MTEXT,
    "UC": C_MTEXT, "ST": C_STEXT, "LT": C_STEXT, "UT": C_STEXT, "PN": C_PN,
}
#: VR string index -> class (the explicit VR table of the walk, ``VR_STRS``)
VR_CLASS = [_CLASS_OF.get(chr(65 + i // 26) + chr(65 + i % 26), C_SLOW) for i in range(676)]
VRI_UN = (ord("U") - 65) * 26 + ord("N") - 65
VRI_LO = (ord("L") - 65) * 26 + ord("O") - 65
VRI_UL = (ord("U") - 65) * 26 + ord("L") - 65
#: US/SS whose first value pydicom corrects (``pydicom.tag._LUT_DESCRIPTOR_TAGS``)
LUT_DESCRIPTORS = frozenset((0x00281101, 0x00281102, 0x00281103, 0x00283002))


def _vri(vr: str) -> int:
    if len(vr) == 2 and "AA" <= vr <= "ZZ" and vr.isupper():
        return (ord(vr[0]) - 65) * 26 + ord(vr[1]) - 65
    return -1


#: public dictionary: tag -> VR index (-1: ambiguous such as "US or SS", or "NONE")
DICT_VRI = {tag: _vri(entry[0]) for tag, entry in DicomDictionary.items()}
#: repeater masks of pydicom's dictionary (50xx, 60xx, ...): (value, mask)
REPEATERS = tuple(
    (int(m.replace("x", "0"), 16), int("".join("0" if c == "x" else "F" for c in m), 16))
    for m in RepeatersDictionary
)


def dictionary_vr(tag: int, explicit_vri: int) -> tuple[int, int]:
    """``(VR index, class)`` of an element: its explicit VR, or (``explicit_vri`` < 0) what
    pydicom's implicit-VR lookup gives; class :data:`C_SLOW` where pydicom must decide."""
    if explicit_vri >= 0:
        cls = VR_CLASS[explicit_vri]
        if explicit_vri == VRI_UN or tag in LUT_DESCRIPTORS:
            cls = C_SLOW
        return explicit_vri, cls
    vri = DICT_VRI.get(tag)
    if vri is not None:
        if vri < 0 or tag in LUT_DESCRIPTORS:
            return -1, C_SLOW
        return vri, VR_CLASS[vri]
    for value, mask in REPEATERS:
        if tag & mask == value:
            return -1, C_SLOW
    elem = tag & 0xFFFF
    if tag & 0x10000:  # private: creators are LO, the rest need their creator (pydicom)
        return (VRI_LO, C_MTEXT) if 0x10 <= elem <= 0xFF else (-1, C_SLOW)
    if elem == 0:
        return VRI_UL, C_UL  # group length
    return VRI_UN, C_BIN  # unknown public tag: pydicom reads the bytes as UN


# ---- text of one value ---------------------------------------------------------------------------
#: Python's str.isspace() in Latin-1 (what pydicom's str.strip() removes)
WS = bytes((9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xA0))


def _fast_utf8(raw: bytes, kind: int) -> bytes | None:
    """``raw`` as UTF-8 text without Python help, or None (pydicom must decode it)."""
    if 0x1B in raw:
        return None
    if raw.isascii():
        return raw if kind != K_OTHER else None
    if kind == K_LATIN1:
        return raw.decode("latin-1").encode("utf-8")
    if kind == K_UTF8:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return raw
    return None


def text_utf8(raw: bytes, kind: int, encodings: list[str]) -> bytes:
    """A text value as pydicom decodes it (``decode_bytes``), as UTF-8."""
    out = _fast_utf8(raw, kind)
    if out is None:
        from ._pydicom_values import decode

        out = decode(raw, encodings).encode("utf-8", "replace")
    return out


def decode_text(raw: bytes, encodings: list[str]) -> str:
    """``raw`` decoded as ``pydicom.charset.decode_bytes(raw, encodings, TEXT_VR_DELIMS)``."""
    return text_utf8(bytes(raw), charset_kind(encodings), encodings).decode("utf-8")


_IS = re.compile(rb" *[+-]?[0-9]{1,15} *\Z")
_DS = re.compile(rb" *[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *\Z")


def split_values(cls: int, raw: bytes, kind: int, encodings: list[str]) -> list[bytes] | None:
    """The values of a string element as UTF-8, after pydicom's padding rules; None when
    pydicom must convert it (IS/DS outside the strict grammar). ``[b""]``: empty (VM 0)."""
    if cls == C_AE:
        return [_latin1(v.strip(WS)) for v in raw.split(b"\\")]
    if cls == C_STR:
        return [_latin1(v) for v in raw.rstrip(b" \x00").split(b"\\")]
    if cls == C_UI:
        return [_latin1(v.strip(WS)) for v in raw.rstrip(b" \x00").split(b"\\")]
    if cls == C_UR:
        return [_latin1(raw.rstrip(WS))]
    if cls == C_IS or cls == C_DS:
        text = raw.strip(WS).rstrip(b" \x00") if cls == C_DS else raw.rstrip(b" \x00")
        items = text.split(b"\\")
        if len(items) == 1 and not items[0]:
            return [b""]
        grammar = _IS if cls == C_IS else _DS
        for v in items:
            if grammar.match(v) is None:
                return None
        return items
    if cls == C_MTEXT:
        return [v.rstrip(b"\x00 ") for v in text_utf8(raw, kind, encodings).split(b"\\")]
    if cls == C_STEXT:
        return [text_utf8(raw, kind, encodings).rstrip(b"\x00 ")]
    # C_PN: the padding goes before decoding
    return text_utf8(raw.rstrip(b"\x00 "), kind, encodings).split(b"\\")


def _latin1(v: bytes) -> bytes:
    return v if v.isascii() else v.decode("latin-1").encode("utf-8")


# ---- JSON strings (RFC 8259 §7, as json.dumps(ensure_ascii=False)) -----------------------------
_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r",
                 0x09: "\\t"})


def json_quote(text: bytes) -> bytes:
    """UTF-8 ``text`` as a JSON string literal, quotes included."""
    return b'"' + text.decode("utf-8", "replace").translate(_ESCAPES).encode("utf-8") + b'"'


class _State:
    """What one encoding call (JSON, cells) shares: the walk and, made only if a value needs
    it, pydicom's conversion of the elements (the Cython twins' ``JsonState``/cells state)."""

    __slots__ = ("plain", "tokens", "ts", "a", "fallback")

    def __init__(self, plain: bytes, tokens, ts) -> None:  # type: ignore[no-untyped-def]
        self.plain = plain
        self.tokens = tokens
        self.ts = ts
        self.a = tokens._a
        self.fallback = None

    def slow(self):  # type: ignore[no-untyped-def]
        if self.fallback is None:
            from ._pydicom_values import Fallback

            self.fallback = Fallback(self.plain, self.tokens, self.ts)
        return self.fallback
