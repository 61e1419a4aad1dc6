"""Hypothesis strategies for identifiers as an SCP may send them (PS3.5 §7): every VR, nested
sequences of defined and undefined length, undefined-length UN (PS3.5 §6.2.2), private tags,
SpecificCharacterSet per data set (Latin-1, UTF-8, GB18030, ISO 2022 IR 87/149, mislabeled
bytes), in all four transfer syntaxes. Elements are encoded here, byte by byte, so that values
pydicom itself would refuse to write (wrong lengths, bad numbers, stray bytes) occur too.

An element is ``("e", tag, vr, raw)``, a sequence ``("sq", tag, vr, items, undefined,
item_undefined)`` with ``vr`` "SQ" or (undefined length, explicit VR only) "UN"; an item is a
list of elements. :func:`encode` gives the plain identifier bytes.
"""

from __future__ import annotations

import struct
import warnings
from typing import Any

from hypothesis import strategies as st
from pydicom.charset import encode_string
from pydicom.datadict import DicomDictionary

from fastfind import codec

LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}
TS_ALL = [codec.IMPLICIT_LE, codec.EXPLICIT_LE, codec.EXPLICIT_BE, codec.DEFLATED_LE]
STRING_VRS = ["AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM",
              "UC", "UI", "UR", "UT"]
NUMBER_VRS = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8, "SV": 8, "UV": 8, "AT": 4}
BINARY_VRS = ["OB", "OD", "OF", "OL", "OV", "OW"]


