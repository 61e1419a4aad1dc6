# cython: language_level=3
"""Cython data-phase codec: the fast twin of :mod:`fastfind._codec_py`.

Same names, same results, same exception classes and messages as the pure-Python module;
:mod:`fastfind.codec` picks one. Python crosses into C once per ``feed()``, command set,
identifier or deflated stream, never per element. Every peer-supplied length is checked against
the bytes really present before it is used (the directives turn Cython's own bounds checks off,
so all checks here are explicit), lengths are compared as unsigned sizes so nothing wraps, and
nothing recurses.

* :class:`Receiver` -- PDU framing (PS3.8 §9.3) and P-DATA-TF/PDV reassembly (PS3.8 §9.3.5,
  Annex E); a PDU that arrives whole in one ``feed()`` is parsed in place, only the unfinished
  tail of a read is copied, and a single-fragment data set becomes one ``bytes`` object.
* :func:`decode_command` / :func:`encode_command` -- DIMSE command sets (PS3.7 §6.3, §9.3.2).
* :func:`encode_pdata` -- P-DATA-TF PDUs for one message part.
* :func:`walk_dataset` -- flat token walk over an encoded data set (PS3.5 §7) with an explicit,
  heap-allocated stack bounded by ``max_depth``.
* :func:`inflate` / :func:`deflate` -- raw deflate (PS3.5 A.5); inflate uses zlib's C API with a
  hard output cap.
"""

import zlib
from struct import Struct

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.unicode cimport PyUnicode_DecodeLatin1
from libc.limits cimport UINT_MAX
from libc.stdint cimport int16_t, int32_t, uint16_t, uint32_t
from libc.string cimport memcpy, memmove, memset

from .dicom.vr import LONG_VRS, STANDARD_VRS
from .errors import CodecError, ProtocolError

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef extern from "zlib.h":
    ctypedef struct z_stream:
        unsigned char* next_in
        unsigned int avail_in
        unsigned char* next_out
        unsigned int avail_out
        const char* msg
    int inflateInit2(z_stream* strm, int window_bits)
    int inflateReset(z_stream* strm)
    int z_inflate "inflate"(z_stream* strm, int flush)
    int Z_OK
    int Z_STREAM_END
    int Z_BUF_ERROR
    int Z_DATA_ERROR
    int Z_STREAM_ERROR
    int Z_SYNC_FLUSH

# ---- token kinds yielded by walk_dataset ------------------------------------------------------
ELEMENT = 0
SEQUENCE = 1
ITEM = 2
ITEM_END = 3
ITEM_DELIM = 4
SEQUENCE_END = 5
SEQUENCE_DELIM = 6

# ---- receiver events -------------------------------------------------------------------------
EV_MESSAGE = 0
EV_PDU = 1

UNDEFINED = 0xFFFFFFFF
ASSOCIATE_PDU_LIMIT = 1 << 20
ITEM_TAG = 0xFFFEE000
ITEM_DELIM_TAG = 0xFFFEE00D
SEQ_DELIM_TAG = 0xFFFEE0DD

cdef enum:
    K_ELEMENT = 0
    K_SEQUENCE = 1
    K_ITEM = 2
    K_ITEM_END = 3
    K_ITEM_DELIM = 4
    K_SEQUENCE_END = 5
    K_SEQUENCE_DELIM = 6

cdef enum:
    C_ITEM_TAG = 0xFFFEE000
    C_ITEM_DELIM_TAG = 0xFFFEE00D
    C_SEQ_DELIM_TAG = 0xFFFEE0DD

cdef uint32_t C_UNDEFINED = 0xFFFFFFFF
cdef long long C_ASSOCIATE_PDU_LIMIT = 1 << 20
cdef Py_ssize_t BUF_KEEP = 1 << 20  # reassembly buffers above this are freed after a message

COMMAND_VRS = {
    0x00000000: "UL",  # CommandGroupLength
    0x00000002: "UI",  # AffectedSOPClassUID
    0x00000003: "UI",  # RequestedSOPClassUID
    0x00000100: "US",  # CommandField
    0x00000110: "US",  # MessageID
    0x00000120: "US",  # MessageIDBeingRespondedTo
    0x00000600: "AE",  # MoveDestination
    0x00000700: "US",  # Priority
    0x00000800: "US",  # CommandDataSetType
    0x00000900: "US",  # Status
    0x00000901: "AT",  # OffendingElement
    0x00000902: "LO",  # ErrorComment
    0x00000903: "US",  # ErrorID
    0x00001000: "UI",  # AffectedSOPInstanceUID
    0x00001001: "UI",  # RequestedSOPInstanceUID
    0x00001020: "US",  # NumberOfRemainingSuboperations
    0x00001021: "US",  # NumberOfCompletedSuboperations
    0x00001022: "US",  # NumberOfFailedSuboperations
    0x00001023: "US",  # NumberOfWarningSuboperations
}
NO_DATASET = 0x0101

# command element -> how decode_command converts it (0 = raw bytes)
cdef enum:
    CK_RAW = 0
    CK_US = 1
    CK_UL = 2
    CK_AT = 3
    CK_STR = 4

