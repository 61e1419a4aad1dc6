"""Creating output files: complete or absent, never through a planted symlink (PS3.10 §7).

Every file fastfind creates goes through this module (``hostile-scp.md`` §5):

* :func:`write_atomic` -- one whole file (``rspNNNN.dcm``, ``rspNNNN.xml``). Where the file system
  supports it the data goes to an unnamed file (``O_TMPFILE``) named only when complete
  (``linkat``); otherwise, or when the name exists, to a hidden ``.name.<pid>.<n>.part`` file
  (``O_EXCL|O_NOFOLLOW``) renamed over the name. Either way a reader (or a crash) sees nothing
  or a complete file, and a symlink planted at the name is replaced, never followed.
* :class:`FileWriter` -- many such files in one directory, written by one background thread
  (see its docstring for the strategy and why).
* :class:`OutputFile` -- a stream (JSON, NDJSON, CSV, ``-Xs`` XML, Parquet): written to a hidden
  temporary file in the target's directory and renamed over the target by :meth:`~OutputFile.close`;
  :meth:`~OutputFile.discard` removes it. A target that exists and is not a regular file (a
  character device such as ``/dev/null``, a FIFO, a socket) is written directly -- replacing a
  device node is never right -- and ``-`` is standard output.

Files get mode ``0666 & ~umask``, as DCMTK's ``fopen``. File names come from a counter only,
never from peer data. Failures are :class:`~fastfind.errors.OutputError`.
"""

from __future__ import annotations

import collections
import errno
import io
import itertools
import os
import stat
import sys
import threading
from collections.abc import Sequence

from .. import codec
from ..errors import OutputError

_SEQ = itertools.count()
BATCH = 64  #: files per hand-off to the writer thread (sooner at flush())
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_EXCL_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC


def write_atomic(
    directory: str, name: str, chunks: Sequence[bytes], *, sync: bool = False, no_clobber: bool = False
) -> tuple[str, bool]:
    """Write ``chunks`` to ``directory/name`` atomically; return ``(path, replaced_existing)``.

    With ``no_clobber`` an existing ``name`` is an error. Raises :class:`OutputError` (nothing
    left behind) on failure.
    """
    final = os.path.join(directory, name) if directory else name
    try:
        dirfd = os.open(directory or ".", os.O_RDONLY | _CLOEXEC)
    except OSError as exc:
        raise OutputError(f"Writing file: {final}: {exc.strerror or exc}") from None
    try:
        result = codec.write_files(dirfd, [(name.encode(), tuple(chunks))], sync, no_clobber)[0]
    finally:
        os.close(dirfd)
    if result < 0:
        raise OutputError(f"Writing file: {final}: {os.strerror(-result)}")
    return final, result == codec.WRITE_REPLACED


class FileWriter:
    """Write response files into one directory, each complete before it gets its name.

    Strategy (measured on this 2-core machine, ``benchmarks/``): file creation is kernel CPU
    time -- 14 µs per atomic file on tmpfs, 200-480 µs on the ext4 disk -- and two threads
    creating files in one directory contend for its lock, so more writers do not help. The
    network loop therefore hands files to ONE writer thread, which takes everything queued each
    time it wakes and creates the whole batch in C with the GIL released
    (:func:`fastfind.codec.write_files`): receiving and file creation run on the two cores side
    by side. The writer is woken once per :data:`BATCH` files, or by :meth:`flush`, which the
    receive loop calls whenever it is about to wait for the peer -- so a slow server's files
    appear at once and a fast server's go in batches. At most ``max_pending`` files (or ``max_bytes``) wait
    in memory; beyond that :meth:`submit` blocks, so a slow disk slows the reader instead of
    filling memory. With one CPU, or ``threads=0``, files are written inline.

    The first failure is raised, as :class:`OutputError`, by the next :meth:`submit` or by
    :meth:`close`; :attr:`failed` lists the response numbers that could not be written.
    """

    def __init__(
        self,
        directory: str,
        *,
        sync: bool = False,
        no_clobber: bool = False,
        threads: int | None = None,
        max_pending: int = 256,
        max_bytes: int = 64 << 20,
    ):
        self.directory = directory
        self.sync = sync
        self.no_clobber = no_clobber
        self.written = 0
        self.failed: list[int] = []
        self.replaced: list[str] = []  #: paths of files that existed before (already logged)
        self._error: OutputError | None = None
        self._max_pending = max_pending
        self._max_bytes = max_bytes
        try:
            self._dirfd = os.open(directory or ".", os.O_RDONLY | _CLOEXEC)
        except OSError as exc:
            raise OutputError(f"Writing file: {directory}: {exc.strerror or exc}") from None
        if threads is None:
            threads = 1 if (os.cpu_count() or 1) > 1 else 0
        self._queue: collections.deque[tuple[int, bytes, tuple[bytes, ...]]] = collections.deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        if threads:
            self._thread = threading.Thread(target=self._run, name="fastfind-writer", daemon=True)
            self._thread.start()

    def submit(self, number: int, name: str, chunks: Sequence[bytes]) -> None:
        """Queue one file; raises the first earlier failure instead."""
        self.raise_if_failed()
        item = (number, name.encode(), tuple(chunks))
        if self._thread is None:
            self._write_batch([item])
            self.raise_if_failed()
            return
        size = sum(len(c) for c in item[2])
        cond = self._cond
        with cond:
            while (len(self._queue) >= self._max_pending or self._queued_bytes > self._max_bytes) and (
                self._thread.is_alive()
            ):
                cond.wait(0.5)
            queue = self._queue
            queue.append(item)
            self._queued_bytes += size
            # wake the writer for a batch, not for every file: one hand-off per BATCH files, or
            # at flush() -- which the receive loop calls before it waits for the network
            if not self._busy and len(queue) >= BATCH:
                cond.notify_all()

    def flush(self) -> None:
        """Hand every queued file to the writer now (called before waiting for the network)."""
        if self._thread is not None:
            with self._cond:
                if self._queue:
                    self._cond.notify_all()

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._queue and not self._closing:
                    cond.wait()
                if not self._queue:
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._queued_bytes = 0
                self._busy = True
                cond.notify_all()
            try:
                self._write_batch(batch)
            finally:
                with cond:
                    self._busy = False
                    cond.notify_all()

    def _write_batch(self, batch: list[tuple[int, bytes, tuple[bytes, ...]]]) -> None:
        try:
            results = codec.write_files(
                self._dirfd, [(name, chunks) for _, name, chunks in batch], self.sync, self.no_clobber
            )
        except BaseException as exc:  # never lose a failure in the worker thread
            results = [-(getattr(exc, "errno", None) or errno.EIO)] * len(batch)
        for (number, name, _), result in zip(batch, results, strict=True):
            if result >= 0:
                self.written += 1
                if result == codec.WRITE_REPLACED:
                    self.replaced.append(self._path(name))
                continue
            self.failed.append(number)
            if self._error is None:
                self._error = OutputError(f"Writing file: {self._path(name)}: {os.strerror(-result)}")

    def _path(self, name: bytes) -> str:
        text = name.decode()
        return os.path.join(self.directory, text) if self.directory else text

    def raise_if_failed(self) -> None:
        error = self._error
        if error is not None:
            self._error = None
            raise error

    def close(self) -> None:
        """Write every queued file; raise the first failure not raised yet."""
        self._finish()
        self.raise_if_failed()

    def discard(self) -> None:
        """Stop after the files already queued (each is a complete response); raise nothing."""
        self._finish()

    def _finish(self) -> None:
        thread = self._thread
        if thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            thread.join()
            self._thread = None
        if self._dirfd >= 0:
            os.close(self._dirfd)
            self._dirfd = -1