def _tags_by_vr() -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for tag, (vr, _vm, _name, retired, _kw) in sorted(DicomDictionary.items()):
        if retired or tag >> 16 in (0x0000, 0x0002, 0xFFFE) or tag == 0x00080005:
            continue
        out.setdefault(vr, []).append(tag)
    return {vr: tags[:: max(1, len(tags) // 12)][:12] for vr, tags in out.items()}


TAGS = _tags_by_vr()
SQ_TAGS = TAGS["SQ"]

#: DICOM defined terms -> (SpecificCharacterSet bytes, pydicom encodings for text values)
CHARSETS: list[tuple[bytes | None, list[str]]] = [
    (None, ["iso8859"]),
    (b"ISO_IR 100", ["latin_1"]),
    (b"ISO_IR 192", ["UTF8"]),
    (b"GB18030 ", ["GB18030"]),
    (b"\\ISO 2022 IR 87", ["iso8859", "iso2022_jp"]),
    (b"\\ISO 2022 IR 149", ["iso8859", "euc_kr"]),
    (b"ISO 2022 IR 6\\ISO 2022 IR 87", ["iso8859", "iso2022_jp"]),
    (b"ISO_IR 6", ["iso8859"]),
    (b"ISO_IR 144", ["iso_ir_144"]),
    (b"ISO_IR 13", ["shift_jis"]),
    (b"ISO IR 100", ["latin_1"]),  # misspelt: pydicom corrects it
    (b"UNKNOWN", ["iso8859"]),  # unknown: pydicom's default
]
TEXT_SAMPLES = ["Yamada^Tarou", "山田^太郎=やまだ^たろう", "홍^길동", "Müller^José", "Ivanov^Иван",
                "张^三", "A\\B", " lead", "trail  ", "", "^", "==", "a=b=c=d", "tab\there",
                "quote\"back\\", "\x01ctl", "ÿþ"]


def _text_bytes(text: str, encodings: list[str]) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return encode_string(text, encodings)
    except Exception:
        return text.encode("utf-8", "replace")


@st.composite
def string_raw(draw: Any, vr: str, encodings: list[str]) -> bytes:
    """A value of a string VR: usually sensible, sometimes garbage."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(max_size=24))
    if choice == 1 and vr in ("IS", "DS"):
        return draw(st.sampled_from([b"12", b" -3 ", b"+0005", b"1.0", b"1.5", b"1e3", b".5",
                                     b"5.", b"-0", b"1\\2\\3 ", b"1\\\\2", b"nan", b"1e999",
                                     b"1_0", b"12345678901234567", b"abc", b"  ", b"\x00",
                                     b"7 \x00", b"\t8"]))
    if choice == 2 and vr in ("LO", "SH", "PN", "LT", "ST", "UT", "UC"):
        parts = draw(st.lists(st.sampled_from(TEXT_SAMPLES), min_size=1, max_size=3))
        return _text_bytes("\\".join(parts) if vr not in ("LT", "ST", "UT") else " ".join(parts),
                           encodings)
    alphabet = st.sampled_from(list("ABCz09 .^=\\-+eE:/\x00") + ["é", "Ω"])
    text = "".join(draw(st.lists(alphabet, max_size=20)))
    raw = text.encode("latin-1", "replace") if vr not in ("LO", "SH", "PN", "LT", "ST", "UT", "UC") \
        else _text_bytes(text, encodings)
    if draw(st.booleans()) and len(raw) % 2:
        raw += b" " if vr != "UI" else b"\x00"
    return raw


@st.composite
def element(draw: Any, encodings: list[str], implicit: bool) -> tuple:  # type: ignore[type-arg]
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        vr = draw(st.sampled_from(STRING_VRS))
        return ("e", draw(st.sampled_from(TAGS[vr])), vr, draw(string_raw(vr, encodings)))
    if kind <= 6:
        vr = draw(st.sampled_from(sorted(NUMBER_VRS)))
        size = NUMBER_VRS[vr]
        count = draw(st.integers(0, 3))
        raw = draw(st.binary(min_size=size * count, max_size=size * count))
        if draw(st.integers(0, 5)) == 0:
            raw += b"\x01\x02"[: draw(st.integers(1, 2))]  # a length that does not fit
        if vr in ("FL", "FD") and draw(st.booleans()):
            fmt = "<" + ("f" if vr == "FL" else "d") * count
            raw = struct.pack(fmt, *draw(st.lists(st.sampled_from(
                [0.1, -2.5, 1e300 if vr == "FD" else 3e38, float("nan"), float("inf"), -0.0, 7.0]),
                min_size=count, max_size=count)))
        return ("e", draw(st.sampled_from(TAGS[vr])), vr, raw)
    if kind == 7:
        vr = draw(st.sampled_from(BINARY_VRS))
        return ("e", draw(st.sampled_from(TAGS[vr])), vr, draw(st.binary(max_size=16)))
    if kind == 8:  # private block: creator + elements
        group = draw(st.sampled_from([0x0009, 0x0019, 0x0029]))
        creator = draw(st.sampled_from([b"ACME 1.0", b"GEMS_ACQU_01", b"SIEMENS CSA HEADER"]))
        elem = draw(st.sampled_from([0x01, 0x0F, 0x10, 0x20]))
        vr = draw(st.sampled_from(["LO", "DS", "OB", "UN", "SH"]))
        raw = draw(string_raw("DS" if vr == "DS" else "LO", encodings)) if vr != "OB" \
            else draw(st.binary(max_size=8))
        return ("block", group, creator, 0x1000 | elem, vr, raw)
    vr = draw(st.sampled_from(["UN", "OB", "LO", "CS"]))  # an unknown or odd tag
    tag = draw(st.sampled_from([0x00091001, 0x00080000, 0x00100000, 0x60003000, 0x50000005,
                                0x00283002, 0x00280106, 0x7FE00010, 0x00100010, 0x00211234]))
    return ("e", tag, vr, draw(st.binary(max_size=10)))


@st.composite
def dataset(draw: Any, implicit: bool, little: bool, depth: int = 0,
            inherited: list[str] | None = None) -> list[tuple]:  # type: ignore[type-arg]
    """A data set (top level or item) as element tuples, ascending tags unless shuffled."""
    charset, encodings = draw(st.sampled_from(CHARSETS)) if depth == 0 or draw(
        st.integers(0, 4)) == 0 else (None, inherited or ["iso8859"])
    elems: list[tuple] = []  # type: ignore[type-arg]
    if charset is not None:
        elems.append(("e", 0x00080005, "CS", charset + (b" " if len(charset) % 2 else b"")))
    for _ in range(draw(st.integers(0, 6 if depth == 0 else 3))):
        elems.append(draw(element(encodings, implicit)))
    if depth < 3 and draw(st.integers(0, 2)) == 0:
        items = draw(st.lists(dataset(implicit, little, depth + 1, encodings), max_size=2))
        undefined = draw(st.booleans())
        vr = "UN" if (not implicit and undefined and little and draw(st.integers(0, 3)) == 0) else "SQ"
        elems.append(("sq", draw(st.sampled_from(SQ_TAGS)), vr, items, undefined, draw(st.booleans())))
    return elems


def _sort_key(e: tuple) -> int:  # type: ignore[type-arg]
    return e[1] if e[0] != "block" else (e[1] << 16) | 0x0010


def _expand(elems: list[tuple]) -> list[tuple]:  # type: ignore[type-arg]
    out = []
    seen: set[int] = set()
    for e in sorted(elems, key=_sort_key):
        if e[0] == "block":
            _, group, creator, elem, vr, raw = e
            out.append(("e", (group << 16) | 0x0010, "LO", creator + b" " * (len(creator) % 2)))
            out.append(("e", (group << 16) | elem, vr, raw))
        else:
            out.append(e)
    result = []
    for e in sorted(out, key=lambda x: x[1]):
        if e[1] not in seen:
            seen.add(e[1])
            result.append(e)
    return result


def encode(elems: list[tuple], implicit: bool, little: bool) -> bytes:  # type: ignore[type-arg]
    """The bytes of a data set of element tuples (sorted, repeated tags dropped)."""
    e = "<" if little else ">"
    out = bytearray()
    for el in _expand(elems):
        tag = el[1]
        group, elem = tag >> 16, tag & 0xFFFF
        if el[0] == "e":
            _, _, vr, raw = el
            if implicit:
                out += struct.pack(e + "HHL", group, elem, len(raw))
            elif vr in LONG_VRS:
                out += struct.pack(e + "HH2sHL", group, elem, vr.encode(), 0, len(raw))
            else:
                if len(raw) > 0xFFFF:
                    raw = raw[:0xFFFF]
                out += struct.pack(e + "HH2sH", group, elem, vr.encode(), len(raw))
            out += raw
            continue
        _, _, vr, items, undefined, item_undefined = el
        # the items of an undefined-length UN are implicit VR little endian (PS3.5 §6.2.2)
        i_impl, i_little, ie = (True, True, "<") if vr == "UN" else (implicit, little, e)
        body = bytearray()
        for item in items:
            content = encode(item, i_impl, i_little)
            if item_undefined:
                body += struct.pack(ie + "HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + content
                body += struct.pack(ie + "HHL", 0xFFFE, 0xE00D, 0)
            else:
                body += struct.pack(ie + "HHL", 0xFFFE, 0xE000, len(content)) + content
        if undefined:
            body += struct.pack(ie + "HHL", 0xFFFE, 0xE0DD, 0)
        length = 0xFFFFFFFF if undefined else len(body)
        if implicit:
            out += struct.pack(e + "HHL", group, elem, length)
        else:
            out += struct.pack(e + "HH2sHL", group, elem, vr.encode(), 0, length)
        out += body
    return bytes(out)


@st.composite
def identifiers(draw: Any, ts_list: list[Any] | None = None) -> tuple[Any, bytes, bytes]:
    """``(transfer syntax, identifier as sent, plain bytes)``."""
    ts = draw(st.sampled_from(ts_list or TS_ALL))
    elems = draw(dataset(ts.implicit, ts.little))
    plain = encode(elems, ts.implicit, ts.little)
    data = codec.deflate(plain) if ts.deflated else plain
    return ts, data, plain
