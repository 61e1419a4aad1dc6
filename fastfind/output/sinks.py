"""The one seam for outputs: every output is a :class:`ResponseSink` (DCMTK's
``DcmFindSCUCallback::callback``, "called once for each incoming C-FIND-RSP").

A sink is fed each pending response that carries an identifier, once, after the identifier was
validated against the run's :class:`~fastfind.options.Limits` (so ``rsp.plain`` and
``rsp.tokens`` are ready and every sink agrees on what is acceptable). The CLI and API users
compose the same sinks::

    from fastfind import FindClient
    from fastfind.output import JsonSink, Part10Sink, SinkSet

    with FindClient("pacs.example", 104, model="study") as client, \\
            SinkSet([Part10Sink("out"), JsonSink("out/all.ndjson", ndjson=True)]) as sinks:
        client.run({"QueryRetrieveLevel": "STUDY", "PatientID": "12*"}, sinks)

A sink raises :class:`~fastfind.errors.OutputError` when it cannot write; the operation then
cancels the query. ``close()`` completes the output (renames files into place, writes
trailers); ``discard()`` abandons it, leaving only complete files. Sinks are context managers:
``close`` on success, ``discard`` on an exception.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import OutputError

if TYPE_CHECKING:
    from ..client import FindResponse
    from ..options import OutputOptions

log = logging.getLogger("fastfind")


@runtime_checkable
class ResponseSink(Protocol):
    """One output of a C-FIND run."""

    def add(self, rsp: FindResponse) -> None:
        """Take one pending response (validated identifier); raise :class:`OutputError`."""

    def close(self) -> None:
        """Complete the output; raise :class:`OutputError` if that fails."""

    def discard(self) -> None:
        """Abandon the output (interrupt, abort): leave only complete files; never raise."""

    # optional: ``flush()`` -- the receive loop is about to wait for the peer (see SinkSet.flush)


class Managed:
    """``with sink:`` -- ``close()`` on success, ``discard()`` when an exception leaves."""

    def close(self) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


class StreamSink(Managed):
    """The one-file outputs (JSON, NDJSON, CSV, ``-Xs`` XML, Parquet): their file is an
    :class:`~fastfind.output.files.OutputFile` (renamed into place by :meth:`close`, removed
    by :meth:`discard`); a subclass writes its header in ``__init__``, its records in
    ``add`` and returns its trailer from :meth:`trailer`."""

    def __init__(self, path: str, *, sync: bool = False, label: str | None = None):
        from .files import OutputFile

        self.path = path
        self.label = label or path
        self.written = 0
        self._file = OutputFile(path, sync=sync)
        if self._file.replaced:
            log.warning(f"replaced existing file {path}")

    def trailer(self) -> bytes:
        return b""

    def close(self) -> None:
        tail = self.trailer()
        if tail:
            self._file.write(tail)
        self._file.close()

    def discard(self) -> None:
        self._file.discard()


class SinkSet(Managed):
    """Fan a response out to several sinks; remembers the first :class:`OutputError`.

    After a failure no sink is fed any more (:meth:`add` raises again, so the query stays
    cancelled); :meth:`close` still completes the others, and raises the first error.
    """

    def __init__(self, sinks: Sequence[ResponseSink] = ()):
        self.sinks = list(sinks)
        self.error: OutputError | None = None
        self.failed_numbers: list[int] = []  #: responses not written because of the error
        self._closed = False
        self._first = self._last = 0  # the numbers fed to every sink
        self._lost: set[int] = set()  # sinks whose close failed: a one-file output lost it all

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def add(self, rsp: FindResponse) -> None:
        if self.error is not None:
            self.failed_numbers.append(rsp.number)
            raise self.error
        if not self._first:
            self._first = rsp.number
        try:
            for sink in self.sinks:
                sink.add(rsp)
            self._last = rsp.number
        except OutputError as exc:
            self.error = exc
            self.failed_numbers.append(rsp.number)
            raise

    def flush(self) -> None:
        """Called when the receive loop is about to wait for the peer: outputs that batch their
        work (``-X``, ``-Xx``) start on what they have."""
        for sink in self.sinks:
            flush = getattr(sink, "flush", None)
            if flush is not None:
                flush()

    def close(self) -> None:
        """Close every sink (each even if an earlier one fails); raise the first error."""
        if self._closed:
            return
        self._closed = True
        first = self.error
        for i, sink in enumerate(self.sinks):
            try:
                sink.close()  # after a failure the others still get complete files
            except OutputError as exc:
                self._lost.add(i)
                first = first or exc
                if self.error is None:
                    self.error = exc
        if first is not None:
            raise first

    def discard(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sink in self.sinks:
            try:
                sink.discard()
            except Exception as exc:  # discard must not hide the reason we are stopping
                log.debug(f"discarding an output failed: {exc}")

    def written(self) -> list[tuple[str, int]]:
        """``(output name, responses written)`` for each sink that counts them."""
        out = []
        for i, sink in enumerate(self.sinks):
            count = getattr(sink, "written", None)
            if count is not None:
                lost = i in self._lost and not hasattr(sink, "failed")
                out.append((getattr(sink, "label", type(sink).__name__), 0 if lost else int(count)))
        return out

    def failed(self, limit: int | None = None) -> list[int]:
        """Numbers of the responses that some sink could not write (the first ``limit``)."""
        numbers = set(self.failed_numbers[:limit] if limit else self.failed_numbers)
        for i, sink in enumerate(self.sinks):
            lost = getattr(sink, "failed", None)
            if lost is None:  # a one-file output whose close failed lost every response it took
                lost = range(self._first, self._last + 1) if i in self._lost and self._first else ()
            numbers.update(lost[:limit] if limit else lost)
        out = sorted(numbers)
        return out[:limit] if limit else out


def open_sinks(out: OutputOptions, fields: Sequence[str] = ()) -> SinkSet:
    """The sinks an :class:`~fastfind.options.OutputOptions` asks for (the CLI's ``-X``,
    ``-Xx``, ``-Xs``, ``--extract-json/-ndjson/-csv/-parquet``), in that order.

    ``fields`` are the table columns when ``out.csv_fields`` is not given (the query's keys).
    Raises :class:`OutputError` (nothing created) or :class:`~fastfind.errors.UsageError`.
    """
    sinks: list[ResponseSink] = []
    try:
        per_query = out.per_query
        if out.extract == "dcm":
            from .part10 import Part10Sink

            sinks.append(Part10Sink(out.directory, limit=out.limit_output, sync=out.sync,
                                    no_clobber=out.no_clobber, per_query=per_query,
                                    new_vrs=out.enable_new_vrs))
        elif out.extract == "xml":
            from .dcmtk_xml import DcmtkXmlFilesSink

            sinks.append(DcmtkXmlFilesSink(out.directory, limit=out.limit_output, sync=out.sync,
                                           no_clobber=out.no_clobber, per_query=per_query))
        elif out.extract == "xml-single":
            from .dcmtk_xml import DcmtkXmlSink
            from .part10 import display_path

            name = out.xml_single_file or ""
            label = name if os.path.isabs(name) else display_path(out.directory, name)
            sinks.append(DcmtkXmlSink(out.xml_single_path, limit=out.limit_output, sync=out.sync,
                                      label=label, batch=per_query))
        columns = list(out.csv_fields or fields)
        if out.json:
            from .dicom_json import JsonSink

            sinks.append(JsonSink(out.json, sync=out.sync, batch=per_query))
        if out.ndjson:
            from .dicom_json import JsonSink

            sinks.append(JsonSink(out.ndjson, ndjson=True, sync=out.sync, batch=per_query))
        if out.csv:
            from .csv_table import CsvSink

            sinks.append(CsvSink(out.csv, columns, sync=out.sync, batch=per_query))
        if out.parquet:
            from .parquet import ParquetSink

            sinks.append(ParquetSink(out.parquet, columns, batch=per_query, sync=out.sync))
    except BaseException:
        for sink in sinks:
            sink.discard()
        raise
    return SinkSet(sinks)
