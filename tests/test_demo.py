"""The bundled demo SCP: matching rules (PS3.4 C.2.2.2), Q/R levels (C.4.1.3), and end to end
with DCMTK findscu as the client (results checked against independent Python filters over the
generated records)."""

from __future__ import annotations

import fnmatch
import io
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import Dataset, dcmread
from pydicom.sequence import Sequence

from fastfind.demo import server as demo
from fastfind.demo.data import DemoRecords, make_records
from fastfind.demo.match import (
    QueryError,
    compile_query,
    find_qr,
    find_worklist,
    value_matches,
)

ROOT = Path(__file__).resolve().parent.parent
FINDSCU = shutil.which("findscu")
_NO_FINDSCU = pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu not installed")


def needs_findscu(test):  # type: ignore[no-untyped-def]
    """Mark a test that runs DCMTK findscu (skipped cleanly without it)."""
    return pytest.mark.interop(_NO_FINDSCU(test))
TIMEOUT = 30

RECORDS = make_records()  # the defaults the demo serves: seed 1, 200 studies/entries


# ---------------------------------------------------------------------------------------
# value matching, one row per rule

VALUE_CASES = [
    # universal
    ("LO", "", "anything", True, "empty key is universal"),
    ("LO", "", None, True, "universal matches a record without the attribute"),
    ("PN", "*", None, True, "'*' alone is universal"),
    ("CS", "**", "CT", True, "only '*'s is universal"),
    # single value
    ("LO", "ABC", "ABC", True, "single value"),
    ("LO", "ABC", "ABCD", False, "single value is not a prefix match"),
    ("LO", "abc", "ABC", False, "LO is case-sensitive"),
    ("CS", "ct", "CT", False, "CS is case-sensitive"),
    ("PN", "smith^john", "SMITH^JOHN", True, "PN is case-insensitive"),
    ("PN", "SMITH^JOHN", "SMITH^JOHN^^^", True, "PN ignores empty trailing components"),
    ("LO", " ABC ", "ABC", True, "leading/trailing spaces are not significant"),
    ("LO", "ABC", None, False, "non-universal key, record lacks the attribute"),
    ("UI", "1.2.3", "1.2.3", True, "UID single value"),
    ("UI", "1.2.3", "1.2.30", False, "UID is exact"),
    ("UI", "1.2.*", "1.2.3", False, "no wildcards for UI"),
    ("IS", "5", "05", True, "IS compares numerically"),
    ("DA", "20240101", "20240101", True, "DA single value"),
    ("TM", "10", "100000", True, "partial TM equals padded TM"),
    ("TM", "1030", "103000.000", True, "TM fraction"),
    # wildcard
    ("LO", "A*", "ABC", True, "'*' suffix"),
    ("LO", "*C", "ABC", True, "'*' prefix"),
    ("LO", "A*C", "AC", True, "'*' matches the empty run"),
    ("LO", "A?C", "ABC", True, "'?' one character"),
    ("LO", "A?C", "AC", False, "'?' needs exactly one character"),
    ("LO", "a*", "ABC", False, "wildcards keep LO case-sensitive"),
    ("PN", "a*", "Adams^Alice", True, "PN wildcard is case-insensitive"),
    ("PN", "müller*", "Müller^Jürgen", True, "non-ASCII PN wildcard"),
    ("PN", "A*", "Ängel^Anaïs", False, "no accent folding"),
    ("SH", "A.C", "ABC", False, "regex metacharacters are literal"),
    ("AE", "CT*", "CT01", True, "AE wildcard"),
    # ranges
    ("DA", "20240101-20241231", "20240601", True, "closed date range"),
    ("DA", "20240101-20241231", "20241231", True, "range bounds are inclusive"),
    ("DA", "20240101-20241231", "20250101", False, "after the range"),
    ("DA", "-20231231", "20230101", True, "open start"),
    ("DA", "-20231231", "20240101", False, "open start, after"),
    ("DA", "2024.01.01-", "20240101", True, "open end, ACR-NEMA form"),
    ("DA", "20240101-", "20231231", False, "open end, before"),
    ("TM", "1000-1200", "113000", True, "time range"),
    ("TM", "-12", "125959.5", True, "partial upper bound covers its hour"),
    ("TM", "13-", "125959", False, "open-end time range"),
    ("DT", "2024-2024", "20241231235959", True, "partial DT bounds"),
    ("DT", "20240101120000-20240101130000", "20240101123000", True, "DT range"),
    ("DT", "20240101120000-0500", "20240101120000", True, "DT with offset is a single value"),
    # lists and multi-valued records
    ("UI", "1.2.3\\1.2.4", "1.2.4", True, "list of UIDs"),
    ("UI", "1.2.3\\1.2.4", "1.2.5", False, "list of UIDs, no member"),
    ("CS", "CT", ["MR", "CT"], True, "multi-valued record: any value"),
    ("CS", "CT\\PT", ["MR", "PT"], True, "multi-valued key: any value"),
    ("CS", "US", ["MR", "CT"], False, "multi-valued record, no value"),
]


