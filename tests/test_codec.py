"""Data-phase codec tests, run against both implementations (``codec_impl`` fixture).

Golden bytes come from :mod:`vectors`; data sets are checked against pydicom's own reader.
"""

from __future__ import annotations

import importlib
import os
import random
import re
import time
import zlib
from io import BytesIO
from types import ModuleType

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

from fastfind import _codec_py, codec
from fastfind.errors import CodecError, ProtocolError

import vectors as v

# ---- implementation fixture --------------------------------------------------------------------


def load_impl(name: str) -> ModuleType:
    """The module behind ``name``; fails (not skips) if the extension is required but missing."""
    if name == "python":
        return _codec_py
    if os.environ.get("FASTFIND_NO_EXTENSIONS"):
        pytest.skip("FASTFIND_NO_EXTENSIONS=1: the Cython codec is covered by the other run")
    try:
        return importlib.import_module("fastfind._codec")
    except ImportError as exc:
        if os.environ.get("FASTFIND_REQUIRE_EXTENSIONS"):
            pytest.fail(f"FASTFIND_REQUIRE_EXTENSIONS=1 but fastfind._codec does not import: {exc}")
        pytest.skip(f"fastfind._codec is not built: {exc}")


@pytest.fixture(params=["python", "cython"])
def codec_impl(request: pytest.FixtureRequest) -> ModuleType:
    return load_impl(request.param)


def raises(exc: type[Exception], message: str):  # type: ignore[no-untyped-def]
    """pytest.raises matching the whole message exactly."""
    return pytest.raises(exc, match="^" + re.escape(message) + "$")


def receiver(impl: ModuleType, max_pdu: int = 16384, contexts=(1,), **kw):  # type: ignore[no-untyped-def]
    r = impl.Receiver(max_pdu, **kw)
    if contexts is not None:
        r.set_contexts(contexts)
    return r


def pdv(ctx: int, control: int, fragment: bytes) -> bytes:
    return (len(fragment) + 2).to_bytes(4, "big") + bytes((ctx, control)) + fragment


def pdu(ptype: int, body: bytes) -> bytes:
    return bytes((ptype, 0)) + len(body).to_bytes(4, "big") + body


def test_same_public_names() -> None:
    cy = load_impl("cython")
    names = {n for n in dir(_codec_py) if not n.startswith("_") and n != "annotations"}
    assert names <= set(dir(cy))
    for name in names:
        value = getattr(_codec_py, name)
        if isinstance(value, (int, dict)):
            assert getattr(cy, name) == value, name


# ---- command sets (PS3.7 §6.3.1) -------------------------------------------------------------------
GOLDEN_COMMANDS = [
    (v.C_FIND_RQ_MWL, v.C_FIND_RQ_MWL_FIELDS),
    (v.C_CANCEL_RQ, v.C_CANCEL_RQ_FIELDS),
    (v.C_FIND_RSP_PENDING, v.C_FIND_RSP_PENDING_FIELDS),
    (v.C_FIND_RSP_SUCCESS, v.C_FIND_RSP_SUCCESS_FIELDS),
    (v.C_FIND_RSP_CANCEL, v.C_FIND_RSP_CANCEL_FIELDS),
    (v.C_FIND_RSP_FAILURE, v.C_FIND_RSP_FAILURE_FIELDS),
]


@pytest.mark.parametrize(("raw", "fields"), GOLDEN_COMMANDS)
def test_command_golden(codec_impl: ModuleType, raw: bytes, fields: dict) -> None:
    assert codec_impl.decode_command(raw) == fields
    assert codec_impl.decode_command(memoryview(raw)) == fields
    assert codec_impl.encode_command([(k, x) for k, x in fields.items() if k]) == raw
    # the same bytes as pydicom reads them (implicit VR LE)
    ds = read_dataset(BytesIO(raw), True, True)
    assert [int(t) for t in ds.keys()] == list(fields)


def test_encode_command_sorts_and_pads(codec_impl: ModuleType) -> None:
    raw = codec_impl.encode_command([(0x0800, 0x0101), (0x0002, "1.2.3"), (0x0902, "abc")])
    assert raw[8:12] == (len(raw) - 12).to_bytes(4, "little")
    assert b"1.2.3\x00" in raw and b"abc " in raw
    assert codec_impl.decode_command(raw) == {0: len(raw) - 12, 2: "1.2.3", 0x800: 0x101, 0x902: "abc"}


