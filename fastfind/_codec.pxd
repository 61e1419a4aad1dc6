# cython: language_level=3
"""C-level contract of :mod:`fastfind._codec` (the Cython data-phase codec).

Every function that can fail declares how it reports it: ``except -1`` for ``int``/``Py_ssize_t``
results, ``except NULL`` for pointers; functions returning Python objects propagate by NULL.
"""

from libc.stdint cimport int16_t, int32_t, uint16_t, uint32_t


# ---- bounds-unchecked readers: callers check the bytes are there first -------------------------
cdef inline uint16_t rd_le16(const unsigned char* p) noexcept nogil:
    return <uint16_t>(p[0] | (p[1] << 8))


cdef inline uint16_t rd_be16(const unsigned char* p) noexcept nogil:
    return <uint16_t>((p[0] << 8) | p[1])


cdef inline uint32_t rd_le32(const unsigned char* p) noexcept nogil:
    return (<uint32_t>p[0]) | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline uint32_t rd_be32(const unsigned char* p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | (<uint32_t>p[3])


# ---- growable byte buffer (PyMem) --------------------------------------------------------------
cdef struct ByteBuf:
    unsigned char* data
    Py_ssize_t used
    Py_ssize_t cap

cdef int buf_append(ByteBuf* b, const unsigned char* src, Py_ssize_t n) except -1
cdef void buf_release(ByteBuf* b, Py_ssize_t keep_cap) noexcept


# ---- the token walk ------------------------------------------------------------------------------
cdef struct Token:       # 28 bytes: identifiers are capped below 4 GiB (MAX_WALK_SIZE)
    uint32_t tag
    uint32_t length      # declared length, 0xFFFFFFFF = undefined
    uint32_t start       # value (or content) start offset
    uint32_t end         # value (or content) end offset
    int32_t link         # matching end/start token of a sequence or item, -1 otherwise
    int32_t depth
    int16_t vri          # explicit VR table index, -1 = implicit (no VR on the wire)
    unsigned char kind
    unsigned char flags  # F_IMPLICIT | F_BIG_ENDIAN: how this element was encoded

cdef struct Frame:
    bint is_seq
    bint implicit        # how the frame's content is encoded
    bint little
    Py_ssize_t limit     # end offset, -1 for undefined length
    Py_ssize_t eff       # innermost explicit-length limit while this frame is on top
    Py_ssize_t index     # index of the start token
    Py_ssize_t depth
    uint32_t tag

cdef Frame* push_frame(Frame** stack, Py_ssize_t* cap, Py_ssize_t sp) except NULL


cdef class Tokens:
    cdef Token* toks
    cdef Py_ssize_t n
    cdef Py_ssize_t cap
    cdef Token* push(self) except NULL
    cdef tuple item(self, Py_ssize_t i)


# ---- codec cores (one Python->C crossing each) ---------------------------------------------------
cdef dict decode_command_c(const unsigned char* p, Py_ssize_t n)
cdef Tokens walk_c(const unsigned char* p, Py_ssize_t n, bint implicit, bint little,
                   object sq_tags, Py_ssize_t max_depth)
cdef bytes inflate_c(const unsigned char* p, Py_ssize_t n, Py_ssize_t max_size)


cdef class Receiver:
    cdef public long long max_pdu
    cdef public long long max_command
    cdef public long long max_dataset
    cdef object _contexts            # frozenset given to set_contexts
    cdef bint _have_contexts
    cdef unsigned char _accepted[256]
    cdef int _ctx                    # context of the message in progress, -1 if none
    cdef object _command             # decoded command dict while its data set is awaited
    cdef long long _cmd_len          # bytes of command fragments counted against max_command
    cdef long long _ds_len           # bytes of data-set fragments counted against max_dataset
    cdef ByteBuf _pend               # start of a PDU not yet complete
    cdef ByteBuf _cmd                # command fragments of a multi-fragment command
    cdef ByteBuf _ds                 # data-set fragments of a multi-fragment data set

    cdef int _reset_message(self) except -1
    cdef int _check_header(self, unsigned int ptype, uint32_t length) except -1
    cdef int _pdu(self, unsigned int ptype, const unsigned char* body, uint32_t length,
                  list events) except -1
    cdef int _parse(self, const unsigned char* p, Py_ssize_t n, Py_ssize_t* consumed,
                    list events) except -1
    cdef int _pdata(self, const unsigned char* body, Py_ssize_t n, list events) except -1
    cdef int _command_part(self, int ctx, unsigned int control, const unsigned char* frag,
                           Py_ssize_t flen, list events) except -1
    cdef int _data_part(self, int ctx, unsigned int control, const unsigned char* frag,
                        Py_ssize_t flen, list events) except -1
    cdef list _feed(self, const unsigned char* p, Py_ssize_t n, list events)
    cdef list _feed_slow(self, const unsigned char* p, Py_ssize_t n, list events)


# ---- output encoders (_codec_text/_codec_json/_codec_cells) ---------------------------------------
cdef struct Span:
    Py_ssize_t start
    Py_ssize_t end

cdef class ValueCtx:
    cdef object plain
    cdef object tokens
    cdef object ts
    cdef object fallback             # fastfind._pydicom_values.Fallback, built on first need
    cdef Tokens toks
    cdef const unsigned char* p      # the plain identifier bytes
    cdef Py_ssize_t plen
    cdef ByteBuf work                # a value decoded by pydicom, as UTF-8
    cdef Span* spans                 # the values of the element in hand
    cdef Py_ssize_t nspans
    cdef Py_ssize_t span_cap
    cdef const unsigned char* vbase  # what the spans index
    cdef bint vlatin1                # the spans are Latin-1 (transcoded on output)
    cdef list keep                   # objects whose pointers frames borrow during the call
    cdef object slow(self)
    cdef int add_span(self, Py_ssize_t s, Py_ssize_t e) except -1