@pytest.mark.parametrize(("vr", "query", "record", "expected"),
                         [c[:4] for c in VALUE_CASES], ids=[c[4] for c in VALUE_CASES])
def test_value_matching_rules(vr: str, query: str, record: object, expected: bool) -> None:
    assert value_matches(vr, query, record) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("vr", "query"), [
    ("DA", "2024-01-01"), ("DA", "20240101-20241231-20251231"), ("DA", "-"),
    ("TM", "25x"), ("DT", "abc-def"), ("IS", "five"),
])
def test_malformed_keys_raise(vr: str, query: str) -> None:
    with pytest.raises(ValueError):
        value_matches(vr, query, "20240101")


_TEXT = st.text(alphabet="AB?*xé", max_size=8)


@settings(max_examples=300, deadline=None)
@given(pattern=_TEXT, value=st.text(alphabet="ABxé", max_size=8))
def test_wildcard_agrees_with_fnmatchcase(pattern: str, value: str) -> None:
    """For a case-sensitive VR, '*'/'?' matching is fnmatch without character classes."""
    if pattern.strip("*") == "":
        expected = True  # universal, even for an empty record value
    else:
        expected = bool(value) and fnmatch.fnmatchcase(value, pattern)
    assert value_matches("LO", pattern, value) is expected


_DATE = st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.strftime("%Y%m%d"))


@settings(max_examples=200, deadline=None)
@given(low=st.one_of(st.none(), _DATE), high=st.one_of(st.none(), _DATE), value=_DATE)
def test_date_range_agrees_with_integer_compare(low: str | None, high: str | None,
                                                value: str) -> None:
    if low is None and high is None:
        return
    query = f"{low or ''}-{high or ''}"
    expected = (low is None or int(value) >= int(low)) and (high is None or int(value) <= int(high))
    assert value_matches("DA", query, value) is expected


# ---------------------------------------------------------------------------------------
# dataset level: return keys and sequence matching


def _worklist_record() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "P1"
    steps = []
    for modality, date in (("CT", "20240105"), ("PT", "20240106")):
        item = Dataset()
        item.Modality = modality
        item.ScheduledProcedureStepStartDate = date
        item.ScheduledStationAETitle = f"{modality}01"
        steps.append(item)
    ds.ScheduledProcedureStepSequence = Sequence(steps)
    return ds


def _sps_query(**keys: str) -> Dataset:
    q = Dataset()
    item = Dataset()
    for k, v in keys.items():
        setattr(item, k, v)
    q.ScheduledProcedureStepSequence = Sequence([item])
    return q


def test_response_has_exactly_the_requested_keys() -> None:
    q = Dataset()
    q.PatientName = "m*"
    q.AccessionNumber = ""  # the record lacks it: returned zero-length
    (rsp,) = list(find_worklist(q, [_worklist_record()]))
    assert [e.keyword for e in rsp] == ["SpecificCharacterSet", "AccessionNumber", "PatientName"]
    assert rsp.SpecificCharacterSet == "ISO_IR 100"
    assert rsp.PatientName == "Müller^Jürgen" and rsp["AccessionNumber"].value in (None, "")


def test_charset_asked_for_but_absent_is_zero_length() -> None:
    rec = Dataset()
    rec.PatientID = "X"
    q = Dataset()
    q.SpecificCharacterSet = ""
    q.PatientID = ""
    (rsp,) = list(find_worklist(q, [rec]))
    assert "SpecificCharacterSet" in rsp and not rsp.SpecificCharacterSet


