# Included by _codec.pyx. Twin: _codec_xml_py.py (same names, same results, same steps).
#
# DCMTK 3.6.7's XML of one identifier (findscu -Xx / -Xs) straight from its plain bytes and the
# token array, one call per response; the twin's docstring says what DCMTK does and why. The
# tables (VR kinds, character sets, the dictionary) come from the twin and from
# fastfind.dicom.dictionary, copied into C arrays at first use. Python is called only for a
# dictionary entry not seen before, a private creator's entry, and a value that needs a Python
# codec (multi-byte character sets, ISO 2022 escapes). Nothing recurses on the data: containers
# and sequences are written from an explicit stack; every token offset and link is checked.

cimport cython
from cpython.bytes cimport PyBytes_GET_SIZE
from libc.math cimport modf
from libc.stdint cimport uint64_t
from libc.stdlib cimport qsort
from libc.string cimport memchr, memcmp, strlen

from . import _codec_xml_py as _xp
from .dicom import dictionary as _dictionary
from ._codec_xml_py import XML_ENCODINGS

cdef extern from *:
    """
    #include <math.h>
    #include <stdio.h>
    static int ff_isnan(double x) { return isnan(x); }
    static int ff_isinf(double x) { return isinf(x); }
    static int ff_signbit(double x) { return signbit(x) != 0; }
    static int ff_printf_g(char* out, size_t size, int prec, double x) {
        return snprintf(out, size, "%.*g", prec, x);
    }
    """
    int ff_isnan(double x) nogil
    int ff_isinf(double x) nogil
    int ff_signbit(double x) nogil
    int ff_printf_g(char* out, size_t size, int prec, double x) nogil

# ---- VR codes and kinds (the twin's VR_PROPS, as a C array) --------------------------------------
cdef enum:
    XVR_N = 684
    XVR_XS = 676
    XVR_OX = 677
    XVR_LT = 678
    XVR_UP = 679
    XVR_PX = 680
    XVR_PI = 681
    XVR_NA = 682
    XK_HIDDEN = 0
    XK_STRING = 1
    XK_TEXT = 2
    XK_DS = 3
    XK_INT = 4
    XK_FLOAT = 5
    XK_AT = 6
    XN_UNSIGNED = 0
    XN_SIGNED = 1
    XN_FLOAT = 2

cdef int XVR_SQ = _xp.VR_SQ
cdef int XVR_UN = _xp.VR_UN
cdef int XVR_US = _xp.VR_US
cdef int XVR_SS = _xp.VR_SS
cdef int XVR_UL = _xp.VR_UL
cdef int XVR_OB = _xp.VR_OB
cdef int XVR_OW = _xp.VR_OW
cdef int XVR_CS = _xp.VR_CS
cdef int XVR_UI = _xp.VR_UI
cdef int XVR_PN = _xp.VR_PN
assert _xp.N_VRS == XVR_N and _xp.VR_XS == XVR_XS and _xp.VR_NA == XVR_NA


cdef struct XVr:
    unsigned char kind, lead, trail, pad, vm1, size, num, prec, dcmtk, charset
    char text[2]  # the two letters written


cdef XVr _XVR[XVR_N]
cdef bint _xvr_ready = False
# markup classes: 0 copied, 1 an entity, 2 quoted as &#n; when quoting, 3 NUL
cdef unsigned char _XM[256]
# _HEX (hex digits) comes from _codec_text.pxi, included before this file


cdef inline const char* _x_entity(unsigned char c) noexcept:
    if c == 0x3C:
        return b"&lt;"
    if c == 0x3E:
        return b"&gt;"
    if c == 0x26:
        return b"&amp;"
    if c == 0x22:
        return b"&quot;"
    if c == 0x27:
        return b"&apos;"
    if c == 0x0A:
        return b"&#10;"
    return b"&#13;"


cdef int _x_init() except -1:
    global _xvr_ready
    cdef int code, c
    cdef bytes text
    _NUMS = {"H": XN_UNSIGNED, "L": XN_UNSIGNED, "Q": XN_UNSIGNED, "h": XN_SIGNED,
             "l": XN_SIGNED, "q": XN_SIGNED, "f": XN_FLOAT, "d": XN_FLOAT, "": 0}
    for code in range(XVR_N):
        kind, lead, trail, pad, vm1, size, num, prec, dcmtk, charset = _xp.VR_PROPS[code]
        _XVR[code].kind = kind
        _XVR[code].lead = lead
        _XVR[code].trail = trail
        _XVR[code].pad = pad
        _XVR[code].vm1 = vm1
        _XVR[code].size = size
        _XVR[code].num = _NUMS[num]
        _XVR[code].prec = prec
        _XVR[code].dcmtk = dcmtk
        _XVR[code].charset = charset
        text = _xp.vr_text(code)
        _XVR[code].text[0] = text[0]
        _XVR[code].text[1] = text[1]
    for c in range(256):
        _XM[c] = 2 if (c < 32 or c >= 127) else 0
    _XM[0] = 3
    for c in (0x3C, 0x3E, 0x26, 0x22, 0x27, 0x0A, 0x0D):
        _XM[c] = 1
    _xvr_ready = True
    return 0


# ---- output buffer -------------------------------------------------------------------------------
cdef inline int _x_reserve(ByteBuf* b, Py_ssize_t n) except -1:
    cdef Py_ssize_t new_cap
    cdef unsigned char* mem
    if n <= b.cap - b.used:
        return 0
    if n > PY_SSIZE_T_MAX // 2 - b.used:
        raise MemoryError()
    new_cap = b.cap * 2 if b.cap else 4096
    if new_cap < b.used + n:
        new_cap = b.used + n
    mem = <unsigned char*>PyMem_Realloc(b.data, <size_t>new_cap)
    if mem == NULL:
        raise MemoryError()
    b.data = mem
    b.cap = new_cap
    return 0


cdef inline int _x_put(ByteBuf* b, const char* s, Py_ssize_t n) except -1:
    if n > b.cap - b.used:
        _x_reserve(b, n)
    memcpy(b.data + b.used, s, <size_t>n)
    b.used += n
    return 0


cdef inline int _x_lit(ByteBuf* b, const char* s) except -1:
    return _x_put(b, s, <Py_ssize_t>strlen(s))


