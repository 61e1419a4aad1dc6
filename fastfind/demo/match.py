"""C-FIND matching for the demo SCP (PS3.4 C.2.2.2) and the Q/R level rules (PS3.4 C.4.1.3).

Matching types (PS3.4 C.2.2.2.1-C.2.2.2.6):

* universal: a zero-length key, or for wildcard VRs a value of only ``*``, matches every
  record, including one that lacks the attribute;
* single value: exact and case-sensitive, except PN (see below); leading and trailing
  spaces are not significant (trailing only for LT/ST/UT); TM and DT values are compared
  after normalisation (``10`` equals ``100000``); IS/DS/binary numbers numerically;
* wildcard (``*`` any run, ``?`` one character) for AE CS LO LT PN SH ST UC UR UT;
* range for DA/TM/DT: ``a-b``, ``-b``, ``a-``, bounds inclusive; a partial upper bound
  covers its whole span (``-12`` means up to 12:59:59.999999); timezone offsets in DT are
  ignored, combined date-time matching (extended negotiation) is not offered;
* list of UIDs (``uid1\\uid2``); this demo applies the same "any value" rule to every
  multi-valued key (a documented generalisation);
* sequence: an empty query sequence (or one whose item holds only universal keys) is
  universal; otherwise a record item matches when every key of the query item matches
  it, and the record matches when at least one of its items matches.  Only the matching
  items are returned, reduced to the query item's keys.

A multi-valued record attribute matches when any of its values matches.

Case: PN matching is case-insensitive (``str.casefold``), which PS3.4 C.2.2.2.1 allows for
PN; all other VRs are case-sensitive.  A non-universal key on an attribute the record
lacks does not match.

Return keys (PS3.4 C.2.2.1.2): a response holds exactly the query's keys, valued from the
record or zero-length when the record lacks them, plus the record's SpecificCharacterSet
(zero-length if it was asked for and the record has none) and, for Q/R, the
QueryRetrieveLevel.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag

from .data import LEVELS, DemoRecords

__all__ = [
    "MODELS",
    "CompiledQuery",
    "QueryError",
    "compile_query",
    "find_qr",
    "find_worklist",
    "value_matches",
]

WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})
NUMERIC_VRS = frozenset({"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "SV", "UV"})
_NO_LEADING_STRIP = frozenset({"LT", "ST", "UT"})

SPECIFIC_CHARACTER_SET = Tag(0x0008, 0x0005)
QUERY_RETRIEVE_LEVEL = Tag(0x0008, 0x0052)
# Tags never used as matching keys: they describe the identifier, not the record.
_NOT_KEYS = frozenset({SPECIFIC_CHARACTER_SET, QUERY_RETRIEVE_LEVEL})

# Q/R information models (PS3.4 C.6) and the levels each defines, top first.
MODELS: dict[str, tuple[str, ...]] = {
    "patient": ("PATIENT", "STUDY", "SERIES", "IMAGE"),
    "study": ("STUDY", "SERIES", "IMAGE"),
    "patient_study": ("PATIENT", "STUDY"),
}
# Unique key of each level (PS3.4 C.6.1.1, C.6.2.1).  In Study Root the PATIENT level
# does not exist, so no PatientID is required.
UNIQUE_KEYS: dict[str, BaseTag] = {
    "PATIENT": Tag(0x0010, 0x0020),
    "STUDY": Tag(0x0020, 0x000D),
    "SERIES": Tag(0x0020, 0x000E),
    "IMAGE": Tag(0x0008, 0x0018),
}

STATUS_IDENTIFIER_DOES_NOT_MATCH = 0xA900
STATUS_UNABLE_TO_PROCESS = 0xC000

_DT_LOW = "00000101000000.000000"
_DT_HIGH = "99991231235959.999999"
_TM_LOW = "000000.000000"
_TM_HIGH = "235959.999999"


class QueryError(Exception):
    """The identifier cannot be processed; carries the C-FIND failure status (PS3.4 C.4.1.1.4)."""

    def __init__(self, status: int, comment: str, offending: Iterable[int] = ()) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment
        self.offending = [Tag(t) for t in offending]

    def status_dataset(self) -> Dataset:
        """The status as pynetdicom accepts it: Status, ErrorComment, OffendingElement."""
        ds = Dataset()
        ds.Status = self.status
        ds.ErrorComment = self.comment[:64]
        if self.offending:
            ds.OffendingElement = list(self.offending)
        return ds


# ---------------------------------------------------------------------------------------
# value level


def _strip(vr: str, value: str) -> str:
    value = value.rstrip(" \x00")
    return value if vr in _NO_LEADING_STRIP else value.lstrip(" ")


def _pad(value: str, low: str, high: str, upper: bool) -> str:
    """Complete a partial DT/TM value from the template ``low`` (or ``high`` for an upper bound)."""
    value = value.replace(":", "")
    if "." in value:
        head, frac = value.split(".", 1)
    else:
        head, frac = value, ""
    int_len = low.index(".")
    template = high if upper else low
    head = head + template[len(head):int_len]
    frac = (frac + template[int_len + 1 + len(frac):])[:6]
    return f"{head}.{frac}"


# A UTC offset suffix &HHMM (PS3.5 6.2): -1200..+1400.  "2024-2024" is thus a range.
_DT_TZ = re.compile(r"[+-](?:0\d|1[0-4])[0-5]\d$")


def _normalise(vr: str, value: str, upper: bool = False) -> str:
    """A comparable string for a DA/TM/DT value (partial values padded)."""
    if vr == "DA":
        value = value.replace(".", "")  # ACR-NEMA yyyy.mm.dd
        if not re.fullmatch(r"\d{8}", value):
            raise ValueError(f"invalid DA value {value!r}")
        return value
    if vr == "TM":
        if not re.fullmatch(r"\d{2}(:?\d{2}){0,2}(\.\d{1,6})?", value):
            raise ValueError(f"invalid TM value {value!r}")
        return _pad(value, _TM_LOW, _TM_HIGH, upper)
    value = _DT_TZ.sub("", value) if len(value) > 5 else value
    if not re.fullmatch(r"\d{4}(\d{2}){0,5}(\.\d{1,6})?", value):
        raise ValueError(f"invalid DT value {value!r}")
    return _pad(value, _DT_LOW, _DT_HIGH, upper)


Predicate = Callable[[str], bool]


def _compile_one(vr: str, query: str) -> Predicate | None:
    """Predicate for one query value against one record value; ``None`` means universal."""
    query = _strip(vr, query)
    if query == "":
        return None
    if vr in WILDCARD_VRS and query.strip("*") == "":
        return None
    if vr in RANGE_VRS:
        return _compile_range_or_single(vr, query)
    if vr in WILDCARD_VRS and ("*" in query or "?" in query):
        if vr == "PN":
            query = query.casefold()
        parts = ("." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in query)
        pattern = re.compile("".join(parts), re.DOTALL)
        if vr == "PN":
            return lambda v: pattern.fullmatch(v.casefold()) is not None
        return lambda v: pattern.fullmatch(v) is not None
    if vr in NUMERIC_VRS:
        try:
            number = float(query)
        except ValueError as exc:
            raise ValueError(f"invalid {vr} value {query!r}") from exc

        def numeric(v: str) -> bool:
            try:
                return float(v) == number
            except ValueError:
                return False

        return numeric
    if vr == "PN":
        wanted = _pn_key(query)
        return lambda v: _pn_key(v) == wanted
    return lambda v: v == query


def _pn_key(value: str) -> str:
    """Case-folded PN with empty trailing components and groups dropped."""
    groups = [g.rstrip("^") for g in value.casefold().split("=")]
    while groups and groups[-1] == "":
        groups.pop()
    return "=".join(groups)


def _compile_range_or_single(vr: str, query: str) -> Predicate:
    single: str | None = None
    try:
        single = _normalise(vr, query)
    except ValueError:
        pass
    if single is not None:
        return lambda v: _safe_normalise(vr, v) == single
    if query.count("-") < 1:
        raise ValueError(f"invalid {vr} value {query!r}")
    # Try every '-' as the separator (a DT bound may itself contain a '-' offset).
    for pos in [i for i, ch in enumerate(query) if ch == "-"]:
        left, right = query[:pos], query[pos + 1:]
        try:
            low = _normalise(vr, left) if left else None
            high = _normalise(vr, right, upper=True) if right else None
        except ValueError:
            continue
        if low is None and high is None:
            break

        def in_range(v: str, low: str | None = low, high: str | None = high) -> bool:
            value = _safe_normalise(vr, v)
            if value is None:
                return False
            return (low is None or value >= low) and (high is None or value <= high)

        return in_range
    raise ValueError(f"invalid {vr} range {query!r}")


def _safe_normalise(vr: str, value: str) -> str | None:
    try:
        return _normalise(vr, _strip(vr, value))
    except ValueError:
        return None


def _compile_values(vr: str, values: Sequence[str]) -> Callable[[Sequence[str]], bool] | None:
    """Matcher over a record's values for a (possibly multi-valued) key; ``None`` = universal."""
    predicates: list[Predicate] = []
    for value in values:
        predicate = _compile_one(vr, value)
        if predicate is None:
            return None
        predicates.append(predicate)
    if not predicates:
        return None
    return lambda rec: any(p(v) for p in predicates for v in rec)


