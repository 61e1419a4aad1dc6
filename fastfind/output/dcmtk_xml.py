"""DCMTK-compatible XML extraction of C-FIND response identifiers (findscu ``-Xx`` / ``-Xs``).

The output is byte-for-byte what DCMTK 3.6.7 findscu writes (its ``writeXML`` in the
"DCMTK-specific" format of ``dcm2xml.dtd``, default flags: element names on, binary data
hidden). Input is the identifier exactly as received (PS3.7 §9.1.2.1, encoded per PS3.5 §7),
walked once (:func:`fastfind.codec.walk_identifier`) and rendered by the codec in one call
(:func:`fastfind.codec.xml_document`, :func:`fastfind.codec.xml_dataset_utf8`: Cython, or its
pure-Python twin); nothing is re-encoded.

* :func:`response_xml` -- one ``rspNNNN.xml`` document: raw value bytes, XML ``encoding`` taken
  from Specific Character Set (0008,0005) (PS3.3 §C.12.1.1.2), non-ASCII quoted as ``&#nnn;``
  when the character set has no XML equivalent.
* :class:`SingleXmlWriter` -- the ``-Xs`` file: every data set converted to UTF-8 and its
  (0008,0005) rewritten to ``ISO_IR 192``.
"""

from __future__ import annotations

import logging
from typing import BinaryIO

from .. import codec
from ..client import FindResponse
from ..printable import printable
from .part10 import _FileSink
from .sinks import StreamSink

log = logging.getLogger("fastfind")

__all__ = ["response_xml", "SingleXmlWriter", "DcmtkXmlFilesSink", "DcmtkXmlSink", "XML_ENCODINGS"]

XML_ENCODINGS = codec.XML_ENCODINGS


def _render_response(
    plain: bytes, toks: codec.Tokens, ts: codec.TransferSyntax, correct: bool = False
) -> tuple[bytes, list[str]]:
    """``-Xx`` document of a validated walk (``correct``: dcm2xml's input data correction)."""
    return codec.xml_document(plain, toks, ts, correct)


def _render_utf8(
    plain: bytes, toks: codec.Tokens, ts: codec.TransferSyntax, correct: bool = False
) -> tuple[bytes, list[str]]:
    """``-Xs`` ``<data-set>`` of a validated walk (empty bytes when DCMTK leaves it out)."""
    return codec.xml_dataset_utf8(plain, toks, ts, correct)


def response_xml(
    data: bytes, ts: codec.TransferSyntax, walk: codec.Walk | None = None
) -> tuple[bytes, list[str]]:
    """The ``rspNNNN.xml`` document findscu ``-Xx`` writes for one response identifier.

    ``walk`` is the identifier's validated walk (made with the default limits if not given).
    Returns ``(document bytes, log lines)``; each line is ``"W: ..."`` or ``"E: ..."``, exactly
    as findscu prints it with the default log configuration.
    Raises :class:`fastfind.errors.CodecError` if ``data`` is not a well-formed data set.
    """
    plain, toks = walk if walk is not None else codec.walk_identifier(data, ts)
    return codec.xml_document(plain, toks, ts)


class SingleXmlWriter:
    """The findscu ``-Xs`` file: header, one ``<data-set>`` per response, then the trailer."""

    def __init__(self, fileobj: BinaryIO):
        self._f = fileobj
        self._f.write(XS_HEADER)

    def add(
        self, data: bytes, ts: codec.TransferSyntax, walk: codec.Walk | None = None
    ) -> list[str]:
        """Append one response identifier; returns the ``"W: ..."`` / ``"E: ..."`` lines to log.

        A data set that cannot be converted to UTF-8 is left out, as DCMTK does.
        """
        plain, toks = walk if walk is not None else codec.walk_identifier(data, ts)
        body, warnings = codec.xml_dataset_utf8(plain, toks, ts)
        self._f.write(body)
        return warnings

    def close(self) -> None:
        """Write ``</responses>`` (the caller closes the file object)."""
        self._f.write(XS_TRAILER)


XS_HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n<responses type="C-FIND">\n'
XS_TRAILER = b"</responses>\n"

_LEVELS = {"F": logging.CRITICAL, "E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "D": logging.DEBUG}


def _log_lines(lines: list[str]) -> None:
    """Log the ``"X: ..."`` lines of the renderers on the fastfind logger."""
    for line in lines:  # they may quote the peer's SpecificCharacterSet
        if line[1:3] == ": ":
            log.log(_LEVELS.get(line[:1], logging.WARNING), printable(line[3:]))
        else:
            log.warning(printable(line))


class DcmtkXmlFilesSink(_FileSink):
    """``-Xx``: ``rspNNNN.xml`` files, byte for byte what DCMTK 3.6.7 findscu writes."""

    suffix = ".xml"

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None or self._over_limit(rsp):
            return
        assert rsp.plain is not None and rsp.tokens is not None
        data, lines = codec.xml_document(rsp.plain, rsp.tokens, rsp.transfer_syntax)
        if lines:
            _log_lines(lines)
        self._submit(rsp, [data])


class DcmtkXmlSink(StreamSink):
    """``-Xs``: every response in one XML file, converted to UTF-8 (DCMTK 3.6.7 findscu)."""

    def __init__(self, path: str, *, limit: int | None = None, sync: bool = False, label: str = "",
                 batch: bool = False):
        self.limit = limit
        self.batch = batch  # a batch: each <data-set> says which query (row) it answers
        log.info(f"Writing all response datasets to file: {label or path}")
        super().__init__(path, sync=sync, label=label)
        self._file.write(XS_HEADER)

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None or (self.limit is not None and rsp.number > self.limit):
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Writing response dataset to XML file")
        assert rsp.plain is not None and rsp.tokens is not None
        body, lines = codec.xml_dataset_utf8(rsp.plain, rsp.tokens, rsp.transfer_syntax)
        if lines:
            _log_lines(lines)
        if self.batch and body.startswith(b"<data-set "):
            body = b'<data-set query="%d" ' % ((rsp.query or 0) + 1) + body[10:]
        self._file.write(body)
        self.written += 1

    def trailer(self) -> bytes:
        return XS_TRAILER

