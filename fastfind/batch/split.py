"""Splitting a query's date/time range in halves (PS3.4 C.2.2.2.5 range matching).

A :class:`Splitter` works on one ``-k`` style key of VR DA, TM or DT (a name, a tag or a
sequence path). A part of a query is a :class:`Window`: a range on that key, and -- for a DA key
whose range is down to one day -- a range of seconds on its time companion (``StudyDate`` ->
``StudyTime``, ``...StartDate`` -> ``...StartTime``). :meth:`Splitter.halves` bisects a window;
open ends stay open, so the parts together always cover what the whole covered (records whose
value is empty match no range at all: they are not found by any part, PS3.4 C.2.2.2.5).

Upper bounds inside a split are written with ``.999999`` for TM and DT (``-101530.999999``), so a
fractional time at a boundary falls into one part and none is lost between two.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
from dataclasses import dataclass

from pydicom.dataset import Dataset

from .. import query as query_mod
from ..dicom import dictionary
from ..errors import UsageError

SPLIT_VRS = ("DA", "TM", "DT")
_DAY = 86400
_ORD = _dt.date.toordinal
_DA_MIN, _DA_MAX = 1, _ORD(_dt.date(9999, 12, 31))
_DA_LO, _DA_HI = _ORD(_dt.date(1900, 1, 1)), _ORD(_dt.date(2099, 12, 31))
_STEP_NAME = re.compile(r"^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$")


class SplitError(UsageError):
    """A value of the split key that is not a range fastfind can split."""


@dataclass(frozen=True)
class Window:
    """A range on the split key (``lo``/``hi`` in days, seconds or seconds since 0001-01-01;
    ``None`` = open) and, when ``timed``, seconds ``tlo..thi`` of the day on the companion."""

    lo: int | None
    hi: int | None
    tlo: int = 0
    thi: int = _DAY - 1
    timed: bool = False


def _last_tag(key: str) -> tuple[int, str]:
    from ..output.csv_table import parse_field

    steps = parse_field(key)
    tag = steps[-1][0]
    found = dictionary.entry(tag)
    if found is None:
        raise UsageError(f"unknown split key: {key}")
    return tag, found[0]


def split_key_vr(key: str) -> str:
    """The VR of ``key``'s element; :class:`UsageError` unless it is DA, TM or DT."""
    try:
        _tag, vr = _last_tag(key)
    except UsageError as exc:
        raise UsageError(f"--split-by {key}: {exc}") from None
    if vr not in SPLIT_VRS:
        raise UsageError(f"--split-by {key}: needs a DA, TM or DT key (this one is {vr})")
    return vr


def _companion(key: str) -> str | None:
    """The TM key that goes with a DA key (``StudyDate`` -> ``StudyTime``), if the dictionary has one."""
    tag, _vr = _last_tag(key)
    found = dictionary.entry(tag)
    name = found[2] if found else ""
    if not name.endswith("Date"):
        return None
    time_name = name[:-4] + "Time"
    hit = dictionary.lookup_name(time_name)
    if hit is None or hit[1] != "TM":
        return None
    head, dot, _last = key.rpartition(".")
    return f"{head}{dot}{time_name}"


# ---- values <-> numbers ---------------------------------------------------------------------------


def _parse_da(text: str) -> int:
    if len(text) != 8 or not text.isdigit():
        raise SplitError(f"not a date: {text!r}")
    try:
        return _ORD(_dt.date(int(text[:4]), int(text[4:6]), int(text[6:])))
    except ValueError:
        raise SplitError(f"not a date: {text!r}") from None


def _parse_tm(text: str, upper: bool) -> int:
    head = text.split(".")[0]
    if not head.isdigit() or len(head) not in (2, 4, 6):
        raise SplitError(f"not a time: {text!r}")
    parts = [int(head[i:i + 2]) for i in range(0, len(head), 2)]
    fill = [23, 59, 59] if upper else [0, 0, 0]
    h, m, s = (parts + fill[len(parts):])[:3]
    if h > 23 or m > 59 or s > 60:
        raise SplitError(f"not a time: {text!r}")
    return h * 3600 + m * 60 + min(s, 59)


def _parse_dt(text: str, upper: bool) -> int:
    head = text.split(".")[0]
    if not head.isdigit() or len(head) < 4 or len(head) % 2:
        raise SplitError(f"not a date-time (offsets are not supported): {text!r}")
    date = head[:8]
    if len(date) < 8:
        date = date + ("1231" if upper else "0101")[len(date) - 4:]
        if upper and len(head) == 6:  # YYYYMM: the last day of that month
            y, m = int(head[:4]), int(head[4:6])
            nxt = _dt.date(y + (m == 12), m % 12 + 1, 1)
            date = (nxt - _dt.timedelta(days=1)).strftime("%Y%m%d")
    day = _parse_da(date)
    secs = _parse_tm(head[8:], upper) if len(head) > 8 else (_DAY - 1 if upper else 0)
    return day * _DAY + secs


def _fmt_da(v: int) -> str:
    return _dt.date.fromordinal(v).strftime("%Y%m%d")


def _fmt_tm(v: int) -> str:
    return f"{v // 3600:02d}{v // 60 % 60:02d}{v % 60:02d}"


