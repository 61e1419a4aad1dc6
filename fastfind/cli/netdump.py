"""Debug-level (``-d``) dumps of associations and DIMSE messages, in DCMTK's layout (PS3.7, PS3.8)."""

from __future__ import annotations

from typing import Any

from ..dicom import status as st
from ..dicom.uids import MODELS, TS_NAMES
from ..net.negotiation import CONTEXT_RESULTS, AcceptedAssociation, ProposedContext

_SOP_NAMES = {
    MODELS["worklist"]: "FINDModalityWorklistInformationModel",
    MODELS["patient"]: "FINDPatientRootQueryRetrieveInformationModel",
    MODELS["study"]: "FINDStudyRootQueryRetrieveInformationModel",
    MODELS["psonly"]: "RETIRED_FINDPatientStudyOnlyQueryRetrieveInformationModel",
}
_PRIORITY = {0: "medium", 1: "high", 2: "low"}


def sop_name(uid: str) -> str:
    return _SOP_NAMES.get(uid, uid)


def association_request(
    calling: str, called: str, contexts: list[ProposedContext], max_pdu: int, impl_uid: str, impl_version: str
) -> str:
    """``Request Parameters:`` block (A-ASSOCIATE-RQ, PS3.8 §9.3.2)."""
    lines = [
        "Request Parameters:",
        "====================== BEGIN A-ASSOCIATE-RQ =====================",
        f"Our Implementation Class UID:      {impl_uid}",
        f"Our Implementation Version Name:   {impl_version}",
        "Their Implementation Class UID:    ",
        "Their Implementation Version Name: ",
        "Application Context Name:    1.2.840.10008.3.1.1.1",
        f"Calling Application Name:    {calling}",
        f"Called Application Name:     {called}",
        "Responding Application Name: ",
        f"Our Max PDU Receive Size:    {max_pdu}",
        "Their Max PDU Receive Size:  0",
        "Presentation Contexts:",
    ]
    for c in contexts:
        lines += [
            f"  Context ID:        {c.context_id} (Proposed)",
            f"    Abstract Syntax: ={sop_name(c.abstract_syntax)}",
            "    Proposed SCP/SCU Role: Default",
            "    Proposed Transfer Syntax(es):",
        ]
        lines += [f"      ={TS_NAMES.get(ts, ts).replace(' ', '')}" for ts in c.transfer_syntaxes]
    lines += [
        "Requested Extended Negotiation: none",
        "Accepted Extended Negotiation:  none",
        "Requested User Identity Negotiation: none",
        "User Identity Negotiation Response:  none",
        "======================= END A-ASSOCIATE-RQ ======================",
    ]
    return "\n".join(lines)


def association_accept(
    calling: str, called: str, contexts: list[ProposedContext], ac: AcceptedAssociation, max_pdu: int
) -> str:
    """``Association Parameters Negotiated:`` block (A-ASSOCIATE-AC, PS3.8 §9.3.3)."""
    lines = [
        "Association Parameters Negotiated:",
        "====================== BEGIN A-ASSOCIATE-AC =====================",
        f"Their Implementation Class UID:    {ac.implementation_class_uid}",
        f"Their Implementation Version Name: {ac.implementation_version_name}",
        "Application Context Name:    1.2.840.10008.3.1.1.1",
        f"Calling Application Name:    {calling}",
        f"Called Application Name:     {called}",
        f"Our Max PDU Receive Size:    {max_pdu}",
        f"Their Max PDU Receive Size:  {ac.max_pdu}",
        "Presentation Contexts:",
    ]
    for c in contexts:
        result = ac.results.get(c.context_id, 2)
        lines += [
            f"  Context ID:        {c.context_id} ({CONTEXT_RESULTS.get(result, result)})",
            f"    Abstract Syntax: ={sop_name(c.abstract_syntax)}",
        ]
        if c.context_id in ac.accepted:
            ts = ac.accepted[c.context_id][1]
            lines.append(f"    Accepted Transfer Syntax: ={TS_NAMES.get(ts, ts).replace(' ', '')}")
    lines += ["======================= END A-ASSOCIATE-AC ======================"]
    return "\n".join(lines)


def dimse_message(direction: str, command: dict[int, Any], context_id: int, has_dataset: bool) -> str:
    """``DIMSE_dumpMessage``-style block for a C-FIND-RQ/RSP or C-CANCEL-RQ (PS3.7 §9.3)."""
    field = command.get(0x0100)
    names = {0x0020: "C-FIND RQ", 0x8020: "C-FIND RSP", 0x0FFF: "C-CANCEL RQ"}
    lines = [
        f"===================== {direction} DIMSE MESSAGE ====================",
        f"Message Type                  : {names.get(field, f'0x{field:04x}' if isinstance(field, int) else '?')}",
        f"Presentation Context ID       : {context_id}",
    ]
    if 0x0110 in command:
        lines.append(f"Message ID                    : {command[0x0110]}")
    if 0x0120 in command:
        lines.append(f"Message ID Being Responded To : {command[0x0120]}")
    if 0x0002 in command:
        lines.append(f"Affected SOP Class UID        : {sop_name(str(command[0x0002]))}")
    if 0x0700 in command:
        lines.append(f"Priority                      : {_PRIORITY.get(command[0x0700], command[0x0700])}")
    lines.append(f"Data Set                      : {'present' if has_dataset else 'none'}")
    if 0x0900 in command:
        code = command[0x0900]
        text = st.DIMSE_STATUS_TEXT.get(code, st.status_text(code))
        lines.append(f"DIMSE Status                  : 0x{code:04x}: {text}")
    lines.append("======================= END DIMSE MESSAGE =======================")
    return "\n".join(lines)
