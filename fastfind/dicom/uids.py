"""UIDs fastfind uses: query models (PS3.4 C.6, K.6), transfer syntaxes (PS3.5 §10), our identity."""

from __future__ import annotations

import os
import random

from .._version import __version__

#: fastfind's implementation identity (PS3.7 D.3.3.2). A 2.25 UUID-derived root (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = "2.25.223907331180412346727386563373154217417"
IMPLEMENTATION_VERSION_NAME = "FASTFIND_" + __version__.replace(".", "")[:7]

#: DCMTK's generic "private file" SOP class, used as MediaStorageSOPClassUID when a response has no
#: SOPClassUID -- kept for byte-level compatibility of rspNNNN.dcm with DCMTK findscu.
GENERIC_FILE_SOP_CLASS = "1.2.276.0.7230010.3.1.0.1"


class TransferSyntax:
    """The three facts the data phase needs about a transfer syntax (PS3.5 §10)."""

    __slots__ = ("uid", "implicit", "little", "deflated")

    def __init__(self, uid: str, implicit: bool, little: bool, deflated: bool = False):
        self.uid = uid
        self.implicit = implicit
        self.little = little
        self.deflated = deflated

    @property
    def name(self) -> str:
        """The name DCMTK prints for this transfer syntax (``DcmXfer::getXferName``)."""
        return TS_NAMES.get(self.uid, "Unknown Transfer Syntax")

    def __repr__(self) -> str:
        return f"TransferSyntax({self.uid!r})"

    def __reduce__(self) -> tuple[object, tuple[str, bool, bool, bool]]:
        return (_transfer_syntax, (self.uid, self.implicit, self.little, self.deflated))


def _transfer_syntax(uid: str, implicit: bool, little: bool, deflated: bool) -> TransferSyntax:
    """Unpickle as the one object of a known transfer syntax (so ``is`` comparisons hold)."""
    return TRANSFER_SYNTAXES.get(uid) or TransferSyntax(uid, implicit, little, deflated)


IMPLICIT_LE = TransferSyntax("1.2.840.10008.1.2", True, True)
EXPLICIT_LE = TransferSyntax("1.2.840.10008.1.2.1", False, True)
EXPLICIT_BE = TransferSyntax("1.2.840.10008.1.2.2", False, False)
DEFLATED_LE = TransferSyntax("1.2.840.10008.1.2.1.99", False, True, True)
#: The transfer syntaxes a C-FIND identifier can arrive in, by UID.
TRANSFER_SYNTAXES = {ts.uid: ts for ts in (IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED_LE)}

MODELS = {
    "worklist": "1.2.840.10008.5.1.4.31",
    "patient": "1.2.840.10008.5.1.4.1.2.1.1",
    "study": "1.2.840.10008.5.1.4.1.2.2.1",
    "psonly": "1.2.840.10008.5.1.4.1.2.3.1",
}

#: Proposal orders of DCMTK findscu's -x=/-xe/-xb/-xi/-xd options on a little-endian host.
PROPOSALS = {
    "default": [EXPLICIT_LE.uid, EXPLICIT_BE.uid, IMPLICIT_LE.uid],
    "little": [EXPLICIT_LE.uid, EXPLICIT_BE.uid, IMPLICIT_LE.uid],
    "big": [EXPLICIT_BE.uid, EXPLICIT_LE.uid, IMPLICIT_LE.uid],
    "implicit": [IMPLICIT_LE.uid],
    "deflated": [
        DEFLATED_LE.uid,
        EXPLICIT_LE.uid,
        EXPLICIT_BE.uid,
        IMPLICIT_LE.uid,
    ],
}

#: Names DCMTK prints for transfer syntaxes (``DcmXfer::getXferName``); the one table of them.
TS_NAMES = {
    IMPLICIT_LE.uid: "Little Endian Implicit",
    EXPLICIT_LE.uid: "Little Endian Explicit",
    EXPLICIT_BE.uid: "Big Endian Explicit",
    DEFLATED_LE.uid: "Deflated Explicit VR Little Endian",
}


def resolve_model(model: str) -> str:
    """A query model name (``worklist``, ``patient``, ``study``, ``psonly``) or a UID."""
    return MODELS.get(model, model)


def new_uid() -> str:
    """A fresh UID under the 2.25 root: a random (version 4) UUID as an integer (PS3.5 B.2).

    The 122 random bits come from a generator seeded from ``os.urandom`` (and re-seeded in a
    forked child), not from a system call per UID: rspNNNN.dcm of study-level responses need one
    per file.
    """
    bits = _rng.getrandbits(128)
    bits = (bits & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    return f"2.25.{bits}"


def _reseed() -> None:
    _rng.seed(os.urandom(32))


_rng = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=_reseed)
