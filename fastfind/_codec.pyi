"""Type stub for the Cython codec; same API as :mod:`fastfind._codec_py`."""

from collections.abc import Iterable

ELEMENT: int
SEQUENCE: int
ITEM: int
ITEM_END: int
ITEM_DELIM: int
SEQUENCE_END: int
SEQUENCE_DELIM: int
EV_MESSAGE: int
EV_PDU: int
UNDEFINED: int
ASSOCIATE_PDU_LIMIT: int
ITEM_TAG: int
ITEM_DELIM_TAG: int
SEQ_DELIM_TAG: int
COMMAND_VRS: dict[int, str]
NO_DATASET: int

Token = tuple[int, int, int, str | None, int, int, int]

def decode_command(data: bytes) -> dict[int, object]:
    """Decode a command set (implicit VR LE, group 0000 only; PS3.7 §6.3.1)."""

def encode_command(elements: list[tuple[int, object]]) -> bytes:
    """Encode ``[(element, value), ...]`` of group 0000 into a command set."""

def encode_pdata(context_id: int, is_command: bool, payload: bytes, max_pdu: int) -> bytes:
    """Return the P-DATA-TF PDUs that carry ``payload`` as one command or data-set part."""

class Receiver:
    """Split a received byte stream into PDUs and reassemble DIMSE messages (PS3.8 §9.3)."""

    max_pdu: int
    max_command: int
    max_dataset: int
    def __init__(self, max_pdu: int, max_command: int = 65536, max_dataset: int = ...) -> None: ...
    def set_contexts(self, context_ids: Iterable[int]) -> None:
        """Accept P-DATA-TF on these presentation context IDs from now on."""
    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete PDU."""
    @property
    def in_message(self) -> bool:
        """True while a DIMSE message is partly received."""
    def feed(self, data: bytes) -> list[tuple]:  # type: ignore[type-arg]
        """Append received bytes; return the events they complete, in order."""

def walk_dataset(
    data: bytes,
    implicit: bool,
    little: bool,
    sq_tags: frozenset[int] | set[int],
    max_depth: int = 64,
) -> list[Token]:
    """Tokenise an encoded data set without recursion."""

def inflate(data: bytes, max_size: int) -> bytes:
    """Inflate a raw-deflate data set, refusing output larger than ``max_size`` bytes."""

def deflate(data: bytes, level: int = 6) -> bytes:
    """Raw-deflate ``data`` (PS3.5 A.5), padded with one NUL to an even length."""