cdef inline int _x_putc(ByteBuf* b, char c) except -1:
    if b.used >= b.cap:
        _x_reserve(b, 1)
    b.data[b.used] = <unsigned char>c
    b.used += 1
    return 0


cdef int _x_dec(ByteBuf* b, unsigned long long v, bint negative) except -1:
    """``v`` in decimal, ``-`` first if ``negative``."""
    cdef char tmp[24]
    cdef int k = 24
    while True:
        k -= 1
        tmp[k] = <char>(48 + v % 10)
        v //= 10
        if v == 0:
            break
    if negative:
        k -= 1
        tmp[k] = b"-"[0]
    return _x_put(b, tmp + k, 24 - k)


cdef inline int _x_tag(ByteBuf* b, uint32_t tag) except -1:
    cdef char t[9]
    cdef int k
    for k in range(4):
        t[3 - k] = _HEX[(tag >> (16 + 4 * k)) & 15]
        t[8 - k] = _HEX[(tag >> (4 * k)) & 15]
    t[4] = b","[0]
    return _x_put(b, t, 9)


cdef int _x_markup(ByteBuf* b, const unsigned char* p, Py_ssize_t n, bint quote) except -1:
    """OFStandard::convertToMarkupStream in XML mode (see the twin's ``markup``)."""
    cdef Py_ssize_t j, start = 0
    cdef unsigned char c, cls
    cdef const char* ref
    _x_reserve(b, n)
    for j in range(n):
        c = p[j]
        cls = _XM[c]
        if cls == 0 or (cls == 2 and not quote):
            continue
        if j > start:
            _x_put(b, <const char*>p + start, j - start)
        start = j + 1
        if cls == 1:
            _x_lit(b, _x_entity(c))
        elif quote:  # cls 2 or NUL
            _x_lit(b, b"&#")
            _x_dec(b, c, False)
            _x_putc(b, b";"[0])
    if n > start:
        _x_put(b, <const char*>p + start, n - start)
    return 0


# ---- value arena: corrected and converted values, stable until the rendering ends ---------------
cdef struct XBlock:
    XBlock* next
    Py_ssize_t used
    Py_ssize_t cap


cdef unsigned char* _x_alloc(XBlock** head, Py_ssize_t n) except NULL:
    cdef XBlock* blk = head[0]
    cdef Py_ssize_t cap
    if blk == NULL or blk.cap - blk.used < n:
        cap = n if n > 8192 else 8192
        if cap > PY_SSIZE_T_MAX - <Py_ssize_t>sizeof(XBlock):
            raise MemoryError()
        blk = <XBlock*>PyMem_Malloc(sizeof(XBlock) + <size_t>cap)
        if blk == NULL:
            raise MemoryError()
        blk.next = head[0]
        blk.used = 0
        blk.cap = cap
        head[0] = blk
    blk.used += n
    return (<unsigned char*>(blk + 1)) + blk.used - n


cdef void _x_free_blocks(XBlock* blk) noexcept:
    cdef XBlock* nxt
    while blk != NULL:
        nxt = blk.next
        PyMem_Free(blk)
        blk = nxt


# ---- the dictionary: a C hash of public entries, filled through the twin at first use --------
cdef struct XDict:
    uint32_t tag
    int16_t vr
    unsigned char used
    const char* name
    Py_ssize_t nlen


cdef XDict* _xd = NULL
cdef Py_ssize_t _xd_cap = 0
cdef Py_ssize_t _xd_n = 0
cdef Py_ssize_t _xd_private = 0  # private lookups since the last reset (the twin caches them)
cdef list _xd_refs = []  # the name bytes the table points into; replaced, never emptied, by a
#                        reset, and held by each rendering, so a reset in another thread (a
#                        Python call can switch threads) never frees a name in use
cdef object _xd_owner = None


cdef int _x_dictionary_check() except -1:
    """Drop every cached entry when another dictionary is installed or the caches are full."""
    global _xd_n, _xd_private, _xd_refs, _xd_owner
    owner = _dictionary._current
    if owner is _xd_owner and _xd_n + _xd_private < _xp.MAX_CACHED:
        return 0
    _xp.reset_caches(owner)
    if _xd != NULL:
        memset(_xd, 0, <size_t>_xd_cap * sizeof(XDict))
    _xd_n = 0
    _xd_private = 0
    _xd_refs = []
    _xd_owner = owner
    return 0


cdef inline Py_ssize_t _x_slot(XDict* table, Py_ssize_t cap, uint32_t tag) noexcept:
    cdef Py_ssize_t h = <Py_ssize_t>((<uint32_t>(tag * 2654435761u)) >> 8) & (cap - 1)
    while table[h].used and table[h].tag != tag:
        h = (h + 1) & (cap - 1)
    return h


cdef int _x_grow() except -1:
    global _xd, _xd_cap
    cdef Py_ssize_t new_cap = _xd_cap * 2 if _xd_cap else 1024, i
    cdef XDict* table = <XDict*>PyMem_Malloc(<size_t>new_cap * sizeof(XDict))
    if table == NULL:
        raise MemoryError()
    memset(table, 0, <size_t>new_cap * sizeof(XDict))
    for i in range(_xd_cap):
        if _xd[i].used:
            table[_x_slot(table, new_cap, _xd[i].tag)] = _xd[i]
    PyMem_Free(_xd)
    _xd = table
    _xd_cap = new_cap
    return 0


cdef XDict* _x_public(uint32_t tag) except NULL:
    """The cached ``(dictionary VR code, escaped name)`` of a tag without a creator."""
    global _xd_n
    cdef Py_ssize_t h
    cdef XDict* e
    cdef bytes name
    if _xd_cap:
        h = _x_slot(_xd, _xd_cap, tag)
        if _xd[h].used:
            return &_xd[h]
    vr, name = _xp.lookup_public(tag)
    if (_xd_n + 1) * 2 > _xd_cap:
        _x_grow()
    _xd_refs.append(name)
    e = &_xd[_x_slot(_xd, _xd_cap, tag)]
    e.tag = tag
    e.vr = vr
    e.used = 1
    e.name = PyBytes_AS_STRING(name)
    e.nlen = PyBytes_GET_SIZE(name)
    _xd_n += 1
    return e


