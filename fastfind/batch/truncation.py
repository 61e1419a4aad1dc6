"""Is a C-FIND answer complete, or did the server cap it? (PS3.4 C.4.1.1.4, PS3.7 Annex C)

Servers cap results in four ways; each leaves a trace that :func:`judge` reads:

* **refuse** the query: a Failure whose status or comment says so -- any ``A7xx`` (Refused: Out
  of Resources) or a ``Cxxx`` whose Error Comment names a limit ("too many matches", "limit",
  "exceeded", "maximum", ...);
* **end it early** with Cancel (``FE00``, Orthanc's ``LimitFindResults``) or a Warning that we did
  not ask for;
* **stop silently** at a round number: a Success whose count equals ``expect_cap``, or a round
  number (:data:`ROUND_COUNTS`) that :class:`CapDetector` has now seen twice in the batch (a
  learned cap); a round count seen once is only *suspect* -- with a split key the planner checks
  it by asking both halves;
* **return nothing**: indistinguishable from a true empty answer, except by the halves check --
  with a split key the planner asks both halves of a whole query that returned nothing.

"Halves return more than the whole" (:meth:`CapDetector.halves`) turns a suspect into a learned cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..dicom import status as st

#: Counts at which servers have been seen to stop silently (and their neighbours in the series).
ROUND_COUNTS = frozenset({25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000,
                          25000, 50000, 100000})

_LIMIT_TEXT = re.compile(r"too many|limit|exceed|maximum|max\.? ?(?:number|results|matches)|"
                         r"too large|refine", re.I)

COMPLETE = "complete"
TRUNCATED = "truncated"  #: certainly capped: split it, or report it incomplete
SUSPECT = "suspect"  #: complete as far as we can tell, but a cap would look the same
FAILED = "failed"  #: an error or a failure status that is not a cap


@dataclass(frozen=True)
class Verdict:
    kind: str
    reason: str = ""


def is_cap_refusal(status: int, comment: str | None) -> bool:
    """A Failure that refuses the query as too broad (A7xx, or Cxxx naming a limit)."""
    if 0xA700 <= status <= 0xA7FF:
        return True
    return 0xC000 <= status <= 0xCFFF and bool(comment and _LIMIT_TEXT.search(comment))


class CapDetector:
    """What the batch has learned about the server's cap (shared by every query of a batch)."""

    def __init__(self, expect_cap: int | None = None, round_counts: bool = True):
        self.expect_cap = expect_cap if expect_cap else None
        self.round_counts = round_counts
        self._seen: dict[int, int] = {}
        self.learned: set[int] = set()
        self.empty_caps = False  #: the server answers nothing instead of too many

    def count_is_cap(self, count: int) -> str | None:
        """Why ``count`` (of a Success) is a cap, or ``None``; a round count is counted here."""
        if self.expect_cap is not None and count == self.expect_cap:
            return f"{count} matches = --expect-cap"
        if count in self.learned:
            return f"{count} matches = the server's cap seen before"
        if self.round_counts and count in ROUND_COUNTS:
            self._seen[count] = self._seen.get(count, 0) + 1
            if self._seen[count] >= 2:
                self.learned.add(count)
                return f"{count} matches, a round number seen twice: the server's cap"
        return None

    def halves(self, whole: int, first: int, second: int) -> bool:
        """Both halves of a part answered; True (and learned) if they found more than the whole."""
        if first + second <= whole:
            return False
        if whole == 0:
            self.empty_caps = True
        else:
            self.learned.add(whole)
        return True


def judge(status: int | None, comment: str | None, count: int, failed: bool,
          cancelled_by_us: bool, detector: CapDetector) -> Verdict:
    """The verdict on one C-FIND: ``status`` of its final response (``None`` if none came),
    ``count`` pending responses, ``failed`` if it ended with an error instead."""
    if failed or status is None:
        return Verdict(FAILED)
    category = st.category(status)
    if category == st.SUCCESS:
        why = detector.count_is_cap(count)
        if why is not None:
            return Verdict(TRUNCATED, why)
        if count in ROUND_COUNTS and detector.round_counts:
            return Verdict(SUSPECT, f"{count} matches is a round number (a cap would look the same)")
        if count == 0:
            return Verdict(SUSPECT, "no matches (a server that answers nothing when over its "
                                    "cap would look the same)")
        return Verdict(COMPLETE)
    if category == st.CANCEL and cancelled_by_us:
        return Verdict(COMPLETE)
    if category in (st.CANCEL, st.WARNING):
        return Verdict(TRUNCATED, f"ended with 0x{status:04x} ({st.status_text(status)}) after "
                                  f"{count} matches")
    if is_cap_refusal(status, comment):
        text = f": {comment}" if comment else ""
        return Verdict(TRUNCATED, f"refused with 0x{status:04x}{text}")
    return Verdict(FAILED)
