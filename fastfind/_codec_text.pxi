# Included by _codec.pyx. Twin: _codec_text_py.py (same names, same results; its docstring
# describes the rules). The tables come from the twin, so there is one source for them.
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport strlen

from ._codec_text_py import (
    C_AE, C_AT, C_BIN, C_DS, C_FD, C_FL, C_IS, C_MTEXT, C_PN, C_SL, C_SLOW, C_SS, C_STEXT,
    C_STR, C_SV, C_UI, C_UL, C_UR, C_US, C_UV, K_ASCII, K_LATIN1, K_OTHER, K_UTF8,
    charset_kind,
)
from ._codec_text_py import DICT_VRI as _PY_DICT_VRI
from ._codec_text_py import LUT_DESCRIPTORS as _PY_LUT
from ._codec_text_py import REPEATERS as _PY_REPEATERS
from ._codec_text_py import VR_CLASS as _PY_VR_CLASS
from ._codec_text_py import VRI_LO as _PY_VRI_LO
from ._codec_text_py import VRI_UL as _PY_VRI_UL
from ._codec_text_py import VRI_UN as _PY_VRI_UN
from ._codec_text_py import WS as _PY_WS

cdef extern from "Python.h":
    char* PyOS_double_to_string(double val, char format_code, int precision, int flags,
                                int* ptype) except NULL
    double PyOS_string_to_double(const char* s, char** endptr, void* overflow) except? -1.0
    int Py_DTSF_ADD_DOT_0

cdef extern from "math.h":
    bint isfinite(double x) nogil

cdef enum:  # the twin's classes (checked below)
    CL_SLOW = 0
    CL_AE = 1
    CL_STR = 2
    CL_UI = 3
    CL_UR = 4
    CL_IS = 5
    CL_DS = 6
    CL_AT = 7
    CL_US = 8
    CL_SS = 9
    CL_UL = 10
    CL_SL = 11
    CL_UV = 12
    CL_SV = 13
    CL_FL = 14
    CL_FD = 15
    CL_BIN = 16
    CL_MTEXT = 17
    CL_STEXT = 18
    CL_PN = 19

cdef enum:
    KD_OTHER = 0
    KD_ASCII = 1
    KD_LATIN1 = 2
    KD_UTF8 = 3

cdef enum:  # how a text value gets to UTF-8
    TF_SLOW = 0     # pydicom decodes it
    TF_ASIS = 1     # its bytes are UTF-8 already
    TF_LATIN1 = 2   # one character per byte

if (C_SLOW, C_AE, C_STR, C_UI, C_UR, C_IS, C_DS, C_AT, C_US, C_SS, C_UL, C_SL, C_UV, C_SV, C_FL,
        C_FD, C_BIN, C_MTEXT, C_STEXT, C_PN) != tuple(range(20)) or (
        K_OTHER, K_ASCII, K_LATIN1, K_UTF8) != (0, 1, 2, 3):
    raise ImportError("fastfind._codec: value classes differ from _codec_text_py")

cdef unsigned char _VR_CLASS[676]
for _i in range(676):
    _VR_CLASS[_i] = _PY_VR_CLASS[_i]
cdef int VRI_UN_C = _PY_VRI_UN
cdef int VRI_LO_C = _PY_VRI_LO
cdef int VRI_UL_C = _PY_VRI_UL
cdef unsigned char _WS[256]
memset(_WS, 0, sizeof(_WS))
for _i in _PY_WS:
    _WS[_i] = 1

# the public dictionary as a sorted array (binary search), repeater masks as a list
cdef Py_ssize_t _DICT_N = len(_PY_DICT_VRI)
cdef uint32_t* _DICT_TAGS = <uint32_t*>PyMem_Malloc(<size_t>(_DICT_N + 1) * sizeof(uint32_t))
cdef int16_t* _DICT_VRIS = <int16_t*>PyMem_Malloc(<size_t>(_DICT_N + 1) * sizeof(int16_t))
if _DICT_TAGS == NULL or _DICT_VRIS == NULL:
    raise MemoryError()
for _i, _tag in enumerate(sorted(_PY_DICT_VRI)):
    _DICT_TAGS[_i] = _tag
    _DICT_VRIS[_i] = _PY_DICT_VRI[_tag]
cdef int _REP_N = len(_PY_REPEATERS)
cdef uint32_t _REP_VAL[256]
cdef uint32_t _REP_MASK[256]
if _REP_N > 256:
    raise ImportError("fastfind._codec: too many dictionary repeaters")
