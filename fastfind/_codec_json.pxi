# Included by _codec.pyx. Twin: _codec_json_py.py (same names, same results; its docstring lists
# the decisions where the output differs from pydicom).
from cpython.ref cimport PyObject

from ._codec_json_py import _CHARSETS as _JSON_CHARSETS
from ._codec_json_py import charset_info as _charset_info

cdef enum:
    CHARSET_TAG = 0x00080005


cdef struct JFrame:
    bint is_dataset
    Py_ssize_t cursor    # next child / item token
    Py_ssize_t end       # end of the data set's or sequence's tokens
    Py_ssize_t pos       # position in order (when not NULL)
    Py_ssize_t count     # members written so far
    PyObject* order      # list of child indices (not ascending), or NULL: natural order
    int kind             # the data set's charset fast path
    PyObject* encodings  # its Python encodings (borrowed: ctx.keep holds them)


cdef int charset_of(ValueCtx ctx, Py_ssize_t i, int* kind, PyObject** encodings) except -1:
    """``(kind, encodings)`` of the (0008,0005) element at token ``i`` (pydicom's reading)."""
    cdef Token* t = &ctx.toks.toks[i]
    value = PyBytes_FromStringAndSize(<const char*>ctx.p + t.start, t.end - t.start)
    found = _JSON_CHARSETS.get(value)
    if found is None:
        vr = "SQ" if t.kind == K_SEQUENCE else _vr_obj(t.vri)
        found = _charset_info(value, vr, bool(t.flags & 1), not (t.flags & 2))
    ctx.keep.append(found)
    kind[0] = found[0]
    encodings[0] = <PyObject*>found[1]
    return 0


cdef int dataset_children(ValueCtx ctx, Py_ssize_t first, Py_ssize_t end, JFrame* f) except -1:
    """Set up data-set frame ``f`` over tokens ``[first, end)``: output order (NULL when the
    tags ascend) and its own character set if it has one (else ``f`` keeps the inherited)."""
    cdef Token* toks = ctx.toks.toks
    cdef Py_ssize_t i = first, charset = -1
    cdef long long last = -1
    cdef bint ascending = True
    f.is_dataset = True
    f.cursor = first
    f.end = end
    f.pos = 0
    f.count = 0
    f.order = NULL
    while i < end:
        if <long long>toks[i].tag <= last:
            ascending = False
        last = toks[i].tag
        if toks[i].tag == CHARSET_TAG:
            charset = i
        i = toks[i].link + 1 if toks[i].kind == K_SEQUENCE else i + 1
    if not ascending:  # first position, last value: what pydicom's dict keeps
        order = {}
        i = first
        while i < end:
            order[toks[i].tag] = i
            i = toks[i].link + 1 if toks[i].kind == K_SEQUENCE else i + 1
        values = list(order.values())
        ctx.keep.append(values)
        f.order = <PyObject*>values
    if charset >= 0:
        charset_of(ctx, charset, &f.kind, &f.encodings)
    return 0


cdef JFrame* push_jframe(JFrame** stack, Py_ssize_t* cap, Py_ssize_t sp) except NULL:
    cdef Py_ssize_t new_cap
    cdef JFrame* mem
    if sp >= cap[0]:
        new_cap = cap[0] * 2 if cap[0] else 16
        if new_cap > PY_SSIZE_T_MAX // <Py_ssize_t>sizeof(JFrame):
            raise MemoryError()
        mem = <JFrame*>PyMem_Realloc(stack[0], <size_t>new_cap * sizeof(JFrame))
        if mem == NULL:
            raise MemoryError()
        stack[0] = mem
        cap[0] = new_cap
    return &stack[0][sp]


cdef object _DEFAULT_ENCODINGS = ["iso8859"]  # pydicom's default_encoding


