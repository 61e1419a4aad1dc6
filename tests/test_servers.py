"""The test peers in tests/servers.py behave as the interop tests assume.

Each real server (wlmscpfs, dcmqrscp, Orthanc) is queried with DCMTK findscu, and the number of
matches must equal what the generated data predicts; the scripted pynetdicom SCP must produce
each scripted behaviour (statuses, ErrorComment, C-CANCEL, A-ABORT, transfer syntaxes, models,
AE title rejection) as findscu observes it, and record what findscu sent.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest
from pydicom import dcmread

import servers as sv
from conftest import require_binaries

pytestmark = [pytest.mark.interop, pytest.mark.interop_only]

STUDY_QUERY = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName", "-k", "PatientID"]


def findscu(server, *args: str, out: Path | None = None) -> tuple[int, str | None, list[Path]]:
    """Run ``findscu -v`` against ``server``: (pending count, final status text, rsp files)."""
    require_binaries("findscu")
    extract = ["-X", "-od", str(out)] if out is not None else []
    aec = ["-aec", server.aet] if getattr(server, "aet", None) else []
    r = sv.run_findscu(["-v", *aec, *extract, server.host, str(server.port), *args], timeout=60)
    assert r.returncode == 0, r.stderr
    pending, final = sv.parse_responses(r.stderr)
    files = sv.rsp_files(out) if out is not None else []
    if out is not None:
        assert len(files) == pending, r.stderr
    return pending, final, files


# --------------------------------------------------------------------------- process helpers


def test_free_port_and_wait_for_port_deadline():
    port = sv.free_port()
    assert 0 < port < 65536
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        sv.wait_for_port(sv.HOST, port, deadline=0.3)
    assert time.monotonic() - t0 < 5
    with socket.create_server((sv.HOST, port)):
        sv.wait_for_port(sv.HOST, port, deadline=5)


def test_server_process_kills_whole_group(tmp_path):
    marker = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {marker}; wait"
    proc = sv.ServerProcess(["/bin/sh", "-c", script], tmp_path / "log.txt")
    proc.start(lambda: marker.exists() and marker.read_text().strip() != "", deadline=10)
    child = int(marker.read_text())
    proc.stop()
    assert not proc.alive
    # The background child was in the group: it is gone (or a zombie about to be reaped).
    assert sv.wait_until(lambda: _dead(child), 5)


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] == "Z"


def test_server_process_reports_early_exit_with_log(tmp_path):
    proc = sv.ServerProcess([sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
                            tmp_path / "log.txt")
    with pytest.raises(sv.ServerStartError, match="boom"):
        proc.start(lambda: False, deadline=10)
    assert not proc.alive


# --------------------------------------------------------------------------- wlmscpfs


def test_wlmscpfs_returns_every_record_with_latin1_bytes(wlmscpfs, tmp_path):
    n, final, files = findscu(
        wlmscpfs, "-W", "-k", "SpecificCharacterSet", "-k", "PatientName", "-k", "PatientID",
        "-k", "ScheduledProcedureStepSequence[0].Modality", out=tmp_path)
    assert (n, final) == (wlmscpfs.count, "Success") == (30, "Success")
    got = {}
    for f in files:
        ds = dcmread(f)
        got[ds.PatientID] = (ds.get("SpecificCharacterSet"), ds["PatientName"].value)
    want = {}
    for rec in wlmscpfs.records:
        charset = rec.get("SpecificCharacterSet")
        want[rec.PatientID] = (charset, rec.PatientName)
    assert {k: v[0] for k, v in got.items()} == {k: v[0] for k, v in want.items()}
    assert {k: str(v[1]) for k, v in got.items()} == {k: str(v[1]) for k, v in want.items()}
    # Latin-1 names travel as ISO 8859-1 bytes (-csk keeps the file's ISO_IR 100).
    raw = b"".join(f.read_bytes() for f in files)
    assert "MÜLLER^JÜRGEN".encode("latin-1") in raw


@pytest.mark.parametrize("key, predicate", [
    ("ScheduledProcedureStepSequence[0].Modality=CT",
     lambda sps: sps.Modality == "CT"),
    ("ScheduledProcedureStepSequence[0].Modality=MR",
     lambda sps: sps.Modality == "MR"),
    ("ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20240105-20240112",
     lambda sps: "20240105" <= sps.ScheduledProcedureStepStartDate <= "20240112"),
])
def test_wlmscpfs_matching(wlmscpfs, key, predicate):
    expected = sum(predicate(r.ScheduledProcedureStepSequence[0]) for r in wlmscpfs.records)
    assert 0 < expected < wlmscpfs.count
    assert findscu(wlmscpfs, "-W", "-k", "PatientName", "-k", key)[:2] == (expected, "Success")


def test_wlmscpfs_example_database(wlmscpfs_example):
    assert wlmscpfs_example.count == 10
    n, final, _ = findscu(wlmscpfs_example, "-W", "-k", "PatientName")
    assert (n, final) == (10, "Success")


# --------------------------------------------------------------------------- dcmqrscp


def test_dcmqrscp_patient_and_study_root(dcmqrscp, tmp_path):
    d = dcmqrscp.data
    pid, study = d.patients[0], d.studies[0]
    series = next(ds.SeriesInstanceUID for ds in d.instances if ds.StudyInstanceUID == study)
    cases = [
        (["-P", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID"], len(d.patients)),
        (["-P", "-k", "QueryRetrieveLevel=STUDY", "-k", f"PatientID={pid}",
          "-k", "StudyInstanceUID"],
         len({ds.StudyInstanceUID for ds in d.instances if ds.PatientID == pid})),
        (["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID"], len(d.studies)),
        (["-S", "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={study}",
          "-k", "SeriesInstanceUID"], 2),
        (["-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={study}",
          "-k", f"SeriesInstanceUID={series}", "-k", "SOPInstanceUID"], 2),
        (["-O", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID"], len(d.patients)),
    ]
    assert (len(d.patients), len(d.studies), len(d.series), len(d.instances)) == (4, 8, 16, 32)
    for n, (args, expected) in enumerate(cases):
        out = tmp_path / str(n)
        out.mkdir()
        got, final, files = findscu(dcmqrscp, *args, out=out)
        assert (got, final) == (expected, "Success"), args
    # The study-level answers are exactly the stored studies.
    assert sorted(dcmread(f).StudyInstanceUID for f in sv.rsp_files(tmp_path / "2")) == d.studies


# --------------------------------------------------------------------------- Orthanc


def test_orthanc_study_and_patient_root(orthanc, tmp_path):
    d = orthanc.data
    assert (len(d.patients), len(d.studies), len(d.instances)) == (10, 20, 80)
    n, final, files = findscu(orthanc, *STUDY_QUERY, "-k", "StudyInstanceUID", out=tmp_path)
    assert (n, final) == (20, "Success")
    assert sorted(dcmread(f).StudyInstanceUID for f in files) == d.studies
    assert findscu(orthanc, "-P", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID")[:2] == (
        10, "Success")
    assert findscu(orthanc, "-S", "-k", "QueryRetrieveLevel=SERIES",
                   "-k", f"StudyInstanceUID={d.studies[3]}", "-k", "SeriesInstanceUID")[:2] == (
        2, "Success")


def test_orthanc_limit_find_results_ends_with_cancel_status(orthanc_limited, tmp_path):
    assert orthanc_limited.config["LimitFindResults"] == 5
    n, final, _ = findscu(orthanc_limited, *STUDY_QUERY, out=tmp_path)
    assert (n, final) == (5, "Cancel: MatchingTerminatedDueToCancelRequest")
    # At the default log level findscu shows the 5 answers and nothing about the truncation.
    r = sv.run_findscu(["-aec", orthanc_limited.aet, orthanc_limited.host,
                        str(orthanc_limited.port), *STUDY_QUERY])
    assert r.returncode == 0
    assert r.stderr.count("(Pending)") == 5 and "Cancel" not in r.stderr


# --------------------------------------------------------------------------- scripted SCP


@pytest.mark.parametrize("status, text", [
    (0x0000, "Success"),
    (0xA700, "Refused: OutOfResources"),
    (0xA900, "Error: DataSetDoesNotMatchSOPClass"),
    (0xC000, "Failed: UnableToProcess"),
    (0xFE00, "Cancel: MatchingTerminatedDueToCancelRequest"),
])
def test_scripted_final_status(scripted_scp, tmp_path, status, text):
    matches = sv.match_datasets(3)
    scp = scripted_scp(sv.FindScript(matches, final_status=status, error_comment="why"))
    n, final, files = findscu(scp, *STUDY_QUERY, out=tmp_path)
    assert (n, final) == (3, text)
    assert [dcmread(f).PatientID for f in files] == [m.PatientID for m in matches]
    assert scp.wait_ended()
    (assoc,) = scp.associations
    assert assoc.ended == "released" and assoc.finds[0].responses_sent == 4


def test_scripted_error_comment_and_warning_pending(scripted_scp):
    require_binaries("findscu")
    scp = scripted_scp(sv.FindScript(sv.match_datasets(2), pending_status=0xFF01,
                                     final_status=0xC001, error_comment="too broad"))
    r = sv.run_findscu(["-d", scp.host, str(scp.port), *STUDY_QUERY])
    assert r.stderr.count("0xff01: Pending") == 2
    assert "0xc001" in r.stderr and "[too broad ]" in r.stderr  # LO padded to even length


def test_scripted_records_the_request(scripted_scp):
    require_binaries("findscu")
    scp = scripted_scp(sv.FindScript(sv.match_datasets(1)), aet="RECORDER")
    r = sv.run_findscu(["-aet", "CALLER", "-aec", "RECORDER", "-pdu", "8192", "--repeat", "2",
                        scp.host, str(scp.port), *STUDY_QUERY, "-k", "PatientName=DOE*"])
    assert r.returncode == 0, r.stderr
    assert scp.wait_ended()
    (a,) = scp.associations
    assert (a.calling_aet, a.called_aet, a.max_pdu, a.accepted) == ("CALLER", "RECORDER", 8192,
                                                                     True)
    assert a.implementation_version_name == "OFFIS_DCMTK_367"
    assert a.contexts == [(1, sv.STUDY_ROOT_FIND, [sv.EXPLICIT_LE, sv.EXPLICIT_BE, sv.IMPLICIT_LE])]
    assert a.message_ids == [1, 2] and [f.message_id for f in a.finds] == [1, 2]
    f = a.finds[0]
    assert f.identifier.QueryRetrieveLevel == "STUDY" and f.identifier.PatientName == "DOE*"
    assert f.identifier_raw == f.identifier_bytes and b"DOE*" in f.identifier_raw
    assert f.affected_sop_class == sv.STUDY_ROOT_FIND and f.priority == 0


def test_scripted_cancel_is_honoured(scripted_scp):
    scp = scripted_scp(sv.FindScript(sv.match_datasets(10), delay=0.05))
    require_binaries("findscu")
    r = sv.run_findscu(["-v", "--cancel", "3", scp.host, str(scp.port), *STUDY_QUERY])
    n, final = sv.parse_responses(r.stderr)
    assert "Sending Cancel Request (MsgID 1, PresID 1)" in r.stderr
    assert 3 <= n < 10 and final == "Cancel: MatchingTerminatedDueToCancelRequest"
    assert scp.wait_ended()
    (a,) = scp.associations
    assert a.cancels == [1] and a.finds[0].cancelled


def test_scripted_abort_after_k(scripted_scp):
    scp = scripted_scp(sv.FindScript(sv.match_datasets(10), abort_after=4))
    require_binaries("findscu")
    r = sv.run_findscu(["-v", scp.host, str(scp.port), *STUDY_QUERY])
    assert r.returncode == 0
    assert sv.parse_responses(r.stderr) == (4, None)
    assert "Peer Aborted Association" in r.stderr
    assert scp.wait_ended()
    assert scp.associations[0].ended == "aborted" and scp.associations[0].finds[0].aborted


@pytest.mark.parametrize("option, scp_syntaxes, expected", [
    ("-xi", sv.ALL_TRANSFER_SYNTAXES, sv.IMPLICIT_LE),
    ("-xb", (sv.EXPLICIT_BE, sv.EXPLICIT_LE), sv.EXPLICIT_BE),
    ("-xd", sv.ALL_TRANSFER_SYNTAXES, sv.DEFLATED_LE),
    ("-xd", (sv.EXPLICIT_LE, sv.DEFLATED_LE), sv.EXPLICIT_LE),
    ("-x=", sv.ALL_TRANSFER_SYNTAXES, sv.EXPLICIT_LE),
])
def test_scripted_transfer_syntaxes(scripted_scp, tmp_path, option, scp_syntaxes, expected):
    matches = sv.match_datasets(3, charset="ISO_IR 100")
    matches[1].PatientName = "GARÇON^FRANÇOIS"
    scp = scripted_scp(sv.FindScript(matches), transfer_syntaxes=scp_syntaxes)
    n, final, files = findscu(scp, option, *STUDY_QUERY, out=tmp_path)
    assert (n, final) == (3, "Success")
    assert [str(dcmread(f).PatientName) for f in files] == [str(m.PatientName) for m in matches]
    assert all(dcmread(f).file_meta.TransferSyntaxUID == expected for f in files)
    f = scp.associations[0].finds[0]
    assert f.transfer_syntax == expected and f.identifier.QueryRetrieveLevel == "STUDY"
    assert (f.identifier_raw != f.identifier_bytes) == (expected == sv.DEFLATED_LE)


@pytest.mark.parametrize("option, model", [
    ("-W", sv.MODALITY_WORKLIST_FIND), ("-P", sv.PATIENT_ROOT_FIND),
    ("-S", sv.STUDY_ROOT_FIND), ("-O", sv.PATIENT_STUDY_ONLY_FIND),
])
def test_scripted_models(scripted_scp, option, model):
    scp = scripted_scp(sv.FindScript(sv.match_datasets(2)))
    n, final, _ = findscu(scp, option, "-k", "PatientName")
    assert (n, final) == (2, "Success")
    assert scp.associations[0].contexts[0][1] == model == scp.associations[0].finds[0].affected_sop_class


def test_scripted_require_called_aet(scripted_scp):
    require_binaries("findscu")
    scp = scripted_scp(sv.FindScript(sv.match_datasets(1)), aet="STRICT", require_called_aet=True)
    r = sv.run_findscu(["-aec", "WRONG", scp.host, str(scp.port), *STUDY_QUERY])
    assert r.returncode == 2 and "Called AE Title Not Recognized" in r.stderr
    r = sv.run_findscu(["-v", "-aec", "STRICT", scp.host, str(scp.port), *STUDY_QUERY])
    assert r.returncode == 0 and sv.parse_responses(r.stderr) == (1, "Success")
    assert [(a.called_aet, a.accepted) for a in scp.associations] == [("WRONG", False),
                                                                      ("STRICT", True)]


# --------------------------------------------------------------------------- differential helpers


def test_normalise_and_compare_make_two_findscu_runs_equal(scripted_scp, tmp_path):
    """Two findscu runs differ only in what normalise_stderr/compare_dicom_files mask."""
    require_binaries("findscu")
    outs, texts = [], []
    for name in ("one", "two"):
        scp = scripted_scp(sv.FindScript(sv.match_datasets(2)))
        out = tmp_path / name
        out.mkdir()
        r = sv.run_findscu(["-d", "-X", "-od", str(out), scp.host, str(scp.port), *STUDY_QUERY])
        assert r.returncode == 0
        outs.append(out)
        texts.append(sv.normalise_stderr(r.stderr, ports=[scp.port], paths=[out]))
    assert texts[0] == texts[1]
    assert "$<VERSION>$" in texts[0] and "OFFIS_DCMTK" not in texts[0]
    a, b = sv.rsp_files(outs[0])[0], sv.rsp_files(outs[1])[0]
    assert a.read_bytes() != b.read_bytes()  # fresh MediaStorageSOPInstanceUID per file
    assert sv.compare_dicom_files(a, b, exact_dataset=True) == []
    ds = dcmread(b)
    ds.PatientID = "CHANGED"
    ds.save_as(b)
    diffs = sv.compare_dicom_files(a, b)
    assert len(diffs) == 1 and "(0010,0020)" in diffs[0] and "CHANGED" in diffs[0], diffs


def test_normalise_masks():
    text = ("D: $dcmtk: findscu v3.6.7 2022-04-22 $\n"
            "D: Our Implementation Class UID:    1.2.276.0.7230010.3.0.3.6.7\n"
            "D: Our Implementation Version Name: OFFIS_DCMTK_367\n"
            "I: Writing response dataset to file: /tmp/pytest-of-root/x/rsp0001.dcm\n"
            "E: Association Request Failed: 127.0.0.1:40123 refused after 1.5 s\n")
    norm = sv.normalise_stderr(text, ports=[40123])
    assert norm == ("D: $<VERSION>$\n"
                    "D: Our Implementation Class UID:    <UID>\n"
                    "D: Our Implementation Version Name: <NAME>\n"
                    "I: Writing response dataset to file: <TMP>\n"
                    "E: Association Request Failed: 127.0.0.1:<PORT> refused after <TIME>\n")


def test_run_fastfind_runs_the_module():
    r = sv.run_fastfind(["--version"], timeout=60)
    if r.returncode != 0 and "No module named fastfind" in r.stderr:
        pytest.fail(r.stderr)
    assert r.returncode == 0, r.stderr