# ---- Specific Character Set: selections and byte tables, cached -----------------------------------
cdef struct XTable:
    unsigned char len[256]  # 0: the byte is illegal in this character set
    unsigned char utf8[256][4]


cdef XTable _XTABLES[16]
cdef dict _xtable_index = {}  # codec name -> index into _XTABLES
cdef dict _xselect_cache = {}  # charset -> (encodings | None, error text | None, log lines)


cdef XTable* _x_table(str codec) except? NULL:
    """The byte table of a byte-by-byte codec, NULL for the others."""
    cdef Py_ssize_t k
    cdef int b
    if codec not in _xp.BYTE_CODECS:
        return NULL
    k = _xtable_index.get(codec, -1)
    if k < 0:
        k = len(_xtable_index)
        if k >= 16:
            raise MemoryError("too many character set tables")
        for b, utf8 in enumerate(_xp.byte_table(codec)):
            if utf8 is not None and not 1 <= len(utf8) <= 4:
                raise ValueError(f"{codec}: byte {b} decodes to {len(utf8)} UTF-8 bytes")
            _XTABLES[k].len[b] = 0 if utf8 is None else len(utf8)
            if utf8 is not None:
                memcpy(_XTABLES[k].utf8[b], PyBytes_AS_STRING(utf8), len(utf8))
        _xtable_index[codec] = k
    return &_XTABLES[k]


cdef tuple _x_select(str charset):
    """``select`` of the twin, remembered: (encodings or None, error text or None, log lines)."""
    got = _xselect_cache.get(charset)
    if got is None:
        log = []
        try:
            got = (_xp.select(charset, log), None, tuple(log))
        except _xp.SelectError as exc:
            got = (None, str(exc).split("\0")[0], tuple(log))
        if len(_xselect_cache) >= 256:
            _xselect_cache.clear()
        _xselect_cache[charset] = got
    return got


# ---- one rendering -------------------------------------------------------------------------------
cdef struct XNode:
    const unsigned char* val
    Py_ssize_t vlen
    uint32_t length
    int16_t vr  # the VR written; -1 = not resolved yet
    const char* name
    Py_ssize_t nlen


cdef struct XKid:  # a container's child: sorted by (tag, token index)
    uint32_t tag
    int32_t idx


cdef struct XFrame:
    Py_ssize_t off  # container: its children in kids[off:off + nk]; -1 for a sequence
    Py_ssize_t nk
    Py_ssize_t pos  # container: next position in its children; sequence: next item token
    Py_ssize_t stop  # sequence: its end token
    Py_ssize_t mark  # kid_top to restore when the frame is done
    int close  # 0 nothing, 1 </item>, 2 </sequence>


cdef int _x_cmp(const void* a, const void* b) noexcept nogil:
    cdef const XKid* x = <const XKid*>a
    cdef const XKid* y = <const XKid*>b
    if x.tag != y.tag:
        return -1 if x.tag < y.tag else 1
    return -1 if x.idx < y.idx else (1 if x.idx > y.idx else 0)


@cython.final
cdef class _XRender:
    """The state of one rendering (the twin's ``_Render``)."""

    cdef const unsigned char* plain
    cdef Py_ssize_t size
    cdef Token* toks
    cdef Py_ssize_t n
    cdef XNode* nodes
    cdef XKid* kids
    cdef Py_ssize_t kid_top
    cdef XFrame* frames
    cdef Py_ssize_t frame_cap
    cdef bint correct
    cdef bint quote
    cdef ByteBuf out
    cdef XBlock* arena
    cdef list log
    cdef list refs  # Python objects the nodes point into
    cdef list names  # the dictionary names' owner when the rendering began
    # -Xs
    cdef bint converting
    cdef bint single
    cdef tuple encodings
    cdef XTable* table
    cdef Py_ssize_t charset_index
    cdef XNode charset_node

    def __dealloc__(self):
        PyMem_Free(self.nodes)
        PyMem_Free(self.kids)
        PyMem_Free(self.frames)
        PyMem_Free(self.out.data)
        _x_free_blocks(self.arena)


cdef _XRender _x_begin(const unsigned char* plain, Py_ssize_t size, Tokens toks, bint correct):
    cdef _XRender r = _XRender.__new__(_XRender)
    cdef Py_ssize_t i, n = toks.n
    cdef Token* t
    if not _xvr_ready:
        _x_init()
    _x_dictionary_check()
    r.names = _xd_refs
    r.plain = plain
    r.size = size
    r.toks = toks.toks
    r.n = n
    r.correct = correct
    r.log = []
    r.refs = []
    r.charset_index = -1
    for i in range(n):
        t = &toks.toks[i]
        if not t.start <= t.end or t.end > size:
            raise CodecError(f"token {i} spans {t.start}..{t.end} outside the {size} bytes")
    r.nodes = <XNode*>PyMem_Malloc(<size_t>(n + 1) * sizeof(XNode))
    r.kids = <XKid*>PyMem_Malloc(<size_t>(n + 1) * sizeof(XKid))
    if r.nodes == NULL or r.kids == NULL:
        raise MemoryError()
    for i in range(n):
        r.nodes[i].vr = -1
    return r


cdef inline int _x_inconsistent(Py_ssize_t i) except -1:
    raise CodecError(f"token {i}: links inconsistent with the walk")


cdef Py_ssize_t _x_kids(_XRender r, Py_ssize_t first, Py_ssize_t stop, Py_ssize_t* nk,
                        Py_ssize_t* uniq) except -1:
    """A container's children (tokens ``first`` to ``stop``) sorted by (tag, token index) at
    kids[off:off + nk]; ``uniq`` the number of distinct tags (the twin's ``_kids``)."""
    cdef Py_ssize_t off = r.kid_top, i = first, k
    cdef long long last = -1
    cdef bint ascending = True
    cdef Token* t
    if stop > r.n:
        _x_inconsistent(first)
    while i < stop:
        t = &r.toks[i]
        if r.kid_top >= r.n or t.kind > K_SEQUENCE:
            _x_inconsistent(i)
        r.kids[r.kid_top].tag = t.tag
        r.kids[r.kid_top].idx = <int32_t>i
        r.kid_top += 1
        if <long long>t.tag <= last:
            ascending = False
        last = t.tag
        if t.kind == K_SEQUENCE:
            if t.link <= i or t.link >= stop:
                _x_inconsistent(i)
            i = t.link + 1
        else:
            i += 1
    nk[0] = r.kid_top - off
    if ascending:
        uniq[0] = nk[0]
        return off
    qsort(r.kids + off, <size_t>nk[0], sizeof(XKid), _x_cmp)
    uniq[0] = 0
    for k in range(nk[0]):
        if k == 0 or r.kids[off + k].tag != r.kids[off + k - 1].tag:
            uniq[0] += 1
    return off


