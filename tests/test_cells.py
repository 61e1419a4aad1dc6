"""CSV cells and Arrow columns straight from the walk (``CellFields``, ``ArrowColumns``), for both
codecs: the same text as :func:`fastfind.output.csv_table.cell` (pydicom's ``str()`` of each
value), the same record bytes as ``csv_row``, the same columns through pyarrow."""

from __future__ import annotations

import os
import struct
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec import load_impl

from fastfind import _codec_py, codec
from fastfind.dataset import dataset_from_walk
from fastfind.output.csv_table import cell, csv_row, parse_field

import identifiers as ids

SETTINGS = settings(max_examples=int(os.environ.get("FASTFIND_JSON_EXAMPLES", "200")),
                    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                          HealthCheck.too_slow])


@pytest.fixture(params=["python", "cython"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return load_impl(request.param)


def walk(impl: ModuleType, plain: bytes, ts: Any) -> Any:
    return impl.walk(plain, ts.implicit, ts.little, codec.SQ_TAGS, 64)


def fields_of(elems: list[tuple], extra: list[int]) -> list[list[tuple[int, int | None]]]:  # type: ignore[type-arg]
    """Every top-level tag, sequence paths into the first two items, and some absent tags."""
    out: list[list[tuple[int, int | None]]] = []
    for e in ids._expand(elems):
        out.append([(e[1], None)])
        if e[0] == "sq":
            out.append([(e[1], 0)])
            for k, item in enumerate(e[3][:2]):
                for sub in ids._expand(item)[:4]:
                    out.append([(e[1], k), (sub[1], None)])
                    out.append([(e[1], None), (sub[1], None)])
            out.append([(e[1], 5), (0x00100010, None)])
        else:
            out.append([(e[1], 0), (0x00100010, None)])  # a step through a non-sequence
    out += [[(t, None)] for t in extra]
    return out


@st.composite
def cases(draw: Any) -> tuple[Any, bytes, list[list[tuple[int, int | None]]]]:
    ts = draw(st.sampled_from(ids.TS_ALL))
    elems = draw(ids.dataset(ts.implicit, ts.little))
    plain = ids.encode(elems, ts.implicit, ts.little)
    return ts, plain, fields_of(elems, [0x00100010, 0x7FE00010])


@SETTINGS
@given(case=cases(), query=st.one_of(st.none(), st.integers(1, 10**6)))
def test_cells_equal_csv_table(impl: ModuleType, case: Any, query: int | None) -> None:
    ts, plain, fields = case
    toks = walk(impl, plain, ts)
    ds = dataset_from_walk(plain, toks, ts)
    table = impl.CellFields(fields)
    got = table.cells(plain, toks, ts)
    ref = [cell(ds, steps) for steps in fields]
    assert [(c or b"").decode("utf-8", "surrogateescape") for c in got] == ref
    row = table.csv_row(plain, toks, ts, query)
    assert row == csv_row(([str(query)] if query is not None else []) + ref)


@SETTINGS
@given(case=cases())
def test_cython_equals_python(case: Any) -> None:
    cy = load_impl("cython")
    ts, plain, fields = case
    a, b = _codec_py.CellFields(fields), cy.CellFields(fields)
    tp, tc = walk(_codec_py, plain, ts), walk(cy, plain, ts)
    assert b.cells(plain, tc, ts) == a.cells(plain, tp, ts)
    assert b.csv_row(plain, tc, ts, 7) == a.csv_row(plain, tp, ts, 7)
    ca, cb = _codec_py.ArrowColumns(a, True), cy.ArrowColumns(b, True)
    for q in range(3):
        ca.add(plain, tp, ts, q)
        cb.add(plain, tc, ts, q)
    assert cb.take() == ca.take()


def el(tag: int, vr: str, raw: bytes) -> bytes:
    if vr in ids.LONG_VRS:
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, vr.encode(), 0, len(raw)) + raw
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(raw)) + raw




def golden_identifier() -> bytes:
    item = el(0x00080060, "CS", b"MR") + el(0x00400002, "DA", b"20240102")
    items = struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item
    return (el(0x00080005, "CS", b"ISO_IR 100") + el(0x00080020, "DA", b"20240101")
            + el(0x00080061, "CS", b"CT\\MR ") + el(0x00100010, "PN", "Müller^José==".encode("latin-1"))
            + el(0x00100020, "LO", b'ID,"1" ') + el(0x00201208, "IS", b" +05 ")
            + el(0x00280010, "US", b"\x02\x00") + el(0x00281050, "DS", b" 1.50\\2 ")
            + el(0x00280009, "AT", b"\x10\x00\x20\x00") + el(0x00291010, "OB", b"\x00\xff")
            + el(0x00400100, "SQ", items))


