"""Many C-FIND queries over a pool of associations on one event loop (PS3.4 C.4.1).

``concurrency`` workers share one asyncio loop; each keeps its association open for query after
query, and reopens it when the peer drops it. Queries are taken from the input lazily (at most
``2 * concurrency`` are in flight, however long the input), results come out as each query
ends, in completion order, each tagged with the query's index. A failed query is a result, not
the end of the batch; transient failures are retried (:mod:`fastfind.batch.policy`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..aio import AsyncFindClient
from ..client import FindResponse, Query
from ..dicom import status as st
from ..errors import (
    EXIT_FAILURE_STATUS,
    EXIT_OK,
    EXIT_WARNING_STATUS,
    FastFindError,
    OutputError,
)
from ..options import FindOptions, OutputOptions
from .policy import Governor, RetryPolicy, is_association_limit, is_transient

if TYPE_CHECKING:
    from ..output.sinks import ResponseSink


@dataclass
class QueryResult:
    """How one query of a batch ended.

    ``index`` is the query's position in the input (0-based; the CLI's row is ``index + 1``).
    ``matches`` are its pending responses (empty with ``keep_matches=False``; ``count`` is
    always the number received). ``final`` is the final response (``None`` if none came),
    ``error`` the failure that ended it (``None`` if it ended with a final status).
    """

    index: int
    query: Any
    matches: list[FindResponse] = field(default_factory=list)
    count: int = 0
    final: FindResponse | None = None
    error: FastFindError | None = None
    attempts: int = 0
    seconds: float = 0.0
    cancelled: bool = False  #: we cancelled it (a sink failed, or the caller asked)
    notes: list[str] = field(default_factory=list)  #: truncation and split reports, ...
    #: planned batches (:mod:`fastfind.batch.plan`): the query's name -- its row (``index + 1``)
    #: as text, or for a crawl child ``<parent id>/<k>`` -- and its parent's, and its level
    id: str = ""
    parent: str | None = None
    level: str | None = None
    incomplete: bool = False  #: a cap could not be split away: some matches are missing
    resumed: bool = False  #: it ended in an earlier run (read back from the checkpoint)
    #: (exit code, reason, final status) read back from the checkpoint
    recorded: tuple[int, str, int | None] | None = None

    @property
    def status(self) -> int | None:
        if self.final is None and self.recorded is not None:
            return self.recorded[2]
        return self.final.status if self.final is not None else None

    @property
    def exit_code(self) -> int:
        """0 if the query completed; otherwise its code of ``hostile-scp.md`` §6.3."""
        if self.recorded is not None:
            return self.recorded[0]
        if self.error is not None:
            return self.error.exit_code
        if self.final is None:
            return EXIT_FAILURE_STATUS
        cat = self.final.category
        if self.incomplete and cat == st.SUCCESS:
            return EXIT_WARNING_STATUS  # a silent cap: "Success", and matches are missing
        if cat == st.SUCCESS or (cat == st.CANCEL and self.cancelled):
            return EXIT_OK
        return EXIT_WARNING_STATUS if cat in (st.CANCEL, st.WARNING) else EXIT_FAILURE_STATUS

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def reason(self) -> str:
        """One line: why it did not complete ('' if it did)."""
        if self.recorded is not None:
            return self.recorded[1]
        if self.error is not None:
            return str(self.error)
        if self.final is None:
            return "no final response"
        if self.ok:
            return ""
        if self.incomplete:
            loud = [n for n in self.notes if n.startswith("incomplete")]
            return loud[-1] if loud else "incomplete: capped by the server"
        comment = f": {self.final.error_comment}" if self.final.error_comment else ""
        return f"final status 0x{self.final.status:04x} ({self.final.status_text}){comment}"


Progress = Callable[["BatchProgress"], None]


@dataclass
class BatchProgress:
    """What a progress callback sees after each query (and each retry)."""

    done: int = 0
    total: int | None = None
    ok: int = 0
    failed: int = 0
    responses: int = 0
    retries: int = 0
    associations: int = 0
    finds: int = 0  #: C-FIND requests run (planned batches: parts and crawl children too)
    splits: int = 0  #: parts split in halves because the server capped them
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Queries per second so far."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.total is None or not self.done:
            return None
        return (self.total - self.done) / self.rate if self.rate else None


class _Item:
    __slots__ = ("index", "query", "attempts", "started")

    def __init__(self, index: int, query: Any):
        self.index = index
        self.query = query
        self.attempts = 0
        self.started = 0.0


async def afind_many(
    queries: Iterable[Query] | AsyncIterable[Query],
    host: str,
    port: int,
    options: FindOptions | None = None,
    *,
    concurrency: int = 4,
    retry: RetryPolicy | None = None,
    sinks: ResponseSink | Sequence[ResponseSink] | None = None,
    keep_matches: bool = True,
    progress: Progress | None = None,
    total: int | None = None,
    seed: int | None = None,
    split_by: str | None = None,
    expect_cap: int | None = None,
    crawl: str | None = None,
    checkpoint: Any = None,
    outputs: OutputOptions | None = None,
    fields: Sequence[str] = (),
    round_caps: bool = True,
    **overrides: Any,
) -> AsyncIterator[QueryResult]:
    """Run every query of ``queries`` against ``host:port``; yield a :class:`QueryResult` per
    query as it ends. ``options``/``overrides`` are :class:`fastfind.FindClient`'s; ``sinks``
    get every pending response (with ``rsp.query`` set); ``progress`` is called with a
    :class:`BatchProgress` after each query; ``total`` (if known) is shown there.

    Planned batches (:mod:`fastfind.batch.plan`) -- any of ``split_by`` (a DA/TM/DT key:
    capped answers are completed by bisecting its range), ``expect_cap`` (the server's known
    cap), ``crawl`` (``"STUDY"``/``"SERIES"``/``"IMAGE"``: one query per parent, down to that
    level), ``checkpoint`` (a file: resume where an interrupted run stopped) or ``outputs`` (an
    :class:`~fastfind.options.OutputOptions` whose files fastfind manages) -- give the sinks only
    complete answers, numbered per query and without duplicates, and yield one merged result
    per query (crawl children as results of their own, with ``parent`` set)."""
    if split_by or expect_cap or crawl or checkpoint is not None or outputs is not None:
        from .plan import Planner, PlanOptions

        plan = PlanOptions(split_by=split_by, expect_cap=expect_cap, crawl=crawl,
                           checkpoint=checkpoint, outputs=outputs, fields=tuple(fields),
                           round_caps=round_caps)
        planner = Planner(queries, host, port, options, overrides, plan, concurrency=concurrency,
                          retry=retry or RetryPolicy(), sinks=sinks, keep_matches=keep_matches,
                          progress=progress, total=total, seed=seed)
        run = planner.run()
        try:
            async for result in run:
                yield result
        finally:
            await run.aclose()  # closing this generator records what is complete
        return
    engine = _Engine(queries, host, port, options, overrides, concurrency, retry or RetryPolicy(),
                     sinks, keep_matches, progress, total, random.Random(seed))
    async for result in engine.run():
        yield result


class _Engine:
    def __init__(self, queries: Any, host: str, port: int, options: FindOptions | None,
                 overrides: dict[str, Any], concurrency: int, retry: RetryPolicy, sinks: Any,
                 keep_matches: bool, progress: Progress | None, total: int | None,
                 rng: random.Random):
        self.queries = queries
        self.host, self.port = host, port
        self.client_args = (options, overrides)
        AsyncFindClient(host, port, options, **overrides)  # UsageError now, not in a worker
        self.concurrency = max(1, concurrency)
        self.retry = retry
        self.sinks = sinks
        self.keep_matches = keep_matches
        self.progress_cb = progress
        self.progress = BatchProgress(total=total)
        self.rng = rng
        self.governor = Governor(self.concurrency)
        # queries in flight (queued, running, waiting for a retry) are bounded: the input is
        # read only as fast as the queries end
        self.slots = asyncio.Semaphore(2 * self.concurrency)
        self.work: asyncio.Queue[_Item | None] = asyncio.Queue()
        self.outbox: asyncio.Queue[QueryResult | BaseException | None] = asyncio.Queue(2 * self.concurrency)
        self.in_flight = 0
        self.fed_all = False
        self.all_done = False
        self.stop = False

    async def run(self) -> AsyncIterator[QueryResult]:
        feeder = asyncio.create_task(self._feed())
        workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        finished = 0
        try:
            while finished < len(workers):
                item = await self.outbox.get()
                if item is None:
                    finished += 1
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield item
            await feeder
        finally:
            self.stop = True
            for task in (feeder, *workers):
                task.cancel()
            await asyncio.gather(feeder, *workers, return_exceptions=True)

    async def _feed(self) -> None:
        try:
            index = 0
            if hasattr(self.queries, "__aiter__"):
                async for query in self.queries:
                    await self._put(_Item(index, query))
                    index += 1
            else:
                for query in self.queries:
                    await self._put(_Item(index, query))
                    index += 1
        except Exception as exc:  # an input that cannot be read ends the batch, loudly
            await self.outbox.put(exc)
        finally:
            self.fed_all = True
            self._maybe_done()

    async def _put(self, item: _Item) -> None:
        await self.slots.acquire()
        self.in_flight += 1
        self.work.put_nowait(item)

    def _finished(self) -> None:
        """One query is reported: its slot is free again."""
        self.in_flight -= 1
        self.slots.release()
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self.fed_all and self.in_flight == 0 and not self.all_done:
            self.all_done = True
            for _ in range(self.concurrency):
                self.work.put_nowait(None)  # every worker stops
            asyncio.get_running_loop().create_task(self.governor.wake())

    async def _worker(self) -> None:
        # A worker first holds an association slot (the governor's), then takes work: a query
        # never waits for an association while an idle association waits for a query.
        client: AsyncFindClient | None = None
        holding = False
        try:
            while not self.stop:
                if client is None or not client.is_open:
                    client = None
                    if not holding:
                        if not await self.governor.acquire(lambda: self.all_done):
                            break
                        holding = True
                item = await self.work.get()
                if item is None:
                    break
                if client is None:
                    client = await self._open(item)
                    if client is None:
                        holding = False  # _open gave the slot back
                        continue
                result = await self._run_query(client, item)
                if result is not None:  # None: requeued for a retry
                    await self._report(result)
            if client is not None and client.is_open:
                try:
                    await client.release()
                except FastFindError:
                    client.abort()
            if holding:
                await self.governor.release()
        except asyncio.CancelledError:  # the batch was stopped (closed, interrupted): abort
            if client is not None:
                client.abort()
            raise
        except Exception as exc:  # a bug or a sink failure that ends the batch
            if client is not None:
                client.abort()
            if holding:
                await self.governor.release()
            await self.outbox.put(exc)
        await self.outbox.put(None)

    async def _open(self, item: _Item) -> AsyncFindClient | None:
        """An association for ``item``, in the slot the worker holds (``None``: the slot is
        given back and the item requeued or reported)."""
        options, overrides = self.client_args
        client = AsyncFindClient(self.host, self.port, options, **overrides)
        try:
            await client.open()
            self.progress.associations += 1
            return client
        except FastFindError as exc:
            item.attempts += 1  # a try that failed before the query was sent
            await self.governor.release()
            if is_association_limit(exc):
                await self.governor.rejected()
            if is_transient(exc) and item.attempts < self.retry.max_attempts:
                await self._retry_later(item)
                return None
            await self._report(QueryResult(item.index, item.query, error=exc, attempts=item.attempts))
            return None

    async def _run_query(self, client: AsyncFindClient, item: _Item) -> QueryResult | None:
        if not item.started:
            item.started = time.monotonic()
        item.attempts += 1  # one try: this run (failed opens before it were tries too)
        result = QueryResult(item.index, item.query, attempts=item.attempts)
        op = None
        try:
            op = await client.start(item.query, sinks=self.sinks, query_index=item.index)
            op.number_per_query = True
            self.progress.finds += 1
            async for rsp in op:
                if op.output_error is not None and not op.cancelled:
                    await op.cancel()
                if rsp.is_pending:
                    result.count += 1
                    if self.keep_matches:
                        result.matches.append(rsp)
                else:
                    result.final = rsp
            result.cancelled = op.cancelled
            if op.output_error is not None:
                raise op.output_error
            await self.governor.succeeded()
        except OutputError:
            raise  # an output that cannot be written ends the batch (nothing would be kept)
        except FastFindError as exc:
            if is_transient(exc, result.count) and item.attempts < self.retry.max_attempts:
                await self._retry_later(item)
                return None
            result.error = exc
        result.seconds = time.monotonic() - item.started
        return result

    async def _retry_later(self, item: _Item) -> None:
        self.progress.retries += 1
        delay = self.retry.delay(item.attempts, self.rng)
        self._tick()

        async def later() -> None:
            await asyncio.sleep(delay)
            self.work.put_nowait(item)

        asyncio.get_running_loop().create_task(later())

    async def _report(self, result: QueryResult) -> None:
        p = self.progress
        p.done += 1
        p.responses += result.count
        if result.ok:
            p.ok += 1
        else:
            p.failed += 1
        self._tick()
        await self.outbox.put(result)
        self._finished()

    def _tick(self) -> None:
        if self.progress_cb is not None:
            self.progress_cb(self.progress)
