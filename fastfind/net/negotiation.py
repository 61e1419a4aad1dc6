"""Association negotiation: the ONLY module that touches pynetdicom (PS3.8 §9.3.2-§9.3.4, PS3.7 D.3).

pynetdicom's PDU classes encode the A-ASSOCIATE-RQ and decode the A-ASSOCIATE-AC, and
``pynetdicom.presentation.negotiate_as_requestor`` settles the presentation contexts. Nothing of
pynetdicom's ``AE``/``Association`` reactor is used. ``tests/test_pynetdicom_contract.py`` pins
every pynetdicom name relied on here.

Before pynetdicom sees an A-ASSOCIATE-AC, :func:`check_ac_structure` walks its items with
explicit bounds so that a lying item length is a :class:`ProtocolError`, never an exception from
deep inside a third-party decoder.
"""

from __future__ import annotations

import struct
import warnings as pywarnings
from dataclasses import dataclass, field
from typing import Any

from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
    SOPClassExtendedNegotiation,
)
from pynetdicom.presentation import PresentationContext, negotiate_as_requestor

from ..errors import ProtocolError

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"

#: PS3.8 Table 9-18 result values of a presentation context.
CONTEXT_RESULTS = {
    0: "acceptance",
    1: "user-rejection",
    2: "no-reason (provider rejection)",
    3: "abstract-syntax-not-supported (provider rejection)",
    4: "transfer-syntaxes-not-supported (provider rejection)",
}


@dataclass
class ProposedContext:
    """One presentation context of the A-ASSOCIATE-RQ."""

    context_id: int
    abstract_syntax: str
    transfer_syntaxes: list[str]


@dataclass
class AcceptedAssociation:
    """What the A-ASSOCIATE-AC settled."""

    max_pdu: int  #: the peer's maximum P-DATA-TF length (0 = unlimited)
    accepted: dict[int, tuple[str, str]]  #: context id -> (abstract syntax, transfer syntax)
    results: dict[int, int] = field(default_factory=dict)  #: context id -> result code
    implementation_class_uid: str = ""
    implementation_version_name: str = ""
    warnings: list[str] = field(default_factory=list)
    #: SOP Class Extended Negotiation answers: abstract syntax -> application information bytes
    extended: dict[str, bytes] = field(default_factory=dict)


#: The C-FIND Service Class Application Information bytes (PS3.4 C.5.1.1, Table C.5-1), in order.
FIND_EXTENSIONS = ("relational-queries", "combined date-time matching",
                   "fuzzy semantic matching of person names", "timezone query adjustment")


def find_extension_item(sop_class: str, wanted: tuple[bool, bool, bool, bool]) -> Any:
    """A SOP Class Extended Negotiation sub-item (PS3.7 D.3.3.5) asking for the C-FIND
    extensions flagged in ``wanted`` (byte 1 relational-queries, 2 combined date-time
    matching, 3 fuzzy semantic matching of person names, 4 timezone query adjustment)."""
    item = SOPClassExtendedNegotiation()
    item.sop_class_uid = sop_class
    last = max(i for i, on in enumerate(wanted) if on) + 1
    item.service_class_application_information = bytes(int(on) for on in wanted[:last])
    return item


def encode_associate_rq(
    calling_ae: str,
    called_ae: str,
    contexts: list[ProposedContext],
    max_pdu: int,
    implementation_class_uid: str,
    implementation_version_name: str,
    user_items: list[Any] | None = None,
) -> bytes:
    """Encode the A-ASSOCIATE-RQ PDU (PS3.8 §9.3.2) with pynetdicom's PDU classes.

    ``user_items`` are further User Information sub-items (pynetdicom primitives, e.g. the SOP
    Class Extended Negotiation items of PS3.7 D.3.3.5).
    """
    prim = A_ASSOCIATE()
    prim.application_context_name = APPLICATION_CONTEXT
    prim.calling_ae_title = calling_ae
    prim.called_ae_title = called_ae
    for ctx in contexts:
        pc = PresentationContext()
        pc.context_id = ctx.context_id
        pc.abstract_syntax = ctx.abstract_syntax
        pc.transfer_syntax = list(ctx.transfer_syntaxes)
        prim.presentation_context_definition_list.append(pc)
    ml = MaximumLengthNotification()
    ml.maximum_length_received = max_pdu
    ic = ImplementationClassUIDNotification()
    ic.implementation_class_uid = implementation_class_uid
    iv = ImplementationVersionNameNotification()
    iv.implementation_version_name = implementation_version_name
    prim.user_information = [ml, ic, iv, *(user_items or [])]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(prim)
    return bytes(pdu.encode())


