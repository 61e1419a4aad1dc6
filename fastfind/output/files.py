"""Writing responses to disk: DICOM Part 10 files from the received bytes, atomically (PS3.10 §7).

Every file fastfind creates goes through :func:`write_atomic`: a hidden temporary file made with
``O_CREAT|O_EXCL`` in the output directory, written completely, then renamed over the final name.
A reader (or a crash) sees either nothing or a complete file, and a symlink planted at the final
name is replaced, never followed (``hostile-scp.md`` §5). File names come from a counter only,
never from peer data.
"""

from __future__ import annotations

import collections
import errno
import itertools
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

from ..dicom.uids import (
    GENERIC_FILE_SOP_CLASS,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
)
from ..errors import OutputError

PREAMBLE = b"\x00" * 128 + b"DICM"


def _element(elem: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH2sHL", 2, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 2, elem, vr, len(value)) + value


def _ui(uid: str) -> bytes:
    raw = uid.encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def file_meta(sop_class: str | None, sop_instance: str, transfer_syntax: str) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information group (PS3.10 §7.1), explicit VR LE."""
    version = IMPLEMENTATION_VERSION_NAME.encode("ascii")
    if len(version) % 2:
        version += b" "
    body = b"".join(
        (
            _element(0x0001, b"OB", b"\x00\x01"),
            _element(0x0002, b"UI", _ui(sop_class or GENERIC_FILE_SOP_CLASS)),
            _element(0x0003, b"UI", _ui(sop_instance)),
            _element(0x0010, b"UI", _ui(transfer_syntax)),
            _element(0x0012, b"UI", _ui(IMPLEMENTATION_CLASS_UID)),
            _element(0x0013, b"SH", version),
        )
    )
    return PREAMBLE + struct.pack("<HH2sHL", 2, 0, b"UL", 4, len(body)) + body


def inspect_identifier(tokens: list[tuple[int, int, int, object, int, int, int]]) -> tuple[list[tuple[int, int, int]], list[str]]:
    """Top-level elements of groups 0000/0002 (``(tag, start, end)`` byte ranges, header
    included) and the problems to warn about (``hostile-scp.md`` row 63).

    Command (0000) and file meta (0002) elements do not belong in an identifier: written into a
    Part 10 file they would be read as meta information. Out-of-order and duplicate tags are
    only reported; the bytes are kept as received.
    """
    ranges: list[tuple[int, int, int]] = []
    problems: list[str] = []
    prev_end = 0
    last_tag = -1
    for kind, depth, tag, _vr, _length, _start, end in tokens:
        if depth or kind > 1:
            continue
        if tag <= last_tag:
            problems.append(
                f"({tag >> 16:04x},{tag & 0xFFFF:04x}) {'repeated' if tag == last_tag else 'out of order'}"
                " in the identifier (kept as received)"
            )
        last_tag = max(last_tag, tag)
        if tag >> 16 in (0x0000, 0x0002):
            ranges.append((tag, prev_end, end))
        prev_end = end
    return ranges, problems


def without_ranges(plain: bytes, ranges: list[tuple[int, int, int]]) -> bytes:
    """``plain`` with the given ``(tag, start, end)`` byte ranges removed."""
    out = bytearray()
    pos = 0
    for _tag, start, end in ranges:
        out += plain[pos:start]
        pos = end
    out += plain[pos:]
    return bytes(out)


def check_output_directory(path: str) -> None:
    """DCMTK's pre-flight check of ``-od`` (a hint only; every write is checked too)."""
    if not os.path.isdir(path):
        raise OutputError("specified output directory does not exist")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError("specified output directory is not writeable")


_SEQ = itertools.count()
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_tmpfile_ok: dict[str, bool] = {}


def write_atomic(
    directory: str, name: str, chunks: list[bytes], *, sync: bool = False, no_clobber: bool = False
) -> tuple[str, bool]:
    """Write ``chunks`` to ``directory/name`` atomically; return ``(path, replaced_existing)``.

    Where the file system supports it, the data goes to an unnamed file (``O_TMPFILE``) that is
    given its name only when complete (``linkat``): one directory operation, as cheap as a plain
    create, and nothing partial is ever visible. If ``name`` exists (or ``O_TMPFILE`` is not
    available) the data goes to a hidden ``.name.<pid>.<n>.part`` file (``O_EXCL|O_NOFOLLOW``)
    renamed over ``name`` -- the rename replaces a symlink planted at ``name`` instead of
    following it. Files get mode ``0666 & ~umask``, as DCMTK's ``fopen``. With ``no_clobber`` an
    existing ``name`` is an error. Raises :class:`OutputError` (nothing left behind) on failure.
    """
    final = os.path.join(directory, name) if directory else name
    base = directory or "."
    try:
        if _O_TMPFILE and _tmpfile_ok.get(base, True):
            fd = _open_unnamed(base)
            if fd >= 0:
                try:
                    _write_all(fd, chunks, sync)
                    try:
                        # src_dir_fd makes CPython use linkat(..., AT_SYMLINK_FOLLOW)
                        os.link(f"/proc/self/fd/{fd}", final, src_dir_fd=fd, follow_symlinks=True)
                        return final, False
                    except FileExistsError:
                        if no_clobber:
                            raise
                    except OSError as exc:
                        if exc.errno not in (errno.EXDEV, errno.ENOENT, errno.EPERM, errno.EINVAL):
                            raise
                        _tmpfile_ok[base] = False  # no usable /proc: rename from now on
                finally:
                    os.close(fd)
        return _write_renamed(base, final, name, chunks, sync, no_clobber)
    except OSError as exc:
        raise OutputError(f"Writing file: {final}: {exc.strerror or exc}") from None


def _open_unnamed(base: str) -> int:
    try:
        return os.open(base, _O_TMPFILE | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o666)
    except (IsADirectoryError, NotADirectoryError, OSError) as exc:
        if isinstance(exc, (IsADirectoryError,)) or exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.EISDIR):
            _tmpfile_ok[base] = False  # this file system has no O_TMPFILE: use rename from now on
            return -1
        raise


