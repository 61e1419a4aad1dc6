"""fastfind's exception hierarchy and exit codes.

Every error a user can meet is one of these classes; each carries the process exit code the
CLI uses for it (``../shared/reference/hostile-scp.md`` §6.3, DCMTK ``ofstd/ofexit.h``):

====  ==========================================================================
code  meaning
====  ==========================================================================
0     success
1     command line / local set-up (DCMTK's ``printError`` and ``F:`` exits)
2     no association: refused, unknown host, rejected, no acceptable context,
      ACSE timeout, TLS handshake failure (DCMTK)
3     association teardown failed (DCMTK)
40    an output file could not be written
68    C-FIND Warning or Cancel final status that we did not ask for
69    C-FIND Failure or unknown final status
70    internal error (a bug in fastfind: please report it)
71    peer aborted the association, or violated the protocol
72    timeout after the association was established
====  ==========================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_NO_ASSOCIATION = 2
EXIT_TEARDOWN = 3
EXIT_WRITE = 40
EXIT_WARNING_STATUS = 68
EXIT_FAILURE_STATUS = 69
EXIT_INTERNAL = 70
EXIT_PROTOCOL = 71
EXIT_TIMEOUT = 72
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class FastFindError(Exception):
    """Base class: every error fastfind raises on purpose.

    ``dcmtk_condition`` / ``condition_text`` are DCMTK's condition code and text for the same
    failure (``"0006:0213"``, ``"Data dictionary missing"``) where the CLI must print them.
    """

    exit_code = EXIT_USAGE
    dcmtk_condition: str | None = None
    condition_text: str | None = None


class UsageError(FastFindError, ValueError):
    """Bad options, keys or query files (API misuse or a command-line error)."""

    exit_code = EXIT_USAGE


class OutputError(FastFindError, OSError):
    """An output file could not be created or written (ENOSPC, EIO, EACCES, ...)."""

    exit_code = EXIT_WRITE


class NetworkError(FastFindError):
    """No association could be set up (PS3.8 §9.2 Sta4/Sta5 failures)."""

    exit_code = EXIT_NO_ASSOCIATION


class ConnectError(NetworkError):
    """TCP connect failed (refused, unknown host, connect timeout)."""


class TLSError(NetworkError):
    """The TLS handshake failed; nothing was sent in the clear."""


class AssociationRejected(NetworkError):
    """The peer answered A-ASSOCIATE-RJ (PS3.8 §9.3.4)."""

    def __init__(self, message: str, result: int = 0, source: int = 0, reason: int = 0):
        super().__init__(message)
        self.result = result
        self.source = source
        self.reason = reason


class NoAcceptableContext(NetworkError):
    """The peer accepted none of the proposed presentation contexts."""


class AssociationTimeout(NetworkError):
    """No A-ASSOCIATE-AC/RJ arrived before the ACSE deadline."""


class ProtocolError(FastFindError):
    """The peer broke PS3.7/PS3.8 rules; the association is aborted.

    ``abort_source``/``abort_reason`` are the A-ABORT fields fastfind sends (PS3.8 §9.3.8):
    source 2 (service provider) for Upper Layer framing faults, source 0 for DIMSE faults.
    """

    exit_code = EXIT_PROTOCOL

    def __init__(self, message: str, abort_source: int = 2, abort_reason: int = 0):
        super().__init__(message)
        self.abort_source = abort_source
        self.abort_reason = abort_reason


class UnusableAssociation(ProtocolError):
    """The peer accepted the association with parameters fastfind cannot work with
    (e.g. a maximum PDU length below 14): the association is aborted (exit 71)."""


class ReleaseTimeout(NetworkError):
    """No A-RELEASE-RP before the ACSE deadline (DCMTK findscu exits 2 here, so does fastfind)."""


class CodecError(ProtocolError):
    """A command set or identifier could not be decoded."""

    def __init__(self, message: str, abort_source: int = 0, abort_reason: int = 0):
        super().__init__(message, abort_source, abort_reason)


class PeerAborted(ProtocolError):
    """The peer sent A-ABORT (or closed the connection) while the association was up."""

    def __init__(self, message: str, source: int = 0, reason: int = 0):
        super().__init__(message, source, reason)


class ConnectionClosed(PeerAborted):
    """The transport closed (TCP FIN/RST, TLS EOF) while the association was up."""


class DimseTimeout(FastFindError):
    """A deadline expired after the association was established."""

    exit_code = EXIT_TIMEOUT


class FindStatusError(FastFindError):
    """A C-FIND ended with a status other than Success (PS3.4 C.4.1.1.4).

    Raised by the API only when asked to check the final status; the responses received before
    it have already been delivered.
    """

    exit_code = EXIT_FAILURE_STATUS

    def __init__(self, message: str, status: int, error_comment: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_comment = error_comment


class FindFailed(FindStatusError):
    """Final status Failure or an unknown status."""

    exit_code = EXIT_FAILURE_STATUS


class FindCancelled(FindStatusError):
    """Final status Cancel (FE00) or Warning that fastfind did not ask for.

    This includes servers that cap their results (Orthanc ``LimitFindResults``).
    """

    exit_code = EXIT_WARNING_STATUS
