"""The synchronous face of the batch engine: a generator over the asyncio pool.

The event loop that multiplexes the associations runs in one helper thread; each ``next()``
takes one finished :class:`~fastfind.batch.engine.QueryResult` from it. While the caller works
on a result the loop goes on, until ``2 * concurrency`` results wait -- then the workers stop
reading and TCP slows the peers down. Deadlines are the loop's: a slow caller cannot make a
query time out. Closing the generator (or an exception in the caller) aborts what is in flight.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from ..client import Query
from ..errors import UsageError
from ..options import FindOptions
from .engine import QueryResult, afind_many


def find_many(
    queries: Iterable[Query],
    host: str,
    port: int,
    options: FindOptions | None = None,
    *,
    executor: Any = None,
    **kwargs: Any,
) -> Iterator[QueryResult]:
    """Run many queries over a pool of associations; yield each :class:`QueryResult` as its
    query ends (completion order; ``result.index`` is the input position).

    ``concurrency`` (default 4) associations, each reused for many queries; transient failures
    retried (``retry=RetryPolicy(...)``); rejected-transient answers lower the number of
    associations; ``sinks``, ``keep_matches``, ``progress`` as in :func:`afind_many`.
    ``executor`` (any :class:`concurrent.futures.Executor`, e.g. a Dask client's
    ``get_executor()``) runs the queries there instead, in chunks: see :mod:`fastfind.batch.pool`.
    """
    if executor is not None:
        from .pool import find_many_on

        planned = [k for k in ("split_by", "expect_cap", "crawl", "checkpoint", "outputs")
                   if kwargs.get(k) is not None]
        if planned:
            raise UsageError(f"{', '.join(planned)}: not available with executor= (planned "
                             "batches run on this process's event loop)")

        yield from find_many_on(executor, queries, host, port, options, **kwargs)
        return
    runner = _LoopThread()
    agen = afind_many(queries, host, port, options, **kwargs)
    try:
        while True:
            try:
                yield runner.call(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        try:
            runner.call(agen.aclose())
        finally:
            runner.stop()


class _LoopThread:
    """An event loop in a daemon thread; :meth:`call` runs a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fastfind-batch-loop", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def call(self, coro: Any) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        loop = self.loop

        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        except Exception:
            pass
        loop.call_soon_threadsafe(loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            loop.close()
