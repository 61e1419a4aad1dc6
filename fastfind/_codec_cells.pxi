# Included by _codec.pyx. Twin: _codec_cells_py.py (same names, same results; its docstring
# describes the cells, the CSV records and the Arrow layout).

cdef struct FieldStep:
    uint32_t tag
    Py_ssize_t item      # -1: no index given


cdef class CellFields:
    """A compiled field table (see :class:`fastfind._codec_cells_py.CellFields`)."""

    cdef FieldStep* steps
    cdef Py_ssize_t* first   # index of each field's first step in steps; first[nfields] = total
    cdef Py_ssize_t nfields
    cdef public list fields
    cdef ByteBuf tmp

    def __cinit__(self):
        self.steps = NULL
        self.first = NULL

    def __init__(self, fields):
        cdef Py_ssize_t total = 0, k = 0, f
        self.fields = [[(int(tag) & 0xFFFFFFFF, None if item is None else int(item))
                        for tag, item in steps] for steps in fields]
        for steps in self.fields:
            if not steps:
                raise ValueError("empty field path")
            for _tag, item in steps:
                if item is not None and item < 0:
                    raise ValueError("negative item index")
            total += len(steps)
        self.nfields = len(self.fields)
        self.steps = <FieldStep*>PyMem_Malloc(<size_t>(total + 1) * sizeof(FieldStep))
        self.first = <Py_ssize_t*>PyMem_Malloc(<size_t>(self.nfields + 1) * sizeof(Py_ssize_t))
        if self.steps == NULL or self.first == NULL:
            raise MemoryError()
        for f, steps in enumerate(self.fields):
            self.first[f] = k
            for tag, item in steps:
                self.steps[k].tag = tag
                self.steps[k].item = -1 if item is None else min(item, PY_SSIZE_T_MAX)
                k += 1
        self.first[self.nfields] = k

    def __dealloc__(self):
        PyMem_Free(self.steps)
        PyMem_Free(self.first)
        PyMem_Free(self.tmp.data)

    def __len__(self):
        return self.nfields

    def cells(self, plain, tokens, ts):
        """Each field's cell as UTF-8, or None where the field names no value."""
        cdef ValueCtx ctx = new_ctx(plain, tokens, ts)
        cdef Py_ssize_t f
        out = []
        for f in range(self.nfields):
            self.tmp.used = 0
            if field_cell(self, ctx, f, &self.tmp):
                out.append(PyBytes_FromStringAndSize(<const char*>self.tmp.data, self.tmp.used))
            else:
                out.append(None)
        return out

    def csv_row(self, plain, tokens, ts, query=None):
        """One CSV record (CRLF) of the cells, led by ``query`` when it is not None."""
        cdef ValueCtx ctx = new_ctx(plain, tokens, ts)
        cdef ByteBuf row
        cdef Py_ssize_t f, ncells = self.nfields
        row.data = NULL
        row.used = row.cap = 0
        try:
            if query is not None:
                put_i64(&row, query)
                ncells += 1
            for f in range(self.nfields):
                if f or query is not None:
                    buf_put(&row, b",")
                self.tmp.used = 0
                field_cell(self, ctx, f, &self.tmp)
                if ncells == 1 and self.tmp.used == 0:
                    buf_put(&row, b'""')
                else:
                    csv_cell(&row, self.tmp.data, self.tmp.used)
            buf_put(&row, b"\r\n")
            return PyBytes_FromStringAndSize(<const char*>row.data, row.used)
        finally:
            PyMem_Free(row.data)


cdef int csv_cell(ByteBuf* row, const unsigned char* p, Py_ssize_t n) except -1:
    """Append one cell, quoted (quotes doubled) when it holds , " CR or LF (QUOTE_MINIMAL)."""
    cdef Py_ssize_t i
    cdef bint quote = False
    for i in range(n):
        if p[i] == 44 or p[i] == 34 or p[i] == 13 or p[i] == 10:
            quote = True
            break
    if not quote:
        return buf_append(row, p, n)
    buf_reserve(row, 2 * n + 2)
    buf_put(row, b'"')
    for i in range(n):
        if p[i] == 34:
            buf_put(row, b'"')
        row.data[row.used] = p[i]
        row.used += 1
    return buf_put(row, b'"')


