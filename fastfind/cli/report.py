"""What findscu prints about a run, in DCMTK 3.6.7's words: request and response dumps, status
lines, condition texts (``../shared/reference/findscu-dcmtk.md`` §1.2).

Peer text (Error Comment, values in dumps) never drives the terminal: :func:`printable` escapes
every control character (C0, DEL and C1) before it reaches a log line.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable
from typing import Any

from .. import codec
from ..client import FindOperation, FindResponse
from ..dicom.uids import TransferSyntax
from ..errors import DimseTimeout, FastFindError, PeerAborted
from ..output import dump
from ..printable import printable
from . import logs, netdump

log = logs.log
rsplog = logs.responses
SEPARATOR = "-" * 27



def dictionary_lines(messages: list[tuple[str, str]], path_list: str) -> list[tuple[str, str]]:
    """The data dictionary's log lines in DCMTK's order (``DcmDataDictionary::loadDictionary``):
    per ``DCMDICTPATH`` file, ``Cannot open file`` or (debug) ``Loading file`` followed by that
    file's errors; then whatever is left (the closing warning)."""
    if not path_list:
        return list(messages)
    rest = list(messages)
    out: list[tuple[str, str]] = []
    for path in path_list.split(os.pathsep):
        if not path:
            continue
        missing = ("E", f"DcmDataDictionary: Cannot open file: {path}")
        if missing in rest:
            rest.remove(missing)
            out.append(missing)
            continue
        out.append(("D", f"DcmDataDictionary: Loading file: {path}"))
        prefix = f"DcmDataDictionary: {path}: "
        errors = [m for m in rest if m[1].startswith(prefix)]
        rest = [m for m in rest if not m[1].startswith(prefix)]
        out += errors
    return out + rest


def query_file_lines(path: str) -> list[str]:
    """The debug lines ``DcmFileFormat::loadFile`` logs for a query file before its own
    messages: the meta header's transfer syntax, or the one detected for a bare data set."""
    from ..dicom.uids import TS_NAMES
    from ..query import _guess_syntax  # the query reader's own detection (DCMTK's heuristic)

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return []
    if len(head) < 6:
        return []
    pos = 132 if head[128:132] == b"DICM" else 0
    if pos or (head[:2] == b"\x02\x00" and head[4:6].isupper()):
        ts_uid = _meta_transfer_syntax(head, pos)
        name = TS_NAMES.get(ts_uid or "", "Unknown Transfer Syntax")
        return [f'DcmMetaInfo::checkAndReadPreamble() TransferSyntax="{codec.EXPLICIT_LE.name}"',
                netdump.dataset_read(name)]
    implicit, little = _guess_syntax(head)
    ts = codec.IMPLICIT_LE if implicit else codec.EXPLICIT_LE if little else codec.EXPLICIT_BE
    return ["DcmFileFormat::lookForXfer() no MetaInfo found",
            "DcmDataset::read() trying to detect transfer syntax of data set (because it is unknown)",
            netdump.dataset_read(ts.name)]


def _meta_transfer_syntax(data: bytes, pos: int) -> str | None:
    """(0002,0010) from an explicit VR little endian meta group starting at ``pos``."""
    while pos + 8 <= len(data) and data[pos : pos + 2] == b"\x02\x00":
        elem, vr = int.from_bytes(data[pos + 2 : pos + 4], "little"), data[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"UN", b"UT", b"SQ"):
            length, start = int.from_bytes(data[pos + 8 : pos + 12], "little"), pos + 12
        else:
            length, start = int.from_bytes(data[pos + 6 : pos + 8], "little"), pos + 8
        if elem == 0x0010:
            return data[start : start + length].rstrip(b"\x00 ").decode("latin-1")
        pos = start + length
    return None


def max_send_pdv(peer_max_pdu: int) -> tuple[int, list[str]]:
    """DCMTK's "Max Send PDV" for the peer's maximum PDU length, with its warnings
    (``ASC_requestAssociation``: 0 or above 131072 means 131072, made even, minus 12)."""
    send = peer_max_pdu if 0 < peer_max_pdu <= 131072 else 131072
    notes = []
    if send % 2:
        notes.append(f"ASSOC: PDV send length {send} is odd (using {send - 1})")
        send -= 1
    send -= 12
    if send < 1:
        notes.append(f"ASSOC: PDV send length {send} (using default)")
        send = 4096 - 12
    if send < 12:
        notes.append("ASSOC: PDV send length too small, using DUL to split larger PDVs.")
        send = 4096 - 12
    return send, notes


def condition_text(exc: BaseException) -> str:
    """DCMTK's ``code text`` for a failure (``0006:0317 Peer aborted Association ...``),
    control characters escaped (an error may quote what the peer sent)."""
    return printable(_condition_text(exc))