cdef Py_ssize_t _x_first(_XRender r, Py_ssize_t off, Py_ssize_t nk, uint32_t tag,
                         Py_ssize_t before) noexcept:
    """The first child with ``tag`` if it is an element read before token ``before``, else -1."""
    cdef Py_ssize_t lo = 0, hi = nk, mid, k
    while lo < hi:
        mid = (lo + hi) // 2
        if r.kids[off + mid].tag < tag:
            lo = mid + 1
        else:
            hi = mid
    if lo == nk or r.kids[off + lo].tag != tag:
        return -1
    k = r.kids[off + lo].idx
    return k if k < before and r.toks[k].kind == K_ELEMENT else -1


cdef int _x_u16(_XRender r, Py_ssize_t off, Py_ssize_t nk, uint32_t tag,
                Py_ssize_t before) except -2:
    """The US value of ``tag`` read before token ``before`` (``findAndGetUint16``), or -1."""
    cdef Py_ssize_t k = _x_first(r, off, nk, tag, before)
    cdef XNode* node
    if k < 0:
        return -1
    node = _x_resolve(r, off, nk, k)
    if node.vr != XVR_US or node.vlen < 2:
        return -1
    return rd_be16(node.val) if r.toks[k].flags & 2 else rd_le16(node.val)


cdef int _x_creator(_XRender r, Py_ssize_t off, Py_ssize_t nk, Py_ssize_t i, uint32_t tag,
                    const unsigned char** creator, Py_ssize_t* clen) except -1:
    """1 and the creator's bytes if ``tag`` has a private creator (PS3.5 §7.8.1), else 0."""
    cdef uint32_t group = tag >> 16, elem = tag & 0xFFFF
    cdef Py_ssize_t k
    cdef XNode* node
    cdef const void* nul
    if not group & 1 or elem < 0x1000:
        return 0
    k = _x_first(r, off, nk, (group << 16) | (elem >> 8), i)
    if k < 0:
        return 0
    node = _x_resolve(r, off, nk, k)
    if _XVR[node.vr].kind < XK_STRING or _XVR[node.vr].kind > XK_DS or node.vlen == 0:
        return 0
    nul = memchr(node.val, 0, <size_t>node.vlen)
    creator[0] = node.val
    clen[0] = node.vlen if nul == NULL else <const unsigned char*>nul - node.val
    return 1


cdef int _x_implicit_vr(_XRender r, Py_ssize_t off, Py_ssize_t nk, Py_ssize_t i, uint32_t tag,
                        int vr) except -1:
    """The VR DCMTK gives an implicit-VR element with dictionary VR ``vr`` (checkAndUpdateVR)."""
    cdef int rep, bits
    if vr == XVR_XS and tag in _xp.XS_BY_PIXEL_REP:
        rep = _x_u16(r, off, nk, 0x00280103, i)
        if rep >= 0:
            return XVR_SS if rep == 1 else XVR_US
    elif vr == XVR_OX:
        if tag == 0x54001010 or tag == 0x5400100A or tag == 0x54000110 or tag == 0x54000112:
            bits = _x_u16(r, off, nk, 0x54001004, i)
            return XVR_OB if bits < 0 or bits == 8 else XVR_OW
        if tag == 0x7FE00010 or (tag & 0xFF01FFFF) == 0x60003000:
            return XVR_OW
        if (tag & 0xFF01FFFF) == 0x50003000:
            return XVR_OB
    if vr == XVR_XS:
        return XVR_US
    if vr == XVR_OX:
        return XVR_OB
    if vr == XVR_LT or vr == XVR_PX:
        return XVR_OW
    if vr == XVR_UP:
        return XVR_UL
    if vr == XVR_PI or vr == XVR_NA:
        return XVR_UN
    return vr


cdef int _x_correct(_XRender r, XNode* node) except -1:
    """Input data correction of a string value (the twin's ``corrected``)."""
    cdef Py_ssize_t n = node.vlen, k = 0, j
    cdef unsigned char* buf = _x_alloc(&r.arena, n + 1)
    cdef unsigned char c, pad = 0x20
    memcpy(buf, node.val, <size_t>n)
    if node.length & 1:
        buf[n] = 0
        n += 1
        node.length += 1
    if node.vr == XVR_UI:
        for j in range(n):
            c = buf[j]
            if c != 32 and not 9 <= c <= 13:
                buf[k] = c
                k += 1
        n = k
        pad = 0
    while n and buf[n - 1] == pad:
        n -= 1
    node.val = buf
    node.vlen = n
    return 0


cdef XNode* _x_resolve(_XRender r, Py_ssize_t off, Py_ssize_t nk, Py_ssize_t i) except NULL:
    """Token ``i``'s node: written VR, escaped name, value and length (computed once)."""
    cdef XNode* node = &r.nodes[i]
    cdef Token* t
    cdef XDict* e
    cdef const unsigned char* creator = NULL
    cdef Py_ssize_t clen = 0
    cdef int dict_vr
    cdef bytes name
    if node.vr >= 0:
        return node
    t = &r.toks[i]
    if _x_creator(r, off, nk, i, t.tag, &creator, &clen):
        dict_vr = _x_private(r, node, t.tag, creator, clen)
    else:
        e = _x_public(t.tag)
        dict_vr = e.vr
        node.name = e.name
        node.nlen = e.nlen
    node.length = t.length
    if t.kind == K_SEQUENCE:
        node.vr = XVR_SQ  # a UN of undefined length too: DCMTK reads it as a sequence (CP-246)
        node.val = r.plain
        node.vlen = 0
        return node
    node.vr = t.vri if t.vri >= 0 else _x_implicit_vr(r, off, nk, i, t.tag, dict_vr)
    node.val = r.plain + t.start
    node.vlen = t.end - t.start
    if r.correct and XK_STRING <= _XVR[node.vr].kind <= XK_DS:
        _x_correct(r, node)
    return node