cdef Py_ssize_t find_child(ValueCtx ctx, Py_ssize_t first, Py_ssize_t end, uint32_t tag,
                           Py_ssize_t* charset) noexcept:
    """The last child with ``tag`` of the data set in tokens ``[first, end)`` (-1: none); its
    last (0008,0005) child in ``charset``."""
    cdef Token* toks = ctx.toks.toks
    cdef Py_ssize_t i = first, found = -1
    charset[0] = -1
    while i < end:
        if toks[i].tag == tag:
            found = i
        if toks[i].tag == CHARSET_TAG:
            charset[0] = i
        i = toks[i].link + 1 if toks[i].kind == K_SEQUENCE else i + 1
    return found


cdef int field_cell(CellFields self, ValueCtx ctx, Py_ssize_t f, ByteBuf* dst) except -1:
    """Append field ``f``'s cell to ``dst``; 0 where the field names no value (null)."""
    cdef Token* toks = ctx.toks.toks
    cdef Py_ssize_t first = 0, end = ctx.toks.n, k, i, charset, j, stop, target, count, index
    cdef Py_ssize_t k0 = self.first[f], k1 = self.first[f + 1]
    cdef int kind = KD_LATIN1, vri = -1, cls, r
    cdef PyObject* encodings = <PyObject*>_DEFAULT_ENCODINGS
    cdef FieldStep* step
    for k in range(k0, k1):
        step = &self.steps[k]
        i = find_child(ctx, first, end, step.tag, &charset)
        if charset >= 0:
            charset_of(ctx, charset, &kind, &encodings)
        if i < 0:
            return 0
        if toks[i].kind == K_SEQUENCE:
            count = 0
            target = -1
            index = step.item if step.item >= 0 else 0
            j = i + 1
            stop = toks[i].link
            while j < stop:
                if count == index:
                    target = j
                count += 1
                j = toks[j].link + 1
            if k == k1 - 1 and step.item < 0:
                return put_i64(dst, count) + 1
            if target < 0 or k == k1 - 1:
                return 0
            first = target + 1
            end = toks[target].link
            continue
        cls = value_class(step.tag, toks[i].vri, &vri)
        if cls == CL_SLOW:
            return cell_slow(self, ctx, i, k, k1, dst)
        if k != k1 - 1:
            return 0
        r = cell_fast(ctx, dst, cls, ctx.p + toks[i].start, toks[i].end - toks[i].start,
                      not (toks[i].flags & 2), kind, <object>encodings)
        if r:
            return 1
        return cell_slow(self, ctx, i, k, k1, dst)
    return 0


cdef int cell_slow(CellFields self, ValueCtx ctx, Py_ssize_t i, Py_ssize_t k, Py_ssize_t k1,
                   ByteBuf* dst) except -1:
    """pydicom's cell of the steps ``k..k1`` from token ``i``'s data set."""
    cdef Py_ssize_t j
    steps = []
    for j in range(k, k1):
        steps.append((self.steps[j].tag, None if self.steps[j].item < 0 else self.steps[j].item))
    text = ctx.slow().cell(i, steps)
    if text is None:
        return 0
    data = text.encode("utf-8", "surrogateescape")
    buf_append(dst, <const unsigned char*>PyBytes_AS_STRING(data), len(data))
    return 1


cdef int cell_fast(ValueCtx ctx, ByteBuf* dst, int cls, const unsigned char* v, Py_ssize_t n,
                   bint little, int kind, object encodings) except -1:
    """Append the cell of a value in class ``cls``; 0 (nothing written) when pydicom must
    convert it."""
    cdef Py_ssize_t size, k, s, e
    cdef const unsigned char* base
    if cls == CL_BIN:
        return put_hex(dst, v, n) + 1
    if CL_US <= cls <= CL_FD:
        size = num_size(cls)
        if n % size:
            return put_hex(dst, v, n) + 1  # pydicom cannot convert it: the raw bytes
        for k in range(0, n, size):
            if k:
                buf_put(dst, b"\\")
            put_number(dst, cls, v + k, little, False)
        return 1
    if cls == CL_AT:
        if n % 4:
            return 0
        for k in range(0, n, 4):
            if k:
                buf_put(dst, b"\\")
            put_tag(dst, v + k, little, False)
        return 1
    if not split_values(ctx, cls, v, n, kind, encodings):
        return 0
    base = ctx.vbase
    for k in range(ctx.nspans):
        if k:
            buf_put(dst, b"\\")
        s = ctx.spans[k].start
        e = ctx.spans[k].end
        if cls == CL_IS or cls == CL_DS:
            while s < e and base[s] == 32:
                s += 1
            while e > s and base[e - 1] == 32:
                e -= 1
        elif cls == CL_PN:
            while e > s and base[e - 1] == 61:
                e -= 1
        put_text(dst, base + s, e - s, ctx.vlatin1)
    return 1


