"""The requestor side of the DICOM Upper Layer state machine (PS3.8 §9.2), single-threaded.

States used (PS3.8 Table 9-10): Sta4 (awaiting transport), Sta5 (awaiting A-ASSOCIATE-AC/RJ),
Sta6 (established), Sta7 (awaiting A-RELEASE-RP), Sta13 (awaiting transport close). Every wait
has an absolute deadline; nothing runs in the background; nothing polls.

Faults map to the PS3.8 actions: an invalid or unexpected PDU is AA-8 (A-ABORT source 2, then
close), a DIMSE-level fault is a local abort (A-ABORT source 0), a received A-ABORT is AA-3
(close), a transport close is AA-4.
"""

from __future__ import annotations

import logging
import struct
from collections import deque

from .. import codec
from ..errors import (
    AssociationRejected,
    AssociationTimeout,
    ConnectionClosed,
    DimseTimeout,
    NoAcceptableContext,
    PeerAborted,
    ProtocolError,
    ReleaseTimeout,
    TLSError,
    UnusableAssociation,
)
from .negotiation import (
    AcceptedAssociation,
    ProposedContext,
    decode_associate_ac,
    encode_associate_rq,
)
from .transport import Deadline, TLSClosed, Transport, deadline_after, earliest

log = logging.getLogger("fastfind")

A_RELEASE_RQ = b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00"
A_RELEASE_RP = b"\x06\x00\x00\x00\x00\x04\x00\x00\x00\x00"
ARTIM_SECONDS = 5.0
RECV_BUFFER = 256 * 1024

#: PS3.8 §9.3.4 A-ASSOCIATE-RJ texts, as DCMTK prints them.
RJ_RESULT = {1: "Rejected Permanent", 2: "Rejected Transient"}
RJ_SOURCE = {
    1: "Service User",
    2: "Service Provider (ACSE Related Function)",
    3: "Service Provider (Presentation Related Function)",
}
RJ_REASON = {
    (1, 1): "No Reason",
    (1, 2): "Application Context Name Not Supported",
    (1, 3): "Calling AE Title Not Recognized",
    (1, 7): "Called AE Title Not Recognized",
    (2, 1): "No Reason",
    (2, 2): "Protocol Version Not Supported",
    (3, 1): "Temporary Congestion",
    (3, 2): "Local Limit Exceeded",
}
ABORT_SOURCE = {0: "Service User", 1: "Reserved", 2: "Service Provider"}
ABORT_REASON = {
    0: "reason-not-specified",
    1: "unrecognized-PDU",
    2: "unexpected-PDU",
    4: "unrecognized-PDU-parameter",
    5: "unexpected-PDU-parameter",
    6: "invalid-PDU-parameter-value",
}


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


def a_abort(source: int, reason: int) -> bytes:
    """A-ABORT PDU (PS3.8 §9.3.8); the reason is sent only for source 2."""
    return struct.pack(">BBLBBBB", 7, 0, 4, 0, 0, source, reason if source == 2 else 0)


def describe_reject(result: int, source: int, reason: int) -> str:
    """The three ``E:`` lines DCMTK prints for an A-ASSOCIATE-RJ."""
    return (
        f"Result: {RJ_RESULT.get(result, f'Unknown ({result})')}, "
        f"Source: {RJ_SOURCE.get(source, f'Unknown ({source})')}\n"
        f"Reason: {RJ_REASON.get((source, reason), f'Unknown ({reason})')}"
    )


