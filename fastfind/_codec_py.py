"""Pure-Python twin of :mod:`fastfind._codec` (the data-phase codec).

Same names, same results, same exceptions as the Cython module; :mod:`fastfind.codec` picks one.
Everything here treats its input as hostile: every length is checked against the bytes that are
really there before it is used, nesting is bounded, nothing recurses.

Contents
--------
* :class:`Receiver` -- splits a byte stream into PDUs (PS3.8 §9.3) and reassembles P-DATA-TF PDVs
  (PS3.8 §9.3.5, Annex E) into DIMSE messages, decoding each command set on the way.
* :func:`decode_command` / :func:`encode_command` -- DIMSE command sets (PS3.7 §6.3, §9.3.2):
  group 0000, implicit VR little endian.
* :func:`encode_pdata` -- P-DATA-TF PDUs carrying one message part.
* :func:`walk_dataset` -- a flat, iterative token walk over an encoded data set (PS3.5 §7).
* :func:`inflate` / :func:`deflate` -- raw deflate (PS3.5 A.5) with a hard output cap.
"""

from __future__ import annotations

import zlib
from array import array as _array
from collections.abc import Iterator as _Iterator
from struct import Struct

from ._codec_tokens_py import DEPTH as _DEPTH
from ._codec_tokens_py import END as _END
from ._codec_tokens_py import LINK as _LINK
from ._codec_tokens_py import NFIELDS as _NFIELDS
from ._codec_tokens_py import PACKED as _PACKED
from ._codec_tokens_py import TAG as _TAG
from .dicom.vr import LONG_VRS, STANDARD_VRS
from .errors import CodecError, ProtocolError

# ---- token kinds yielded by walk_dataset ------------------------------------------------------
ELEMENT = 0  #: a non-sequence element
SEQUENCE = 1  #: start of a sequence (its items follow)
ITEM = 2  #: start of an item (FFFE,E000)
ITEM_END = 3  #: end of an explicit-length item (no delimiter on the wire)
ITEM_DELIM = 4  #: item delimitation item (FFFE,E00D) read from the wire
SEQUENCE_END = 5  #: end of an explicit-length sequence (no delimiter on the wire)
SEQUENCE_DELIM = 6  #: sequence delimitation item (FFFE,E0DD) read from the wire

# ---- receiver events -------------------------------------------------------------------------
EV_MESSAGE = 0  #: (EV_MESSAGE, context_id, command: dict, dataset: bytes | None)
EV_PDU = 1  #: (EV_PDU, pdu_type, body: bytes) for every PDU type other than P-DATA-TF

UNDEFINED = 0xFFFFFFFF
ASSOCIATE_PDU_LIMIT = 1 << 20  # DCMTK dcmAssociatePDUSizeLimit

_LONG_VRS = frozenset(vr.encode() for vr in LONG_VRS)
#: The VRs of PS3.5 Table 6.2-1; any other two bytes are refused (unknown length field size).
_STANDARD_VRS = frozenset(vr.encode() for vr in STANDARD_VRS)
_HDR = Struct(">BBL")
_U32BE = Struct(">L")
_U16LE = Struct("<H")
_U32LE = Struct("<L")
_U16BE = Struct(">H")
_TAG_LEN_LE = Struct("<HHL")
_TAG_LEN_BE = Struct(">HHL")
_TAG_VR_LE = Struct("<HH2sH")
_TAG_VR_BE = Struct(">HH2sH")

ITEM_TAG = 0xFFFEE000
ITEM_DELIM_TAG = 0xFFFEE00D
SEQ_DELIM_TAG = 0xFFFEE0DD

# ---- DIMSE command sets (PS3.7 §6.3.1, E.1) ---------------------------------------------------
#: Command elements fastfind knows and their VRs; anything else is kept as raw bytes.
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


