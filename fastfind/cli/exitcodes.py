"""The exit code of a fastfind run: one pure function over what happened (``hostile-scp.md`` §6.3).

Where DCMTK findscu 3.6.7 exits non-zero, fastfind uses DCMTK's code (1 usage or local set-up,
2 no association); where DCMTK exits 0 although the query failed or data was lost, fastfind uses
DCMTK's newer convention (``ofstd/ofexit.h``). ``--dcmtk-exit-codes`` gives DCMTK's 0 back for
everything after the association was established.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import (
    EXIT_FAILURE_STATUS,
    EXIT_NO_ASSOCIATION,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    EXIT_WARNING_STATUS,
    EXIT_WRITE,
)

#: How bad each code is, for a batch that must report the worst of many queries: local data
#: loss first, then a broken association or protocol, then timeouts, failures, warnings.
SEVERITY = {
    EXIT_OK: 0,
    EXIT_WARNING_STATUS: 1,
    EXIT_FAILURE_STATUS: 2,
    EXIT_TIMEOUT: 3,
    EXIT_NO_ASSOCIATION: 4,
    EXIT_PROTOCOL: 5,
    EXIT_USAGE: 6,
    EXIT_WRITE: 7,
}


@dataclass
class Outcome:
    """What a run ended with; each field set by the part of the run that saw it."""

    failure_code: int = EXIT_OK  #: the association failed, or its release did (with the reason)
    failure_reason: str = ""
    write_error: str | None = None  #: an output could not be written (the first error)
    status_code: int = EXIT_OK  #: the worst unexpected final status (68 Warning/Cancel, 69 Failure)
    status_reason: str = ""

    def note_status(self, code: int, reason: str) -> None:
        if SEVERITY.get(code, 0) > SEVERITY.get(self.status_code, 0):
            self.status_code, self.status_reason = code, reason


def exit_code(outcome: Outcome, dcmtk_exit_codes: bool = False) -> tuple[int, str]:
    """``(code, reason)``: a lost output beats everything (data the user asked for is missing),
    then the association's failure, then the final statuses."""
    if outcome.write_error is not None:
        code, reason = EXIT_WRITE, outcome.write_error
    elif outcome.failure_code:
        code, reason = outcome.failure_code, outcome.failure_reason
    else:
        code, reason = outcome.status_code, outcome.status_reason
    if code and dcmtk_exit_codes and code != EXIT_NO_ASSOCIATION:
        code = EXIT_OK  # DCMTK findscu exits 0 for everything after the association was set up
    return code, reason


def worst(codes: list[int]) -> int:
    """The most severe of several exit codes (a batch's)."""
    return max(codes, key=lambda c: SEVERITY.get(c, 5), default=EXIT_OK)


__all__ = ["Outcome", "exit_code", "worst", "SEVERITY", "EXIT_PROTOCOL", "EXIT_TIMEOUT"]
