"""Pure-Python twin of ``_codec_cells.pxi``: table cells of an identifier, in one call per response.

A :class:`CellFields` is a compiled field table (the parsed paths of
:func:`fastfind.output.csv_table.parse_field`: ``[(tag, item index or None), ...]``). For one
identifier (plain bytes + walk) it finds each field's element and gives its cell with the
semantics of :func:`fastfind.output.csv_table.cell`: ``str()`` of the pydicom value, multiple
values joined with ``\\``, bytes as hex, a sequence as its item count, ``Seq[0].Elem`` inside the
first item (``Seq.Elem`` too). Values outside the fast paths of ``_codec_text_py`` come from
pydicom (``fastfind._pydicom_values.Fallback.cell``).

* :meth:`CellFields.csv_row` -- one RFC 4180 record, bytes exactly as ``csv_row``.
* :class:`ArrowColumns` -- an Arrow-style accumulator: per column a validity bitmap, int32
  offsets and UTF-8 data (the Arrow columnar format's ``utf8`` layout); a field that names no
  value (element absent, item out of range, a path through a non-sequence) is null there and an
  empty cell in CSV. With ``query_column`` a leading int32 column holds ``rsp.query + 1``.
"""

from __future__ import annotations

import struct
from array import array

from ._codec_text_py import (
    C_AT,
    C_BIN,
    C_DS,
    C_FD,
    C_FL,
    C_IS,
    C_PN,
    C_SL,
    C_SLOW,
    C_SS,
    C_SV,
    C_UL,
    C_US,
    C_UV,
    K_LATIN1,
    _State,
    dictionary_vr,
    split_values,
)
from ._codec_tokens_py import (
    END,
    FLAGS_MASK,
    FLAGS_SHIFT,
    KIND_MASK,
    LINK,
    NFIELDS,
    PACKED,
    START,
    TAG,
    VRI_SHIFT,
)

__all__ = ["ArrowColumns", "CellFields"]

_SEQUENCE = 1
_F_BIG_ENDIAN = 2
_CHARSET_TAG = 0x00080005
_NUM = {C_US: ("H", 2), C_SS: ("h", 2), C_UL: ("L", 4), C_SL: ("l", 4), C_UV: ("Q", 8),
        C_SV: ("q", 8), C_FL: ("f", 4), C_FD: ("d", 8)}
_DEFAULT = (K_LATIN1, ["iso8859"])
_QUOTE = frozenset(b',"\r\n')




class CellFields:
    """A compiled field table: ``fields`` are parsed paths ``[(tag, item or None), ...]``."""

    def __init__(self, fields: list[list[tuple[int, int | None]]]):
        self.fields = [[(int(tag) & 0xFFFFFFFF, None if item is None else int(item))
                        for tag, item in steps] for steps in fields]
        for steps in self.fields:
            if not steps:
                raise ValueError("empty field path")
            for _tag, item in steps:
                if item is not None and item < 0:
                    raise ValueError("negative item index")

    def __len__(self) -> int:
        return len(self.fields)

    def cells(self, plain: bytes, tokens, ts) -> list[bytes | None]:  # type: ignore[no-untyped-def]
        """Each field's cell as UTF-8, or None where the field names no value."""
        st = _State(plain, tokens, ts)
        return [field_cell(st, steps) for steps in self.fields]

    def csv_row(self, plain: bytes, tokens, ts, query: int | None = None) -> bytes:  # type: ignore[no-untyped-def]
        """One CSV record (CRLF) of the cells, led by ``query`` when it is not None."""
        cells = [c or b"" for c in self.cells(plain, tokens, ts)]
        if query is not None:
            cells.insert(0, b"%d" % query)
        return csv_record(cells)


def csv_record(cells: list[bytes]) -> bytes:
    """RFC 4180 with the :mod:`csv` module's QUOTE_MINIMAL (which also quotes a lone empty cell)."""
    if len(cells) == 1 and not cells[0]:
        return b'""\r\n'
    out = []
    for c in cells:
        if _QUOTE.intersection(c):
            c = b'"' + c.replace(b'"', b'""') + b'"'
        out.append(c)
    return b",".join(out) + b"\r\n"


def find_child(st: _State, first: int, end: int, tag: int) -> tuple[int, int]:
    """``(index of the last child with tag, index of the last (0008,0005) child)`` of the data
    set in tokens ``[first, end)``; -1 where absent (pydicom keeps a repeated tag's last value)."""
    a = st.a
    i, found, charset = first, -1, -1
    while i < end:
        base = i * NFIELDS
        t = a[base + TAG]
        if t == tag:
            found = i
        if t == _CHARSET_TAG:
            charset = i
        i = a[base + LINK] if a[base + PACKED] & KIND_MASK == _SEQUENCE else i + 1
    return found, charset