def decode_command(data: bytes) -> dict[int, object]:
    """Decode a command set (implicit VR LE, group 0000 only; PS3.7 §6.3.1).

    Returns ``{tag: value}``: US/UL as ``int``, UI/AE/LO as ``str`` (trailing NUL and spaces
    removed), AT as a ``tuple`` of ``int`` tags, anything unknown as ``bytes``.
    Raises :class:`CodecError` on a truncated element, a length beyond the data, a tag outside
    group 0000, a duplicate or descending tag, or a US/UL of the wrong length.
    """
    mv = memoryview(data)
    n = len(mv)
    pos = 0
    out: dict[int, object] = {}
    last = -1
    while pos < n:
        if n - pos < 8:
            raise CodecError("command set: truncated element header")
        group, elem, length = _TAG_LEN_LE.unpack_from(mv, pos)
        pos += 8
        if group != 0:
            raise CodecError(f"command set: element ({group:04x},{elem:04x}) outside group 0000")
        if length > n - pos:
            raise CodecError(f"command set: element (0000,{elem:04x}) length {length} exceeds data")
        if elem <= last:
            raise CodecError(f"command set: element (0000,{elem:04x}) duplicate or out of order")
        last = elem
        value = bytes(mv[pos : pos + length])
        pos += length
        vr = COMMAND_VRS.get(elem)
        if vr == "US":
            if length != 2:
                raise CodecError(f"command set: (0000,{elem:04x}) US has length {length}")
            out[elem] = _U16LE.unpack(value)[0]
        elif vr == "UL":
            if length != 4:
                raise CodecError(f"command set: (0000,{elem:04x}) UL has length {length}")
            out[elem] = _U32LE.unpack(value)[0]
        elif vr == "AT":
            if length % 4:
                raise CodecError(f"command set: (0000,{elem:04x}) AT has length {length}")
            out[elem] = tuple(
                (_U16LE.unpack_from(value, i)[0] << 16) | _U16LE.unpack_from(value, i + 2)[0]
                for i in range(0, length, 4)
            )
        elif vr is not None:
            out[elem] = value.rstrip(b"\x00 ").decode("latin-1")
        else:
            out[elem] = value
    if 0 in out and out[0] != n - 12:
        raise CodecError(f"command set: CommandGroupLength {out[0]} but {n - 12} bytes follow")
    return out


def encode_command(elements: list[tuple[int, object]]) -> bytes:
    """Encode ``[(element, value), ...]`` of group 0000 into a command set.

    Elements must be known to :data:`COMMAND_VRS`; they are sorted, and (0000,0000)
    CommandGroupLength is computed and prepended (PS3.7 §6.3.1).
    """
    body = bytearray()
    for elem, value in sorted(elements, key=lambda e: e[0]):
        vr = COMMAND_VRS[elem]
        if vr == "US":
            raw = _U16LE.pack(int(value))  # type: ignore[call-overload]
        elif vr == "UL":
            raw = _U32LE.pack(int(value))  # type: ignore[call-overload]
        elif vr == "AT":
            raw = b"".join(_U16LE.pack(t >> 16) + _U16LE.pack(t & 0xFFFF) for t in value)  # type: ignore[attr-defined]
        else:
            raw = str(value).encode("ascii")
            if len(raw) % 2:
                raw += b"\x00" if vr == "UI" else b" "
        body += _TAG_LEN_LE.pack(0, elem, len(raw)) + raw
    return _TAG_LEN_LE.pack(0, 0, 4) + _U32LE.pack(len(body)) + bytes(body)