def value_matches(vr: str, query: str, record: str | Sequence[str] | None) -> bool:
    """Does the key value ``query`` (``\\`` separates values) match the record's value(s)?

    ``record`` is None when the record lacks the attribute.  Raises ValueError for a key
    value that cannot be used for matching (e.g. a malformed date range).
    """
    matcher = _compile_values(vr, query.split("\\"))
    if matcher is None:
        return True
    if record is None:
        return False
    values = record.split("\\") if isinstance(record, str) else list(record)
    return matcher([v for v in (_strip(vr, x) for x in values) if v != ""])


# ---------------------------------------------------------------------------------------
# dataset level


def _element_values(elem: DataElement) -> list[str]:
    value = elem.value
    if value is None:
        return []
    items = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    out = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("latin-1")
        text = _strip(elem.VR, str(item))
        if text != "":
            out.append(text)
    return out


@dataclass
class _Key:
    elem: DataElement
    matcher: Callable[[Sequence[str]], bool] | None = None  # None: universal / not matched
    items: list[CompiledQuery] | None = None  # sequence keys: compiled query items
    ignored: bool = False  # returned (zero-length) but never used for matching


@dataclass
class CompiledQuery:
    """A query identifier turned into matchers, ready to run against many records."""

    keys: list[_Key] = field(default_factory=list)

    @property
    def universal(self) -> bool:
        return all(k.matcher is None and not _has_filter(k) for k in self.keys)

    def match(self, record: Dataset) -> Dataset | None:
        """The response identifier if ``record`` matches, else None."""
        out = Dataset()
        for key in self.keys:
            tag = key.elem.tag
            have = record.get(tag) if not key.ignored else None
            if key.elem.VR == "SQ":
                elem = self._match_sequence(key, have)
                if elem is None:
                    return None
                out.add(elem)
                continue
            if key.matcher is not None:
                if have is None or not key.matcher(_element_values(have)):
                    return None
            out.add(copy.deepcopy(have) if have is not None else _empty(key.elem))
        return out

    @staticmethod
    def _match_sequence(key: _Key, have: DataElement | None) -> DataElement | None:
        filtering = _has_filter(key)
        if have is None or have.VR != "SQ" or not have.value:
            return None if filtering else _empty(key.elem)
        if not key.items:  # empty query sequence: universal, whole items returned
            return copy.deepcopy(have)
        matched = []
        for item in have.value:
            for sub in key.items:
                response = sub.match(item)
                if response is not None:
                    matched.append(response)
                    break
        if filtering and not matched:
            return None
        return DataElement(key.elem.tag, "SQ", DicomSequence(matched))