class OutputFile:
    """One streamed output file (JSON, CSV, ``-Xs`` XML, Parquet); see the module docstring.

    ``write`` takes bytes. :meth:`close` completes the file (flush, ``fsync`` with ``sync``,
    rename into place); :meth:`discard` leaves nothing. :attr:`replaced` is true when an
    existing file was replaced.
    """

    def __init__(self, path: str, *, sync: bool = False, buffer_size: int = 1 << 20):
        self.path = path
        self.sync = sync
        self.replaced = False
        self._tmp: str | None = None
        self._direct = False
        self._done = False
        try:
            self._fh = self._open(buffer_size)
        except OSError as exc:
            raise OutputError(f"Writing file: {path}: {exc.strerror or exc}") from None

    def _open(self, buffer_size: int) -> io.BufferedWriter:
        if self.path == "-":
            self._direct = True
            return io.BufferedWriter(_Unclosed(sys.stdout.buffer), buffer_size)  # type: ignore[arg-type]
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), self.path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            # a device, FIFO or socket: write to it (a FIFO without a reader fails at once)
            self._direct = True
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | _CLOEXEC)
            os.set_blocking(fd, True)
            return open(fd, "wb", buffering=buffer_size)  # closed by close()
        self.replaced = os.path.lexists(self.path)
        directory, name = os.path.split(os.path.abspath(self.path))
        while True:
            tmp = os.path.join(directory, f".{name}.{os.getpid()}.{next(_SEQ)}.part")
            try:
                fd = os.open(tmp, _EXCL_FLAGS, 0o666)
                break
            except FileExistsError:
                continue
        self._tmp = tmp
        return open(fd, "wb", buffering=buffer_size)  # closed by close()

    def write(self, data: bytes) -> None:
        try:
            self._fh.write(data)
        except OSError as exc:
            raise OutputError(f"Writing file: {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Complete the file; raises :class:`OutputError` (and leaves nothing) on failure."""
        if self._done:
            return
        self._done = True
        try:
            self._fh.flush()
            if self.sync and not self._direct:
                os.fsync(self._fh.fileno())
            self._fh.close()
            if self._tmp is not None:
                os.replace(self._tmp, self.path)
                self._tmp = None
        except OSError as exc:
            self._cleanup()
            raise OutputError(f"Writing file: {self.path}: {exc.strerror or exc}") from None

    def discard(self) -> None:
        """Abandon the file: a temporary file is removed, a device or stream is just flushed."""
        if self._done:
            return
        self._done = True
        self._cleanup()

    def _cleanup(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None


class _Unclosed(io.RawIOBase):
    """Standard output for :class:`OutputFile` ``-``: flushed, never closed."""

    def __init__(self, stream: io.BufferedIOBase):
        self._stream = stream

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._stream.write(data)
        self._stream.flush()
        return len(data)

    def close(self) -> None:
        try:
            self._stream.flush()
        finally:
            super().close()


def check_output_directory(path: str) -> None:
    """DCMTK's pre-flight check of ``-od`` (a hint only; every write is checked too)."""
    if not os.path.isdir(path):
        raise OutputError("specified output directory does not exist")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError("specified output directory is not writeable")


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