def test_decode_command_values(codec_impl: ModuleType) -> None:
    raw = (
        b"\x00\x00\x01\x09\x08\x00\x00\x00\x10\x00\x10\x00\x08\x00\x50\x00"  # AT x2
        b"\x00\x00\x02\x09\x04\x00\x00\x00a \x00 "  # LO with mixed NUL/space padding
        b"\x00\x00\x34\x12\x03\x00\x00\x00xyz"  # unknown element: raw bytes
    )
    assert codec_impl.decode_command(raw) == {
        0x0901: (0x00100010, 0x00080050),
        0x0902: "a",
        0x1234: b"xyz",
    }
    assert codec_impl.decode_command(b"") == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (v.C_CANCEL_RQ + b"\x00\x00\x00", "command set: truncated element header"),
        (v.C_CANCEL_RQ[:-1], "command set: element (0000,0800) length 2 exceeds data"),
        (
            b"\x00\x00\x00\x01\xff\xff\xff\xff\x20\x00",
            "command set: element (0000,0100) length 4294967295 exceeds data",
        ),
        (b"\x08\x00\x50\x00\x00\x00\x00\x00", "command set: element (0008,0050) outside group 0000"),
        (
            b"\x00\x00\x00\x01\x02\x00\x00\x00\x20\x00" * 2,
            "command set: element (0000,0100) duplicate or out of order",
        ),
        (
            b"\x00\x00\x00\x08\x02\x00\x00\x00\x01\x01\x00\x00\x00\x01\x02\x00\x00\x00\x20\x00",
            "command set: element (0000,0100) duplicate or out of order",
        ),
        (b"\x00\x00\x00\x01\x04\x00\x00\x00\x20\x00\x00\x00", "command set: (0000,0100) US has length 4"),
        (b"\x00\x00\x00\x01\x00\x00\x00\x00", "command set: (0000,0100) US has length 0"),
        (b"\x00\x00\x00\x00\x02\x00\x00\x00\x20\x00", "command set: (0000,0000) UL has length 2"),
        (b"\x00\x00\x01\x09\x03\x00\x00\x00\x10\x00\x10", "command set: (0000,0901) AT has length 3"),
    ],
)
def test_decode_command_errors(codec_impl: ModuleType, raw: bytes, message: str) -> None:
    with raises(CodecError, message):
        codec_impl.decode_command(raw)


# ---- P-DATA-TF encoding (PS3.8 §9.3.5, D.1) -------------------------------------------------------
def split_pdata(stream: bytes) -> list[tuple[int, int, int, bytes]]:
    """[(pdu_length, ctx, control, fragment)] of a stream of one-PDV P-DATA PDUs."""
    out, pos = [], 0
    while pos < len(stream):
        assert stream[pos] == 4
        length = int.from_bytes(stream[pos + 2 : pos + 6], "big")
        body = stream[pos + 6 : pos + 6 + length]
        assert int.from_bytes(body[:4], "big") == length - 4
        out.append((length, body[4], body[5], body[6:]))
        pos += 6 + length
    return out