@pytest.mark.parametrize(("keys", "items"), [
    ({"Modality": "PT"}, [1]),  # the second item matches; only it is returned
    ({"Modality": "CT", "ScheduledProcedureStepStartDate": "20240105"}, [0]),
    ({"ScheduledStationAETitle": "*01"}, [0, 1]),
    ({"Modality": ""}, [0, 1]),  # all-universal item
    ({"Modality": "CT", "ScheduledProcedureStepStartDate": "20240106"}, None),  # not one item
    ({"Modality": "MR"}, None),
])
def test_sequence_matching(keys: dict[str, str], items: list[int] | None) -> None:
    record = _worklist_record()
    rsps = list(find_worklist(_sps_query(**keys), [record]))
    if items is None:
        assert rsps == []
        return
    (rsp,) = rsps
    got = rsp.ScheduledProcedureStepSequence
    assert len(got) == len(items)
    for item, index in zip(got, items, strict=True):
        source = record.ScheduledProcedureStepSequence[index]
        assert sorted(e.keyword for e in item) == sorted(keys)
        assert all(item[k].value == source[k].value for k in keys)


def test_empty_query_sequence_returns_whole_items() -> None:
    q = Dataset()
    q.ScheduledProcedureStepSequence = Sequence()
    (rsp,) = list(find_worklist(q, [_worklist_record()]))
    assert rsp.ScheduledProcedureStepSequence == _worklist_record().ScheduledProcedureStepSequence


def test_sequence_key_on_record_without_sequence() -> None:
    rec = Dataset()
    rec.PatientID = "X"
    assert list(find_worklist(_sps_query(Modality="CT"), [rec])) == []
    (rsp,) = list(find_worklist(_sps_query(Modality=""), [rec]))
    assert len(rsp.ScheduledProcedureStepSequence) == 0


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")
def test_bad_key_value_is_c000_with_offending_element() -> None:
    q = Dataset()
    q.StudyDate = "2024-01"
    with pytest.raises(QueryError) as err:
        compile_query(q)
    assert err.value.status == 0xC000
    assert err.value.status_dataset().OffendingElement == 0x00080020


# ---------------------------------------------------------------------------------------
# Q/R levels


def _qr(level: str | None, **keys: str) -> Dataset:
    q = Dataset()
    if level is not None:
        q.QueryRetrieveLevel = level
    for k, v in keys.items():
        setattr(q, k, v)
    return q


def _patient_with_studies(records: DemoRecords) -> Dataset:
    return next(p for p in records.entities("PATIENT") if int(p.NumberOfPatientRelatedStudies) > 1)


@pytest.mark.parametrize(("model", "query"), [
    ("study", _qr(None, PatientID="")),
    ("study", _qr("", PatientID="")),
    ("study", _qr("FOO", PatientID="")),
    ("study", _qr("PATIENT", PatientID="")),  # no PATIENT level in Study Root
    ("patient_study", _qr("SERIES", PatientID="X", StudyInstanceUID="1")),
    ("patient", _qr("STUDY", StudyInstanceUID="")),  # PatientID missing
    ("patient", _qr("STUDY", PatientID="")),  # PatientID must have a value
    ("patient", _qr("STUDY", PatientID="PAT*")),  # ... a single one, no wildcard
    ("study", _qr("SERIES", SeriesInstanceUID="")),  # StudyInstanceUID missing
    ("study", _qr("IMAGE", StudyInstanceUID="1.2", SOPInstanceUID="")),  # series UID missing
    ("study", _qr("SERIES", StudyInstanceUID="1.2\\1.3")),  # unique key: one value
])
def test_level_violations_are_a900(model: str, query: Dataset) -> None:
    with pytest.raises(QueryError) as err:
        find_qr(query, model, RECORDS)
    assert err.value.status == 0xA900


def test_hierarchy_counts_agree_with_the_tree() -> None:
    patient = _patient_with_studies(RECORDS)
    studies = list(find_qr(_qr("STUDY", PatientID=patient.PatientID, StudyInstanceUID="",
                               NumberOfStudyRelatedSeries=""), "patient", RECORDS))
    assert len(studies) == int(patient.NumberOfPatientRelatedStudies)
    study = studies[0]
    series = list(find_qr(_qr("SERIES", StudyInstanceUID=study.StudyInstanceUID,
                              SeriesInstanceUID="", Modality=""), "study", RECORDS))
    assert len(series) == int(study.NumberOfStudyRelatedSeries)
    assert {s.StudyInstanceUID for s in series} == {study.StudyInstanceUID}
    assert all(s.QueryRetrieveLevel == "SERIES" for s in series)


