"""The asyncio driver of the requestor state machine (:mod:`fastfind.net.protocol`).

Many associations share one event loop in one thread; each is an asyncio ``BufferedProtocol``
whose received bytes go straight into its :class:`~fastfind.net.protocol.Requestor` (no stream
buffer in between). Every wait has an absolute deadline, as in the blocking driver
(:mod:`fastfind.net.association`), whose texts and exceptions this module shares: the protocol
decisions are the Requestor's. Reading pauses while more than :data:`HIGH_WATER` events wait to
be taken, so a slow consumer slows the peer down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
from typing import Any

from ..errors import (
    AssociationTimeout,
    ConnectError,
    ConnectionClosed,
    DimseTimeout,
    NoAcceptableContext,
    PeerAborted,
    ProtocolError,
    ReleaseTimeout,
    TLSError,
)
from .protocol import ARTIM_SECONDS, RECV_BUFFER, AssociationView, Requestor, a_abort, to_send
from .transport import Deadline, TLSClosed, _strerror, deadline_after, earliest

HIGH_WATER = 4096  #: events waiting before reading pauses
LOW_WATER = 1024  #: ... and resumes


class _Wire(asyncio.BufferedProtocol):
    """Bytes from the loop into the Requestor; wakes the one coroutine waiting on them."""

    def __init__(self, requestor: Requestor):
        self.requestor = requestor
        self._buf = bytearray(RECV_BUFFER)
        self._view = memoryview(self._buf)
        self.transport: asyncio.Transport | None = None
        self.fault: BaseException | None = None  # raised by Requestor.feed
        self.lost: BaseException | None = None  # why the connection ended (set once it did)
        self.ended = False
        self.reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._write_paused = False

    # -- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        if self.fault is None:
            try:
                self.requestor.feed(self._view[:nbytes])
            except ProtocolError as exc:
                self.fault = exc
        if len(self.requestor.events) > HIGH_WATER or self.fault is not None:
            self._pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        return False  # close the transport: the peer is gone (PS3.8 Evt17)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.ended = True
        self.lost = exc
        self._wake()
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- for the driver
    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.ended:
            self.reading_paused = True
            self.transport.pause_reading()

    def taken(self) -> None:
        """An event was taken: resume reading below the low-water mark."""
        if self.reading_paused and self.fault is None and len(self.requestor.events) < LOW_WATER:
            self.reading_paused = False
            if self.transport is not None and not self.ended:
                self.transport.resume_reading()

    async def wait(self, deadline: float | None) -> None:
        """Until more bytes arrive, the connection ends, or ``deadline`` passes (:class:`Deadline`)."""
        if self.ended:
            return
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        if self.reading_paused:
            self.taken()
        try:
            if deadline is None:
                await waiter
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Deadline("deadline expired")
                await asyncio.wait_for(waiter, left)
        except asyncio.TimeoutError:
            raise Deadline("network read timeout") from None
        finally:
            if self._waiter is waiter:
                self._waiter = None

    async def writable(self, deadline: float | None) -> None:
        """Until the transport's write buffer drained below its limit (or the deadline)."""
        if not self._write_paused or self.ended:
            return
        waiter = self._writable = asyncio.get_running_loop().create_future()
        try:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise Deadline("network write timeout")
            await asyncio.wait_for(waiter, left)
        except asyncio.TimeoutError:
            raise Deadline("network write timeout") from None


