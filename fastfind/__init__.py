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
]
