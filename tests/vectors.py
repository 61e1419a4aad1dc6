"""Annotated golden bytes for the data-phase codec (PS3.7 §9.3.2, PS3.8 §9.3).

Command sets are implicit VR little endian, group 0000 (PS3.7 §6.3.1): each element is
``tag group (2) | tag element (2) | value length (4) | value``. PDUs are big endian (PS3.8 §9.3.1).
``C_FIND_RQ_MWL`` and ``C_CANCEL_RQ`` are byte for byte what DCMTK 3.6.7 ``findscu -W --cancel 1``
sent to a capturing SCP; the responses are laid out the way SCPs answer C-FIND (PS3.4 C.4.1.1).
``*_FIELDS`` give what :func:`decode_command` must return for each set.
"""

from __future__ import annotations

MWL_FIND = "1.2.840.10008.5.1.4.31"  # Modality Worklist Information Model - FIND
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Q/R Information Model - FIND

# ---- C-FIND-RQ as DCMTK findscu sends it (PS3.7 Table 9.1-2) -----------------------------------
C_FIND_RQ_MWL = (
    b"\x00\x00\x00\x00" b"\x04\x00\x00\x00" b"\x46\x00\x00\x00"  # (0000,0000) UL GroupLength 70
    b"\x00\x00\x02\x00" b"\x16\x00\x00\x00"  # (0000,0002) UI AffectedSOPClassUID, 22 bytes:
    b"1.2.840.10008.5.1.4.31"  # MWL FIND (22 characters, no pad needed)
    b"\x00\x00\x00\x01" b"\x02\x00\x00\x00" b"\x20\x00"  # (0000,0100) US CommandField 0x0020 C-FIND-RQ
    b"\x00\x00\x10\x01" b"\x02\x00\x00\x00" b"\x01\x00"  # (0000,0110) US MessageID 1
    b"\x00\x00\x00\x07" b"\x02\x00\x00\x00" b"\x00\x00"  # (0000,0700) US Priority 0 (MEDIUM)
    b"\x00\x00\x00\x08" b"\x02\x00\x00\x00" b"\x01\x00"  # (0000,0800) US CommandDataSetType 0x0001
)
C_FIND_RQ_MWL_FIELDS = {0x0000: 70, 0x0002: MWL_FIND, 0x0100: 0x0020, 0x0110: 1, 0x0700: 0, 0x0800: 1}

# ---- C-CANCEL-RQ as DCMTK findscu sends it (PS3.7 Table 9.3-3) ---------------------------------
C_CANCEL_RQ = (
    b"\x00\x00\x00\x00" b"\x04\x00\x00\x00" b"\x1e\x00\x00\x00"  # (0000,0000) UL GroupLength 30
    b"\x00\x00\x00\x01" b"\x02\x00\x00\x00" b"\xff\x0f"  # (0000,0100) US CommandField 0x0FFF
    b"\x00\x00\x20\x01" b"\x02\x00\x00\x00" b"\x01\x00"  # (0000,0120) US MessageIDBeingRespondedTo 1
    b"\x00\x00\x00\x08" b"\x02\x00\x00\x00" b"\x01\x01"  # (0000,0800) US 0x0101: no data set
)
C_CANCEL_RQ_FIELDS = {0x0000: 30, 0x0100: 0x0FFF, 0x0120: 1, 0x0800: 0x0101}

# ---- C-FIND-RSP (PS3.7 Table 9.1-3) --------------------------------------------------------------
_RSP_HEAD = (
    b"\x00\x00\x02\x00" b"\x16\x00\x00\x00" b"1.2.840.10008.5.1.4.31"  # (0000,0002) UI, 22 bytes
    b"\x00\x00\x00\x01" b"\x02\x00\x00\x00" b"\x20\x80"  # (0000,0100) US CommandField 0x8020 C-FIND-RSP
    b"\x00\x00\x20\x01" b"\x02\x00\x00\x00" b"\x01\x00"  # (0000,0120) US MessageIDBeingRespondedTo 1
)
C_FIND_RSP_PENDING = (
    b"\x00\x00\x00\x00" b"\x04\x00\x00\x00" b"\x46\x00\x00\x00"  # (0000,0000) UL GroupLength 70
    + _RSP_HEAD
    + b"\x00\x00\x00\x08" b"\x02\x00\x00\x00" b"\x01\x00"  # (0000,0800) US 0x0001: identifier follows
    + b"\x00\x00\x00\x09" b"\x02\x00\x00\x00" b"\x00\xff"  # (0000,0900) US Status 0xFF00 Pending
)
C_FIND_RSP_PENDING_FIELDS = {
    0x0000: 70, 0x0002: MWL_FIND, 0x0100: 0x8020, 0x0120: 1, 0x0800: 0x0001, 0x0900: 0xFF00,
}
C_FIND_RSP_SUCCESS = (
    b"\x00\x00\x00\x00" b"\x04\x00\x00\x00" b"\x46\x00\x00\x00"  # (0000,0000) UL GroupLength 70
    + _RSP_HEAD
    + b"\x00\x00\x00\x08" b"\x02\x00\x00\x00" b"\x01\x01"  # (0000,0800) US 0x0101: no data set
    + b"\x00\x00\x00\x09" b"\x02\x00\x00\x00" b"\x00\x00"  # (0000,0900) US Status 0x0000 Success
)
C_FIND_RSP_SUCCESS_FIELDS = {**C_FIND_RSP_PENDING_FIELDS, 0x0800: 0x0101, 0x0900: 0x0000}
C_FIND_RSP_CANCEL = (
    b"\x00\x00\x00\x00" b"\x04\x00\x00\x00" b"\x46\x00\x00\x00"  # (0000,0000) UL GroupLength 70
    + _RSP_HEAD
    + b"\x00\x00\x00\x08" b"\x02\x00\x00\x00" b"\x01\x01"  # (0000,0800) US 0x0101: no data set
    + b"\x00\x00\x00\x09" b"\x02\x00\x00\x00" b"\x00\xfe"  # (0000,0900) US Status 0xFE00 Cancel
)
C_FIND_RSP_CANCEL_FIELDS = {**C_FIND_RSP_SUCCESS_FIELDS, 0x0900: 0xFE00}
C_FIND_RSP_FAILURE = (
    b"\x00\x00\x00\x00" b"\x04\x00\x00\x00" b"\x6c\x00\x00\x00"  # (0000,0000) UL GroupLength 108
    + _RSP_HEAD
    + b"\x00\x00\x00\x08" b"\x02\x00\x00\x00" b"\x01\x01"  # (0000,0800) US 0x0101: no data set
    + b"\x00\x00\x00\x09" b"\x02\x00\x00\x00" b"\x00\xa9"  # (0000,0900) US Status 0xA900 Failure
    + b"\x00\x00\x01\x09" b"\x04\x00\x00\x00"  # (0000,0901) AT OffendingElement, 4 bytes:
    + b"\x10\x00\x10\x00"  # (0010,0010) PatientName as group LE, element LE
    + b"\x00\x00\x02\x09" b"\x12\x00\x00\x00"  # (0000,0902) LO ErrorComment, 18 bytes:
    + b"Unable to process "  # 17 characters + one space pad
)
C_FIND_RSP_FAILURE_FIELDS = {
    **C_FIND_RSP_SUCCESS_FIELDS,
    0x0000: 108,
    0x0900: 0xA900,
    0x0901: (0x00100010,),
    0x0902: "Unable to process",
}

