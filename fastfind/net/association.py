"""The blocking driver of the requestor state machine (:mod:`fastfind.net.protocol`).

One socket, one thread, absolute deadlines on every wait, nothing in the background, no polling.
The protocol decisions (PS3.8 §9.2 transitions, A-ABORT contents, DCMTK's texts) are
:class:`~fastfind.net.protocol.Requestor`'s; this module only moves bytes and keeps time.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

from .. import codec
from ..errors import (
    AssociationTimeout,
    ConnectionClosed,
    DimseTimeout,
    NoAcceptableContext,
    PeerAborted,
    ProtocolError,
    ReleaseTimeout,
    TLSError,
)
from .negotiation import ProposedContext
from .protocol import (  # noqa: F401  (re-exported: the association's vocabulary)
    A_RELEASE_RP,
    A_RELEASE_RQ,
    ABORT_REASON,
    ABORT_SOURCE,
    ARTIM_SECONDS,
    RECV_BUFFER,
    RJ_REASON,
    RJ_RESULT,
    RJ_SOURCE,
    AssociationView,
    Requestor,
    a_abort,
    describe_reject,
    to_send,
)
from .transport import Deadline, TLSClosed, Transport, deadline_after, earliest

log = logging.getLogger("fastfind")
EV_MESSAGE = codec.EV_MESSAGE


#: The ``-ts`` value to report at debug level when the connection's socket timeouts are set
#: (DCMTK's global ``dcmSocketSendTimeout``/``dcmSocketReceiveTimeout``, logged by
#: ``DcmTCPConnection``); ``None``: nothing is logged. The CLI sets it.
SOCKET_TIMEOUT_SHOWN: int | None = None


def _debug_request() -> None:
    """DCMTK's debug lines between connecting and sending the A-ASSOCIATE-RQ."""
    seconds = SOCKET_TIMEOUT_SHOWN
    if seconds is not None and seconds >= 0:
        shown = "0 (infinite)" if seconds == 0 else f"{seconds} seconds"
        log.debug(f"setting network send timeout to {shown}")
        log.debug(f"setting network receive timeout to {shown}")
    log.debug("Constructing Associate RQ PDU")


def _debug_accept(body: bytes) -> None:
    """DUL's ``dump_pdu`` of the A-ASSOCIATE-AC (at most 512 bytes in hex) and the parse line."""
    pdu = struct.pack(">BBL", 2, 0, len(body)) + body
    out = [f"PDU Type: Associate Accept, PDU Length: {len(body)} + 6 bytes PDU header\n"]
    if len(pdu) > 512:
        out.append("Only dumping 512 bytes.\n")
    shown = pdu[:512]
    for i in range(0, len(shown), 16):
        out.append("".join(f"  {b:02x}" for b in shown[i : i + 16]) + ("\n" if i + 16 <= len(shown) else ""))
    log.debug("".join(out))
    if len(body) >= 2 and body[1] & 1:  # DICOM protocol version bit (PS3.8 §9.3.3)
        log.debug("Parsing an A-ASSOCIATE PDU")


