"""Resume (--checkpoint): a batch interrupted by SIGINT or killed with SIGKILL, then run again
with the same checkpoint, ends with exactly the outputs and report of one uninterrupted run.

The peer is the scripted SCP as a slow capped archive (cap 10 with FE00, like Orthanc's
LimitFindResults), so the batch splits ranges and takes long enough to be interrupted."""

from __future__ import annotations

import collections
import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from fastfind.batch import find_many
from fastfind.batch.checkpoint import Checkpoint

import servers
from batch_scp import CappedArchive, spread, study_records

ROWS = "PatientID,StudyDate\n,\nP001,\nP002,20230101-20230110\nNOBODY,\nP004,\n,20230105-20230120\n"


@pytest.fixture
def archive(scripted_scp):
    scp = scripted_scp(CappedArchive(study_records(spread(60, per_day=4)), cap=10, delay=0.04))
    return scp


def _args(scp, work: Path, checkpoint: bool = True) -> list[object]:
    (work / "od").mkdir(exist_ok=True)
    rows = work.parent / "rows.csv"
    rows.write_text(ROWS)
    args = ["-S", "-aec", scp.aet, scp.host, scp.port, "--batch", rows, "-k",
            "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID", "-k", "AccessionNumber",
            "--split-by", "StudyDate", "--concurrency", "2", "-X", "-od", work / "od",
            "--extract-ndjson", work / "out.ndjson", "--extract-csv", work / "out.csv",
            "--extract-json", work / "out.json", "--batch-report", work / "report.csv"]
    if checkpoint:
        args += ["--checkpoint", work / "ckpt"]
    return args


def _start(args: list[object]) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(servers.REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "fastfind", *map(str, args)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _groups(path: Path) -> int:
    try:
        return sum(1 for line in path.read_bytes().splitlines() if line.startswith(b'{"g"'))
    except OSError:
        return 0


def _interrupted_then_resumed(args: list[object], ckpt: Path, sig: int) -> str:
    proc = _start(args)
    try:
        assert servers.wait_until(lambda: _groups(ckpt) >= 2 or proc.poll() is not None, 60)
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted by SIGINT: queries=" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    again = servers.run_fastfind(args, timeout=120)
    assert again.returncode == 0, again.stderr
    return again.stderr


def _dataset_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    (meta_length,) = struct.unpack_from("<L", data, 132 + 8)
    return data[132 + 12 + meta_length:]


def _outputs(work: Path) -> dict[str, object]:
    ndjson = collections.Counter((work / "out.ndjson").read_text().splitlines())
    csv_lines = (work / "out.csv").read_text().splitlines()
    array = json.loads((work / "out.json").read_text())
    files = {q.name: collections.Counter(_dataset_bytes(f) for f in q.glob("rsp*.dcm"))
             for q in (work / "od").iterdir()}
    numbers = {q.name: sorted(int(f.stem[3:]) for f in q.glob("rsp*.dcm")) for q in (work / "od").iterdir()}
    report = sorted(tuple(c for i, c in enumerate(line.split(",")) if i not in (5, 6))
                    for line in (work / "report.csv").read_text().splitlines()[1:])
    stray = [p.name for p in (work / "od").rglob(".*")]
    return {"ndjson": ndjson, "csv_header": csv_lines[0],
            "csv": collections.Counter(csv_lines[1:]),
            "json": collections.Counter(json.dumps(x, sort_keys=True) for x in array),
            "files": files, "numbers": numbers, "report": report, "stray": stray}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_interrupted_batch_resumes_to_the_uninterrupted_result(archive, tmp_path: Path, sig: int) -> None:
    ref, run = tmp_path / "ref" / "w", tmp_path / "run" / "w"
    ref.mkdir(parents=True)
    run.mkdir(parents=True)
    r = servers.run_fastfind(_args(archive, ref, checkpoint=False), timeout=120)
    assert r.returncode == 0, r.stderr
    expected = _outputs(ref)
    assert sum(expected["ndjson"].values()) > 60  # the rows overlap: 60 + 15 + 40 + 0 + 9 + 64
    ckpt = run / "ckpt"
    _interrupted_then_resumed(_args(archive, run), ckpt, sig)
    got = _outputs(run)
    for key in expected:
        assert got[key] == expected[key], key
    assert not (run / "ckpt.parts").exists()  # segments removed once the outputs are assembled
    assert ckpt.read_bytes().rstrip().endswith(b'{"complete":true}')
    # once complete, a re-run does nothing: no association, the same outputs
    seen = len(archive.associations)
    r = servers.run_fastfind(_args(archive, run), timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(archive.associations) == seen
    assert _outputs(run) == got


def test_a_checkpoint_of_another_batch_is_refused(archive, tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    args = _args(archive, work)
    assert servers.run_fastfind(args, timeout=120).returncode == 0
    (tmp_path / "rows.csv").write_text(ROWS + "P006,\n")
    r = servers.run_fastfind(args, timeout=60)
    assert r.returncode == 1
    assert "was written for a different batch" in r.stderr


def test_api_checkpoint_skips_what_is_recorded(scripted_scp, tmp_path: Path) -> None:
    arch = CappedArchive(study_records(spread(30)), cap=10)
    scp = scripted_scp(arch)
    queries = [{"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": None, "StudyDate": None,
                "PatientID": p} for p in ("P001", "P002", "*")]
    ckpt = tmp_path / "api.ckpt"
    kw = dict(model="study", split_by="StudyDate", checkpoint=str(ckpt), concurrency=2)
    gen = find_many(queries, scp.host, scp.port, **kw)
    first = next(gen)
    gen.close()  # the caller stops: what is complete is recorded
    state = Checkpoint(str(ckpt), _fingerprint_of(ckpt)).open()
    assert first.id in state.done
    again = {r.id: r for r in find_many(queries, scp.host, scp.port, **kw)}
    assert again[first.id].resumed and again[first.id].count == first.count
    assert sorted(again) == ["1", "2", "3"] and all(r.ok for r in again.values())
    assert again["3"].count == 30


def _fingerprint_of(path: Path) -> str:
    return json.loads(path.read_text().splitlines()[0])["fingerprint"]


def test_a_big_part_spools_to_an_unnamed_file(tmp_path: Path) -> None:
    from fastfind.batch.spool import PartBuffer
    from fastfind.client import FindResponse
    from fastfind.dicom.uids import TRANSFER_SYNTAXES
    from fastfind.options import Limits

    ts = TRANSFER_SYNTAXES["1.2.840.10008.1.2.1"]
    sent = [FindResponse(n, {0x0900: 0xFF00}, bytes([n % 256]) * 300, ts, 1, Limits(), 7)
            for n in range(1, 51)]
    buf = PartBuffer(str(tmp_path), Limits(), limit=4096)
    for rsp in sent:
        buf.add(rsp)
    assert buf.count == 50 and os.listdir(tmp_path) == []  # spilled, and nothing has a name
    back = list(buf)
    assert [(r.number, r.identifier, r.query, r.transfer_syntax) for r in back] == \
        [(r.number, r.identifier, r.query, ts) for r in sent]
    buf.close()
