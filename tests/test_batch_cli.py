"""``fastfind ... --batch FILE``: rows of -k keys, per-query outputs, the batch report, the exit
code and summary, progress -- against wlmscpfs and the scripted SCP (association limits, peer
aborts mid-batch, slow searches, failures)."""

from __future__ import annotations

import csv
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from pydicom import dcmread

from fastfind.cli.cmdline import CommandLineExit, parse_command_line

import servers
from batch_scp import CappedArchive, spread, study_records
from servers import FindScript, match_datasets

STUDY_KEYS = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID"]


def _rows(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(text)
    return path


def test_worklist_batch_outputs_say_which_query(wlmscpfs, tmp_path: Path) -> None:
    rows = _rows(tmp_path, "PatientID,ScheduledProcedureStepSequence[0].Modality\n"
                           "PID0001,\nPID0002,MR\n,MR\n\nPID0004,CT\n")
    od = tmp_path / "od"
    od.mkdir()
    r = servers.run_fastfind(["-aec", wlmscpfs.aet, wlmscpfs.host, wlmscpfs.port, "--batch", rows,
                              "-k", "PatientName", "--concurrency", "3", "-X", "-od", od,
                              "--extract-ndjson", tmp_path / "o.ndjson", "--extract-csv",
                              tmp_path / "o.csv", "--batch-report", tmp_path / "rep.csv"])
    assert r.returncode == 0, r.stderr
    modality = {ds.PatientID: ds.ScheduledProcedureStepSequence[0].Modality
                for ds in wlmscpfs.records}
    assert modality["PID0002"] == "CT" and modality["PID0005"] == "MR"
    expected = {1: ["PID0001"], 2: [],
                3: sorted(p for p, m in modality.items() if m == "MR"),
                4: ["PID0004"]}
    lines = [json.loads(x) for x in (tmp_path / "o.ndjson").read_text().splitlines()]
    got = {q: sorted(x["response"]["00100020"]["Value"][0] for x in lines if x["query"] == q)
           for q in expected}
    assert got == expected
    with open(tmp_path / "o.csv", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["query", "PatientName", "PatientID"]
    assert sorted((int(q), pid) for q, _name, pid in table[1:]) == \
        sorted((q, p) for q, ids in expected.items() for p in ids)
    for q, ids in expected.items():
        files = sorted((od / f"q{q}").glob("rsp*.dcm")) if ids else []
        assert [f.name for f in files] == [f"rsp{n:04d}.dcm" for n in range(1, len(ids) + 1)]
        assert sorted(str(dcmread(f).PatientID) for f in files) == ids
    assert not (od / "q2").exists()
    report = list(csv.reader(open(tmp_path / "rep.csv", newline="")))
    assert report[0] == ["row", "query", "level", "status", "matches", "attempts", "seconds",
                         "error", "notes"]
    assert sorted((int(x[0]), x[3], int(x[4]), x[7]) for x in report[1:]) == \
        [(q, "0x0000", len(ids), "") for q, ids in sorted(expected.items())]


def test_a_bad_cell_is_exit_1_before_any_association(tmp_path: Path) -> None:
    port = servers.free_port()  # nothing listens: reaching the network would be exit 2
    for text, where in [("PatientID,Rows\nA,1\nB,abc\n", "row 2, column 2 (Rows)"),
                        ("PatientID,ScheduledProcedureStepSequence\nA,x\n",
                         "row 1, column 2 (ScheduledProcedureStepSequence)"),
                        ("PatientID,NoSuchKeyword\nA,1\n", "header, column 2 (NoSuchKeyword)"),
                        ("PatientID,PatientName\nA\n", "row 1: 1 cells, the header has 2")]:
        rows = _rows(tmp_path, text)
        r = servers.run_fastfind(["127.0.0.1", port, "--batch", rows])
        assert r.returncode == 1, (text, r.stderr)
        assert where in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "bin.csv").write_bytes(b"PatientID\n\xff\xfe\n")
    r = servers.run_fastfind(["127.0.0.1", port, "--batch", tmp_path / "bin.csv"])
    assert r.returncode == 1 and "not UTF-8" in r.stderr


def test_batch_options_need_batch_and_split_needs_a_date() -> None:
    for argv, text in [(["h", "1", "-k", "X", "--concurrency", "2"], "--concurrency only allowed with --batch"),
                       (["h", "1", "-k", "X", "--checkpoint", "c"], "--checkpoint only allowed with --batch"),
                       (["h", "1", "-k", "X", "--split-by", "StudyDate"], "--split-by only allowed with --batch"),
                       (["h", "1", "--batch", "/nonexistent.csv"], "cannot access file: /nonexistent.csv"),
                       (["h", "1", "--batch", __file__, "--split-by", "PatientName"], "needs a DA, TM or DT key"),
                       (["h", "1", "--batch", __file__, "--repeat", "2"], "--repeat not allowed with --batch")]:
        try:
            parse_command_line(argv)
        except CommandLineExit as exc:
            assert exc.code == 1 and text in exc.stderr, (argv, exc.stderr)
        else:
            raise AssertionError(f"{argv} parsed")
    p = parse_command_line(["h", "1", "--batch", __file__, "--concurrency", "8", "--split-by",
                            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate"])
    assert p.batch == __file__ and p.concurrency == 8 and not p.keys


def test_worst_exit_code_and_summary(scripted_scp, tmp_path: Path) -> None:
    def script(n: int, query) -> FindScript:
        pid = str(query.PatientID)
        if pid == "FAIL":
            return FindScript(final_status=0xC001, error_comment="unable to process")
        if pid == "CAPPED":
            return FindScript(matches=match_datasets(3), final_status=0xFE00)
        return FindScript(matches=match_datasets(2))

    scp = scripted_scp(script)
    rows = _rows(tmp_path, "PatientID\nA\nFAIL\nB\nCAPPED\n")
    r = servers.run_fastfind([*STUDY_KEYS, scp.host, scp.port, "--batch", rows,
                              "--extract-ndjson", tmp_path / "o.ndjson"])
    assert r.returncode == 69, r.stderr  # Failure is worse than the uncompleted Cancel (68)
    assert "queries=4 ok=2 failed=2" in r.stderr
    assert "fastfind: exit code 69: query 2" in r.stderr
    assert "Traceback" not in r.stderr
    lines = [json.loads(x) for x in (tmp_path / "o.ndjson").read_text().splitlines()]
    assert sorted(x["query"] for x in lines) == [1, 1, 3, 3]  # nothing of 2 or 4 is written


def test_association_limit_peer_abort_and_slow_search(scripted_scp, tmp_path: Path) -> None:
    records = study_records(spread(12))
    arch = CappedArchive(records, abort_on=lambda n, q: str(q.PatientID) == "P003")
    scp = scripted_scp(arch)
    scp.ae.maximum_associations = 1  # more are rejected-transient: the batch goes on with one
    pids = [f"P{i:03d}" for i in range(7)]
    rows = _rows(tmp_path, "PatientID\n" + "\n".join(pids) + "\n")
    r = servers.run_fastfind([*STUDY_KEYS, scp.host, scp.port, "--batch", rows, "--concurrency",
                              "4", "--extract-ndjson", tmp_path / "o.ndjson", "--batch-report",
                              tmp_path / "rep.csv"], timeout=120)
    assert r.returncode == 71, r.stderr  # the abort mid-query is the worst; the others complete
    assert "queries=7 ok=6 failed=1" in r.stderr
    report = {x[0]: x for x in csv.reader(open(tmp_path / "rep.csv", newline=""))}
    assert report["4"][7] and all(report[str(i)][7] == "" for i in (1, 2, 3, 5, 6, 7))
    lines = [json.loads(x) for x in (tmp_path / "o.ndjson").read_text().splitlines()]
    assert 4 not in {x["query"] for x in lines}
    assert len(lines) == sum(1 for ds in records if ds.PatientID != "P003")
    assert max(sum(1 for a in scp.associations if a.accepted and a.ended is None), 0) <= 1


def test_slow_search_times_out_alone(scripted_scp, tmp_path: Path) -> None:
    def script(n: int, query) -> FindScript:
        slow = str(query.PatientID) == "SLOW"
        return FindScript(matches=match_datasets(2), delay=3.0 if slow else 0.0)

    scp = scripted_scp(script)
    rows = _rows(tmp_path, "PatientID\nA\nSLOW\nB\nC\n")
    r = servers.run_fastfind([*STUDY_KEYS, scp.host, scp.port, "--batch", rows, "-td", "1",
                              "--concurrency", "2", "--batch-report", tmp_path / "rep.csv"],
                             timeout=120)
    assert r.returncode == 72, r.stderr
    assert "queries=4 ok=3 failed=1" in r.stderr
    report = {x[0]: x for x in csv.reader(open(tmp_path / "rep.csv", newline=""))}
    assert report["2"][7] and report["3"][4] == "2" and report["4"][4] == "2"


def test_progress_on_a_terminal_only(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(3)))
    rows = _rows(tmp_path, "PatientID\nA\nB\nC\n")
    args = [*STUDY_KEYS, scp.host, scp.port, "--batch", rows]
    plain = servers.run_fastfind(args)
    assert plain.returncode == 0 and "queries 3/3" not in plain.stderr
    assert servers.run_fastfind([*args, "-q"]).stderr == ""
    master, slave = pty.openpty()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(servers.REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-m", "fastfind", *map(str, args)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        proc.wait(timeout=60)
        os.close(master)
    assert proc.returncode == 0
    assert b"queries 3/3  responses 9" in out
