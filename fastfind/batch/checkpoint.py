"""The checkpoint of a planned batch: what is finished, so a re-run does only what is left.

An append-only JSON-lines file, one line per *commit group*, each line flushed and fsync'ed
after the outputs it names are complete (so a crash -- SIGKILL included -- leaves either the
whole group recorded or none of it; a torn last line is ignored and cut off)::

    {"fastfind": "checkpoint", "version": 1, "fingerprint": "<sha256 of the batch>"}
    {"g": 1, "seg": 1, "units": [...], "splits": [...], "nodes": [...]}
    ...
    {"complete": true}

* ``units``: committed parts, ``[node, part label or null, row index, first number, count,
  dedup keys or null, crawl children or null]`` -- their responses are in the outputs;
* ``splits``: ``[node, part label]`` ranges that were split in halves (re-runs go straight to
  the halves);
* ``nodes``: finished queries, with what the batch report says about them and, for crawl
  parents, their children (``[[key, value], ...], charset``), in child order;
* ``seg``: the segment (``<checkpoint>.parts/NNNNNN.seg``, records of :mod:`.spool`) holding this
  group's responses for the one-file outputs (JSON, NDJSON, CSV, Parquet, ``-Xs``); those
  outputs are assembled from all segments when the batch is complete.

The header is created atomically (:func:`fastfind.output.files.write_atomic`); lines are
appended with ``O_APPEND|O_NOFOLLOW``, so a symlink planted at the name is never followed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import OutputError, UsageError
from ..output.files import write_atomic

VERSION = 1
_FLAGS = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass
class Unit:
    label: str | None
    count: int
    keys: list[str] | None
    kids: list[Any] | None


@dataclass
class State:
    """What an earlier run finished (empty for a new checkpoint)."""

    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    units: dict[str, list[Unit]] = field(default_factory=dict)
    splits: dict[str, set[str]] = field(default_factory=dict)
    numbers: dict[int, int] = field(default_factory=dict)  #: row index -> last number used
    segments: list[int] = field(default_factory=list)
    complete: bool = False
    groups: int = 0

    @property
    def resuming(self) -> bool:
        return self.groups > 0


class Checkpoint:
    """One checkpoint file (see the module docstring); :meth:`open` reads what it holds."""

    def __init__(self, path: str, fingerprint: str = ""):
        self.path = path
        self.fingerprint = fingerprint
        self.segment_dir = path + ".parts"
        self._fd = -1
        self.state = State()

    # -- reading
    def open(self) -> State:
        """Load the file (or create it); :class:`UsageError` if it belongs to another batch."""
        if os.path.islink(self.path):
            raise OutputError(f"checkpoint {self.path}: is a symbolic link")
        if not os.path.exists(self.path):
            directory, name = os.path.split(os.path.abspath(self.path))
            header = {"fastfind": "checkpoint", "version": VERSION, "fingerprint": self.fingerprint}
            write_atomic(directory, name, [json.dumps(header).encode() + b"\n"], sync=True)
        else:
            self._load()
        try:
            self._fd = os.open(self.path, _FLAGS)
        except OSError as exc:
            raise OutputError(f"checkpoint {self.path}: {exc.strerror or exc}") from None
        return self.state

    def _load(self) -> None:
        good = 0
        try:
            with open(self.path, "rb") as f:
                lines = list(_lines(f))
        except OSError as exc:
            raise OutputError(f"checkpoint {self.path}: {exc.strerror or exc}") from None
        for n, (raw, end) in enumerate(lines):
            try:
                if not raw.endswith(b"\n"):
                    raise ValueError("torn")
                record = json.loads(raw)
            except ValueError:
                if n == len(lines) - 1:
                    break  # torn by a crash mid-append: never recorded
                raise UsageError(f"checkpoint {self.path}: line {n + 1} is corrupt") from None
            if n == 0:
                self._check_header(record)
            else:
                self._apply(record)
            good = end
        if not good:
            raise UsageError(f"{self.path} is not a fastfind checkpoint")
        if good < os.path.getsize(self.path):
            os.truncate(self.path, good)

    def _check_header(self, record: Any) -> None:
        if not isinstance(record, dict) or record.get("fastfind") != "checkpoint":
            raise UsageError(f"{self.path} is not a fastfind checkpoint")
        if record.get("version") != VERSION:
            raise UsageError(f"checkpoint {self.path}: version {record.get('version')} "
                             f"(this fastfind writes {VERSION})")
        if record.get("fingerprint") != self.fingerprint:
            raise UsageError(f"checkpoint {self.path} was written for a different batch "
                             "(queries, peer or options differ): remove it or name another file")

    def _apply(self, record: dict[str, Any]) -> None:
        s = self.state
        if record.get("complete"):
            s.complete = True
            return
        s.groups += 1
        if record.get("seg") is not None:
            s.segments.append(int(record["seg"]))
        for node, label, row, first, count, keys, kids in record.get("units", ()):
            s.units.setdefault(node, []).append(Unit(label, count, keys, kids))
            if count:
                s.numbers[row] = max(s.numbers.get(row, 0), first + count - 1)
        for node, label in record.get("splits", ()):
            s.splits.setdefault(node, set()).add(label)
        for rec in record.get("nodes", ()):
            s.done[rec["id"]] = rec
            s.units.pop(rec["id"], None)  # done: its parts no longer matter
            s.splits.pop(rec["id"], None)

    # -- writing
    def append(self, record: dict[str, Any]) -> None:
        """Append one line and make it durable (write, fsync)."""
        data = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fsync(self._fd)
        except OSError as exc:
            raise OutputError(f"checkpoint {self.path}: {exc.strerror or exc}") from None

    def segment_name(self, n: int) -> str:
        return f"{n:06d}.seg"

    def write_segment(self, n: int, chunks: list[bytes]) -> None:
        """Segment ``n`` with these records, complete and synced before it is named."""
        try:
            os.makedirs(self.segment_dir, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"checkpoint segments {self.segment_dir}: {exc.strerror or exc}") from None
        write_atomic(self.segment_dir, self.segment_name(n), chunks, sync=True)

    def segment_path(self, n: int) -> str:
        return os.path.join(self.segment_dir, self.segment_name(n))

    def remove_orphans(self) -> None:
        """Segments written by a run that crashed before recording them."""
        keep = {self.segment_name(n) for n in self.state.segments}
        for name in _listdir(self.segment_dir):
            if name not in keep:
                _unlink(os.path.join(self.segment_dir, name))

    def remove_segments(self) -> None:
        for name in _listdir(self.segment_dir):
            _unlink(os.path.join(self.segment_dir, name))
        try:
            os.rmdir(self.segment_dir)
        except OSError:
            pass

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _lines(f: Any) -> Iterator[tuple[bytes, int]]:
    """``(line, offset after it)``; a last line without a newline was torn by a crash."""
    pos = 0
    for raw in f:
        pos += len(raw)
        yield raw, pos


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