def _condition_text(exc: BaseException) -> str:
    if isinstance(exc, PeerAborted):
        return "0006:0317 Peer aborted Association (or never connected)"
    if isinstance(exc, DimseTimeout):
        return f"0006:0207 {exc}"
    if isinstance(exc, FastFindError):
        text = exc.condition_text or str(exc)
        return f"{exc.dcmtk_condition} {text}" if exc.dcmtk_condition else text
    return str(exc)


def request_block(ds: Any, sent: bool) -> str:
    """The request dump as DCMTK prints it from memory (:func:`fastfind.output.dump.request_lines`)."""
    return "\n" + "\n".join(dump.request_lines(ds, sent)) + "\n"


def response_block(rsp: FindResponse) -> str:
    """The dump of a response identifier (empty data set header if there is none)."""
    return "\n" + "\n".join(str(line) for line in response_lines(rsp)) + "\n"


def response_lines(rsp: FindResponse) -> Iterable[dump.Line]:
    """The dump lines of a response identifier, produced one at a time."""
    if rsp.identifier is None:
        return ["# Dicom-Data-Set", "# Used TransferSyntax: Unknown Transfer Syntax"]
    assert rsp.plain is not None and rsp.tokens is not None
    return dump.iter_dataset(rsp.plain, rsp.tokens, rsp.transfer_syntax)


def log_dump(logger: logging.Logger, level: int, head: str, lines: Iterable[dump.Line],
             big: bool) -> None:
    """Log ``head`` (if any) and a dump as one message (DCMTK's: ``head``, an empty line, the
    lines, an empty line), every line prefixed.

    A ``big`` dump is never one string: its lines go to the handlers one by one, a
    :class:`~fastfind.output.dump.LongLine` piece by piece, under the handler's lock. Handlers
    with another formatter than DCMTK's get one record per line.
    """
    if not logger.isEnabledFor(level):
        return
    first = (head, "") if head else ("",)
    if not big:
        logger.log(level, "\n".join(itertools.chain(first, map(str, lines), ("",))))
        return
    handlers = _handlers(logger, level)
    streams = [h for h in handlers if isinstance(h, logging.StreamHandler)
               and isinstance(h.formatter, logs.DcmtkFormatter)]
    others = [h for h in handlers if h not in streams]
    empty = logging.LogRecord(logger.name, level, __file__, 0, "", None, None)
    prefixes = [h.format(empty) for h in streams]
    for h in streams:
        h.acquire()
    try:
        for line in itertools.chain(first, lines, ("",)):
            for h, prefix in zip(streams, prefixes, strict=True):
                _write_line(h, prefix, line)
            for h in others:
                h.handle(logging.LogRecord(logger.name, level, __file__, 0, str(line), None, None))
        for h in streams:
            h.flush()
    finally:
        for h in streams:
            h.release()


def _write_line(handler: logging.StreamHandler, prefix: str, line: dump.Line) -> None:
    """One log line straight to a stream handler (a failing stream is ignored, as DCMTK does)."""
    write = handler.stream.write
    try:
        write(prefix)
        if isinstance(line, str):
            write(line)
        else:
            for piece in line:
                write(piece)
        write(handler.terminator)
    except (OSError, ValueError):
        pass


def _handlers(logger: logging.Logger, level: int) -> list[logging.Handler]:
    """The handlers a record of ``level`` from ``logger`` reaches (``Logger.callHandlers``)."""
    out: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        out += [h for h in current.handlers if level >= h.level]
        if not current.propagate:
            break
        current = current.parent
    return out


#: identifiers whose dump is streamed to the log handlers instead of built as one message
BIG_DUMP = 256 << 10


def is_big(rsp: FindResponse) -> bool:
    plain = rsp.plain
    return plain is not None and len(plain) > BIG_DUMP


_UN_UNDEFINED = b"UN\x00\x00\xff\xff\xff\xff"


def un_sequence_warnings(rsp: FindResponse) -> list[str]:
    """DCMTK's warning for each UN element of undefined length it reads as a sequence in
    implicit VR little endian (PS3.5 §6.2.2, CP-246), in the order they are read."""
    plain = rsp.plain
    if plain is None or rsp.transfer_syntax.implicit or _UN_UNDEFINED not in plain:
        return []
    toks = rsp.tokens
    assert toks is not None
    out = []
    for i in range(len(toks)):
        kind, _depth, tag, vr, _length, _start, _end = toks[i]
        if kind == codec.SEQUENCE and vr == "UN":
            out.append(
                f"Found element ({tag >> 16:04x},{tag & 0xFFFF:04x}) with VR UN and undefined "
                "length, reading a sequence with transfer syntax LittleEndianImplicit (CP-246)"
            )
    return out


