"""Hierarchical crawl (--crawl / crawl=): one query per parent, down to the target level, over
the same pool and with the same caps handling -- against Orthanc (capped and uncapped) and
dcmqrscp (Patient Root)."""

from __future__ import annotations

import json
from pathlib import Path

from fastfind.batch import find_many

import servers

ONE_PATIENT = {"QueryRetrieveLevel": "STUDY", "PatientID": "ORTHANC001", "StudyInstanceUID": None}


def test_crawl_from_study_to_image(orthanc) -> None:
    results = list(find_many([ONE_PATIENT], orthanc.host, orthanc.port, model="study",
                             crawl="IMAGE", keep_matches=True, concurrency=3))
    by_id = {r.id: r for r in results}
    assert all(r.ok for r in results), [r.reason for r in results]
    assert sorted(by_id) == ["1", "1/1", "1/1/1", "1/1/2", "1/2", "1/2/1", "1/2/2"]
    assert by_id["1"].level == "STUDY" and by_id["1"].parent is None and by_id["1"].count == 2
    assert {by_id[k].level for k in ("1/1", "1/2")} == {"SERIES"}
    assert by_id["1/2/1"].parent == "1/2" and by_id["1/2/1"].level == "IMAGE"
    images = {str(m.dataset.SOPInstanceUID) for r in results if r.level == "IMAGE" for m in r.matches}
    expected = {str(ds.SOPInstanceUID) for ds in orthanc.data.instances if ds.PatientID == "ORTHANC001"}
    assert images == expected and len(images) == 8
    # every response of the crawl belongs to the input row and is numbered once in it
    numbers = sorted(m.number for r in results for m in r.matches)
    assert numbers == list(range(1, 15)) and {m.query for r in results for m in r.matches} == {0}
    # a child asks hierarchically: its level, its ancestors' unique keys, its own
    series_query = by_id["1/1/1"].query
    assert series_query.QueryRetrieveLevel == "IMAGE"
    assert series_query.StudyInstanceUID and series_query.SeriesInstanceUID
    assert "SOPInstanceUID" in series_query


def test_user_keys_go_to_their_level(orthanc) -> None:
    query = dict(ONE_PATIENT, Modality="MR")
    results = list(find_many([query], orthanc.host, orthanc.port, model="study", crawl="SERIES",
                             keep_matches=True))
    root = next(r for r in results if r.id == "1")
    assert root.count == 2  # Modality is a series key: the studies are not filtered by it
    series = [m.dataset for r in results if r.level == "SERIES" for m in r.matches]
    assert len(series) == 2 and {s.Modality for s in series} == {"MR"}


def test_crawl_with_split_on_capped_orthanc_cli(orthanc, orthanc_limited, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("QueryRetrieveLevel,StudyDate\nSTUDY,\n")
    od = tmp_path / "od"
    od.mkdir()
    args = ["-S", orthanc_limited.host, orthanc_limited.port, "--batch", rows, "--crawl", "SERIES",
            "--split-by", "StudyDate", "--concurrency", "4", "-X", "-od", od,
            "--extract-ndjson", tmp_path / "all.ndjson", "--batch-report", tmp_path / "rep.csv"]
    r = servers.run_fastfind(args, timeout=180)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (tmp_path / "all.ndjson").read_text().splitlines()]
    series = {x["response"]["0020000E"]["Value"][0] for x in lines if "0020000E" in x["response"]}
    assert series == set(orthanc.data.series)
    assert len(lines) == len(orthanc.data.studies) + len(orthanc.data.series)
    assert len(list((od / "q1").glob("rsp*.dcm"))) == len(lines)
    report = (tmp_path / "rep.csv").read_text().splitlines()[1:]
    assert len(report) == 1 + len(orthanc.data.studies)
    assert all(line.startswith("1,1/") for line in report if ",SERIES," in line)