# ---- identifiers (implicit VR LE, as in the captured C-FIND-RQ) --------------------------------
IDENTIFIER_QUERY = (
    b"\x08\x00\x50\x00" b"\x00\x00\x00\x00"  # (0008,0050) AccessionNumber, empty
    b"\x10\x00\x10\x00" b"\x00\x00\x00\x00"  # (0010,0010) PatientName, empty
)
IDENTIFIER_MATCH = (
    b"\x08\x00\x50\x00" b"\x04\x00\x00\x00" b"A123"  # (0008,0050) AccessionNumber "A123"
    b"\x10\x00\x10\x00" b"\x06\x00\x00\x00" b"DOE^J "  # (0010,0010) PatientName "DOE^J" + pad
)

# ---- P-DATA-TF PDUs (PS3.8 §9.3.5, Annex E) ---------------------------------------------------
# PDU header: type 0x04 | reserved 0x00 | PDU length (4, BE); then per PDV item:
# item length (4, BE) = 2 + fragment | presentation context ID | message control header
# (bit 0: 1 = command, 0 = data set; bit 1: 1 = last fragment).
PDATA_FIND_RQ_COMMAND = (
    b"\x04\x00" b"\x00\x00\x00\x58"  # P-DATA-TF, PDU length 88
    b"\x00\x00\x00\x54" b"\x01" b"\x03"  # PDV length 84, context 1, command + last
    + C_FIND_RQ_MWL
)
PDATA_FIND_RQ_IDENTIFIER = (
    b"\x04\x00" b"\x00\x00\x00\x16"  # P-DATA-TF, PDU length 22
    b"\x00\x00\x00\x12" b"\x01" b"\x02"  # PDV length 18, context 1, data set + last
    + IDENTIFIER_QUERY
)
PDATA_CANCEL_RQ = (
    b"\x04\x00" b"\x00\x00\x00\x30"  # P-DATA-TF, PDU length 48
    b"\x00\x00\x00\x2c" b"\x01" b"\x03"  # PDV length 44, context 1, command + last
    + C_CANCEL_RQ
)
# A pending response with command and identifier as two PDVs in one PDU (legal, PS3.8 §9.3.5).
PDATA_PENDING_ONE_PDU = (
    b"\x04\x00" b"\x00\x00\x00\x78"  # P-DATA-TF, PDU length 120 = (6 + 82) + (6 + 26)
    b"\x00\x00\x00\x54" b"\x01" b"\x03"  # PDV length 84, context 1, command + last
    + C_FIND_RSP_PENDING
    + b"\x00\x00\x00\x1c" b"\x01" b"\x02"  # PDV length 28, context 1, data set + last
    + IDENTIFIER_MATCH
)
PDATA_SUCCESS = (
    b"\x04\x00" b"\x00\x00\x00\x58"  # P-DATA-TF, PDU length 88
    b"\x00\x00\x00\x54" b"\x01" b"\x03"  # PDV length 84, context 1, command + last
    + C_FIND_RSP_SUCCESS
)

# ---- A-RELEASE / A-ABORT (PS3.8 §9.3.6-9.3.8): fixed 4-byte bodies ------------------------------
A_RELEASE_RQ = b"\x05\x00" b"\x00\x00\x00\x04" b"\x00\x00\x00\x00"  # type 5, length 4, reserved
A_RELEASE_RP = b"\x06\x00" b"\x00\x00\x00\x04" b"\x00\x00\x00\x00"  # type 6, length 4, reserved
A_ABORT_PROVIDER = (
    b"\x07\x00" b"\x00\x00\x00\x04"  # A-ABORT, length 4
    b"\x00\x00" b"\x02" b"\x06"  # reserved x2, source 2 (service provider), reason 6
)