def _has_filter(key: _Key) -> bool:
    if key.ignored:
        return False
    if key.matcher is not None:
        return True
    return bool(key.items) and not all(sub.universal for sub in key.items or [])


def _empty(elem: DataElement) -> DataElement:
    return DataElement(elem.tag, elem.VR, DicomSequence() if elem.VR == "SQ" else None)


def compile_query(query: Dataset, ignore: Iterable[int] = ()) -> CompiledQuery:
    """Compile every key of ``query`` (except SpecificCharacterSet / QueryRetrieveLevel).

    Tags in ``ignore`` are returned zero-length but not matched.  Raises QueryError
    (C000, with the offending tag) for a key value that cannot be used for matching.
    """
    skip = {Tag(t) for t in ignore}
    compiled = CompiledQuery()
    for elem in query:
        tag = elem.tag
        if tag in _NOT_KEYS or tag.element == 0 or tag.group in (0x0000, 0x0002):
            continue
        key = _Key(elem)
        if tag in skip or tag.is_private or elem.VR in ("UN", "OB", "OW", "OF", "OD", "OL"):
            key.ignored = True
        elif elem.VR == "SQ":
            key.items = [compile_query(item) for item in (elem.value or [])]
        else:
            try:
                key.matcher = _compile_values(elem.VR, _element_values(elem))
            except ValueError as exc:
                raise QueryError(STATUS_UNABLE_TO_PROCESS, str(exc), [tag]) from exc
        compiled.keys.append(key)
    return compiled


