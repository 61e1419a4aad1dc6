"""Batches on any :class:`concurrent.futures.Executor`: chunks of queries run where the executor
runs them (threads, processes, a Dask cluster), and each worker process keeps its associations
open across tasks.

:func:`run_chunk` is the task: it takes an association from the process's pool (opening one if
none is idle), runs its queries one after another, and puts the association back; an idle
association is released after ``idle_timeout`` seconds. With a ``lease`` (a Dask
``distributed.Semaphore`` name and size) every open association holds one lease, so the number
open to one archive is capped across the whole cluster. :func:`find_many_on` feeds the chunks
to the executor, a bounded number at a time, and yields the results as chunks finish; sinks are
fed in the caller's process.
"""

from __future__ import annotations

import concurrent.futures as cf
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..client import FindClient, Query
from ..errors import FastFindError
from ..options import FindOptions
from .engine import BatchProgress, Progress, QueryResult
from .policy import RetryPolicy, is_transient

if TYPE_CHECKING:
    from ..output.sinks import ResponseSink

Lease = tuple[str, int]  # (semaphore name, max leases)
IDLE_TIMEOUT = 2.0


class _Pooled:
    __slots__ = ("client", "lease", "timer")

    def __init__(self, client: FindClient, lease: Any):
        self.client = client
        self.lease = lease  # the distributed.Semaphore holding one lease for it, or None
        self.timer: threading.Timer | None = None


_lock = threading.Lock()
_idle: dict[tuple[Any, ...], list[_Pooled]] = {}
_semaphores: dict[str, Any] = {}


def _semaphore(lease: Lease) -> Any:
    name, size = lease
    with _lock:
        sem = _semaphores.get(name)
        if sem is None:
            from distributed import Semaphore

            sem = _semaphores[name] = Semaphore(max_leases=size, name=name)
        return sem


def _take(key: tuple[Any, ...], host: str, port: int, options: FindOptions, lease: Lease | None) -> _Pooled:
    with _lock:
        idle = _idle.get(key)
        while idle:
            pooled = idle.pop()
            if pooled.timer is not None:
                pooled.timer.cancel()
            if pooled.client.is_open:
                return pooled
            _give_back_lease(pooled)
    sem = _semaphore(lease) if lease else None
    if sem is not None:
        sem.acquire()
    client = FindClient(host, port, options)
    try:
        client.open()
    except BaseException:
        if sem is not None:
            sem.release()
        raise
    return _Pooled(client, sem)


def _put_back(key: tuple[Any, ...], pooled: _Pooled, idle_timeout: float) -> None:
    if not pooled.client.is_open:
        _give_back_lease(pooled)
        return
    timer = threading.Timer(idle_timeout, _expire, (key, pooled))
    timer.daemon = True
    pooled.timer = timer
    with _lock:
        _idle.setdefault(key, []).append(pooled)
    timer.start()


def _expire(key: tuple[Any, ...], pooled: _Pooled) -> None:
    """An association idle for too long: release it, and its lease."""
    with _lock:
        idle = _idle.get(key, [])
        if pooled not in idle:
            return  # taken again meanwhile
        idle.remove(pooled)
    _close(pooled)


def _close(pooled: _Pooled) -> None:
    try:
        pooled.client.release()
    except FastFindError:
        pooled.client.abort()
    finally:
        _give_back_lease(pooled)


def _give_back_lease(pooled: _Pooled) -> None:
    if pooled.lease is not None:
        lease, pooled.lease = pooled.lease, None
        try:
            lease.release()
        except Exception:
            pass


def close_pool() -> None:
    """Release every idle association of this process (and their leases)."""
    with _lock:
        everything = [p for idle in _idle.values() for p in idle]
        _idle.clear()
    for pooled in everything:
        if pooled.timer is not None:
            pooled.timer.cancel()
        _close(pooled)


def run_chunk(
    host: str,
    port: int,
    options: FindOptions,
    items: Sequence[tuple[int, Query]],
    *,
    lease: Lease | None = None,
    retry: RetryPolicy | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
) -> list[QueryResult]:
    """Run ``items`` (``(index, query)`` pairs) one after another on a pooled association.

    The executor's task: transient failures reopen the association and retry the query after
    a back-off; every other failure is that query's result.
    """
    retry = retry or RetryPolicy()
    rng = random.Random()
    key = (host, port, options, lease)
    pooled: _Pooled | None = None
    results = []
    try:
        for index, query in items:
            result = QueryResult(index, query)
            started = time.monotonic()
            while True:
                result.attempts += 1
                try:
                    if pooled is None:
                        pooled = _take(key, host, port, options, lease)
                    _run_one(pooled.client, result)
                    break
                except FastFindError as exc:
                    if pooled is not None and not pooled.client.is_open:
                        _give_back_lease(pooled)
                        pooled = None
                    if is_transient(exc, result.count) and result.attempts < retry.max_attempts:
                        result.matches.clear()
                        time.sleep(retry.delay(result.attempts, rng))
                        continue
                    result.error = exc
                    break
            result.seconds = time.monotonic() - started
            results.append(result)
    finally:
        if pooled is not None:
            _put_back(key, pooled, idle_timeout)
    return results


def _run_one(client: FindClient, result: QueryResult) -> None:
    op = client.start(result.query, query_index=result.index)
    op.number_per_query = True
    for rsp in op:
        if rsp.is_pending:
            result.count += 1
            result.matches.append(rsp)
        else:
            result.final = rsp
    result.cancelled = op.cancelled


def find_many_on(
    executor: cf.Executor,
    queries: Iterable[Query],
    host: str,
    port: int,
    options: FindOptions | None = None,
    *,
    chunk_size: int = 16,
    max_in_flight: int | None = None,
    lease: Lease | None = None,
    retry: RetryPolicy | None = None,
    sinks: ResponseSink | Sequence[ResponseSink] | None = None,
    keep_matches: bool = True,
    progress: Progress | None = None,
    total: int | None = None,
    concurrency: int | None = None,
    **overrides: Any,
) -> Iterator[QueryResult]:
    """Run ``queries`` in chunks of ``chunk_size`` on ``executor``; yield results as chunks end.

    At most ``max_in_flight`` chunks are submitted at once (default: twice ``concurrency``, or
    8), so the input is read lazily and memory stays bounded.
    """
    from ..client import _with_overrides
    from ..output.sinks import SinkSet

    opts = _with_overrides(options or FindOptions(), overrides)
    if max_in_flight is None:
        max_in_flight = 2 * (concurrency or 4)
    sink_list = SinkSet(list(sinks) if isinstance(sinks, (list, tuple)) else ([sinks] if sinks else []))
    state = BatchProgress(total=total)
    source = enumerate(queries)
    pending: set[cf.Future[list[QueryResult]]] = set()

    def submit() -> bool:
        chunk = list(islice(source, chunk_size))
        if not chunk:
            return False
        pending.add(executor.submit(run_chunk, host, port, opts, chunk, lease=lease, retry=retry))
        return True

    more = True
    try:
        while True:
            while more and len(pending) < max_in_flight:
                more = submit()
            if not pending:
                return
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                for result in future.result():
                    if sink_list:
                        for rsp in result.matches:
                            sink_list.add(rsp)
                    if not keep_matches:
                        result.matches = []
                    state.done += 1
                    state.responses += result.count
                    state.retries += result.attempts - 1
                    if result.ok:
                        state.ok += 1
                    else:
                        state.failed += 1
                    if progress is not None:
                        progress(state)
                    yield result
    finally:
        for future in pending:
            future.cancel()
