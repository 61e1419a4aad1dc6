"""Pure-Python twin of ``_codec_json.pxi``: an identifier as DICOM JSON (PS3.18 F.2), in one call.

:func:`encode_json` writes one compact JSON object (``json.dumps(..., separators=(",", ":"),
ensure_ascii=False)`` layout, UTF-8) straight from the plain identifier bytes and their walk.
The result, parsed, equals pydicom's ``Dataset.to_json_dict()`` of the same identifier (see
``fastfind.output.dicom_json.to_json_dict``): PN as Alphabetic/Ideographic/Phonetic, IS/DS/
numbers as JSON numbers, AT as ``"GGGGEEEE"``, binary VRs as InlineBinary, sequences nested,
an empty element as ``{"vr": ...}`` alone. Values outside the fast paths of ``_codec_text_py``
are converted by pydicom, one element at a time (``fastfind._pydicom_values``).

Decisions where this differs from pydicom (each tested in ``tests/test_dicom_json.py``):

* Structure comes from the walk (PS3.5 §7.5): a sequence and its items are what the walk found.
  pydicom re-reads nested sequences itself and disagrees in a few malformed cases (a nested
  undefined-length UN in big endian, whose items PS3.5 §6.2.2 says are implicit VR little
  endian; an implicit-VR element of undefined length that pydicom does not take for a
  sequence); there the walk's reading is written.
* An element pydicom cannot convert is ``{"vr":"UN","InlineBinary":...}`` of its raw bytes by
  itself, wherever it is; pydicom's ``to_json_dict`` fails the whole top-level sequence around it.
* An empty value of a multi-valued PN is ``null`` (PS3.18 F.2.5); pydicom raises.
* Non-finite floats (FL/FD NaN or infinity, DS ``nan``/``1e999``) are the strings ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"``: ``json.dumps`` writes the non-JSON literals NaN/Infinity.
* Repeated tags in one data set are written once, where the tag first appears, with the last
  value (what pydicom's dict keeps); (0008,0005) applies to its whole data set wherever it is.
* Group lengths (gggg,0000) are written, as pydicom writes them (PS3.18 F.2.2 says to omit
  them; kept so that the output equals pydicom's).
"""

from __future__ import annotations

import base64
import math
import struct

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
    charset_kind,
    dictionary_vr,
    json_quote,
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

__all__ = ["encode_json"]

_ELEMENT, _SEQUENCE = 0, 1
_F_IMPLICIT, _F_BIG_ENDIAN = 1, 2
_CHARSET_TAG = 0x00080005
_NUM = {C_US: ("H", 2), C_SS: ("h", 2), C_UL: ("L", 4), C_SL: ("l", 4), C_UV: ("Q", 8),
        C_SV: ("q", 8), C_FL: ("f", 4), C_FD: ("d", 8)}
