"""``rspNNNN.dcm``: each response as a DICOM Part 10 file (PS3.10 §7), findscu ``-X``.

The file is the 128-byte preamble, ``DICM``, the File Meta Information group (explicit VR little
endian, PS3.10 §7.1) and the identifier **byte for byte as received** (still deflated for the
deflated transfer syntax, as DCMTK writes it). The meta group is built from a template made once
per run; only the two UIDs taken from the identifier, (0008,0016) SOPClassUID and (0008,0018)
SOPInstanceUID, are filled in per response.

Peer values in a file header are checked: a UID that is not 1-64 characters of digits and
periods (PS3.5 §9.1) cannot be put in the header as is; it is replaced -- the instance by a
generated UID, the class by DCMTK's generic file class -- with a warning, and the file is
written. Group 0000/0002 elements found in an identifier (``hostile-scp.md`` row 63) are removed
from the written data set, with a warning, since a reader would take them for meta information.
"""

from __future__ import annotations

import logging
import os
import re
import struct
from array import array

from .. import codec
from ..client import FindResponse
from ..dicom.uids import (
    GENERIC_FILE_SOP_CLASS,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    new_uid,
)
from ..errors import OutputError
from ..printable import printable
from .files import FileWriter, check_output_directory, sync_directory
from .sinks import Managed

log = logging.getLogger("fastfind")

PREAMBLE = b"\x00" * 128 + b"DICM"
_UID = re.compile(rb"[0-9.]{1,64}\Z")
SOP_CLASS_UID = 0x00080016
SOP_INSTANCE_UID = 0x00080018