def test_lower_level_keys_are_returned_empty_not_matched() -> None:
    hits = list(find_qr(_qr("STUDY", PatientName="A*", Modality="XX"), "study", RECORDS))
    assert hits and all(h["Modality"].value in (None, "") for h in hits)


def test_records_are_deterministic_and_varied() -> None:
    again = make_records()
    assert [str(d.StudyInstanceUID) for d in again.entities("STUDY")] == \
        [str(d.StudyInstanceUID) for d in RECORDS.entities("STUDY")]
    assert again.worklist == RECORDS.worklist
    other = make_records(seed=2, count=10)
    assert other.entities("STUDY")[0].StudyInstanceUID != RECORDS.entities("STUDY")[0].StudyInstanceUID
    charsets = {p.get("SpecificCharacterSet") for p in RECORDS.entities("PATIENT")}
    assert {"ISO_IR 100", "ISO_IR 192", None} <= charsets
    assert any(len(w.ScheduledProcedureStepSequence) == 2 for w in RECORDS.worklist)


# ---------------------------------------------------------------------------------------
# end to end with DCMTK findscu


@pytest.fixture(scope="module")
def server() -> Iterator[demo.DemoServer]:
    srv = demo.serve(port=0, records=RECORDS)
    try:
        yield srv
    finally:
        srv.shutdown()


def findscu(port: int, out: Path, *args: str) -> tuple[str, list[Dataset]]:
    """Run findscu -X; return (final status text, responses read back from rspNNNN.dcm)."""
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([FINDSCU or "findscu", "-v", "-X", "-od", str(out), "-aec", "DEMO",
                           "127.0.0.1", str(port), *args],
                          capture_output=True, timeout=TIMEOUT, check=False)
    log = proc.stderr.decode("latin-1")
    assert proc.returncode == 0, log
    final = re.search(r"Received Final Find Response \(([^)]*)\)", log)
    assert final is not None, log
    files = sorted(out.glob("rsp*.dcm"))
    return final.group(1), [dcmread(f) for f in files]


def _study_oracle(pred) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(s.StudyInstanceUID) for s in RECORDS.entities("STUDY") if pred(s)}


@needs_findscu
def test_e2e_wildcard(server: demo.DemoServer, tmp_path: Path) -> None:
    status, rsps = findscu(server.port, tmp_path, "-S", "-k", "QueryRetrieveLevel=STUDY",
                           "-k", "PatientName=A*", "-k", "StudyInstanceUID", "-k", "PatientID")
    assert status == "Success"
    want = _study_oracle(lambda s: str(s.PatientName).casefold().startswith("a"))
    assert len(want) > 10
    assert {str(r.StudyInstanceUID) for r in rsps} == want and len(rsps) == len(want)
    for r in rsps:
        keys = {e.keyword for e in r} - {"SpecificCharacterSet"}
        assert keys == {"QueryRetrieveLevel", "PatientName", "StudyInstanceUID", "PatientID"}


@needs_findscu
@pytest.mark.parametrize("query", ["20210101-20211231", "-20191231", "20250101-"])
def test_e2e_date_range(server: demo.DemoServer, tmp_path: Path, query: str) -> None:
    low, high = (int(x) if x else None for x in query.split("-"))
    status, rsps = findscu(server.port, tmp_path, "-S", "-k", "QueryRetrieveLevel=STUDY",
                           "-k", f"StudyDate={query}", "-k", "StudyInstanceUID")
    want = _study_oracle(lambda s: (low is None or int(s.StudyDate) >= low)
                         and (high is None or int(s.StudyDate) <= high))
    assert status == "Success" and want
    assert {str(r.StudyInstanceUID) for r in rsps} == want
    assert all((low is None or int(r.StudyDate) >= low) and (high is None or int(r.StudyDate) <= high)
               for r in rsps)


@needs_findscu
def test_e2e_worklist_sequence_matching(server: demo.DemoServer, tmp_path: Path) -> None:
    status, rsps = findscu(server.port, tmp_path, "-W",
                           "-k", "ScheduledProcedureStepSequence[0].Modality=PT",
                           "-k", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
                           "-k", "AccessionNumber")
    want = {str(w.AccessionNumber) for w in RECORDS.worklist
            if any(i.Modality == "PT" for i in w.ScheduledProcedureStepSequence)}
    assert status == "Success" and want
    assert {str(r.AccessionNumber) for r in rsps} == want
    for r in rsps:
        (item,) = r.ScheduledProcedureStepSequence
        assert item.Modality == "PT" and item.ScheduledStationAETitle == "PT01"


