"""Responses kept until their part is known complete: in memory, then in an unnamed file.

One record per response -- ``<IIHHI`` (query index, number, status, length of the transfer
syntax UID, length of the identifier), the UID, the identifier bytes as received -- is the
format of both the spool (:class:`PartBuffer`) and the checkpoint's segments
(:mod:`fastfind.batch.checkpoint`): a response read back is the response received.

A part's buffer stays in memory up to ``limit`` bytes (64 MiB), then goes on in an unnamed
temporary file (``O_TMPFILE`` where the system has it) in the output directory: nothing to clean
up after a crash, nothing another process can open by name.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from ..client import FindResponse
from ..dicom.uids import TRANSFER_SYNTAXES, TransferSyntax
from ..errors import OutputError
from ..options import Limits

_HEAD = struct.Struct("<IIHHI")
SPOOL_LIMIT = 64 << 20


def encode(rsp: FindResponse) -> bytes:
    """One response as a record."""
    uid = rsp.transfer_syntax.uid.encode("ascii")
    ident = rsp.identifier or b""
    return _HEAD.pack(rsp.query or 0, rsp.number, rsp.status, len(uid), len(ident)) + uid + ident


def decode(f: BinaryIO, limits: Limits, name: str = "spool") -> Iterator[FindResponse]:
    """The responses of a file of records (an incomplete record is an :class:`OutputError`)."""
    while True:
        head = f.read(_HEAD.size)
        if not head:
            return
        if len(head) < _HEAD.size:
            raise OutputError(f"{name}: truncated record")
        query, number, status, ulen, ilen = _HEAD.unpack(head)
        if ilen > limits.max_identifier_size or ulen > 64:
            raise OutputError(f"{name}: corrupt record")
        body = f.read(ulen + ilen)
        if len(body) < ulen + ilen:
            raise OutputError(f"{name}: truncated record")
        uid = body[:ulen].decode("ascii", "replace")
        ts = TRANSFER_SYNTAXES.get(uid) or TransferSyntax(uid, False, True, False)
        cmd = {0x0100: 0x8020, 0x0800: 0x0000, 0x0900: status}
        yield FindResponse(number, cmd, body[ulen:], ts, 0, limits, query)


class PartBuffer:
    """The pending responses of one part, in arrival order."""

    __slots__ = ("_items", "_file", "_size", "_dir", "_limit", "_limits", "count")

    def __init__(self, directory: str | None, limits: Limits, limit: int = SPOOL_LIMIT):
        self._items: list[FindResponse] = []
        self._file: BinaryIO | None = None
        self._size = 0
        self._dir = directory
        self._limit = limit
        self._limits = limits
        self.count = 0

    def add(self, rsp: FindResponse) -> None:
        self.count += 1
        if self._file is None:
            self._items.append(rsp)
            self._size += len(rsp.identifier or b"") + 64
            if self._size > self._limit:
                self._spill()
            return
        self._write(encode(rsp))

    def _spill(self) -> None:
        try:
            self._file = tempfile.TemporaryFile(dir=self._dir or None, prefix=".fastfind-spool-")
        except OSError as exc:
            raise OutputError(f"cannot spool responses in {self._dir or tempfile.gettempdir()}: "
                              f"{exc.strerror or exc}") from None
        items, self._items = self._items, []
        for rsp in items:
            self._write(encode(rsp))

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
        except OSError as exc:
            raise OutputError(f"cannot spool responses: {exc.strerror or exc}") from None

    def __iter__(self) -> Iterator[FindResponse]:
        if self._file is None:
            yield from self._items
            return
        self._file.flush()
        self._file.seek(0)
        yield from decode(self._file, self._limits)

    def close(self) -> None:
        self._items = []
        if self._file is not None:
            self._file.close()
            self._file = None


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
