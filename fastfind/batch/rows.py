"""Query rows: a CSV file whose header row names ``-k`` keys and whose rows are queries.

A header cell is a key in ``-k`` syntax (a dictionary name, a tag, a sequence path); a row's
cell with a value makes ``Key=value``, an empty cell makes ``Key`` (asked for, any value). Every
row is applied over a base query (a query file and the command line's ``-k`` keys), so the
rows override. Blank lines are skipped; row numbers count the other lines from 1.

The file is read lazily, one row at a time (``csv``, UTF-8 with or without a BOM); a row is at
most :data:`MAX_ROW_BYTES`. :meth:`QueryRows.check` reads it once without building queries and
raises :class:`RowError` for the first bad row, naming the row and the column.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Iterator

from pydicom.dataset import Dataset

from .. import query as query_mod
from ..dicom import dictionary
from ..errors import UsageError

MAX_ROW_BYTES = 1 << 20
_SEQUENCE = "sequence"  # a column whose key ends at a sequence or item: no value allowed
_CHECKED = "checked"  # binary VRs and UI (``=Name``): every cell is tried
_TEXT = "text"  # string VRs: any text goes


class RowError(UsageError):
    """A bad header cell or row: ``batch file F: row R, column C (key): problem``."""


class QueryRows:
    """The rows of ``path`` as query data sets over ``base`` (see the module docstring)."""

    def __init__(self, path: str, base: Dataset | None = None, data_correction: bool = False):
        self.path = path
        self.base = base if base is not None else Dataset()
        self.dc = data_correction
        self.header: list[str] = []
        self.kinds: list[str] = []
        with self._open() as f:
            reader = csv.reader(f)
            try:
                self.header = [c.strip() for c in next(reader)]
            except StopIteration:
                raise RowError(f"batch file {path}: no header row") from None
            except UnicodeDecodeError as exc:
                raise RowError(f"batch file {path}: not UTF-8 ({exc.reason})") from None
            except csv.Error as exc:
                raise RowError(f"batch file {path}: header row: {exc}") from None
        if not any(self.header):
            raise RowError(f"batch file {path}: the header row names no keys")
        for col, key in enumerate(self.header, 1):
            self.kinds.append(self._kind(col, key))

    def _open(self):  # type: ignore[no-untyped-def]
        try:
            return open(self.path, encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise RowError(f"batch file {self.path}: {exc.strerror or exc}") from None

    def _where(self, row: int | None, col: int) -> str:
        at = f"row {row}, " if row is not None else "header, "
        return f"batch file {self.path}: {at}column {col} ({self.header[col - 1]})"

    def _kind(self, col: int, key: str) -> str:
        if not key or "=" in key:
            raise RowError(f"{self._where(None, col)}: a header cell is a key without a value")
        try:
            query_mod.apply_key(Dataset(), key)
        except query_mod.QueryKeyError as exc:
            raise RowError(f"{self._where(None, col)}: {exc}") from None
        from ..output.csv_table import parse_field

        if key.rstrip().endswith("]"):
            return _SEQUENCE
        try:
            found = dictionary.entry(parse_field(key)[-1][0])
        except UsageError:
            return _CHECKED
        if found and found[0] == "SQ":
            return _SEQUENCE
        return _TEXT if found and found[0] in query_mod.STRING_VRS and found[0] != "UI" else _CHECKED

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        with self._open() as f:
            reader = csv.reader(f)
            number = 0
            try:
                next(reader)
                for cells in reader:
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue
                    number += 1
                    yield number, cells
            except UnicodeDecodeError as exc:
                raise RowError(f"batch file {self.path}: line {reader.line_num + 1}: not UTF-8 "
                               f"({exc.reason})") from None
            except csv.Error as exc:
                raise RowError(f"batch file {self.path}: line {reader.line_num}: {exc}") from None

    def _keys(self, number: int, cells: list[str]) -> list[str]:
        if len(cells) != len(self.header):
            raise RowError(f"batch file {self.path}: row {number}: {len(cells)} cells, the header "
                           f"has {len(self.header)}")
        if sum(len(c) for c in cells) > MAX_ROW_BYTES:
            raise RowError(f"batch file {self.path}: row {number}: longer than {MAX_ROW_BYTES} bytes")
        return [f"{key}={value}" if value else key for key, value in zip(self.header, cells, strict=True)]

    def check(self) -> int:
        """Read every row without building queries; return how many there are."""
        count = 0
        for number, cells in self._rows():
            keys = self._keys(number, cells)
            for col, (kind, key, value) in enumerate(zip(self.kinds, keys, cells, strict=True), 1):
                if not value or kind == _TEXT:
                    continue
                if kind == _SEQUENCE:
                    raise RowError(f"{self._where(number, col)}: a sequence or item takes no value")
                try:
                    query_mod.apply_key(Dataset(), key, self.dc)
                except query_mod.QueryKeyError as exc:
                    raise RowError(f"{self._where(number, col)}: {exc}") from None
            count = number
        return count

    def __iter__(self) -> Iterator[Dataset]:
        for number, cells in self._rows():
            keys = self._keys(number, cells)
            ds = copy.deepcopy(self.base)
            try:
                query_mod.apply_keys(ds, keys, self.dc)
            except query_mod.QueryKeyError as exc:
                col = keys.index(exc.path_text) + 1 if exc.path_text in keys else 1
                raise RowError(f"{self._where(number, col)}: {exc}") from None
            yield ds
