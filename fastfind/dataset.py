"""Identifiers as pydicom Datasets: the one module that relies on pydicom internals.

An identifier decodes into a :class:`pydicom.Dataset` of :class:`pydicom.dataelem.RawDataElement`
values -- exactly what pydicom's own reader makes, converted only when an element is accessed
(PS3.5 §7). Building it skips ``Dataset.__init__``'s attribute machinery (``object.__new__``) and
``RawDataElement``'s NamedTuple constructor (``tuple.__new__``); ``tests/test_pydicom_contract.py``
pins both. Queries are encoded with pydicom's writer.
"""

from __future__ import annotations

import warnings
from io import BytesIO

from pydicom.charset import convert_encodings
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_dataset
from pydicom.tag import BaseTag

from . import codec
from .dicom.uids import TransferSyntax
from .dicom.vr import NEW_VRS
from .errors import CodecError
from .options import Limits


def decode_identifier(data: bytes, ts: TransferSyntax, limits: Limits | None = None) -> Dataset:
    """Decode an identifier as received into a lazily converted pydicom Dataset.

    The whole structure is validated first (bounded depth, every length checked), so pydicom's
    own recursive conversion of a sequence can never go deeper than ``limits.max_nesting``. The
    result equals ``pydicom.filereader.read_dataset`` of the same bytes.
    """
    plain, toks = codec.walk_identifier(data, ts, limits)
    return dataset_from_walk(plain, toks, ts)


def dataset_from_walk(plain: bytes, toks: codec.Tokens, ts: TransferSyntax) -> Dataset:
    """The Dataset of an identifier already walked by :func:`fastfind.codec.walk_identifier`."""
    implicit, little = ts.implicit, ts.little
    elements: dict[BaseTag, RawDataElement] = {}
    tags = _TAGS
    new = tuple.__new__
    raw_cls = RawDataElement
    sequence = codec.SEQUENCE
    for kind, depth, tag, vr, length, start, end in toks:
        if depth or kind > sequence:
            continue
        btag = tags.get(tag)
        if btag is None:
            btag = BaseTag(tag)
            if len(tags) < 65536:
                tags[tag] = btag
        raw_implicit, raw_little = implicit, little
        if kind == sequence:
            if vr is None:
                vr = "SQ"  # implicit VR: the walk decided it is a sequence (dictionary or undefined length)
            elif vr == "UN":  # undefined-length UN: a sequence in implicit VR LE (PS3.5 §6.2.2)
                vr, raw_implicit, raw_little = "SQ", True, True
        # RawDataElement is a NamedTuple: tuple.__new__ builds the same object, twice as fast
        elements[btag] = new(
            raw_cls, (btag, vr, length, plain[start:end], start, raw_implicit, raw_little, True, False)
        )
    encoding: list[str] | None = None
    charset = elements.get(_CHARSET)
    if charset is not None:
        encoding = _encodings(charset, implicit, little)
    return _new_dataset(elements, implicit, little, encoding)


_TAGS: dict[int, BaseTag] = {}
_CHARSET = BaseTag(0x00080005)
_ENCODINGS: dict[bytes, list[str]] = {}
_TEMPLATE = dict(Dataset().__dict__)


def _encodings(raw: RawDataElement, implicit: bool, little: bool) -> list[str]:
    """Python codec names for a raw SpecificCharacterSet element (cached per value)."""
    key = bytes(raw.value or b"")
    found = _ENCODINGS.get(key)
    if found is not None:
        return found
    try:
        probe = Dataset({_CHARSET: raw})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = convert_encodings(probe.SpecificCharacterSet)
    except Exception as exc:  # a wrong VR or garbage must not escape as anything else
        raise CodecError(f"cannot read SpecificCharacterSet: {exc}") from None
    if len(_ENCODINGS) < 256:
        _ENCODINGS[key] = found
    return found


def _new_dataset(
    elements: dict[BaseTag, RawDataElement], implicit: bool, little: bool, encoding: list[str] | None
) -> Dataset:
    """A Dataset over ``elements`` without running Dataset.__init__'s attribute machinery."""
    ds = object.__new__(Dataset)
    state = dict(_TEMPLATE)
    state["_dict"] = elements
    state["_private_blocks"] = {}
    state["_pixel_array_opts"] = {"use_pdh": False}
    state["_pixel_id"] = {}
    state["_read_implicit"] = implicit
    state["_read_little"] = little
    if encoding is not None:
        state["_read_charset"] = encoding
    ds.__dict__.update(state)
    return ds


def encode_identifier(ds: Dataset, ts: TransferSyntax, level: int = 6, new_vrs: bool = True) -> bytes:
    """Encode a query identifier in ``ts`` (deflated with ``level`` if ``ts`` is deflated).

    ``new_vrs=False`` is findscu's ``-u``: the post-1993 VRs are written as OB (see
    :func:`without_new_vrs`).
    """
    fp = BytesIO()
    try:
        out = DicomFileLike(fp)
        out.is_little_endian = ts.little
        out.is_implicit_VR = ts.implicit
        write_dataset(out, ds)  # type: ignore[arg-type]
    except Exception as exc:
        raise CodecError(f"cannot encode the query identifier: {exc}") from None
    data = fp.getvalue()
    if not new_vrs and not ts.implicit:
        data = without_new_vrs(data, codec.walk(data, False, ts.little, codec.SQ_TAGS, 1 << 30))
    return codec.deflate(data, level) if ts.deflated else data


#: The VRs DCMTK does not write when their generation is disabled (``findscu -u``,
#: ``dcmDisableGenerationOfNewVRs``): ``DcmVR::getValidEVR`` then gives OB for every one of them
#: (PS3.5 Table 7.1-1: they all use the 4-byte length form, as OB does).


def without_new_vrs(plain: bytes, tokens: codec.Tokens) -> bytes:
    """``plain`` (an explicit VR data set) with every element of a post-1993 VR written as OB,
    as DCMTK writes data sets under ``-u``; nothing else changes (same lengths, same bytes).

    A UN of undefined length is a sequence (PS3.5 §6.2.2); DCMTK writes it as SQ with its
    items re-encoded in explicit VR. Here it is kept as received, UN -- the one difference.
    """
    patch: bytearray | None = None
    element = codec.ELEMENT
    for i in range(len(tokens)):
        kind, _depth, _tag, vr, _length, start, _end = tokens[i]
        if kind == element and vr in NEW_VRS:
            if patch is None:
                patch = bytearray(plain)
            patch[start - 8 : start - 6] = b"OB"  # long form: tag, VR, 2 reserved, length
    return plain if patch is None else bytes(patch)