for _i, (_v, _m) in enumerate(_PY_REPEATERS):
    _REP_VAL[_i] = _v
    _REP_MASK[_i] = _m

cdef const char* _HEX = b"0123456789abcdef"
cdef const char* _B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


# ---- VR resolution -------------------------------------------------------------------------------
cdef inline bint _is_lut(uint32_t tag) noexcept:
    return tag == 0x00281101 or tag == 0x00281102 or tag == 0x00281103 or tag == 0x00283002


cdef int value_class(uint32_t tag, int vri, int* vri_out) noexcept:
    """The class of an element (and its VR index in ``vri_out``); see the twin's dictionary_vr."""
    cdef Py_ssize_t lo = 0, hi = _DICT_N, mid
    cdef uint32_t elem
    cdef int k
    vri_out[0] = -1
    if vri >= 0:
        vri_out[0] = vri
        if vri == VRI_UN_C or _is_lut(tag):
            return CL_SLOW
        return _VR_CLASS[vri]
    while lo < hi:
        mid = (lo + hi) >> 1
        if _DICT_TAGS[mid] < tag:
            lo = mid + 1
        else:
            hi = mid
    if lo < _DICT_N and _DICT_TAGS[lo] == tag:
        if _DICT_VRIS[lo] < 0 or _is_lut(tag):
            return CL_SLOW
        vri_out[0] = _DICT_VRIS[lo]
        return _VR_CLASS[vri_out[0]]
    for k in range(_REP_N):
        if (tag & _REP_MASK[k]) == _REP_VAL[k]:
            return CL_SLOW
    elem = tag & 0xFFFF
    if tag & 0x10000:
        if 0x10 <= elem <= 0xFF:
            vri_out[0] = VRI_LO_C
            return CL_MTEXT
        return CL_SLOW
    if elem == 0:
        vri_out[0] = VRI_UL_C
        return CL_UL
    vri_out[0] = VRI_UN_C
    return CL_BIN


def dictionary_vr(tag, explicit_vri):
    """``(VR index, class)`` of an element (see :func:`fastfind._codec_text_py.dictionary_vr`)."""
    cdef int vri = -1
    cdef int cls = value_class(<uint32_t>tag, explicit_vri, &vri)
    return vri, cls


