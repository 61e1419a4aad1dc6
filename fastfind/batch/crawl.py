"""Hierarchical crawl: from the query's level down, one query per parent (PS3.4 C.6.1, C.6.2).

Each match at level *L* above the target becomes a query at level *L+1* with:

* ``QueryRetrieveLevel`` one down;
* the unique keys of its ancestors, with their values (PS3.4 C.4.1.2.1: a hierarchical query
  names every level above): Study Root ``StudyInstanceUID`` (+ ``SeriesInstanceUID`` for IMAGE),
  Patient Root also ``PatientID``;
* the new level's unique key and its usual return keys (:data:`RETURN_KEYS`), empty;
* the user's keys that belong to that level (:data:`LEVEL_KEYS`), with their values.

The user's query (the crawl's root) keeps its own and higher levels' keys and every key that
belongs to no level in these tables; keys of lower levels move to the children, so one flat
query can constrain every level (``StudyDate=2023*`` for the studies, ``Modality=CT`` for the
series). The root and every child also return their level's unique key, which the children need.
"""

from __future__ import annotations

import copy

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from .. import query as query_mod
from ..dicom import dictionary
from ..dicom.uids import resolve_model
from ..errors import UsageError

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
PATIENT_ROOT = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_STUDY_ONLY = "1.2.840.10008.5.1.4.1.2.3.1"
WORKLIST = "1.2.840.10008.5.1.4.31"

#: The unique key of each level (PS3.4 C.6.1.1).
UNIQUE = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
          "IMAGE": "SOPInstanceUID"}

#: What a child query asks for besides its unique key.
RETURN_KEYS = {
    "PATIENT": ("PatientName",),
    "STUDY": ("StudyDate", "StudyTime", "AccessionNumber", "StudyID", "StudyDescription"),
    "SERIES": ("Modality", "SeriesNumber", "SeriesDescription"),
    "IMAGE": ("SOPClassUID", "InstanceNumber"),
}

#: Keys of each level in the Patient Root / Study Root models (PS3.4 C.6.1.1.2-5, C.6.2.1).
LEVEL_KEYS = {
    "PATIENT": frozenset({
        "PatientName", "PatientID", "IssuerOfPatientID", "OtherPatientIDsSequence",
        "PatientBirthDate", "PatientBirthTime", "PatientSex", "OtherPatientNames", "EthnicGroup",
        "PatientComments", "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries",
        "NumberOfPatientRelatedInstances", "IssuerOfPatientIDQualifiersSequence",
        "PatientSpeciesDescription", "PatientBreedDescription", "ResponsiblePerson"}),
    "STUDY": frozenset({
        "StudyDate", "StudyTime", "AccessionNumber", "StudyID", "StudyInstanceUID",
        "ReferringPhysicianName", "StudyDescription", "ProcedureCodeSequence",
        "NameOfPhysiciansReadingStudy", "AdmittingDiagnosesDescription",
        "ReferencedStudySequence", "ReferencedPatientSequence", "PatientAge", "PatientSize",
        "PatientWeight", "Occupation", "AdditionalPatientHistory", "OtherStudyNumbers",
        "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "ModalitiesInStudy",
        "SOPClassesInStudy", "AnatomicRegionsInStudyCodeSequence",
        "IssuerOfAccessionNumberSequence", "InstitutionName"}),
    "SERIES": frozenset({
        "Modality", "SeriesNumber", "SeriesInstanceUID", "SeriesDescription", "SeriesDate",
        "SeriesTime", "BodyPartExamined", "Laterality", "PerformingPhysicianName",
        "ProtocolName", "OperatorsName", "NumberOfSeriesRelatedInstances",
        "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
        "RequestAttributesSequence", "Manufacturer", "StationName", "InstitutionalDepartmentName"}),
    "IMAGE": frozenset({
        "InstanceNumber", "SOPInstanceUID", "SOPClassUID", "ContentDate", "ContentTime",
        "AcquisitionDate", "AcquisitionTime", "AcquisitionNumber", "ImageType", "Rows",
        "Columns", "NumberOfFrames", "ImageComments", "ConceptNameCodeSequence",
        "ContentTemplateSequence", "CompletionFlag", "VerificationFlag"}),
}

