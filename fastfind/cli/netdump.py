"""Debug-level (``-d``) dumps of associations and DIMSE messages, in DCMTK 3.6.7's words.

* :func:`association_request` / :func:`association_accept`: ``ASC_dumpParameters`` for the
  A-ASSOCIATE-RQ and -AC (PS3.8 §9.3.2, §9.3.3), with ``ASC_dumpPresentationContext``;
* :func:`dimse_message`: ``DIMSE_dumpMessage`` for C-FIND-RQ/-RSP and C-CANCEL-RQ (PS3.7 §9.3),
  with ``DIMSE_printCFindStatusString``;
* :func:`status_detail`: the command elements DCMTK hands back as status detail (everything
  ``parseCFindRSP`` does not consume), encoded so that it can be dumped;
* :func:`dataset_read`: dcmdata's ``DcmDataset::read()`` line, one per command set and data set.

UIDs are named with :func:`fastfind.output.dump.uid_name` (DCMTK's ``dcmFindNameOfUID``). Text
the peer sent (implementation class UID and version name, AE titles) goes through
:func:`fastfind.cli.report.printable`: control characters are shown as ``\\xNN``.
"""

from __future__ import annotations

import struct
from typing import Any

from ..dicom import status as st
from ..net.negotiation import AcceptedAssociation, ProposedContext
from ..output.dump import uid_name

#: DCMTK's ``ASC_dumpPresentationContext`` result texts (PS3.8 Table 9-18).
CONTEXT_RESULT = {
    0: "Accepted",
    1: "User Rejection",
    2: "No Reason",
    3: "Abstract Syntax Not Supported",
    4: "Transfer Syntaxes Not Supported",
}
_PRIORITY = {0: "medium", 1: "high", 2: "low"}
_RELEVANT_PATIENT_QUERY = "1.2.840.10008.5.1.4.37."
#: Command elements ``parseCFindRSP`` consumes; whatever else arrives is status detail.
_FIND_RSP_FIELDS = frozenset((0x0000, 0x0002, 0x0100, 0x0120, 0x0800, 0x0900))
_COMMAND_VRS = {0x0901: "AT", 0x0902: "LO", 0x0903: "US", 0x0002: "UI", 0x0003: "UI",
                0x1000: "UI", 0x1001: "UI", 0x0600: "AE"}


def _shown(text: str) -> str:
    from .report import printable

    return printable(text)


def _named(uid: str) -> str:
    """``=Name`` for a UID DCMTK knows, else the UID itself (``ASC_dumpPresentationContext``)."""
    name = uid_name(uid)
    return f"={name}" if name else _shown(uid)


def sop_name(uid: str) -> str:
    """DCMTK's name of a SOP class (without ``=``), else the UID."""
    return uid_name(uid) or _shown(uid)


def _head(kind: str, our_uid: str, our_version: str, their_uid: str, their_version: str,
          calling: str, called: str) -> list[str]:
    return [
        f"====================== BEGIN A-ASSOCIATE-{kind} =====================",
        f"Our Implementation Class UID:      {our_uid}",
        f"Our Implementation Version Name:   {our_version}",
        f"Their Implementation Class UID:    {_shown(their_uid)}",
        f"Their Implementation Version Name: {_shown(their_version)}",
        "Application Context Name:    1.2.840.10008.3.1.1.1",
        f"Calling Application Name:    {_shown(calling)}",
        f"Called Application Name:     {called}",
        f"Responding Application Name: {called}",  # DCMTK prints the called AE title here
    ]


_TAIL = [
    "Requested Extended Negotiation: none",
    "Accepted Extended Negotiation:  none",
    "Requested User Identity Negotiation: none",
    "User Identity Negotiation Response:  none",
]


