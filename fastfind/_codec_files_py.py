"""Pure-Python twin of ``_codec_files.pxi``: creating many small files atomically, in one call.

:func:`write_files` creates each ``(name, chunks)`` file in the directory ``dirfd``: an unnamed
file (``O_TMPFILE``) written completely and then linked under its name (``linkat`` of
``/proc/self/fd/N``, which needs no privilege), so nothing partial is ever visible. A name that
already exists is replaced by a rename from a hidden ``.name.<pid>.<n>.part`` link (a symlink
planted at the name is replaced, not followed); where ``O_TMPFILE`` or ``/proc`` is missing the
data goes to that hidden name (``O_CREAT|O_EXCL|O_NOFOLLOW``) first. The Cython twin does the
same system calls for a whole batch with the GIL released.
"""

from __future__ import annotations

import errno
import itertools
import os
from collections.abc import Sequence

WRITE_CREATED = 0  #: the file did not exist
WRITE_REPLACED = 1  #: an existing file (or symlink) of that name was replaced

_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_EXCL = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC
_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT, errno.EXDEV, errno.EPERM)
_SEQ = itertools.count()
MAX_CHUNKS = 64  # more chunks than this are joined first (writev takes at most IOV_MAX)


def _check_name(name: bytes) -> bytes:
    name = bytes(name)
    if not name or len(name) > 4000 or b"/" in name or b"\0" in name:
        raise ValueError(f"invalid file name {name!r}")
    return name
_no_tmpfile: set[int] = set()  # devices where O_TMPFILE or /proc turned out unusable


def write_files(
    dirfd: int, items: Sequence[tuple[bytes, Sequence[bytes]]], sync: bool = False,
    no_clobber: bool = False,
) -> list[int]:
    """Create each ``(name, chunks)`` file in directory ``dirfd``; one result per item:
    :data:`WRITE_CREATED`, :data:`WRITE_REPLACED`, or ``-errno`` (nothing left behind)."""
    items = [(_check_name(name), chunks if len(chunks) <= MAX_CHUNKS else (b"".join(chunks),))
             for name, chunks in items]
    try:
        device = os.fstat(dirfd).st_dev
    except OSError as exc:
        return [-(exc.errno or errno.EIO)] * len(items)
    return [_write_one(dirfd, device, name, chunks, sync, no_clobber) for name, chunks in items]


def _write_one(
    dirfd: int, device: int, name: bytes, chunks: Sequence[bytes], sync: bool, no_clobber: bool
) -> int:
    try:
        if _O_TMPFILE and device not in _no_tmpfile:
            result = _write_unnamed(dirfd, name, chunks, sync, no_clobber)
            if result is not None:
                return result
            _no_tmpfile.add(device)
        return _write_renamed(dirfd, name, chunks, sync, no_clobber)
    except OSError as exc:
        return -(exc.errno or errno.EIO)


def _write_unnamed(dirfd: int, name: bytes, chunks: Sequence[bytes], sync: bool, no_clobber: bool) -> int | None:
    """``O_TMPFILE`` + ``linkat``; ``None`` if this file system cannot do it."""
    try:
        fd = os.open(".", _O_TMPFILE | os.O_WRONLY | _CLOEXEC, 0o666, dir_fd=dirfd)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise
    try:
        _write_all(fd, chunks, sync)
        source = f"/proc/self/fd/{fd}"
        try:
            os.link(source, name, dst_dir_fd=dirfd, follow_symlinks=True)
            return WRITE_CREATED
        except FileExistsError:
            if no_clobber:
                raise
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE:
                raise
            return None  # no usable /proc: rename from now on
        tmp = _temp_name(name)
        os.link(source, tmp, dst_dir_fd=dirfd, follow_symlinks=True)
        try:
            os.rename(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
        except BaseException:
            _unlink(dirfd, tmp)
            raise
        return WRITE_REPLACED
    finally:
        os.close(fd)


def _write_renamed(dirfd: int, name: bytes, chunks: Sequence[bytes], sync: bool, no_clobber: bool) -> int:
    """A hidden temporary name (``O_EXCL|O_NOFOLLOW``), then rename (or link for no-clobber)."""
    while True:
        tmp = _temp_name(name)
        try:
            fd = os.open(tmp, _EXCL, 0o666, dir_fd=dirfd)
            break
        except FileExistsError:
            continue
    try:
        try:
            _write_all(fd, chunks, sync)
        finally:
            os.close(fd)
        if no_clobber:
            os.link(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd, follow_symlinks=False)
            _unlink(dirfd, tmp)
            return WRITE_CREATED
        existed = _lexists(dirfd, name)
        os.rename(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
        return WRITE_REPLACED if existed else WRITE_CREATED
    except BaseException:
        _unlink(dirfd, tmp)
        raise


def _temp_name(name: bytes) -> bytes:
    return b".%s.%d.%d.part" % (name, os.getpid(), next(_SEQ))


def _write_all(fd: int, chunks: Sequence[bytes], sync: bool) -> None:
    total = sum(len(c) for c in chunks)
    done = os.writev(fd, chunks) if chunks else 0
    if done < total:  # short write: finish the rest
        rest = memoryview(b"".join(chunks))[done:]
        while rest:
            rest = rest[os.write(fd, rest) :]
    if sync:
        os.fsync(fd)


def _lexists(dirfd: int, name: bytes) -> bool:
    try:
        os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def _unlink(dirfd: int, name: bytes) -> None:
    try:
        os.unlink(name, dir_fd=dirfd)
    except OSError:
        pass
