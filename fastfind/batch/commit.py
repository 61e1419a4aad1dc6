"""Committing complete answers: numbered per query, duplicates once, outputs durable.

The planner hands a part's responses here only when the part is known complete. Each response
gets the query's row (``rsp.query``, the index of the input query) and the next number of that
query (``rsp.number``: ``q<row>/rspNNNN`` counts from 1 per query, across its parts and crawl
children), then goes to the outputs:

* ``-X``/``-Xx`` files straight to ``<od>/q<row>/`` (each file atomic);
* the one-file outputs (JSON, NDJSON, CSV, Parquet, ``-Xs``): without a checkpoint straight to
  their sinks; with one, into the checkpoint's segments, replayed through the same sinks when
  the batch is complete (a partial JSON array or Parquet file cannot be appended to, a segment
  of records can);
* the API caller's own sinks.

Duplicates (a record matched by two parts) are recognised by the level's unique key
(:func:`dedup_key`) and written once. With a checkpoint, a *commit group* is closed every
``interval`` seconds: file outputs complete, the segment written and synced, then one
checkpoint line names everything in the group.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..client import FindResponse
from ..errors import OutputError
from ..options import Limits, OutputOptions
from ..output.sinks import ResponseSink, SinkSet, open_sinks
from .checkpoint import Checkpoint, State
from .crawl import UNIQUE
from .spool import decode, encode

SEGMENT_BYTES = 16 << 20
_RSP_FILE = re.compile(r"^(?:rsp(\d+)\.(?:dcm|xml)|\.rsp\d+\.(?:dcm|xml)\..*\.part)$")
_WL_KEYS = ("AccessionNumber", "RequestedProcedureID",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID")


def dedup_key(rsp: FindResponse, level: str | None, worklist: bool) -> str:
    """What makes two responses the same record, as a short digest.

    Q/R: the level's unique key (PATIENT PatientID, STUDY StudyInstanceUID, SERIES
    SeriesInstanceUID, IMAGE SOPInstanceUID). Worklist (PS3.4 K.6.1 has no unique key for a
    Scheduled Procedure Step): AccessionNumber + RequestedProcedureID + ScheduledProcedureStepID
    when the step ID is there. Otherwise -- or when the key is empty -- the identifier's bytes.
    """
    raw: bytes | None = None
    if worklist:
        raw = _worklist_key(rsp)
    elif level in UNIQUE:
        from ..dicom import dictionary

        tag = dictionary.tag_for_name(UNIQUE[level])
        value = rsp.top_level_value(tag) if tag is not None else None
        raw = value.rstrip(b"\x00 ") if value else None
    if not raw:
        raw = b"\x01" + (rsp.plain or b"")
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _worklist_key(rsp: FindResponse) -> bytes | None:
    from ..output.csv_table import cell, parse_field

    ds = rsp.dataset
    if ds is None:
        return None
    try:
        values = [cell(ds, parse_field(k)) for k in _WL_KEYS]
    except Exception:  # an identifier pydicom cannot read: fall back to its bytes
        return None
    if not values[2]:
        return None
    return "\\".join(values).encode("utf-8", "surrogateescape")


class Committer:
    """Every output of a planned batch (see the module docstring)."""

    def __init__(self, outputs: OutputOptions | None, fields: Sequence[str],
                 sinks: Sequence[ResponseSink], checkpoint: Checkpoint | None, limits: Limits,
                 interval: float = 1.0):
        self.ckpt = checkpoint
        self.state = checkpoint.state if checkpoint is not None else State()
        self.numbers = dict(self.state.numbers)
        self.fields = list(fields)
        self.limits = limits
        self.interval = interval
        out = outputs or OutputOptions()
        per_file = out.extract in ("dcm", "xml")
        self.files_opts = (replace(out, json=None, ndjson=None, csv=None, parquet=None)
                           if per_file else None)
        one = replace(out, extract=None if per_file else out.extract)
        self.one_opts = one if one.any else None
        self.user = SinkSet(list(sinks)) if sinks else None
        self._files: SinkSet | None = None
        self._one: SinkSet | None = None
        self._seg: list[bytes] = []
        self._seg_size = 0
        self._units: list[list[Any]] = []
        self._splits: list[list[str]] = []
        self._nodes: list[dict[str, Any]] = []
        self._last = time.monotonic()
        self.written = 0
        if checkpoint is None and self.one_opts is not None:
            self._one = open_sinks(self.one_opts, self.fields)
        if self.files_opts is not None and checkpoint is None:
            self._files = open_sinks(self.files_opts)

    # -- committing
    def commit(self, node: str, label: str | None, row: int, responses: Iterable[FindResponse],
               dedup: set[str] | None, key: Callable[[FindResponse], str] | None,
               on_written: Callable[[FindResponse], Any] | None = None) -> int:
        """Write one complete part; return how many responses were new."""
        first = self.numbers.get(row, 0) + 1
        n = first - 1
        keys: list[str] | None = [] if dedup is not None else None
        kids: list[Any] = []
        for rsp in responses:
            if dedup is not None and key is not None and keys is not None:
                k = key(rsp)
                if k in dedup:
                    continue
                dedup.add(k)
                keys.append(k)
            n += 1
            rsp.number, rsp.query = n, row
            self._emit(rsp)
            if on_written is not None:
                kid = on_written(rsp)
                if kid is not None:
                    kids.append(kid)
        self.numbers[row] = n
        count = n - first + 1
        self.written += count
        if self.ckpt is not None:
            self._units.append([node, label, row, first, count, keys, kids or None])
        return count

    def _emit(self, rsp: FindResponse) -> None:
        if self.files_opts is not None:
            if self._files is None:
                self._files = open_sinks(self.files_opts)
            self._files.add(rsp)
        if self.one_opts is not None:
            if self._one is not None:
                self._one.add(rsp)
            else:
                data = encode(rsp)
                self._seg.append(data)
                self._seg_size += len(data)
        if self.user is not None:
            self.user.add(rsp)

    def split(self, node: str, label: str) -> None:
        if self.ckpt is not None:
            self._splits.append([node, label])

    def node_done(self, record: dict[str, Any]) -> None:
        if self.ckpt is not None:
            self._nodes.append(record)

    # -- commit groups
    def maybe_boundary(self) -> None:
        if self.ckpt is None or not (self._units or self._splits or self._nodes):
            return
        if (time.monotonic() - self._last >= self.interval or self._seg_size >= SEGMENT_BYTES
                or len(self._units) + len(self._nodes) >= 4096):
            self.boundary()

    def boundary(self) -> None:
        """Make the group durable, then record it (one checkpoint line)."""
        ckpt = self.ckpt
        self._last = time.monotonic()
        if ckpt is None or not (self._units or self._splits or self._nodes):
            return
        if self._files is not None:
            files, self._files = self._files, None
            files.close()  # every file of the group complete (and synced with --sync)
        seg = None
        if self._seg:
            seg = max(self.state.segments, default=0) + 1
            ckpt.write_segment(seg, self._seg)
            self.state.segments.append(seg)
            self._seg, self._seg_size = [], 0
        self.state.groups += 1
        ckpt.append({"g": self.state.groups, "seg": seg, "units": self._units,
                     "splits": self._splits, "nodes": self._nodes})
        self._units, self._splits, self._nodes = [], [], []

    def finish(self, complete: bool) -> None:
        """End of the batch (``complete``) or of this run (interrupted, failed): record what
        is complete; when the batch is complete, assemble the one-file outputs."""
        first: OutputError | None = None
        for step in (self._close_live, self.boundary):
            try:
                step()
            except OutputError as exc:
                first = first or exc
        if complete and first is None and self.ckpt is not None and not self.state.complete:
            try:
                self._assemble()
                self.ckpt.append({"complete": True})
                self.state.complete = True
            except OutputError as exc:
                first = exc
        if self.ckpt is not None:
            if self.state.complete:
                self.ckpt.remove_segments()
            self.ckpt.close()
        if first is not None:
            raise first

    def _close_live(self) -> None:
        first: OutputError | None = None
        if self.ckpt is not None:
            return  # the boundary closes the file outputs; one-file outputs wait for assembly
        for attr in ("_files", "_one"):
            sinks = getattr(self, attr)
            setattr(self, attr, None)
            if sinks is not None:
                try:
                    sinks.close()
                except OutputError as exc:
                    first = first or exc
        if first is not None:
            raise first

    def _assemble(self) -> None:
        assert self.ckpt is not None
        if self.one_opts is None:
            return
        sinks = open_sinks(self.one_opts, self.fields)
        try:
            for n in self.state.segments:
                path = self.ckpt.segment_path(n)
                try:
                    f = open(path, "rb")
                except OSError as exc:
                    raise OutputError(f"checkpoint segment {path}: {exc.strerror or exc}") from None
                with f:
                    for rsp in decode(f, self.limits, path):
                        sinks.add(rsp)
        except BaseException:
            sinks.discard()
            raise
        sinks.close()

    def discard(self) -> None:
        """After a failure that ends the batch without recording more (nothing is raised)."""
        for sinks in (self._files, self._one):
            if sinks is not None:
                sinks.discard()
        self._files = self._one = None
        if self.ckpt is not None:
            self.ckpt.close()

    def forget(self, row: int) -> None:
        """Every query of ``row`` is finished: drop its response numbering."""
        self.numbers.pop(row, None)

    # -- resuming
    def clean_row(self, row: int) -> None:
        """Before a query runs again: remove its ``q<row>/`` files that no checkpoint line
        names (written by the interrupted run after its last commit group)."""
        if self.files_opts is None:
            return
        keep = self.numbers.get(row, 0)
        directory = os.path.join(self.files_opts.directory, f"q{row + 1}")
        try:
            names = os.listdir(directory)
        except OSError:
            return
        for name in names:
            m = _RSP_FILE.match(name)
            if m and (m.group(1) is None or int(m.group(1)) > keep):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError as exc:
                    raise OutputError(f"cannot remove {os.path.join(directory, name)}: "
                                      f"{exc.strerror or exc}") from None