cdef bytes encode_json_c(ValueCtx ctx):
    cdef ByteBuf out
    cdef JFrame* stack = NULL
    cdef JFrame* f
    cdef JFrame* g
    cdef Py_ssize_t cap = 0, sp = 0, i, n = ctx.toks.n
    cdef Token* toks = ctx.toks.toks
    cdef list order
    cdef char key[12]
    cdef int kind
    cdef PyObject* encodings
    out.data = NULL
    out.used = out.cap = 0
    try:
        buf_reserve(&out, 64 + ctx.plen * 2)
        buf_put(&out, b"{")
        f = push_jframe(&stack, &cap, 0)
        f.kind = KD_LATIN1
        f.encodings = <PyObject*>_DEFAULT_ENCODINGS
        dataset_children(ctx, 0, n, f)
        sp = 1
        while sp:
            f = &stack[sp - 1]
            if f.is_dataset:
                if f.order == NULL:
                    i = f.cursor
                    if i >= f.end:
                        i = -1
                    else:
                        f.cursor = toks[i].link + 1 if toks[i].kind == K_SEQUENCE else i + 1
                else:
                    order = <list>f.order
                    i = order[f.pos] if f.pos < len(order) else -1
                    f.pos += 1
                if i < 0:
                    buf_put(&out, b"}")
                    sp -= 1
                    continue
                if f.count:
                    buf_put(&out, b",")
                f.count += 1
                _hex8(key, toks[i].tag)
                buf_append(&out, <const unsigned char*>key, 11)
                if toks[i].kind == K_SEQUENCE:
                    buf_put(&out, b'{"vr":"SQ","Value":[')
                    kind = f.kind
                    encodings = f.encodings
                    g = push_jframe(&stack, &cap, sp)
                    sp += 1
                    g.is_dataset = False
                    g.cursor = i + 1
                    g.end = toks[i].link
                    g.count = 0
                    g.order = NULL
                    g.kind = kind
                    g.encodings = encodings
                else:
                    json_element(ctx, &out, i, f.kind, <object>f.encodings)
            else:
                i = f.cursor
                if i >= f.end:
                    buf_put(&out, b"]}")
                    sp -= 1
                    continue
                f.cursor = toks[i].link + 1
                if f.count:
                    buf_put(&out, b",")
                f.count += 1
                buf_put(&out, b"{")
                kind = f.kind
                encodings = f.encodings
                g = push_jframe(&stack, &cap, sp)
                sp += 1
                g.kind = kind
                g.encodings = encodings
                dataset_children(ctx, i + 1, toks[i].link, g)
        return PyBytes_FromStringAndSize(<const char*>out.data, out.used)
    finally:
        PyMem_Free(stack)
        PyMem_Free(out.data)


cdef inline void _hex8(char* key, uint32_t tag) noexcept:
    """``"GGGGEEEE":`` (11 bytes)."""
    cdef const char* H = b"0123456789ABCDEF"
    cdef int k
    key[0] = 34
    for k in range(8):
        key[1 + k] = H[(tag >> (28 - 4 * k)) & 15]
    key[9] = 34
    key[10] = 58


def encode_json(plain, tokens, ts):
    """The identifier (plain bytes and their :class:`Tokens`) as one compact DICOM JSON object
    (PS3.18 F.2), UTF-8 (see :func:`fastfind._codec_json_py.encode_json`)."""
    return encode_json_c(new_ctx(plain, tokens, ts))


cdef int json_element(ValueCtx ctx, ByteBuf* out, Py_ssize_t i, int kind, object encodings) except -1:
    """Append the attribute object of ELEMENT token ``i``."""
    cdef Token* t = &ctx.toks.toks[i]
    cdef int vri = -1
    cdef int cls = value_class(t.tag, t.vri, &vri)
    cdef bytes slow
    if cls != CL_SLOW and json_fast(ctx, out, cls, vri, ctx.p + t.start, t.end - t.start,
                                    not (t.flags & 2), kind, encodings):
        return 0
    slow = ctx.slow().element_json(i)
    return buf_append(out, <const unsigned char*>PyBytes_AS_STRING(slow), len(slow))