#: Which level key names the level's entity: the unique key of each level, by model.
_KEY_LEVEL = {name: level for level, names in LEVEL_KEYS.items() for name in names}


def level_of(ds: Dataset) -> str | None:
    """The query's ``QueryRetrieveLevel`` (upper case), or ``None``."""
    value = ds.get("QueryRetrieveLevel")
    text = str(value or "").strip().upper()
    return text or None


def unique_keys(model: str) -> dict[str, str]:
    """``level -> unique key`` for a model; the worklist has none (see :mod:`.commit`)."""
    return {} if resolve_model(model) == WORKLIST else UNIQUE


def keyword(tag: int) -> str | None:
    found = dictionary.entry(tag)
    return found[2] if found else None


def key_level(tag: int) -> str | None:
    name = keyword(tag)
    return _KEY_LEVEL.get(name) if name else None


class Crawl:
    """Builds the root query and the child queries of a crawl down to ``target``."""

    def __init__(self, model: str, target: str):
        target = target.upper()
        if target not in LEVELS[1:]:
            raise UsageError(f"--crawl {target}: must be STUDY, SERIES or IMAGE")
        uid = resolve_model(model)
        if uid not in (PATIENT_ROOT, STUDY_ROOT, PATIENT_STUDY_ONLY):
            raise UsageError("--crawl needs a Q/R model (--patient, --study or --psonly)")
        if uid == PATIENT_STUDY_ONLY and target != "STUDY":
            raise UsageError("--crawl: the Patient/Study Only model has no series or images")
        self.target = target
        self.patient_root = uid in (PATIENT_ROOT, PATIENT_STUDY_ONLY)

    def check(self, ds: Dataset) -> str:
        """The query's level; :class:`UsageError` if the crawl cannot start from it."""
        level = level_of(ds)
        if level not in LEVELS:
            raise UsageError("--crawl needs a QueryRetrieveLevel of PATIENT, STUDY or SERIES in "
                             "the query")
        if LEVELS.index(level) >= LEVELS.index(self.target):
            raise UsageError(f"--crawl {self.target}: the query is already at {level} level")
        if level == "PATIENT" and not self.patient_root:
            raise UsageError("--crawl from PATIENT level needs the Patient Root model (--patient)")
        return level

    def goes_on(self, level: str | None) -> bool:
        """Whether matches at ``level`` get children."""
        return level in LEVELS and LEVELS.index(level) < LEVELS.index(self.target)

    def root(self, ds: Dataset) -> Dataset:
        """The user's query for its own level: keys of lower levels removed, the unique key added."""
        level = self.check(ds)
        out = copy.deepcopy(ds)
        below = LEVELS[LEVELS.index(level) + 1:]
        for elem in list(out):
            if key_level(int(elem.tag)) in below:
                del out[elem.tag]
        ensure_key(out, UNIQUE[level])
        return out

    def child(self, user: Dataset, level: str, ancestors: list[tuple[str, bytes]],
              charset: bytes | None) -> Dataset:
        """The query for one parent's children at ``level`` (``ancestors``: ``(key, raw value)``
        of every level above, top first; ``charset``: the parent's raw SpecificCharacterSet)."""
        out = Dataset()
        keys = [f"QueryRetrieveLevel={level}"]
        for name, raw in ancestors:
            if name == "PatientID" and not self.patient_root:
                continue
            keys.append(f"{name}={raw.decode('utf-8', 'surrogateescape')}")
        keys.append(UNIQUE[level])
        keys.extend(RETURN_KEYS[level])
        if charset:
            keys.insert(0, f"SpecificCharacterSet={charset.decode('ascii', 'replace')}")
        query_mod.apply_keys(out, keys)
        for elem in user:  # the user's keys of this level, with their values
            if key_level(int(elem.tag)) == level:
                out[BaseTag(elem.tag)] = copy.deepcopy(elem)
        return out


def ensure_key(ds: Dataset, name: str) -> None:
    """Add ``name`` as an empty return key unless the query has it."""
    tag = dictionary.tag_for_name(name)
    if tag is not None and BaseTag(tag) not in ds:
        query_mod.apply_key(ds, name)