def _context(ctx: ProposedContext, result: int | None, accepted_ts: str | None) -> list[str]:
    """``ASC_dumpPresentationContext``: ``result`` ``None`` = not (yet) negotiated."""
    text = "Proposed" if result is None else CONTEXT_RESULT.get(result, "--Invalid Result/Reason--")
    lines = [
        f"  Context ID:        {ctx.context_id} ({text})",
        f"    Abstract Syntax: {_named(ctx.abstract_syntax)}",
        "    Proposed SCP/SCU Role: Default",
    ]
    if result is None:
        lines.append("    Proposed Transfer Syntax(es):")
        lines += [f"      {_named(ts)}" for ts in ctx.transfer_syntaxes]
        return lines
    lines.append("    Accepted SCP/SCU Role: Default")
    if result == 0 and accepted_ts is not None:
        lines.append(f"    Accepted Transfer Syntax: {_named(accepted_ts)}")
    return lines


def association_request(
    calling: str, called: str, contexts: list[ProposedContext], max_pdu: int, impl_uid: str, impl_version: str
) -> str:
    """``Request Parameters:`` block (A-ASSOCIATE-RQ, PS3.8 §9.3.2)."""
    lines = ["Request Parameters:", *_head("RQ", impl_uid, impl_version, "", "", calling, called)]
    lines += [f"Our Max PDU Receive Size:    {max_pdu}", "Their Max PDU Receive Size:  0",
              "Presentation Contexts:"]
    for ctx in contexts:
        lines += _context(ctx, None, None)
    lines += [*_TAIL, "======================= END A-ASSOCIATE-RQ ======================"]
    return "\n".join(lines)


def _ac_calling(ac_body: bytes | None, default: str) -> str:
    """The calling AE title as the A-ASSOCIATE-AC states it (DCMTK takes it from there)."""
    if ac_body is None or len(ac_body) < 36:
        return default
    raw = ac_body[20:36].split(b"\x00", 1)[0].rstrip(b" ")
    return raw.decode("latin-1")


def association_accept(
    calling: str, called: str, contexts: list[ProposedContext], ac: AcceptedAssociation, max_pdu: int,
    impl_uid: str = "", impl_version: str = "", ac_body: bytes | None = None,
) -> str:
    """``Association Parameters Negotiated:`` block (A-ASSOCIATE-AC, PS3.8 §9.3.3)."""
    lines = ["Association Parameters Negotiated:", *_head(
        "AC", impl_uid, impl_version, ac.implementation_class_uid, ac.implementation_version_name,
        _ac_calling(ac_body, calling), called)]
    lines += [f"Our Max PDU Receive Size:    {max_pdu}", f"Their Max PDU Receive Size:  {ac.max_pdu}",
              "Presentation Contexts:"]
    for ctx in contexts:
        accepted = ac.accepted.get(ctx.context_id)
        lines += _context(ctx, ac.results.get(ctx.context_id), accepted[1] if accepted else None)
    lines += [*_TAIL, "======================= END A-ASSOCIATE-AC ======================"]
    return "\n".join(lines)


def find_status_text(code: int, sop_class: str | None = None) -> str:
    """``DIMSE_printCFindStatusString`` (PS3.4 C.4.1.1.4, PS3.7 Annex C)."""
    head = f"0x{code:04x}: "
    if code == 0x0122:
        return head + "Refused: SOP Class not supported"
    if code == 0x0000:
        return head + "Success: Matching is complete"
    if code == 0xA700:
        return head + "Refused: Out of resources"
    if code & 0xFF00 == 0xA900:
        return head + "Error: Data Set does not match SOP Class"
    if code & 0xF000 == 0xC000:
        if sop_class and sop_class.startswith(_RELEVANT_PATIENT_QUERY):
            if code == 0xC100:
                return head + "Failed: More than one match found"
            if code == 0xC200:
                return head + "Failed: Unable to support requested template"
        return head + "Failed: Unable to process"
    if code == 0xFE00:
        return head + "Cancel: Matching terminated due to Cancel Request"
    if code == 0xFF00:
        return head + "Pending: Matches are continuing"
    if code == 0xFF01:
        return head + "Pending: Matches are continuing - Warning: Unsupported optional keys"
    return head + _status_class(code)