@pytest.mark.parametrize(
    ("max_pdu", "fragment"),
    [(0, (1 << 20) - 6), (14, 8), (15, 8), (101, 94), (16384, 16378), (1 << 40, (1 << 20) - 6)],
)
@pytest.mark.parametrize("size", [0, 1, 8, 9, 200, 3 * (1 << 20) + 2])
def test_encode_pdata_fragments(codec_impl: ModuleType, max_pdu: int, fragment: int, size: int) -> None:
    if max_pdu in (14, 15, 101) and size > 1000:
        size = 1000
    payload = random.Random(size).randbytes(min(size, 4096))
    payload = (payload * (size // max(len(payload), 1) + 1))[:size]
    stream = codec_impl.encode_pdata(3, size % 2 == 0, payload, max_pdu)
    parts = split_pdata(stream)
    assert b"".join(p[3] for p in parts) == payload
    assert len(parts) == max(1, -(-size // fragment))
    limit = max_pdu if 0 < max_pdu <= 1 << 20 else 1 << 20
    for i, (length, ctx, control, frag) in enumerate(parts):
        assert ctx == 3 and length <= limit
        assert control == (1 if size % 2 == 0 else 0) | (2 if i == len(parts) - 1 else 0)
        if i < len(parts) - 1:
            assert len(frag) == fragment and len(frag) % 2 == 0
    assert stream == _codec_py.encode_pdata(3, size % 2 == 0, payload, max_pdu)


@pytest.mark.parametrize("max_pdu", [1, 6, 13, -5])
def test_encode_pdata_refuses_tiny_max_pdu(codec_impl: ModuleType, max_pdu: int) -> None:
    with raises(ProtocolError, f"peer max PDU size of {max_pdu} is illegal (must be > 12)") as info:
        codec_impl.encode_pdata(1, True, b"xx", max_pdu)
    assert (info.value.abort_source, info.value.abort_reason) == (0, 0)


def test_encode_pdata_golden(codec_impl: ModuleType) -> None:
    assert codec_impl.encode_pdata(1, True, v.C_FIND_RQ_MWL, 16384) == v.PDATA_FIND_RQ_COMMAND
    assert codec_impl.encode_pdata(1, False, v.IDENTIFIER_QUERY, 0) == v.PDATA_FIND_RQ_IDENTIFIER
    assert codec_impl.encode_pdata(1, True, v.C_CANCEL_RQ, 16384) == v.PDATA_CANCEL_RQ


# ---- Receiver: framing and reassembly (PS3.8 §9.3, Annex E) -----------------------------------
def message_stream(impl: ModuleType, max_pdu: int = 40) -> tuple[bytes, list]:
    """Two pending responses, a success, and an A-RELEASE-RP, fragmented at ``max_pdu``."""
    ident2 = v.IDENTIFIER_MATCH * 5
    stream = (
        impl.encode_pdata(1, True, v.C_FIND_RSP_PENDING, max_pdu)
        + impl.encode_pdata(1, False, v.IDENTIFIER_MATCH, max_pdu)
        + impl.encode_pdata(1, True, v.C_FIND_RSP_PENDING, max_pdu)
        + impl.encode_pdata(1, False, ident2, max_pdu)
        + v.PDATA_SUCCESS
        + v.A_RELEASE_RP
    )
    expected = [
        (impl.EV_MESSAGE, 1, v.C_FIND_RSP_PENDING_FIELDS, v.IDENTIFIER_MATCH),
        (impl.EV_MESSAGE, 1, v.C_FIND_RSP_PENDING_FIELDS, ident2),
        (impl.EV_MESSAGE, 1, v.C_FIND_RSP_SUCCESS_FIELDS, None),
        (impl.EV_PDU, 6, b"\x00\x00\x00\x00"),
    ]
    return stream, expected


def test_receiver_golden(codec_impl: ModuleType) -> None:
    r = receiver(codec_impl)
    events = r.feed(v.PDATA_PENDING_ONE_PDU + v.PDATA_SUCCESS + v.A_RELEASE_RQ + v.A_ABORT_PROVIDER)
    assert events == [
        (codec_impl.EV_MESSAGE, 1, v.C_FIND_RSP_PENDING_FIELDS, v.IDENTIFIER_MATCH),
        (codec_impl.EV_MESSAGE, 1, v.C_FIND_RSP_SUCCESS_FIELDS, None),
        (codec_impl.EV_PDU, 5, b"\x00\x00\x00\x00"),
        (codec_impl.EV_PDU, 7, b"\x00\x00\x02\x06"),
    ]
    assert type(events[0][3]) is bytes
    assert r.buffered == 0 and not r.in_message


def test_receiver_split_at_every_offset(codec_impl: ModuleType) -> None:
    stream, expected = message_stream(codec_impl)
    assert receiver(codec_impl).feed(stream) == expected
    for cut in range(len(stream) + 1):
        r = receiver(codec_impl)
        first = r.feed(stream[:cut])
        assert r.buffered <= cut
        assert first + r.feed(memoryview(stream)[cut:]) == expected, cut
        assert r.buffered == 0 and not r.in_message


def test_receiver_byte_by_byte_and_three_way_splits(codec_impl: ModuleType) -> None:
    stream, expected = message_stream(codec_impl, max_pdu=14)
    r = receiver(codec_impl)
    events = []
    for i in range(len(stream)):
        events += r.feed(stream[i : i + 1])
    assert events == expected
    rng = random.Random(7)
    for _ in range(200):
        a, b = sorted(rng.randrange(len(stream) + 1) for _ in range(2))
        r = receiver(codec_impl)
        assert r.feed(stream[:a]) + r.feed(stream[a:b]) + r.feed(stream[b:]) == expected


def test_receiver_progress_properties(codec_impl: ModuleType) -> None:
    r = receiver(codec_impl)
    half = len(v.PDATA_FIND_RQ_COMMAND) // 2
    assert r.feed(v.PDATA_PENDING_ONE_PDU[:half]) == []
    assert r.buffered == half and not r.in_message
    command_only = codec_impl.encode_pdata(1, True, v.C_FIND_RSP_PENDING, 16384)
    r = receiver(codec_impl)
    assert r.feed(command_only) == [] and r.in_message and r.buffered == 0


def test_receiver_control_bits_2_to_7_ignored(codec_impl: ModuleType) -> None:
    body = pdv(1, 0xFF, v.C_FIND_RSP_PENDING) + pdv(1, 0xFE, v.IDENTIFIER_MATCH)
    assert receiver(codec_impl).feed(pdu(4, body)) == [
        (codec_impl.EV_MESSAGE, 1, v.C_FIND_RSP_PENDING_FIELDS, v.IDENTIFIER_MATCH)
    ]


def test_receiver_empty_fragments(codec_impl: ModuleType) -> None:
    body = (
        pdv(1, 0x01, b"")
        + pdv(1, 0x03, v.C_FIND_RSP_PENDING)
        + pdv(1, 0x00, b"")
        + pdv(1, 0x00, v.IDENTIFIER_MATCH[:12])
        + pdv(1, 0x00, b"")
        + pdv(1, 0x02, v.IDENTIFIER_MATCH[12:])
        + pdv(1, 0x03, b"")  # an empty command set: no data set follows
    )
    assert receiver(codec_impl).feed(pdu(4, body)) == [
        (codec_impl.EV_MESSAGE, 1, v.C_FIND_RSP_PENDING_FIELDS, v.IDENTIFIER_MATCH),
        (codec_impl.EV_MESSAGE, 1, {}, None),
    ]
    assert receiver(codec_impl).feed(pdu(4, pdv(1, 3, v.C_FIND_RSP_PENDING) + pdv(1, 2, b""))) == [
        (codec_impl.EV_MESSAGE, 1, v.C_FIND_RSP_PENDING_FIELDS, b"")
    ]


def test_receiver_unlimited_max_pdu_and_other_contexts(codec_impl: ModuleType) -> None:
    big = codec_impl.encode_pdata(5, True, v.C_FIND_RSP_PENDING, 0) + codec_impl.encode_pdata(
        5, False, b"\x00" * 300000, 0
    )
    r = receiver(codec_impl, max_pdu=0, contexts=[1, 3, 5])
    assert r.feed(big) == [(codec_impl.EV_MESSAGE, 5, v.C_FIND_RSP_PENDING_FIELDS, b"\x00" * 300000)]


HOSTILE = [
    # (description, receiver kwargs, bytes, exception class, message, abort source, reason)
    ("unknown PDU type", {}, b"\x08\x00\x00\x00\x00\x00", ProtocolError,
     "Unrecognized PDU type: 0x08", 2, 1),
    ("PDU type 0", {}, b"\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00", ProtocolError,
     "Unrecognized PDU type: 0x00", 2, 1),
    ("P-DATA over our max, header only", {}, b"\x04\x00\xff\xff\xff\xf0", ProtocolError,
     "DUL Illegal PDU Length 4294967280. Max expected 16384", 2, 6),
    ("P-DATA one byte over", {}, b"\x04\x00\x00\x00\x40\x01", ProtocolError,
     "DUL Illegal PDU Length 16385. Max expected 16384", 2, 6),
    ("zero PDVs", {}, pdu(4, b""), ProtocolError, "P-DATA-TF PDU without any PDV item", 2, 6),
    ("PDV length 0", {}, pdu(4, b"\x00\x00\x00\x00\x01\x03"), ProtocolError,
     "PDV item length 0 invalid for the PDU", 2, 6),
    ("PDV length 1", {}, pdu(4, b"\x00\x00\x00\x01\x01\x03"), ProtocolError,
     "PDV item length 1 invalid for the PDU", 2, 6),
    ("PDV overrun by one", {}, pdu(4, b"\x00\x00\x00\x05\x01\x03\x00\x00"), ProtocolError,
     "PDV item length 5 invalid for the PDU", 2, 6),
    ("PDV length 2^32-1", {}, pdu(4, b"\xff\xff\xff\xff\x01\x03\x00\x00"), ProtocolError,
     "PDV item length 4294967295 invalid for the PDU", 2, 6),
    ("PDV length 2^32-4 (wraps to 0)", {}, pdu(4, b"\xff\xff\xff\xfc\x01\x03\x00\x00"),
     ProtocolError, "PDV item length 4294967292 invalid for the PDU", 2, 6),
    ("PDV lengths don't add up", {}, pdu(4, pdv(1, 3, v.C_CANCEL_RQ) + b"\x00\x00"), ProtocolError,
     "PDV item header truncated (PDV lengths don't add up)", 2, 6),
    ("odd fragment", {}, pdu(4, pdv(1, 3, b"\x00\x00\x00")), ProtocolError,
     "odd PDV fragment length 3", 2, 6),
    ("unaccepted context", {}, pdu(4, pdv(3, 3, v.C_CANCEL_RQ)), ProtocolError,
     "PDV on presentation context 3, which is not accepted", 2, 6),
    ("context 0", {}, pdu(4, pdv(0, 3, v.C_CANCEL_RQ)), ProtocolError,
     "PDV on presentation context 0, which is not accepted", 2, 6),
    ("context change inside a message", {"contexts": (1, 3)},
     pdu(4, pdv(1, 3, v.C_FIND_RSP_PENDING) + pdv(3, 2, v.IDENTIFIER_MATCH)), CodecError,
     "presentation context changed from 1 to 3 inside a message", 0, 0),
    ("data PDV before command", {}, pdu(4, pdv(1, 2, v.IDENTIFIER_MATCH)), CodecError,
     "Command PDV Expected: data set PDV before a complete command", 0, 0),
    ("data PDV after an unfinished command", {},
     pdu(4, pdv(1, 1, v.C_FIND_RSP_PENDING[:20]) + pdv(1, 2, v.IDENTIFIER_MATCH)), CodecError,
     "Command PDV Expected: data set PDV before a complete command", 0, 0),
    ("command PDV while data expected", {},
     pdu(4, pdv(1, 3, v.C_FIND_RSP_PENDING) + pdv(1, 3, v.C_FIND_RSP_PENDING)), CodecError,
     "command PDV received while the data set was expected", 0, 0),
    ("command cap", {"max_command": 64}, pdu(4, pdv(1, 1, b"\x00" * 40) + pdv(1, 1, b"\x00" * 26)),
     CodecError, "command set longer than 64 bytes", 0, 0),
    ("data set cap", {"max_dataset": 20},
     pdu(4, pdv(1, 3, v.C_FIND_RSP_PENDING) + pdv(1, 2, v.IDENTIFIER_MATCH)), CodecError,
     "data set longer than 20 bytes", 0, 0),
    ("bad command set", {}, pdu(4, pdv(1, 3, b"\x08\x00\x50\x00\x00\x00\x00\x00")), CodecError,
     "command set: element (0008,0050) outside group 0000", 0, 0),
    ("P-DATA before set_contexts", {"contexts": None}, v.PDATA_SUCCESS, ProtocolError,
     "P-DATA-TF PDU received before the association was accepted", 2, 2),
    ("P-DATA with no accepted context", {"contexts": ()}, v.PDATA_SUCCESS, ProtocolError,
     "P-DATA-TF PDU received before the association was accepted", 2, 2),
    ("A-RELEASE-RQ length 5", {}, b"\x05\x00\x00\x00\x00\x05", ProtocolError,
     "PDU type 0x05 has length 5, not 4", 2, 6),
    ("A-RELEASE-RP length 0", {}, b"\x06\x00\x00\x00\x00\x00", ProtocolError,
     "PDU type 0x06 has length 0, not 4", 2, 6),
    ("A-ABORT huge", {}, b"\x07\x00\xff\xff\xff\xff", ProtocolError,
     "PDU type 0x07 has length 4294967295, not 4", 2, 6),
    ("A-ASSOCIATE-AC over 1 MiB", {}, b"\x02\x00\x00\x10\x00\x01", ProtocolError,
     "A-ASSOCIATE PDU too large (1048577 bytes)", 2, 6),
]


@pytest.mark.parametrize(
    ("kwargs", "data", "exc", "message", "source", "reason"),
    [h[1:] for h in HOSTILE],
    ids=[h[0] for h in HOSTILE],
)
def test_receiver_hostile(
    codec_impl: ModuleType, kwargs: dict, data: bytes, exc: type, message: str, source: int, reason: int
) -> None:
    kwargs = dict(kwargs)
    contexts = kwargs.pop("contexts", (1,))
    # a complete message first: the error is found after good PDUs in the same read, too
    for prefix in (b"", v.PDATA_PENDING_ONE_PDU):
        if prefix and (not contexts or "max_dataset" in kwargs):
            continue  # the prefix itself would be refused
        r = receiver(codec_impl, contexts=contexts, **kwargs)
        with raises(exc, message) as info:
            r.feed(prefix + data)
        assert type(info.value) is exc
        assert (info.value.abort_source, info.value.abort_reason) == (source, reason)


def test_receiver_associate_limit_exact(codec_impl: ModuleType) -> None:
    r = receiver(codec_impl)
    assert r.feed(b"\x02\x00\x00\x10\x00\x00" + b"\x00" * 1000) == []
    assert r.buffered == 1006


def test_receiver_state_after_errors_matches_python(codec_impl: ModuleType) -> None:
    """What stays buffered after an error is the same for both (a header error keeps the PDU)."""
    bad_header = v.PDATA_SUCCESS + b"\x09\x00\x00\x00\x00\x00" + v.PDATA_SUCCESS
    r = receiver(codec_impl)
    with pytest.raises(ProtocolError):
        r.feed(bad_header)
    assert r.buffered == 6 + len(v.PDATA_SUCCESS)
    bad_body = pdu(4, b"\x00\x00\x00\x01\x01\x03") + v.PDATA_SUCCESS
    r = receiver(codec_impl)
    with pytest.raises(ProtocolError):
        r.feed(bad_body)
    assert r.buffered == len(v.PDATA_SUCCESS)
    assert r.feed(b"") == [(codec_impl.EV_MESSAGE, 1, v.C_FIND_RSP_SUCCESS_FIELDS, None)]


# ---- data sets: walk_dataset vs pydicom (PS3.5 §7) ------------------------------------------------
TS_ALL = [codec.IMPLICIT_LE, codec.EXPLICIT_LE, codec.EXPLICIT_BE, codec.DEFLATED_LE]


def make_dataset(seed: int, depth: int = 0) -> Dataset:
    """A worklist-like data set with sequences of both length forms, nested and empty."""
    rng = random.Random(seed)
    ds = Dataset()
    if depth == 0 and rng.random() < 0.5:
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName = "Müller^Jürgen=ミュラー"
    else:
        ds.PatientName = rng.choice(["DOE^JOHN", "", "X^Y^Z"])
    ds.AccessionNumber = f"A{rng.randrange(10**6)}"
    ds.PatientID = rng.choice(["", "PID1", "12345678901"])
    ds.StudyDate = "20240102"
    ds.Rows = rng.randrange(65536)
    if rng.random() < 0.5:
        ds.OtherPatientIDs = ["A", "BB"]
        ds.add_new(0x00291010, "OB", bytes(rng.randrange(256) for _ in range(rng.choice((0, 2, 6)))))
        ds.add_new(0x00091001, "UN", b"\x01\x02\x03\x04")
        ds.ImageComments = "x" * rng.randrange(40)
    if depth < 3:
        for keyword in ("ScheduledProcedureStepSequence", "ReferencedStudySequence"):
            if rng.random() < 0.7:
                items = [make_dataset(rng.randrange(1 << 30), depth + 1) for _ in range(rng.randrange(3))]
                setattr(ds, keyword, Sequence(items))
                ds[keyword].is_undefined_length = rng.random() < 0.5
                for item in items:
                    item.is_undefined_length_sequence_item = rng.random() < 0.5
    return ds


def encode(ds: Dataset, implicit: bool, little: bool) -> bytes:
    fp = DicomBytesIO()
    fp.is_implicit_VR = implicit
    fp.is_little_endian = little
    write_dataset(fp, ds)
    return fp.getvalue()


def encode_ts(ds: Dataset, ts: codec.TransferSyntax) -> bytes:
    data = encode(ds, ts.implicit, ts.little)
    return _codec_py.deflate(data) if ts.deflated else data


def tree_from_tokens(impl: ModuleType, plain: bytes, toks: list) -> list:
    root: list = []
    stack = [root]
    seq_depth = 0
    for kind, depth, tag, vr, length, start, end in toks:
        if kind == impl.ELEMENT:
            assert depth == seq_depth and end - start == length
            stack[-1].append((tag, vr, plain[start:end]))
        elif kind == impl.SEQUENCE:
            assert depth == seq_depth
            items: list = []
            stack[-1].append((tag, vr, items))
            stack.append(items)
            seq_depth += 1
        elif kind == impl.ITEM:
            assert depth == seq_depth and tag == 0xFFFEE000
            elems: list = []
            stack[-1].append(elems)
            stack.append(elems)
        else:
            if kind in (impl.SEQUENCE_END, impl.SEQUENCE_DELIM):
                seq_depth -= 1
            assert depth == seq_depth
            stack.pop()
    assert stack == [root] and seq_depth == 0
    return root


def tree_from_pydicom(ds: Dataset, implicit: bool) -> list:
    out: list = []
    for tag in ds.keys():
        elem = ds.get_item(tag)
        if isinstance(elem, RawDataElement) and (
            elem.VR == "SQ" or elem.VR is None and (tag in codec.SQ_TAGS or elem.length == 2**32 - 1)
        ):
            elem = ds[tag]  # a nested sequence: let pydicom read it
        if isinstance(elem, RawDataElement):
            out.append((int(tag), elem.VR, elem.value or b""))
        elif elem.VR != "SQ":  # pydicom yields empty values already converted
            assert elem.is_empty
            out.append((int(tag), None if implicit else elem.VR, b""))
        else:
            items = [tree_from_pydicom(item, implicit) for item in elem.value]
            out.append((int(tag), None if implicit else "SQ", items))
    return out


@pytest.mark.parametrize("ts", TS_ALL, ids=lambda t: t.uid)
def test_walk_matches_pydicom(codec_impl: ModuleType, ts: codec.TransferSyntax) -> None:
    kinds: set[int] = set()
    for seed in range(40):
        data = encode_ts(make_dataset(seed), ts)
        plain = codec_impl.inflate(data, 1 << 24) if ts.deflated else data
        toks = codec_impl.walk_dataset(plain, ts.implicit, ts.little, codec.SQ_TAGS)
        kinds.update(t[0] for t in toks)
        expected = read_dataset(BytesIO(plain), ts.implicit, ts.little)
        assert tree_from_tokens(codec_impl, plain, toks) == tree_from_pydicom(expected, ts.implicit)
    assert kinds == set(range(7))  # every token kind was produced


def test_walk_token_layout(codec_impl: ModuleType) -> None:
    ds = Dataset()
    ds.PatientName = "AB"
    item = Dataset()
    item.Modality = "MR"
    ds.ScheduledProcedureStepSequence = Sequence([item, Dataset()])
    ds["ScheduledProcedureStepSequence"].is_undefined_length = True
    item.is_undefined_length_sequence_item = True
    data = encode(ds, False, True)
    u = 0xFFFFFFFF
    assert codec_impl.walk_dataset(data, False, True, codec.SQ_TAGS) == [
        (0, 0, 0x00100010, "PN", 2, 8, 10),
        (1, 0, 0x00400100, "SQ", u, 22, 64),  # content: items and the delimiter
        (2, 1, 0xFFFEE000, None, u, 30, 48),  # undefined-length item
        (0, 1, 0x00080060, "CS", 2, 38, 40),
        (4, 1, 0xFFFEE00D, None, 0, 48, 48),
        (2, 1, 0xFFFEE000, None, 0, 56, 56),  # empty item of length 0
        (3, 1, 0xFFFEE000, None, 0, 56, 56),
        (6, 0, 0xFFFEE0DD, None, 0, 64, 64),
    ]
    assert codec_impl.walk_dataset(b"", True, True, codec.SQ_TAGS) == []


def explicit(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    n = len(value) if length is None else length
    head = tag.to_bytes(4, "big")
    head = head[1::-1] + head[3:1:-1]
    if vr in (b"OB", b"SQ", b"UN", b"UT"):
        return head + vr + b"\x00\x00" + n.to_bytes(4, "little") + value
    return head + vr + n.to_bytes(2, "little") + value


def implicit(tag: int, value: bytes, length: int | None = None) -> bytes:
    head = tag.to_bytes(4, "big")
    n = len(value) if length is None else length
    return head[1::-1] + head[3:1:-1] + n.to_bytes(4, "little") + value


ITEM = implicit(0xFFFEE000, b"", 0xFFFFFFFF)
ITEM_DELIM = implicit(0xFFFEE00D, b"")
SEQ_DELIM = implicit(0xFFFEE0DD, b"")
PN = explicit(0x00100010, b"PN", b"AB")
PN_I = implicit(0x00100010, b"AB")

STRUCTURAL = [
    ("truncated header", False, PN + b"\x10\x00", "data set truncated at offset 10 (element header)"),
    ("truncated long header", False, PN + explicit(0x00291010, b"OB", b"")[:10],
     "data set truncated at offset 10 (element header)"),
    ("value beyond data", False, explicit(0x00100010, b"PN", b"AB", 4),
     "element (0010,0010) length 4 exceeds the remaining 2 bytes"),
    ("huge length", True, implicit(0x00100010, b"AB", 0x7FFFFFF0),
     "element (0010,0010) length 2147483632 exceeds the remaining 2 bytes"),
    ("element beyond its item", False,
     explicit(0x00400100, b"SQ", implicit(0xFFFEE000, PN[:8], 8) + b"AB"),
     "element (0010,0010) length 2 exceeds the remaining 0 bytes"),
    ("item beyond its sequence", False, explicit(0x00400100, b"SQ", implicit(0xFFFEE000, b"", 10)),
     "item length 10 at offset 12 exceeds its container"),
    ("sequence beyond data", False, explicit(0x00400100, b"SQ", b"", 8),
     "sequence (0040,0100) length 8 exceeds its container"),
    ("invalid VR", False, PN + b"\x10\x00\x20\x00\x00\x00\x00\x00",
     "invalid VR b'\\x00\\x00' for (0010,0020) at offset 10"),
    ("lower-case VR", False, b"\x10\x00\x20\x00lo\x00\x00", "invalid VR b'lo' for (0010,0020) at offset 0"),
    ("undefined length non-SQ", False, explicit(0x00291010, b"OB", b"", 0xFFFFFFFF),
     "undefined length on non-sequence element (0029,1010)"),
    ("undefined length UN without its items", False, explicit(0x00291010, b"UN", b"", 0xFFFFFFFF),
     "data set truncated at offset 12 (element header)"),
    ("stray item delimiter", True, ITEM_DELIM, "unexpected delimiter (fffe,e00d) at offset 0"),
    ("stray sequence delimiter", True, SEQ_DELIM, "unexpected delimiter (fffe,e0dd) at offset 0"),
    ("stray item", False, PN + ITEM, "unexpected delimiter (fffe,e000) at offset 10"),
    ("non-item in sequence", True, implicit(0x00400100, PN, 0xFFFFFFFF),
     "expected an item tag in sequence at offset 8, found (0010,0010)"),
    ("sequence delimiter in defined-length sequence", True, implicit(0x00400100, SEQ_DELIM),
     "expected an item tag in sequence at offset 8, found (fffe,e0dd)"),
    ("item delimiter in defined-length item", True,
     implicit(0x00400100, implicit(0xFFFEE000, ITEM_DELIM)),
     "unexpected delimiter (fffe,e00d) at offset 16"),
    ("missing item delimiter", True, implicit(0x00400100, b"", 0xFFFFFFFF) + ITEM + PN_I,
     "data set truncated at offset 26 (element header)"),
    ("missing sequence delimiter", True, implicit(0x00400100, b"", 0xFFFFFFFF) + ITEM + ITEM_DELIM,
     "data set truncated at offset 24 (element header)"),
    ("undefined item cut by its sequence", True, implicit(0x00400100, ITEM),
     "data set truncated at offset 16 (element header)"),
    ("too deep", True, (implicit(0x00400100, b"", 0xFFFFFFFF) + ITEM) * 3,
     "sequence nesting deeper than 2 levels"),
]


@pytest.mark.parametrize(
    ("implicit_vr", "data", "message"), [s[1:] for s in STRUCTURAL], ids=[s[0] for s in STRUCTURAL]
)
def test_walk_structural_errors(codec_impl: ModuleType, implicit_vr: bool, data: bytes, message: str) -> None:
    with raises(CodecError, message):
        codec_impl.walk_dataset(data, implicit_vr, True, codec.SQ_TAGS, 2)


def test_walk_implicit_sequence_by_dictionary(codec_impl: ModuleType) -> None:
    data = implicit(0x00400100, implicit(0xFFFEE000, b""))  # defined length: SQ known from the dict
    toks = codec_impl.walk_dataset(data, True, True, codec.SQ_TAGS)
    assert [t[0] for t in toks] == [1, 2, 3, 5]
    with raises(CodecError, "expected an item tag in sequence at offset 8, found (0040,0100)"):
        codec_impl.walk_dataset(implicit(0x00400100, data), True, True, codec.SQ_TAGS)
    # not in sq_tags: the same bytes are an ordinary element
    assert codec_impl.walk_dataset(data, True, True, frozenset())[0][0] == 0


@pytest.mark.parametrize("implicit_vr", [True, False])
def test_walk_deep_nesting_is_refused_quickly(codec_impl: ModuleType, implicit_vr: bool) -> None:
    level = (
        implicit(0x00400100, b"", 0xFFFFFFFF)
        if implicit_vr
        else explicit(0x00400100, b"SQ", b"", 0xFFFFFFFF)
    ) + ITEM
    data = level * 100000
    start = time.perf_counter()
    with raises(CodecError, "sequence nesting deeper than 64 levels"):
        codec_impl.walk_dataset(data, implicit_vr, True, codec.SQ_TAGS)
    # without a practical cap the walk still ends in an error, not a crash (the Python twin is
    # quadratic in the depth, so it gets fewer levels)
    levels = 100000 if codec_impl is not _codec_py else 1000
    with raises(CodecError, f"data set truncated at offset {len(level) * levels} (element header)"):
        codec_impl.walk_dataset(level * levels, implicit_vr, True, codec.SQ_TAGS, 10**9)
    assert time.perf_counter() - start < 30  # generous; the point is no recursion and no crash


# ---- inflate (PS3.5 A.5) ----------------------------------------------------------------------
def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def test_deflate_round_trip(codec_impl: ModuleType) -> None:
    for size in (0, 1, 100, 70000, 300000):
        data = random.Random(size).randbytes(size)
        z = codec_impl.deflate(data)
        assert len(z) % 2 == 0 and z == _codec_py.deflate(data)
        assert codec_impl.inflate(z, size) == data
        assert codec_impl.inflate(raw_deflate(data), size) == data
    assert codec_impl.deflate(b"abc", 1) == _codec_py.deflate(b"abc", 1)


def test_inflate_bomb_is_capped(codec_impl: ModuleType) -> None:
    bomb = raw_deflate(b"\x00" * (64 << 20))  # ~64 KiB on the wire
    assert len(bomb) < 100000
    with raises(CodecError, "deflated data set inflates beyond 1048576 bytes"):
        codec_impl.inflate(bomb, 1 << 20)
    data = b"\x00" * 5000
    assert codec_impl.inflate(raw_deflate(data), 5000) == data
    with raises(CodecError, "deflated data set inflates beyond 4999 bytes"):
        codec_impl.inflate(raw_deflate(data), 4999)
    with raises(CodecError, "deflated data set inflates beyond 0 bytes"):
        codec_impl.inflate(raw_deflate(b"x"), 0)
    assert codec_impl.inflate(raw_deflate(b""), 0) == b""


def test_inflate_stream_ends(codec_impl: ModuleType) -> None:
    z = raw_deflate(b"hello world" * 50)
    assert codec_impl.inflate(z + b"\x00", 1000) == b"hello world" * 50  # one pad byte
    with raises(CodecError, "deflated data set is truncated"):
        codec_impl.inflate(z[:-3], 1000)
    with raises(CodecError, "deflated data set is truncated"):
        codec_impl.inflate(b"", 1000)
    with raises(CodecError, "2 bytes of junk after the deflated data set"):
        codec_impl.inflate(z + b"\x00\x00", 1000)
    with raises(CodecError, "1 bytes of junk after the deflated data set"):
        codec_impl.inflate(z + b"\x01", 1000)
    with raises(CodecError, "5 bytes of junk after the deflated data set"):
        codec_impl.inflate(z + b"junk!", 1000)


def test_inflate_corrupt_and_zlib_wrapped(codec_impl: ModuleType) -> None:
    with raises(CodecError, "deflated data set is corrupt: Error -3 while decompressing data: "
                "invalid block type"):
        codec_impl.inflate(b"\xff\xff\xff\xff", 1000)
    wrapped = zlib.compress(b"hello")  # RFC 1950 header: not raw deflate
    with pytest.raises(CodecError) as info:
        codec_impl.inflate(wrapped, 1000)
    with pytest.raises(CodecError) as py_info:
        _codec_py.inflate(wrapped, 1000)
    assert str(info.value) == str(py_info.value)


# ---- identifiers through fastfind.codec vs pydicom ------------------------------------------------
@pytest.mark.parametrize("ts", TS_ALL, ids=lambda t: t.uid)
@pytest.mark.parametrize(
    "charset",
    [
        None,
        "ISO_IR 192",
        "ISO_IR 100",
    ],
)
def test_decode_identifier_matches_pydicom(ts: codec.TransferSyntax, charset: str | None) -> None:
    for seed in range(25):
        ds = make_dataset(seed)
        if charset is None and "SpecificCharacterSet" in ds:
            del ds.SpecificCharacterSet
            ds.PatientName = "DOE^JANE"
        elif charset is not None and "SpecificCharacterSet" not in ds:
            continue
        data = encode_ts(ds, ts)
        plain = zlib.decompress(data, -15) if ts.deflated else data
        expected = read_dataset(BytesIO(plain), ts.implicit, ts.little)
        got = codec.decode_identifier(data, ts)
        assert got == expected
        assert [int(t) for t in got.keys()] == [int(t) for t in expected.keys()]
        if "PatientName" in expected:
            assert str(got.PatientName) == str(expected.PatientName)
