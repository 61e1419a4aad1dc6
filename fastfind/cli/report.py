"""What findscu prints about a run, in DCMTK 3.6.7's words: request and response dumps, status
lines, condition texts (``../shared/reference/findscu-dcmtk.md`` §1.2).

Peer text (Error Comment, values in dumps) never drives the terminal: :func:`printable` escapes
every control character (C0, DEL and C1) before it reaches a log line.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import codec
from ..client import FindOperation, FindResponse
from ..dicom.uids import TransferSyntax
from ..errors import DimseTimeout, FastFindError, PeerAborted
from ..output import dump
from . import logs, netdump

log = logs.log
rsplog = logs.responses
SEPARATOR = "-" * 27

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """``text`` with C0 controls, DEL and C1 controls shown as ``\\xNN``."""
    return text.translate(_CONTROLS)


def condition_text(exc: BaseException) -> str:
    """DCMTK's ``code text`` for a failure (``0006:0317 Peer aborted Association ...``)."""
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
    if rsp.identifier is None:
        return "\n# Dicom-Data-Set\n# Used TransferSyntax: Unknown Transfer Syntax\n"
    assert rsp.plain is not None and rsp.tokens is not None
    lines = dump.format_dataset(rsp.plain, rsp.tokens, rsp.transfer_syntax)
    return "\n" + "\n".join(lines) + "\n"


def file_block(identifier: bytes, ts: TransferSyntax) -> str:
    """The query as DCMTK dumps it after "Find Failed, query keys:"."""
    try:
        plain = codec.plain_bytes(identifier, ts)
        lines = dump.format_file(b"", plain, ts)
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
            log.warning(f"DIMSE Warning: ({self.calling_ae},{self.called_ae}): findUser: {w}")
        op.warnings.clear()

    def pending(self, op: FindOperation, rsp: FindResponse) -> None:
        """Log one pending response; a dump that cannot be made is one warning, never a loss."""
        n = rsp.number
        try:
            if self.debug:
                log.info(f"Received Find Response {n}")
                log.debug(netdump.dimse_message("INCOMING", rsp.command, op.context_id, rsp.identifier is not None))
                if rsplog.isEnabledFor(logging.INFO):
                    log.debug("Response Identifiers:\n" + response_block(rsp))
            elif self.rsp_info:
                rsplog.info(SEPARATOR)
                rsplog.info(f"Find Response: {n} ({rsp.status_text})")
                rsplog.info(response_block(rsp))
            elif self.info:
                log.info(f"Received Find Response {n} ({rsp.status_text})")
        except MemoryError:
            log.warning(f"response {n}: too large to print")

    def final(self, op: FindOperation, rsp: FindResponse) -> None:
        if self.debug:
            log.info("Received Final Find Response")
            log.debug(netdump.dimse_message("INCOMING", rsp.command, op.context_id, False))
        else:
            log.info(f"Received Final Find Response ({rsp.status_text})")


def final_reason(rsp: FindResponse) -> str:
    comment = f": {printable(rsp.error_comment)}" if rsp.error_comment else ""
    return f"C-FIND final status 0x{rsp.status:04x} ({rsp.status_text}){comment}"
