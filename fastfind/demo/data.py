"""Deterministic synthetic data for the bundled demo C-FIND SCP.

Two record sets are generated from one seeded ``random.Random``:

* Modality Worklist entries (PS3.4 K.6, Table K.6-1), each with a
  ScheduledProcedureStepSequence of one or two items;
* a Patient / Study / Series / Image tree for the Query/Retrieve models
  (PS3.4 C.6.1 Patient Root, C.6.2 Study Root, C.6.3 Patient/Study Only), with the
  derived attributes (ModalitiesInStudy, NumberOf...Related...) filled in.

Most names are ASCII without (0008,0005); some are Latin-1 (``ISO_IR 100``) and some
need UTF-8 (``ISO_IR 192``).  Every dataset of a patient carries that patient's
SpecificCharacterSet.  The same ``seed`` and ``count`` always give the same records.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

__all__ = ["LEVELS", "DemoRecords", "Node", "make_records"]

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")

_FAMILY = (
    "Adams", "Allen", "Anderson", "Armstrong", "Baker", "Brown", "Clark", "Davis", "Evans",
    "Foster", "Garcia", "Harris", "Jackson", "King", "Lewis", "Martin", "Nelson", "Owens",
    "Parker", "Quinn", "Roberts", "Smith", "Taylor", "Turner", "Walker", "Young",
)
_GIVEN = (
    "Alice", "Andrew", "Anna", "Ben", "Carol", "David", "Emma", "Frank", "Grace", "Henry",
    "Irene", "James", "Julia", "Kevin", "Laura", "Mark", "Nina", "Oscar", "Paul", "Rachel",
)
# (family, given, SpecificCharacterSet): names that need a character set.
_LATIN1 = (
    ("Müller", "Jürgen"), ("Åström", "Björn"), ("Núñez", "José"), ("Østergård", "Søren"),
    ("Andrée", "François"), ("Ängel", "Anaïs"), ("Ábrahám", "Zoé"),
)
_UTF8 = (
    ("Иванов", "Алексей"), ("山田", "太郎"), ("Ζαχαρίου", "Ελένη"), ("Aoki", "Tarō"),
    ("Nguyễn", "Văn An"),
)
_PHYSICIANS = ("House^Gregory", "Grey^Meredith", "Kildare^James", "Quincy^Ann", "Welby^Marcus")
# modality -> (SOP Class UID, station AE title, typical descriptions)
_MODALITIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "CT": ("1.2.840.10008.5.1.4.1.1.2", "CT01", ("CT CHEST", "CT HEAD", "CT ABDOMEN")),
    "MR": ("1.2.840.10008.5.1.4.1.1.4", "MR01", ("MR BRAIN", "MR KNEE", "MR SPINE")),
    "US": ("1.2.840.10008.5.1.4.1.1.6.1", "US01", ("US ABDOMEN", "US THYROID")),
    "CR": ("1.2.840.10008.5.1.4.1.1.1", "CR01", ("CR CHEST", "CR HAND")),
    "DX": ("1.2.840.10008.5.1.4.1.1.1.1", "DX01", ("DX CHEST", "DX PELVIS")),
    "MG": ("1.2.840.10008.5.1.4.1.1.1.2", "MG01", ("MG SCREENING",)),
    "NM": ("1.2.840.10008.5.1.4.1.1.20", "NM01", ("NM BONE SCAN",)),
    "PT": ("1.2.840.10008.5.1.4.1.1.128", "PT01", ("PET WHOLE BODY",)),
}
_BODY_PARTS = ("CHEST", "HEAD", "ABDOMEN", "KNEE", "SPINE", "HAND", "PELVIS")


@dataclass
class Node:
    """One entity of the Q/R hierarchy: its own attributes and its children (PS3.4 C.6)."""

    level: str
    dataset: Dataset
    children: list[Node] = field(default_factory=list)


@dataclass
class DemoRecords:
    """Everything the demo SCP serves."""

    worklist: list[Dataset]
    patients: list[Node]
    _flat: dict[str, list[Dataset]] = field(default_factory=dict, repr=False, compare=False)
    _tags: dict[str, frozenset[BaseTag]] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def level_tags(self) -> dict[str, frozenset[BaseTag]]:
        """The tags each level's own datasets hold (SpecificCharacterSet excluded)."""
        with self._lock:
            if not self._tags:
                self._tags.update(self._collect_tags())
        return self._tags

    def _collect_tags(self) -> dict[str, frozenset[BaseTag]]:
        found: dict[str, set[BaseTag]] = {lv: set() for lv in LEVELS}
        stack = list(self.patients)
        while stack:
            node = stack.pop()
            found[node.level].update(elem.tag for elem in node.dataset)
            stack.extend(node.children)
        charset = BaseTag(0x00080005)
        return {lv: frozenset(found[lv] - {charset}) for lv in LEVELS}

    def entities(self, level: str) -> list[Dataset]:
        """Datasets of every entity at ``level``, each merged with its ancestors' attributes.

        A STUDY entity thus carries the patient's attributes too, which is the view both the
        Patient Root and the Study Root models need for hierarchical matching.
        """
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}")
        with self._lock:
            if not self._flat:
                flat: dict[str, list[Dataset]] = {lv: [] for lv in LEVELS}
                for patient in self.patients:
                    _flatten(patient, Dataset(), flat)
                self._flat.update(flat)
        return self._flat[level]


