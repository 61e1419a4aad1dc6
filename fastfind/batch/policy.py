"""What a batch does when a query or an association fails: retry, back off, fewer associations.

Transient failures are retried with exponential back-off and full jitter; permanent ones never
are. Transient (``../shared/reference/hostile-scp.md``; PS3.8 §9.3.4): the connection refused,
reset or timed out; A-ASSOCIATE-RJ *rejected-transient* (result 2: "temporary congestion",
"local limit exceeded"); the peer aborting or closing the association before the first response
of the query. Everything else -- a permanent rejection, a protocol violation, a failure status,
an abort after responses arrived -- is the query's result, reported and never retried (a retry
could duplicate responses already delivered).

An archive that limits associations per calling AE answers the excess with rejected-transient:
:class:`Governor` then lowers the number of associations to what is open (additive increase
again after a run of successes), so the batch goes on with fewer, instead of failing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import AssociationRejected, ConnectError, FastFindError, PeerAborted


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried.

    Attempt *k* (1-based) waits ``uniform(0, min(max_delay, base_delay * 2**(k-1)))`` seconds
    ("full jitter") before the next one; ``max_attempts`` includes the first.
    """

    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        cap = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return (rng or random).uniform(0, cap)


def is_transient(exc: BaseException, responses: int = 0) -> bool:
    """Whether ``exc`` (after ``responses`` responses of the query) is worth a retry."""
    if isinstance(exc, AssociationRejected):
        return exc.result == 2
    if isinstance(exc, ConnectError):
        return "unknown host" not in str(exc)
    if isinstance(exc, PeerAborted):  # includes ConnectionClosed
        return responses == 0
    return False


def is_association_limit(exc: BaseException) -> bool:
    """A rejected-transient answer: the archive wants fewer associations from us."""
    return isinstance(exc, AssociationRejected) and exc.result == 2


class Governor:
    """How many associations may be open at once: starts at ``limit``; a rejected-transient
    sets it to the number open (at least 1); ``grow_after`` successes in a row add one back."""

    def __init__(self, limit: int, grow_after: int = 32):
        self.limit = max(1, limit)
        self.target = self.limit
        self.open = 0
        self.grow_after = grow_after
        self._streak = 0
        self._cond = asyncio.Condition()
        self.reductions = 0

    async def acquire(self, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Wait for room for one more open association and take it; ``False`` (nothing taken)
        once ``give_up()`` is true (checked whenever :meth:`wake` is called)."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.open < self.target or give_up())
            if self.open < self.target:
                self.open += 1
                return True
            return False

    async def wake(self) -> None:
        """Let waiters check their ``give_up`` condition."""
        async with self._cond:
            self._cond.notify_all()

    async def release(self) -> None:
        async with self._cond:
            self.open -= 1
            self._cond.notify_all()

    async def rejected(self) -> None:
        """The peer refused an association as over its limit (the caller's slot is released)."""
        async with self._cond:
            self._streak = 0
            new = max(1, self.open)
            if new < self.target:
                self.target = new
                self.reductions += 1

    async def succeeded(self) -> None:
        async with self._cond:
            self._streak += 1
            if self._streak >= self.grow_after and self.target < self.limit:
                self.target += 1
                self._streak = 0
                self._cond.notify_all()


def result_code(exc: FastFindError | None, status_code: int) -> int:
    """The exit code a query's outcome stands for (hostile-scp.md §6.3)."""
    if exc is not None:
        return exc.exit_code
    return status_code
