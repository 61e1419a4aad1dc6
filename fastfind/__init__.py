"""fastfind: a fast, hardened, DCMTK-findscu-compatible DICOM C-FIND client."""

from ._version import __version__
from .client import FindClient, FindOperation, FindResponse, find, find_all
from .errors import (
    AssociationRejected,
    CodecError,
    ConnectError,
    DimseTimeout,
    FastFindError,
    FindCancelled,
    FindFailed,
    FindStatusError,
    NetworkError,
    NoAcceptableContext,
    OutputError,
    PeerAborted,
    ProtocolError,
    TLSError,
    UsageError,
)


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """``fastfind.record_batches`` / ``fastfind.to_table`` / ``fastfind.ArrowSink`` import
    pyarrow only when used (the optional ``arrow`` extra)."""
    if name in ("ArrowSink", "record_batches", "to_table"):
        from . import arrow

        return getattr(arrow, name)
    raise AttributeError(f"module 'fastfind' has no attribute {name!r}")


__all__ = [
    "__version__",
    "find",
    "find_all",
    "FindClient",
    "FindOperation",
    "FindResponse",
    "FastFindError",
    "UsageError",
    "OutputError",
    "NetworkError",
    "ConnectError",
    "TLSError",
    "AssociationRejected",
    "NoAcceptableContext",
    "ProtocolError",
    "CodecError",
    "PeerAborted",
    "DimseTimeout",
    "FindStatusError",
    "FindFailed",
    "FindCancelled",
    "ArrowSink",
    "record_batches",
    "to_table",
]