cdef inline int _vr_head(ByteBuf* out, int vri) except -1:
    cdef char head[10]
    memcpy(head, b'{"vr":"', 7)
    head[7] = 65 + vri // 26
    head[8] = 65 + vri % 26
    head[9] = 34
    return buf_append(out, <const unsigned char*>head, 10)


cdef int json_fast(ValueCtx ctx, ByteBuf* out, int cls, int vri, const unsigned char* v,
                   Py_ssize_t n, bint little, int kind, object encodings) except -1:
    """Append the attribute object of a value in class ``cls``; 0 (nothing written) when pydicom
    must convert it."""
    cdef Py_ssize_t size, k, s, e, c, last
    cdef const unsigned char* base
    if cls == CL_BIN:
        _vr_head(out, vri)
        if n:
            buf_put(out, b',"InlineBinary":"')
            put_base64(out, v, n)
            buf_put(out, b'"')
        return buf_put(out, b"}") + 1
    if CL_US <= cls <= CL_FD:
        size = num_size(cls)
        if n % size:  # pydicom's BytesLengthException: the raw bytes as UN
            buf_put(out, b'{"vr":"UN","InlineBinary":"')
            put_base64(out, v, n)
            return buf_put(out, b'"}') + 1
        _vr_head(out, vri)
        if n:
            buf_put(out, b',"Value":[')
            for k in range(0, n, size):
                if k:
                    buf_put(out, b",")
                put_number(out, cls, v + k, little, True)
            buf_put(out, b"]")
        return buf_put(out, b"}") + 1
    if cls == CL_AT:
        if n % 4:
            return 0
        _vr_head(out, vri)
        if n:
            buf_put(out, b',"Value":[')
            for k in range(0, n, 4):
                if k:
                    buf_put(out, b",")
                put_tag(out, v + k, little, True)
            buf_put(out, b"]")
        return buf_put(out, b"}") + 1
    if not split_values(ctx, cls, v, n, kind, encodings):
        return 0
    base = ctx.vbase
    _vr_head(out, vri)
    if ctx.nspans == 1 and ctx.spans[0].end == ctx.spans[0].start:
        return buf_put(out, b"}") + 1
    if cls == CL_PN and ctx.nspans == 1 and _pn_empty(base, ctx.spans[0].start, ctx.spans[0].end):
        return buf_put(out, b"}") + 1  # one name of '=' only: VM 0
    buf_put(out, b',"Value":[')
    for k in range(ctx.nspans):
        if k:
            buf_put(out, b",")
        s = ctx.spans[k].start
        e = ctx.spans[k].end
        if cls == CL_IS:
            put_is_json(out, base, s, e)
        elif cls == CL_DS:
            put_ds_json(out, base, s, e)
        elif cls == CL_PN:
            _pn_json(out, base, s, e, ctx.vlatin1)
        else:
            json_str(out, base + s, e - s, ctx.vlatin1)
    return buf_put(out, b"]}") + 1


cdef inline bint _pn_empty(const unsigned char* p, Py_ssize_t s, Py_ssize_t e) noexcept:
    while e > s and p[e - 1] == 61:
        e -= 1
    return e == s


cdef int _pn_json(ByteBuf* out, const unsigned char* p, Py_ssize_t s, Py_ssize_t e,
                  bint latin1) except -1:
    """One PN value: its components (trailing empty ones dropped) as Alphabetic/Ideographic/
    Phonetic; ``null`` when it has none (PS3.18 F.2.5)."""
    cdef Py_ssize_t k, c = 0, first = s
    while e > s and p[e - 1] == 61:
        e -= 1
    if e == s:
        return buf_put(out, b"null")
    for k in range(s, e + 1):
        if k < e and p[k] != 61:
            continue
        if c < 3:
            buf_put(out, b'{"Alphabetic":' if c == 0 else b',"Ideographic":' if c == 1
                    else b',"Phonetic":')
            json_str(out, p + first, k - first, latin1)
        c += 1
        first = k + 1
    return buf_put(out, b"}")
