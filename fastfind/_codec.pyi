"""Type stub for the Cython codec: its API is the pure-Python twin's, name for name
(``tests/test_codec.py::test_same_public_names`` checks that), so the stub is the twin's."""

from ._codec_py import *  # noqa: F403
