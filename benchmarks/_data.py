"""Deterministic inputs for the codec micro benchmarks (seeded; generated on the fly).

* :func:`identifiers` -- ``n`` synthetic C-FIND identifiers (worklist items or study-level
  results, ~400 bytes, ISO_IR 100), encoded in one of the four transfer syntaxes.
* :func:`response_stream` -- the bytes an SCP sends for ``n`` Pending C-FIND-RSPs plus the final
  Success: command PDU + data-set PDU per response (PS3.8 §9.3.5), at most ``max_pdu`` each.
* :func:`pdata_primitives` -- the same messages as pynetdicom ``P_DATA`` primitives, for
  ``DIMSEMessage.decode_msg``.

Everything returns lists/bytes, never generators, so a benchmark loop can reuse them.
"""

from __future__ import annotations

import random

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

from fastfind import _codec_py as py
from fastfind.dicom.uids import TRANSFER_SYNTAXES, TransferSyntax

MWL_FIND = "1.2.840.10008.5.1.4.31"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
_FAMILY = ["SMITH", "MÜLLER", "GARCÍA", "NGUYEN", "ROSSI", "DUBOIS", "KOWALSKI", "JOHANSSON"]
_GIVEN = ["ANNA", "JOSÉ", "LI", "MARIE", "PETER", "ZOË", "OLAF", "FRANÇOIS"]
_MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "NM", "PT"]
_DESCRIPTIONS = ["CHEST PA/LAT", "CT HEAD W/O CONTRAST", "MRI KNEE LEFT", "US ABDOMEN COMPLETE"]


def _uid(rng: random.Random) -> str:
    return f"1.2.826.0.1.3680043.8.498.{rng.randrange(10**20)}.{rng.randrange(10**6)}"


def _date(rng: random.Random) -> str:
    return f"20{rng.randrange(10, 26):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"


def _common(rng: random.Random) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.AccessionNumber = f"ACC{rng.randrange(10**8):08d}"
    ds.PatientName = f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}"
    ds.PatientID = f"PID{rng.randrange(10**7):07d}"
    ds.PatientBirthDate = _date(rng)
    ds.PatientSex = rng.choice("MFO")
    ds.StudyInstanceUID = _uid(rng)
    return ds


def worklist_item(rng: random.Random) -> Dataset:
    """A Modality Worklist response identifier (PS3.4 K.6.1) with one scheduled step."""
    ds = _common(rng)
    ds.RequestedProcedureID = f"RP{rng.randrange(10**6)}"
    ds.RequestedProcedureDescription = rng.choice(_DESCRIPTIONS)
    step = Dataset()
    step.Modality = rng.choice(_MODALITIES)
    step.ScheduledStationAETitle = f"STATION{rng.randrange(20)}"
    step.ScheduledProcedureStepStartDate = _date(rng)
    step.ScheduledProcedureStepStartTime = f"{rng.randrange(24):02d}{rng.randrange(60):02d}00"
    step.ScheduledPerformingPhysicianName = f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}"
    step.ScheduledProcedureStepDescription = rng.choice(_DESCRIPTIONS)
    step.ScheduledProcedureStepID = f"SPS{rng.randrange(10**6)}"
    ds.ScheduledProcedureStepSequence = Sequence([step])
    return ds


def study_result(rng: random.Random) -> Dataset:
    """A Study Root C-FIND response identifier at STUDY level (PS3.4 C.6.2)."""
    ds = _common(rng)
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyDate = _date(rng)
    ds.StudyTime = f"{rng.randrange(24):02d}{rng.randrange(60):02d}{rng.randrange(60):02d}"
    ds.StudyDescription = rng.choice(_DESCRIPTIONS)
    ds.ModalitiesInStudy = rng.sample(_MODALITIES, 2)
    ds.ReferringPhysicianName = f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}"
    ds.StudyID = f"{rng.randrange(10**6)}"
    ds.NumberOfStudyRelatedSeries = str(rng.randrange(1, 20))
    ds.NumberOfStudyRelatedInstances = str(rng.randrange(1, 2000))
    ds.RetrieveAETitle = "ARCHIVE"
    return ds


def encode(ds: Dataset, ts: TransferSyntax) -> bytes:
    fp = DicomBytesIO()
    fp.is_implicit_VR = ts.implicit
    fp.is_little_endian = ts.little
    write_dataset(fp, ds)
    data = fp.getvalue()
    return py.deflate(data) if ts.deflated else data


def identifiers(n: int, ts: TransferSyntax | str, kind: str = "worklist", seed: int = 1) -> list[bytes]:
    """``n`` encoded identifiers (100 distinct ones, repeated)."""
    ts = TRANSFER_SYNTAXES[ts] if isinstance(ts, str) else ts
    rng = random.Random(seed)
    make = worklist_item if kind == "worklist" else study_result
    distinct = [encode(make(rng), ts) for _ in range(min(n, 100))]
    return [distinct[i % len(distinct)] for i in range(n)]


def _commands(n: int, sop_class: str) -> list[bytes]:
    pending = py.encode_command(
        [(0x0002, sop_class), (0x0100, 0x8020), (0x0120, 1), (0x0800, 0x0001), (0x0900, 0xFF00)]
    )
    success = py.encode_command(
        [(0x0002, sop_class), (0x0100, 0x8020), (0x0120, 1), (0x0800, 0x0101), (0x0900, 0x0000)]
    )
    return [pending] * n + [success]


def response_stream(
    n: int, ts: TransferSyntax | str, kind: str = "worklist", max_pdu: int = 16384, context: int = 1
) -> bytes:
    """The byte stream of ``n`` Pending C-FIND-RSPs and the final Success."""
    sop_class = MWL_FIND if kind == "worklist" else STUDY_FIND
    idents = identifiers(n, ts, kind)
    out = bytearray()
    for i, command in enumerate(_commands(n, sop_class)):
        out += py.encode_pdata(context, True, command, max_pdu)
        if i < n:
            out += py.encode_pdata(context, False, idents[i], max_pdu)
    return bytes(out)


def chunks(data: bytes, size: int = 65536) -> list[bytes]:
    """``data`` cut the way ``recv_into`` of ``size`` bytes would hand it over."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def pdata_primitives(stream: bytes) -> list:  # type: ignore[type-arg]
    """pynetdicom P_DATA primitives (one per P-DATA-TF PDU) carrying ``stream``'s PDVs."""
    from pynetdicom.pdu_primitives import P_DATA

    out = []
    pos = 0
    while pos < len(stream):
        length = int.from_bytes(stream[pos + 2 : pos + 6], "big")
        body = stream[pos + 6 : pos + 6 + length]
        pos += 6 + length
        primitive = P_DATA()
        items, i = [], 0
        while i < len(body):
            plen = int.from_bytes(body[i : i + 4], "big")
            items.append([body[i + 4], body[i + 5 : i + 4 + plen]])
            i += 4 + plen
        primitive.presentation_data_value_list = items
        out.append(primitive)
    return out
