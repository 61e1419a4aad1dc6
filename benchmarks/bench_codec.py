"""Codec micro benchmarks (pytest-benchmark): Python twin vs Cython vs pydicom/pynetdicom.

    PYTHONPATH=. .venv/bin/python -m pytest -q benchmarks/bench_codec.py --benchmark-only

Inputs are built once (lists and bytes, never generators) outside the timed functions.
Groups: ``feed`` (1000 responses through Receiver.feed vs pynetdicom ``DIMSEMessage.decode_msg``
on the same PDVs), ``identifier-<ts>`` (100 identifiers: walk_dataset, codec.decode_identifier,
pydicom ``read_dataset``), ``inflate`` (100 deflated identifiers), ``xml-*`` (100 study-level
identifiers rendered as -Xx documents / -Xs data sets from their walk).
"""

from __future__ import annotations

import importlib
import sys
import zlib
from functools import cache
from io import BytesIO
from pathlib import Path
from types import ModuleType

import pytest
from pydicom.filereader import read_dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402

from fastfind import _codec_py, codec  # noqa: E402

N_RESPONSES = 1000
N_IDENTIFIERS = 100
TS_ALL = [codec.IMPLICIT_LE, codec.EXPLICIT_LE, codec.EXPLICIT_BE, codec.DEFLATED_LE]


def _impl(name: str) -> ModuleType:
    if name == "python":
        return _codec_py
    try:
        return importlib.import_module("fastfind._codec")
    except ImportError as exc:
        pytest.skip(f"fastfind._codec is not built: {exc}")


