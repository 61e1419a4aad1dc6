"""UIDs fastfind uses: query models (PS3.4 C.6, K.6), transfer syntaxes (PS3.5 §10), our identity."""

from __future__ import annotations

import uuid

from . import codec
from ._version import __version__

#: fastfind's implementation identity (PS3.7 D.3.3.2). A 2.25 UUID-derived root (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = "2.25.223907331180412346727386563373154217417"
IMPLEMENTATION_VERSION_NAME = "FASTFIND_" + __version__.replace(".", "")[:7]

#: DCMTK's generic "private file" SOP class, used as MediaStorageSOPClassUID when a response has no
#: SOPClassUID -- kept for byte-level compatibility of rspNNNN.dcm with DCMTK findscu.
GENERIC_FILE_SOP_CLASS = "1.2.276.0.7230010.3.1.0.1"

MODELS = {
    "worklist": "1.2.840.10008.5.1.4.31",
    "patient": "1.2.840.10008.5.1.4.1.2.1.1",
    "study": "1.2.840.10008.5.1.4.1.2.2.1",
    "psonly": "1.2.840.10008.5.1.4.1.2.3.1",
}

#: Proposal orders of DCMTK findscu's -x=/-xe/-xb/-xi/-xd options on a little-endian host.
PROPOSALS = {
    "default": [codec.EXPLICIT_LE.uid, codec.EXPLICIT_BE.uid, codec.IMPLICIT_LE.uid],
    "little": [codec.EXPLICIT_LE.uid, codec.EXPLICIT_BE.uid, codec.IMPLICIT_LE.uid],
    "big": [codec.EXPLICIT_BE.uid, codec.EXPLICIT_LE.uid, codec.IMPLICIT_LE.uid],
    "implicit": [codec.IMPLICIT_LE.uid],
    "deflated": [
        codec.DEFLATED_LE.uid,
        codec.EXPLICIT_LE.uid,
        codec.EXPLICIT_BE.uid,
        codec.IMPLICIT_LE.uid,
    ],
}

#: Names DCMTK prints for transfer syntaxes.
TS_NAMES = {
    codec.IMPLICIT_LE.uid: "Little Endian Implicit",
    codec.EXPLICIT_LE.uid: "Little Endian Explicit",
    codec.EXPLICIT_BE.uid: "Big Endian Explicit",
    codec.DEFLATED_LE.uid: "Deflated Explicit VR Little Endian",
}


def resolve_model(model: str) -> str:
    """A query model name (``worklist``, ``patient``, ``study``, ``psonly``) or a UID."""
    return MODELS.get(model, model)


def new_uid() -> str:
    """A fresh UID under the 2.25 root (PS3.5 B.2)."""
    return f"2.25.{uuid.uuid4().int}"
