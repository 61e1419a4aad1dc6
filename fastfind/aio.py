"""fastfind's asyncio API: C-FIND from a coroutine, many associations on one event loop.

>>> import asyncio
>>> from fastfind.aio import AsyncFindClient
>>> async def main():  # doctest: +SKIP
...     async with AsyncFindClient("127.0.0.1", 11112, model="study") as client:
...         async for rsp in client.find({"QueryRetrieveLevel": "STUDY", "PatientID": "12*",
...                                       "StudyInstanceUID": None}):
...             print(rsp.number, rsp.json())

The same requests, checks, limits, sinks and exceptions as :class:`fastfind.FindClient`: both
run the protocol state machine of :mod:`fastfind.net.protocol`; only the waiting differs
(:mod:`fastfind.net.aio`). :func:`fastfind.batch.afind_many` runs many queries over a pool of
such associations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from .client import FindOperation, FindResponse, Query, _ClientBase
from .errors import FastFindError
from .net.aio import AioAssociation
from .net.transport import deadline_after

if TYPE_CHECKING:
    from .output.sinks import ResponseSink

__all__ = ["AsyncFindClient", "AsyncFindOperation"]


class AsyncFindOperation(FindOperation):
    """The responses of one C-FIND request, as an async iterator (see :class:`FindOperation`)."""

    client: AsyncFindClient  # type: ignore[assignment]

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise TypeError("use 'async for' with an AsyncFindOperation")

    def __aiter__(self) -> AsyncFindOperation:
        return self

    async def __anext__(self) -> FindResponse:
        if self.final is not None:
            raise StopAsyncIteration
        assoc = self._before_receive()
        opts = self.options
        try:
            ctx, cmd, ds = await assoc.receive_message(
                opts.dimse_timeout, opts.socket_timeout, self._cancel_deadline
            )
        except FastFindError as exc:
            raise self._receive_failed(exc) from None
        return self._take(ctx, cmd, ds)

    async def cancel(self) -> None:  # type: ignore[override]
        """Send C-CANCEL-RQ for this request (once)."""
        if self.cancelled or self.final is not None:
            return
        assoc = self.client._require()
        await assoc.send_message(self.context_id, self.cancel_command(), None,
                                 deadline_after(self.options.socket_timeout))
        self._cancelled()

    def _feed(self, rsp: FindResponse) -> None:
        from .errors import OutputError

        try:
            for sink in self._sinks:
                sink.add(rsp)
        except OutputError as exc:
            self.output_error = exc  # the caller's loop cancels (it can await)

    async def drain(self) -> None:  # type: ignore[override]
        """Cancel (unless finished) and read the remaining responses, discarding them."""
        if self.final is not None:
            return
        self._sinks = []
        await self.cancel()
        async for _ in self:
            pass

    async def pending(self) -> AsyncIterator[FindResponse]:  # type: ignore[override]
        """The pending responses only; the final one is left in :attr:`final`."""
        async for rsp in self:
            if self.output_error is not None and not self.cancelled:
                await self.cancel()
            if rsp.is_pending:
                yield rsp

    async def run(self) -> AsyncFindOperation:  # type: ignore[override]
        """Read every response (the sinks get them); return ``self`` for :meth:`check`."""
        async for _ in self.pending():
            pass
        return self


class AsyncFindClient(_ClientBase):
    """One association on the running event loop, for any number of C-FIND requests.

    Takes the same options as :class:`fastfind.FindClient`; use ``async with``.
    """

    association: AioAssociation | None

    async def open(self) -> AsyncFindClient:
        """Connect and negotiate the association."""
        opts = self.options
        self.association = await AioAssociation.open(
            self.host, self.port, self.requestor(),
            connect_timeout=opts.connect_timeout, acse_timeout=opts.acse_timeout,
            ssl_context=opts.ssl_context, server_hostname=opts.server_hostname,
        )
        return self

    @property
    def is_open(self) -> bool:
        return self.association is not None and not self.association.closed

    async def release(self) -> None:
        """A-RELEASE the association (an unfinished query is cancelled and drained first)."""
        if self.is_open:
            await self._finish_operation()
            assert self.association is not None
            await self.association.release(self.options.acse_timeout)

    def abort(self) -> None:
        """A-ABORT the association (source: service user)."""
        self._operation = None
        if self.association is not None:
            self.association.abort(0, 0)

    async def __aenter__(self) -> AsyncFindClient:
        return await self.open() if self.association is None else self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.is_open:
            return
        if exc_type is None:
            await self.release()
        else:
            self.abort()

    async def start(
        self,
        query: Query | bytes,
        *,
        priority: int | None = None,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
        query_index: int | None = None,
    ) -> AsyncFindOperation:
        """Send one C-FIND-RQ; return the :class:`AsyncFindOperation` over its responses."""
        await self._finish_operation()
        cid, ts, identifier = self.encode(query)
        assoc = self._require()
        msg_id = assoc.take_message_id()
        await assoc.send_message(cid, self.request_command(msg_id, priority), identifier,
                                 deadline_after(self.options.socket_timeout))
        op = AsyncFindOperation(self, msg_id, cid, ts, sinks, query_index)  # type: ignore[arg-type]
        self._operation = op
        return op

    async def _finish_operation(self) -> None:
        op, self._operation = self._operation, None
        if op is not None and op.final is None and self.is_open:
            await op.drain()

    async def find(
        self,
        query: Query | bytes,
        *,
        check: bool = True,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
    ) -> AsyncIterator[FindResponse]:
        """Yield the pending responses of one C-FIND; then, with ``check``, raise on a
        non-Success end. Leaving early cancels and drains the query."""
        op = await self.start(query, sinks=sinks)
        try:
            async for rsp in op.pending():
                yield rsp
        finally:
            if op.final is None and self._operation is op:
                self._operation = None
                if self.is_open:
                    try:
                        await op.drain()
                    except FastFindError:
                        self.abort()
        if check:
            op.check()

    async def run(
        self,
        query: Query | bytes,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
        *,
        check: bool = True,
    ) -> AsyncFindOperation:
        """Run one C-FIND to its end, feeding ``sinks``; return the finished operation."""
        op = await (await self.start(query, sinks=sinks)).run()
        if check:
            op.check()
        return op


async def find(host: str, port: int, query: Query, *, check: bool = True,
               sinks: ResponseSink | Sequence[ResponseSink] | None = None,
               **options: Any) -> AsyncIterator[FindResponse]:
    """Associate, run one C-FIND, yield its pending responses, release (async :func:`fastfind.find`)."""
    async with AsyncFindClient(host, port, **options) as client:
        async for rsp in client.find(query, check=check, sinks=sinks):
            yield rsp
