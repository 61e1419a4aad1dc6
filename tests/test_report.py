"""fastfind.cli.report: the dump reaches the log the same way whether it is streamed or not,
peer text never drives the terminal, DCMTK's CP-246 warning (issue 9 items 2-4)."""

from __future__ import annotations

import io
import logging
import struct

import pytest

from fastfind import codec
from fastfind.cli import logs, report
from fastfind.client import FindResponse
from fastfind.options import Limits


def _capture(level: str = "debug") -> io.StringIO:
    stream = io.StringIO()
    logs.setup(level, True, stream=stream)
    return stream


def el(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"UN", b"UT", b"SQ"):
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def response(identifier: bytes, ts: codec.TransferSyntax = codec.EXPLICIT_LE) -> FindResponse:
    rsp = FindResponse(1, {0x0900: 0xFF00, 0x0800: 0}, identifier, ts, 1, Limits())
    rsp.validate()
    return rsp


IDENTIFIER = (el(0x00100010, b"PN", b"A^B ") + el(0x00091010, b"OB", bytes(range(256)) * 40)
              + el(0x0040A160, b"UT", "é".encode() * 5000))


@pytest.mark.parametrize("head", ["", "Response Identifiers:"])
def test_streamed_dump_is_the_same_text(head: str) -> None:
    rsp = response(IDENTIFIER)
    texts = []
    for big in (False, True):
        stream = _capture()
        report.log_dump(logs.log, logging.DEBUG, head, report.response_lines(rsp), big)
        texts.append(stream.getvalue())
    assert texts[0] == texts[1]
    lines = texts[0].split("\n")
    first = [f"D: {head}", "D: "] if head else ["D: "]
    assert lines[: len(first) + 1] == [*first, "D: # Dicom-Data-Set"]
    assert lines[-2:] == ["D: ", ""]
    assert any(len(line) > 3 * 10240 for line in lines)  # the OB, whole on one line


def test_streamed_dump_respects_levels_and_other_handlers() -> None:
    stream = _capture("info")
    report.log_dump(logs.log, logging.DEBUG, "x", ["a"], True)
    assert stream.getvalue() == ""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logs.log.addHandler(keep)
    try:
        report.log_dump(logs.log, logging.INFO, "", ["a", "b"], True)
    finally:
        logs.log.removeHandler(keep)
    assert [r.getMessage() for r in records] == ["", "a", "b", ""]
    assert stream.getvalue() == "I: \nI: a\nI: b\nI: \n"


def test_cp246_warning_for_each_un_sequence() -> None:
    ile_item = struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    un = (struct.pack("<HH2sHL", 0x0008, 0x1032, b"UN", 0, 0xFFFFFFFF) + ile_item
          + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    rsp = response(un + el(0x00100010, b"PN", b"A^B "))
    assert report.un_sequence_warnings(rsp) == [
        "Found element (0008,1032) with VR UN and undefined length, reading a sequence with "
        "transfer syntax LittleEndianImplicit (CP-246)"
    ]
    assert report.un_sequence_warnings(response(el(0x00100010, b"PN", b"A^B "))) == []


def test_printable_escapes_c0_del_and_c1() -> None:
    assert report.printable("a\x1b[2J\x07\x7f\x9b1m\x85z") == "a\\x1b[2J\\x07\\x7f\\x9b1m\\x85z"
    assert report.printable("Müller ÿ") == "Müller ÿ"