def _element(elem: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH2sHL", 2, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 2, elem, vr, len(value)) + value


def _ui(uid: bytes) -> bytes:
    return uid + b"\x00" if len(uid) % 2 else uid


class MetaTemplate:
    """The File Meta Information of one transfer syntax, with two UIDs left to fill in."""

    __slots__ = ("_head", "_tail", "_fixed")

    def __init__(self, transfer_syntax: str):
        version = IMPLEMENTATION_VERSION_NAME.encode("ascii")
        if len(version) % 2:
            version += b" "
        self._head = _element(0x0001, b"OB", b"\x00\x01")
        self._tail = b"".join(
            (
                _element(0x0010, b"UI", _ui(transfer_syntax.encode("ascii"))),
                _element(0x0012, b"UI", _ui(IMPLEMENTATION_CLASS_UID.encode("ascii"))),
                _element(0x0013, b"SH", version),
            )
        )
        self._fixed = len(self._head) + len(self._tail) + 16  # two UI element headers

    def header(self, sop_class: bytes, sop_instance: bytes) -> bytes:
        """Preamble, ``DICM`` and the meta group for these (already checked) UIDs."""
        cls = _ui(sop_class)
        inst = _ui(sop_instance)
        length = self._fixed + len(cls) + len(inst)
        return b"".join(
            (
                PREAMBLE,
                struct.pack("<HH2sHL", 2, 0, b"UL", 4, length),
                self._head,
                struct.pack("<HH2sH", 2, 2, b"UI", len(cls)),
                cls,
                struct.pack("<HH2sH", 2, 3, b"UI", len(inst)),
                inst,
                self._tail,
            )
        )


def file_meta(sop_class: str | None, sop_instance: str, transfer_syntax: str) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information group (PS3.10 §7.1), explicit VR LE."""
    return MetaTemplate(transfer_syntax).header(
        (sop_class or GENERIC_FILE_SOP_CLASS).encode("ascii"), sop_instance.encode("ascii")
    )


def meta_uids(rsp: FindResponse) -> tuple[bytes, bytes, list[str]]:
    """The SOP Class/Instance UIDs for the header of ``rsp``'s file, and the warnings to log."""
    cls, inst, notes, _debug = _meta_uids(rsp, False)
    return cls, inst, notes


def _meta_uids(rsp: FindResponse, debug: bool) -> tuple[bytes, bytes, list[str], list[str]]:
    """:func:`meta_uids` plus, with ``debug``, the lines DCMTK logs while it builds the header
    (``DcmFileFormat::checkMetaHeaderValue``/``validateMetaInfo``)."""
    notes: list[str] = []
    cls = _uid_or_none(rsp, SOP_CLASS_UID, "SOPClassUID", notes)
    inst = _uid_or_none(rsp, SOP_INSTANCE_UID, "SOPInstanceUID", notes)
    lines: list[str] = []
    if debug:
        check = "DcmFileFormat::checkMetaHeaderValue() "
        lines.append(check + "Version of MetaHeader is ok: 0x0001")
        lines.append(check + (f"use SOPClassUID [{cls.decode()}] from Dataset" if cls else
                              "no SOPClassUID in Dataset, using PrivateGenericFileSOPClass"))
    cls = cls or GENERIC_FILE_SOP_CLASS.encode("ascii")
    if debug and inst:
        lines.append(check + f"use SOPInstanceUID [{inst.decode()}] from Dataset")
    if not inst:
        inst = new_uid().encode("ascii")
        if debug:
            lines.append(check + f"use new generated SOPInstanceUID [{inst.decode()}]")
    if debug:
        lines.append(check + f"use new TransferSyntaxUID [{rsp.transfer_syntax.name}] on writing "
                     "following Dataset")
        lines.append("DcmFileFormat::validateMetaInfo() found 7 Elements in DcmMetaInfo 'metinf'")
    return cls, inst, notes, lines


def _uid_or_none(rsp: FindResponse, tag: int, keyword: str, notes: list[str]) -> bytes | None:
    raw = rsp.top_level_value(tag)
    if not raw:
        return None
    value = raw.rstrip(b"\x00 ")
    if not value:
        return None
    if _UID.match(value):
        return value
    shown = printable(value[:40].decode("ascii", "backslashreplace"))
    more = "..." if len(value) > 40 else ""
    notes.append(
        f"response {rsp.number}: {keyword} '{shown}{more}' ({len(value)} bytes) is not a valid "
        "UID for the file meta header: a generated UID is written there instead (the data set "
        "keeps the value as received)"
    )
    return None


_LISTED = 10  # problems of one kind named one by one in the warnings; the rest are counted


class Inspection:
    """What :func:`inspect_identifier` found at the top level of an identifier (row 63)."""

    __slots__ = ("ranges", "removed", "removed_count", "disorder", "disorder_count")

    def __init__(self) -> None:
        self.ranges = array("Q")  #: byte ranges to drop: start, end, start, end ... (merged)
        self.removed: list[int] = []  #: the first group 0000/0002 tags found
        self.removed_count = 0
        self.disorder: list[str] = []  #: the first out-of-order/repeated tags, as warnings
        self.disorder_count = 0

    def warnings(self, number: int) -> list[str]:
        """The warnings for response ``number``: a few named, the rest counted."""
        out = [f"response {number}: {text}" for text in self.disorder]
        if self.disorder_count > len(self.disorder):
            out.append(f"response {number}: {self.disorder_count - len(self.disorder)} more tags "
                       "out of order or repeated in the identifier (kept as received)")
        out += [
            f"response {number}: removed ({tag >> 16:04x},{tag & 0xFFFF:04x}) from the identifier "
            "(command/meta group elements do not belong in a data set)"
            for tag in self.removed
        ]
        if self.removed_count > len(self.removed):
            out.append(f"response {number}: removed {self.removed_count - len(self.removed)} more "
                       "command/meta group elements from the identifier")
        return out


def inspect_identifier(tokens: codec.Tokens) -> Inspection:
    """Top-level elements of groups 0000/0002 (their byte ranges, header included, adjacent
    ones merged) and the tags out of order or repeated (``hostile-scp.md`` row 63).

    Out-of-order and duplicate tags are only reported; the bytes are kept as received. Memory
    and warnings stay bounded whatever the identifier holds: 16 bytes per range at most.
    """
    found = Inspection()
    ranges = found.ranges
    prev_end = 0
    last_tag = -1
    for kind, depth, tag, _vr, _length, _start, end in tokens:
        if depth or kind > 1:
            continue
        if tag <= last_tag:
            found.disorder_count += 1
            if len(found.disorder) < _LISTED:
                found.disorder.append(
                    f"({tag >> 16:04x},{tag & 0xFFFF:04x}) "
                    f"{'repeated' if tag == last_tag else 'out of order'} in the identifier "
                    "(kept as received)"
                )
        last_tag = max(last_tag, tag)
        if tag >> 16 in (0x0000, 0x0002):
            found.removed_count += 1
            if len(found.removed) < _LISTED:
                found.removed.append(tag)
            if ranges and ranges[-1] == prev_end:
                ranges[-1] = end
            else:
                ranges.extend((prev_end, end))
        prev_end = end
    return found


def without_ranges(plain: bytes, ranges: array) -> bytes:
    """``plain`` with the byte ranges ``ranges`` (flat start, end pairs) removed."""
    out = bytearray()
    pos = 0
    for i in range(0, len(ranges), 2):
        out += plain[pos : ranges[i]]
        pos = ranges[i + 1]
    out += plain[pos:]
    return bytes(out)


def identifier_to_write(rsp: FindResponse) -> bytes:
    """The identifier bytes as received, minus any group 0000/0002 element (row 63)."""
    assert rsp.identifier is not None and rsp.tokens is not None and rsp.plain is not None
    toks = rsp.tokens
    first = toks[0] if len(toks) else None
    if first is None or (first[2] >> 16 > 0x0002 and toks.top_level_ascending()):
        return rsp.identifier  # the usual case: nothing to strip, nothing to report
    found = inspect_identifier(toks)
    for text in found.warnings(rsp.number):
        log.warning(text)
    if not found.ranges:
        return rsp.identifier
    plain = without_ranges(rsp.plain, found.ranges)
    return codec.deflate(plain) if rsp.transfer_syntax.deflated else plain


def old_vrs_identifier(rsp: FindResponse, data: bytes) -> bytes:
    """``data`` (what :func:`identifier_to_write` gives for ``rsp``) with the post-1993 VRs
    written as OB (``-u``); unchanged in implicit VR, where no VR is written."""
    from ..dataset import without_new_vrs

    ts = rsp.transfer_syntax
    if ts.implicit:
        return data
    if data is rsp.identifier:
        assert rsp.plain is not None and rsp.tokens is not None
        plain, toks = rsp.plain, rsp.tokens
    else:  # group 0000/0002 elements were removed: walk what is left
        assert rsp.plain is not None
        plain = codec.inflate(data, len(rsp.plain)) if ts.deflated else data
        toks = codec.walk(plain, False, ts.little, codec.SQ_TAGS, 1 << 30)
    patched = without_new_vrs(plain, toks)
    if patched is plain:
        return data
    return codec.deflate(patched) if ts.deflated else patched


def display_path(directory: str, name: str) -> str:
    """The path as findscu prints it (``-od`` joined with ``/``, as given)."""
    if not directory:
        return name
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


class _FileSink(Managed):
    """Shared by the per-response file sinks (``-X``, ``-Xx``): numbering, ``-Xlo``, the writer."""

    suffix = ".dcm"

    def __init__(
        self,
        directory: str = ".",
        *,
        limit: int | None = None,
        sync: bool = False,
        no_clobber: bool = False,
        threads: int | None = None,
        per_query: bool = False,
    ):
        check_output_directory(directory)
        self.directory = directory
        self.limit = limit
        self.sync = sync
        self.per_query = per_query
        self._writer = FileWriter(directory, sync=sync, no_clobber=no_clobber, threads=threads)
        self._writers: dict[int, FileWriter] = {}
        self._replaced_seen = 0
        self._no_clobber = no_clobber
        self._threads = threads
        self.skipped = 0

    @property
    def written(self) -> int:
        return self._writer.written + sum(w.written for w in self._writers.values())

    @property
    def failed(self) -> list[int]:
        out = list(self._writer.failed)
        for w in self._writers.values():
            out += w.failed
        return sorted(out)

    def _name(self, rsp: FindResponse) -> str:
        return f"rsp{rsp.number:04d}{self.suffix}"

    def _writer_for(self, rsp: FindResponse) -> tuple[FileWriter, str]:
        if not self.per_query or rsp.query is None:
            return self._writer, self.directory
        sub = f"q{rsp.query + 1}"
        writer = self._writers.get(rsp.query)
        directory = os.path.join(self.directory, sub)
        if writer is None:
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"Writing file: {directory}: {exc.strerror or exc}") from None
            writer = FileWriter(directory, sync=self.sync, no_clobber=self._no_clobber, threads=self._threads)
            self._writers[rsp.query] = writer
        return writer, directory

    def _over_limit(self, rsp: FindResponse) -> bool:
        if self.limit is None or rsp.number <= self.limit:
            return False
        self.skipped += 1
        if rsp.number == self.limit + 1:
            log.info(
                "Maximum number of responses already written to file ... "
                "not writing this and all following responses to file"
            )
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("Maximum number of responses already written to file ... not writing this response to file")
        return True

    def _submit(self, rsp: FindResponse, chunks: list[bytes]) -> None:
        writer, directory = self._writer_for(rsp)
        name = self._name(rsp)
        if log.isEnabledFor(logging.INFO):
            log.info(f"Writing response dataset to file: {display_path(directory, name)}")
        writer.submit(rsp.number, name, chunks)
        self._report_replaced()

    def _report_replaced(self) -> None:
        replaced = self._writer.replaced
        while self._replaced_seen < len(replaced):
            log.warning(f"replaced existing file {replaced[self._replaced_seen]}")
            self._replaced_seen += 1

    def flush(self) -> None:
        """Let the writer create every file handed over so far (see :class:`FileWriter`)."""
        for writer in self._all_writers():
            writer.flush()

    def _all_writers(self) -> list[FileWriter]:
        return [self._writer, *self._writers.values()]

    def close(self) -> None:
        """Wait for every file; raise the first failure."""
        first: OutputError | None = None
        for writer in self._all_writers():
            try:
                writer.close()
            except OutputError as exc:
                first = first or exc
        self._report_replaced()
        if first is not None:
            raise first
        if self.sync:
            for writer in self._all_writers():
                sync_directory(writer.directory)

    def discard(self) -> None:
        """Stop: the files already handed over are complete responses and are kept."""
        for writer in self._all_writers():
            writer.discard()
        self._report_replaced()