def _flatten(node: Node, above: Dataset, out: dict[str, list[Dataset]]) -> None:
    merged = Dataset()
    for elem in above:
        merged.add(elem)
    for elem in node.dataset:
        merged.add(elem)
    out[node.level].append(merged)
    for child in node.children:
        _flatten(child, merged, out)


class _Gen:
    """Seeded generators for the individual values."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uid(self) -> str:
        # 2.25.<128-bit integer> (PS3.5 B.2): at most 44 characters, room for suffixes.
        return f"2.25.{self.rng.getrandbits(127) | (1 << 120)}"

    def date(self, first: int, last: int) -> str:
        year = self.rng.randint(first, last)
        return f"{year:04d}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}"

    def time(self) -> str:
        return f"{self.rng.randint(7, 18):02d}{self.rng.choice((0, 15, 30, 45)):02d}00"

    def person(self) -> tuple[str, str | None]:
        roll = self.rng.random()
        if roll < 0.10:
            family, given = self.rng.choice(_LATIN1)
            return f"{family}^{given}", "ISO_IR 100"
        if roll < 0.16:
            family, given = self.rng.choice(_UTF8)
            return f"{family}^{given}", "ISO_IR 192"
        return f"{self.rng.choice(_FAMILY)}^{self.rng.choice(_GIVEN)}", None


def _patient(gen: _Gen, index: int) -> Dataset:
    name, charset = gen.person()
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.PatientID = f"PAT{index:05d}"
    ds.IssuerOfPatientID = "FASTFIND"
    ds.PatientBirthDate = gen.date(1930, 2015)
    ds.PatientSex = gen.rng.choice(("M", "F", "O"))
    return ds


def _study(gen: _Gen, patient: Dataset, index: int) -> Node:
    rng = gen.rng
    study = Dataset()
    study.StudyInstanceUID = gen.uid()
    study.StudyDate = gen.date(2019, 2025)
    study.StudyTime = gen.time()
    study.AccessionNumber = f"A{index:07d}"
    study.StudyID = f"S{index:05d}"
    study.ReferringPhysicianName = rng.choice(_PHYSICIANS)
    node = Node("STUDY", study)
    primary = rng.choice(sorted(_MODALITIES))
    study.StudyDescription = rng.choice(_MODALITIES[primary][2])
    modalities = [primary] + (["PT" if primary == "CT" else "CR"] if rng.random() < 0.2 else [])
    for number in range(1, rng.randint(1, 3) + 1):
        modality = modalities[(number - 1) % len(modalities)]
        series = Dataset()
        series.SeriesInstanceUID = f"{study.StudyInstanceUID}.{number}"
        series.Modality = modality
        series.SeriesNumber = number
        series.SeriesDescription = f"{modality} SERIES {number}"
        series.SeriesDate = study.StudyDate
        series.SeriesTime = study.StudyTime
        series.BodyPartExamined = rng.choice(_BODY_PARTS)
        snode = Node("SERIES", series)
        for inumber in range(1, rng.randint(1, 4) + 1):
            image = Dataset()
            image.SOPInstanceUID = f"{series.SeriesInstanceUID}.{inumber}"
            image.SOPClassUID = _MODALITIES[modality][0]
            image.InstanceNumber = inumber
            image.ContentDate = study.StudyDate
            image.ContentTime = study.StudyTime
            snode.children.append(Node("IMAGE", image))
        series.NumberOfSeriesRelatedInstances = len(snode.children)
        node.children.append(snode)
    used = [s.dataset.Modality for s in node.children]
    study.ModalitiesInStudy = sorted(set(used))
    study.SOPClassesInStudy = sorted({_MODALITIES[m][0] for m in used})
    study.NumberOfStudyRelatedSeries = len(node.children)
    study.NumberOfStudyRelatedInstances = sum(len(s.children) for s in node.children)
    if "SpecificCharacterSet" in patient:
        study.SpecificCharacterSet = patient.SpecificCharacterSet
    return node


def _worklist_entry(gen: _Gen, patient: Dataset, index: int) -> Dataset:
    rng = gen.rng
    ds = Dataset()
    if "SpecificCharacterSet" in patient:
        ds.SpecificCharacterSet = patient.SpecificCharacterSet
    for keyword in ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
                    "PatientSex"):
        setattr(ds, keyword, getattr(patient, keyword))
    ds.AccessionNumber = f"W{index:07d}"
    ds.ReferringPhysicianName = rng.choice(_PHYSICIANS)
    ds.RequestingPhysician = rng.choice(_PHYSICIANS)
    ds.StudyInstanceUID = gen.uid()
    ds.RequestedProcedureID = f"RP{index:05d}"
    ds.RequestedProcedurePriority = rng.choice(("ROUTINE", "HIGH", "STAT"))
    ds.AdmissionID = f"ADM{index:05d}"
    ds.CurrentPatientLocation = rng.choice(("WARD 1", "WARD 2", "ER", "OUTPATIENT"))
    modality = rng.choice(sorted(_MODALITIES))
    ds.RequestedProcedureDescription = rng.choice(_MODALITIES[modality][2])
    date, time = gen.date(2024, 2025), gen.time()
    items = []
    for step in range(1, (2 if rng.random() < 0.15 else 1) + 1):
        if step == 2:  # a second step on another modality, e.g. a PET after the CT
            modality = "PT" if modality == "CT" else "CT"
        sop_class, station, descriptions = _MODALITIES[modality]
        sps = Dataset()
        sps.ScheduledStationAETitle = station
        sps.ScheduledProcedureStepStartDate = date
        sps.ScheduledProcedureStepStartTime = time
        sps.Modality = modality
        sps.ScheduledPerformingPhysicianName = rng.choice(_PHYSICIANS)
        sps.ScheduledProcedureStepDescription = rng.choice(descriptions)
        sps.ScheduledStationName = f"{station}-STATION"
        sps.ScheduledProcedureStepLocation = f"ROOM {rng.randint(1, 9)}"
        sps.ScheduledProcedureStepID = f"SPS{index:05d}{step}"
        sps.ScheduledProcedureStepStatus = "SCHEDULED"
        items.append(sps)
    ds.ScheduledProcedureStepSequence = Sequence(items)
    return ds


def make_records(seed: int = 1, count: int = 200) -> DemoRecords:
    """Generate ``count`` studies and ``count`` worklist entries for ``count // 2`` patients.

    Deterministic: equal arguments give equal records (including every UID).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    gen = _Gen(seed)
    patient_sets = [_patient(gen, i + 1) for i in range(max(1, count // 2))]
    patients = [Node("PATIENT", ds) for ds in patient_sets]
    for index in range(count):
        owner = patients[index] if index < len(patients) else gen.rng.choice(patients)
        owner.children.append(_study(gen, owner.dataset, index + 1))
    for node in patients:
        ds = node.dataset
        ds.NumberOfPatientRelatedStudies = len(node.children)
        ds.NumberOfPatientRelatedSeries = sum(len(s.children) for s in node.children)
        ds.NumberOfPatientRelatedInstances = sum(
            len(se.children) for s in node.children for se in s.children
        )
    worklist = [
        _worklist_entry(gen, gen.rng.choice(patient_sets), index + 1) for index in range(count)
    ]
    return DemoRecords(worklist=worklist, patients=patients)
