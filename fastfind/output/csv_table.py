"""Responses as CSV: one row per match, one column per requested field (RFC 4180).

A field is a dictionary name, a tag (``(gggg,eeee)`` / ``gggg,eeee`` / ``ggggeeee``) or a sequence
path as in ``-k`` (``ScheduledProcedureStepSequence[0].Modality``). Multiple values are joined
with ``\\`` as in DICOM; a missing element gives an empty cell. Text is decoded with the
response's SpecificCharacterSet (display only).

:func:`cell` is the pydicom definition of a cell; :class:`CsvSink` computes the same cells
straight from the identifier bytes (:class:`fastfind.codec.CellFields`, one call per response).
"""

from __future__ import annotations

import csv
import logging
import re
from typing import IO

from pydicom.dataset import Dataset

from .. import codec
from .._pydicom_values import cell as pydicom_cell
from ..client import FindResponse
from ..dicom import dictionary
from ..errors import UsageError
from .sinks import StreamSink

log = logging.getLogger("fastfind")

_STEP = re.compile(r"^(?P<name>\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)|[0-9A-Fa-f]{4},[0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}|[A-Za-z][A-Za-z0-9_]*)(?:\[(?P<item>\d+)\])?$")


def parse_field(field: str) -> list[tuple[int, int | None]]:
    """Split ``Seq[0].Elem`` into ``[(tag, item index or None), ...]``."""
    steps: list[tuple[int, int | None]] = []
    for part in field.split("."):
        m = _STEP.match(part.strip())
        if not m:
            raise UsageError(f"invalid CSV field: {field}")
        name = m.group("name")
        tag = _tag(name)
        if tag is None:
            raise UsageError(f"unknown dictionary name in CSV field: {name}")
        item = m.group("item")
        steps.append((tag, int(item) if item is not None else None))
    return steps


def _tag(name: str) -> int | None:
    text = name.strip("()").replace(",", "")
    if len(text) == 8 and all(c in "0123456789abcdefABCDEF" for c in text) and not name.isalpha():
        return int(text, 16)
    return dictionary.tag_for_name(name)


def cell(ds: Dataset, steps: list[tuple[int, int | None]]) -> str:
    """The text of one field in ``ds`` ('' when absent); the rule is
    :func:`fastfind._pydicom_values.cell`, which the codec's slow path uses too."""
    text = pydicom_cell(ds, steps)
    return "" if text is None else text


class CsvWriter:
    """Write a header row of ``fields`` and then one row per response data set."""

    def __init__(self, fileobj: IO[str], fields: list[str]):
        self.fields = fields
        self.steps = [parse_field(f) for f in fields]
        self.writer = csv.writer(fileobj, lineterminator="\r\n")
        self.fileobj = fileobj
        self.writer.writerow(fields)

    def add(self, ds: Dataset) -> None:
        self.writer.writerow([cell(ds, s) for s in self.steps])

    def close(self) -> None:
        self.fileobj.flush()


def csv_row(cells: list[str]) -> bytes:
    """One RFC 4180 record (CRLF), UTF-8: cells quoted when they hold ``,`` ``"`` CR or LF
    (the :mod:`csv` module's ``QUOTE_MINIMAL``, which also quotes a lone empty cell)."""
    if len(cells) == 1 and not cells[0]:
        return b'""\r\n'
    out = []
    for text in cells:
        if "," in text or '"' in text or "\r" in text or "\n" in text:
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return (",".join(out) + "\r\n").encode("utf-8", "surrogateescape")


class CsvSink(StreamSink):
    """``--extract-csv``: a header row of ``fields``, then one row per response.

    In a batch (``batch``) a leading ``query`` column gives the row of the query answered.
    """

    def __init__(self, path: str, fields: list[str], *, sync: bool = False, batch: bool = False):
        self.fields = list(fields)
        self.steps = [parse_field(f) for f in self.fields]  # UsageError before any file exists
        self.table = codec.CellFields(self.steps)
        self.batch = batch
        super().__init__(path, sync=sync)
        self._file.write(csv_row((["query"] if batch else []) + self.fields))

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None:
            return
        query = (rsp.query or 0) + 1 if self.batch else None
        self._file.write(self.table.csv_row(rsp.plain, rsp.tokens, rsp.transfer_syntax, query))
        self.written += 1




def default_fields(query: Dataset) -> list[str]:
    """The query's top-level return keys (dictionary names), in tag order."""
    out = []
    for elem in query:
        entry = dictionary.entry(int(elem.tag))
        if entry is not None and elem.VR != "SQ":
            out.append(entry[2])
    return out
