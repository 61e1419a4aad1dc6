"""pydicom's value semantics for single elements: the fallback of both codecs' output encoders.

:mod:`fastfind._codec` and its twin write DICOM JSON (PS3.18 F.2) and CSV/Arrow cells straight
from the identifier bytes for the values they know exactly (see ``_codec_text_py``). Everything
else -- a text in a character set without a fast path, an ambiguous or private VR, an explicit
``UN``, a number string outside the strict grammar, ... -- comes here, once per such value, and
pydicom decides: the element is read from a pydicom Dataset of its own data set (the top level
is :func:`fastfind.dataset.dataset_from_walk`, an item is built the same way from its tokens),
so the answer is pydicom's by construction.

fastfind's decisions where pydicom raises or writes something that is not JSON (both
encoders and :func:`fastfind.output.dicom_json.to_json_dict` apply them, so they agree):

* An element pydicom cannot convert (a number whose length does not fit its VR, an IS/DS that
  is no number, an AT of 4n+2 bytes, ...) is ``{"vr": "UN", "InlineBinary": <raw bytes>}`` by
  itself; pydicom's ``Dataset.to_json_dict`` fails the whole enclosing data set instead.
* An empty value in a multi-valued PN (``A^B\\``) is ``null`` (PS3.18 F.2.5); pydicom raises.
* A float that is not finite (FL/FD NaN or infinity, a DS like ``1e999`` or ``nan``) is the JSON
  string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``: ``json.dumps`` would write the
  non-JSON literals NaN/Infinity, which strict JSON readers refuse.
"""

from __future__ import annotations

import base64
import json
import math
import warnings
from typing import Any

from pydicom.charset import decode_bytes
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.valuerep import TEXT_VR_DELIMS, PersonName

from . import codec
from .dataset import _encodings, _new_dataset, dataset_from_walk

_PIXREP = BaseTag(0x00280103)
_CHARSET = BaseTag(0x00080005)
_NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


