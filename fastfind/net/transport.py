"""TCP (optionally TLS) transport with absolute deadlines (PS3.8 §9.1.1).

Every blocking call takes an absolute ``time.monotonic()`` deadline (``None`` = no deadline):
a peer that drips one byte at a time cannot stretch a wait, unlike a per-``recv`` idle timer.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time

from ..errors import ConnectError, ConnectionClosed, DimseTimeout, TLSError


class Deadline(DimseTimeout):
    """A transport-level wait ran past its deadline (caller re-labels it)."""


class TLSClosed(ConnectionClosed):
    """The TLS layer failed after the handshake (e.g. a TLS 1.3 peer refusing our certificate)."""


#: Waits of this many seconds (68 years) or more are "very long": no deadline at all, as DCMTK
#: treats timeouts beyond its 32-bit range. Keeps every wait within what ``settimeout`` and
#: ``poll`` can represent.
LONGEST_WAIT = float(2**31)


def deadline_after(seconds: float | None) -> float | None:
    """Absolute deadline ``seconds`` from now (``None``, ``<= 0``, NaN, or at least
    :data:`LONGEST_WAIT` (``inf`` too) -> no deadline)."""
    if seconds is None or not 0 < seconds < LONGEST_WAIT:
        return None
    return time.monotonic() + seconds


def earliest(*deadlines: float | None) -> float | None:
    """The earliest of several deadlines, ignoring ``None``."""
    real = [d for d in deadlines if d is not None]
    return min(real) if real else None


class Transport:
    """A connected socket; ``recv_into``/``sendall`` honour absolute deadlines."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.closed = False

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> Transport:
        """Open a TCP connection (and run the TLS handshake) within ``timeout`` seconds."""
        deadline = deadline_after(timeout)
        try:
            infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise ConnectError(f"Attempt to connect to unknown host: {host}") from None
        last: OSError | None = None
        for family, stype, proto, _, addr in infos:
            sock = socket.socket(family, stype, proto)
            try:
                sock.settimeout(_remaining(deadline))
                sock.connect(addr)
            except TimeoutError:
                sock.close()
                raise ConnectError("TCP Initialization Error: Connection timed out") from None
            except OSError as exc:
                sock.close()
                last = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl_context is not None:
                sock = _handshake(sock, ssl_context, server_hostname, deadline)
            return cls(sock)
        reason = _strerror(last)
        raise ConnectError(f"TCP Initialization Error: {reason}")

    def recv_into(self, buffer: memoryview, deadline: float | None) -> int:
        """Receive into ``buffer``; raise :class:`ConnectionClosed` at EOF, :class:`Deadline` on expiry."""
        sock = self.sock
        while True:
            sock.settimeout(_remaining(deadline))
            try:
                n = sock.recv_into(buffer)
            except TimeoutError:
                raise Deadline("network read timeout") from None
            except ssl.SSLError as exc:
                raise TLSClosed(f"TLS error while reading: {exc.reason or exc}") from None
            except InterruptedError:
                continue
            except OSError as exc:
                raise ConnectionClosed(f"connection lost: {_strerror(exc)}") from None
            if n == 0:
                raise ConnectionClosed("Peer closed the connection")
            return n

    def sendall(self, data: bytes, deadline: float | None) -> None:
        """Send all of ``data`` before ``deadline``."""
        sock = self.sock
        view = memoryview(data)
        while view:
            sock.settimeout(_remaining(deadline))
            try:
                sent = sock.send(view)
            except TimeoutError:
                raise Deadline("network write timeout") from None
            except InterruptedError:
                continue
            except ssl.SSLError as exc:
                raise TLSClosed(f"TLS error while sending: {exc.reason or exc}") from None
            except OSError as exc:
                raise ConnectionClosed(f"connection lost while sending: {_strerror(exc)}") from None
            view = view[sent:]

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` for ``settimeout`` (never more than
    :data:`LONGEST_WAIT`, so a deadline made elsewhere cannot overflow it)."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise Deadline("deadline expired")
    return left if left < LONGEST_WAIT else None


def _handshake(
    sock: socket.socket, ctx: ssl.SSLContext, server_hostname: str | None, deadline: float | None
) -> socket.socket:
    try:
        sock.settimeout(_remaining(deadline))
        tls = ctx.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        tls.do_handshake()
        return tls
    except TimeoutError:
        sock.close()
        raise TLSError("TLS handshake timed out") from None
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise TLSError(f"TLS handshake failed: {exc.verify_message or exc.reason or exc}") from None
    except ssl.SSLError as exc:
        sock.close()
        raise TLSError(f"TLS handshake failed: {exc.reason or exc}") from None
    except OSError as exc:
        sock.close()
        raise TLSError(f"TLS handshake failed: {_strerror(exc)}") from None


def _strerror(exc: OSError | None) -> str:
    if exc is None:
        return "no address to connect to"
    if exc.errno is not None:
        return errno.errorcode.get(exc.errno, "") and (exc.strerror or str(exc)) or str(exc)
    return str(exc)