async def connect(
    host: str,
    port: int,
    requestor: Requestor,
    timeout: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.Transport, _Wire]:
    """Open a TCP connection (and run the TLS handshake) within ``timeout`` seconds; the same
    errors and texts as :meth:`fastfind.net.transport.Transport.connect`."""
    loop = asyncio.get_running_loop()
    wire = _Wire(requestor)
    try:
        await loop.getaddrinfo(host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ConnectError(f"Attempt to connect to unknown host: {host}") from None
    kwargs: dict[str, Any] = {}
    if ssl_context is not None:
        kwargs = {"ssl": ssl_context, "server_hostname": server_hostname or ""}
    try:
        make = loop.create_connection(lambda: wire, host, port, **kwargs)
        transport, _ = await (make if timeout is None or timeout <= 0 else asyncio.wait_for(make, timeout))
    except asyncio.TimeoutError:
        if ssl_context is not None:
            raise TLSError("TLS handshake timed out") from None
        raise ConnectError("TCP Initialization Error: Connection timed out") from None
    except ssl.SSLCertVerificationError as exc:
        raise TLSError(f"TLS handshake failed: {exc.verify_message or exc.reason or exc}") from None
    except ssl.SSLError as exc:
        raise TLSError(f"TLS handshake failed: {exc.reason or exc}") from None
    except OSError as exc:  # asyncio words it "Connect call failed (...)": say why, as DCMTK
        reason = os.strerror(exc.errno) if exc.errno else _strerror(exc)
        raise ConnectError(f"TCP Initialization Error: {reason}") from None
    return transport, wire  # type: ignore[return-value]


class AioAssociation(AssociationView):
    """An established association on the event loop (the blocking :class:`Association`'s twin)."""

    def __init__(self, transport: asyncio.Transport, wire: _Wire, protocol: Requestor):
        self._transport = transport
        self.wire = wire
        self.protocol = protocol
        self._closed = False

    @property
    def transport(self) -> AioAssociation:
        return self  # ``assoc.transport.closed``, as the blocking API spells it

    @property
    def closed(self) -> bool:
        """Closed by us, or by the peer with nothing left to read (its last PDUs are still
        delivered: an A-ABORT after two responses is read as such)."""
        if self._closed:
            return True
        wire = self.wire
        return wire.ended and not self.protocol.events and wire.fault is None

    # ---- establishment ----------------------------------------------------------------------
    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        protocol: Requestor,
        *,
        connect_timeout: float | None = None,
        acse_timeout: float | None = 30,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> AioAssociation:
        """Connect and run ``protocol``'s association establishment (PS3.8 Sta4-Sta6)."""
        transport, wire = await connect(host, port, protocol, connect_timeout, ssl_context, server_hostname)
        assoc = cls(transport, wire, protocol)
        deadline = deadline_after(acse_timeout)
        try:
            await assoc._send(protocol.associate_rq(), deadline)
            protocol.on_establishment(await assoc._next_event(deadline))
        except Deadline:
            assoc.abort(0, 0)
            raise AssociationTimeout("Association Request Failed: timeout waiting for A-ASSOCIATE-AC") from None
        except TLSClosed as exc:
            assoc.close()
            raise TLSError(f"TLS connection failed before A-ASSOCIATE-AC: {exc}") from None
        except ConnectionClosed as exc:
            assoc.close()
            raise PeerAborted(f"Association Request Failed: {exc}") from None
        except NoAcceptableContext:
            try:
                await assoc.release(ARTIM_SECONDS)
            except Exception:
                assoc.close()
            raise
        except ProtocolError as exc:
            assoc._fault(exc)
            raise
        except BaseException:
            assoc.close()
            raise
        return assoc

    # ---- data transfer ----------------------------------------------------------------------
    async def send_message(
        self, context_id: int, command: bytes, dataset: bytes | None, deadline: float | None
    ) -> None:
        """Send one DIMSE message as P-DATA-TF PDUs (PS3.8 Annex E)."""
        try:
            await self._send(self.protocol.message_pdus(context_id, command, dataset), deadline)
        except Deadline:
            self.abort(0, 0)
            raise DimseTimeout("DIMSE timeout while sending") from None
        except ConnectionClosed:
            self.close()
            raise

    async def receive_message(
        self, timeout: float | None, pdu_timeout: float | None = None, until: float | None = None
    ) -> tuple[int, dict[int, Any], bytes | None]:
        """The next DIMSE message ``(context_id, command, dataset | None)``; see the blocking
        :meth:`Association.receive_message`."""
        protocol = self.protocol
        if protocol.message_ready:
            event = protocol.events.popleft()
            self.wire.taken()
            return event[1], event[2], event[3]
        deadline = earliest(deadline_after(timeout), until)
        try:
            return protocol.on_data_transfer(await self._next_event(deadline, pdu_timeout))
        except Deadline:
            self.abort(0, 0)
            raise DimseTimeout("DIMSE No data available (timeout)") from None
        except ConnectionClosed as exc:
            self.close()
            raise ConnectionClosed(f"Peer aborted Association (or never connected): {exc}") from None
        except ProtocolError as exc:
            self._fault(exc)
            raise

    async def _next_event(self, deadline: float | None, pdu_timeout: float | None = None) -> tuple[Any, ...]:
        protocol, wire = self.protocol, self.wire
        chunk_deadline = None
        while True:
            event = protocol.next_event()
            if event is not None:
                wire.taken()
                return event
            if wire.fault is not None:
                exc, wire.fault = wire.fault, None
                raise exc
            if wire.ended:
                if isinstance(wire.lost, ssl.SSLError):
                    raise TLSClosed(f"TLS error while reading: {wire.lost.reason or wire.lost}")
                if wire.lost is not None:
                    raise ConnectionClosed(f"connection lost: {_strerror(wire.lost)}")  # type: ignore[arg-type]
                raise ConnectionClosed("Peer closed the connection")
            if pdu_timeout:
                chunk_deadline = deadline_after(pdu_timeout) if chunk_deadline is None else chunk_deadline
            await wire.wait(earliest(deadline, chunk_deadline))
            if protocol.idle:
                chunk_deadline = None

    async def _send(self, data: bytes, deadline: float | None) -> None:
        if self._closed or self.wire.ended:
            raise ConnectionClosed("connection lost while sending: the connection is closed")
        self._transport.write(data)
        await self.wire.writable(deadline)
        if self.wire.ended and self.wire.lost is not None:
            raise ConnectionClosed(f"connection lost while sending: {self.wire.lost}")

    # ---- teardown ---------------------------------------------------------------------------
    async def release(self, acse_timeout: float | None = 30) -> None:
        """A-RELEASE-RQ, then wait for A-RELEASE-RP (PS3.8 Sta7)."""
        protocol = self.protocol
        deadline = deadline_after(acse_timeout)
        try:
            await self._send(protocol.release_rq(), deadline)
            while True:
                answer = protocol.on_release(await self._next_event(deadline))
                if answer is None:
                    continue
                if answer:
                    await self._send(answer, deadline)
                break
        except Deadline:
            self.abort(0, 0)
            raise ReleaseTimeout("timeout waiting for A-RELEASE-RP") from None
        except ConnectionClosed:
            pass
        except ProtocolError as exc:
            self._fault(exc)
            raise
        finally:
            self.close()

    def abort(self, source: int = 0, reason: int = 0) -> None:
        """Send A-ABORT and close (the loop flushes it; the close is bounded by ARTIM)."""
        self._abort_pdu(a_abort(source, reason))

    def _abort_pdu(self, pdu: bytes) -> None:
        if self._closed:
            return
        try:
            self._transport.write(pdu)
        except Exception:
            pass
        self.close()

    def close(self) -> None:
        """Close the transport (idempotent); a peer that does not read is cut off after ARTIM."""
        self.protocol.state = "Sta1"
        self._closed = True
        transport = self._transport
        if transport.is_closing():
            return
        transport.close()
        loop = asyncio.get_event_loop()
        loop.call_later(ARTIM_SECONDS, transport.abort)

    def _fault(self, exc: ProtocolError) -> None:
        send = to_send(exc)
        if send is None:
            self.close()
        else:
            self._abort_pdu(send)