class Association:
    """An established association: send DIMSE messages, receive them, release or abort.

    Create with :meth:`request`. Attributes after acceptance: :attr:`accepted` (the negotiated
    contexts), :attr:`peer_max_pdu`.
    """

    def __init__(self, transport: Transport, max_pdu: int, max_command: int, max_dataset: int):
        self.transport = transport
        self.max_pdu = max_pdu
        self.receiver = codec.Receiver(max_pdu, max_command, max_dataset)
        self._events: deque[tuple] = deque()  # type: ignore[type-arg]
        self._buf = bytearray(RECV_BUFFER)
        self._view = memoryview(self._buf)
        self.accepted: AcceptedAssociation | None = None
        self.peer_max_pdu = 0
        self.state = "Sta4"
        self.peer_released = False
        self.next_message_id = 1
        self._pending_error: ProtocolError | None = None

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
    ) -> Association:
        """Send A-ASSOCIATE-RQ and wait (``acse_timeout``) for AC/RJ (PS3.8 Sta5)."""
        assoc = cls(transport, max_pdu, max_command, max_dataset)
        rq = encode_associate_rq(
            calling_ae, called_ae, contexts, max_pdu, implementation_class_uid, implementation_version_name
        )
        assoc.rq_pdu = rq
        if log.isEnabledFor(logging.DEBUG):
            _debug_request()
        deadline = deadline_after(acse_timeout)
        assoc.state = "Sta5"
        try:
            transport.sendall(rq, deadline)
            event = assoc._next_event(deadline)
        except Deadline:
            assoc.abort(0, 0)
            raise AssociationTimeout("Association Request Failed: timeout waiting for A-ASSOCIATE-AC") from None
        except TLSClosed as exc:
            transport.close()
            raise TLSError(f"TLS connection failed before A-ASSOCIATE-AC: {exc}") from None
        except ConnectionClosed as exc:
            transport.close()
            raise PeerAborted(f"Association Request Failed: {exc}") from None
        except ProtocolError as exc:
            assoc.abort(2, exc.abort_reason)
            raise
        kind, ptype, body = event
        if ptype == 2:
            if log.isEnabledFor(logging.DEBUG):
                _debug_accept(body)
            try:
                assoc.accepted = decode_associate_ac(body, contexts)
            except ProtocolError as exc:
                assoc.abort(2, exc.abort_reason)
                raise
            assoc.ac_pdu = body
            for w in assoc.accepted.warnings:
                log.warning(w)
            assoc.peer_max_pdu = assoc.accepted.max_pdu
            if assoc.peer_max_pdu and assoc.peer_max_pdu < 14:
                assoc.abort(0, 0)
                raise UnusableAssociation(
                    f"receiver's max PDU size of {assoc.peer_max_pdu} is illegal (must be > 12)", 0, 0
                )
            assoc.state = "Sta6"
            if not assoc.accepted.accepted:
                assoc.release_quietly()
                refused = NoAcceptableContext("No Acceptable Presentation Contexts")
                refused.accepted, refused.ac_body = assoc.accepted, body  # type: ignore[attr-defined]
                raise refused  # (the -d dump of the A-ASSOCIATE-AC precedes the error)
            assoc.receiver.set_contexts(assoc.accepted.accepted)
            return assoc
        if ptype == 3:
            transport.close()
            if len(body) != 4:
                raise ProtocolError("A-ASSOCIATE-RJ of invalid length", 2, 6)
            result, source, reason = body[1], body[2], body[3]
            raise AssociationRejected(describe_reject(result, source, reason), result, source, reason)
        if ptype == 7:
            transport.close()
            raise PeerAborted(_abort_text(body), body[2] if len(body) > 2 else 0, body[3] if len(body) > 3 else 0)
        assoc.abort(2, 2)
        raise ProtocolError(f"unexpected PDU type 0x{ptype:02x} while awaiting A-ASSOCIATE-AC", 2, 2)

    # ---- data transfer ----------------------------------------------------------------------
    @property
    def message_ready(self) -> bool:
        """True if :meth:`receive_message` can return without waiting for the peer."""
        events = self._events
        return bool(events) and events[0][0] == codec.EV_MESSAGE

    @property
    def max_send_pdv(self) -> int:
        """DCMTK's "Max Send PDV" (peer maximum minus PDU and PDV headers)."""
        peer = self.peer_max_pdu
        return (peer - 12) if peer else 0xFFFFFFFF - 12

    def send_message(
        self, context_id: int, command: bytes, dataset: bytes | None, deadline: float | None
    ) -> None:
        """Send one DIMSE message as P-DATA-TF PDUs (PS3.8 Annex E)."""
        out = codec.encode_pdata(context_id, True, command, self.peer_max_pdu)
        if dataset is not None:
            out += codec.encode_pdata(context_id, False, dataset, self.peer_max_pdu)
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
    ) -> tuple:  # type: ignore[type-arg]
        """Return the next DIMSE message ``(context_id, command, dataset | None)``.

        ``timeout`` bounds the wait for the whole message (from now), ``until`` is an extra
        absolute deadline, and ``pdu_timeout`` (the socket timeout) bounds the wait for each
        chunk of it. Non-P-DATA PDUs are handled per PS3.8 Sta6/Sta7: a release request or an
        abort from the peer raises :class:`PeerAborted`.
        """
        events = self._events
        if events and events[0][0] == codec.EV_MESSAGE:  # already received: no wait at all
            event = events.popleft()
            return event[1], event[2], event[3]
        deadline = earliest(deadline_after(timeout), until)
        while True:
            try:
                event = self._next_event(deadline, pdu_timeout)
            except Deadline:
                self.abort(0, 0)
                raise DimseTimeout("DIMSE No data available (timeout)") from None
            except ConnectionClosed as exc:
                self.transport.close()
                self.state = "Sta1"
                raise ConnectionClosed(f"Peer aborted Association (or never connected): {exc}") from None
            except ProtocolError as exc:
                self.abort(exc.abort_source, exc.abort_reason)
                raise
            if event[0] == codec.EV_MESSAGE:
                return event[1], event[2], event[3]
            self._unexpected_pdu(event[1], event[2])

    def _unexpected_pdu(self, ptype: int, body: bytes) -> None:
        if ptype == 7:
            self.transport.close()
            self.state = "Sta1"
            raise PeerAborted(_abort_text(body), body[2], body[3])
        if ptype == 5:
            self.peer_released = True
            self.abort(0, 0)
            raise PeerAborted("Protocol Error: Peer requested release (Aborting)")
        self.abort(2, 2)
        raise ProtocolError(f"unexpected PDU type 0x{ptype:02x} during data transfer", 2, 2)

    def _next_event(self, deadline: float | None, pdu_timeout: float | None = None) -> tuple:  # type: ignore[type-arg]
        events = self._events
        receiver = self.receiver
        chunk_deadline = None
        while not events:
            if self._pending_error is not None:
                exc, self._pending_error = self._pending_error, None
                raise exc
            if pdu_timeout:
                chunk_deadline = deadline_after(pdu_timeout) if chunk_deadline is None else chunk_deadline
            n = self.transport.recv_into(self._view, earliest(deadline, chunk_deadline))
            try:
                events.extend(receiver.feed(self._view[:n]))
            except ProtocolError as exc:
                completed = getattr(exc, "completed_events", None)
                if not completed:
                    raise
                # deliver what arrived intact before the fault; the fault comes next
                events.extend(completed)
                exc.completed_events = None  # type: ignore[attr-defined]
                self._pending_error = exc
            if not receiver.buffered and not receiver.in_message:
                chunk_deadline = None
        return events.popleft()

    # ---- teardown ---------------------------------------------------------------------------
    def release(self, acse_timeout: float | None = 30) -> None:
        """A-RELEASE-RQ, then wait for A-RELEASE-RP (PS3.8 Sta7); P-DATA meanwhile is discarded."""
        deadline = deadline_after(acse_timeout)
        self.state = "Sta7"
        try:
            self.transport.sendall(A_RELEASE_RQ, deadline)
            while True:
                event = self._next_event(deadline)
                if event[0] == codec.EV_MESSAGE:
                    log.warning("DIMSE message received while releasing the association: discarded")
                    continue
                ptype = event[1]
                if ptype == 6:
                    break
                if ptype == 5:  # release collision (AR-8): answer and finish
                    self.transport.sendall(A_RELEASE_RP, deadline)
                    break
                if ptype == 7:
                    self.transport.close()
                    raise PeerAborted(_abort_text(event[2]))
                self.abort(2, 2)
                raise ProtocolError(f"unexpected PDU type 0x{ptype:02x} while releasing", 2, 2)
        except Deadline:
            self.abort(0, 0)
            raise ReleaseTimeout("timeout waiting for A-RELEASE-RP") from None
        except ConnectionClosed:
            pass
        except ProtocolError as exc:
            self.abort(exc.abort_source, exc.abort_reason)
            raise
        finally:
            self.transport.close()
            self.state = "Sta1"

    def release_quietly(self) -> None:
        """Release, ignoring any failure (used when giving up before any query)."""
        try:
            self.release(ARTIM_SECONDS)
        except Exception:
            self.transport.close()

    def answer_peer_release(self) -> None:
        """Answer a peer's A-RELEASE-RQ received after the last response (AR-2/AR-4)."""
        try:
            self.transport.sendall(A_RELEASE_RP, deadline_after(ARTIM_SECONDS))
        except Exception:
            pass
        self.transport.close()

    def abort(self, source: int = 0, reason: int = 0) -> None:
        """Send A-ABORT (best effort, bounded) and close the transport (AA-1/AA-8, Sta13)."""
        if self.transport.closed:
            return
        try:
            self.transport.sendall(a_abort(source, reason), deadline_after(ARTIM_SECONDS))
        except Exception:
            pass
        self.transport.close()
        self.state = "Sta1"


def _abort_text(body: bytes) -> str:
    if len(body) < 4:
        return "Peer aborted Association"
    source, reason = body[2], body[3]
    return (
        "Peer aborted Association (source: "
        f"{ABORT_SOURCE.get(source, source)}, reason: {ABORT_REASON.get(reason, reason)})"
    )