cdef unsigned char _CMD_KIND[65536]
memset(_CMD_KIND, CK_RAW, sizeof(_CMD_KIND))
for _tag, _vr in COMMAND_VRS.items():
    _CMD_KIND[_tag & 0xFFFF] = (
        CK_US if _vr == "US" else CK_UL if _vr == "UL" else CK_AT if _vr == "AT" else CK_STR
    )

# explicit VRs: index (b0 - 'A') * 26 + (b1 - 'A') -> str, and which have a 4-byte length
cdef list _VR_STRS = [chr(65 + i // 26) + chr(65 + i % 26) for i in range(676)]
cdef unsigned char _VR_LONG[676]
memset(_VR_LONG, 0, sizeof(_VR_LONG))
for _vr in LONG_VRS:  # fastfind.dicom.vr: the one table of them
    _VR_LONG[(ord(_vr[0]) - 65) * 26 + ord(_vr[1]) - 65] = 1
# the VRs of PS3.5 Table 6.2-1; any other two letters are refused (their length field size is
# unknown, so guessing would misframe everything after them)
cdef unsigned char _VR_STD[676]
memset(_VR_STD, 0, sizeof(_VR_STD))
for _vr in STANDARD_VRS:
    _VR_STD[(ord(_vr[0]) - 65) * 26 + ord(_vr[1]) - 65] = 1
cdef int VRI_SQ = (ord("S") - 65) * 26 + ord("Q") - 65
cdef int VRI_UN = (ord("U") - 65) * 26 + ord("N") - 65

_HDR = Struct(">BBL")
_U16LE = Struct("<H")
_U32LE = Struct("<L")
_TAG_LEN_LE = Struct("<HHL")


# ---- buffers -------------------------------------------------------------------------------------
cdef int buf_append(ByteBuf* b, const unsigned char* src, Py_ssize_t n) except -1:
    cdef Py_ssize_t need, new_cap
    cdef unsigned char* mem
    if n <= 0:
        return 0
    if n > PY_SSIZE_T_MAX - b.used:
        raise MemoryError()
    need = b.used + n
    if need > b.cap:
        new_cap = b.cap * 2 if b.cap else 4096
        if new_cap < need:
            new_cap = need
        mem = <unsigned char*>PyMem_Realloc(b.data, <size_t>new_cap)
        if mem == NULL:
            raise MemoryError()
        b.data = mem
        b.cap = new_cap
    memcpy(b.data + b.used, src, <size_t>n)
    b.used = need
    return 0


cdef void buf_release(ByteBuf* b, Py_ssize_t keep_cap) noexcept:
    b.used = 0
    if b.cap > keep_cap:
        PyMem_Free(b.data)
        b.data = NULL
        b.cap = 0


# ---- DIMSE command sets (PS3.7 §6.3.1, E.1) ---------------------------------------------------
cdef dict decode_command_c(const unsigned char* p, Py_ssize_t n):
    cdef dict out = {}
    cdef Py_ssize_t pos = 0, m, i
    cdef long last = -1
    cdef uint16_t group, elem
    cdef uint32_t length
    cdef const unsigned char* v
    cdef unsigned char kind
    cdef tuple at
    while pos < n:
        if n - pos < 8:
            raise CodecError("command set: truncated element header")
        group = rd_le16(p + pos)
        elem = rd_le16(p + pos + 2)
        length = rd_le32(p + pos + 4)
        pos += 8
        if group != 0:
            raise CodecError(f"command set: element ({group:04x},{elem:04x}) outside group 0000")
        if <size_t>length > <size_t>(n - pos):
            raise CodecError(f"command set: element (0000,{elem:04x}) length {length} exceeds data")
        if elem <= last:
            raise CodecError(f"command set: element (0000,{elem:04x}) duplicate or out of order")
        last = elem
        v = p + pos
        pos += length
        kind = _CMD_KIND[elem]
        if kind == CK_US:
            if length != 2:
                raise CodecError(f"command set: (0000,{elem:04x}) US has length {length}")
            out[elem] = rd_le16(v)
        elif kind == CK_UL:
            if length != 4:
                raise CodecError(f"command set: (0000,{elem:04x}) UL has length {length}")
            out[elem] = rd_le32(v)
        elif kind == CK_AT:
            if length % 4:
                raise CodecError(f"command set: (0000,{elem:04x}) AT has length {length}")
            at = tuple([(<uint32_t>rd_le16(v + i) << 16) | rd_le16(v + i + 2)
                        for i in range(0, <Py_ssize_t>length, 4)])
            out[elem] = at
        elif kind == CK_STR:
            m = length
            while m > 0 and (v[m - 1] == 0 or v[m - 1] == 32):
                m -= 1
            out[elem] = PyUnicode_DecodeLatin1(<const char*>v, m, NULL)
        else:
            out[elem] = PyBytes_FromStringAndSize(<const char*>v, length)
    if 0 in out and out[0] != n - 12:
        raise CodecError(f"command set: CommandGroupLength {out[0]} but {n - 12} bytes follow")
    return out


def decode_command(data):
    """Decode a command set (implicit VR LE, group 0000 only; PS3.7 §6.3.1).

    Returns ``{element: value}``: US/UL as ``int``, UI/AE/LO as ``str`` (trailing NUL and spaces
    removed), AT as a ``tuple`` of ``int`` tags, anything unknown as ``bytes``. Raises
    :class:`CodecError` on a truncated element, a length beyond the data, a tag outside group
    0000, a duplicate or descending tag, or a US/UL/AT of the wrong length.
    """
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return decode_command_c(<const unsigned char*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def encode_command(elements):
    """Encode ``[(element, value), ...]`` of group 0000 into a command set.

    Elements must be known to :data:`COMMAND_VRS`; they are sorted, and (0000,0000)
    CommandGroupLength is computed and prepended (PS3.7 §6.3.1).
    """
    body = bytearray()
    for elem, value in sorted(elements, key=lambda e: e[0]):
        vr = COMMAND_VRS[elem]
        if vr == "US":
            raw = _U16LE.pack(int(value))
        elif vr == "UL":
            raw = _U32LE.pack(int(value))
        elif vr == "AT":
            raw = b"".join([_U16LE.pack(t >> 16) + _U16LE.pack(t & 0xFFFF) for t in value])
        else:
            raw = str(value).encode("ascii")
            if len(raw) % 2:
                raw += b"\x00" if vr == "UI" else b" "
        body += _TAG_LEN_LE.pack(0, elem, len(raw)) + raw
    return _TAG_LEN_LE.pack(0, 0, 4) + _U32LE.pack(len(body)) + bytes(body)


# ---- P-DATA-TF (PS3.8 §9.3.5) -----------------------------------------------------------------
def encode_pdata(context_id, is_command, payload, max_pdu):
    """Return the P-DATA-TF PDUs that carry ``payload`` as one command or data-set part.

    ``max_pdu`` is the peer's maximum PDU length (PS3.8 D.1); 0 means unlimited. Each PDU carries
    one PDV whose fragment length is even (Annex E) and at most ``max_pdu - 6``.
    """
    cdef Py_buffer view
    cdef Py_ssize_t frag, n, pos, count, total, chunk
    cdef unsigned char ctx, control, flag
    cdef unsigned char* out
    if max_pdu == 0 or max_pdu > (1 << 20):
        max_pdu = 1 << 20
    if max_pdu < 14:
        raise ProtocolError(f"peer max PDU size of {max_pdu} is illegal (must be > 12)", 0, 0)
    frag = (max_pdu - 6) & ~1
    flag = 1 if is_command else 0
    probe = bytearray()
    probe.append(context_id)  # the same TypeError/ValueError as the Python twin
    ctx = probe[0]
    PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
    try:
        n = view.len
        count = (n + frag - 1) // frag if n else 1
        total = n + 12 * count
        result = PyBytes_FromStringAndSize(NULL, total)
        out = <unsigned char*>PyBytes_AS_STRING(result)
        pos = 0
        while True:
            chunk = n - pos if n - pos < frag else frag
            control = flag | (2 if pos + chunk >= n else 0)
            out[0] = 4
            out[1] = 0
            _put_be32(out + 2, <uint32_t>(chunk + 6))
            _put_be32(out + 6, <uint32_t>(chunk + 2))
            out[10] = ctx
            out[11] = control
            memcpy(out + 12, <const unsigned char*>view.buf + pos, <size_t>chunk)
            out += 12 + chunk
            pos += chunk
            if pos >= n:
                return result
    finally:
        PyBuffer_Release(&view)


cdef inline void _put_be32(unsigned char* p, uint32_t v) noexcept:
    p[0] = (v >> 24) & 0xFF
    p[1] = (v >> 16) & 0xFF
    p[2] = (v >> 8) & 0xFF
    p[3] = v & 0xFF


# ---- PDU stream and PDV reassembly (PS3.8 §9.3, Annex E) -------------------------------------
cdef class Receiver:
    """Split a received byte stream into PDUs and reassemble DIMSE messages (PS3.8 §9.3, Annex E).

    :param max_pdu: the maximum P-DATA-TF length we announced (0 = unlimited); a longer P-DATA
        PDU is refused from its header alone (PS3.8 D.1).
    :param max_command: cap on a reassembled command set.
    :param max_dataset: cap on a reassembled data set (before inflation).
    """

    def __cinit__(self):
        self._ctx = -1
        self._command = None
        self._contexts = frozenset()
        memset(self._accepted, 0, sizeof(self._accepted))

    def __init__(self, max_pdu, max_command=65536, max_dataset=64 << 20):
        self.max_pdu = max_pdu
        self.max_command = max_command
        self.max_dataset = max_dataset

    def __dealloc__(self):
        buf_release(&self._pend, -1)
        buf_release(&self._cmd, -1)
        buf_release(&self._ds, -1)

    cdef int _reset_message(self) except -1:
        self._ctx = -1
        self._cmd_len = 0
        self._command = None
        self._ds_len = 0
        buf_release(&self._cmd, BUF_KEEP)
        buf_release(&self._ds, BUF_KEEP)
        return 0

    def set_contexts(self, context_ids):
        """Accept P-DATA-TF on these presentation context IDs from now on."""
        cdef int i
        contexts = frozenset(context_ids)
        for i in range(256):
            self._accepted[i] = i in contexts
        self._contexts = contexts
        self._have_contexts = len(contexts) > 0

    @property
    def buffered(self):
        """Bytes received but not yet part of a complete PDU."""
        return self._pend.used

    @property
    def in_message(self):
        """True while a DIMSE message is partly received."""
        return self._ctx >= 0

    def feed(self, data):
        """Append received bytes; return the events they complete, in order.

        If a later PDU in ``data`` is refused, the exception carries the events completed
        before it as ``completed_events`` (nothing received intact is lost).
        """
        cdef Py_buffer view
        cdef list events = []
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            return self._feed(<const unsigned char*>view.buf, view.len, events)
        except ProtocolError as exc:
            exc.completed_events = events
            raise
        finally:
            PyBuffer_Release(&view)

    cdef list _feed(self, const unsigned char* p, Py_ssize_t n, list events):
        # On an error the unconsumed bytes stay buffered exactly as in the Python twin: a PDU
        # whose header is refused stays, a PDU whose body is refused is dropped.
        cdef ByteBuf* pend = &self._pend
        cdef Py_ssize_t off = 0, take, need, consumed = 0
        cdef unsigned int ptype
        cdef uint32_t length
        if pend.used:
            if pend.used < 6:
                take = 6 - pend.used
                if take > n:
                    take = n
                buf_append(pend, p, take)
                off = take
                if pend.used < 6:
                    return events
            ptype = pend.data[0]
            length = rd_be32(pend.data + 2)
            if 6 + <Py_ssize_t>length <= pend.used:
                # whole PDUs already buffered (left behind by an earlier error): copy and parse
                return self._feed_slow(p + off, n - off, events)
            try:
                self._check_header(ptype, length)
            except BaseException:
                buf_append(pend, p + off, n - off)
                raise
            need = 6 + <Py_ssize_t>length - pend.used
            take = need if need < n - off else n - off
            buf_append(pend, p + off, take)
            off += take
            if take < need:
                return events
            try:
                self._pdu(ptype, pend.data + 6, length, events)
            except BaseException:
                buf_release(pend, BUF_KEEP)
                buf_append(pend, p + off, n - off)
                raise
            buf_release(pend, BUF_KEEP)
        try:
            self._parse(p + off, n - off, &consumed, events)
        finally:
            buf_append(pend, p + off + consumed, n - off - consumed)
        return events

    cdef list _feed_slow(self, const unsigned char* p, Py_ssize_t n, list events):
        cdef ByteBuf* pend = &self._pend
        cdef Py_ssize_t consumed = 0
        buf_append(pend, p, n)
        try:
            self._parse(pend.data, pend.used, &consumed, events)
        finally:
            if consumed:
                memmove(pend.data, pend.data + consumed, <size_t>(pend.used - consumed))
                pend.used -= consumed
        return events

    cdef int _check_header(self, unsigned int ptype, uint32_t length) except -1:
        if ptype == 4:
            if self.max_pdu != 0 and <long long>length > self.max_pdu:
                raise ProtocolError(
                    f"DUL Illegal PDU Length {length}. Max expected {self.max_pdu}", 2, 6
                )
        elif 1 <= ptype <= 3:
            if <long long>length > C_ASSOCIATE_PDU_LIMIT:
                raise ProtocolError(f"A-ASSOCIATE PDU too large ({length} bytes)", 2, 6)
        elif 5 <= ptype <= 7:
            if length != 4:
                raise ProtocolError(f"PDU type 0x{ptype:02x} has length {length}, not 4", 2, 6)
        else:
            raise ProtocolError(f"Unrecognized PDU type: 0x{ptype:02x}", 2, 1)
        return 0

    cdef int _parse(self, const unsigned char* p, Py_ssize_t n, Py_ssize_t* consumed,
                    list events) except -1:
        cdef Py_ssize_t pos = 0, start
        cdef unsigned int ptype
        cdef uint32_t length
        while n - pos >= 6:
            ptype = p[pos]
            length = rd_be32(p + pos + 2)
            self._check_header(ptype, length)
            if <size_t>(n - pos - 6) < <size_t>length:
                break
            start = pos + 6
            pos = start + <Py_ssize_t>length
            consumed[0] = pos
            self._pdu(ptype, p + start, length, events)
        consumed[0] = pos
        return 0

    cdef int _pdu(self, unsigned int ptype, const unsigned char* body, uint32_t length,
                  list events) except -1:
        if ptype == 4:
            return self._pdata(body, <Py_ssize_t>length, events)
        events.append((EV_PDU, ptype, PyBytes_FromStringAndSize(<const char*>body, length)))
        return 0

    cdef int _pdata(self, const unsigned char* body, Py_ssize_t n, list events) except -1:
        cdef Py_ssize_t pos = 0, flen
        cdef uint32_t plen
        cdef int ctx
        cdef unsigned int control
        cdef const unsigned char* frag
        if not self._have_contexts:
            raise ProtocolError("P-DATA-TF PDU received before the association was accepted", 2, 2)
        if n == 0:
            raise ProtocolError("P-DATA-TF PDU without any PDV item", 2, 6)
        while pos < n:
            if n - pos < 6:
                raise ProtocolError("PDV item header truncated (PDV lengths don't add up)", 2, 6)
            plen = rd_be32(body + pos)
            # n - pos >= 6 here, so n - pos - 4 cannot wrap; compare unsigned (DCMTK 1549d8c)
            if plen < 2 or <size_t>plen > <size_t>(n - pos - 4):
                raise ProtocolError(f"PDV item length {plen} invalid for the PDU", 2, 6)
            ctx = body[pos + 4]
            control = body[pos + 5]
            frag = body + pos + 6
            flen = <Py_ssize_t>plen - 2
            pos += 4 + <Py_ssize_t>plen
            if flen & 1:
                raise ProtocolError(f"odd PDV fragment length {flen}", 2, 6)
            if not self._accepted[ctx]:
                raise ProtocolError(f"PDV on presentation context {ctx}, which is not accepted", 2, 6)
            if self._ctx < 0:
                self._ctx = ctx
            elif ctx != self._ctx:
                raise CodecError(
                    f"presentation context changed from {self._ctx} to {ctx} inside a message"
                )
            if control & 1:
                self._command_part(ctx, control, frag, flen, events)
            else:
                self._data_part(ctx, control, frag, flen, events)
        return 0

    cdef int _command_part(self, int ctx, unsigned int control, const unsigned char* frag,
                           Py_ssize_t flen, list events) except -1:
        cdef dict cmd
        if self._command is not None:
            raise CodecError("command PDV received while the data set was expected")
        self._cmd_len += flen
        if self._cmd_len > self.max_command:
            raise CodecError(f"command set longer than {self.max_command} bytes")
        if not (control & 2):
            buf_append(&self._cmd, frag, flen)
            return 0
        if self._cmd.used == 0:  # the whole command in one fragment: decode in place
            try:
                cmd = decode_command_c(frag, flen)
            except BaseException:
                buf_append(&self._cmd, frag, flen)
                raise
        else:
            buf_append(&self._cmd, frag, flen)
            cmd = decode_command_c(self._cmd.data, self._cmd.used)
        self._cmd.used = 0
        if cmd.get(0x0800, NO_DATASET) == NO_DATASET:
            events.append((EV_MESSAGE, ctx, cmd, None))
            self._reset_message()
        else:
            self._command = cmd
        return 0

    cdef int _data_part(self, int ctx, unsigned int control, const unsigned char* frag,
                        Py_ssize_t flen, list events) except -1:
        cdef bytes ds
        if self._command is None:
            raise CodecError("Command PDV Expected: data set PDV before a complete command")
        self._ds_len += flen
        if self._ds_len > self.max_dataset:
            raise CodecError(f"data set longer than {self.max_dataset} bytes")
        if not (control & 2):
            buf_append(&self._ds, frag, flen)
            return 0
        if self._ds.used == 0:  # single fragment: one bytes object straight from the PDU
            ds = PyBytes_FromStringAndSize(<const char*>frag, flen)
        else:
            buf_append(&self._ds, frag, flen)
            ds = PyBytes_FromStringAndSize(<const char*>self._ds.data, self._ds.used)
        events.append((EV_MESSAGE, ctx, self._command, ds))
        self._reset_message()
        return 0


# ---- data set walk (PS3.5 §7.1, §7.5) ---------------------------------------------------------
F_IMPLICIT = 1
F_BIG_ENDIAN = 2
VR_STRS = _VR_STRS
cdef Py_ssize_t TOKEN_FIELDS_MAX = 0x7FFFFFFF  # link is an int32 index
#: The largest data set :func:`walk` takes: token offsets are 32-bit (the identifier cap is below).
MAX_WALK_SIZE = 0xFFFFFFFE


cdef class Tokens:
    """The flat token walk of one data set, kept as a C array (see :class:`fastfind._codec_py.Tokens`).

    ``tokens[i]`` is ``(kind, depth, tag, vr, length, start, end)``; :meth:`link`, :meth:`flags`
    and :meth:`find` as in the Python twin. The output encoders read the array directly.
    """

    def __dealloc__(self):
        PyMem_Free(self.toks)

    cdef Token* push(self) except NULL:
        cdef Py_ssize_t new_cap
        cdef Token* mem
        if self.n >= self.cap:
            new_cap = self.cap * 2 if self.cap else 32
            if new_cap > TOKEN_FIELDS_MAX:
                raise MemoryError()
            mem = <Token*>PyMem_Realloc(self.toks, <size_t>new_cap * sizeof(Token))
            if mem == NULL:
                raise MemoryError()
            self.toks = mem
            self.cap = new_cap
        self.n += 1
        return &self.toks[self.n - 1]

    cdef tuple item(self, Py_ssize_t i):
        cdef Token* t = &self.toks[i]
        return (t.kind, t.depth, t.tag, _vr_obj(t.vri), t.length, t.start, t.end)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        cdef Py_ssize_t k = i
        if k < 0:
            k += self.n
        if not 0 <= k < self.n:
            raise IndexError("token index out of range")
        return self.item(k)

    def __iter__(self):
        cdef Py_ssize_t i
        for i in range(self.n):
            yield self.item(i)

    def __eq__(self, other):
        cdef Py_ssize_t i
        if isinstance(other, list):
            return list(self) == other
        if hasattr(other, "__len__") and hasattr(other, "__getitem__"):
            if len(other) != self.n:
                return False
            for i in range(self.n):
                if self.item(i) != other[i]:
                    return False
            return True
        return NotImplemented

    def link(self, Py_ssize_t i):
        """Index of the token closing sequence/item ``i`` (or opening it, for an end token)."""
        if not 0 <= i < self.n:
            raise IndexError("token index out of range")
        return self.toks[i].link

    def flags(self, Py_ssize_t i):
        """How token ``i``'s element was encoded: :data:`F_IMPLICIT` | :data:`F_BIG_ENDIAN`."""
        if not 0 <= i < self.n:
            raise IndexError("token index out of range")
        return self.toks[i].flags

    def top_level_ascending(self):
        """True if the top-level tags are strictly ascending (sorted, no repeats; PS3.5 §7.1)."""
        cdef Py_ssize_t i
        cdef long long last = -1
        cdef Token* t
        for i in range(self.n):
            t = &self.toks[i]
            if t.depth == 0 and t.kind <= K_SEQUENCE:
                if <long long>t.tag <= last:
                    return False
                last = t.tag
        return True

    def find(self, uint32_t tag):
        """Index of the first top-level element or sequence with ``tag``, or -1."""
        cdef Py_ssize_t i
        cdef Token* t
        for i in range(self.n):
            t = &self.toks[i]
            if t.depth == 0 and t.tag == tag and t.kind <= K_SEQUENCE:
                return i
        return -1


cdef Frame* push_frame(Frame** stack, Py_ssize_t* cap, Py_ssize_t sp) except NULL:
    cdef Py_ssize_t new_cap
    cdef Frame* mem
    if sp >= cap[0]:
        new_cap = cap[0] * 2 if cap[0] else 16
        if new_cap > PY_SSIZE_T_MAX // <Py_ssize_t>sizeof(Frame):
            raise MemoryError()
        mem = <Frame*>PyMem_Realloc(stack[0], <size_t>new_cap * sizeof(Frame))
        if mem == NULL:
            raise MemoryError()
        stack[0] = mem
        cap[0] = new_cap
    return &stack[0][sp]


cdef inline object _vr_obj(int vri):
    if vri < 0:
        return None
    return _VR_STRS[vri]


cdef inline int _push_token(Tokens out, unsigned char kind, Py_ssize_t depth, uint32_t tag,
                            int vri, uint32_t length, Py_ssize_t start, Py_ssize_t end,
                            Py_ssize_t link, unsigned char flags) except -1:
    cdef Token* t = out.push()
    t.kind = kind
    t.depth = depth
    t.tag = tag
    t.vri = vri
    t.length = length
    t.start = start
    t.end = end
    t.link = link
    t.flags = flags
    return 0


cdef inline int _close_frame(Tokens out, Frame* f, unsigned char kind, uint32_t tag,
                             uint32_t length, Py_ssize_t pos) except -1:
    """Append the end token of frame ``f`` and link it with the frame's start token."""
    cdef Py_ssize_t end_index = out.n
    _push_token(out, kind, f.depth, tag, -1, length, pos, pos, f.index, out.toks[f.index].flags)
    out.toks[f.index].end = pos
    out.toks[f.index].link = end_index
    return 0


cdef Tokens walk_c(const unsigned char* p, Py_ssize_t n, bint implicit, bint little,
                   object sq_tags, Py_ssize_t max_depth):
    cdef Tokens out = Tokens.__new__(Tokens)
    cdef Frame* stack = NULL
    cdef Frame* f = NULL
    cdef Py_ssize_t cap = 0, sp = 0, limit = n, pos = 0, depth = 0, frame_limit, hdr, lim
    cdef bint in_seq, is_sq, cur_implicit, cur_little, content_implicit, content_little
    cdef uint32_t group, elem, tag, length
    cdef unsigned int b0, b1
    cdef unsigned char flags
    cdef int vri
    try:
        while True:
            if sp:
                f = &stack[sp - 1]
                in_seq = f.is_seq
                frame_limit = f.limit
                cur_implicit = f.implicit
                cur_little = f.little
            else:
                f = NULL
                in_seq = False
                frame_limit = n
                cur_implicit = implicit
                cur_little = little
            if frame_limit >= 0 and pos == frame_limit:
                if sp == 0:
                    return out
                _close_frame(out, f, K_SEQUENCE_END if in_seq else K_ITEM_END, f.tag, 0, pos)
                if in_seq:
                    depth -= 1
                sp -= 1
                limit = stack[sp - 1].eff if sp else n
                continue
            if limit - pos < 8:
                raise CodecError(f"data set truncated at offset {pos} (element header)")
            if cur_little:
                group = rd_le16(p + pos)
                elem = rd_le16(p + pos + 2)
                length = rd_le32(p + pos + 4)
            else:
                group = rd_be16(p + pos)
                elem = rd_be16(p + pos + 2)
                length = rd_be32(p + pos + 4)
            tag = (group << 16) | elem
            flags = (1 if cur_implicit else 0) | (0 if cur_little else 2)
            if in_seq:
                if tag == C_ITEM_TAG:
                    pos += 8
                    if length != C_UNDEFINED and <size_t>length > <size_t>(limit - pos):
                        raise CodecError(
                            f"item length {length} at offset {pos - 8} exceeds its container"
                        )
                    _push_token(out, K_ITEM, depth, tag, -1, length, pos, pos, -1, flags)
                    lim = -1 if length == C_UNDEFINED else pos + <Py_ssize_t>length
                    f = push_frame(&stack, &cap, sp)
                    sp += 1
                    f.is_seq = False
                    f.implicit = cur_implicit
                    f.little = cur_little
                    f.limit = lim
                    f.eff = lim if lim >= 0 else limit
                    f.index = out.n - 1
                    f.depth = depth
                    f.tag = tag
                    limit = f.eff
                    continue
                if tag == C_SEQ_DELIM_TAG and frame_limit < 0:
                    pos += 8
                    _close_frame(out, f, K_SEQUENCE_DELIM, tag, length, pos)
                    depth -= 1
                    sp -= 1
                    limit = stack[sp - 1].eff if sp else n
                    continue
                raise CodecError(
                    f"expected an item tag in sequence at offset {pos}, found ({group:04x},{elem:04x})"
                )
            if tag == C_ITEM_DELIM_TAG and sp and frame_limit < 0:
                pos += 8
                _close_frame(out, f, K_ITEM_DELIM, tag, length, pos)
                sp -= 1
                limit = stack[sp - 1].eff if sp else n
                continue
            if group == 0xFFFE:
                raise CodecError(f"unexpected delimiter ({group:04x},{elem:04x}) at offset {pos}")
            content_implicit = cur_implicit
            content_little = cur_little
            if cur_implicit:
                vri = -1
                hdr = 8
                is_sq = length == C_UNDEFINED or tag in sq_tags
            else:
                b0 = p[pos + 4]
                b1 = p[pos + 5]
                if not (65 <= b0 <= 90 and 65 <= b1 <= 90) or not _VR_STD[
                    <int>(b0 - 65) * 26 + <int>(b1 - 65)
                ]:
                    vrb = PyBytes_FromStringAndSize(<const char*>p + pos + 4, 2)
                    raise CodecError(
                        f"invalid VR {vrb!r} for ({group:04x},{elem:04x}) at offset {pos}"
                    )
                vri = <int>(b0 - 65) * 26 + <int>(b1 - 65)
                if _VR_LONG[vri]:
                    if limit - pos < 12:
                        raise CodecError(f"data set truncated at offset {pos} (element header)")
                    length = rd_le32(p + pos + 8) if cur_little else rd_be32(p + pos + 8)
                    hdr = 12
                else:
                    length = rd_le16(p + pos + 6) if cur_little else rd_be16(p + pos + 6)
                    hdr = 8
                is_sq = vri == VRI_SQ
                if vri == VRI_UN and length == C_UNDEFINED:
                    is_sq = True  # PS3.5 §6.2.2: its items are implicit VR little endian
                    content_implicit = True
                    content_little = True
            pos += hdr
            if is_sq:
                if depth >= max_depth:
                    raise CodecError(f"sequence nesting deeper than {max_depth} levels")
                if length != C_UNDEFINED and <size_t>length > <size_t>(limit - pos):
                    raise CodecError(
                        f"sequence ({group:04x},{elem:04x}) length {length} exceeds its container"
                    )
                _push_token(out, K_SEQUENCE, depth, tag, vri, length, pos, pos, -1, flags)
                lim = -1 if length == C_UNDEFINED else pos + <Py_ssize_t>length
                f = push_frame(&stack, &cap, sp)
                sp += 1
                f.is_seq = True
                f.implicit = content_implicit
                f.little = content_little
                f.limit = lim
                f.eff = lim if lim >= 0 else limit
                f.index = out.n - 1
                f.depth = depth
                f.tag = tag
                depth += 1
                limit = f.eff
                continue
            if length == C_UNDEFINED:
                raise CodecError(
                    f"undefined length on non-sequence element ({group:04x},{elem:04x})"
                )
            if <size_t>length > <size_t>(limit - pos):
                raise CodecError(
                    f"element ({group:04x},{elem:04x}) length {length} exceeds the remaining "
                    f"{limit - pos} bytes"
                )
            _push_token(out, K_ELEMENT, depth, tag, vri, length, pos, pos + <Py_ssize_t>length,
                        -1, flags)
            pos += length
    finally:
        PyMem_Free(stack)


def walk(data, implicit, little, sq_tags, max_depth=64):
    """Tokenise an encoded data set without recursion (see :func:`fastfind._codec_py.walk`).

    Returns :class:`Tokens`; raises :class:`CodecError` for any structural fault.
    """
    cdef Py_buffer view
    cdef Py_ssize_t depth_cap = 0x7FFFFFFF if max_depth > 0x7FFFFFFF else max_depth
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        if view.len > MAX_WALK_SIZE:
            raise CodecError(f"data set of {view.len} bytes is larger than {MAX_WALK_SIZE}")
        return walk_c(<const unsigned char*>view.buf, view.len, implicit, little, sq_tags,
                      depth_cap)
    finally:
        PyBuffer_Release(&view)


def walk_dataset(data, implicit, little, sq_tags, max_depth=64):
    """:func:`walk` as a list of ``(kind, depth, tag, vr, length, start, end)`` tuples."""
    return list(walk(data, implicit, little, sq_tags, max_depth))


# ---- deflate (PS3.5 A.5) ---------------------------------------------------------------------
cdef z_stream _zs
cdef bint _zs_ready = False
cdef unsigned char _scratch[65536]


cdef str _zlib_message(int err, const char* msg):
    text = None
    if msg != NULL:
        text = (<bytes>msg).decode("utf-8", "replace")[:200]
    elif err == Z_BUF_ERROR:
        text = "incomplete or truncated stream"
    elif err == Z_STREAM_ERROR:
        text = "inconsistent stream state"
    elif err == Z_DATA_ERROR:
        text = "invalid input data"
    if text is None:
        return f"deflated data set is corrupt: Error {err} while decompressing data"
    return f"deflated data set is corrupt: Error {err} while decompressing data: {text}"


cdef bytes inflate_c(const unsigned char* p, Py_ssize_t n, Py_ssize_t max_size):
    global _zs_ready
    cdef Py_ssize_t cap = max_size + 1, out_cap, total = 0, in_left = n, chunk, new_cap
    cdef Py_ssize_t unused
    cdef unsigned int avail
    cdef unsigned char* heap = NULL
    cdef unsigned char* out = _scratch
    cdef unsigned char* mem
    cdef int err
    cdef bint eof = False
    if not _zs_ready:
        memset(&_zs, 0, sizeof(z_stream))
        if inflateInit2(&_zs, -15) != Z_OK:
            raise MemoryError("cannot initialise zlib")
        _zs_ready = True
    elif inflateReset(&_zs) != Z_OK:
        raise MemoryError("cannot reset zlib")
    out_cap = cap if cap < <Py_ssize_t>sizeof(_scratch) else <Py_ssize_t>sizeof(_scratch)
    _zs.next_in = <unsigned char*>p  # zlib never writes through next_in
    _zs.avail_in = 0
    try:
        while True:
            if _zs.avail_in == 0 and in_left > 0:
                chunk = in_left if in_left < <Py_ssize_t>UINT_MAX else <Py_ssize_t>UINT_MAX
                _zs.avail_in = <unsigned int>chunk
                in_left -= chunk
            if total == out_cap:
                if total >= cap:
                    break  # output cap reached: a bomb, whatever follows
                new_cap = out_cap * 2 if out_cap <= cap // 2 else cap
                mem = <unsigned char*>PyMem_Realloc(heap, <size_t>new_cap)
                if mem == NULL:
                    raise MemoryError()
                if heap == NULL:
                    memcpy(mem, _scratch, <size_t>total)
                heap = mem
                out = heap
                out_cap = new_cap
            chunk = out_cap - total
            avail = <unsigned int>(chunk if chunk < <Py_ssize_t>UINT_MAX else <Py_ssize_t>UINT_MAX)
            _zs.next_out = out + total
            _zs.avail_out = avail
            err = z_inflate(&_zs, Z_SYNC_FLUSH)
            total += avail - _zs.avail_out
            if err == Z_STREAM_END:
                eof = True
                break
            if err != Z_OK and err != Z_BUF_ERROR:
                raise CodecError(_zlib_message(err, _zs.msg))
            if _zs.avail_out != 0:
                if _zs.avail_in == 0 and in_left == 0:
                    break  # all input used, stream not ended
                if err == Z_BUF_ERROR and _zs.avail_in != 0:
                    break  # no progress possible (never seen; guards against a spin)
        if total > max_size:
            raise CodecError(f"deflated data set inflates beyond {max_size} bytes")
        if not eof:
            raise CodecError("deflated data set is truncated")
        unused = <Py_ssize_t>_zs.avail_in + in_left
        if unused > 1 or (unused == 1 and _zs.next_in[0] != 0):
            raise CodecError(f"{unused} bytes of junk after the deflated data set")
        return PyBytes_FromStringAndSize(<const char*>out, total)
    finally:
        PyMem_Free(heap)


def _inflate_py(data, max_size):
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = d.decompress(data, max_size + 1)
    except zlib.error as exc:
        raise CodecError(f"deflated data set is corrupt: {exc}") from None
    if len(out) > max_size:
        raise CodecError(f"deflated data set inflates beyond {max_size} bytes")
    if not d.eof:
        raise CodecError("deflated data set is truncated")
    if len(d.unused_data) > 1 or d.unused_data.strip(b"\x00"):
        raise CodecError(f"{len(d.unused_data)} bytes of junk after the deflated data set")
    return out


def inflate(data, max_size):
    """Inflate a raw-deflate data set, refusing output larger than ``max_size`` bytes.

    One trailing pad byte (PDV fragments are even-length) is tolerated; any other data after the
    end of the stream, or a stream that does not end, is a :class:`CodecError`.
    """
    cdef Py_buffer view
    if not isinstance(max_size, int) or max_size < 0 or max_size >= PY_SSIZE_T_MAX:
        return _inflate_py(data, max_size)  # odd arguments: the Python twin's exact behaviour
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return inflate_c(<const unsigned char*>view.buf, view.len, max_size)
    finally:
        PyBuffer_Release(&view)


def deflate(data, level=6):
    """Raw-deflate ``data`` (PS3.5 A.5), padded with one NUL to an even length."""
    c = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = c.compress(data) + c.flush()
    if len(out) & 1:
        out += b"\x00"
    return out


# ---- output files (Twin: _codec_files_py.py) --------------------------------------------------
include "_codec_files.pxi"

# ---- output encodings, straight from the identifier bytes and the token walk -------------------
include "_codec_text.pxi"   # charsets and text (twin: _codec_text_py.py)
include "_codec_json.pxi"   # DICOM JSON, PS3.18 F.2 (twin: _codec_json_py.py)
include "_codec_cells.pxi"  # CSV cells and Arrow columns (twin: _codec_cells_py.py)
include "_codec_xml.pxi"    # DCMTK's -Xx/-Xs XML (twin: _codec_xml_py.py)
