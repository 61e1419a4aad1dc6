"""DICOM JSON (PS3.18 F.2) straight from the identifier bytes: ``codec.encode_json`` against
pydicom, for both codecs.

The oracle is pydicom: :func:`fastfind.output.dicom_json.to_json_dict` of the Dataset that
``dataset_from_walk`` builds (pydicom's ``to_json_dict`` per element, with fastfind's documented
decisions where pydicom raises or writes non-JSON), and, whenever pydicom's own
``Dataset.to_json_dict()`` succeeds with finite numbers, that too. The decisions themselves
(``_codec_json_py`` docstring) have golden tests below.
"""

from __future__ import annotations

import json
import math
import os
import struct
import warnings
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec import load_impl

from fastfind import _codec_py, codec
from fastfind.dataset import dataset_from_walk
from fastfind.errors import CodecError
from fastfind.output.dicom_json import to_json_dict

import identifiers as ids

SETTINGS = settings(max_examples=int(os.environ.get("FASTFIND_JSON_EXAMPLES", "250")),
                    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                          HealthCheck.too_slow])


@pytest.fixture(params=["python", "cython"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return load_impl(request.param)


def walk(impl: ModuleType, plain: bytes, ts: Any) -> Any:
    return impl.walk(plain, ts.implicit, ts.little, codec.SQ_TAGS, 64)


def has_nonfinite(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(has_nonfinite(v) for v in obj.values())
    if isinstance(obj, list):
        return any(has_nonfinite(v) for v in obj)
    return False


def pydicom_json(plain: bytes, toks: Any, ts: Any) -> dict[str, Any] | None:
    """pydicom's own Dataset.to_json_dict(), or None where it raises or writes NaN."""
    ds = dataset_from_walk(plain, toks, ts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = ds.to_json_dict()
        except Exception:
            return None
    return None if has_nonfinite(out) else json.loads(json.dumps(out))


@SETTINGS
@given(case=ids.identifiers())
def test_json_equals_pydicom(impl: ModuleType, case: tuple[Any, bytes, bytes]) -> None:
    ts, data, plain = case
    assert codec.plain_bytes(data, ts) == plain
    toks = walk(impl, plain, ts)
    got = impl.encode_json(plain, toks, ts)
    doc = json.loads(got)  # valid JSON (no NaN literals)
    assert not has_nonfinite(doc)
    ds = dataset_from_walk(plain, toks, ts)
    assert doc == to_json_dict(ds)
    # the same bytes as json.dumps of that dict (compact, ensure_ascii=False)
    assert got == json.dumps(to_json_dict(ds), ensure_ascii=False, separators=(",", ":")).encode()
    raw = pydicom_json(plain, toks, ts)
    if raw is not None:
        assert doc == raw


@SETTINGS
@given(case=ids.identifiers())
def test_cython_equals_python(case: tuple[Any, bytes, bytes]) -> None:
    cy = load_impl("cython")
    ts, _data, plain = case
    a = _codec_py.encode_json(plain, walk(_codec_py, plain, ts), ts)
    assert cy.encode_json(plain, walk(cy, plain, ts), ts) == a


@SETTINGS
@given(case=ids.identifiers(), cut=st.integers(0, 40), flip=st.integers(0, 255))
def test_mutated_identifiers_never_fail(impl: ModuleType, case: tuple[Any, bytes, bytes],
                                        cut: int, flip: int) -> None:
    """Whatever walks, encodes (valid JSON, equal in both codecs); nothing else escapes."""
    ts, _data, plain = case
    data = bytearray(plain)
    if data:
        data[cut % len(data)] ^= flip
    data = bytes(data)
    try:
        toks = walk(impl, data, ts)
    except CodecError:
        return
    try:
        got = impl.encode_json(data, toks, ts)
    except CodecError as exc:  # only an unreadable SpecificCharacterSet
        assert "SpecificCharacterSet" in str(exc)
        return
    assert json.loads(got) == to_json_dict(dataset_from_walk(data, toks, ts))


# ---- golden cases ---------------------------------------------------------------------------------
def el(tag: int, vr: str, raw: bytes, little: bool = True) -> bytes:
    e = "<" if little else ">"
    if vr in ids.LONG_VRS:
        return struct.pack(e + "HH2sHL", tag >> 16, tag & 0xFFFF, vr.encode(), 0, len(raw)) + raw
    return struct.pack(e + "HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(raw)) + raw


def imp(tag: int, raw: bytes) -> bytes:
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(raw)) + raw


def enc(impl: ModuleType, plain: bytes, ts: Any = codec.EXPLICIT_LE) -> str:
    return impl.encode_json(plain, walk(impl, plain, ts), ts).decode("utf-8")


GOLDEN = [
    # PN components; IS/DS numbers (pydicom's int()/float() of its IS/DSfloat)
    (el(0x00100010, "PN", b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"),
     None),
    (el(0x00100010, "PN", b"A^B=C=D "), '{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A^B","Ideographic":"C","Phonetic":"D"}]}}'),
    (el(0x00100010, "PN", b"A==D"), '{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A","Ideographic":"","Phonetic":"D"}]}}'),
    (el(0x00100010, "PN", b"=="), '{"00100010":{"vr":"PN"}}'),
    (el(0x00201208, "IS", b" +05\\-0 "), '{"00201208":{"vr":"IS","Value":[5,0]}}'),
    (el(0x00101020, "DS", b" 1.50\\.5\\5.\\-0\\1e3 "), '{"00101020":{"vr":"DS","Value":[1.5,0.5,5.0,-0.0,1000.0]}}'),
    (el(0x00101020, "DS", b"  "), '{"00101020":{"vr":"DS"}}'),
    (el(0x00080054, "AE", b" A B \\ C\x00"), '{"00080054":{"vr":"AE","Value":["A B","C\\u0000"]}}'),
    (el(0x00080061, "CS", b" CT\\MR \x00"), '{"00080061":{"vr":"CS","Value":[" CT","MR"]}}'),
    (el(0x00081190, "UR", b"http://x/y \t"), '{"00081190":{"vr":"UR","Value":["http://x/y"]}}'),
    (el(0x00280009, "AT", b"\x10\x00\x20\x00\x08\x00\x05\x00"), '{"00280009":{"vr":"AT","Value":["00100020","00080005"]}}'),
    (el(0x00280010, "US", b"\x01\x00\xff\xff"), '{"00280010":{"vr":"US","Value":[1,65535]}}'),
    (el(0x00281050, "DS", b"1\\2"), '{"00281050":{"vr":"DS","Value":[1.0,2.0]}}'),
    (el(0x00091010, "OB", b"\x00\x01\x02"), '{"00091010":{"vr":"OB","InlineBinary":"AAEC"}}'),
    (el(0x00081110, "SQ", b""), '{"00081110":{"vr":"SQ","Value":[]}}'),
    (el(0x00081030, "LO", b"quote\"back\\slash\x01"), '{"00081030":{"vr":"LO","Value":["quote\\"back","slash\\u0001"]}}'),
    (el(0x00324000, "LT", b"a\\b\r\n\tc \x00"), '{"00324000":{"vr":"LT","Value":["a\\\\b\\r\\n\\tc"]}}'),
    # explicit UN of a known tag: pydicom reads it with the dictionary VR
    (el(0x00100010, "UN", b"DOE^J "), '{"00100010":{"vr":"PN","Value":[{"Alphabetic":"DOE^J"}]}}'),
    # LUT descriptor: pydicom makes the first value unsigned
    (el(0x00283002, "SS", b"\xff\xff\x00\x00\x10\x00"), '{"00283002":{"vr":"SS","Value":[65535,0,16]}}'),
    # decisions: a length that does not fit, an IS that is no number -> UN with the raw bytes
    (el(0x00280010, "US", b"\x01\x00\x02"), '{"00280010":{"vr":"UN","InlineBinary":"AQAC"}}'),
    (el(0x00201208, "IS", b"1\\\\2 "), '{"00201208":{"vr":"UN","InlineBinary":"MVxcMiA="}}'),
    # decisions: an empty value of a multi-valued PN is null (PS3.18 F.2.5)
    (el(0x00100010, "PN", b"A^B\\"), '{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A^B"},null]}}'),
    # decisions: non-finite numbers as strings
    (el(0x00181310, "FD", struct.pack("<3d", math.nan, math.inf, -math.inf)),
     '{"00181310":{"vr":"FD","Value":["NaN","Infinity","-Infinity"]}}'),
    (el(0x00101020, "DS", b"nan\\1e999"), '{"00101020":{"vr":"DS","Value":["NaN","Infinity"]}}'),
    # decisions: a repeated tag is written once, with the last value, where it first appeared
    (el(0x00100020, "LO", b"B1") + el(0x00100010, "PN", b"X") + el(0x00100020, "LO", b"B2"),
     '{"00100020":{"vr":"LO","Value":["B2"]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"X"}]}}'),
]


@pytest.mark.parametrize(("plain", "expected"), GOLDEN, ids=range(len(GOLDEN)))
def test_golden(impl: ModuleType, plain: bytes, expected: str | None) -> None:
    got = enc(impl, plain)
    if expected is not None:
        assert got == expected
    ts = codec.EXPLICIT_LE
    assert json.loads(got) == to_json_dict(dataset_from_walk(plain, walk(impl, plain, ts), ts))


def test_pydicom_raises_where_fastfind_decides() -> None:
    """The decisions above are where pydicom's own to_json_dict fails or writes NaN."""
    ts = codec.EXPLICIT_LE
    for plain in (el(0x00100010, "PN", b"A^B\\"),):
        ds = dataset_from_walk(plain, walk(_codec_py, plain, ts), ts)
        with warnings.catch_warnings(), pytest.raises(IndexError):
            warnings.simplefilter("ignore")
            ds.to_json_dict()
    plain = el(0x00181310, "FD", struct.pack("<d", math.nan))
    ds = dataset_from_walk(plain, walk(_codec_py, plain, ts), ts)
    assert "NaN" in json.dumps(ds.to_json_dict())


CHARSET_GOLDEN = [
    # PS3.5 H.3.1 / I.2 examples as pydicom decodes them
    (b"\\ISO 2022 IR 87", b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
     {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}),
    (b"\\ISO 2022 IR 149", b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
     {"Alphabetic": "Hong^Gildong", "Ideographic": "洪^吉洞", "Phonetic": "홍^길동"}),
    (b"GB18030", "Wang^XiaoDong=王^小东".encode("gb18030"),
     {"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小东"}),
    (b"ISO_IR 192", "Wang^XiaoDong=王^小东".encode(), {"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小东"}),
    (b"ISO_IR 100", "Müller^José".encode("latin-1"), {"Alphabetic": "Müller^José"}),
    (None, "Müller".encode("latin-1"), {"Alphabetic": "Müller"}),  # pydicom's default: Latin-1
    (b"ISO_IR 192", b"M\xfcller", {"Alphabetic": "M\ufffdller"}),  # mislabeled: replaced
    (b"ISO_IR 6", b"M\xfcller", {"Alphabetic": "Müller"}),
]


@pytest.mark.parametrize(("charset", "raw", "name"), CHARSET_GOLDEN, ids=range(len(CHARSET_GOLDEN)))
@pytest.mark.parametrize("ts", ids.TS_ALL, ids=lambda t: t.uid)
def test_charsets(impl: ModuleType, ts: Any, charset: bytes | None, raw: bytes,
                  name: dict[str, str]) -> None:
    elems = [("e", 0x00100010, "PN", raw + b" " * (len(raw) % 2))]
    if charset is not None:
        elems.append(("e", 0x00080005, "CS", charset + b" " * (len(charset) % 2)))
    plain = ids.encode(elems, ts.implicit, ts.little)
    doc = json.loads(enc(impl, plain, ts))
    assert doc["00100010"] == {"vr": "PN", "Value": [name]}
    toks = walk(impl, plain, ts)
    assert doc == to_json_dict(dataset_from_walk(plain, toks, ts))


def test_item_charset_and_inheritance(impl: ModuleType) -> None:
    """An item's own (0008,0005) applies inside it; items without one inherit (PS3.5 §6.1.2.5.3)."""
    ts = codec.EXPLICIT_LE
    jp = "山田".encode("iso2022_jp")
    item1 = [("e", 0x00080005, "CS", b"\\ISO 2022 IR 87 "), ("e", 0x00100010, "PN", jp)]
    item2 = [("e", 0x00100010, "PN", "Müller".encode("latin-1"))]
    elems = [("e", 0x00080005, "CS", b"ISO_IR 100"), ("sq", 0x00081120, "SQ", [item1, item2], True, False)]
    plain = ids.encode(elems, ts.implicit, ts.little)
    doc = json.loads(enc(impl, plain, ts))
    items = doc["00081120"]["Value"]
    assert items[0]["00100010"]["Value"] == [{"Alphabetic": "山田"}]
    assert items[1]["00100010"]["Value"] == [{"Alphabetic": "Müller"}]
    assert doc == to_json_dict(dataset_from_walk(plain, walk(impl, plain, ts), ts))


def test_private_and_implicit_vr(impl: ModuleType) -> None:
    ts = codec.IMPLICIT_LE
    plain = (imp(0x00190010, b"GEMS_ACQU_01") + imp(0x0019100F, b"1.5 ") + imp(0x00291001, b"xy")
             + imp(0x00280103, b"\x01\x00") + imp(0x00280106, b"\xff\xff") + imp(0x60003000, b"\x01\x02"))
    doc = json.loads(enc(impl, plain, ts))
    assert doc["00190010"] == {"vr": "LO", "Value": ["GEMS_ACQU_01"]}
    assert doc["0019100F"] == {"vr": "DS", "Value": [1.5]}  # pydicom's private dictionary
    assert doc["00291001"] == {"vr": "UN", "InlineBinary": "eHk="}  # no creator
    assert doc["00280106"] == {"vr": "SS", "Value": [-1]}  # US or SS: PixelRepresentation 1
    assert doc["60003000"]["vr"] == "OW"
    assert doc == to_json_dict(dataset_from_walk(plain, walk(impl, plain, ts), ts))


def test_un_undefined_length_big_endian_nested(impl: ModuleType) -> None:
    """Deviation: a nested undefined-length UN in big endian has implicit VR little endian items
    (PS3.5 §6.2.2); pydicom's reader keeps big endian there and misreads them."""
    inner = ids.encode([("e", 0x00100010, "PN", b"DOE^J ")], True, True)
    un = (struct.pack(">HH2sHL", 0x0040, 0xA730, b"UN", 0, 0xFFFFFFFF)
          + struct.pack("<HHL", 0xFFFE, 0xE000, len(inner)) + inner + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    item = un
    plain = (struct.pack(">HH2sHL", 0x0008, 0x1120, b"SQ", 0, len(item) + 8)
             + struct.pack(">HHL", 0xFFFE, 0xE000, len(item)) + item)
    ts = codec.EXPLICIT_BE
    doc = json.loads(enc(impl, plain, ts))
    nested = doc["00081120"]["Value"][0]["0040A730"]
    assert nested == {"vr": "SQ", "Value": [{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^J"}]}}]}


def test_encode_json_through_codec_and_response() -> None:
    from fastfind.client import FindResponse
    from fastfind.options import Limits

    plain = el(0x00100010, "PN", b"DOE^J ") + el(0x00100020, "LO", b"ID1 ")
    rsp = FindResponse(1, {0x0900: 0xFF00}, plain, codec.EXPLICIT_LE, 1, Limits())
    assert rsp.json() == '{"00100010":{"vr":"PN","Value":[{"Alphabetic":"DOE^J"}]},"00100020":{"vr":"LO","Value":["ID1"]}}'
    assert rsp.json_dict() == to_json_dict(rsp.dataset)