def _respond(record: Dataset, response: Dataset, query: Dataset, level: str | None) -> Dataset:
    if SPECIFIC_CHARACTER_SET in record:
        response.add(copy.deepcopy(record[SPECIFIC_CHARACTER_SET]))
    elif SPECIFIC_CHARACTER_SET in query:  # asked for: zero-length = default repertoire
        response.add(DataElement(SPECIFIC_CHARACTER_SET, "CS", None))
    if level is not None:
        response.QueryRetrieveLevel = level
    return response


def find_worklist(query: Dataset, worklist: Sequence[Dataset]) -> Iterator[Dataset]:
    """Modality Worklist C-FIND (PS3.4 K.4.1.3): the query is checked before this returns."""
    compiled = compile_query(query)

    def run() -> Iterator[Dataset]:
        for record in worklist:
            response = compiled.match(record)
            if response is not None:
                yield _respond(record, response, query, None)

    return run()


def check_level(query: Dataset, model: str) -> str:
    """Validate QueryRetrieveLevel and the unique keys above it (PS3.4 C.4.1.2.1, C.4.1.3.1).

    Returns the level.  Raises QueryError(A900) when the identifier does not fit the model:
    no level, a level the model does not define, or a missing / non-single-valued unique
    key of a level above the query level.
    """
    if model not in MODELS:
        raise ValueError(f"unknown Q/R model {model!r}")
    levels = MODELS[model]
    elem = query.get(QUERY_RETRIEVE_LEVEL)
    level = _strip("CS", str(elem.value or "")) if elem is not None else ""
    if not level:
        raise QueryError(STATUS_IDENTIFIER_DOES_NOT_MATCH, "Query/Retrieve Level missing",
                         [QUERY_RETRIEVE_LEVEL])
    if level not in levels:
        raise QueryError(STATUS_IDENTIFIER_DOES_NOT_MATCH,
                         f"Invalid Query/Retrieve Level {level[:20]}", [QUERY_RETRIEVE_LEVEL])
    for upper in levels[: levels.index(level)]:
        tag = UNIQUE_KEYS[upper]
        key = query.get(tag)
        values = _element_values(key) if key is not None else []
        if len(values) != 1 or (key is not None and any(c in values[0] for c in "*?")):
            raise QueryError(STATUS_IDENTIFIER_DOES_NOT_MATCH,
                             f"Unique key {key.keyword if key else tag} must have one value",
                             [tag])
    return level


def find_qr(query: Dataset, model: str, records: DemoRecords) -> Iterator[Dataset]:
    """Q/R C-FIND with hierarchical search (PS3.4 C.4.1.3.1) under ``model``.

    ``model`` is a key of MODELS.  Keys of levels below the query level are returned
    zero-length and not matched.  Validation happens before this returns.
    """
    level = check_level(query, model)
    tags = records.level_tags()
    index = LEVELS.index(level)
    above = set().union(*(tags[lv] for lv in LEVELS[: index + 1]))
    below = set().union(*(tags[lv] for lv in LEVELS[index + 1:])) - above
    compiled = compile_query(query, ignore=below)

    def run() -> Iterator[Dataset]:
        for record in records.entities(level):
            response = compiled.match(record)
            if response is not None:
                yield _respond(record, response, query, level)

    return run()
