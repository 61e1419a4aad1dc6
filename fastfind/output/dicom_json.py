"""Responses as DICOM JSON (PS3.18 Annex F): one JSON array, or NDJSON (one object per line).

:func:`response_json` converts one identifier. Text values are decoded with the response's
SpecificCharacterSet; bytes that do not decode are replaced for display only (the identifier
bytes are never changed, and ``-X`` files keep them as received). Binary values are written as
``InlineBinary`` (base64). In a batch each response is wrapped as
``{"query": <row, from 1>, "response": <object>}``.
"""

from __future__ import annotations

import logging
from typing import Any

from pydicom.dataset import Dataset

from .. import codec
from ..client import FindResponse
from .sinks import StreamSink

log = logging.getLogger("fastfind")


def to_json_dict(ds: Dataset) -> dict[str, Any]:
    """The PS3.18 F.2 JSON object of a data set: pydicom's ``to_json_dict`` of each element
    (warnings silenced), items the same way, with fastfind's decisions where pydicom raises or
    writes what is not JSON (:mod:`fastfind._pydicom_values`): an element pydicom cannot convert
    (a value length that does not fit its VR, an IS that is no number, ...) is ``UN`` with its
    raw bytes as InlineBinary, by itself; an empty value of a multi-valued PN is ``null``;
    non-finite floats are the strings "NaN", "Infinity", "-Infinity".

    :func:`fastfind.codec.encode_json` writes the same from the identifier bytes.
    """
    from .._pydicom_values import dataset_dict

    return dataset_dict(ds)


def response_json(rsp: FindResponse) -> bytes:
    """One response's identifier as a compact DICOM JSON object, UTF-8 encoded, straight from
    its bytes (:func:`fastfind.codec.encode_json`; parsed, it equals :func:`to_json_dict` of
    ``rsp.dataset``)."""
    if rsp.identifier is None:
        return b"{}"
    return codec.encode_json(rsp.plain, rsp.tokens, rsp.transfer_syntax)


class JsonSink(StreamSink):
    """``--extract-json`` (one JSON array) / ``--extract-ndjson`` (one object per line)."""

    def __init__(self, path: str, *, ndjson: bool = False, sync: bool = False, batch: bool = False):
        super().__init__(path, sync=sync)
        self.ndjson = ndjson
        self.batch = batch
        self._encode = codec.encode_json
        if not ndjson:
            self._file.write(b"[")

    def add(self, rsp: FindResponse) -> None:
        if rsp.identifier is None:
            return
        text = self._encode(rsp.plain, rsp.tokens, rsp.transfer_syntax)
        if self.batch:
            text = b'{"query":%d,"response":%s}' % ((rsp.query or 0) + 1, text)
        if self.ndjson:
            self._file.write(text + b"\n")
        else:
            self._file.write((b"\n" if self.written == 0 else b",\n") + text)
        self.written += 1

    def trailer(self) -> bytes:
        if self.ndjson:
            return b""
        return b"\n]\n" if self.written else b"]\n"