def _write_all(fd: int, chunks: list[bytes], sync: bool) -> None:
    total = sum(len(c) for c in chunks)
    done = os.writev(fd, chunks)
    if done < total:  # short write: finish the rest
        rest = memoryview(b"".join(chunks))[done:]
        while rest:
            rest = rest[os.write(fd, rest) :]
    if sync:
        os.fsync(fd)


def _write_renamed(
    base: str, final: str, name: str, chunks: list[bytes], sync: bool, no_clobber: bool
) -> tuple[str, bool]:
    while True:
        tmp = os.path.join(base, f".{name}.{os.getpid()}.{next(_SEQ)}.part")
        try:
            fd = os.open(tmp, _OPEN_FLAGS, 0o666)
            break
        except FileExistsError:
            continue
    try:
        try:
            _write_all(fd, chunks, sync)
        finally:
            os.close(fd)
        if no_clobber:
            os.link(tmp, final)
            os.unlink(tmp)
            return final, False
        existed = os.path.lexists(final)
        os.replace(tmp, final)
        return final, existed
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class FileWriter:
    """Write response files atomically on a small thread pool, with back-pressure.

    The network loop stays single-threaded; file creation (system calls that release the GIL)
    overlaps with it. At most ``max_pending`` files wait in memory: a slow disk slows the
    reader instead of queueing without bound. The first failure is raised, as
    :class:`OutputError`, by the next :meth:`submit` or by :meth:`close`; ``failed`` lists the
    response numbers that could not be written.
    """

    def __init__(
        self, directory: str, *, threads: int = 3, max_pending: int = 64, sync: bool = False,
        no_clobber: bool = False,
    ):
        self.directory = directory
        self.sync = sync
        self.no_clobber = no_clobber
        self.written = 0
        self.failed: list[int] = []
        self.messages: collections.deque[str] = collections.deque()
        self._error: OutputError | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_pending)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="fastfind-writer") if threads else None

    def submit(self, number: int, name: str, chunks: list[bytes]) -> None:
        """Queue one file; raises the first earlier failure instead."""
        self.raise_if_failed()
        if self._pool is None:
            self._write(number, name, chunks)
            self.raise_if_failed()
            return
        self._slots.acquire()
        try:
            self._pool.submit(self._write_released, number, name, chunks)
        except BaseException:
            self._slots.release()
            raise

    def _write_released(self, number: int, name: str, chunks: list[bytes]) -> None:
        try:
            self._write(number, name, chunks)
        finally:
            self._slots.release()

    def _write(self, number: int, name: str, chunks: list[bytes]) -> None:
        try:
            path, existed = write_atomic(
                self.directory, name, chunks, sync=self.sync, no_clobber=self.no_clobber
            )
        except OutputError as exc:
            with self._lock:
                self.failed.append(number)
                if self._error is None:
                    self._error = exc
            return
        except BaseException as exc:  # never lose a failure in a worker thread
            with self._lock:
                self.failed.append(number)
                if self._error is None:
                    self._error = OutputError(f"Writing file: {name}: {exc}")
            return
        with self._lock:
            self.written += 1
        if existed:
            self.messages.append(f"replaced existing file {path}")

    def raise_if_failed(self) -> None:
        error = self._error
        if error is not None:
            self._error = None
            raise error

    def close(self) -> None:
        """Wait for every queued file; raise the first failure not raised yet."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.raise_if_failed()


def sync_directory(directory: str) -> None:
    """fsync the directory so that the renames are durable (``--sync``)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        raise OutputError(f"cannot sync output directory {directory}: {exc.strerror}") from None
    finally:
        os.close(fd)