@needs_findscu
def test_e2e_cancel(tmp_path: Path) -> None:
    with demo.serve(port=0, records=RECORDS, delay=0.05) as slow:
        status, rsps = findscu(slow.port, tmp_path, "--cancel", "2", "-S",
                               "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID")
    assert status == "Cancel: MatchingTerminatedDueToCancelRequest"
    assert 2 <= len(rsps) < len(RECORDS.entities("STUDY"))


@needs_findscu
@pytest.mark.parametrize(("option", "ts"), [
    ("-xe", "1.2.840.10008.1.2.1"),
    ("-xi", "1.2.840.10008.1.2"),
    ("-xb", "1.2.840.10008.1.2.2"),
    ("-xd", "1.2.840.10008.1.2.1.99"),
])
def test_e2e_transfer_syntaxes(server: demo.DemoServer, tmp_path: Path, option: str,
                               ts: str) -> None:
    status, rsps = findscu(server.port, tmp_path, option, "-W",
                           "-k", "ScheduledProcedureStepSequence[0].Modality=MR",
                           "-k", "PatientName", "-k", "SpecificCharacterSet",
                           "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate")
    want = [w for w in RECORDS.worklist if w.ScheduledProcedureStepSequence[0].Modality == "MR"]
    assert status == "Success" and len(rsps) == len(want) > 0
    assert {r.file_meta.TransferSyntaxUID for r in rsps} == {ts}
    assert sorted(str(r.PatientName) for r in rsps) == sorted(str(w.PatientName) for w in want)


@needs_findscu
def test_e2e_non_ascii(server: demo.DemoServer, tmp_path: Path) -> None:
    status, rsps = findscu(server.port, tmp_path, "-P", "-k", "QueryRetrieveLevel=PATIENT",
                           "-k", "SpecificCharacterSet=ISO_IR 192", "-k", "PatientName=山*")
    assert status == "Success" and rsps
    assert all(r.SpecificCharacterSet == "ISO_IR 192" and str(r.PatientName) == "山田^太郎"
               for r in rsps)
    status, rsps = findscu(server.port, tmp_path / "l1", "-P", "-k", "QueryRetrieveLevel=PATIENT",
                           "-k", "PatientName=Andr*")
    assert rsps and {r.SpecificCharacterSet for r in rsps} == {"ISO_IR 100"}
    assert {str(r.PatientName) for r in rsps} == {"Andrée^François"}


@needs_findscu
def test_e2e_patient_root_levels(server: demo.DemoServer, tmp_path: Path) -> None:
    status, rsps = findscu(server.port, tmp_path / "p", "-P", "-k", "QueryRetrieveLevel=PATIENT",
                           "-k", "PatientName=A*", "-k", "PatientID",
                           "-k", "NumberOfPatientRelatedStudies")
    want = {str(p.PatientID) for p in RECORDS.entities("PATIENT")
            if str(p.PatientName).casefold().startswith("a")}
    assert status == "Success" and {str(r.PatientID) for r in rsps} == want
    patient = _patient_with_studies(RECORDS)
    status, studies = findscu(server.port, tmp_path / "s", "-P", "-k", "QueryRetrieveLevel=STUDY",
                              "-k", f"PatientID={patient.PatientID}", "-k", "StudyInstanceUID",
                              "-k", "NumberOfStudyRelatedSeries")
    assert len(studies) == int(patient.NumberOfPatientRelatedStudies)
    study = studies[0]
    status, series = findscu(server.port, tmp_path / "se", "-P", "-k", "QueryRetrieveLevel=SERIES",
                             "-k", f"PatientID={patient.PatientID}",
                             "-k", f"StudyInstanceUID={study.StudyInstanceUID}",
                             "-k", "SeriesInstanceUID", "-k", "NumberOfSeriesRelatedInstances")
    assert len(series) == int(study.NumberOfStudyRelatedSeries)
    one = series[0]
    status, images = findscu(server.port, tmp_path / "i", "-P", "-k", "QueryRetrieveLevel=IMAGE",
                             "-k", f"PatientID={patient.PatientID}",
                             "-k", f"StudyInstanceUID={study.StudyInstanceUID}",
                             "-k", f"SeriesInstanceUID={one.SeriesInstanceUID}",
                             "-k", "SOPInstanceUID")
    assert status == "Success" and len(images) == int(one.NumberOfSeriesRelatedInstances)
    assert all(str(i.SOPInstanceUID).startswith(f"{one.SeriesInstanceUID}.") for i in images)