def field_cell(st: _State, steps: list[tuple[int, int | None]]) -> bytes | None:
    """The cell of one field (see :class:`CellFields`)."""
    from ._codec_json_py import charset_of

    a = st.a
    first, end, cs = 0, len(st.tokens), _DEFAULT
    last = len(steps) - 1
    for k, (tag, item) in enumerate(steps):
        i, charset = find_child(st, first, end, tag)
        if charset >= 0:
            cs = charset_of(st, charset)  # type: ignore[arg-type]
        if i < 0:
            return None
        base = i * NFIELDS
        if a[base + PACKED] & KIND_MASK == _SEQUENCE:
            count, j, stop, target = 0, i + 1, a[base + LINK] - 1, -1
            index = item or 0
            while j < stop:
                if count == index:
                    target = j
                count += 1
                j = a[j * NFIELDS + LINK]
            if k == last and item is None:
                return b"%d" % count
            if target < 0 or k == last:
                return None
            first, end = target + 1, a[target * NFIELDS + LINK] - 1
            continue
        vri, cls = dictionary_vr(tag, (a[base + PACKED] >> VRI_SHIFT) - 1)
        if cls == C_SLOW:
            return _slow(st, i, steps[k:])
        if k != last:
            return None
        flags = a[base + PACKED] >> FLAGS_SHIFT & FLAGS_MASK
        out = cell_fast(cls, st.plain[a[base + START]:a[base + END]], flags, cs)
        return _slow(st, i, steps[k:]) if out is None else out
    return None


def _slow(st: _State, i: int, steps: list[tuple[int, int | None]]) -> bytes | None:
    text = st.slow().cell(i, steps)
    return None if text is None else text.encode("utf-8", "surrogateescape")


def cell_fast(cls: int, raw: bytes, flags: int, cs: tuple[int, list[str]]) -> bytes | None:
    """The cell of a value in class ``cls``, or None when pydicom must convert it."""
    if cls == C_BIN:
        return raw.hex().encode()
    if cls in _NUM:
        code, size = _NUM[cls]
        if len(raw) % size:
            return raw.hex().encode()  # pydicom cannot convert it: the raw bytes
        fmt = ("<" if not flags & _F_BIG_ENDIAN else ">") + code * (len(raw) // size)
        values = struct.unpack(fmt, raw)
        if cls == C_FL or cls == C_FD:
            return b"\\".join(repr(v).encode() for v in values)
        return b"\\".join(b"%d" % v for v in values)
    if cls == C_AT:
        if len(raw) % 4:
            return None
        fmt = ("<" if not flags & _F_BIG_ENDIAN else ">") + "HH" * (len(raw) // 4)
        pairs = struct.unpack(fmt, raw)
        return b"\\".join(b"(%04X,%04X)" % (pairs[k], pairs[k + 1]) for k in range(0, len(pairs), 2))
    values = split_values(cls, raw, cs[0], cs[1])
    if values is None:
        return None
    if cls == C_IS or cls == C_DS:
        values = [v.strip(b" ") for v in values]
    elif cls == C_PN:
        values = [v.rstrip(b"=") for v in values]
    return b"\\".join(values)


class ArrowColumns:
    """Rows of cells accumulated as Arrow ``utf8`` columns (validity bitmap, int32 offsets,
    UTF-8 data), plus a leading int32 ``query`` column when ``query_column``."""

    def __init__(self, fields: CellFields, query_column: bool = False):
        self.fields = fields
        self.query_column = query_column
        self._reset()

    def _reset(self) -> None:
        ncol = len(self.fields)
        self._n = 0
        self._query = array("i")
        self._valid = [bytearray() for _ in range(ncol)]
        self._nulls = [0] * ncol
        self._offsets = [array("i", [0]) for _ in range(ncol)]
        self._data = [bytearray() for _ in range(ncol)]

    def __len__(self) -> int:
        return self._n

    def add(self, plain: bytes, tokens, ts, query: int = 0) -> None:  # type: ignore[no-untyped-def]
        """Append the row of one identifier (``query``: the query column's value)."""
        cells = self.fields.cells(plain, tokens, ts)
        n = self._n
        if n >= 0x7FFFFFFF:
            raise OverflowError("too many rows in one Arrow batch")
        for c, cell in enumerate(cells):
            data = self._data[c]
            if cell is not None and len(data) + len(cell) > 0x7FFFFFFF:
                raise OverflowError("Arrow column data beyond 2 GiB (int32 offsets)")
            valid = self._valid[c]
            if n % 8 == 0:
                valid.append(0)
            if cell is None:
                self._nulls[c] += 1
            else:
                valid[n >> 3] |= 1 << (n & 7)
                data += cell
            self._offsets[c].append(len(data))
        if self.query_column:
            self._query.append(query)
        self._n = n + 1

    def take(self) -> tuple[int, bytes | None, list[tuple[int, bytes, bytes, bytes]]]:
        """``(rows, query column int32 values or None, [(null_count, validity bitmap, int32
        offsets, data) per field])`` of everything added since the last take; then empty."""
        n = self._n
        query = self._query.tobytes() if self.query_column else None
        cols = [(self._nulls[c], bytes(self._valid[c]), self._offsets[c].tobytes(),
                 bytes(self._data[c])) for c in range(len(self.fields))]
        self._reset()
        return n, query, cols