@pytest.fixture(params=["python", "cython"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return _impl(request.param)


@cache
def stream_chunks(ts_uid: str) -> list[bytes]:
    return _data.chunks(_data.response_stream(N_RESPONSES, ts_uid, "worklist"), 65536)


@cache
def primitives(ts_uid: str) -> list:  # type: ignore[type-arg]
    return _data.pdata_primitives(_data.response_stream(N_RESPONSES, ts_uid, "worklist"))


@cache
def idents(ts_uid: str) -> list[bytes]:
    return _data.identifiers(N_IDENTIFIERS, ts_uid, "worklist")


# ---- PDU framing + PDV reassembly + command decoding ----------------------------------------
@pytest.mark.benchmark(group="feed")
def test_receiver_feed(benchmark, impl: ModuleType) -> None:  # type: ignore[no-untyped-def]
    chunks = stream_chunks(codec.IMPLICIT_LE.uid)

    def run() -> int:
        r = impl.Receiver(16384)
        r.set_contexts([1])
        n = 0
        for chunk in chunks:
            n += len(r.feed(chunk))
        return n

    assert benchmark(run) == N_RESPONSES + 1


@pytest.mark.benchmark(group="feed")
def test_pynetdicom_decode_msg(benchmark) -> None:  # type: ignore[no-untyped-def]
    from pynetdicom.dimse_messages import DIMSEMessage

    prims = primitives(codec.IMPLICIT_LE.uid)

    def run() -> int:
        n = 0
        msg = DIMSEMessage()
        for primitive in prims:
            if msg.decode_msg(primitive):
                n += 1
                msg = DIMSEMessage()
        return n

    assert benchmark(run) == N_RESPONSES + 1


# ---- identifiers -------------------------------------------------------------------------------
@pytest.mark.parametrize("ts", TS_ALL, ids=lambda t: t.uid)
def test_walk_dataset(benchmark, impl: ModuleType, ts: codec.TransferSyntax) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"identifier-{ts.uid}"
    data = [zlib.decompress(d, -15) if ts.deflated else d for d in idents(ts.uid)]
    walk, sq = impl.walk_dataset, codec.SQ_TAGS

    def run() -> int:
        return sum(len(walk(d, ts.implicit, ts.little, sq)) for d in data)

    assert benchmark(run) > N_IDENTIFIERS


@pytest.mark.parametrize("ts", TS_ALL, ids=lambda t: t.uid)
def test_decode_identifier(benchmark, monkeypatch, impl: ModuleType, ts: codec.TransferSyntax) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"identifier-{ts.uid}"
    monkeypatch.setattr(codec, "walk_dataset", impl.walk_dataset)
    monkeypatch.setattr(codec, "inflate", impl.inflate)
    data = idents(ts.uid)
    decode = codec.decode_identifier

    def run() -> int:
        return sum(len(decode(d, ts)) for d in data)

    assert benchmark(run) > N_IDENTIFIERS


@pytest.mark.parametrize("ts", TS_ALL, ids=lambda t: t.uid)
def test_pydicom_read_dataset(benchmark, ts: codec.TransferSyntax) -> None:  # type: ignore[no-untyped-def]
    """The baseline, as pynetdicom's dsutils.decode does it (inflate, then read_dataset)."""
    benchmark.group = f"identifier-{ts.uid}"
    data = idents(ts.uid)

    def run() -> int:
        total = 0
        for d in data:
            plain = zlib.decompress(d, -15) if ts.deflated else d
            total += len(read_dataset(BytesIO(plain), ts.implicit, ts.little))
        return total

    assert benchmark(run) > N_IDENTIFIERS


# ---- inflate -----------------------------------------------------------------------------------
@pytest.mark.benchmark(group="inflate")
def test_inflate(benchmark, impl: ModuleType) -> None:  # type: ignore[no-untyped-def]
    data = idents(codec.DEFLATED_LE.uid)
    inflate = impl.inflate

    def run() -> int:
        return sum(len(inflate(d, 1 << 26)) for d in data)

    assert benchmark(run) > 0


@pytest.mark.benchmark(group="inflate")
def test_zlib_decompress_uncapped(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Baseline: one-shot zlib.decompress with no cap and no checks (what pydicom does)."""
    data = idents(codec.DEFLATED_LE.uid)

    def run() -> int:
        return sum(len(zlib.decompress(d, -15)) for d in data)

    assert benchmark(run) > 0


# ---- DICOM JSON, CSV cells, Arrow columns (100 study-level identifiers) --------------------------
STUDY_FIELDS = ["StudyDate", "AccessionNumber", "QueryRetrieveLevel", "ModalitiesInStudy",
                "StudyDescription", "PatientName", "PatientID", "StudyInstanceUID"]


@cache
def study_walks(ts_uid: str) -> list:  # type: ignore[type-arg]
    ts = codec.TRANSFER_SYNTAXES[ts_uid]
    return [(ts, *codec.walk_identifier(d, ts)) for d in _data.identifiers(N_IDENTIFIERS, ts, "study")]


def _impl_walks(impl: ModuleType, ts_uid: str) -> list:  # type: ignore[type-arg]
    """The walks as ``impl``'s own Tokens (each codec reads only its own)."""
    return [(ts, plain, impl.walk(plain, ts.implicit, ts.little, codec.SQ_TAGS))
            for ts, plain, _t in study_walks(ts_uid)]


@pytest.mark.benchmark(group="json")
def test_encode_json(benchmark, impl: ModuleType) -> None:  # type: ignore[no-untyped-def]
    walks = _impl_walks(impl, codec.EXPLICIT_LE.uid)
    encode = impl.encode_json

    def run() -> int:
        return sum(len(encode(plain, toks, ts)) for ts, plain, toks in walks)

    assert benchmark(run) > 0


@pytest.mark.benchmark(group="json")
def test_pydicom_to_json_dict_dumps(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Baseline: what --extract-ndjson did before (pydicom Dataset -> to_json_dict -> json.dumps)."""
    import json

    from fastfind.dataset import dataset_from_walk

    walks = study_walks(codec.EXPLICIT_LE.uid)

    def run() -> int:
        total = 0
        for ts, plain, toks in walks:
            d = dataset_from_walk(plain, toks, ts).to_json_dict()
            total += len(json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode())
        return total

    assert benchmark(run) > 0


@pytest.mark.benchmark(group="cells")
def test_csv_row(benchmark, impl: ModuleType) -> None:  # type: ignore[no-untyped-def]
    from fastfind.output.csv_table import parse_field

    walks = _impl_walks(impl, codec.EXPLICIT_LE.uid)
    table = impl.CellFields([parse_field(f) for f in STUDY_FIELDS])

    def run() -> int:
        return sum(len(table.csv_row(plain, toks, ts)) for ts, plain, toks in walks)

    assert benchmark(run) > 0


@pytest.mark.benchmark(group="cells")
def test_arrow_columns(benchmark, impl: ModuleType) -> None:  # type: ignore[no-untyped-def]
    from fastfind.output.csv_table import parse_field

    walks = _impl_walks(impl, codec.EXPLICIT_LE.uid)
    table = impl.CellFields([parse_field(f) for f in STUDY_FIELDS])

    def run() -> int:
        cols = impl.ArrowColumns(table)
        for ts, plain, toks in walks:
            cols.add(plain, toks, ts)
        return cols.take()[0]

    assert benchmark(run) == N_IDENTIFIERS


@pytest.mark.benchmark(group="cells")
def test_pydicom_cells_csv_row(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Baseline: what --extract-csv did before (pydicom Dataset, csv_table.cell, csv_row)."""
    from fastfind.dataset import dataset_from_walk
    from fastfind.output.csv_table import cell, csv_row, parse_field

    walks = study_walks(codec.EXPLICIT_LE.uid)
    steps = [parse_field(f) for f in STUDY_FIELDS]

    def run() -> int:
        total = 0
        for ts, plain, toks in walks:
            ds = dataset_from_walk(plain, toks, ts)
            total += len(csv_row([cell(ds, s) for s in steps]))
        return total

    assert benchmark(run) > 0


# ---- DCMTK XML (-Xx / -Xs) -------------------------------------------------------------------------
@cache
def xml_study_walks(impl_name: str) -> list:  # type: ignore[type-arg]
    """100 study-level identifiers (explicit VR LE, ISO_IR 100) walked by ``impl_name``."""
    mod = _impl(impl_name)
    data = _data.identifiers(N_IDENTIFIERS, codec.EXPLICIT_LE.uid, "study")
    return [(d, mod.walk(d, False, True, codec.SQ_TAGS)) for d in data]


@pytest.mark.parametrize("fn", ["xml_document", "xml_dataset_utf8"])
def test_xml_render(benchmark, impl: ModuleType, fn: str) -> None:  # type: ignore[no-untyped-def]
    """One -Xx document / -Xs data set per identifier, rendered from the walk (no file I/O)."""
    benchmark.group = f"xml-{fn}"
    name = "python" if impl is _codec_py else "cython"
    walks, render, ts = xml_study_walks(name), getattr(impl, fn), codec.EXPLICIT_LE

    def run() -> int:
        return sum(len(render(d, w, ts)[0]) for d, w in walks)

    assert benchmark(run) > 100 * N_IDENTIFIERS
