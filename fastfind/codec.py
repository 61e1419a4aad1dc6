"""The single place that chooses between the Cython codec and its pure-Python twin.

``FASTFIND_NO_EXTENSIONS=1`` forces the Python twin; ``FASTFIND_REQUIRE_EXTENSIONS=1`` makes a
missing extension an ImportError (CI). :data:`IMPLEMENTATION` says which one is in use.

Both implementations have the same names, results and exceptions: the receiver (PS3.8 §9.3,
Annex E), command sets (PS3.7 §6.3), the identifier walk (PS3.5 §7) and bounded inflate
(PS3.5 A.5). :func:`walk_identifier` is the one call that turns an identifier as received into
its plain bytes and :class:`Tokens`, validating it with the run's :class:`~fastfind.options.Limits`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

from pydicom.datadict import DicomDictionary

from .dicom.uids import (  # noqa: F401  (re-exported: the data phase names them here)
    DEFLATED_LE,
    EXPLICIT_BE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    TRANSFER_SYNTAXES,
    TransferSyntax,
)
from .options import DEFAULT_MAX_DEPTH, DEFAULT_MAX_IDENTIFIER, Limits

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
Tokens = _impl.Tokens
decode_command = _impl.decode_command
encode_command = _impl.encode_command
encode_pdata = _impl.encode_pdata
walk = _impl.walk
walk_dataset = _impl.walk_dataset
inflate = _impl.inflate
deflate = _impl.deflate
write_files = _impl.write_files
WRITE_CREATED = _impl.WRITE_CREATED
WRITE_REPLACED = _impl.WRITE_REPLACED
EV_MESSAGE = _impl.EV_MESSAGE
EV_PDU = _impl.EV_PDU
F_IMPLICIT = _impl.F_IMPLICIT
F_BIG_ENDIAN = _impl.F_BIG_ENDIAN
VR_STRS = _impl.VR_STRS
ELEMENT, SEQUENCE, ITEM, ITEM_END, ITEM_DELIM, SEQUENCE_END, SEQUENCE_DELIM = (
    _impl.ELEMENT,
    _impl.SEQUENCE,
    _impl.ITEM,
    _impl.ITEM_END,
    _impl.ITEM_DELIM,
    _impl.SEQUENCE_END,
    _impl.SEQUENCE_DELIM,
)

# ---- output encodings -------------------------------------------------------------------------
# DICOM JSON, CSV cells and Arrow columns (_codec_text/_codec_json/_codec_cells):
encode_json = _impl.encode_json
decode_text = _impl.decode_text
CellFields = _impl.CellFields
ArrowColumns = _impl.ArrowColumns

# DCMTK's XML (_codec_xml):
xml_document = _impl.xml_document
xml_dataset_utf8 = _impl.xml_dataset_utf8
dcmtk_float = _impl.dcmtk_float
XML_ENCODINGS = _impl.XML_ENCODINGS


#: Tags whose dictionary VR is SQ: how implicit-VR sequences of defined length are recognised.
SQ_TAGS: frozenset[int] = frozenset(t for t, entry in DicomDictionary.items() if entry[0] == "SQ")

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_IDENTIFIER", "Walk", "walk_identifier", "plain_bytes"]


class Walk(NamedTuple):
    """An identifier after :func:`walk_identifier`: its plain (inflated) bytes and tokens."""

    plain: bytes
    tokens: Tokens


def plain_bytes(data: bytes, ts: TransferSyntax, max_size: int = DEFAULT_MAX_IDENTIFIER) -> bytes:
    """The identifier bytes before deflate: ``data`` itself unless ``ts`` is deflated."""
    return inflate(data, max_size) if ts.deflated else data


def walk_identifier(data: bytes, ts: TransferSyntax, limits: Limits | None = None) -> Walk:
    """Inflate (bounded) if ``ts`` is deflated and walk the whole identifier (bounded nesting).

    Raises :class:`~fastfind.errors.CodecError` if it is not a well-formed data set.
    """
    lim = limits or Limits()
    plain = inflate(data, lim.max_identifier_size) if ts.deflated else data
    return Walk(plain, walk(plain, ts.implicit, ts.little, SQ_TAGS, lim.max_nesting))


def tokens(
    data: bytes,
    ts: TransferSyntax,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int = DEFAULT_MAX_IDENTIFIER,
) -> Walk:
    """:func:`walk_identifier` with the limits given one by one (kept for callers of 0.1)."""
    return walk_identifier(data, ts, Limits(max_nesting=max_depth, max_identifier_size=max_size))


def decode_identifier(
    data: bytes,
    ts: TransferSyntax,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int = DEFAULT_MAX_IDENTIFIER,
):  # type: ignore[no-untyped-def]
    """See :func:`fastfind.dataset.decode_identifier` (kept here for callers of 0.1)."""
    from .dataset import decode_identifier as decode

    return decode(data, ts, Limits(max_nesting=max_depth, max_identifier_size=max_size))


def encode_identifier(ds, ts: TransferSyntax, level: int = 6) -> bytes:  # type: ignore[no-untyped-def]
    """See :func:`fastfind.dataset.encode_identifier`."""
    from .dataset import encode_identifier as encode

    return encode(ds, ts, level)
