"""Reading local input files with a size cap and a deadline (issue 9: no input crashes fastfind).

Every file fastfind reads (command files, ``-lc`` configurations, query files, ``DCMDICTPATH``
dictionaries, TLS keys, certificates, CRLs and seeds) goes through :func:`read_capped`:

* the file is opened once, non-blocking (opening a FIFO never waits for a writer), and read
  once, so a FIFO or ``<(...)`` works; a directory is refused (``EISDIR``);
* at most ``limit`` bytes are accepted: a larger file (``/dev/zero``, a sparse file) fails with
  ``EFBIG`` after reading ``limit + 1`` bytes, never more;
* a FIFO, pipe, terminal or device that delivers nothing for ``timeout`` seconds fails with
  ``ETIMEDOUT``; regular files are never waited for.

Failures are :class:`OSError` with a readable ``strerror``, so callers report them as they
report a missing file. The caps (bytes):

==================  =========  ================================================
what                cap        why
==================  =========  ================================================
query file          64 MiB     as large as a response identifier may be
command file        1 MiB      ``@file``: a command line, not data
log configuration   1 MiB      ``-lc``: a few dozen properties
dictionary          16 MiB     DCMTK's ``dicom.dic`` is 250 KB
TLS file            16 MiB     keys, certificate bundles and CRLs
==================  =========  ================================================
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time

MiB = 1 << 20
QUERY_FILE_LIMIT = 64 * MiB
COMMAND_FILE_LIMIT = 1 * MiB
LOG_CONFIG_LIMIT = 1 * MiB
DICTIONARY_LIMIT = 16 * MiB
TLS_FILE_LIMIT = 16 * MiB
#: How long a FIFO, pipe or device may take to deliver its data (seconds, whole file).
READ_TIMEOUT = 10.0

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
_CHUNK = 1 << 20


def too_large(path: str, limit: int) -> OSError:
    """The error for a file above its cap."""
    return OSError(errno.EFBIG, f"file too large (more than {limit} bytes)", path)


def read_capped(path: str, limit: int, timeout: float | None = None, *, truncate: bool = False
                ) -> bytes:
    """The whole content of ``path`` (at most ``limit`` bytes); see the module docstring.

    With ``truncate`` a larger file gives its first ``limit`` bytes instead of ``EFBIG``
    (a random seed may be ``/dev/urandom``). ``timeout`` defaults to :data:`READ_TIMEOUT`.
    """
    timeout = READ_TIMEOUT if timeout is None else timeout
    try:
        fd = os.open(path, _FLAGS)
    except ValueError:  # a NUL byte in the name
        raise OSError(errno.EINVAL, "file name contains a NUL byte", path) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        regular = stat.S_ISREG(st.st_mode)
        if regular and st.st_size > limit and not truncate:
            raise too_large(path, limit)
        deadline = None if regular else time.monotonic() + timeout
        data = _read_all(fd, path, limit, deadline, timeout)
    finally:
        os.close(fd)
    if len(data) > limit:
        if not truncate:
            raise too_large(path, limit)
        data = data[:limit]
    return data


def _read_all(fd: int, path: str, limit: int, deadline: float | None, timeout: float) -> bytes:
    """Read ``fd`` to EOF; wait (poll) only before the deadline, never past ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(max(1, int(left * 1000))):
                raise OSError(errno.ETIMEDOUT, f"no end of data within {timeout:g} s", path)
        try:
            data = os.read(fd, min(_CHUNK, limit + 1 - total))
        except BlockingIOError:
            continue
        if not data:
            return b"".join(chunks)
        chunks.append(data)
        total += len(data)
        if total > limit:  # one byte more than allowed: the caller decides
            return b"".join(chunks)


def describe(exc: OSError) -> str:
    """``strerror`` of ``exc`` (or its text): the reason part of a one-line message."""
    return exc.strerror or str(exc)
