"""Responses as DICOM JSON (PS3.18 Annex F): one JSON array, or NDJSON (one object per line).

Text values are decoded with the response's SpecificCharacterSet by pydicom; bytes that do not
decode are replaced for display only (the identifier bytes are never changed, and ``-X`` files
keep them as received). Binary values are written as ``InlineBinary`` (base64).
"""

from __future__ import annotations

import base64
import json
import warnings
from typing import IO, Any

from pydicom.dataset import Dataset


def to_json_dict(ds: Dataset) -> dict[str, Any]:
    """The PS3.18 F.2 JSON object of a data set (pydicom's encoder, warnings silenced).

    An element pydicom cannot convert (a value length that does not fit its VR, a UN that the
    dictionary calls a sequence, ...) is written as ``UN`` with its raw bytes as InlineBinary
    instead of failing the whole response.
    """
    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in ds.elements():
            key = f"{int(raw.tag):08X}"
            try:
                out[key] = ds[raw.tag].to_json_dict(
                    bulk_data_element_handler=None, bulk_data_threshold=1 << 30
                )
            except Exception:
                value = raw.value if isinstance(raw.value, bytes) else b""
                out[key] = {"vr": "UN", "InlineBinary": base64.b64encode(value).decode("ascii")}
    return out


class JsonWriter:
    """Stream responses into ``fileobj`` (text, UTF-8) as a JSON array or as NDJSON."""

    def __init__(self, fileobj: IO[str], ndjson: bool = False):
        self.fileobj = fileobj
        self.ndjson = ndjson
        self.count = 0
        if not ndjson:
            fileobj.write("[")

    def add(self, ds: Dataset) -> None:
        text = json.dumps(to_json_dict(ds), ensure_ascii=False, separators=(",", ":"))
        if self.ndjson:
            self.fileobj.write(text + "\n")
        else:
            self.fileobj.write(("\n" if self.count == 0 else ",\n") + text)
        self.count += 1

    def close(self) -> None:
        if not self.ndjson:
            self.fileobj.write("\n]\n" if self.count else "]\n")
        self.fileobj.flush()