cdef int _x_private(_XRender r, XNode* node, uint32_t tag, const unsigned char* creator,
                    Py_ssize_t clen) except -1:
    """A private tag's dictionary VR code (returned) and name (into ``node``) through the twin's
    cache; ``r.refs`` keeps the name alive."""
    global _xd_private
    vr, name = _xp.lookup_private(tag, PyBytes_FromStringAndSize(<const char*>creator, clen))
    r.refs.append(name)
    _xd_private += 1
    node.name = PyBytes_AS_STRING(name)
    node.nlen = PyBytes_GET_SIZE(name)
    return vr


# ---- values: -Xs conversion and text --------------------------------------------------------------
cdef int _x_to_utf8(_XRender r, int vr, const unsigned char* v, Py_ssize_t n,
                    const unsigned char** out, Py_ssize_t* outn) except -1:
    """A character-set VR's value in UTF-8 (the twin's ``to_utf8``): 1 and the new bytes if it
    changed, 0 if not; raises the twin's ConversionFailed where iconv reports EILSEQ."""
    cdef Py_ssize_t j, k, first_group, escapes
    cdef bint high = False, esc = False
    cdef const void* eq
    cdef unsigned char* buf
    cdef XTable* table = r.table
    cdef unsigned char c
    if not r.single:
        esc = memchr(v, 0x1B, <size_t>n) != NULL
        if esc and vr == XVR_PN:
            eq = memchr(v, 0x3D, <size_t>n)
            first_group = n if eq == NULL else <const unsigned char*>eq - v
            escapes = 0
            for j in range(first_group):
                escapes += v[j] == 0x1B
            for j in range(escapes):
                r.log.append(_xp.PN_FIRST_GROUP_ESCAPE)
    for j in range(n):
        if v[j] & 0x80:
            high = True
            break
    if not esc and table != NULL:
        if not high:
            return 0
        buf = _x_alloc(&r.arena, 4 * n)
        k = 0
        for j in range(n):
            c = v[j]
            if table.len[c] == 0:
                raise _xp.ConversionFailed()
            memcpy(buf + k, table.utf8[c], table.len[c])
            k += table.len[c]
        out[0] = buf
        outn[0] = k
        return 1
    if not esc and not high:
        return 0  # every codec here is ASCII-compatible
    try:
        new = _xp.decode_value(PyBytes_FromStringAndSize(<const char*>v, n), r.encodings, vr)
    except (UnicodeError, ValueError, LookupError) as exc:
        raise _xp.ConversionFailed() from exc
    if not isinstance(new, bytes):
        raise TypeError("decode_value must return bytes")
    if PyBytes_GET_SIZE(new) == n and memcmp(PyBytes_AS_STRING(new), v, <size_t>n) == 0:
        return 0
    r.refs.append(new)
    out[0] = <const unsigned char*>PyBytes_AS_STRING(new)
    outn[0] = PyBytes_GET_SIZE(new)
    return 1


cdef inline void _x_normalize(const unsigned char* p, Py_ssize_t n, bint lead, bint trail,
                              unsigned char pad, Py_ssize_t* start, Py_ssize_t* length) noexcept:
    """DCMTK's ``normalizeString`` for one value component: p[start:start + length]."""
    cdef Py_ssize_t s = 0, off
    if lead:
        while s < n and p[s] == pad:
            s += 1
    n -= s
    if trail and n:
        off = n - 1
        while off > 0 and p[s + off] == pad:
            off -= 1
        if off != n - 1:
            n = off if p[s + off] == 0x20 else off + 1
    start[0] = s
    length[0] = n


cdef Py_ssize_t _x_count(const unsigned char* p, Py_ssize_t n, unsigned char c) noexcept:
    cdef Py_ssize_t j, k = 0
    for j in range(n):
        k += p[j] == c
    return k


cdef int _x_string(_XRender r, XVr* p, const unsigned char* v, Py_ssize_t n) except -1:
    """A string value's text, marked up (the twin's ``string_text`` then ``markup``)."""
    cdef Py_ssize_t a = 0, b, s, m
    cdef const void* bs
    if p.kind == XK_DS:
        return _x_markup(&r.out, v, n, r.quote)
    if p.kind == XK_TEXT:
        _x_normalize(v, n, False, True, 0x20, &s, &m)
        return _x_markup(&r.out, v + s, m, r.quote)
    while True:
        bs = memchr(v + a, 0x5C, <size_t>(n - a))
        b = n if bs == NULL else <const unsigned char*>bs - v
        _x_normalize(v + a, b - a, p.lead, p.trail, p.pad, &s, &m)
        _x_markup(&r.out, v + a + s, m, r.quote)
        if b == n:
            return 0
        _x_putc(&r.out, b"\\"[0])
        a = b + 1


cdef int _x_float(ByteBuf* b, double x, int prec, bint dcmtk) except -1:
    cdef char tmp[2048]
    cdef Py_ssize_t k
    if dcmtk:
        k = _x_dcmtk_g(x, prec, tmp, sizeof(tmp))
    elif ff_isnan(x):
        return _x_put(b, b"-nan", 4) if ff_signbit(x) else _x_put(b, b"nan", 3)
    else:
        k = ff_printf_g(tmp, sizeof(tmp), prec, x)
    if k < 0 or k >= <Py_ssize_t>sizeof(tmp):
        raise ValueError("float formatting overflow")
    return _x_put(b, tmp, k)


