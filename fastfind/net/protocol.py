"""The requestor side of the DICOM Upper Layer state machine (PS3.8 §9.2) without any I/O.

:class:`Requestor` takes the bytes received and says what they mean; it never touches a socket
or a clock, so the blocking driver (:mod:`fastfind.net.association`) and the asyncio driver
(:mod:`fastfind.aio`) run exactly the same protocol logic and raise exactly the same errors.

States used (PS3.8 Table 9-10): Sta4 (awaiting transport), Sta5 (awaiting A-ASSOCIATE-AC/RJ),
Sta6 (established), Sta7 (awaiting A-RELEASE-RP), Sta1 (idle, transport closed). A fault is an
exception carrying what the driver sends before closing (:attr:`Fault.send`): an invalid or
unexpected PDU is AA-8 (A-ABORT source 2), a DIMSE-level fault a local abort (source 0), a
received A-ABORT is AA-3 and a closed transport AA-4 (nothing to send).
"""

from __future__ import annotations

import logging
import struct
from collections import deque
from typing import Any

from .. import codec
from ..errors import (
    AssociationRejected,
    NoAcceptableContext,
    PeerAborted,
    ProtocolError,
    UnusableAssociation,
)
from ..printable import printable
from .negotiation import (
    AcceptedAssociation,
    ProposedContext,
    decode_associate_ac,
    encode_associate_rq,
)

log = logging.getLogger("fastfind")

A_RELEASE_RQ = b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00"
A_RELEASE_RP = b"\x06\x00\x00\x00\x00\x04\x00\x00\x00\x00"
ARTIM_SECONDS = 5.0  #: bound on closing after an abort or a failed release (PS3.8 §9.1.4)
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


def abort_text(body: bytes) -> str:
    if len(body) < 4:
        return "Peer aborted Association"
    source, reason = body[2], body[3]
    return (
        "Peer aborted Association (source: "
        f"{ABORT_SOURCE.get(source, source)}, reason: {ABORT_REASON.get(reason, reason)})"
    )


def fault(exc: Exception, send: bytes | None) -> Exception:
    """``exc`` marked with what to send before closing the transport (``None``: just close)."""
    exc.send = send  # type: ignore[attr-defined]
    return exc


def to_send(exc: BaseException) -> bytes | None:
    """What a fault raised by :class:`Requestor` says to send before closing."""
    return getattr(exc, "send", None)