GOLDEN_FIELDS = ["SpecificCharacterSet", "StudyDate", "ModalitiesInStudy", "PatientName", "PatientID",
                 "NumberOfStudyRelatedInstances", "Rows", "WindowCenter", "FrameIncrementPointer",
                 "(0029,1010)", "ScheduledProcedureStepSequence",
                 "ScheduledProcedureStepSequence[0].Modality", "ScheduledProcedureStepSequence.ScheduledProcedureStepStartDate",
                 "ScheduledProcedureStepSequence[1].Modality", "PatientBirthDate", "Rows.Modality"]
GOLDEN_CELLS = [b"ISO_IR 100", b"20240101", b"CT\\MR", "Müller^José".encode(), b'ID,"1"', b"+05",
                b"2", b"1.50\\2", b"(0010,0020)", b"00ff", b"1", b"MR", b"20240102", None, None, None]


def test_golden_cells(impl: ModuleType) -> None:
    ts = codec.EXPLICIT_LE
    plain = golden_identifier()
    toks = walk(impl, plain, ts)
    table = impl.CellFields([parse_field(f) for f in GOLDEN_FIELDS])
    assert table.cells(plain, toks, ts) == GOLDEN_CELLS
    row = table.csv_row(plain, toks, ts, 3)
    assert row == ('3,ISO_IR 100,20240101,CT\\MR,Müller^José,"ID,""1""",+05,2,1.50\\2,"(0010,0020)",'
                   '00ff,1,MR,20240102,,,\r\n').encode()
    ds = dataset_from_walk(plain, toks, ts)
    assert row == csv_row(["3"] + [cell(ds, parse_field(f)) for f in GOLDEN_FIELDS])


def test_single_empty_cell_is_quoted(impl: ModuleType) -> None:
    ts = codec.EXPLICIT_LE
    plain = el(0x00100020, "LO", b"X ")
    table = impl.CellFields([parse_field("PatientName")])
    assert table.csv_row(plain, walk(impl, plain, ts), ts) == b'""\r\n'
    assert csv_row([""]) == b'""\r\n'


def test_arrow_columns_layout(impl: ModuleType) -> None:
    ts = codec.EXPLICIT_LE
    plain = golden_identifier()
    toks = walk(impl, plain, ts)
    table = impl.CellFields([parse_field(f) for f in ("PatientID", "PatientBirthDate", "Rows")])
    cols = impl.ArrowColumns(table, query_column=True)
    for q in (1, 2, 9):
        cols.add(plain, toks, ts, q)
    assert len(cols) == 3
    rows, query, data = cols.take()
    assert rows == 3 and len(cols) == 0
    assert query == struct.pack("<3i", 1, 2, 9)
    nulls, valid, offsets, body = data[0]
    assert (nulls, valid, offsets, body) == (0, b"\x07", struct.pack("<4i", 0, 6, 12, 18), b'ID,"1"' * 3)
    assert data[1] == (3, b"\x00", struct.pack("<4i", 0, 0, 0, 0), b"")
    assert data[2][3] == b"222"


def test_arrow_columns_read_by_pyarrow(impl: ModuleType) -> None:
    pa = pytest.importorskip("pyarrow")
    ts = codec.EXPLICIT_LE
    plain = golden_identifier()
    toks = walk(impl, plain, ts)
    fields = [parse_field(f) for f in GOLDEN_FIELDS]
    cols = impl.ArrowColumns(impl.CellFields(fields))
    for _ in range(20):  # more than 8 rows: several bitmap bytes
        cols.add(plain, toks, ts)
    rows, _query, data = cols.take()
    arrays = [pa.Array.from_buffers(pa.utf8(), rows, [pa.py_buffer(v), pa.py_buffer(o), pa.py_buffer(d)],
                                    null_count=n) for n, v, o, d in data]
    for arr in arrays:
        arr.validate(full=True)
    assert [arr.to_pylist()[19] for arr in arrays] == [None if c is None else c.decode() for c in GOLDEN_CELLS]