class Association(AssociationView):
    """An established association: send DIMSE messages, receive them, release or abort.

    Create with :meth:`request`. Attributes after acceptance: :attr:`accepted` (the negotiated
    contexts), :attr:`peer_max_pdu`.
    """

    def __init__(self, transport: Transport, protocol: Requestor):
        self.transport = transport
        self.protocol = protocol
        self.ac_pdu: bytes | None = None  #: the A-ASSOCIATE-AC body, for the -d dump
        self._buf = bytearray(RECV_BUFFER)
        self._view = memoryview(self._buf)

    # ---- establishment ----------------------------------------------------------------------
    @classmethod
    def request(
        cls,
        transport: Transport,
        calling_ae: str,
        called_ae: str,
        contexts: list[ProposedContext],
        *,
        max_pdu: int = 16384,
        acse_timeout: float | None = 30,
        implementation_class_uid: str,
        implementation_version_name: str,
        max_command: int = 65536,
        max_dataset: int = 64 << 20,
        user_items: list[Any] | None = None,
    ) -> Association:
        """Send A-ASSOCIATE-RQ and wait (``acse_timeout``) for AC/RJ (PS3.8 Sta5)."""
        protocol = Requestor(
            calling_ae, called_ae, contexts, max_pdu=max_pdu,
            implementation_class_uid=implementation_class_uid,
            implementation_version_name=implementation_version_name,
            max_command=max_command, max_dataset=max_dataset, user_items=user_items,
        )
        return cls.open(transport, protocol, acse_timeout)

    @classmethod
    def open(cls, transport: Transport, protocol: Requestor, acse_timeout: float | None = 30) -> Association:
        """Run ``protocol``'s association establishment over ``transport`` (PS3.8 Sta4-Sta6)."""
        assoc = cls(transport, protocol)
        if log.isEnabledFor(logging.DEBUG):
            _debug_request()
        deadline = deadline_after(acse_timeout)
        try:
            transport.sendall(protocol.associate_rq(), deadline)
            event = assoc._next_event(deadline)
            if event[1] == 2:  # A-ASSOCIATE-AC: DCMTK dumps it before parsing it
                assoc.ac_pdu = event[2]
                if log.isEnabledFor(logging.DEBUG):
                    _debug_accept(event[2])
            protocol.on_establishment(event)
        except Deadline:
            assoc.abort(0, 0)
            raise AssociationTimeout("Association Request Failed: timeout waiting for A-ASSOCIATE-AC") from None
        except TLSClosed as exc:
            transport.close()
            raise TLSError(f"TLS connection failed before A-ASSOCIATE-AC: {exc}") from None
        except ConnectionClosed as exc:
            transport.close()
            raise PeerAborted(f"Association Request Failed: {exc}") from None
        except NoAcceptableContext as exc:
            assoc.release_quietly()
            # the -d dump of the A-ASSOCIATE-AC precedes the error
            exc.accepted, exc.ac_body = protocol.accepted, assoc.ac_pdu  # type: ignore[attr-defined]
            raise
        except ProtocolError as exc:
            assoc._fault(exc)
            raise
        except Exception:
            transport.close()
            raise
        return assoc

    # ---- data transfer ----------------------------------------------------------------------
    def send_message(
        self, context_id: int, command: bytes, dataset: bytes | None, deadline: float | None
    ) -> None:
        """Send one DIMSE message as P-DATA-TF PDUs (PS3.8 Annex E)."""
        out = self.protocol.message_pdus(context_id, command, dataset)
        try:
            self.transport.sendall(out, deadline)
        except Deadline:
            self.abort(0, 0)
            raise DimseTimeout("DIMSE timeout while sending") from None
        except ConnectionClosed:
            self.transport.close()
            raise

    def receive_message(
        self, timeout: float | None, pdu_timeout: float | None = None, until: float | None = None
    ) -> tuple[int, dict[int, Any], bytes | None]:
        """Return the next DIMSE message ``(context_id, command, dataset | None)``.

        ``timeout`` bounds the wait for the whole message (from now), ``until`` is an extra
        absolute deadline, and ``pdu_timeout`` (the socket timeout) bounds the wait for each
        chunk of it. Non-P-DATA PDUs are handled per PS3.8 Sta6: a release request or an abort
        from the peer raises :class:`PeerAborted`.
        """
        protocol = self.protocol
        events = protocol.events
        if events and events[0][0] == EV_MESSAGE:  # already received: no wait at all
            event = events.popleft()
            return event[1], event[2], event[3]
        deadline = earliest(deadline_after(timeout), until)
        try:
            event = self._next_event(deadline, pdu_timeout)
            return protocol.on_data_transfer(event)
        except Deadline:
            self.abort(0, 0)
            raise DimseTimeout("DIMSE No data available (timeout)") from None
        except ConnectionClosed as exc:
            self.transport.close()
            protocol.state = "Sta1"
            raise ConnectionClosed(f"Peer aborted Association (or never connected): {exc}") from None
        except ProtocolError as exc:
            self._fault(exc)
            raise

    def _next_event(self, deadline: float | None, pdu_timeout: float | None = None) -> tuple[Any, ...]:
        protocol = self.protocol
        chunk_deadline = None
        while True:
            event = protocol.next_event()
            if event is not None:
                return event
            if pdu_timeout:
                chunk_deadline = deadline_after(pdu_timeout) if chunk_deadline is None else chunk_deadline
            n = self.transport.recv_into(self._view, earliest(deadline, chunk_deadline))
            protocol.feed(self._view[:n])
            if protocol.idle:
                chunk_deadline = None

    # ---- teardown ---------------------------------------------------------------------------
    def release(self, acse_timeout: float | None = 30) -> None:
        """A-RELEASE-RQ, then wait for A-RELEASE-RP (PS3.8 Sta7); P-DATA meanwhile is discarded."""
        protocol = self.protocol
        deadline = deadline_after(acse_timeout)
        try:
            self.transport.sendall(protocol.release_rq(), deadline)
            while True:
                answer = protocol.on_release(self._next_event(deadline))
                if answer is None:
                    continue
                if answer:  # release collision (AR-8): answer and finish
                    self.transport.sendall(answer, deadline)
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
            self.transport.close()
            protocol.state = "Sta1"

    def release_quietly(self) -> None:
        """Release, ignoring any failure (used when giving up before any query)."""
        try:
            self.release(ARTIM_SECONDS)
        except Exception:
            self.transport.close()

    def abort(self, source: int = 0, reason: int = 0) -> None:
        """Send A-ABORT (best effort, bounded) and close the transport (AA-1/AA-8, Sta13)."""
        self._abort_pdu(a_abort(source, reason))

    def _abort_pdu(self, pdu: bytes) -> None:
        if self.transport.closed:
            return
        try:
            self.transport.sendall(pdu, deadline_after(ARTIM_SECONDS))
        except Exception:
            pass
        self.transport.close()
        self.protocol.state = "Sta1"

    def _fault(self, exc: ProtocolError) -> None:
        """Carry out what a protocol fault says: send its PDU (if any), then close."""
        send = to_send(exc)
        if send is None:
            self.transport.close()
            self.protocol.state = "Sta1"
        else:
            self._abort_pdu(send)


__all__ = ["Association", "a_abort", "describe_reject", "codec"]