# ---- text fast paths -----------------------------------------------------------------------------
cdef bint utf8_valid(const unsigned char* p, Py_ssize_t n) noexcept:
    """True if ``p[:n]`` is UTF-8 that Python's strict decoder accepts (no overlong forms,
    surrogates or code points above U+10FFFF)."""
    cdef Py_ssize_t i = 0
    cdef unsigned char c, c1
    while i < n:
        c = p[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            if n - i < 2 or (p[i + 1] & 0xC0) != 0x80:
                return False
            i += 2
        elif 0xE0 <= c <= 0xEF:
            if n - i < 3:
                return False
            c1 = p[i + 1]
            if (c == 0xE0 and not 0xA0 <= c1 <= 0xBF) or (c == 0xED and not 0x80 <= c1 <= 0x9F) \
                    or (c1 & 0xC0) != 0x80 or (p[i + 2] & 0xC0) != 0x80:
                return False
            i += 3
        elif 0xF0 <= c <= 0xF4:
            if n - i < 4:
                return False
            c1 = p[i + 1]
            if (c == 0xF0 and not 0x90 <= c1 <= 0xBF) or (c == 0xF4 and not 0x80 <= c1 <= 0x8F) \
                    or (c1 & 0xC0) != 0x80 or (p[i + 2] & 0xC0) != 0x80 or (p[i + 3] & 0xC0) != 0x80:
                return False
            i += 4
        else:
            return False
    return True


cdef int text_fast(const unsigned char* p, Py_ssize_t n, int kind) noexcept:
    """How text ``p[:n]`` of a data set of charset ``kind`` gets to UTF-8 (TF_*)."""
    cdef Py_ssize_t i
    cdef bint high = False
    for i in range(n):
        if p[i] == 0x1B:
            return TF_SLOW
        if p[i] >= 0x80:
            high = True
    if not high:
        return TF_ASIS if kind != KD_OTHER else TF_SLOW
    if kind == KD_LATIN1:
        return TF_LATIN1
    if kind == KD_UTF8 and utf8_valid(p, n):
        return TF_ASIS
    return TF_SLOW


cdef object _decode_slow = None


cdef bytes slow_text(const unsigned char* p, Py_ssize_t n, object encodings):
    """pydicom's decoding of a text value, as UTF-8 (one Python call)."""
    global _decode_slow
    if _decode_slow is None:
        from ._pydicom_values import decode
        _decode_slow = decode
    text = _decode_slow(PyBytes_FromStringAndSize(<const char*>p, n), encodings)
    return text.encode("utf-8", "replace")


def decode_text(raw, encodings):
    """``raw`` decoded as ``pydicom.charset.decode_bytes(raw, encodings, TEXT_VR_DELIMS)``."""
    cdef bytes data = bytes(raw)
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = len(data)
    cdef int how = text_fast(p, n, charset_kind(encodings))
    if how == TF_ASIS:
        return data.decode("utf-8")
    if how == TF_LATIN1:
        return PyUnicode_DecodeLatin1(<const char*>p, n, NULL)
    return slow_text(p, n, encodings).decode("utf-8")


# ---- output primitives ---------------------------------------------------------------------------
cdef inline int buf_reserve(ByteBuf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t need, new_cap
    cdef unsigned char* mem
    if extra > PY_SSIZE_T_MAX - b.used:
        raise MemoryError()
    need = b.used + extra
    if need > b.cap:
        new_cap = b.cap * 2 if b.cap else 4096
        if new_cap < need:
            new_cap = need
        mem = <unsigned char*>PyMem_Realloc(b.data, <size_t>new_cap)
        if mem == NULL:
            raise MemoryError()
        b.data = mem
        b.cap = new_cap
    return 0


cdef inline int buf_put(ByteBuf* b, const char* s) except -1:
    return buf_append(b, <const unsigned char*>s, <Py_ssize_t>strlen(s))


cdef int put_text(ByteBuf* b, const unsigned char* p, Py_ssize_t n, bint latin1) except -1:
    """Append text as UTF-8 (transcoding Latin-1 bytes when ``latin1``)."""
    cdef Py_ssize_t i
    cdef unsigned char c
    cdef unsigned char* o
    if not latin1:
        return buf_append(b, p, n)
    buf_reserve(b, 2 * n)
    o = b.data + b.used
    for i in range(n):
        c = p[i]
        if c < 0x80:
            o[0] = c
            o += 1
        else:
            o[0] = 0xC0 | (c >> 6)
            o[1] = 0x80 | (c & 0x3F)
            o += 2
    b.used = o - b.data
    return 0


cdef int json_str(ByteBuf* b, const unsigned char* p, Py_ssize_t n, bint latin1) except -1:
    """Append ``"text"`` escaped as json.dumps(ensure_ascii=False) does (RFC 8259 §7)."""
    cdef Py_ssize_t i
    cdef unsigned char c
    cdef unsigned char* o
    buf_reserve(b, 6 * n + 2)
    o = b.data + b.used
    o[0] = 34
    o += 1
    for i in range(n):
        c = p[i]
        if c >= 0x80:
            if latin1:
                o[0] = 0xC0 | (c >> 6)
                o[1] = 0x80 | (c & 0x3F)
                o += 2
            else:
                o[0] = c
                o += 1
        elif c == 34 or c == 92:
            o[0] = 92
            o[1] = c
            o += 2
        elif c >= 0x20:
            o[0] = c
            o += 1
        elif c == 10 or c == 13 or c == 9 or c == 8 or c == 12:
            o[0] = 92
            o[1] = 110 if c == 10 else 114 if c == 13 else 116 if c == 9 else 98 if c == 8 else 102
            o += 2
        else:
            o[0] = 92
            o[1] = 117
            o[2] = 48
            o[3] = 48
            o[4] = _HEX[c >> 4]
            o[5] = _HEX[c & 15]
            o += 6
    o[0] = 34
    b.used = o + 1 - b.data
    return 0


def json_quote(text):
    """UTF-8 ``text`` as a JSON string literal, quotes included (json.dumps(ensure_ascii=False))."""
    cdef bytes data = bytes(text)
    cdef ByteBuf b
    b.data = NULL
    b.used = b.cap = 0
    if not utf8_valid(<const unsigned char*>PyBytes_AS_STRING(data), len(data)):
        data = data.decode("utf-8", "replace").encode("utf-8")
    try:
        json_str(&b, <const unsigned char*>PyBytes_AS_STRING(data), len(data), False)
        return PyBytes_FromStringAndSize(<const char*>b.data, b.used)
    finally:
        PyMem_Free(b.data)


cdef int put_base64(ByteBuf* b, const unsigned char* p, Py_ssize_t n) except -1:
    cdef Py_ssize_t i = 0
    cdef unsigned char* o
    cdef uint32_t v
    buf_reserve(b, (n + 2) // 3 * 4)
    o = b.data + b.used
    while n - i >= 3:
        v = (<uint32_t>p[i] << 16) | (<uint32_t>p[i + 1] << 8) | p[i + 2]
        o[0] = _B64[v >> 18]
        o[1] = _B64[(v >> 12) & 63]
        o[2] = _B64[(v >> 6) & 63]
        o[3] = _B64[v & 63]
        o += 4
        i += 3
    if n - i == 1:
        v = <uint32_t>p[i] << 16
        o[0] = _B64[v >> 18]
        o[1] = _B64[(v >> 12) & 63]
        o[2] = 61
        o[3] = 61
        o += 4
    elif n - i == 2:
        v = (<uint32_t>p[i] << 16) | (<uint32_t>p[i + 1] << 8)
        o[0] = _B64[v >> 18]
        o[1] = _B64[(v >> 12) & 63]
        o[2] = _B64[(v >> 6) & 63]
        o[3] = 61
        o += 4
    b.used = o - b.data
    return 0


cdef int put_hex(ByteBuf* b, const unsigned char* p, Py_ssize_t n) except -1:
    cdef Py_ssize_t i
    cdef unsigned char* o
    buf_reserve(b, 2 * n)
    o = b.data + b.used
    for i in range(n):
        o[2 * i] = _HEX[p[i] >> 4]
        o[2 * i + 1] = _HEX[p[i] & 15]
    b.used += 2 * n
    return 0


cdef int put_u64(ByteBuf* b, unsigned long long v, bint negative) except -1:
    cdef char tmp[24]
    cdef int k = 24
    while True:
        k -= 1
        tmp[k] = 48 + <char>(v % 10)
        v //= 10
        if v == 0:
            break
    if negative:
        k -= 1
        tmp[k] = 45
    return buf_append(b, <const unsigned char*>tmp + k, 24 - k)


cdef inline int put_i64(ByteBuf* b, long long v) except -1:
    if v < 0:
        return put_u64(b, <unsigned long long>(-(v + 1)) + 1, True)
    return put_u64(b, <unsigned long long>v, False)


cdef int put_float(ByteBuf* b, double v, bint json) except -1:
    """repr(v); in JSON a non-finite value is the string "NaN"/"Infinity"/"-Infinity"."""
    cdef char* s
    if json and not isfinite(v):
        if v != v:
            return buf_put(b, b'"NaN"')
        return buf_put(b, b'"Infinity"' if v > 0 else b'"-Infinity"')
    s = PyOS_double_to_string(v, 114, 0, Py_DTSF_ADD_DOT_0, NULL)
    try:
        buf_put(b, s)
    finally:
        PyMem_Free(s)
    return 0


# ---- binary numbers --------------------------------------------------------------------------------
cdef int num_size(int cls) noexcept:
    if cls == CL_US or cls == CL_SS:
        return 2
    if cls == CL_UL or cls == CL_SL or cls == CL_FL:
        return 4
    return 8


cdef int put_number(ByteBuf* b, int cls, const unsigned char* v, bint little, bint json) except -1:
    """Append the one number at ``v`` (class ``cls``) as Python's str() writes it."""
    cdef uint64_t u
    cdef uint32_t u32
    cdef float f32
    cdef double f64
    if cls == CL_US or cls == CL_SS:
        u = rd_le16(v) if little else rd_be16(v)
        if cls == CL_SS:
            return put_i64(b, <int16_t>u)
        return put_u64(b, u, False)
    if cls == CL_UL or cls == CL_SL or cls == CL_FL:
        u32 = rd_le32(v) if little else rd_be32(v)
        if cls == CL_UL:
            return put_u64(b, u32, False)
        if cls == CL_SL:
            return put_i64(b, <int32_t>u32)
        memcpy(&f32, &u32, 4)
        return put_float(b, <double>f32, json)
    if little:
        u = (<uint64_t>rd_le32(v + 4) << 32) | rd_le32(v)
    else:
        u = (<uint64_t>rd_be32(v) << 32) | rd_be32(v + 4)
    if cls == CL_UV:
        return put_u64(b, u, False)
    if cls == CL_SV:
        return put_i64(b, <int64_t>u)
    memcpy(&f64, &u, 8)
    return put_float(b, f64, json)


cdef int put_tag(ByteBuf* b, const unsigned char* v, bint little, bint json) except -1:
    """An AT value: ``"GGGGEEEE"`` in JSON, ``(GGGG,EEEE)`` as str(BaseTag)."""
    cdef uint32_t g = rd_le16(v) if little else rd_be16(v)
    cdef uint32_t e = rd_le16(v + 2) if little else rd_be16(v + 2)
    cdef char tmp[12]
    cdef const char* H = b"0123456789ABCDEF"
    cdef int k
    if json:
        tmp[0] = 34
        for k in range(4):
            tmp[1 + k] = H[(g >> (12 - 4 * k)) & 15]
            tmp[5 + k] = H[(e >> (12 - 4 * k)) & 15]
        tmp[9] = 34
        return buf_append(b, <const unsigned char*>tmp, 10)
    tmp[0] = 40
    tmp[5] = 44
    tmp[10] = 41
    for k in range(4):
        tmp[1 + k] = H[(g >> (12 - 4 * k)) & 15]
        tmp[6 + k] = H[(e >> (12 - 4 * k)) & 15]
    return buf_append(b, <const unsigned char*>tmp, 11)


# ---- values of a string element ----------------------------------------------------------------------
cdef inline bint _int_item(const unsigned char* p, Py_ssize_t s, Py_ssize_t e) noexcept:
    """`` *[+-]?[0-9]{1,15} *`` (IS values that pydicom keeps exact)."""
    cdef Py_ssize_t d
    while s < e and p[s] == 32:
        s += 1
    while e > s and p[e - 1] == 32:
        e -= 1
    if s < e and (p[s] == 43 or p[s] == 45):
        s += 1
    d = e - s
    if d < 1 or d > 15:
        return False
    while s < e:
        if not 48 <= p[s] <= 57:
            return False
        s += 1
    return True


cdef inline bint _ds_item(const unsigned char* p, Py_ssize_t s, Py_ssize_t e) noexcept:
    """`` *[+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? *`` (PS3.5 Table 6.2-1 DS)."""
    cdef Py_ssize_t digits = 0
    while s < e and p[s] == 32:
        s += 1
    while e > s and p[e - 1] == 32:
        e -= 1
    if s < e and (p[s] == 43 or p[s] == 45):
        s += 1
    while s < e and 48 <= p[s] <= 57:
        s += 1
        digits += 1
    if s < e and p[s] == 46:
        s += 1
        while s < e and 48 <= p[s] <= 57:
            s += 1
            digits += 1
    if digits == 0:
        return False
    if s < e and (p[s] == 69 or p[s] == 101):
        s += 1
        if s < e and (p[s] == 43 or p[s] == 45):
            s += 1
        if s >= e or not 48 <= p[s] <= 57:
            return False
        while s < e and 48 <= p[s] <= 57:
            s += 1
    return s == e


cdef int split_values(ValueCtx ctx, int cls, const unsigned char* p, Py_ssize_t n, int kind,
                      object encodings) except -1:
    """The values of a string element (see the twin's split_values) as spans over
    ``ctx.vbase`` (Latin-1 when ``ctx.vlatin1``); 0 when pydicom must convert it."""
    cdef Py_ssize_t s, e, k, first
    cdef int how
    cdef bytes decoded
    ctx.nspans = 0
    ctx.vlatin1 = True
    ctx.vbase = p
    if cls == CL_MTEXT or cls == CL_STEXT or cls == CL_PN:
        if cls == CL_PN:
            while n > 0 and (p[n - 1] == 0 or p[n - 1] == 32):
                n -= 1
        how = text_fast(p, n, kind)
        ctx.vlatin1 = how == TF_LATIN1
        if how == TF_SLOW:
            decoded = slow_text(p, n, encodings)
            ctx.work.used = 0
            buf_append(&ctx.work, <const unsigned char*>PyBytes_AS_STRING(decoded), len(decoded))
            p = ctx.work.data
            n = ctx.work.used
            ctx.vbase = p
    elif cls == CL_STR or cls == CL_UI or cls == CL_IS:
        while n > 0 and (p[n - 1] == 0 or p[n - 1] == 32):
            n -= 1
    elif cls == CL_DS:
        s = 0
        while s < n and _WS[p[s]]:
            s += 1
        while n > s and _WS[p[n - 1]]:
            n -= 1
        while n > s and (p[n - 1] == 0 or p[n - 1] == 32):
            n -= 1
        p += s
        n -= s
        ctx.vbase = p
    elif cls == CL_UR:
        while n > 0 and _WS[p[n - 1]]:
            n -= 1
        ctx.add_span(0, n)
        return 1
    if cls == CL_STEXT:
        while n > 0 and (p[n - 1] == 0 or p[n - 1] == 32):
            n -= 1
        ctx.add_span(0, n)
        return 1
    first = 0
    for k in range(n + 1):
        if k < n and p[k] != 92:
            continue
        s, e = first, k
        first = k + 1
        if cls == CL_AE or cls == CL_UI:
            while s < e and _WS[p[s]]:
                s += 1
            while e > s and _WS[p[e - 1]]:
                e -= 1
        elif cls == CL_MTEXT:
            while e > s and (p[e - 1] == 0 or p[e - 1] == 32):
                e -= 1
        ctx.add_span(s, e)
    if cls == CL_IS or cls == CL_DS:
        if ctx.nspans == 1 and ctx.spans[0].end == ctx.spans[0].start:
            return 1
        for k in range(ctx.nspans):
            if cls == CL_IS and not _int_item(p, ctx.spans[k].start, ctx.spans[k].end):
                return 0
            if cls == CL_DS and not _ds_item(p, ctx.spans[k].start, ctx.spans[k].end):
                return 0
    return 1


cdef int put_is_json(ByteBuf* b, const unsigned char* p, Py_ssize_t s, Py_ssize_t e) except -1:
    """An IS value (grammar checked) as a JSON integer."""
    cdef unsigned long long v = 0
    cdef bint negative = False
    while p[s] == 32:
        s += 1
    if p[s] == 43 or p[s] == 45:
        negative = p[s] == 45
        s += 1
    while s < e and 48 <= p[s] <= 57:
        v = v * 10 + (p[s] - 48)
        s += 1
    return put_u64(b, v, negative and v != 0)


cdef int put_ds_json(ByteBuf* b, const unsigned char* p, Py_ssize_t s, Py_ssize_t e) except -1:
    """A DS value (grammar checked) as repr(float(value)) (non-finite: a string)."""
    cdef char tmp[72]
    cdef char* heap = NULL
    cdef char* dst = tmp
    cdef double v
    while p[s] == 32:
        s += 1
    while p[e - 1] == 32:
        e -= 1
    if e - s >= 71:
        heap = <char*>PyMem_Malloc(<size_t>(e - s + 1))
        if heap == NULL:
            raise MemoryError()
        dst = heap
    try:
        memcpy(dst, p + s, <size_t>(e - s))
        dst[e - s] = 0
        v = PyOS_string_to_double(dst, NULL, NULL)
    finally:
        PyMem_Free(heap)
    return put_float(b, v, True)


# ---- what one encoder call shares -----------------------------------------------------------------
cdef class ValueCtx:
    """The identifier an encoder call works on, its scratch buffers and (lazily) pydicom's view
    of it (:class:`fastfind._pydicom_values.Fallback`)."""

    def __dealloc__(self):
        PyMem_Free(self.work.data)
        PyMem_Free(self.spans)

    cdef object slow(self):
        if self.fallback is None:
            from ._pydicom_values import Fallback
            self.fallback = Fallback(self.plain, self.tokens, self.ts)
        return self.fallback

    cdef int add_span(self, Py_ssize_t s, Py_ssize_t e) except -1:
        cdef Py_ssize_t new_cap
        cdef Span* mem
        if self.nspans >= self.span_cap:
            new_cap = self.span_cap * 2 if self.span_cap else 16
            if new_cap > PY_SSIZE_T_MAX // <Py_ssize_t>sizeof(Span):
                raise MemoryError()
            mem = <Span*>PyMem_Realloc(self.spans, <size_t>new_cap * sizeof(Span))
            if mem == NULL:
                raise MemoryError()
            self.spans = mem
            self.span_cap = new_cap
        self.spans[self.nspans].start = s
        self.spans[self.nspans].end = e
        self.nspans += 1
        return 0


cdef ValueCtx new_ctx(object plain, object tokens, object ts):
    cdef ValueCtx ctx = ValueCtx.__new__(ValueCtx)
    if not isinstance(plain, bytes):
        plain = bytes(plain)
    if not isinstance(tokens, Tokens):
        raise TypeError("tokens must be fastfind._codec.Tokens")
    ctx.plain = plain
    ctx.tokens = tokens
    ctx.toks = <Tokens>tokens
    ctx.ts = ts
    ctx.p = <const unsigned char*>PyBytes_AS_STRING(plain)
    ctx.plen = len(plain)
    ctx.keep = []
    return ctx