cdef int _x_numbers(_XRender r, XVr* p, const unsigned char* v, Py_ssize_t n, bint big) except -1:
    """A binary numeric value's text (the twin's ``number_text``)."""
    cdef Py_ssize_t count = n // p.size, j
    cdef const unsigned char* q
    cdef uint32_t u32
    cdef uint64_t u64
    cdef float f32
    cdef double f64
    for j in range(count):
        if j:
            _x_putc(&r.out, b"\\"[0])
        q = v + j * p.size
        if p.kind == XK_AT:
            _x_putc(&r.out, b"("[0])
            u32 = (<uint32_t>(rd_be16(q) if big else rd_le16(q)) << 16) | (
                rd_be16(q + 2) if big else rd_le16(q + 2))
            _x_tag(&r.out, u32)
            _x_putc(&r.out, b")"[0])
            continue
        if p.size == 2:
            u64 = rd_be16(q) if big else rd_le16(q)
            if p.num == XN_SIGNED and u64 & 0x8000:
                _x_dec(&r.out, 0x10000 - u64, True)
            else:
                _x_dec(&r.out, u64, False)
        elif p.size == 4:
            u32 = rd_be32(q) if big else rd_le32(q)
            if p.num == XN_FLOAT:
                memcpy(&f32, &u32, 4)
                _x_float(&r.out, f32, p.prec, p.dcmtk)
            elif p.num == XN_SIGNED and u32 & 0x80000000u:
                _x_dec(&r.out, (<uint64_t>1 << 32) - u32, True)
            else:
                _x_dec(&r.out, u32, False)
        else:
            u64 = (((<uint64_t>rd_be32(q)) << 32) | rd_be32(q + 4)) if big else (
                ((<uint64_t>rd_le32(q + 4)) << 32) | rd_le32(q))
            if p.num == XN_FLOAT:
                memcpy(&f64, &u64, 8)
                _x_float(&r.out, f64, p.prec, p.dcmtk)
            elif p.num == XN_SIGNED and u64 & 0x8000000000000000u:
                _x_dec(&r.out, (~u64) + 1, True)
            else:
                _x_dec(&r.out, u64, False)
    return 0


cdef int _x_element(_XRender r, Py_ssize_t i, XNode* node) except -1:
    """One ``<element>`` line; -Xs converts a character-set VR's value first."""
    cdef Token* t = &r.toks[i]
    cdef XVr* p = &_XVR[node.vr]
    cdef const unsigned char* v = node.val
    cdef Py_ssize_t n = node.vlen, vm, nn = 0
    cdef unsigned long long length = node.length
    cdef const unsigned char* nv = NULL
    if r.converting and p.charset and n:
        if _x_to_utf8(r, node.vr, v, n, &nv, &nn):
            v, n = nv, nn
            length = nn + (nn & 1)  # re-padded to even length
    if p.kind == XK_HIDDEN:
        vm = 1
    elif p.kind <= XK_DS:
        vm = 0 if n == 0 else (1 if p.kind == XK_TEXT else _x_count(v, n, 0x5C) + 1)
    else:
        vm = n // p.size
    if p.vm1:
        vm = 1
    _x_lit(&r.out, b'<element tag="')
    _x_tag(&r.out, t.tag)
    _x_lit(&r.out, b'" vr="')
    _x_put(&r.out, p.text, 2)
    _x_lit(&r.out, b'" vm="')
    _x_dec(&r.out, vm, False)
    _x_lit(&r.out, b'" len="')
    _x_dec(&r.out, length, False)
    _x_lit(&r.out, b'" name="')
    _x_put(&r.out, node.name, node.nlen)
    if p.kind == XK_HIDDEN:
        _x_lit(&r.out, b'" binary="hidden"></element>\n')
        return 0
    _x_lit(&r.out, b'">')
    if p.kind <= XK_DS:
        if n:
            _x_string(r, p, v, n)
    else:
        _x_numbers(r, p, v, n, t.flags & 2)
    _x_lit(&r.out, b"</element>\n")
    return 0


# ---- the walk over containers and sequences ---------------------------------------------------------
cdef XFrame* _x_push(_XRender r, Py_ssize_t sp) except NULL:
    cdef Py_ssize_t new_cap
    cdef XFrame* mem
    if sp >= r.frame_cap:
        new_cap = r.frame_cap * 2 if r.frame_cap else 32
        if new_cap > PY_SSIZE_T_MAX // <Py_ssize_t>sizeof(XFrame):
            raise MemoryError()
        mem = <XFrame*>PyMem_Realloc(r.frames, <size_t>new_cap * sizeof(XFrame))
        if mem == NULL:
            raise MemoryError()
        r.frames = mem
        r.frame_cap = new_cap
    return &r.frames[sp]


cdef int _x_walk(_XRender r, Py_ssize_t top_nk, bint scan) except -1:
    """Write the data set's content with an explicit stack of containers and sequences; with
    ``scan``, write nothing and return 1 if a character-set VR value has a byte >= 128."""
    cdef Py_ssize_t sp = 1, i, k, nk, uniq, off, items, j, mark
    cdef XFrame* f = _x_push(r, 0)
    cdef Token* t
    cdef XNode* node
    cdef XVr* p
    f.off = 0
    f.nk = top_nk
    f.pos = 0
    f.mark = r.kid_top
    f.close = 0
    while sp:
        f = &r.frames[sp - 1]
        if f.off < 0:  # a sequence: its next item
            if f.pos >= f.stop:
                if not scan:
                    _x_lit(&r.out, b"</sequence>\n")
                sp -= 1
                continue
            i = f.pos
            t = &r.toks[i]
            if t.kind != K_ITEM or t.link <= i or t.link >= f.stop:
                _x_inconsistent(i)
            f.pos = t.link + 1
            mark = r.kid_top
            off = _x_kids(r, i + 1, t.link, &nk, &uniq)
            if not scan:
                _x_lit(&r.out, b'<item card="')
                _x_dec(&r.out, uniq, False)
                if t.length != C_UNDEFINED:
                    _x_lit(&r.out, b'" len="')
                    _x_dec(&r.out, t.length, False)
                _x_lit(&r.out, b'">\n')
            f = _x_push(r, sp)
            sp += 1
            f.off = off
            f.nk = nk
            f.pos = 0
            f.mark = mark
            f.close = 1
            continue
        if f.pos >= f.nk:  # a container is done
            if not scan and f.close:
                _x_lit(&r.out, b"</item>\n")
            r.kid_top = f.mark
            sp -= 1
            continue
        k = f.pos
        f.pos += 1
        while f.pos < f.nk and r.kids[f.off + f.pos].tag == r.kids[f.off + k].tag:
            f.pos += 1  # a repeated tag: the first one is kept
        i = r.kids[f.off + k].idx
        node = _x_resolve(r, f.off, f.nk, i)
        t = &r.toks[i]
        if t.kind == K_ELEMENT:
            if scan:
                p = &_XVR[node.vr]
                if p.charset:
                    for j in range(node.vlen):
                        if node.val[j] & 0x80:
                            r.kid_top = r.frames[0].mark
                            return 1
            elif i == r.charset_index:
                _x_element(r, i, &r.charset_node)
            else:
                _x_element(r, i, node)
            continue
        items = 0  # a sequence: count its items, then write them
        j = i + 1
        while j < t.link:
            if r.toks[j].kind != K_ITEM or r.toks[j].link <= j or r.toks[j].link >= t.link:
                _x_inconsistent(j)
            items += 1
            j = r.toks[j].link + 1
        if not scan:
            _x_lit(&r.out, b'<sequence tag="')
            _x_tag(&r.out, t.tag)
            _x_lit(&r.out, b'" vr="SQ" card="')
            _x_dec(&r.out, items, False)
            if t.length != C_UNDEFINED:
                _x_lit(&r.out, b'" len="')
                _x_dec(&r.out, t.length, False)
            _x_lit(&r.out, b'" name="')
            _x_put(&r.out, node.name, node.nlen)
            _x_lit(&r.out, b'">\n')
        f = _x_push(r, sp)
        sp += 1
        f.off = -1
        f.pos = i + 1
        f.stop = t.link
        f.mark = r.kid_top
        f.close = 2
    return 0


