"""The single place that chooses between the Cython codec and its pure-Python twin.

``FASTFIND_NO_EXTENSIONS=1`` forces the Python twin; ``FASTFIND_REQUIRE_EXTENSIONS=1`` makes a
missing extension an ImportError (CI). :data:`IMPLEMENTATION` says which one is in use.

On top of the raw codec this module builds the pydicom objects: identifiers become a
:class:`pydicom.Dataset` of :class:`pydicom.dataelem.RawDataElement` values -- exactly what
pydicom's own reader makes, decoded only when an element is accessed (PS3.5 §7).
"""

from __future__ import annotations

import os
import warnings
from io import BytesIO
from typing import TYPE_CHECKING

from pydicom.charset import convert_encodings
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filewriter import write_dataset
from pydicom.tag import BaseTag

from .dicom.uids import (  # noqa: F401  (re-exported for the data phase)
    DEFLATED_LE,
    EXPLICIT_BE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    TRANSFER_SYNTAXES,
    TransferSyntax,
)
from .errors import CodecError

NO_EXTENSIONS = bool(os.environ.get("FASTFIND_NO_EXTENSIONS"))

if TYPE_CHECKING or NO_EXTENSIONS:
    from . import _codec_py as _impl

    IMPLEMENTATION = "python"
else:
    try:
        from . import _codec as _impl  # type: ignore[no-redef]

        IMPLEMENTATION = "cython"
    except ImportError:
        if os.environ.get("FASTFIND_REQUIRE_EXTENSIONS"):
            raise
        from . import _codec_py as _impl

        IMPLEMENTATION = "python"

Receiver = _impl.Receiver
decode_command = _impl.decode_command
encode_command = _impl.encode_command
encode_pdata = _impl.encode_pdata
walk_dataset = _impl.walk_dataset
inflate = _impl.inflate
deflate = _impl.deflate
EV_MESSAGE = _impl.EV_MESSAGE
EV_PDU = _impl.EV_PDU
ELEMENT, SEQUENCE, ITEM, ITEM_END, ITEM_DELIM, SEQUENCE_END, SEQUENCE_DELIM = (
    _impl.ELEMENT,
    _impl.SEQUENCE,
    _impl.ITEM,
    _impl.ITEM_END,
    _impl.ITEM_DELIM,
    _impl.SEQUENCE_END,
    _impl.SEQUENCE_DELIM,
)

#: Tags whose dictionary VR is SQ: how implicit-VR sequences of defined length are recognised.
SQ_TAGS: frozenset[int] = frozenset(t for t, entry in DicomDictionary.items() if entry[0] == "SQ")

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_IDENTIFIER = 64 << 20




def plain_bytes(data: bytes, ts: TransferSyntax, max_size: int = DEFAULT_MAX_IDENTIFIER) -> bytes:
    """The identifier bytes before deflate: ``data`` itself unless ``ts`` is deflated."""
    return inflate(data, max_size) if ts.deflated else data


def tokens(
    data: bytes,
    ts: TransferSyntax,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int = DEFAULT_MAX_IDENTIFIER,
) -> tuple[bytes, list[tuple[int, int, int, str | None, int, int, int]]]:
    """Inflate if needed and tokenise; returns ``(plain bytes, tokens)``. Validates the whole set."""
    plain = plain_bytes(data, ts, max_size)
    return plain, walk_dataset(plain, ts.implicit, ts.little, SQ_TAGS, max_depth)


def decode_identifier(
    data: bytes,
    ts: TransferSyntax,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int = DEFAULT_MAX_IDENTIFIER,
) -> Dataset:
    """Decode an identifier into a lazily-converted pydicom Dataset.

    The whole structure is validated first (bounded depth, every length checked), so pydicom's
    own recursive conversion of a sequence can never go deeper than ``max_depth``. The result
    equals ``pydicom.filereader.read_dataset`` of the same bytes.
    """
    plain, toks = tokens(data, ts, max_depth, max_size)
    implicit, little = ts.implicit, ts.little
    elements: dict[BaseTag, RawDataElement] = {}
    tags = _TAGS
    new = tuple.__new__
    raw_cls = RawDataElement
    for kind, depth, tag, vr, length, start, end in toks:
        if depth or kind > SEQUENCE:
            continue
        btag = tags.get(tag)
        if btag is None:
            btag = BaseTag(tag)
            if len(tags) < 65536:
                tags[tag] = btag
        # RawDataElement is a NamedTuple: tuple.__new__ builds the same object, twice as fast
        if kind == SEQUENCE and vr is None:
            vr = "SQ"  # implicit VR: the walk decided it is a sequence (dictionary or undefined length)
        elements[btag] = new(
            raw_cls, (btag, vr, length, plain[start:end], start, implicit, little, True, False)
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


def encode_identifier(ds: Dataset, ts: TransferSyntax, level: int = 6) -> bytes:
    """Encode a query identifier in ``ts`` (deflated with ``level`` if ``ts`` is deflated)."""
    fp = BytesIO()
    try:
        from pydicom.filebase import DicomFileLike

        out = DicomFileLike(fp)
        out.is_little_endian = ts.little
        out.is_implicit_VR = ts.implicit
        write_dataset(out, ds)  # type: ignore[arg-type]
    except Exception as exc:
        raise CodecError(f"cannot encode the query identifier: {exc}") from None
    data = fp.getvalue()
    return deflate(data, level) if ts.deflated else data