# ---- P-DATA-TF (PS3.8 §9.3.5) -----------------------------------------------------------------
def encode_pdata(context_id: int, is_command: bool, payload: bytes, max_pdu: int) -> bytes:
    """Return the P-DATA-TF PDUs that carry ``payload`` as one command or data-set part.

    ``max_pdu`` is the peer's maximum PDU length (the variable field, PS3.8 D.1); 0 means
    unlimited. Each PDU carries one PDV whose fragment length is even (Annex E) and at most
    ``max_pdu - 6``.
    """
    if max_pdu == 0 or max_pdu > (1 << 20):
        max_pdu = 1 << 20
    if max_pdu < 14:
        raise ProtocolError(f"peer max PDU size of {max_pdu} is illegal (must be > 12)", 0, 0)
    frag = (max_pdu - 6) & ~1
    flag = 1 if is_command else 0
    out = bytearray()
    n = len(payload)
    pos = 0
    while True:
        chunk = payload[pos : pos + frag]
        pos += len(chunk)
        last = pos >= n
        control = flag | (2 if last else 0)
        out += _HDR.pack(4, 0, len(chunk) + 6)
        out += _U32BE.pack(len(chunk) + 2)
        out.append(context_id)
        out.append(control)
        out += chunk
        if last:
            return bytes(out)