cdef object _x_charset(_XRender r, Py_ssize_t top_nk, Py_ssize_t* index):
    """(0008,0005) as ``findAndGetOFStringArray`` returns it (str), or None (the twin's
    ``_charset``); ``index`` its token."""
    cdef Py_ssize_t k, a = 0, b, s, m
    cdef XNode* node
    cdef const void* bs
    cdef ByteBuf text
    index[0] = -1
    k = _x_first(r, 0, top_nk, 0x00080005, r.n)
    if k < 0:  # absent, or the first one is a sequence
        return None
    index[0] = k
    node = _x_resolve(r, 0, top_nk, k)
    text.data = NULL
    text.used = 0
    text.cap = 0
    try:
        while node.vlen:
            bs = memchr(node.val + a, 0x5C, <size_t>(node.vlen - a))
            b = node.vlen if bs == NULL else <const unsigned char*>bs - node.val
            _x_normalize(node.val + a, b - a, True, True, 0x20, &s, &m)
            _x_put(&text, <const char*>node.val + a + s, m)
            if b == node.vlen:
                break
            _x_putc(&text, b"\\"[0])
            a = b + 1
        if text.used == 0:
            return ""
        return PyUnicode_DecodeLatin1(<const char*>text.data, text.used, NULL)
    finally:
        PyMem_Free(text.data)


cdef dict _xheads = {}  # transfer syntax UID -> its <data-set ...> line (the name follows the UID)


cdef int _x_data_set(_XRender r, Py_ssize_t top_nk, ts) except -1:
    cdef bytes head = _xheads.get(ts.uid)
    if head is None:
        head = b'<data-set xfer="%s" name="%s">\n' % (ts.uid.encode("latin-1"),
                                                       ts.name.encode("latin-1"))
        if len(_xheads) >= 64:
            _xheads.clear()
        _xheads[ts.uid] = head
    _x_put(&r.out, head, len(head))
    _x_walk(r, top_nk, False)
    _x_lit(&r.out, b"</data-set>\n")
    return 0


cdef inline bytes _x_result(_XRender r):
    return PyBytes_FromStringAndSize(<const char*>r.out.data, r.out.used)


def xml_document(plain, Tokens tokens not None, ts, correct=False):
    """The ``rspNNNN.xml`` document findscu ``-Xx`` writes (see the Python twin)."""
    cdef Py_buffer view
    cdef _XRender r
    cdef Py_ssize_t nk, uniq, index
    PyObject_GetBuffer(plain, &view, PyBUF_SIMPLE)
    try:
        r = _x_begin(<const unsigned char*>view.buf, view.len, tokens, correct)
        _x_kids(r, 0, r.n, &nk, &uniq)
        charset = _x_charset(r, nk, &index)
        encoding = None
        if charset is not None:
            encoding = XML_ENCODINGS.get(charset)
            if encoding is None:
                if charset:
                    suffix = " ... quoting non-ASCII characters" if _x_walk(r, nk, True) else ""
                    r.log.append(
                        f"W: SpecificCharacterSet (0008,0005) value '{charset}' not supported{suffix}"
                    )
                r.quote = True
        if encoding:
            _x_lit(&r.out, b'<?xml version="1.0" encoding="')
            enc = encoding.encode()
            _x_put(&r.out, enc, len(enc))
            _x_lit(&r.out, b'"?>\n')
        else:
            _x_lit(&r.out, b'<?xml version="1.0"?>\n')
        _x_data_set(r, nk, ts)
        return _x_result(r), r.log
    finally:
        PyBuffer_Release(&view)


def xml_dataset_utf8(plain, Tokens tokens not None, ts, correct=False):
    """One ``<data-set>`` of the findscu ``-Xs`` file, in UTF-8 (see the Python twin)."""
    cdef Py_buffer view
    cdef _XRender r
    cdef Py_ssize_t nk, uniq, index
    cdef XDict* e
    PyObject_GetBuffer(plain, &view, PyBUF_SIMPLE)
    try:
        r = _x_begin(<const unsigned char*>view.buf, view.len, tokens, correct)
        _x_kids(r, 0, r.n, &nk, &uniq)
        charset = _x_charset(r, nk, &index)
        if charset and charset != "ISO_IR 192":
            encodings, error, lines = _x_select(charset)
            r.log.extend(lines)
            if error is not None:
                r.log.append(f"E: Writing XML file: {error}")
                return b"", r.log
            r.converting = True
            r.encodings = encodings
            r.single = len(encodings) == 1
            first = encodings[0] if r.single else (_xp.EXTENSION_TERMS[encodings[0]] or "ascii")
            r.table = _x_table(first)
            r.charset_index = index
            e = _x_public(0x00080005)
            r.charset_node.name = e.name
            r.charset_node.nlen = e.nlen
            r.charset_node.vr = XVR_CS
            r.charset_node.val = <const unsigned char*>b"ISO_IR 192"
            r.charset_node.vlen = 10
            r.charset_node.length = 10
        try:
            _x_data_set(r, nk, ts)
        except _xp.ConversionFailed:
            r.log.append(
                "W: DcmItem: An error occurred during the conversion to UTF-8 encoding, "
                "the value of SpecificCharacterSet (0008,0005) is not updated"
            )
            r.log.append(f"E: Writing XML file: Cannot convert character encoding: {_xp.EILSEQ}")
            return b"", r.log
        return _x_result(r), r.log
    finally:
        PyBuffer_Release(&view)


