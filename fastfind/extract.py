"""Writing responses to disk: DICOM Part 10 files from the received bytes, atomically (PS3.10 §7).

Every file fastfind creates goes through :func:`write_atomic`: a hidden temporary file made with
``O_CREAT|O_EXCL`` in the output directory, written completely, then renamed over the final name.
A reader (or a crash) sees either nothing or a complete file, and a symlink planted at the final
name is replaced, never followed (``hostile-scp.md`` §5). File names come from a counter only,
never from peer data.
"""

from __future__ import annotations

import os
import struct
import tempfile

from .errors import OutputError
from .uids import GENERIC_FILE_SOP_CLASS, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

PREAMBLE = b"\x00" * 128 + b"DICM"
_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        mask = os.umask(0)
        os.umask(mask)
        _UMASK = mask
    return _UMASK


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


def check_output_directory(path: str) -> None:
    """DCMTK's pre-flight check of ``-od`` (a hint only; every write is checked too)."""
    if not os.path.isdir(path):
        raise OutputError("specified output directory does not exist")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError("specified output directory is not writeable")


def write_atomic(
    directory: str, name: str, chunks: list[bytes], *, sync: bool = False, no_clobber: bool = False
) -> tuple[str, bool]:
    """Write ``chunks`` to ``directory/name`` atomically; return ``(path, replaced_existing)``.

    Raises :class:`OutputError` (the temporary file is removed) on any OS error.
    """
    final = os.path.join(directory, name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory or ".")
    except OSError as exc:
        raise OutputError(f"Writing file: {final}: {exc.strerror or exc}") from None
    try:
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
        existed = os.path.lexists(final)
        if no_clobber:
            os.link(tmp, final)
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"Writing file: {final}: {exc.strerror or exc}") from None
    return final, existed


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