cdef class ArrowColumns:
    """Rows of cells as Arrow ``utf8`` columns (see :class:`fastfind._codec_cells_py.ArrowColumns`)."""

    cdef public CellFields fields
    cdef public bint query_column
    cdef Py_ssize_t n
    cdef ByteBuf query
    cdef ByteBuf* valid
    cdef ByteBuf* offsets
    cdef ByteBuf* data
    cdef Py_ssize_t* nulls
    cdef Py_ssize_t ncol

    def __cinit__(self):
        self.valid = self.offsets = self.data = NULL
        self.nulls = NULL

    def __init__(self, CellFields fields, query_column=False):
        self.fields = fields
        self.query_column = bool(query_column)
        self.ncol = fields.nfields
        self.valid = <ByteBuf*>PyMem_Malloc(<size_t>(self.ncol + 1) * sizeof(ByteBuf))
        self.offsets = <ByteBuf*>PyMem_Malloc(<size_t>(self.ncol + 1) * sizeof(ByteBuf))
        self.data = <ByteBuf*>PyMem_Malloc(<size_t>(self.ncol + 1) * sizeof(ByteBuf))
        self.nulls = <Py_ssize_t*>PyMem_Malloc(<size_t>(self.ncol + 1) * sizeof(Py_ssize_t))
        if self.valid == NULL or self.offsets == NULL or self.data == NULL or self.nulls == NULL:
            raise MemoryError()
        memset(self.valid, 0, <size_t>(self.ncol + 1) * sizeof(ByteBuf))
        memset(self.offsets, 0, <size_t>(self.ncol + 1) * sizeof(ByteBuf))
        memset(self.data, 0, <size_t>(self.ncol + 1) * sizeof(ByteBuf))
        self._reset()

    cdef int _reset(self) except -1:
        cdef Py_ssize_t c
        cdef int32_t zero = 0
        self.n = 0
        self.query.used = 0
        for c in range(self.ncol):
            self.valid[c].used = 0
            self.data[c].used = 0
            self.offsets[c].used = 0
            self.nulls[c] = 0
            buf_append(&self.offsets[c], <const unsigned char*>&zero, 4)
        return 0

    def __dealloc__(self):
        cdef Py_ssize_t c
        if self.valid != NULL:
            for c in range(self.ncol):
                PyMem_Free(self.valid[c].data)
                PyMem_Free(self.offsets[c].data)
                PyMem_Free(self.data[c].data)
        PyMem_Free(self.valid)
        PyMem_Free(self.offsets)
        PyMem_Free(self.data)
        PyMem_Free(self.nulls)
        PyMem_Free(self.query.data)

    def __len__(self):
        return self.n

    def add(self, plain, tokens, ts, query=0):
        """Append the row of one identifier (``query``: the query column's value)."""
        cdef ValueCtx ctx = new_ctx(plain, tokens, ts)
        cdef Py_ssize_t c, before, n = self.n
        cdef int32_t off, q = 0
        cdef unsigned char zero = 0
        cdef ByteBuf* d
        if n >= 0x7FFFFFFF:
            raise OverflowError("too many rows in one Arrow batch")
        if self.query_column:
            q = query
        for c in range(self.ncol):
            d = &self.data[c]
            before = d.used
            if n % 8 == 0:
                buf_append(&self.valid[c], &zero, 1)
            if field_cell(self.fields, ctx, c, d):
                if d.used > 0x7FFFFFFF:
                    d.used = before
                    raise OverflowError("Arrow column data beyond 2 GiB (int32 offsets)")
                self.valid[c].data[n >> 3] |= 1 << (n & 7)
            else:
                self.nulls[c] += 1
            off = <int32_t>d.used
            buf_append(&self.offsets[c], <const unsigned char*>&off, 4)
        if self.query_column:
            buf_append(&self.query, <const unsigned char*>&q, 4)
        self.n = n + 1

    def take(self):
        """``(rows, query column int32 values or None, [(null_count, validity bitmap, int32
        offsets, data) per field])`` of everything added since the last take; then empty."""
        cdef Py_ssize_t c
        cols = []
        for c in range(self.ncol):
            cols.append((self.nulls[c],
                         PyBytes_FromStringAndSize(<const char*>self.valid[c].data, self.valid[c].used),
                         PyBytes_FromStringAndSize(<const char*>self.offsets[c].data, self.offsets[c].used),
                         PyBytes_FromStringAndSize(<const char*>self.data[c].data, self.data[c].used)))
        query = (PyBytes_FromStringAndSize(<const char*>self.query.data, self.query.used)
                 if self.query_column else None)
        rows = self.n
        self._reset()
        return rows, query, cols
