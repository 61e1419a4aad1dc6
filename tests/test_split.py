"""Complete answers despite caps: truncation verdicts, range bisection, merged and deduplicated
answers -- against Orthanc with LimitFindResults (capped and uncapped), wlmscpfs, and the
scripted SCP for silent caps, refusals and empty answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as hs
from pydicom.dataset import Dataset

from fastfind.batch import find_many
from fastfind.batch import truncation as tr
from fastfind.batch.split import Splitter, Window
from fastfind.errors import UsageError

import servers
from batch_scp import CappedArchive, spread, study_records, uids
from conftest import require_binaries

STUDIES = {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": None, "StudyDate": None,
           "PatientID": None}


# ---- the pieces ------------------------------------------------------------------------------


def test_splitter_texts_and_companion() -> None:
    s = Splitter("StudyDate")
    assert s.vr == "DA" and s.time_key == "StudyTime"
    ds = Dataset()
    ds.StudyDate = "20230101-20230110"
    w = s.window(ds)
    a, b = s.halves(w)
    assert s.label(a) == "StudyDate=20230101-20230105" and s.label(b) == "StudyDate=20230106-20230110"
    one = Window(w.lo, w.lo)
    assert s.label(one) == "StudyDate=20230101"
    first, second = s.halves(one)  # one day: the time of day is split
    assert s.label(first) == "StudyDate=20230101 StudyTime=-115959.999999"
    assert s.label(second) == "StudyDate=20230101 StudyTime=120000-"
    seq = Splitter("ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate")
    assert seq.time_key == "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime"
    with pytest.raises(UsageError, match="DA, TM or DT"):
        Splitter("PatientName")


def test_open_ranges_stay_open() -> None:
    s = Splitter("StudyDate")
    whole = s.window(Dataset())
    assert (whole.lo, whole.hi) == (None, None)
    low, high = s.halves(whole)
    assert low.lo is None and high.hi is None
    assert s.label(low).startswith("StudyDate=-") and s.label(high).endswith("-")


@given(hs.integers(0, 86399), hs.integers(0, 86399))
def test_time_halves_cover_the_whole_without_overlap(x: int, y: int) -> None:
    lo, hi = min(x, y), max(x, y)
    s = Splitter("StudyTime")
    w = Window(lo, hi)
    halves = s.halves(w)
    if lo == hi:
        assert halves is None
        return
    a, b = halves
    assert a.lo == lo and b.hi == hi and a.hi + 1 == b.lo


@pytest.mark.parametrize(("status", "comment", "count", "kind"), [
    (0x0000, None, 7, tr.COMPLETE),
    (0xFE00, None, 5, tr.TRUNCATED),
    (0xB000, None, 5, tr.TRUNCATED),
    (0xA700, None, 0, tr.TRUNCATED),
    (0xC001, "Too many matches, refine the query", 0, tr.TRUNCATED),
    (0xC001, "unable to process", 0, tr.FAILED),
    (0xA900, None, 0, tr.FAILED),
    (0x0000, None, 500, tr.SUSPECT),
    (0x0000, None, 0, tr.SUSPECT),
])
def test_judge(status: int, comment: str | None, count: int, kind: str) -> None:
    assert tr.judge(status, comment, count, False, False, tr.CapDetector()).kind == kind


def test_round_count_seen_twice_is_a_cap_and_expect_cap_is_one() -> None:
    d = tr.CapDetector(expect_cap=40)
    assert tr.judge(0, None, 40, False, False, d).kind == tr.TRUNCATED
    assert tr.judge(0, None, 100, False, False, d).kind == tr.SUSPECT
    assert tr.judge(0, None, 100, False, False, d).kind == tr.TRUNCATED
    assert 100 in d.learned
    assert tr.judge(0xFE00, None, 3, False, True, d).kind == tr.COMPLETE  # our own cancel


# ---- Orthanc with LimitFindResults --------------------------------------------------------------


def test_capped_orthanc_completed_by_splitting(orthanc, orthanc_limited) -> None:
    plain = list(find_many([STUDIES], orthanc.host, orthanc.port, model="study"))
    assert plain[0].ok and plain[0].count == 20
    capped = list(find_many([STUDIES], orthanc_limited.host, orthanc_limited.port, model="study"))
    assert capped[0].exit_code == 68  # FE00 after 5: the engine alone reports it
    split = list(find_many([STUDIES, dict(STUDIES, PatientID="ORTHANC001")],
                           orthanc_limited.host, orthanc_limited.port, model="study",
                           split_by="StudyDate", concurrency=3))
    by_id = {r.id: r for r in split}
    whole = by_id["1"]
    assert whole.ok and whole.count == 20 and not whole.incomplete
    assert "split by StudyDate" in whole.notes[0]
    assert uids([whole]) == uids(plain)
    assert by_id["2"].ok and by_id["2"].count == 2
    numbers = sorted(m.number for m in whole.matches)
    assert numbers == list(range(1, 21))  # numbered per query across its parts
    assert {m.query for m in whole.matches} == {0}


@pytest.fixture(scope="module")
def orthanc_dense(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.OrthancServer]:
    """Orthanc (LimitFindResults=5): 8 studies on one day at different times, 6 at one instant."""
    require_binaries(servers.ORTHANC)
    data = servers.qr_instances(7, 2, 1, 1, tag="dense")
    for k, ds in enumerate(data.instances):
        if k < 8:
            ds.StudyDate, ds.StudyTime = "20230601", f"{8 + k:02d}1500"
        else:
            ds.StudyDate, ds.StudyTime = "20230701", "120000"
    server = servers.start_orthanc(tmp_path_factory.mktemp("orthanc-dense"), data=data,
                                   LimitFindResults=5)
    yield server
    server.process.stop()


def test_times_within_a_day_and_what_cannot_be_completed_is_loud(orthanc_dense) -> None:
    s = orthanc_dense
    rows = [dict(STUDIES, StudyDate="20230601"), STUDIES]
    out = {r.id: r for r in find_many(rows, s.host, s.port, model="study", split_by="StudyDate")}
    day = out["1"]
    assert day.ok and day.count == 8
    assert "split by StudyDate" in day.notes[0]
    whole = out["2"]
    assert not whole.ok and whole.incomplete and whole.exit_code == 68
    assert whole.count == 8  # the 6 studies of one instant cannot be had under a cap of 5
    assert any("StudyDate=20230701 StudyTime=120000" in n and "not written" in n
               for n in whole.notes)
    assert "incomplete" in whole.reason


def test_cli_split_on_capped_orthanc(orthanc, orthanc_limited, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("PatientID,StudyDate\n,\nORTHANC002,\n")
    args = ["-S", "-aec", "ORTHANC", orthanc_limited.host, orthanc_limited.port, "--batch", rows,
            "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID", "--split-by",
            "StudyDate", "--extract-ndjson", tmp_path / "out.ndjson", "--batch-report",
            tmp_path / "report.csv"]
    r = servers.run_fastfind(args, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (tmp_path / "out.ndjson").read_text().splitlines()]
    first = [x["response"]["0020000D"]["Value"][0] for x in lines if x["query"] == 1]
    assert len(first) == len(set(first)) == 20
    assert len([x for x in lines if x["query"] == 2]) == 2
    report = (tmp_path / "report.csv").read_text().splitlines()
    assert report[0] == "row,query,level,status,matches,attempts,seconds,error,notes"
    assert report[1].startswith("1,1,STUDY,0x0000,20,") or report[2].startswith("1,1,STUDY,0x0000,20,")
    # the same batch without --split-by: the capped query is reported, its 5 matches not written
    r = servers.run_fastfind(args[:-6] + ["--extract-ndjson", tmp_path / "capped.ndjson"], timeout=120)
    assert r.returncode == 68, r.stderr
    assert "queries=2 ok=1 failed=1" in r.stderr
    capped = [json.loads(x) for x in (tmp_path / "capped.ndjson").read_text().splitlines()]
    assert {x["query"] for x in capped} == {2}


# ---- caps that Orthanc does not show: the scripted SCP ----------------------------------------


@pytest.mark.parametrize("mode", ["silent", "refuse", "cancel"])
def test_silent_caps_refusals_and_cancels(scripted_scp, mode: str) -> None:
    records = study_records(spread(60, per_day=4))
    scp = scripted_scp(CappedArchive(records, cap=25, mode=mode))
    queries = [STUDIES, dict(STUDIES, StudyDate="20230101-20230107")]
    out = {r.id: r for r in find_many(queries, scp.host, scp.port, model="study",
                                      split_by="StudyDate", keep_matches=True)}
    assert out["1"].ok and out["1"].count == 60, out["1"].notes
    assert uids([out["1"]]) == {str(r.StudyInstanceUID) for r in records}
    assert out["2"].ok and out["2"].count == 28


def test_a_server_that_answers_nothing_when_over_its_cap(scripted_scp) -> None:
    records = study_records(spread(20, start=19950101) + spread(20, start=20100101))
    scp = scripted_scp(CappedArchive(records, cap=25, mode="nothing"))
    [result] = find_many([STUDIES], scp.host, scp.port, model="study", split_by="StudyDate")
    assert result.ok and result.count == 40


def test_expect_cap_without_split_is_incomplete(scripted_scp) -> None:
    records = study_records(spread(30))
    scp = scripted_scp(CappedArchive(records, cap=10, mode="silent"))
    [result] = find_many([STUDIES], scp.host, scp.port, model="study", expect_cap=10)
    assert result.incomplete and result.exit_code == 68 and result.count == 0
    assert "--expect-cap" in result.reason


def test_worklist_split_on_a_sequence_path(wlmscpfs) -> None:
    """wlmscpfs does not cap: --expect-cap makes every 5-match part split, down to times of day
    on the step's start date; the merged answer is the unsplit one, each step once."""
    key = "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate"
    query = {"PatientID": None, "AccessionNumber": None, "RequestedProcedureID": None,
             "ScheduledProcedureStepSequence[0].Modality": "CT",
             "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID": None,
             key: "20240101-20240110"}
    kw = dict(called_ae=wlmscpfs.aet, model="worklist")
    [plain] = find_many([query], wlmscpfs.host, wlmscpfs.port, **kw)
    assert plain.ok and plain.count == 5
    [split] = find_many([query], wlmscpfs.host, wlmscpfs.port, split_by=key, expect_cap=5,
                        **kw)
    assert split.ok and split.count == 5
    assert "split by" in split.notes[0]
    assert sorted(m.dataset.AccessionNumber for m in split.matches) == \
        sorted(m.dataset.AccessionNumber for m in plain.matches)