_VR_STRS = [chr(65 + i // 26) + chr(65 + i % 26) for i in range(676)]
_NONFINITE = {"nan": b'"NaN"', "inf": b'"Infinity"', "-inf": b'"-Infinity"'}
_DEFAULT = (K_LATIN1, ["iso8859"])  # pydicom's default_encoding when (0008,0005) is absent




def dataset_children(st: _State, first: int, end: int, inherited: tuple[int, list[str]]):  # type: ignore[no-untyped-def]
    """The direct children of the data set in tokens ``[first, end)`` in output order (None:
    natural order, tags strictly ascending) and the data set's character set ``(kind,
    encodings)``: its own (0008,0005) or ``inherited``."""
    a = st.a
    i, last, charset, ascending = first, -1, -1, True
    order: dict[int, int] = {}
    while i < end:
        base = i * NFIELDS
        tag = a[base + TAG]
        if tag <= last:
            ascending = False
        last = tag
        order[tag] = i
        if tag == _CHARSET_TAG:
            charset = i
        i = a[base + LINK] if a[base + PACKED] & KIND_MASK == _SEQUENCE else i + 1
    cs = inherited if charset < 0 else charset_of(st, charset)
    return (None if ascending else list(order.values())), cs


_CHARSETS: dict[bytes, tuple[int, list[str]]] = {}


def charset_info(value: bytes, vr: str | None, implicit: bool, little: bool) -> tuple[int, list[str]]:
    """``(fast-path kind, Python encodings)`` of a SpecificCharacterSet value, as pydicom reads it
    (cached per value, like :func:`fastfind.dataset._encodings`)."""
    found = _CHARSETS.get(value)
    if found is None:
        from ._pydicom_values import encodings_of

        encodings = encodings_of(value, vr, implicit, little)
        found = (charset_kind(encodings), encodings)
        if len(_CHARSETS) < 256:
            _CHARSETS[value] = found
    return found


def charset_of(st: _State, i: int) -> tuple[int, list[str]]:
    """``(kind, encodings)`` of the (0008,0005) element at token ``i``."""
    kind, _depth, _tag, vr, _length, start, end = st.tokens[i]
    value = st.plain[start:end]
    found = _CHARSETS.get(value)
    if found is None:
        flags = st.tokens.flags(i)
        found = charset_info(value, "SQ" if kind == _SEQUENCE else vr, bool(flags & _F_IMPLICIT),
                             not flags & _F_BIG_ENDIAN)
    return found


def encode_json(plain: bytes, tokens, ts) -> bytes:  # type: ignore[no-untyped-def]
    """The identifier (plain bytes and their :class:`Tokens`) as one compact DICOM JSON object
    (PS3.18 F.2), UTF-8. Raises CodecError if its SpecificCharacterSet cannot be read (as
    :func:`fastfind.dataset.dataset_from_walk` does)."""
    st = _State(plain, tokens, ts)
    a = st.a
    out = bytearray(b"{")
    order, cs = dataset_children(st, 0, len(tokens), _DEFAULT)
    # frames: [is_dataset, cursor, end, order, position, count, charset]
    stack = [[True, 0, len(tokens), order, 0, 0, cs]]
    while stack:
        f = stack[-1]
        if f[0]:  # a data set: its next child
            order = f[3]
            if order is None:
                i = f[1]
                if i >= f[2]:
                    i = -1
                else:
                    base = i * NFIELDS
                    f[1] = a[base + LINK] if a[base + PACKED] & KIND_MASK == _SEQUENCE else i + 1
            else:
                i = order[f[4]] if f[4] < len(order) else -1
                f[4] += 1
            if i < 0:
                out += b"}"
                stack.pop()
                continue
            if f[5]:
                out += b","
            f[5] += 1
            base = i * NFIELDS
            out += b'"%08X":' % a[base + TAG]
            if a[base + PACKED] & KIND_MASK == _SEQUENCE:
                out += b'{"vr":"SQ","Value":['
                stack.append([False, i + 1, a[base + LINK] - 1, None, 0, 0, f[6]])
            else:
                element(st, out, i, f[6])
        else:  # a sequence: its next item
            i = f[1]
            if i >= f[2]:
                out += b"]}"
                stack.pop()
                continue
            f[1] = a[i * NFIELDS + LINK]
            if f[5]:
                out += b","
            f[5] += 1
            out += b"{"
            end = a[i * NFIELDS + LINK] - 1
            order, cs = dataset_children(st, i + 1, end, f[6])
            stack.append([True, i + 1, end, order, 0, 0, cs])
    return bytes(out)


def element(st: _State, out: bytearray, i: int, cs: tuple[int, list[str]]) -> None:
    """Append the attribute object of ELEMENT token ``i``."""
    a = st.a
    base = i * NFIELDS
    tag, start, end, packed = a[base + TAG], a[base + START], a[base + END], a[base + PACKED]
    vri, flags = (packed >> VRI_SHIFT) - 1, packed >> FLAGS_SHIFT & FLAGS_MASK
    vri, cls = dictionary_vr(tag, vri)
    raw = st.plain[start:end]
    if cls != C_SLOW and element_fast(out, cls, vri, raw, flags, cs):
        return
    out += st.slow().element_json(i)


def element_fast(out: bytearray, cls: int, vri: int, raw: bytes, flags: int,
                 cs: tuple[int, list[str]]) -> bool:
    """Append the attribute object of a value in class ``cls``; False (nothing written) when
    pydicom must convert it."""
    vr = _VR_STRS[vri]
    if cls == C_BIN:
        if raw:
            out += b'{"vr":"%s","InlineBinary":"%s"}' % (vr.encode(), base64.b64encode(raw))
        else:
            out += b'{"vr":"%s"}' % vr.encode()
        return True
    if cls in _NUM:
        code, size = _NUM[cls]
        if len(raw) % size:  # pydicom's BytesLengthException: the raw bytes as UN
            out += b'{"vr":"UN","InlineBinary":"%s"}' % base64.b64encode(raw)
            return True
        if not raw:
            out += b'{"vr":"%s"}' % vr.encode()
            return True
        values = struct.unpack(("<" if not flags & _F_BIG_ENDIAN else ">") + code * (len(raw) // size), raw)
        if cls == C_FL or cls == C_FD:
            text = b",".join(_float(v) for v in values)
        else:
            text = b",".join(b"%d" % v for v in values)
        out += b'{"vr":"%s","Value":[%s]}' % (vr.encode(), text)
        return True
    if cls == C_AT:
        if len(raw) % 4:
            return False
        if not raw:
            out += b'{"vr":"AT"}'
            return True
        fmt = "<" if not flags & _F_BIG_ENDIAN else ">"
        pairs = struct.unpack(fmt + "HH" * (len(raw) // 4), raw)
        text = b",".join(b'"%04X%04X"' % (pairs[k], pairs[k + 1]) for k in range(0, len(pairs), 2))
        out += b'{"vr":"AT","Value":[%s]}' % text
        return True
    values = split_values(cls, raw, cs[0], cs[1])
    if values is None:
        return False
    if len(values) == 1 and not values[0]:
        out += b'{"vr":"%s"}' % vr.encode()
        return True
    if cls == C_PN:
        parts = [_pn(v) for v in values]
        if len(parts) == 1 and parts[0] == b"null":
            out += b'{"vr":"PN"}'  # one empty name (only '=' separators): VM 0
            return True
        text = b",".join(parts)
    elif cls == C_IS:
        text = b",".join(b"%d" % int(v) for v in values)
    elif cls == C_DS:
        text = b",".join(_float(float(v)) for v in values)
    else:
        text = b",".join(json_quote(v) for v in values)
    out += b'{"vr":"%s","Value":[%s]}' % (vr.encode(), text)
    return True


def _float(v: float) -> bytes:
    if math.isfinite(v):
        return repr(v).encode()
    return _NONFINITE[repr(v)]


def _pn(value: bytes) -> bytes:
    comps = value.split(b"=")
    while comps and not comps[-1]:
        comps.pop()
    if not comps:
        return b"null"
    out = b'{"Alphabetic":' + json_quote(comps[0])
    if len(comps) > 1:
        out += b',"Ideographic":' + json_quote(comps[1])
    if len(comps) > 2:
        out += b',"Phonetic":' + json_quote(comps[2])
    return out + b"}"
