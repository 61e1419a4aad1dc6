"""A small archive behind the scripted SCP: study-level matching with the caps servers use.

:class:`CappedArchive` is a ``ScriptedSCP`` script (``callable(n, identifier) -> FindScript``):
it matches its study records against the request (single values, ``*`` wildcards, DA/TM ranges
compared as strings, as dcmqrscp and Orthanc do), answers with the requested keys, and caps:

* ``"cancel"``  -- the first ``cap`` matches, then FE00 (Orthanc ``LimitFindResults``);
* ``"silent"``  -- the first ``cap`` matches, then Success (a silent round-number cap);
* ``"refuse"``  -- no matches, A700 "too many matches";
* ``"nothing"`` -- no matches, Success.

``delay`` slows each response (for interrupting a batch); ``abort_on(n, identifier)`` makes the
n-th request end with an A-ABORT after one response.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Sequence
from typing import Any

from pydicom.dataset import Dataset

from servers import FindScript, uid

RANGE_KEYS = ("StudyDate", "StudyTime")


def study_records(dates: Sequence[tuple[str, str]], tag: str = "arch") -> list[Dataset]:
    """One study record per ``(StudyDate, StudyTime)``."""
    out = []
    for i, (date, time) in enumerate(dates):
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.PatientID = f"P{i % 7:03d}"
        ds.PatientName = f"PATIENT^{i % 7:03d}"
        ds.StudyDate = date
        ds.StudyTime = time
        ds.AccessionNumber = f"ACC{i:05d}"
        ds.StudyInstanceUID = uid(tag, i)
        out.append(ds)
    return out


def spread(count: int, per_day: int = 3, start: int = 20230101) -> list[tuple[str, str]]:
    """``count`` (date, time) pairs, ``per_day`` on each day from January 2023 on."""
    out = []
    for i in range(count):
        day = i // per_day
        month, dom = 1 + day // 28, 1 + day % 28
        out.append((f"{start // 10000}{month:02d}{dom:02d}", f"{8 + i % per_day:02d}{(7 * i) % 60:02d}00"))
    return out


def _matches(record: Dataset, query: Dataset) -> bool:
    for elem in query:
        name = elem.keyword
        if name in ("QueryRetrieveLevel", "SpecificCharacterSet") or elem.VR == "SQ":
            continue
        value = str(elem.value or "")
        if not value:
            continue
        have = str(record.get(name, ""))
        if name in RANGE_KEYS and "-" in value:
            lo, _, hi = value.partition("-")
            if (lo and have < lo) or (hi and have > hi):
                return False
        elif "*" in value or "?" in value:
            if not fnmatch.fnmatchcase(have, value):
                return False
        elif have != value:
            return False
    return True


class CappedArchive:
    """See the module docstring."""

    def __init__(self, records: Sequence[Dataset], cap: int | None = None, mode: str = "cancel",
                 delay: float = 0.0,
                 abort_on: Callable[[int, Dataset | None], bool] | None = None):
        self.records = list(records)
        self.cap = cap
        self.mode = mode
        self.delay = delay
        self.abort_on = abort_on
        self.requests: list[Dataset | None] = []
        self._lock = threading.Lock()

    def matching(self, query: Dataset) -> list[Dataset]:
        return [r for r in self.records if _matches(r, query)]

    def __call__(self, n: int, query: Dataset | None) -> FindScript:
        with self._lock:
            self.requests.append(query)
        if query is None:
            return FindScript(final_status=0xA900)
        found = [_answer(r, query) for r in self.matching(query)]
        if self.abort_on is not None and self.abort_on(n, query):
            return FindScript(matches=found[:2], abort_after=1)
        if self.cap is not None and len(found) > self.cap:
            if self.mode == "cancel":
                return FindScript(matches=found[:self.cap], final_status=0xFE00, delay=self.delay)
            if self.mode == "silent":
                return FindScript(matches=found[:self.cap], delay=self.delay)
            if self.mode == "refuse":
                return FindScript(final_status=0xA700, error_comment="too many matches",
                                  delay=self.delay)
            return FindScript(delay=self.delay)
        return FindScript(matches=found, delay=self.delay)


def _answer(record: Dataset, query: Dataset) -> Dataset:
    out = Dataset()
    for elem in query:
        if elem.VR == "SQ":
            continue
        if elem.keyword in record:
            out.add_new(elem.tag, elem.VR, record[elem.keyword].value)
        else:
            out.add_new(elem.tag, elem.VR, elem.value)
    return out


def uids(results: Any) -> set[str]:
    """The StudyInstanceUIDs of every match of some QueryResults (kept matches)."""
    return {str(m.dataset.StudyInstanceUID) for r in results for m in r.matches}