class Requestor:
    """One association's protocol state; bytes in, meanings out (PS3.8 §9.2, Annex E).

    Drivers call :meth:`associate_rq` and send its bytes, :meth:`feed` every chunk received,
    and :meth:`next_event` until it returns ``None`` (more bytes needed). The ``on_*`` methods
    interpret an event in the current state and either return its meaning or raise a fault
    (see :func:`to_send`).
    """

    def __init__(
        self,
        calling_ae: str,
        called_ae: str,
        contexts: list[ProposedContext],
        *,
        max_pdu: int = 16384,
        implementation_class_uid: str,
        implementation_version_name: str,
        max_command: int = 65536,
        max_dataset: int = 64 << 20,
        user_items: list[Any] | None = None,
    ):
        self.calling_ae = calling_ae
        self.called_ae = called_ae
        self.contexts = contexts
        self.max_pdu = max_pdu
        self.implementation_class_uid = implementation_class_uid
        self.implementation_version_name = implementation_version_name
        self.user_items = user_items or []
        self.receiver = codec.Receiver(max_pdu, max_command, max_dataset)
        self.events: deque[tuple[Any, ...]] = deque()
        self.accepted: AcceptedAssociation | None = None
        self.peer_max_pdu = 0
        self.peer_released = False
        self.next_message_id = 1
        self.state = "Sta4"
        self._pending_error: ProtocolError | None = None

    # ---- bytes in ---------------------------------------------------------------------------
    def feed(self, data: bytes | memoryview) -> None:
        """Take received bytes. Events completed before a refused PDU are kept; the refusal
        is raised by :meth:`next_event` after them (nothing received intact is lost)."""
        try:
            self.events.extend(self.receiver.feed(data))
        except ProtocolError as exc:
            completed = getattr(exc, "completed_events", None)
            exc.completed_events = None  # type: ignore[attr-defined]
            fault(exc, a_abort(exc.abort_source, exc.abort_reason))
            if not completed:
                raise
            self.events.extend(completed)
            self._pending_error = exc

    def next_event(self) -> tuple[Any, ...] | None:
        """The next complete event (a DIMSE message or a non-P-DATA PDU), or ``None``."""
        if self.events:
            return self.events.popleft()
        if self._pending_error is not None:
            exc, self._pending_error = self._pending_error, None
            raise exc
        return None

    @property
    def message_ready(self) -> bool:
        """True if a whole DIMSE message has been received and not yet taken."""
        events = self.events
        return bool(events) and events[0][0] == codec.EV_MESSAGE

    @property
    def idle(self) -> bool:
        """True if no PDU or message is partly received (the per-chunk deadline can reset)."""
        return not self.receiver.buffered and not self.receiver.in_message

    # ---- Sta4 -> Sta5 -> Sta6 -----------------------------------------------------------------
    def associate_rq(self) -> bytes:
        """The A-ASSOCIATE-RQ PDU to send (PS3.8 §9.3.2)."""
        self.state = "Sta5"
        return encode_associate_rq(
            self.calling_ae,
            self.called_ae,
            self.contexts,
            self.max_pdu,
            self.implementation_class_uid,
            self.implementation_version_name,
            self.user_items,
        )

    def on_establishment(self, event: tuple[Any, ...]) -> AcceptedAssociation:
        """Interpret the answer to the A-ASSOCIATE-RQ (Sta5: AE-3, AE-4, AA-3, AA-8).

        Returns the accepted association (Sta6). With no acceptable presentation context the
        association is up but useless: :class:`NoAcceptableContext` is raised with
        ``release=True`` (the driver releases it before reporting).
        """
        _kind, ptype, body = event
        if ptype == 2:
            try:
                accepted = decode_associate_ac(body, self.contexts)
            except ProtocolError as exc:
                raise fault(exc, a_abort(2, exc.abort_reason)) from None
            for w in accepted.warnings:
                log.warning(printable(w))  # they may quote what the peer sent
            self.accepted = accepted
            self.peer_max_pdu = accepted.max_pdu
            if self.peer_max_pdu and self.peer_max_pdu < 14:
                raise fault(
                    UnusableAssociation(
                        f"receiver's max PDU size of {self.peer_max_pdu} is illegal (must be > 12)", 0, 0
                    ),
                    a_abort(0, 0),
                )
            self.state = "Sta6"
            if not accepted.accepted:
                exc = NoAcceptableContext("No Acceptable Presentation Contexts")
                exc.release = True  # type: ignore[attr-defined]
                raise exc
            self.receiver.set_contexts(accepted.accepted)
            return accepted
        if ptype == 3:
            self.state = "Sta1"
            if len(body) != 4:
                raise fault(ProtocolError("A-ASSOCIATE-RJ of invalid length", 2, 6), None)
            result, source, reason = body[1], body[2], body[3]
            raise fault(AssociationRejected(describe_reject(result, source, reason), result, source, reason), None)
        if ptype == 7:
            self.state = "Sta1"
            raise fault(
                PeerAborted(abort_text(body), body[2] if len(body) > 2 else 0, body[3] if len(body) > 3 else 0),
                None,
            )
        raise fault(
            ProtocolError(f"unexpected PDU type 0x{ptype:02x} while awaiting A-ASSOCIATE-AC", 2, 2),
            a_abort(2, 2),
        )

    # ---- Sta6: data transfer ---------------------------------------------------------------
    def message_pdus(self, context_id: int, command: bytes, dataset: bytes | None) -> bytes:
        """The P-DATA-TF PDUs of one DIMSE message (PS3.8 Annex E)."""
        out = codec.encode_pdata(context_id, True, command, self.peer_max_pdu)
        if dataset is not None:
            out += codec.encode_pdata(context_id, False, dataset, self.peer_max_pdu)
        return out

    def take_message_id(self) -> int:
        """The next request's MessageID (PS3.7 §9.1.1), never 0."""
        msg_id = self.next_message_id
        self.next_message_id = (msg_id + 1) & 0xFFFF or 1
        return msg_id

    def on_data_transfer(self, event: tuple[Any, ...]) -> tuple[int, dict[int, Any], bytes | None]:
        """Interpret an event while established (Sta6): a message, or a fault."""
        if event[0] == codec.EV_MESSAGE:
            return event[1], event[2], event[3]
        ptype, body = event[1], event[2]
        if ptype == 7:
            self.state = "Sta1"
            raise fault(PeerAborted(abort_text(body), body[2], body[3]), None)
        if ptype == 5:
            self.peer_released = True
            raise fault(PeerAborted("Protocol Error: Peer requested release (Aborting)"), a_abort(0, 0))
        raise fault(ProtocolError(f"unexpected PDU type 0x{ptype:02x} during data transfer", 2, 2), a_abort(2, 2))

    # ---- Sta7: release ---------------------------------------------------------------------
    def release_rq(self) -> bytes:
        self.state = "Sta7"
        return A_RELEASE_RQ

    def on_release(self, event: tuple[Any, ...]) -> bytes | None:
        """Interpret an event while awaiting A-RELEASE-RP (Sta7).

        Returns ``None`` to keep waiting (P-DATA is discarded, AR-6), ``b""`` when released
        (AR-3), or the A-RELEASE-RP to send for a release collision (AR-8); raises a fault.
        """
        if event[0] == codec.EV_MESSAGE:
            log.warning("DIMSE message received while releasing the association: discarded")
            return None
        ptype = event[1]
        if ptype == 6:
            self.state = "Sta1"
            return b""
        if ptype == 5:
            self.state = "Sta1"
            return A_RELEASE_RP
        if ptype == 7:
            self.state = "Sta1"
            raise fault(PeerAborted(abort_text(event[2])), None)
        raise fault(ProtocolError(f"unexpected PDU type 0x{ptype:02x} while releasing", 2, 2), a_abort(2, 2))


class AssociationView:
    """What the API reads of an association, the same for the blocking and the asyncio driver
    (both keep their :class:`Requestor` as ``protocol``)."""

    protocol: Requestor

    @property
    def accepted(self) -> AcceptedAssociation | None:
        """The negotiated presentation contexts (after the A-ASSOCIATE-AC)."""
        return self.protocol.accepted

    @property
    def peer_max_pdu(self) -> int:
        return self.protocol.peer_max_pdu

    @property
    def peer_released(self) -> bool:
        return self.protocol.peer_released

    @property
    def next_message_id(self) -> int:
        return self.protocol.next_message_id

    @property
    def message_ready(self) -> bool:
        """True if the next DIMSE message can be taken without waiting for the peer."""
        return self.protocol.message_ready

    @property
    def max_send_pdv(self) -> int:
        """DCMTK's "Max Send PDV" (peer maximum minus PDU and PDV headers)."""
        peer = self.protocol.peer_max_pdu
        return (peer - 12) if peer else 0xFFFFFFFF - 12

    def take_message_id(self) -> int:
        return self.protocol.take_message_id()