def _fmt_dt(v: int) -> str:
    return _fmt_da(v // _DAY) + _fmt_tm(v % _DAY)


# ---- the splitter --------------------------------------------------------------------------------


class Splitter:
    """Bisects the ranges of one DA/TM/DT key (see the module docstring)."""

    def __init__(self, key: str):
        self.key = key
        self.vr = split_key_vr(key)
        from ..output.csv_table import parse_field

        self._steps = parse_field(key)
        self.time_key = _companion(key) if self.vr == "DA" else None
        self._time_steps = parse_field(self.time_key) if self.time_key else None

    # -- reading a query
    def window(self, ds: Dataset) -> Window:
        """The range the query asks for now (its value of the key, and of the time companion
        when the date is a single day); :class:`SplitError` if a value is not a range."""
        from ..output.csv_table import cell

        lo, hi = self._parse(cell(ds, self._steps), self.vr)
        if self.vr == "DA" and lo is not None and lo == hi and self._time_steps is not None:
            tlo, thi = self._parse(cell(ds, self._time_steps), "TM")
            return Window(lo, hi, tlo if tlo is not None else 0,
                          thi if thi is not None else _DAY - 1, True)
        return Window(lo, hi)

    def _parse(self, text: str, vr: str) -> tuple[int | None, int | None]:
        text = text.strip()
        if not text:
            lo = hi = None
        elif "-" in text:
            a, _, b = text.partition("-")
            lo = self._value(a.strip(), vr, False) if a.strip() else None
            hi = self._value(b.strip(), vr, True) if b.strip() else None
        else:
            lo, hi = self._value(text, vr, False), self._value(text, vr, True)
        if vr == "TM":  # a time range is always within one day: open ends are the day's ends
            lo = 0 if lo is None else lo
            hi = _DAY - 1 if hi is None else hi
        if lo is not None and hi is not None and lo > hi:
            raise SplitError(f"empty range: {text!r}")
        return lo, hi

    @staticmethod
    def _value(text: str, vr: str, upper: bool) -> int:
        if "\\" in text or "*" in text or "?" in text:
            raise SplitError(f"not a single range: {text!r}")
        if vr == "DA":
            return _parse_da(text)
        if vr == "TM":
            return _parse_tm(text, upper)
        return _parse_dt(text, upper)

    # -- bisecting
    def halves(self, w: Window) -> tuple[Window, Window] | None:
        """The two halves of ``w``, or ``None`` when it cannot be split any further."""
        if not w.timed:
            bounds = {"DA": (_DA_MIN, _DA_MAX, _DA_LO, _DA_HI), "TM": (0, _DAY - 1, 0, _DAY - 1),
                      "DT": (_DA_MIN * _DAY, (_DA_MAX + 1) * _DAY - 1, _DA_LO * _DAY,
                             (_DA_HI + 1) * _DAY - 1)}[self.vr]
            cut = _cut(w.lo, w.hi, *bounds)
            if cut is not None:
                return Window(w.lo, cut - 1), Window(cut, w.hi)
            if self.time_key is None or w.lo is None or w.lo != w.hi:
                return None
            w = Window(w.lo, w.hi, 0, _DAY - 1, True)  # one day: go on with the time of day
        cut = _cut(w.tlo, w.thi, 0, _DAY - 1, 0, _DAY - 1)
        if cut is None:
            return None
        return Window(w.lo, w.hi, w.tlo, cut - 1, True), Window(w.lo, w.hi, cut, w.thi, True)

    # -- writing a query
    def texts(self, w: Window) -> list[tuple[str, str]]:
        """``(key, value)`` pairs that ask for ``w``."""
        out = [(self.key, self._text(w.lo, w.hi, self.vr))]
        if w.timed and self.time_key is not None:
            out.append((self.time_key, self._text(w.tlo, w.thi, "TM")))
        return out

    def _text(self, lo: int | None, hi: int | None, vr: str) -> str:
        fmt = {"DA": _fmt_da, "TM": _fmt_tm, "DT": _fmt_dt}[vr]
        if vr == "TM":
            lo = None if lo == 0 else lo
            hi = None if hi == _DAY - 1 else hi
        if lo is None and hi is None:
            return ""
        if vr == "DA" and lo is not None and lo == hi:
            return fmt(lo)
        low = fmt(lo) if lo is not None else ""
        high = "" if hi is None else fmt(hi) + ("" if vr == "DA" else ".999999")
        return f"{low}-{high}"

    def label(self, w: Window) -> str:
        """How a part is named in notes and in the checkpoint: ``StudyDate=20230101-20230131``."""
        return " ".join(f"{k}={v}" for k, v in self.texts(w))

    def apply(self, ds: Dataset, w: Window) -> Dataset:
        """A copy of ``ds`` that asks for ``w``."""
        out = copy.deepcopy(ds)
        query_mod.apply_keys(out, [f"{k}={v}" for k, v in self.texts(w)])
        return out


def _cut(lo: int | None, hi: int | None, minv: int, maxv: int, dlo: int, dhi: int) -> int | None:
    """Where to cut ``lo..hi`` (halves ``lo..cut-1`` and ``cut..hi``); ``None`` if it is one unit.

    Open ends are cut at the default bounds ``dlo``/``dhi`` first, then ever further out."""
    if lo is not None and hi is not None:
        return lo + (hi - lo + 1) // 2 if hi > lo else None
    if lo is None and hi is None:
        return (dlo + dhi + 1) // 2
    span = max(1, (dhi - dlo) // 2)
    if lo is None:
        assert hi is not None
        cut = dlo if hi > dlo else hi - span + 1
        return cut if cut > minv else (hi if hi > minv else None)
    cut = dhi + 1 if lo <= dhi else lo + span
    return cut if cut <= maxv else (lo + 1 if lo < maxv else None)
