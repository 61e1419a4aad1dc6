"""The token layout of the pure-Python walk, shared by its twins (the Cython ``Token`` struct of
``_codec.pxd``, 28 bytes): one token is :data:`NFIELDS` unsigned 32-bit words of one
``array('I')``, at offsets :data:`TAG`, :data:`LENGTH`, :data:`START`, :data:`END`,
:data:`LINK` (the matching end/start token's index + 1, 0 = none), :data:`DEPTH` and
:data:`PACKED` (``kind | flags << 3 | (VR index + 1) << 5``; VR index -1 = implicit)."""

from __future__ import annotations

NFIELDS = 7
TAG, LENGTH, START, END, LINK, DEPTH, PACKED = range(NFIELDS)
KIND_MASK = 7  #: ``a[base + PACKED] & KIND_MASK`` is the kind
FLAGS_SHIFT, FLAGS_MASK = 3, 3  #: ``a[base + PACKED] >> FLAGS_SHIFT & FLAGS_MASK`` the flags
VRI_SHIFT = 5  #: ``(a[base + PACKED] >> VRI_SHIFT) - 1`` the VR index
