"""``--extract-parquet FILE``: the responses as one Parquet file (needs pyarrow, the ``arrow`` extra).

One ``string`` column per requested field, exactly the CSV cells (see :mod:`fastfind.arrow` for
the column semantics and why strings), null where the field names no value; in a batch of
queries a leading int32 ``query`` column. Rows are written in row groups of at most
``row_group_size`` (65,536) rows as they arrive, so memory stays bounded. The file is created
through :class:`~fastfind.output.files.OutputFile`: a hidden temporary file renamed into place by
:meth:`close` (never written through a planted symlink; removed by :meth:`discard`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

from ..arrow import ArrowSink, require_pyarrow
from ..client import FindResponse
from .files import OutputFile
from .sinks import StreamSink

log = logging.getLogger("fastfind")

ROW_GROUP = 65536


class _Stream(io.RawIOBase):
    """The write/tell face pyarrow wants, over an OutputFile."""

    def __init__(self, out: OutputFile):
        self.out = out
        self.pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def,override]
        chunk = bytes(data)
        self.out.write(chunk)
        self.pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:  # the OutputFile is closed (renamed) by ParquetSink.close
        super().close()


class ParquetSink(StreamSink):
    """A :class:`~fastfind.output.sinks.ResponseSink` writing one Parquet file."""

    def __init__(self, path: str, fields: Sequence[str], batch: bool = False, *,
                 row_group_size: int = ROW_GROUP, sync: bool = False):
        pa = require_pyarrow()
        import pyarrow.parquet as pq

        self.arrow = ArrowSink(fields, row_group_size, query_column=batch)  # UsageError first
        super().__init__(path, sync=sync)
        self._stream = _Stream(self._file)
        try:
            self._writer = pq.ParquetWriter(pa.PythonFile(self._stream, mode="w"), self.arrow.schema)
        except BaseException:
            self._file.discard()
            raise


    def add(self, rsp: FindResponse) -> None:
        self.arrow.add(rsp)
        self.written = self.arrow.written
        for batch in self.arrow.take():
            self._writer.write_batch(batch)

    def close(self) -> None:
        self.arrow.close()
        for batch in self.arrow.take():
            self._writer.write_batch(batch)
        self._writer.close()
        self._file.close()

    def discard(self) -> None:
        try:
            self._writer.close()
        except Exception:
            pass
        self._file.discard()

