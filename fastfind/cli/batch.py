"""``fastfind [options] peer port --batch FILE``: one query per row, over a pool of associations.

The rows (:mod:`fastfind.batch.rows`) are checked before any association (a bad cell is exit 1,
naming its row and column), then run by the planner (:mod:`fastfind.batch.plan`) with the
command line's outputs in batch form: ``<od>/q<row>/rspNNNN.dcm|xml``, NDJSON/JSON objects
``{"query": <row>, "response": {...}}``, a leading ``query`` column in CSV/Parquet.
``--batch-report`` gets one CSV line per query (crawl children included)::

    row,query,level,status,matches,attempts,seconds,error,notes

The exit code is 0 only if every query completed, else the worst of their codes
(:func:`fastfind.cli.exitcodes.worst`), with ``queries=N ok=K failed=M`` on stderr. SIGINT /
SIGTERM commit what is complete (and record it in ``--checkpoint``), then exit 130 / 143.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset

from .. import query as query_mod
from ..batch import afind_many
from ..batch.checkpoint import Checkpoint
from ..batch.crawl import LEVELS, RETURN_KEYS, UNIQUE, Crawl, level_of
from ..batch.engine import QueryResult
from ..batch.rows import QueryRows
from ..errors import (
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    EXIT_WRITE,
    OutputError,
    UsageError,
)
from ..output.csv_table import csv_row, default_fields, parse_field
from ..output.files import OutputFile, check_output_directory
from . import logs, progress, report
from .exitcodes import SEVERITY

if TYPE_CHECKING:
    from .run import Run

log = logs.log
REPORT_COLUMNS = ["row", "query", "level", "status", "matches", "attempts", "seconds", "error",
                  "notes"]


class BatchRun:
    """One ``--batch`` invocation (see the module docstring)."""

    def __init__(self, run: Run):
        self.owner = run
        self.args = run.args
        self.queries = self.ok = self.failed = 0
        self.worst = EXIT_OK
        self.worst_reason = ""
        self.signum: int | None = None
        self.report: OutputFile | None = None
        self.status: progress.StatusLine | None = None

    # ---- set-up (exit 1 before any association) ------------------------------------------------
    def run(self) -> int:
        a = self.args
        try:
            options = self.owner._find_options()
            base = self._base()
            rows = QueryRows(a.batch or "", base, a.data_correction)
            total = rows.check()
            first = next(iter(rows), None)
            if a.crawl and first is not None:
                Crawl(a.model, a.crawl).check(first)  # every row is checked when it runs
            fields = self._fields(first)
            if a.csv_fields:
                for f in a.csv_fields:
                    parse_field(f)
            if a.extract in ("dcm", "xml"):
                check_output_directory(a.output_directory)
            outputs = replace(a.output_options(), per_query=True)
            ckpt = Checkpoint(a.checkpoint, self._fingerprint(fields)) if a.checkpoint else None
        except UsageError as exc:
            log.fatal(str(exc))
            return EXIT_USAGE
        except OutputError as exc:
            log.fatal(str(exc))
            return EXIT_USAGE
        try:
            if a.batch_report:
                self.report = OutputFile(a.batch_report, sync=a.sync)
                self.report.write(csv_row(REPORT_COLUMNS))
        except OutputError as exc:
            log.fatal(str(exc))
            return EXIT_WRITE
        if progress.wanted(a.quiet):
            self.status = progress.StatusLine()
        kwargs = dict(concurrency=a.concurrency, keep_matches=False, total=total,
                      progress=self.status, split_by=a.split_by, expect_cap=a.expect_cap,
                      crawl=a.crawl, checkpoint=ckpt, outputs=outputs, fields=fields)
        code = asyncio.run(self._main(rows, options, kwargs))
        return self._finish(code)

    def _base(self) -> Dataset:
        """The query file (at most one) and the ``-k`` keys: what every row starts from."""
        a = self.args
        messages: list[tuple[str, str]] = []
        try:
            ds = (query_mod.load_query_file(a.files[0], a.data_correction, log=messages)
                  if a.files else Dataset())
            query_mod.apply_keys(ds, list(a.keys), a.data_correction)
        except query_mod.QueryKeyError as exc:
            raise UsageError(f"Bad override key/path: {exc.path_text}: {exc}") from None
        finally:
            for level, message in messages:
                log.log(logs.level_of(level), message)
        return ds

    def _fields(self, first: Dataset | None) -> list[str]:
        """Default table columns: the first query's keys, plus each crawled level's keys."""
        fields = default_fields(first) if first is not None else []
        level = level_of(first) if first is not None else None
        if self.args.crawl and level in LEVELS:
            for lower in LEVELS[LEVELS.index(level) + 1:LEVELS.index(self.args.crawl) + 1]:
                for name in (UNIQUE[lower], *RETURN_KEYS[lower]):
                    if name not in fields:
                        fields.append(name)
        return fields

    def _fingerprint(self, fields: list[str]) -> str:
        """The batch a checkpoint belongs to: the rows, the base query, the peer, the plan and
        the outputs."""
        a = self.args
        h = hashlib.sha256()
        for path in [a.batch or "", *a.files]:
            try:
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):  # noqa: B023
                        h.update(chunk)
            except OSError as exc:
                raise UsageError(f"cannot read {path}: {exc.strerror}") from None
            h.update(b"\0")
        out = a.output_options()
        parts: list[Any] = [a.peer, a.port, a.model, a.called_aetitle, a.keys, a.split_by,
                            a.expect_cap, a.crawl, fields, out.directory, out.extract,
                            out.xml_single_file, out.json, out.ndjson, out.csv, out.parquet]
        h.update(repr(parts).encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    # ---- the run ---------------------------------------------------------------------------------
    async def _main(self, rows: QueryRows, options: Any, kwargs: dict[str, Any]) -> int:
        a = self.args
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def on_signal(signum: int) -> None:
            if self.signum is None:
                self.signum = signum
                task.cancel()

        for s in saved:
            loop.add_signal_handler(s, on_signal, s)
        agen = afind_many(rows, a.peer, a.port, options, **kwargs)
        try:
            async for result in agen:
                self._on_result(result)
        except asyncio.CancelledError:
            if self.signum is None:
                raise
        except UsageError as exc:
            self._clear()
            log.fatal(str(exc))
            return EXIT_USAGE
        except OutputError as exc:
            self._clear()
            log.error(str(exc))
            return EXIT_WRITE
        finally:
            try:
                await agen.aclose()
            except OutputError as exc:
                log.error(str(exc))
                self._note(EXIT_WRITE, str(exc))
            for s, handler in saved.items():
                loop.remove_signal_handler(s)
                signal.signal(s, handler)
        return EXIT_OK

    def _on_result(self, r: QueryResult) -> None:
        self.queries += 1
        code = r.exit_code
        if code == EXIT_OK:
            self.ok += 1
            if log.isEnabledFor(20):
                self._clear()
                log.info(f"query {r.id}: {r.count} matches" + (f" ({'; '.join(r.notes)})" if r.notes else ""))
        else:
            self.failed += 1
            self._note(code, f"query {r.id}: {r.reason}")
            self._clear()
            log.warning(f"query {r.id} (row {r.index + 1}) failed: {report.printable(r.reason)}")
        if self.report is not None:
            status = r.status
            self.report.write(csv_row([
                str(r.index + 1), r.id, r.level or "", f"0x{status:04x}" if status is not None else "",
                str(r.count), str(r.attempts), f"{r.seconds:.3f}", "" if r.ok else r.reason,
                "; ".join(r.notes)]))

    def _note(self, code: int, reason: str) -> None:
        if SEVERITY.get(code, 5) > SEVERITY.get(self.worst, 5) or self.worst == EXIT_OK:
            self.worst, self.worst_reason = code, reason

    def _clear(self) -> None:
        if self.status is not None:
            self.status.clear()

    def _finish(self, code: int) -> int:
        if self.status is not None:
            self.status.close()
        if self.report is not None:
            try:
                self.report.close()
            except OutputError as exc:
                log.error(str(exc))
                self._note(EXIT_WRITE, str(exc))
        if code:
            self._note(code, "")
        summary = f"queries={self.queries} ok={self.ok} failed={self.failed}"
        if self.signum is not None:
            log.error(f"interrupted by {signal.Signals(self.signum).name}: {summary}")
            return EXIT_SIGINT if self.signum == signal.SIGINT else EXIT_SIGTERM
        if self.worst == EXIT_OK:
            log.info(summary)
            return EXIT_OK
        code = self.worst
        if self.args.dcmtk_exit_codes and code != 2:
            code = EXIT_OK
        log.error(summary)
        log.error(f"fastfind: exit code {self.worst}: {report.printable(self.worst_reason)}")
        return code