class Receiver:
    """Split a received byte stream into PDUs and reassemble DIMSE messages (PS3.8 §9.3, Annex E).

    :param max_pdu: the maximum P-DATA-TF length we announced (0 = unlimited); a longer P-DATA
        PDU is refused from its header alone (PS3.8 D.1).
    :param max_command: cap on a reassembled command set.
    :param max_dataset: cap on a reassembled data set (before inflation).

    :meth:`feed` appends bytes and returns the events completed by them. Until
    :meth:`set_contexts` names the accepted presentation contexts, a P-DATA-TF PDU is a protocol
    error (PS3.8 Sta5 + Evt10 -> AA-8).
    """

    def __init__(self, max_pdu: int, max_command: int = 65536, max_dataset: int = 64 << 20):
        self.max_pdu = max_pdu
        self.max_command = max_command
        self.max_dataset = max_dataset
        self._buf = bytearray()
        self._contexts: frozenset[int] = frozenset()
        self._reset_message()

    def _reset_message(self) -> None:
        self._ctx = -1
        self._cmd_parts: list[bytes] = []
        self._cmd_len = 0
        self._command: dict[int, object] | None = None
        self._ds_parts: list[bytes] = []
        self._ds_len = 0

    def set_contexts(self, context_ids) -> None:  # type: ignore[no-untyped-def]
        """Accept P-DATA-TF on these presentation context IDs from now on."""
        self._contexts = frozenset(context_ids)

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete PDU."""
        return len(self._buf)

    @property
    def in_message(self) -> bool:
        """True while a DIMSE message is partly received."""
        return self._ctx >= 0

    def feed(self, data: bytes) -> list[tuple]:  # type: ignore[type-arg]
        """Append received bytes; return the events they complete, in order.

        If a later PDU in ``data`` is refused, the exception carries the events completed
        before it as ``completed_events`` (nothing received intact is lost).
        """
        buf = self._buf
        buf += data
        events: list[tuple] = []  # type: ignore[type-arg]
        pos = 0
        n = len(buf)
        try:
            while n - pos >= 6:
                ptype, _, length = _HDR.unpack_from(buf, pos)
                if ptype == 4:
                    if self.max_pdu and length > self.max_pdu:
                        raise ProtocolError(
                            f"DUL Illegal PDU Length {length}. Max expected {self.max_pdu}", 2, 6
                        )
                elif 1 <= ptype <= 3:
                    if length > ASSOCIATE_PDU_LIMIT:
                        raise ProtocolError(f"A-ASSOCIATE PDU too large ({length} bytes)", 2, 6)
                elif 5 <= ptype <= 7:
                    if length != 4:
                        raise ProtocolError(f"PDU type 0x{ptype:02x} has length {length}, not 4", 2, 6)
                else:
                    raise ProtocolError(f"Unrecognized PDU type: 0x{ptype:02x}", 2, 1)
                if n - pos - 6 < length:
                    break
                start = pos + 6
                pos = start + length
                if ptype == 4:
                    # the view must be released before ``del buf[:pos]`` even when _pdata
                    # raises (the traceback keeps its frame alive): else BufferError escapes
                    body = memoryview(buf)[start:pos]
                    try:
                        self._pdata(body, events)
                    finally:
                        body.release()
                else:
                    events.append((EV_PDU, ptype, bytes(buf[start:pos])))
        except ProtocolError as exc:
            exc.completed_events = events  # type: ignore[attr-defined]
            raise
        finally:
            del buf[:pos]
        return events

    def _pdata(self, body: memoryview, events: list) -> None:  # type: ignore[type-arg]
        if not self._contexts:
            raise ProtocolError("P-DATA-TF PDU received before the association was accepted", 2, 2)
        n = len(body)
        if n == 0:
            raise ProtocolError("P-DATA-TF PDU without any PDV item", 2, 6)
        pos = 0
        while pos < n:
            if n - pos < 6:
                raise ProtocolError("PDV item header truncated (PDV lengths don't add up)", 2, 6)
            (plen,) = _U32BE.unpack_from(body, pos)
            if plen < 2 or plen > n - pos - 4:
                raise ProtocolError(f"PDV item length {plen} invalid for the PDU", 2, 6)
            ctx = body[pos + 4]
            control = body[pos + 5]
            frag = bytes(body[pos + 6 : pos + 4 + plen])  # no view of the buffer may outlive feed()
            pos += 4 + plen
            if len(frag) & 1:
                raise ProtocolError(f"odd PDV fragment length {len(frag)}", 2, 6)
            if ctx not in self._contexts:
                raise ProtocolError(f"PDV on presentation context {ctx}, which is not accepted", 2, 6)
            if self._ctx < 0:
                self._ctx = ctx
            elif ctx != self._ctx:
                raise CodecError(
                    f"presentation context changed from {self._ctx} to {ctx} inside a message"
                )
            if control & 1:  # command fragment
                if self._command is not None:
                    raise CodecError("command PDV received while the data set was expected")
                self._cmd_len += len(frag)
                if self._cmd_len > self.max_command:
                    raise CodecError(f"command set longer than {self.max_command} bytes")
                self._cmd_parts.append(bytes(frag))
                if control & 2:
                    cmd = decode_command(b"".join(self._cmd_parts))
                    self._cmd_parts = []
                    if cmd.get(0x0800, NO_DATASET) == NO_DATASET:
                        events.append((EV_MESSAGE, ctx, cmd, None))
                        self._reset_message()
                    else:
                        self._command = cmd
            else:
                if self._command is None:
                    raise CodecError("Command PDV Expected: data set PDV before a complete command")
                self._ds_len += len(frag)
                if self._ds_len > self.max_dataset:
                    raise CodecError(f"data set longer than {self.max_dataset} bytes")
                self._ds_parts.append(bytes(frag))
                if control & 2:
                    events.append((EV_MESSAGE, ctx, self._command, b"".join(self._ds_parts)))
                    self._reset_message()


# ---- data set walk (PS3.5 §7.1, §7.5) ---------------------------------------------------------
#: Token flags: how the element itself was encoded (a UN of undefined length holds an implicit VR
#: little endian sequence whatever the transfer syntax, PS3.5 §6.2.2).
F_IMPLICIT = 1
F_BIG_ENDIAN = 2

#: VR table index of a two-letter VR (``(b0 - 65) * 26 + b1 - 65``), -1 for "no VR" (implicit).
VR_STRS = [chr(65 + i // 26) + chr(65 + i % 26) for i in range(676)]
_VRI = {vr.encode("ascii"): i for i, vr in enumerate(VR_STRS)}
_VRI_SQ = _VRI[b"SQ"]
_VRI_UN = _VRI[b"UN"]
_STANDARD_VRI = frozenset(_VRI[v] for v in _STANDARD_VRS)
_LONG_VRI = frozenset(_VRI[v] for v in _LONG_VRS)
#: One token is 7 unsigned 32-bit words (28 bytes, as the Cython ``Token`` struct): the layout
#: is ``_codec_tokens_py``'s, shared with the JSON, cells and XML twins.
#: The largest data set :func:`walk` takes: token offsets are 32-bit (the identifier cap is below).
MAX_WALK_SIZE = 0xFFFFFFFE


class Tokens:
    """The flat token walk of one data set, kept compact (PS3.5 §7.1, §7.5).

    ``tokens[i]`` is ``(kind, depth, tag, vr, length, start, end)``: ``kind`` one of
    :data:`ELEMENT`, :data:`SEQUENCE`, :data:`ITEM`, :data:`ITEM_END`, :data:`ITEM_DELIM`,
    :data:`SEQUENCE_END`, :data:`SEQUENCE_DELIM`; ``depth`` the nesting level (0 = top level);
    ``vr`` the explicit VR or ``None`` (implicit VR); ``length`` the declared length
    (``0xFFFFFFFF`` = undefined); ``data[start:end]`` the value (for a sequence or an item: its
    content, delimiters included). :meth:`link` gives the index of the token that closes a
    sequence or item (and of the one that opened it, for an end token); :meth:`flags` the
    element's own encoding (:data:`F_IMPLICIT`, :data:`F_BIG_ENDIAN`). Storage: 28 bytes per
    token in one ``array('I')``, like the Cython twin.
    """

    __slots__ = ("_a",)

    def __init__(self) -> None:
        self._a = _array("I")

    def __len__(self) -> int:
        return len(self._a) // _NFIELDS

    def __getitem__(self, i: int) -> tuple[int, int, int, str | None, int, int, int]:
        n = len(self._a) // _NFIELDS
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("token index out of range")
        base = i * _NFIELDS
        tag, length, start, end, _link, depth, packed = self._a[base : base + _NFIELDS]
        vri = (packed >> 5) - 1
        return (packed & 7, depth, tag, None if vri < 0 else VR_STRS[vri], length, start, end)

    def __iter__(self) -> _Iterator[tuple[int, int, int, str | None, int, int, int]]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list(self) == other
        if hasattr(other, "__len__") and hasattr(other, "__getitem__"):
            return len(self) == len(other) and all(self[i] == other[i] for i in range(len(self)))  # type: ignore[arg-type]
        return NotImplemented

    def link(self, i: int) -> int:
        """Index of the token closing sequence/item ``i`` (or opening it, for an end token)."""
        return self._a[i * _NFIELDS + _LINK] - 1

    def flags(self, i: int) -> int:
        """How token ``i``'s element was encoded: :data:`F_IMPLICIT` | :data:`F_BIG_ENDIAN`."""
        return (self._a[i * _NFIELDS + _PACKED] >> 3) & 3

    def find(self, tag: int) -> int:
        """Index of the first top-level element or sequence with ``tag``, or -1."""
        a = self._a
        for i in range(len(a) // _NFIELDS):
            base = i * _NFIELDS
            if a[base + _DEPTH] == 0 and a[base + _TAG] == tag and a[base + _PACKED] & 7 <= SEQUENCE:
                return i
        return -1

    def top_level_ascending(self) -> bool:
        """True if the top-level tags are strictly ascending (sorted, no repeats; PS3.5 §7.1)."""
        a = self._a
        last = -1
        for i in range(len(a) // _NFIELDS):
            base = i * _NFIELDS
            if a[base + _DEPTH] == 0 and a[base + _PACKED] & 7 <= SEQUENCE:
                tag = a[base + _TAG]
                if tag <= last:
                    return False
                last = tag
        return True

    def _push(self, kind: int, depth: int, tag: int, vri: int, length: int, start: int, end: int,
              link: int, flags: int) -> int:
        self._a.extend((tag, length, start, end, link + 1, depth, kind | flags << 3 | (vri + 1) << 5))
        return len(self._a) // _NFIELDS - 1

    def _close(self, index: int, end: int, link: int) -> None:
        a = self._a
        a[index * _NFIELDS + _END] = end
        a[index * _NFIELDS + _LINK] = link + 1


class _Frame:
    """One open sequence or item of :func:`walk` (the Cython twin's ``Frame`` struct)."""

    __slots__ = ("is_seq", "limit", "eff", "index", "depth", "tag", "implicit", "little")

    def __init__(self, is_seq: bool, limit: int, eff: int, index: int, depth: int, tag: int,
                 implicit: bool, little: bool):
        self.is_seq = is_seq
        self.limit = limit  # end offset, -1 for undefined length
        self.eff = eff  # innermost explicit-length limit while this frame is on top
        self.index = index  # index of the start token
        self.depth = depth
        self.tag = tag
        self.implicit = implicit  # how the frame's content is encoded
        self.little = little


def walk(
    data: bytes, implicit: bool, little: bool, sq_tags: frozenset[int] | set[int], max_depth: int = 64
) -> Tokens:
    """Tokenise an encoded data set without recursion; returns :class:`Tokens`.

    In implicit VR an element is a sequence when its tag is in ``sq_tags`` or its length is
    undefined. An explicit-VR UN of undefined length is a sequence whose content is implicit VR
    little endian (PS3.5 §6.2.2). Raises :class:`CodecError` for any structural fault:
    truncation, a length beyond its container, an invalid VR, undefined length on another
    non-sequence, a misplaced or missing delimiter, nesting deeper than ``max_depth`` sequences.
    """
    n = len(data)
    if n > MAX_WALK_SIZE:
        raise CodecError(f"data set of {n} bytes is larger than {MAX_WALK_SIZE}")
    max_depth = min(max_depth, 0x7FFFFFFF)
    mv = memoryview(data)
    out = Tokens()
    stack: list[_Frame] = []
    limit = n  # end of the innermost explicit-length container
    pos = 0
    depth = 0
    while True:
        f = stack[-1] if stack else None
        in_seq = f is not None and f.is_seq
        frame_limit = f.limit if f is not None else n
        if frame_limit >= 0 and pos == frame_limit:
            if f is None:
                return out
            end_kind = SEQUENCE_END if in_seq else ITEM_END
            _close_frame(out, f, end_kind, f.tag, 0, pos)
            if in_seq:
                depth -= 1
            stack.pop()
            limit = stack[-1].eff if stack else n
            continue
        if limit - pos < 8:
            raise CodecError(f"data set truncated at offset {pos} (element header)")
        cur_implicit = f.implicit if f is not None else implicit
        cur_little = f.little if f is not None else little
        group, elem, length = (_TAG_LEN_LE if cur_little else _TAG_LEN_BE).unpack_from(mv, pos)
        tag = (group << 16) | elem
        flags = (F_IMPLICIT if cur_implicit else 0) | (0 if cur_little else F_BIG_ENDIAN)
        if in_seq:
            assert f is not None
            if tag == ITEM_TAG:
                pos += 8
                if length != UNDEFINED and length > limit - pos:
                    raise CodecError(f"item length {length} at offset {pos - 8} exceeds its container")
                index = out._push(ITEM, depth, tag, -1, length, pos, pos, -1, flags)
                item_limit = -1 if length == UNDEFINED else pos + length
                stack.append(_Frame(False, item_limit, item_limit if item_limit >= 0 else limit,
                                    index, depth, tag, cur_implicit, cur_little))
                limit = stack[-1].eff
                continue
            if tag == SEQ_DELIM_TAG and frame_limit < 0:
                pos += 8
                _close_frame(out, f, SEQUENCE_DELIM, tag, length, pos)
                depth -= 1
                stack.pop()
                limit = stack[-1].eff if stack else n
                continue
            raise CodecError(f"expected an item tag in sequence at offset {pos}, found ({group:04x},{elem:04x})")
        if tag == ITEM_DELIM_TAG and f is not None and frame_limit < 0:
            pos += 8
            _close_frame(out, f, ITEM_DELIM, tag, length, pos)
            stack.pop()
            limit = stack[-1].eff if stack else n
            continue
        if group == 0xFFFE:
            raise CodecError(f"unexpected delimiter ({group:04x},{elem:04x}) at offset {pos}")
        content_implicit, content_little = cur_implicit, cur_little
        if cur_implicit:
            vri = -1
            hdr = 8
            is_sq = length == UNDEFINED or tag in sq_tags
        else:
            vrb = bytes(mv[pos + 4 : pos + 6])
            vri = _VRI.get(vrb, -2)
            if vri not in _STANDARD_VRI:
                raise CodecError(f"invalid VR {vrb!r} for ({group:04x},{elem:04x}) at offset {pos}")
            if vri in _LONG_VRI:
                if limit - pos < 12:
                    raise CodecError(f"data set truncated at offset {pos} (element header)")
                length = (_U32LE if cur_little else _U32BE).unpack_from(mv, pos + 8)[0]
                hdr = 12
            else:
                length = (_U16LE if cur_little else _U16BE).unpack_from(mv, pos + 6)[0]
                hdr = 8
            is_sq = vri == _VRI_SQ
            if vri == _VRI_UN and length == UNDEFINED:
                is_sq = True  # PS3.5 §6.2.2: its items are implicit VR little endian
                content_implicit, content_little = True, True
        pos += hdr
        if is_sq:
            if depth >= max_depth:
                raise CodecError(f"sequence nesting deeper than {max_depth} levels")
            if length != UNDEFINED and length > limit - pos:
                raise CodecError(f"sequence ({group:04x},{elem:04x}) length {length} exceeds its container")
            index = out._push(SEQUENCE, depth, tag, vri, length, pos, pos, -1, flags)
            seq_limit = -1 if length == UNDEFINED else pos + length
            stack.append(_Frame(True, seq_limit, seq_limit if seq_limit >= 0 else limit, index,
                                depth, tag, content_implicit, content_little))
            depth += 1
            limit = stack[-1].eff
            continue
        if length == UNDEFINED:
            raise CodecError(f"undefined length on non-sequence element ({group:04x},{elem:04x})")
        if length > limit - pos:
            raise CodecError(
                f"element ({group:04x},{elem:04x}) length {length} exceeds the remaining {limit - pos} bytes"
            )
        out._push(ELEMENT, depth, tag, vri, length, pos, pos + length, -1, flags)
        pos += length


def _close_frame(out: Tokens, f: _Frame, kind: int, tag: int, length: int, pos: int) -> None:
    """Append the end token of frame ``f`` and link it with the frame's start token."""
    end_index = out._push(kind, f.depth, tag, -1, length, pos, pos, f.index, out.flags(f.index))
    out._close(f.index, pos, end_index)


def walk_dataset(
    data: bytes, implicit: bool, little: bool, sq_tags: frozenset[int] | set[int], max_depth: int = 64
) -> list[tuple[int, int, int, str | None, int, int, int]]:
    """:func:`walk` as a list of ``(kind, depth, tag, vr, length, start, end)`` tuples."""
    return list(walk(data, implicit, little, sq_tags, max_depth))


# ---- deflate (PS3.5 A.5) ---------------------------------------------------------------------
def inflate(data: bytes, max_size: int) -> bytes:
    """Inflate a raw-deflate data set, refusing output larger than ``max_size`` bytes.

    One trailing pad byte (PDV fragments are even-length) is tolerated; any other data after the
    end of the stream, or a stream that does not end, is a :class:`CodecError`.
    """
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


def deflate(data: bytes, level: int = 6) -> bytes:
    """Raw-deflate ``data`` (PS3.5 A.5), padded with one NUL to an even length."""
    c = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = c.compress(data) + c.flush()
    if len(out) & 1:
        out += b"\x00"
    return out


# ---- output files and encodings (the Cython twins: _codec_files.pxi, _codec_text.pxi, ...) -------
# isort: off
from ._codec_files_py import MAX_CHUNKS, WRITE_CREATED, WRITE_REPLACED, write_files  # noqa: E402,F401
from ._codec_text_py import *  # noqa: E402,F401,F403
from ._codec_json_py import *  # noqa: E402,F401,F403
from ._codec_cells_py import *  # noqa: E402,F401,F403
from ._codec_xml_py import *  # noqa: E402,F401,F403
# isort: on