def file_block(identifier: bytes, ts: TransferSyntax, ds: Any = None) -> str:
    """The query as DCMTK dumps it after "Find Failed, query keys:" (``ds``: the query data
    set ``identifier`` encodes, for the elements DCMTK holds with an unknown VR)."""
    try:
        plain = codec.plain_bytes(identifier, ts)
        unknown = dump.unknown_vr_starts(ds, plain, ts) if ds is not None else None
        lines = dump.format_file(b"", plain, ts, unknown_starts=unknown)
    except Exception:
        lines = dump.dump_identifier(identifier, ts)
    return "\n" + "\n".join(lines) + "\n"


class ResponseReport:
    """The per-response lines of one C-FIND, at the levels findscu prints them."""

    def __init__(self, calling_ae: str, called_ae: str):
        self.calling_ae = calling_ae
        self.called_ae = called_ae
        self.debug = log.isEnabledFor(logging.DEBUG)
        self.info = log.isEnabledFor(logging.INFO)
        self.rsp_info = rsplog.isEnabledFor(logging.INFO)

    def warnings(self, op: FindOperation) -> None:
        for w in op.warnings:
            self._dimse_warning(w)
        op.warnings.clear()

    def _dimse_warning(self, text: str) -> None:
        log.warning(f"DIMSE Warning: ({self.calling_ae},{self.called_ae}): findUser: {text}")

    def received(self, op: FindOperation, rsp: FindResponse) -> None:
        """What findscu logs while a response arrives, before reporting it: dcmdata's read
        line for the command set, DIMSE's warnings, the read line for the identifier."""
        if self.debug:
            log.debug(netdump.dataset_read(codec.IMPLICIT_LE.name))
        pending = rsp.status == 0xFF00 or rsp.status == 0xFF01
        if pending and netdump.has_status_detail(rsp.command):
            self._dimse_warning("Pending with statusDetail, ignoring detail")
        if op.warnings:
            self.warnings(op)
        if self.debug and pending and rsp.identifier is not None:
            log.debug(netdump.dataset_read(rsp.transfer_syntax.name))

    def pending(self, op: FindOperation, rsp: FindResponse) -> None:
        """Log one pending response. Nothing here can fail the response: a dump that cannot be
        made (or written) ends in one warning, and the sinks get the response all the same."""
        n = rsp.number
        try:
            for text in un_sequence_warnings(rsp):
                log.warning(text)
            if self.debug:
                log.info(f"Received Find Response {n}")
                log.debug(netdump.dimse_message("INCOMING", rsp.command, None, _has_dataset(rsp)))
                if rsplog.isEnabledFor(logging.INFO):
                    log_dump(log, logging.DEBUG, "Response Identifiers:", response_lines(rsp), is_big(rsp))
            elif self.rsp_info:
                rsplog.info(SEPARATOR)
                rsplog.info(f"Find Response: {n} ({rsp.status_text})")
                log_dump(rsplog, logging.INFO, "", response_lines(rsp), is_big(rsp))
            elif self.info:
                log.info(f"Received Find Response {n} ({rsp.status_text})")
        except Exception as exc:  # noqa: BLE001 -- the response must reach the sinks regardless
            log.warning(f"response {n}: cannot print the identifier ({type(exc).__name__})")

    def final(self, op: FindOperation, rsp: FindResponse) -> None:
        if self.debug:
            log.info("Received Final Find Response")
            log.debug(netdump.dimse_message("INCOMING", rsp.command, None, _has_dataset(rsp)))
        else:
            log.info(f"Received Final Find Response ({rsp.status_text})")

    def status_detail(self, rsp: FindResponse) -> None:
        """DCMTK's ``Status Detail:`` dump (debug) of the final response's other elements."""
        if not self.debug:
            return
        detail = netdump.status_detail(rsp.command)
        if detail:
            toks = codec.walk(detail, True, True, codec.SQ_TAGS)
            log_dump(log, logging.DEBUG, "Status Detail:",
                     dump.iter_dataset(detail, toks, codec.IMPLICIT_LE), False)


def _has_dataset(rsp: FindResponse) -> bool:
    """What the command says (CommandDataSetType, PS3.7 E.1), as DCMTK's dump shows it."""
    return rsp.command.get(0x0800, 0x0101) != 0x0101


def final_reason(rsp: FindResponse) -> str:
    comment = f": {printable(rsp.error_comment)}" if rsp.error_comment else ""
    return f"C-FIND final status 0x{rsp.status:04x} ({rsp.status_text}){comment}"