# ---- DCMTK's own %g (OFStandard::ftoa, 4.3BSD digit generation) ----------------------------------
cdef Py_ssize_t _x_round_up(char* d, Py_ssize_t n, int* exp, bint with_exp) noexcept:
    """Add one unit in the last place of d[:n] (may contain '.'); returns the new length."""
    cdef Py_ssize_t i = n - 1
    while True:
        if d[i] == 46:  # '.'
            i -= 1
        if d[i] != 57:  # '9'
            d[i] += 1
            return n
        d[i] = 48
        if i == 0:
            if with_exp:
                d[0] = 49
                exp[0] += 1
                return n
            memmove(d + 1, d, <size_t>n)
            d[0] = 49
            return n + 1
        i -= 1


cdef inline bint _x_needs_round(double fract, char next_digit) noexcept:
    cdef double tmp
    if fract:
        modf(fract * 10, &tmp)
    else:
        tmp = next_digit - 48
    return tmp > 4


cdef Py_ssize_t _x_dcmtk_g(double value, int prec, char* buf, Py_ssize_t size) noexcept:
    """The twin's ``dcmtk_float`` (fastfind.output.dump) into ``buf``; the length, or -1 if
    ``size`` is too small (never for the precisions DCMTK uses)."""
    cdef char digits[400]  # the integer part's digits: at most 309
    cdef char* out = buf + 1  # buf[0]: the sign
    cdef Py_ssize_t nd = 0, n = 0, pos, j, k
    cdef double fract, integer, tmp
    cdef int expcnt, e, ex = 0
    cdef bint negative = False, dotrim, has_dot
    if size < 1200 or prec > 64:
        return -1
    if ff_isnan(value):
        memcpy(buf, b"nan", 3)
        return 3
    if ff_isinf(value):
        if value < 0:
            memcpy(buf, b"-inf", 4)
            return 4
        memcpy(buf, b"inf", 3)
        return 3
    if value < 0:
        negative = True
        value = -value
    fract = modf(value, &integer)
    while integer:
        tmp = modf(integer / 10, &integer)
        digits[nd] = <char>(48 + <int>((tmp + 0.01) * 10))
        nd += 1
    for j in range(nd // 2):
        digits[j], digits[nd - 1 - j] = digits[nd - 1 - j], digits[j]
    expcnt = <int>nd
    if prec == 0:
        prec = 1
    if expcnt > prec or (not expcnt and fract and fract < 0.0001):
        prec -= 1  # e style: the digit before the point is not counted
        ex = 0
        if expcnt:
            out[0] = digits[0]
            n = 1
            if prec:
                out[n] = 46
                n += 1
            pos = 1
            while prec and pos < expcnt:
                out[n] = digits[pos]
                n += 1
                pos += 1
                prec -= 1
            if not prec and pos < expcnt:
                fract = 0.0
                ex = expcnt
                if _x_needs_round(0.0, digits[pos]):
                    n = _x_round_up(out, n, &ex, True)
                expcnt = ex
            expcnt -= 1
        elif fract:
            expcnt = -1
            while True:
                fract = modf(fract * 10, &tmp)
                if tmp:
                    break
                expcnt -= 1
            out[0] = <char>(48 + <int>tmp)
            n = 1
            if prec:
                out[n] = 46
                n += 1
        else:
            out[0] = 48
            n = 1
            if prec:
                out[n] = 46
                n += 1
        if fract:
            if prec:
                while True:
                    fract = modf(fract * 10, &tmp)
                    out[n] = <char>(48 + <int>tmp)
                    n += 1
                    prec -= 1
                    if not (prec and fract):
                        break
            if fract:
                ex = expcnt
                if _x_needs_round(fract, 48):
                    n = _x_round_up(out, n, &ex, True)
                expcnt = ex
        has_dot = memchr(out, 46, <size_t>n) != NULL
        if has_dot:
            while n and out[n - 1] == 48:
                n -= 1
            while n and out[n - 1] == 46:
                n -= 1
        out[n] = 101  # 'e'
        out[n + 1] = 45 if expcnt < 0 else 43
        n += 2
        e = -expcnt if expcnt < 0 else expcnt
        if e >= 100:
            out[n] = <char>(48 + e // 100)
            n += 1
        out[n] = <char>(48 + e // 10 % 10)
        out[n + 1] = <char>(48 + e % 10)
        n += 2
    else:
        if expcnt:
            memcpy(out, digits, <size_t>nd)
            n = nd
            prec -= expcnt
        else:
            out[0] = 48
            n = 1
        dotrim = prec != 0
        if prec:
            out[n] = 46
            n += 1
        if fract:
            if prec:
                while True:
                    fract = modf(fract * 10, &tmp)
                    out[n] = <char>(48 + <int>tmp)
                    n += 1
                    if tmp:
                        break
                while True:
                    prec -= 1
                    if not (prec and fract):
                        break
                    fract = modf(fract * 10, &tmp)
                    out[n] = <char>(48 + <int>tmp)
                    n += 1
            if fract and _x_needs_round(fract, 48):
                n = _x_round_up(out, n, &ex, False)
        if dotrim:
            while n and out[n - 1] == 48:
                n -= 1
            if n and out[n - 1] == 46:
                n -= 1
    if negative:
        buf[0] = 45
        return n + 1
    memmove(buf, buf + 1, <size_t>n)
    return n


def dcmtk_float(value, prec):
    """DCMTK's own ``%g`` digits (OFStandard::ftoa) for FL (``prec`` 9) and FD (17) values."""
    cdef char buf[2048]
    cdef Py_ssize_t n
    cdef double x = value
    cdef int p
    if not isinstance(prec, int) or not 0 <= prec <= 64:
        return _xp.dcmtk_float(value, prec)  # odd arguments: the Python function itself
    p = prec
    n = _x_dcmtk_g(x, p, buf, sizeof(buf))
    if n < 0:
        return _xp.dcmtk_float(value, prec)
    return PyUnicode_DecodeLatin1(buf, n, NULL)
