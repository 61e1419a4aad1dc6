"""Pin every pynetdicom name and behaviour fastfind.net.negotiation relies on.

If a pynetdicom upgrade breaks one of these, this file fails before anything else does.
"""

from __future__ import annotations

import struct

import pynetdicom
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import PresentationContext, negotiate_as_requestor

from fastfind.net.negotiation import ProposedContext, decode_associate_ac, encode_associate_rq

STUDY = "1.2.840.10008.5.1.4.1.2.2.1"
LEE, BEE, LEI = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2"


def test_version_range_is_the_pinned_one() -> None:
    major, minor = (int(x) for x in pynetdicom.__version__.split(".")[:2])
    assert (major, minor) == (3, 0)


def test_rq_encoding_layout() -> None:
    rq = encode_associate_rq("FINDSCU", "ANY-SCP", [ProposedContext(1, STUDY, [LEE, BEE, LEI])], 16384, "1.2.3", "FF_1")
    ptype, _, length = struct.unpack(">BBL", rq[:6])
    assert ptype == 1 and length == len(rq) - 6
    assert rq[10:26] == b"ANY-SCP".ljust(16) and rq[26:42] == b"FINDSCU".ljust(16)
    # round trip through pynetdicom's own decoder
    pdu = A_ASSOCIATE_RQ()
    pdu.decode(rq)
    prim = pdu.to_primitive()
    ctx = prim.presentation_context_definition_list[0]
    assert ctx.context_id == 1 and ctx.abstract_syntax == STUDY
    assert [str(t) for t in ctx.transfer_syntax] == [LEE, BEE, LEI]
    items = {type(i): i for i in prim.user_information}
    assert items[MaximumLengthNotification].maximum_length_received == 16384
    assert items[ImplementationClassUIDNotification].implementation_class_uid == "1.2.3"
    assert items[ImplementationVersionNameNotification].implementation_version_name == "FF_1"


def _ac(result: int, ts: str, max_len: int = 32768) -> bytes:
    prim = A_ASSOCIATE()
    prim.application_context_name = "1.2.840.10008.3.1.1.1"
    prim.calling_ae_title = "FINDSCU"
    prim.called_ae_title = "ANY-SCP"
    prim.result = 0
    pc = PresentationContext()
    pc.context_id = 1
    pc.result = result
    pc.transfer_syntax = [ts]
    prim.presentation_context_definition_results_list = [pc]
    ml = MaximumLengthNotification()
    ml.maximum_length_received = max_len
    ic = ImplementationClassUIDNotification()
    ic.implementation_class_uid = "1.2.3.4"
    prim.user_information = [ml, ic]
    pdu = A_ASSOCIATE_AC()
    pdu.from_primitive(prim)
    return bytes(pdu.encode())


def test_ac_decoding_and_negotiation() -> None:
    raw = _ac(0, BEE)
    result = decode_associate_ac(raw[6:], [ProposedContext(1, STUDY, [LEE, BEE, LEI])])
    assert result.accepted == {1: (STUDY, BEE)}
    assert result.max_pdu == 32768
    assert result.implementation_class_uid == "1.2.3.4"


def test_ac_with_unproposed_transfer_syntax_is_rejected() -> None:
    raw = _ac(0, "1.2.840.10008.1.2.4.50")
    result = decode_associate_ac(raw[6:], [ProposedContext(1, STUDY, [LEE])])
    assert result.accepted == {}
    assert result.results[1] == 4


def test_negotiate_as_requestor_signature() -> None:
    rq = PresentationContext()
    rq.context_id = 1
    rq.abstract_syntax = STUDY
    rq.transfer_syntax = [LEE]
    ac = PresentationContext()
    ac.context_id = 1
    ac.result = 3
    ac.transfer_syntax = [LEE]
    out = negotiate_as_requestor([rq], [ac])
    assert out[0].context_id == 1 and out[0].result == 3 and out[0].abstract_syntax == STUDY


def test_sop_class_extended_negotiation_item_round_trips() -> None:
    """The RQ carries the C-FIND extension item as PS3.7 D.3.3.5 lays it out (type 0x56), and an
    AC answering it is decoded into ``extended``."""
    from pynetdicom.pdu_primitives import (
        A_ASSOCIATE,
        MaximumLengthNotification,
        SOPClassExtendedNegotiation,
    )

    from fastfind.net.negotiation import find_extension_item

    study = "1.2.840.10008.5.1.4.1.2.2.1"
    item = find_extension_item(study, (True, False, True, False))
    ctx = [ProposedContext(1, study, ["1.2.840.10008.1.2"])]
    rq = encode_associate_rq("A", "B", ctx, 16384, "1.2.3", "X", [item])
    uid = study.encode()
    assert struct.pack(">BBHH", 0x56, 0, 2 + len(uid) + 3, len(uid)) + uid + b"\x01\x00\x01" in rq

    prim = A_ASSOCIATE()
    prim.application_context_name = "1.2.840.10008.3.1.1.1"
    prim.calling_ae_title, prim.called_ae_title = "A", "B"
    prim.result = 0
    pc = PresentationContext()
    pc.context_id, pc.result = 1, 0
    pc.transfer_syntax = ["1.2.840.10008.1.2"]
    prim.presentation_context_definition_results_list = [pc]
    ml = MaximumLengthNotification()
    ml.maximum_length_received = 16384
    answer = SOPClassExtendedNegotiation()
    answer.sop_class_uid = study
    answer.service_class_application_information = b"\x01\x00\x00"
    prim.user_information = [ml, answer]
    ac = A_ASSOCIATE_AC()
    ac.from_primitive(prim)
    decoded = decode_associate_ac(bytes(ac.encode())[6:], ctx)
    assert decoded.accepted == {1: (study, "1.2.840.10008.1.2")}
    assert decoded.extended == {study: b"\x01\x00\x00"}