# ---- text ----------------------------------------------------------------------------------------
def decode(raw: bytes, encodings: list[str]) -> str:
    """``raw`` decoded as pydicom decodes a text value (``charset.decode_bytes``; PS3.5 §6.1.2.5
    code extensions; undecodable bytes replaced, without pydicom's warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return decode_bytes(raw, encodings, TEXT_VR_DELIMS)


def encodings_of(value: bytes, vr: str | None, implicit: bool, little: bool) -> list[str]:
    """Python codec names of a SpecificCharacterSet value, as the Dataset of the response gets
    them (:func:`fastfind.dataset._encodings`, cached; raises CodecError on garbage)."""
    raw = RawDataElement(_CHARSET, vr, len(value), value, 0, implicit, little, True, False)
    return _encodings(raw, implicit, little)


# ---- one element, pydicom's value + fastfind's decisions -----------------------------------------
def element_dict(ds: Dataset, tag: BaseTag) -> dict[str, Any]:
    """The PS3.18 F.2 attribute object of ``ds[tag]`` (pydicom's ``to_json_dict`` of the
    element, items recursively the same way) with the decisions of the module docstring."""
    raw = ds._dict[tag]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            elem = ds[tag]
            vr = elem.VR
            if vr == "SQ":
                return {"vr": vr, "Value": [dataset_dict(item) for item in elem.value]}
            if vr == "PN":
                return _pn_dict(elem)
            out = elem.to_json_dict(bulk_data_element_handler=None, bulk_data_threshold=1 << 30)
    except Exception:  # pydicom cannot convert it: its raw bytes, as UN
        value = getattr(raw, "value", None)
        value = value if isinstance(value, bytes) else b""
        return {"vr": "UN", "InlineBinary": base64.b64encode(value).decode("ascii")}
    values = out.get("Value")
    if values and vr in ("DS", "FL", "FD"):
        out["Value"] = [_finite(v) for v in values]
    return out


def dataset_dict(ds: Dataset) -> dict[str, Any]:
    """The PS3.18 F.2 JSON object of a pydicom data set, one :func:`element_dict` per element.

    ``ds`` itself is not converted (a shallow copy is), so the raw bytes of an element pydicom
    cannot write stay available to the next call."""
    work = object.__new__(type(ds))
    work.__dict__.update(ds.__dict__)
    work.__dict__["_dict"] = dict(ds._dict)
    return {f"{int(tag):08X}": element_dict(work, tag) for tag in list(work.keys())}


def _pn_dict(elem: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"vr": "PN"}
    if elem.is_empty:
        return out
    names = elem.value if elem.VM > 1 else [elem.value]
    values: list[Any] = []
    for name in names:
        comps = name.components if isinstance(name, PersonName) else str(name).split("=")
        if not comps:
            values.append(None)  # empty value in a multi-valued PN (PS3.18 F.2.5)
            continue
        obj = {"Alphabetic": comps[0]}
        if len(comps) > 1:
            obj["Ideographic"] = comps[1]
        if len(comps) > 2:
            obj["Phonetic"] = comps[2]
        values.append(obj)
    out["Value"] = values
    return out


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return _NONFINITE[repr(v)]
    return v


def element_json(ds: Dataset, tag: BaseTag) -> bytes:
    """:func:`element_dict` as compact JSON, UTF-8."""
    text = json.dumps(element_dict(ds, tag), ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "replace")


# ---- CSV cells -------------------------------------------------------------------------------------
def cell_text(value: Any) -> str:
    """A converted pydicom value as a cell: ``str()``, multiple values joined with ``\\``,
    bytes as hex, nothing as ''. (The semantics of :func:`fastfind.output.csv_table.cell`.)"""
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(cell_text(v) for v in value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def cell(ds: Any, steps: list[tuple[int, int | None]]) -> str | None:
    """The cell of ``steps`` (a parsed field) in pydicom data set ``ds``; ``None`` when the field
    names no value (element absent, item out of range, a step through a non-sequence, a path
    ending at an item). A value pydicom cannot convert gives its raw bytes in hex."""
    current = ds
    last = len(steps) - 1
    for i, (tag, item) in enumerate(steps):
        if not isinstance(current, Dataset) or tag not in current._dict:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = current[tag].value
        except Exception:  # a value pydicom cannot convert: show its raw bytes
            raw_value = getattr(current.get_item(tag), "value", b"")
            return raw_value.hex() if isinstance(raw_value, bytes) and i == last else None
        if isinstance(value, Sequence):
            if i == last and item is None:
                return str(len(value))
            index = item or 0
            if index >= len(value) or i == last:
                return None
            current = value[index]
            continue
        if i != last:
            return None
        return cell_text(value)
    return None


# ---- the data sets of one identifier, built from its walk -------------------------------------------
class Fallback:
    """pydicom's view of one identifier's data sets, built lazily on the first value that needs it.

    The top level is :func:`fastfind.dataset.dataset_from_walk`; an item is a Dataset of
    RawDataElements built from its tokens like the top level, with what pydicom's reader would
    give it: the parent's character set unless it has its own (0008,0005) (PS3.5 §6.1.2.5.3),
    the pixel representation pydicom propagates into items for US/SS resolution, and its own
    encoding (an undefined-length UN's items are implicit VR little endian, PS3.5 §6.2.2).
    """

    def __init__(self, plain: bytes, tokens: Any, ts: Any):
        self.plain = plain
        self.tokens = tokens
        self.ts = ts
        self._parents: list[int] | None = None
        self._datasets: dict[int, Dataset] = {}
        self._pixel_rep: dict[int, Any] = {}

    def container(self, index: int) -> int:
        """Index of the ITEM token whose data set holds token ``index`` (-1: the top level)."""
        if self._parents is None:
            toks = self.tokens
            parents = [-1] * len(toks)
            stack: list[int] = []
            for i in range(len(toks)):
                kind = toks[i][0]
                parents[i] = stack[-1] if stack else -1
                if kind == codec.ITEM:
                    stack.append(i)
                elif kind in (codec.ITEM_END, codec.ITEM_DELIM):
                    stack.pop()
            self._parents = parents
        return self._parents[index]

    def dataset(self, item: int) -> Dataset:
        """The data set of ITEM token ``item`` (-1: the whole identifier)."""
        ds = self._datasets.get(item)
        if ds is None:
            ds = self._build(item)
            self._datasets[item] = ds
        return ds

    def _build(self, item: int) -> Dataset:
        if item < 0:
            return dataset_from_walk(self.plain, self.tokens, self.ts)
        toks, plain = self.tokens, self.plain
        parent = self.dataset(self.container(item))
        parent_encoding = parent.original_character_set or parent._character_set
        flags = toks.flags(item)
        implicit, little = bool(flags & codec.F_IMPLICIT), not flags & codec.F_BIG_ENDIAN
        elements: dict[BaseTag, RawDataElement] = {}
        i, end = item + 1, toks.link(item)
        while i < end:
            kind, _depth, tag, vr, length, start, stop = toks[i]
            f = toks.flags(i)
            el_implicit, el_little = bool(f & codec.F_IMPLICIT), not f & codec.F_BIG_ENDIAN
            if kind == codec.SEQUENCE:
                if vr is None:
                    vr = "SQ"
                elif vr == "UN":  # PS3.5 §6.2.2: its items are implicit VR little endian
                    vr, el_implicit, el_little = "SQ", True, True
            btag = BaseTag(tag)
            elements[btag] = RawDataElement(btag, vr, length, plain[start:stop], start,
                                            el_implicit, el_little, True, False)
            i = toks.link(i) + 1 if kind == codec.SEQUENCE else i + 1
        own = elements.get(_CHARSET)
        encoding = _encodings(own, implicit, little) if own is not None else parent_encoding
        ds = _new_dataset(elements, implicit, little, encoding)  # type: ignore[arg-type]
        ds.__dict__["_parent_encoding"] = parent_encoding
        pr = self._effective_pixel_rep(self.container(item))
        raw_pr = elements.get(_PIXREP)
        if raw_pr is not None and raw_pr.value is not None:
            pr = int(b"\x01" in raw_pr.value)  # pydicom reads the item's own raw value here
        if pr is not None:
            ds.__dict__["_pixel_rep"] = pr
        return ds

    def _effective_pixel_rep(self, item: int) -> Any:
        """The ``_pixel_rep`` pydicom passes to the items of a sequence in data set ``item``."""
        if item in self._pixel_rep:
            return self._pixel_rep[item]
        ds = self.dataset(item)
        pr = ds.__dict__.get("_pixel_rep")
        if _PIXREP in ds._dict:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    value = ds[_PIXREP].value
                if value is not None:
                    pr = int(b"\x01" in value) if isinstance(value, bytes) else value
            except Exception:
                pass
        self._pixel_rep[item] = pr
        return pr

    def element_json(self, index: int) -> bytes:
        """The attribute object of token ``index`` as compact JSON (see :func:`element_dict`)."""
        ds = self.dataset(self.container(index))
        return element_json(ds, BaseTag(self.tokens[index][2]))

    def cell(self, index: int, steps: list[tuple[int, int | None]]) -> str | None:
        """:func:`cell` of ``steps`` in the data set holding token ``index`` (the first step
        names that token's tag)."""
        return cell(self.dataset(self.container(index)), steps)

    def decode(self, raw: bytes, encodings: list[str]) -> str:
        return decode(raw, encodings)