@needs_findscu
def test_e2e_study_root_and_patient_study_only(server: demo.DemoServer, tmp_path: Path) -> None:
    study = RECORDS.entities("STUDY")[0]
    status, series = findscu(server.port, tmp_path / "s", "-S", "-k", "QueryRetrieveLevel=SERIES",
                             "-k", f"StudyInstanceUID={study.StudyInstanceUID}",
                             "-k", "SeriesInstanceUID", "-k", "Modality")
    assert status == "Success" and len(series) == int(study.NumberOfStudyRelatedSeries)
    status, studies = findscu(server.port, tmp_path / "o", "-O", "-k", "QueryRetrieveLevel=STUDY",
                              "-k", f"PatientID={study.PatientID}", "-k", "StudyInstanceUID")
    assert status == "Success" and str(study.StudyInstanceUID) in {
        str(s.StudyInstanceUID) for s in studies}


@needs_findscu
@pytest.mark.parametrize(("args", "status"), [
    (["-S", "-k", "PatientName=A*"], "Error: DataSetDoesNotMatchSOPClass"),
    (["-O", "-k", "QueryRetrieveLevel=SERIES"], "Error: DataSetDoesNotMatchSOPClass"),
    (["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyDate=2024-01"],
     "Failed: UnableToProcess"),
])
def test_e2e_failures(server: demo.DemoServer, tmp_path: Path, args: list[str],
                      status: str) -> None:
    final, rsps = findscu(server.port, tmp_path, *args)
    assert final == status and rsps == []


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("echoscu") is None, reason="DCMTK echoscu not installed")
def test_e2e_verification(server: demo.DemoServer) -> None:
    proc = subprocess.run(["echoscu", "127.0.0.1", str(server.port)], capture_output=True,
                          timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------
# the command line


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def _readline(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), "no output from the demo SCP in time"
    return proc.stdout.readline()


@needs_findscu
def test_main_serves_until_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "fastfind.demo", "--port", "0",
                             "--records", "20", "--aet", "MYDEMO"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    try:
        line = _readline(proc, TIMEOUT).decode()
        match = re.search(r"MYDEMO listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        status, rsps = findscu(int(match.group(1)), tmp_path, "-S",
                               "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID")
        assert status == "Success" and len(rsps) == 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)


@needs_findscu
def test_main_run_query_with_findscu() -> None:
    proc = subprocess.run([sys.executable, "-m", "fastfind.demo", "--run-query"],
                          capture_output=True, timeout=2 * TIMEOUT, check=False,
                          env=_env(FASTFIND_DEMO_CLIENT="findscu"))
    out = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, out + proc.stderr.decode(errors="replace")
    study_hits = len(_study_oracle(lambda s: str(s.PatientName).casefold().startswith("a")
                                   and 20200101 <= int(s.StudyDate) <= 20251231))
    wl_hits = sum(1 for w in RECORDS.worklist if any(
        i.Modality == "CT" and 20240101 <= int(i.ScheduledProcedureStepStartDate) <= 20240630
        for i in w.ScheduledProcedureStepSequence))
    assert out.count("=== ") == 2 and "Received Final Find Response (Success)" in out
    assert re.search(rf"demo OK: 2 queries .*: {study_hits} matches \(exit 0\), "
                     rf"{wl_hits} matches \(exit 0\)", out), out[-500:]


def test_run_queries_reports_a_failing_client(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("false") is None:
        pytest.skip("no 'false' program")
    monkeypatch.setenv(demo.CLIENT_ENV, "false")
    out = io.BytesIO()
    with demo.serve(port=0, records=make_records(count=4)) as srv:
        assert demo.run_queries(srv, out) == 1
    text = out.getvalue().decode()
    assert "demo FAILED" in text and "exit 1" in text


def test_default_client_is_the_fastfind_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(demo.CLIENT_ENV, raising=False)
    assert demo.client_command() == [sys.executable, "-m", "fastfind"]
    args = demo.demo_queries("AET", 1234)[0][1]
    assert args[:7] == ["-v", "-S", "-aec", "AET", "127.0.0.1", "1234", "-k"]
    assert "PatientName=A*" in args and "StudyDate=20200101-20251231" in args
