"""Property tests: the Cython codec and its Python twin agree on every input.

Identical results, or identical exception class, message and abort fields, for random and mutated
inputs to every entry point; plus round trips through encoder and decoder.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_codec import encode, make_dataset

from fastfind import _codec_py as py
from fastfind import codec

import vectors as v

SETTINGS = settings(  # FASTFIND_PARITY_EXAMPLES=20000 for a longer local soak
    max_examples=int(os.environ.get("FASTFIND_PARITY_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def cy() -> ModuleType:
    if os.environ.get("FASTFIND_NO_EXTENSIONS"):
        pytest.skip("FASTFIND_NO_EXTENSIONS=1: parity is checked by the run with the extension")
    try:
        return importlib.import_module("fastfind._codec")
    except ImportError as exc:
        if os.environ.get("FASTFIND_REQUIRE_EXTENSIONS"):
            pytest.fail(f"FASTFIND_REQUIRE_EXTENSIONS=1 but fastfind._codec does not import: {exc}")
        pytest.skip(f"fastfind._codec is not built: {exc}")


def outcome(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # the class is part of what is compared
        return ("error", type(exc), str(exc), getattr(exc, "abort_source", None),
                getattr(exc, "abort_reason", None))


def same(fn_name: str, cy: ModuleType, *args, misuse: bool = False):  # type: ignore[no-untyped-def]
    a = outcome(getattr(py, fn_name), *args)
    b = outcome(getattr(cy, fn_name), *args)
    assert a == b
    if a[0] == "error" and not misuse:
        assert a[1].__module__ == "fastfind.errors", a  # only documented errors escape
    return a


@st.composite
def mutated(draw, base: bytes) -> bytes:  # type: ignore[no-untyped-def]
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0x00, 0xFF, 0xFE, 0x01, 0x04, 0x80]))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 16))]
        else:
            data[i:i] = draw(st.binary(max_size=8))
    return bytes(data)


# ---- decode_command -----------------------------------------------------------------------------
COMMANDS = [v.C_FIND_RQ_MWL, v.C_CANCEL_RQ, v.C_FIND_RSP_PENDING, v.C_FIND_RSP_FAILURE]


@SETTINGS
@given(data=st.one_of(st.binary(max_size=64), st.sampled_from(COMMANDS).flatmap(mutated)))
def test_decode_command_parity(cy: ModuleType, data: bytes) -> None:
    same("decode_command", cy, data)


COMMAND_VALUE = {
    "US": st.integers(0, 0xFFFF),
    "UL": st.integers(0, 0xFFFFFFFF),
    "AT": st.lists(st.integers(0, 0xFFFFFFFF), max_size=3).map(tuple),
    "UI": st.from_regex(r"[0-9.]{0,64}", fullmatch=True),
    "AE": st.from_regex(r"[A-Z0-9_]{1,16}", fullmatch=True),
    "LO": st.from_regex(r"[ -~]{0,64}", fullmatch=True).map(str.strip),
}


@SETTINGS
@given(
    elements=st.dictionaries(
        st.sampled_from(sorted(e for e in py.COMMAND_VRS if e)),
        st.none(),
        max_size=10,
    ).flatmap(
        lambda d: st.fixed_dictionaries({e: COMMAND_VALUE[py.COMMAND_VRS[e]] for e in d})
    )
)
def test_command_round_trip(cy: ModuleType, elements: dict) -> None:
    raw = cy.encode_command(list(elements.items()))
    assert raw == py.encode_command(list(elements.items()))
    decoded = cy.decode_command(raw)
    assert decoded.pop(0) == len(raw) - 12
    assert decoded == {e: val.rstrip("\x00 ") if isinstance(val, str) else val
                       for e, val in elements.items()}


# ---- walk_dataset -------------------------------------------------------------------------------
ENCODED = [
    (encode(make_dataset(seed), implicit, little), implicit, little)
    for seed in range(6)
    for implicit, little in ((True, True), (False, True), (False, False))
]


@SETTINGS
@given(
    case=st.one_of(
        st.tuples(st.binary(max_size=80), st.booleans(), st.booleans()),
        st.sampled_from(ENCODED).flatmap(
            lambda c: st.tuples(mutated(c[0]), st.just(c[1]), st.just(c[2]))
        ),
    ),
    max_depth=st.sampled_from([0, 1, 2, 64]),
)
def test_walk_dataset_parity(cy: ModuleType, case: tuple, max_depth: int) -> None:
    data, implicit, little = case
    same("walk_dataset", cy, data, implicit, little, codec.SQ_TAGS, max_depth)


# ---- inflate ------------------------------------------------------------------------------------
@SETTINGS
@given(
    data=st.one_of(
        st.binary(max_size=64),
        st.binary(max_size=300).map(py.deflate).flatmap(mutated),
        st.binary(max_size=300).map(py.deflate),
    ),
    max_size=st.sampled_from([-2, -1, 0, 1, 50, 299, 300, 10000]),
)
def test_inflate_parity(cy: ModuleType, data: bytes, max_size: int) -> None:
    same("inflate", cy, data, max_size, misuse=max_size < -1)  # ValueError, as zlib's own


# ---- Receiver -----------------------------------------------------------------------------------
def stream_for(impl: ModuleType, max_pdu: int) -> bytes:
    return (
        impl.encode_pdata(1, True, v.C_FIND_RSP_PENDING, max_pdu)
        + impl.encode_pdata(1, False, v.IDENTIFIER_MATCH * 3, max_pdu)
        + v.PDATA_PENDING_ONE_PDU
        + v.PDATA_SUCCESS
        + v.A_RELEASE_RP
    )


STREAMS = [stream_for(py, m) for m in (14, 40, 16384)]


def run_receiver(impl: ModuleType, kwargs: dict, contexts, chunks: list[bytes]) -> list:  # type: ignore[no-untyped-def]
    r = impl.Receiver(**kwargs)
    if contexts is not None:
        r.set_contexts(contexts)
    trace = []
    for chunk in chunks:  # keep feeding after errors: the state left behind must match too
        trace.append((outcome(r.feed, chunk), r.buffered, r.in_message))
    return trace


@st.composite
def splits(draw, data: bytes) -> list[bytes]:  # type: ignore[no-untyped-def]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@SETTINGS
@given(
    chunks=st.one_of(
        st.lists(st.binary(max_size=40), max_size=5),
        st.sampled_from(STREAMS).flatmap(mutated).flatmap(splits),
        st.sampled_from(STREAMS).flatmap(splits),
    ),
    kwargs=st.fixed_dictionaries(
        {
            "max_pdu": st.sampled_from([0, 14, 40, 100, 16384]),
            "max_command": st.sampled_from([0, 50, 82, 65536]),
            "max_dataset": st.sampled_from([0, 26, 100, 1 << 20]),
        }
    ),
    contexts=st.sampled_from([None, (), (1,), (1, 3), (3,)]),
)
def test_receiver_parity(cy: ModuleType, chunks: list[bytes], kwargs: dict, contexts) -> None:  # type: ignore[no-untyped-def]
    a = run_receiver(py, kwargs, contexts, chunks)
    b = run_receiver(cy, kwargs, contexts, chunks)
    assert a == b
    for (result, _, _) in a:
        if result[0] == "error":
            assert result[1].__module__ == "fastfind.errors", result


@SETTINGS
@given(
    parts=st.lists(
        st.tuples(st.booleans(), st.binary(max_size=300).map(lambda b: b[: len(b) & ~1])),
        min_size=1,
        max_size=4,
    ),
    max_pdu=st.sampled_from([14, 15, 64, 301, 16384, 0]),
    context=st.sampled_from([1, 3, 255]),
    data=st.data(),
)
def test_pdata_round_trip(cy: ModuleType, parts: list, max_pdu: int, context: int, data) -> None:  # type: ignore[no-untyped-def]
    """Messages fragmented by encode_pdata come back whole from either Receiver."""
    stream = b""
    expected = []
    for with_data, identifier in parts:
        command = py.encode_command(
            [(0x0100, 0x8020), (0x0800, 0x0001 if with_data else 0x0101), (0x0900, 0xFF00)]
        )
        stream += cy.encode_pdata(context, True, command, max_pdu)
        if with_data:
            stream += cy.encode_pdata(context, False, identifier, max_pdu)
        expected.append(
            (py.EV_MESSAGE, context, py.decode_command(command), identifier if with_data else None)
        )
    assume(len(stream) < 20000)
    assert stream == b"".join(
        py.encode_pdata(context, True, py.encode_command(
            [(0x0100, 0x8020), (0x0800, 0x0001 if w else 0x0101), (0x0900, 0xFF00)]), max_pdu)
        + (py.encode_pdata(context, False, i, max_pdu) if w else b"")
        for w, i in parts
    )
    chunks = data.draw(splits(stream))
    for impl in (py, cy):
        r = impl.Receiver(max_pdu)
        r.set_contexts([context])
        events = [e for chunk in chunks for e in r.feed(chunk)]
        assert events == expected
        assert r.buffered == 0 and not r.in_message
