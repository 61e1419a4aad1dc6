"""Data dictionary: tag <-> name, VR and VM, the way DCMTK 3.6.7 names them (PS3.6 §6-§8).

By default the entries come from pydicom's dictionary, renamed and re-typed by rules so that
they match DCMTK's ``dicom.dic``: retired elements get a ``RETIRED_`` prefix, repeating groups
``(gggg-gggg,eeee)`` cover even groups only, ambiguous VRs use DCMTK's pseudo VRs (``xs`` for
"US or SS", ``ox`` for "OB or OW", ``lt`` for "US or OW", ``up`` for the DICOMDIR offsets,
``px`` for Pixel Data, ``na`` for items), plus DCMTK's generic entries (group lengths, private
creators). pydicom's private dictionary supplies VRs for private tags whose creator is known.

``DCMDICTPATH`` (colon-separated list of DCMTK ``.dic`` files) *replaces* that default, exactly
as in DCMTK: only those files, plus DCMTK's skeleton (GenericGroupLength and the three item
tags), are loaded. See :func:`load_from_environment`.

Public API (used by the query builder, the dump and the XML/CSV writers):

* :func:`entry(tag) <entry>` -> ``(vr, vm, name)`` or ``None``; ``vr`` is the dictionary VR,
  which may be one of DCMTK's lower-case pseudo VRs listed above
* :func:`entry_for(tag, creator) <entry_for>` -> the same, for a private tag with a creator
* :func:`vr_for_tag(tag, creator) <vr_for_tag>` -> the VR DCMTK writes for a new element
* :func:`tag_for_name(name) <tag_for_name>` -> ``int`` or ``None`` (case-sensitive)
* :func:`lookup_name(name) <lookup_name>` -> ``(tag, dictionary vr)`` or ``None``
* :func:`load_from_environment` -> list of ``(level, message)`` log lines to print
* :func:`load_files`, :func:`use_default`, :func:`is_loaded`
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from .. import localfile

Entry = tuple[str, str, str]  # (vr, vm, name)

#: DCMTK's VR names a ``.dic`` file may use (``DcmVR`` names, PS3.5 §6.2 plus pseudo VRs).
DIC_VRS = frozenset(
    "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN "
    "UR US UT UV ox xs lt na up px pi".split()
)
#: The VR DCMTK writes for a dictionary VR (``DcmVR::getValidEVR`` with new VRs enabled).
WIRE_VR = {"xs": "US", "up": "UL", "lt": "OW", "ox": "OB", "px": "OB", "pi": "UN", "na": "UN"}

_EVEN, _ODD, _ANY = "e", "o", "u"


@dataclass(frozen=True)
class _Range:
    """A repeating entry: ``(glo-r-ghi,elo-r-ehi)`` or a pydicom-style hex mask."""

    glo: int
    ghi: int
    grestrict: str
    elo: int
    ehi: int
    erestrict: str
    creator: str | None
    entry: Entry
    mask: str | None = None  # 8 hex digits with 'x' wildcards (from pydicom only)

    def contains(self, tag: int, creator: str | None) -> bool:
        if creator != self.creator:
            return False
        if self.mask is not None:
            text = f"{tag:08X}"
            return all(m == "x" or m == t for m, t in zip(self.mask, text, strict=True))
        group, elem = tag >> 16, tag & 0xFFFF
        if self.creator is not None and elem >= 0x1000:
            elem &= 0xFF
        return _in(group, self.glo, self.ghi, self.grestrict) and _in(
            elem, self.elo, self.ehi, self.erestrict
        )

    def subset_of(self, other: _Range) -> bool:
        return (
            self.mask is None
            and other.mask is None
            and other.glo <= self.glo
            and self.ghi <= other.ghi
            and other.elo <= self.elo
            and self.ehi <= other.ehi
        )

    def same_range(self, other: _Range) -> bool:
        return (self.glo, self.ghi, self.grestrict, self.elo, self.ehi, self.erestrict) == (
            other.glo,
            other.ghi,
            other.grestrict,
            other.elo,
            other.ehi,
            other.erestrict,
        ) and (self.creator, self.mask) == (other.creator, other.mask)


def _in(value: int, lo: int, hi: int, restrict: str) -> bool:
    if not lo <= value <= hi:
        return False
    if lo == hi or restrict == _ANY:
        return True
    return (value & 1) == (1 if restrict == _ODD else 0)


class _Dictionary:
    """One loaded dictionary (DCMTK's ``DcmDataDictionary``: a hash part and a range list)."""

    def __init__(self) -> None:
        self.exact: dict[tuple[int, str | None], Entry] = {}
        self.ranges: list[_Range] = []
        self.loaded = False
        self.private_names = True  # False for pydicom's private dictionary (no DCMTK names)

    def add_exact(self, tag: int, creator: str | None, entry: Entry) -> None:
        if creator is not None and (tag & 0xFFFF) >= 0x1000:
            tag = tag & 0xFFFF0000 | (tag & 0xFF)
        self.exact[(tag, creator)] = entry  # later entries override (dicom.dic header)

    def add_range(self, rng: _Range) -> None:
        for i, old in enumerate(self.ranges):
            if rng.same_range(old):
                self.ranges[i] = rng
                return
            if rng.subset_of(old):
                self.ranges.insert(i, rng)
                return
        self.ranges.append(rng)

    def skeleton(self) -> None:
        self.add_range(_Range(0, 0xFFFF, _ANY, 0, 0, _ANY, None, ("UL", "1", "GenericGroupLength")))
        self.add_exact(0xFFFEE000, None, ("na", "1", "Item"))
        self.add_exact(0xFFFEE00D, None, ("na", "1", "ItemDelimitationItem"))
        self.add_exact(0xFFFEE0DD, None, ("na", "1", "SequenceDelimitationItem"))

    def find(self, tag: int, creator: str | None = None) -> Entry | None:
        key = tag
        if creator is not None and (tag & 0xFFFF) >= 0x1000:
            key = tag & 0xFFFF0000 | (tag & 0xFF)
        found = self.exact.get((key, creator))
        if found is not None:
            return found
        for rng in self.ranges:
            if rng.contains(tag, creator):
                return rng.entry
        return None

    def names(self) -> dict[str, tuple[int, str]]:
        """name -> (tag, vr): public exact entries first, then ranges, then private entries."""
        public: dict[str, tuple[int, str]] = {}
        private: dict[str, tuple[int, str]] = {}
        for (tag, creator), (vr, _vm, name) in self.exact.items():
            if creator is not None and not self.private_names:
                continue
            target = private if (tag >> 16) & 1 else public
            target.setdefault(name, (tag, vr))
        out = dict(public)
        for rng in self.ranges:
            lower = (rng.glo << 16) | rng.elo
            if rng.mask is not None:
                lower = int(rng.mask.replace("x", "0"), 16)
            out.setdefault(rng.entry[2], (lower, rng.entry[0]))
        for name, value in private.items():
            out.setdefault(name, value)
        return out


# ---- the default dictionary (pydicom's, renamed like DCMTK's) -------------------------------

_PYDICOM_VR = {"US or SS": "xs", "OB or OW": "ox", "US or OW": "lt", "US or SS or OW": "lt"}
_UP_TAGS = frozenset({0x00041200, 0x00041202, 0x00041400, 0x00041420, 0x00041504})


def _dcmtk_vr(tag: int, vr: str) -> str:
    if tag in _UP_TAGS:
        return "up"
    if tag == 0x7FE00010:
        return "px"
    if vr == "NONE":
        return "na"
    return _PYDICOM_VR.get(vr, vr)


def _dcmtk_name(keyword: str, retired: str) -> str:
    return f"RETIRED_{keyword}" if retired else keyword


def _build_default() -> _Dictionary:
    from pydicom._private_dict import private_dictionaries
    from pydicom.datadict import DicomDictionary, RepeatersDictionary

    d = _Dictionary()
    d.skeleton()
    # DCMTK's generic entries (dicom.dic "PRIVATE"/"ILLEGAL" lines, PS3.5 §7.8.1)
    d.add_range(_Range(0x0009, 0xFFFF, _ODD, 0, 0, _ANY, None, ("UL", "1", "PrivateGroupLength")))
    d.add_range(_Range(0x0009, 0xFFFF, _ODD, 0x10, 0xFF, _ANY, None, ("LO", "1", "PrivateCreator")))
    d.add_range(_Range(0x0001, 0x0007, _ODD, 0, 0, _ANY, None, ("UL", "1", "IllegalGroupLength")))
    d.add_range(
        _Range(0x0001, 0x0007, _ODD, 0x10, 0xFF, _ANY, None, ("LO", "1", "IllegalPrivateCreator"))
    )
    for tag, (vr, vm, _desc, retired, keyword) in DicomDictionary.items():
        if keyword:
            d.add_exact(tag, None, (_dcmtk_vr(tag, vr), vm, _dcmtk_name(keyword, retired)))
    for mask, (vr, vm, _desc, retired, keyword) in RepeatersDictionary.items():
        entry = (_dcmtk_vr(0, vr), vm, _dcmtk_name(keyword, retired))
        d.add_range(_mask_range(mask.upper().replace("X", "x"), entry))
    for creator, tags in private_dictionaries.items():
        for mask, (vr, vm, desc, _retired) in tags.items():
            group, elem = mask[:4], mask[6:]
            if "x" in group.lower() or "x" in elem.lower() or mask[4:6].lower() != "xx":
                continue  # not a plain (gggg,xxee) private entry
            d.add_exact(int(group, 16) << 16 | int(elem, 16), creator, (_dcmtk_vr(0, vr), vm, desc))
    d.loaded = True
    d.private_names = False
    return d


def _mask_range(mask: str, entry: Entry) -> _Range:
    """Turn a pydicom repeater mask into a DCMTK range where DCMTK's syntax can express it."""
    group, elem = mask[:4], mask[4:]
    if re.fullmatch(r"[0-9A-F]{2}xx", group) and "x" not in elem:
        lo = int(group[:2] + "00", 16)
        return _Range(lo, lo + 0xFF, _EVEN, int(elem, 16), int(elem, 16), _ANY, None, entry)
    if "x" not in group and re.fullmatch(r"[0-9A-F]{2}xx", elem):
        lo = int(elem[:2] + "00", 16)
        g = int(group, 16)
        return _Range(g, g, _ANY, lo, lo + 0xFF, _EVEN, None, entry)
    return _Range(0, 0, _ANY, 0, 0, _ANY, None, entry, mask=mask)


# ---- DCMTK .dic files ---------------------------------------------------------------------

_LogLines = list[tuple[str, str]]


def _parse_tag_part(text: str) -> tuple[int, int, str] | None:
    m = re.fullmatch(r"([0-9A-Fa-f]+)-([A-Za-z])-([0-9A-Fa-f]+)", text)
    if m:
        restrict = {"o": _ODD, "e": _EVEN, "u": _ANY}.get(m.group(2).lower())
        return None if restrict is None else (int(m.group(1), 16), int(m.group(3), 16), restrict)
    m = re.fullmatch(r"([0-9A-Fa-f]+)-([0-9A-Fa-f]+)", text)
    if m:
        return int(m.group(1), 16), int(m.group(2), 16), _EVEN
    m = re.fullmatch(r"([0-9A-Fa-f]+)", text)
    if m:
        return int(m.group(1), 16), int(m.group(1), 16), _ANY
    return None


def _parse_tag_field(text: str) -> tuple[tuple[int, int, str], tuple[int, int, str], str | None]:
    """``(gggg,eeee)``, ranges, or ``(gggg,"creator",ee)``; raises ValueError when malformed."""
    s = text.strip()
    if not (s.startswith("(") and s.endswith(")") and "," in s):
        raise ValueError
    inner = s[1:-1]
    group_text, _, rest = inner.partition(",")
    rest = rest.lstrip()
    creator = None
    if rest.startswith('"'):
        end = rest.find('"', 1)
        if end < 0:
            raise ValueError
        creator = rest[1:end]
        rest = rest[end + 1 :].lstrip()
        if not rest.startswith(","):
            raise ValueError
        rest = rest[1:]
    group = _parse_tag_part(group_text.strip())
    elem = _parse_tag_part(rest.strip())
    if group is None or elem is None:
        raise ValueError
    return group, elem, creator or None


_VM = re.compile(r"\d+(-\d+)?|\d+-\d*[nN]|\d*[nN]")


def load_file(d: _Dictionary, path: str, log: _LogLines) -> bool | None:
    """Load one DCMTK ``.dic`` file into ``d``.

    Returns ``True`` (loaded cleanly), ``False`` (loaded with errors) or ``None`` (not opened),
    and appends DCMTK's ``DcmDataDictionary`` log lines to ``log``.
    """
    try:
        if not os.path.isfile(path):
            raise OSError
        raw = localfile.read_capped(path, localfile.DICTIONARY_LIMIT)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            log.append(("E", f"DcmDataDictionary: {path}: {localfile.describe(exc)}"))
        log.append(("E", f"DcmDataDictionary: Cannot open file: {path}"))
        return None
    lines = raw.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    errors = 0
    if lines and lines[-1] == "":
        lines.pop()
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        where = f"DcmDataDictionary: {path}: "
        if len(fields) < 3:
            log.append(("E", f"{where}too few fields (line {number})"))
            errors += 1
            continue
        if len(fields) > 5:
            log.append(("E", f"{where}too many fields (line {number}): "))
            errors += 1
            continue
        vm = fields[3].strip() if len(fields) >= 4 else "1"
        if len(fields) >= 4 and not _VM.fullmatch(vm):
            log.append(("E", f"{where}bad VM field (line {number}): {fields[3]}"))
            errors += 1
            continue
        try:
            group, elem, creator = _parse_tag_field(fields[0])
        except ValueError:
            log.append(("E", f"{where}bad Tag field (line {number}): {fields[0]}"))
            errors += 1
            continue
        vr = fields[1].strip()
        if vr not in DIC_VRS:
            log.append(("E", f"{where}bad VR field (line {number}): {vr}"))
            errors += 1
            continue
        entry = (vr, vm, fields[2].strip())
        if group[0] == group[1] and elem[0] == elem[1]:
            d.add_exact(group[0] << 16 | elem[0], creator, entry)
        else:
            d.add_range(_Range(*group, *elem, creator, entry))
    return errors == 0


# ---- module state and public API --------------------------------------------------------

_current: _Dictionary | None = None
_names: dict[str, tuple[int, str]] = {}


def _install(d: _Dictionary) -> None:
    global _current, _names
    _current = d
    _names = d.names()
    _cached_entry.cache_clear()


def _dict() -> _Dictionary:
    if _current is None:
        _install(_default())
    assert _current is not None
    return _current


@lru_cache(maxsize=1)
def _default() -> _Dictionary:
    return _build_default()


def use_default() -> None:
    """Use the built-in (pydicom-derived) dictionary, as when ``DCMDICTPATH`` is unset."""
    _install(_default())


def load_files(paths: list[str]) -> list[tuple[str, str]]:
    """Replace the dictionary by DCMTK's skeleton plus ``paths``; return the log lines.

    Follows ``DcmDataDictionary::loadExternalDictionaries``: a file that cannot be opened is an
    ``E:`` line; a file with bad lines is loaded partially and marks the dictionary not loaded;
    a clean file marks it loaded. When nothing ends up loaded, DCMTK findscu's ``W:`` line is
    appended.
    """
    d = _Dictionary()
    d.skeleton()
    log: _LogLines = []
    for path in paths:
        if not path:
            continue
        result = load_file(d, path, log)
        if result is not None:
            d.loaded = result
    if not d.loaded:
        log.append(("W", "no data dictionary loaded, check environment variable: DCMDICTPATH"))
    _install(d)
    return log


def load_from_environment() -> list[tuple[str, str]]:
    """Apply ``DCMDICTPATH`` (``:``-separated) if set and non-empty, else the default dictionary.

    Returns ``(level, message)`` pairs to log, ``level`` being DCMTK's letter (``"E"``, ``"W"``),
    e.g. ``[("E", "DcmDataDictionary: Cannot open file: /nonexistent"), ("W", "no data
    dictionary loaded, check environment variable: DCMDICTPATH")]``.
    """
    env = os.environ.get("DCMDICTPATH", "")
    if not env:
        use_default()
        return []
    return load_files(env.split(os.pathsep))


def is_loaded() -> bool:
    """``DcmDataDictionary::isDictionaryLoaded``: False after an unusable ``DCMDICTPATH``."""
    return _dict().loaded


@lru_cache(maxsize=4096)
def _cached_entry(tag: int) -> Entry | None:
    return _dict().find(tag)


def entry(tag: int) -> Entry | None:
    """``(vr, vm, name)`` for ``tag`` (no private creator), or ``None`` when unknown."""
    if _current is None:
        _dict()
    return _cached_entry(tag)


def entry_for(tag: int, creator: str | None) -> Entry | None:
    """``(vr, vm, name)`` for a private ``tag`` reserved by ``creator`` (PS3.5 §7.8.1)."""
    if creator is None:
        return entry(tag)
    return _dict().find(tag, creator)


def vr_for_tag(tag: int, creator: str | None = None) -> str:
    """The VR DCMTK gives a new element ``tag``: pseudo VRs resolved, ``"UN"`` when unknown."""
    found = entry_for(tag, creator)
    if found is None:
        return "UN"
    return WIRE_VR.get(found[0], found[0])


def lookup_name(name: str) -> tuple[int, str] | None:
    """``(tag, dictionary VR)`` for a dictionary name (case-sensitive), as DCMTK resolves it."""
    _dict()
    return _names.get(name)


def tag_for_name(name: str) -> int | None:
    """The tag of dictionary name ``name`` (case-sensitive; public before private), or ``None``.

    For a repeating entry (e.g. ``OverlayRows``) this is the first tag of its range.
    """
    found = lookup_name(name)
    return None if found is None else found[0]
