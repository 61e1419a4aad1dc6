"""fastfind's own CLI behaviour beyond DCMTK parity: exit codes, byte-exact extraction,
JSON/NDJSON/CSV output, and the demo (hostile-scp.md §5, §6.3)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from fastfind import codec
from fastfind.cli import main

import servers
from servers import FindScript, match_datasets

STUDY = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName", "-k", "PatientID", "-k", "StudyInstanceUID"]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return servers.run_fastfind(args, cwd=cwd, timeout=60)


@pytest.mark.parametrize(
    ("script", "code", "text"),
    [
        (FindScript(matches=match_datasets(2), final_status=0xA700), 69, "0xa700 (Refused: OutOfResources)"),
        (FindScript(matches=match_datasets(2), final_status=0xC001), 69, "Failed: UnableToProcess"),
        (FindScript(matches=match_datasets(2), final_status=0xFE00), 68, "Cancel"),
        (FindScript(matches=match_datasets(2), final_status=0xB000), 68, "Unknown Status: 0xb000"),
        (FindScript(matches=match_datasets(4), abort_after=2), 71, "Peer aborted"),
    ],
    ids=["A700", "C001", "FE00-unrequested", "B000-warning", "peer-abort"],
)
def test_exit_codes(scripted_scp, tmp_path: Path, script: FindScript, code: int, text: str) -> None:
    scp = scripted_scp(script)
    got = run([scp.host, str(scp.port), *STUDY, "-X", "-od", str(tmp_path)], tmp_path)
    assert got.returncode == code, got.stderr
    last = got.stderr.strip().splitlines()[-1]
    assert last.startswith(f"E: fastfind: exit code {code}: ") and text in got.stderr
    assert "E: matches=" in got.stderr
    assert len(list(tmp_path.glob("rsp*.dcm"))) == 2  # the matches before the fault are kept
    again = run([scp.host, str(scp.port), *STUDY, "--dcmtk-exit-codes"], tmp_path)
    assert again.returncode == 0


def test_requested_cancel_is_success(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(30), delay=0.02))
    got = run([scp.host, str(scp.port), *STUDY, "--cancel", "2", "-v"], tmp_path)
    assert got.returncode == 0, got.stderr
    assert "I: Sending Cancel Request (MsgID 1, PresID 1)" in got.stderr
    assert "Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)" in got.stderr


@pytest.mark.parametrize("proposal", ["-x=", "-xi", "-xb", "-xd"])
def test_extracted_identifier_is_byte_exact(scripted_scp, tmp_path: Path, proposal: str) -> None:
    matches = match_datasets(3, charset="ISO_IR 100")
    matches[1].PatientName = "M\u00fcller^J\u00fcrgen"
    scp = scripted_scp(FindScript(matches=matches), transfer_syntaxes=[
        {"-x=": servers.EXPLICIT_LE, "-xi": servers.IMPLICIT_LE, "-xb": servers.EXPLICIT_BE,
         "-xd": servers.DEFLATED_LE}[proposal]])
    got = run([scp.host, str(scp.port), *STUDY, proposal, "-X", "-od", str(tmp_path)], tmp_path)
    assert got.returncode == 0, got.stderr
    ts_uid = scp.associations[0].finds[0].transfer_syntax
    ts = codec.TRANSFER_SYNTAXES[ts_uid]
    files = sorted(tmp_path.glob("rsp*.dcm"))
    assert [f.name for f in files] == ["rsp0001.dcm", "rsp0002.dcm", "rsp0003.dcm"]
    for path, match in zip(files, matches, strict=True):
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == ts_uid
        assert ds == match
        # the data set part of the file is exactly what pynetdicom put on the wire
        raw = path.read_bytes()
        meta_len = int.from_bytes(raw[140:144], "little")
        body = raw[144 + meta_len :]
        assert codec.plain_bytes(body, ts) == codec.plain_bytes(codec.encode_identifier(match, ts), ts)
    assert not list(tmp_path.glob(".*part"))


def test_json_ndjson_csv(scripted_scp, tmp_path: Path) -> None:
    matches = match_datasets(3, charset="ISO_IR 100")
    matches[0].PatientName = "M\u00fcller^J\u00fcrgen"
    scp = scripted_scp(FindScript(matches=matches))
    got = run(
        [scp.host, str(scp.port), *STUDY, "--extract-json", "a.json", "--extract-ndjson", "a.ndjson",
         "--extract-csv", "a.csv"],
        tmp_path,
    )
    assert got.returncode == 0, got.stderr
    doc = json.loads((tmp_path / "a.json").read_text("utf-8"))
    assert [d["00100010"]["Value"][0]["Alphabetic"] for d in doc] == [str(m.PatientName) for m in matches]
    lines = (tmp_path / "a.ndjson").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == doc
    rows = list(csv.reader((tmp_path / "a.csv").open(encoding="utf-8", newline="")))
    assert rows[0] == ["QueryRetrieveLevel", "PatientName", "PatientID", "StudyInstanceUID"]
    assert rows[1] == ["STUDY", "M\u00fcller^J\u00fcrgen", "P0000", str(matches[0].StudyInstanceUID)]
    assert len(rows) == 4


def test_csv_fields_and_empty_result(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp(FindScript(matches=[]))
    got = run([scp.host, str(scp.port), *STUDY, "--extract-csv", "e.csv", "--csv-fields", "PatientID,(0010,0010)",
               "--extract-json", "e.json"], tmp_path)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "e.csv").read_bytes() == b"PatientID,\"(0010,0010)\"\r\n"
    assert json.loads((tmp_path / "e.json").read_text()) == []


def test_in_process_main_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "fastfind" in capsys.readouterr().out
    assert main(["127.0.0.1", "0"]) == 1
    assert "error: Invalid parameter value 0 (underflow)" in capsys.readouterr().err


def test_output_directory_must_exist(tmp_path: Path) -> None:
    got = run(["-X", "-od", str(tmp_path / "missing"), "127.0.0.1", "1", "-k", "PatientName"], tmp_path)
    assert got.returncode == 1
    assert got.stderr.strip() == "F: specified output directory does not exist"


def test_demo_runs_with_fastfind(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("FASTFIND_DEMO_CLIENT", None)
    env["PYTHONPATH"] = str(servers.REPO_ROOT)
    got = subprocess.run([sys.executable, "-m", "fastfind.demo", "--run-query"], cwd=tmp_path, env=env,
                         capture_output=True, encoding="latin-1", timeout=120)
    assert got.returncode == 0, got.stdout + got.stderr
    assert "demo OK" in got.stdout