def test_crawl_patient_root_from_patients(dcmqrscp) -> None:
    query = {"QueryRetrieveLevel": "PATIENT", "PatientID": None}
    results = list(find_many([query], dcmqrscp.host, dcmqrscp.port, model="patient",
                             called_ae=dcmqrscp.aet, crawl="SERIES", keep_matches=True))
    assert all(r.ok for r in results), [r.reason for r in results]
    levels = [r.level for r in results]
    assert levels.count("PATIENT") == 1 and levels.count("STUDY") == len(dcmqrscp.data.patients)
    series = {str(m.dataset.SeriesInstanceUID) for r in results if r.level == "SERIES"
              for m in r.matches}
    assert series == set(dcmqrscp.data.series)


def test_crawl_usage_errors(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("QueryRetrieveLevel\nSERIES\n")
    port = servers.free_port()
    r = servers.run_fastfind(["-S", "127.0.0.1", port, "--batch", rows, "--crawl", "SERIES"])
    assert r.returncode == 1 and "already at SERIES level" in r.stderr
    r = servers.run_fastfind(["127.0.0.1", port, "--batch", rows, "--crawl", "SERIES"])
    assert r.returncode == 1 and "--crawl not allowed with --worklist" in r.stderr
    r = servers.run_fastfind(["-S", "127.0.0.1", port, "--batch", rows, "--crawl", "PATIENT"])
    assert r.returncode == 1 and "Invalid value for option --crawl" in r.stderr


def test_crawl_resumes_from_its_checkpoint(orthanc, tmp_path: Path) -> None:
    """Stopped after the parent, the crawl goes on with the children the checkpoint names;
    the merged NDJSON equals an uninterrupted crawl's, and the progress callback sees it all."""
    from fastfind.options import OutputOptions

    query = {"QueryRetrieveLevel": "STUDY", "PatientID": "ORTHANC00*", "StudyInstanceUID": None}
    kw = dict(model="study", crawl="SERIES", concurrency=2)
    ref = OutputOptions(ndjson=str(tmp_path / "ref.ndjson"))
    list(find_many([query], orthanc.host, orthanc.port, outputs=ref, **kw))
    out = OutputOptions(ndjson=str(tmp_path / "run.ndjson"))
    ckpt = str(tmp_path / "crawl.ckpt")
    gen = find_many([query], orthanc.host, orthanc.port, outputs=out, checkpoint=ckpt, **kw)
    first = next(gen)
    assert first.id == "1" and first.count > 1
    gen.close()
    seen = []
    again = list(find_many([query], orthanc.host, orthanc.port, outputs=out, checkpoint=ckpt,
                           progress=lambda p: seen.append((p.done, p.total)), total=1, **kw))
    assert again[0].id == "1" and again[0].resumed
    assert sorted(r.id for r in again) == sorted(["1"] + [f"1/{k}" for k in range(1, first.count + 1)])
    assert all(r.ok for r in again)
    assert sorted((tmp_path / "run.ndjson").read_text().splitlines()) == \
        sorted((tmp_path / "ref.ndjson").read_text().splitlines())
    assert seen[-1] == (1 + first.count, 1 + first.count)


def test_finished_rows_leave_no_state(orthanc) -> None:
    """A row's response numbering is dropped once its last query (crawl children included) ends,
    so a batch's memory does not grow with its rows (it did: one entry per row for ever)."""
    import asyncio

    from fastfind.batch.plan import Planner, PlanOptions
    from fastfind.batch.policy import RetryPolicy

    nobody = {"QueryRetrieveLevel": "STUDY", "PatientID": "NOBODY", "StudyInstanceUID": None}
    planner = Planner([ONE_PATIENT, ONE_PATIENT, nobody, ONE_PATIENT], orthanc.host, orthanc.port,
                      None, {"model": "study"}, PlanOptions(crawl="SERIES"), concurrency=3,
                      retry=RetryPolicy(), sinks=None, keep_matches=True, progress=None, total=None,
                      seed=1)

    async def run() -> list:
        return [r async for r in planner.run()]

    results = asyncio.run(run())
    assert all(r.ok for r in results) and len(results) == 3 * 3 + 1
    for row in (0, 1, 3):  # each row numbered once, 1..N, across its children
        numbers = sorted(m.number for r in results if r.index == row for m in r.matches)
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > 2
    assert planner.committer.numbers == {} and planner.open_in_row == {}