def _status_class(code: int) -> str:
    """``DIMSE_printStatusClassString`` (the ``DICOM_*_STATUS`` macros of dimse.h)."""
    cat = st.category(code)
    if cat == st.SUCCESS:
        return "Success"
    if code & 0xF000 in (0xA000, 0xC000) or (code & 0xFF00 == 0x0100 and code not in (0x0107, 0x0116)) \
            or code & 0xFF00 == 0x0200:
        return "Failure"
    if code & 0xF000 == 0xB000 or code in (0x0001, 0x0107, 0x0116):
        return "Warning"
    if code == 0xFE00:
        return "Cancel"
    if code in (0xFF00, 0xFF01):
        return "Pending"
    return "Unknown Status Code (non-standard)"


def dimse_message(direction: str, command: dict[int, Any], context_id: int | None, has_dataset: bool) -> str:
    """``DIMSE_dumpMessage`` for a C-FIND-RQ/-RSP or C-CANCEL-RQ (PS3.7 §9.3).

    ``context_id`` is shown for outgoing messages only (DCMTK passes it for those).
    """
    field = command.get(0x0100)
    lines = [f"===================== {direction} DIMSE MESSAGE ===================="]
    ctx = [f"Presentation Context ID       : {context_id}"] if context_id else []
    data_set = f"Data Set                      : {'present' if has_dataset else 'none'}"
    sop = command.get(0x0002)
    if field == 0x0020:
        lines += ["Message Type                  : C-FIND RQ", *ctx,
                  f"Message ID                    : {command.get(0x0110)}",
                  f"Affected SOP Class UID        : {sop_name(str(sop))}", data_set,
                  f"Priority                      : {_PRIORITY.get(command.get(0x0700, 0), '')}"]
    elif field == 0x0FFF:
        lines += ["Message Type                  : C-CANCEL RQ", *ctx,
                  f"Message ID Being Responded To : {command.get(0x0120)}", data_set]
    else:
        shown_sop = sop_name(sop) if isinstance(sop, str) and sop else "none"
        lines += ["Message Type                  : C-FIND RSP", *ctx,
                  f"Message ID Being Responded To : {command.get(0x0120)}",
                  f"Affected SOP Class UID        : {shown_sop}", data_set,
                  "DIMSE Status                  : "
                  + find_status_text(int(command.get(0x0900, 0)), sop if isinstance(sop, str) else None)]
    lines.append("======================= END DIMSE MESSAGE =======================")
    return "\n".join(lines)


def dataset_read(ts_name: str) -> str:
    """dcmdata's debug line for each data set it reads (command sets: Little Endian Implicit)."""
    return f'DcmDataset::read() TransferSyntax="{ts_name}"'


def status_detail(command: dict[int, Any]) -> bytes:
    """The status detail of a C-FIND-RSP (DCMTK: the elements ``parseCFindRSP`` leaves), as
    implicit VR little endian bytes; ``b""`` when there is none."""
    out = bytearray()
    for elem in sorted(e for e in command if e not in _FIND_RSP_FIELDS):
        value = command[elem]
        vr = _COMMAND_VRS.get(elem)
        if isinstance(value, bytes):
            raw = value
        elif vr == "AT":
            raw = b"".join(struct.pack("<HH", t >> 16, t & 0xFFFF) for t in value)
        elif isinstance(value, int):
            raw = struct.pack("<H" if vr == "US" or value < 0x10000 else "<L", value)
        else:
            raw = str(value).encode("latin-1", "replace")
            if len(raw) % 2:
                raw += b"\x00" if vr == "UI" else b" "
        out += struct.pack("<HHL", 0, elem, len(raw)) + raw
    return bytes(out)


def has_status_detail(command: dict[int, Any]) -> bool:
    return any(e not in _FIND_RSP_FIELDS for e in command)
