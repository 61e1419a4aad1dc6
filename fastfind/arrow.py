"""C-FIND responses as Apache Arrow record batches (needs the optional ``arrow`` extra: pyarrow).

Each requested field (a dictionary keyword, a tag, or a sequence path, as for ``--csv-fields``)
becomes one ``string`` column (Arrow ``utf8``) holding exactly the CSV cell text --
:func:`fastfind.output.csv_table.cell` semantics: pydicom's ``str()`` of the value, multiple
values joined with ``\\``, bytes in hex, a sequence as its item count -- or null where the field
names no value (element absent, item index out of range). Strings, not typed columns, because
C-FIND return keys are mostly strings in DICOM too, and a typed column would have to guess the
type of a key from values that may be empty, multi-valued or malformed. Cells are computed from
the identifier bytes in C (:class:`fastfind.codec.ArrowColumns`, one call per response); memory
is bounded by ``batch_size`` rows. In a batch of queries a leading int32 ``query`` column
gives the row (from 1) of the query answered.

::

    from fastfind.arrow import to_table
    table = to_table("pacs", 104, {"QueryRetrieveLevel": "STUDY", "PatientID": "12*",
                                   "StudyDate": None}, model="study")
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import codec
from .errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

    from .client import FindResponse, Query

DEFAULT_BATCH = 65536

__all__ = ["ArrowSink", "record_batches", "to_table", "require_pyarrow", "DEFAULT_BATCH"]


def require_pyarrow() -> Any:
    """Import pyarrow, or raise UsageError naming the extra that installs it."""
    try:
        import pyarrow
    except ImportError:
        raise UsageError("Arrow/Parquet output needs pyarrow: pip install 'fastfind[arrow]'") from None
    return pyarrow


class ArrowSink:
    """A :class:`~fastfind.output.sinks.ResponseSink` that turns responses into RecordBatches of
    at most ``batch_size`` rows: :meth:`take` returns the batches completed so far; :meth:`close`
    completes the last, partial one. With ``query_column`` a leading int32 ``query`` column holds
    ``rsp.query + 1``."""

    def __init__(self, fields: Sequence[str], batch_size: int = DEFAULT_BATCH, *,
                 query_column: bool = False):
        from .output.csv_table import parse_field

        self.pa = require_pyarrow()
        if batch_size < 1:
            raise UsageError("batch_size must be at least 1")
        self.fields = list(fields)
        self.batch_size = batch_size
        self.query_column = query_column
        self.table = codec.CellFields([parse_field(f) for f in self.fields])
        self.columns = codec.ArrowColumns(self.table, query_column)
        names = (["query"] if query_column else []) + self.fields
        types = ([self.pa.int32()] if query_column else []) + [self.pa.utf8()] * len(self.fields)
        self.schema = self.pa.schema([self.pa.field(n, t) for n, t in zip(names, types, strict=True)])
        self.written = 0
        self._ready: list[pa.RecordBatch] = []

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None:
            return
        self.columns.add(rsp.plain, rsp.tokens, rsp.transfer_syntax, (rsp.query or 0) + 1)
        self.written += 1
        if len(self.columns) >= self.batch_size:
            self._ready.append(self._batch())

    def _batch(self) -> pa.RecordBatch:
        pa = self.pa
        rows, query, cols = self.columns.take()
        arrays = []
        if query is not None:
            arrays.append(pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(query)]))
        for nulls, valid, offsets, data in cols:
            buffers = [pa.py_buffer(valid) if nulls else None, pa.py_buffer(offsets),
                       pa.py_buffer(data)]
            arrays.append(pa.Array.from_buffers(pa.utf8(), rows, buffers, null_count=nulls))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def take(self) -> list[pa.RecordBatch]:
        """The batches completed since the last call (each ``batch_size`` rows)."""
        out, self._ready = self._ready, []
        return out

    def close(self) -> None:
        """Complete the partial batch (if any rows are pending)."""
        if len(self.columns):
            self._ready.append(self._batch())

    def discard(self) -> None:
        self.columns.take()
        self._ready = []


def _fields_for(query: Query, fields: Sequence[str] | None) -> list[str]:
    if fields is not None:
        return list(fields)
    from .client import build_dataset
    from .output.csv_table import default_fields

    return default_fields(build_dataset(query))


def record_batches(host: str, port: int, query: Query, fields: Sequence[str] | None = None,
                   batch_size: int = DEFAULT_BATCH, **options: Any) -> Iterator[pa.RecordBatch]:
    """Run one C-FIND and yield its matches as RecordBatches of at most ``batch_size`` rows
    (memory bounded by one batch). ``fields`` default to the query's keys; ``options`` are
    :class:`~fastfind.client.FindClient`'s. A final status other than Success raises after the
    last batch (see :func:`fastfind.find`)."""
    from .client import find

    sink = ArrowSink(_fields_for(query, fields), batch_size)
    for _rsp in find(host, port, query, sinks=[sink], **options):
        yield from sink.take()
    sink.close()
    yield from sink.take()


def to_table(host: str, port: int, query: Query, fields: Sequence[str] | None = None,
             batch_size: int = DEFAULT_BATCH, **options: Any) -> pa.Table:
    """:func:`record_batches` collected into one ``pyarrow.Table`` (empty if nothing matched)."""
    pa = require_pyarrow()
    names = _fields_for(query, fields)
    batches = list(record_batches(host, port, query, names, batch_size, **options))
    if batches:
        return pa.Table.from_batches(batches)
    return pa.Table.from_batches([], schema=pa.schema([pa.field(n, pa.utf8()) for n in names]))