def check_ac_structure(body: bytes) -> None:
    """Validate the item structure of an A-ASSOCIATE-AC body (PS3.8 §9.3.3) with explicit bounds."""
    n = len(body)
    if n < 68:
        raise ProtocolError(f"A-ASSOCIATE-AC too short ({n} bytes)", 2, 6)
    (version,) = struct.unpack_from(">H", body, 0)
    if not version & 1:
        raise ProtocolError(f"A-ASSOCIATE-AC protocol version 0x{version:04x} not supported", 2, 6)
    pos = 68
    seen_app = seen_user = False
    while pos < n:
        if n - pos < 4:
            raise ProtocolError("A-ASSOCIATE-AC item header truncated", 2, 6)
        itype, _, ilen = struct.unpack_from(">BBH", body, pos)
        start, end = pos + 4, pos + 4 + ilen
        if end > n:
            raise ProtocolError(f"A-ASSOCIATE-AC item 0x{itype:02x} length {ilen} overruns the PDU", 2, 6)
        if itype == 0x10:
            seen_app = True
            if ilen == 0 or ilen > 64:
                raise ProtocolError(f"application context name of length {ilen}", 2, 6)
        elif itype == 0x21:
            if ilen < 4:
                raise ProtocolError(f"presentation context item of length {ilen}", 2, 6)
            _check_subitems(body, start + 4, end, "presentation context")
        elif itype == 0x50:
            seen_user = True
            _check_subitems(body, start, end, "user information")
        pos = end
    if not seen_app:
        raise ProtocolError("A-ASSOCIATE-AC without an application context item", 2, 6)
    if not seen_user:
        # PS3.8 D.1: tolerated; the maximum length is then unknown (treated as unlimited).
        pass


def _check_subitems(body: bytes, pos: int, end: int, what: str) -> None:
    while pos < end:
        if end - pos < 4:
            raise ProtocolError(f"{what} sub-item header truncated", 2, 6)
        stype, _, slen = struct.unpack_from(">BBH", body, pos)
        if pos + 4 + slen > end:
            raise ProtocolError(f"{what} sub-item 0x{stype:02x} length {slen} overruns its item", 2, 6)
        if stype in (0x40, 0x52) and slen > 64:
            raise ProtocolError(f"{what} UID of length {slen} (more than 64)", 2, 6)
        pos += 4 + slen


#: User-information sub-items pynetdicom decodes (PS3.7 D.3.3); others are dropped (PS3.8 D.2).
_KNOWN_USER_ITEMS = frozenset(range(0x51, 0x5A))


def _sanitise_ac(body: bytes, our_ids: set[int], warnings: list[str]) -> bytes:
    """Drop what PS3.8 says to ignore before pynetdicom sees the AC (structure already checked):
    answers for presentation contexts we never proposed, unknown items and user-info sub-items."""
    out = bytearray(body[:68])
    pos, n = 68, len(body)
    while pos < n:
        itype, _, ilen = struct.unpack_from(">BBH", body, pos)
        item = body[pos : pos + 4 + ilen]
        pos += 4 + ilen
        if itype == 0x21:
            cid = item[4]
            if cid not in our_ids:
                warnings.append(f"A-ASSOCIATE-AC answers presentation context {cid}, which was not proposed: ignored")
                continue
        elif itype == 0x50:
            kept = bytearray()
            spos = 4
            while spos < len(item):
                stype, _, slen = struct.unpack_from(">BBH", item, spos)
                sub = item[spos : spos + 4 + slen]
                spos += 4 + slen
                if stype in _KNOWN_USER_ITEMS:
                    kept += sub
                else:
                    warnings.append(f"A-ASSOCIATE-AC user information sub-item 0x{stype:02x} ignored")
            item = struct.pack(">BBH", 0x50, 0, len(kept)) + bytes(kept)
        elif itype != 0x10:
            warnings.append(f"A-ASSOCIATE-AC item 0x{itype:02x} ignored")
            continue
        out += item
    return bytes(out)