class Part10Sink(_FileSink):
    """``-X``: ``rspNNNN.dcm`` in ``directory`` (``-od``), numbered as DCMTK numbers responses.

    ``limit`` is ``-Xlo``; with ``per_query`` (batches) the files of query *k* go to
    ``directory/q<k>/``.
    """

    def __init__(self, directory: str = ".", *, new_vrs: bool = True, **kwargs: object):
        super().__init__(directory, **kwargs)  # type: ignore[arg-type]
        self._templates: dict[str, MetaTemplate] = {}
        #: False is findscu's ``-u``: the data set is written with the post-1993 VRs as OB, as
        #: DCMTK re-encodes it (:func:`fastfind.dataset.without_new_vrs`)
        self.new_vrs = new_vrs

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None or self._over_limit(rsp):
            return
        uid = rsp.transfer_syntax.uid
        template = self._templates.get(uid)
        if template is None:
            template = self._templates[uid] = MetaTemplate(uid)
        cls, inst, notes, debug_lines = _meta_uids(rsp, log.isEnabledFor(logging.DEBUG))
        for note in notes:
            log.warning(note)
        data = identifier_to_write(rsp)
        if not self.new_vrs:
            data = old_vrs_identifier(rsp, data)
        self._submit(rsp, [template.header(cls, inst), data])
        for line in debug_lines:
            log.debug(line)
