"""C-FIND status codes: categories (PS3.7 Annex C) and DCMTK's status texts (PS3.4 C.4.1.1.4)."""

from __future__ import annotations

PENDING = "pending"
SUCCESS = "success"
CANCEL = "cancel"
WARNING = "warning"
FAILURE = "failure"
UNKNOWN = "unknown"

PENDING_STATUSES = (0xFF00, 0xFF01)


def category(status: int) -> str:
    """The PS3.7 Annex C category of a C-FIND status; only FF00/FF01 are pending."""
    if status in PENDING_STATUSES:
        return PENDING
    if status == 0x0000:
        return SUCCESS
    if status == 0xFE00:
        return CANCEL
    if status in (0x0001, 0x0107, 0x0116) or 0xB000 <= status <= 0xBFFF:
        return WARNING
    if 0xA000 <= status <= 0xAFFF or 0xC000 <= status <= 0xCFFF or 0x0100 <= status <= 0x02FF:
        return FAILURE
    return UNKNOWN


def status_text(status: int) -> str:
    """The status text DCMTK findscu prints (``DU_cfindStatusString``)."""
    text = _TEXT.get(status)
    if text is not None:
        return text
    if (status & 0xF000) == 0xC000:
        return "Failed: UnableToProcess"
    return f"Unknown Status: 0x{status:x}"


_TEXT = {
    0x0000: "Success",
    0xFF00: "Pending",
    0xFF01: "Pending: WarningUnsupportedOptionalKeys",
    0xFE00: "Cancel: MatchingTerminatedDueToCancelRequest",
    0xA700: "Refused: OutOfResources",
    0x0122: "Refused: SOPClassNotSupported",
    0xA900: "Error: DataSetDoesNotMatchSOPClass",
}