def decode_associate_ac(body: bytes, proposed: list[ProposedContext]) -> AcceptedAssociation:
    """Decode an A-ASSOCIATE-AC body and settle the presentation contexts (PS3.8 §9.3.3).

    A context accepted with a transfer syntax we did not propose for it is treated as rejected
    (``hostile-scp.md`` row 19); duplicate answers for one of our IDs are a protocol error.
    """
    check_ac_structure(body)
    warnings: list[str] = []
    body = _sanitise_ac(body, {c.context_id for c in proposed}, warnings)
    pdu = A_ASSOCIATE_AC()
    try:
        with pywarnings.catch_warnings():  # UID validation warnings about peer values
            pywarnings.simplefilter("ignore")
            pdu.decode(struct.pack(">BBL", 2, 0, len(body)) + body)
            prim = pdu.to_primitive()
    except Exception as exc:  # pynetdicom's decoder raises assorted types on bad input
        raise ProtocolError(f"invalid A-ASSOCIATE-AC: {exc}", 2, 6) from None
    by_id = {c.context_id: c for c in proposed}
    ac_contexts: list[PresentationContext] = []
    seen: set[int] = set()
    for pc in prim.presentation_context_definition_results_list:
        cid = pc.context_id
        if cid not in by_id:
            warnings.append(f"A-ASSOCIATE-AC answers presentation context {cid}, which was not proposed")
            continue
        if cid in seen:
            raise ProtocolError(f"A-ASSOCIATE-AC answers presentation context {cid} twice", 2, 6)
        seen.add(cid)
        ac_contexts.append(pc)
    rq_contexts = []
    for c in proposed:
        pc = PresentationContext()
        pc.context_id = c.context_id
        pc.abstract_syntax = c.abstract_syntax
        pc.transfer_syntax = list(c.transfer_syntaxes)
        rq_contexts.append(pc)
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            settled = negotiate_as_requestor(rq_contexts, ac_contexts)
    except Exception as exc:
        raise ProtocolError(f"invalid presentation context answer: {exc}", 2, 6) from None
    accepted: dict[int, tuple[str, str]] = {}
    results: dict[int, int] = {}
    for pc in settled:
        cid = pc.context_id
        result = pc.result if pc.result is not None else 2
        results[cid] = result
        if result != 0:
            continue
        ts = str(pc.transfer_syntax[0]) if pc.transfer_syntax else ""
        if ts not in by_id[cid].transfer_syntaxes:
            warnings.append(
                f"presentation context {cid} accepted with transfer syntax {ts or '(none)'}, "
                "which was not proposed: treated as rejected"
            )
            results[cid] = 4
            continue
        accepted[cid] = (by_id[cid].abstract_syntax, ts)
    max_pdu = 0
    impl_uid = impl_version = ""
    for item in prim.user_information or []:
        if isinstance(item, MaximumLengthNotification):
            max_pdu = int(item.maximum_length_received or 0)
        elif isinstance(item, ImplementationClassUIDNotification):
            impl_uid = str(item.implementation_class_uid or "")
        elif isinstance(item, ImplementationVersionNameNotification):
            impl_version = str(item.implementation_version_name or "")
    extended: dict[str, bytes] = {}
    for item in prim.user_information or []:
        if isinstance(item, SOPClassExtendedNegotiation) and item.sop_class_uid:
            extended[str(item.sop_class_uid)] = bytes(item.service_class_application_information or b"")
    if not any(isinstance(i, MaximumLengthNotification) for i in prim.user_information or []):
        warnings.append("A-ASSOCIATE-AC has no maximum length: sending without a limit")
    return AcceptedAssociation(max_pdu, accepted, results, impl_uid, impl_version, warnings, extended)
