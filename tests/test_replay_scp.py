"""The replay C-FIND SCP (benchmarks/replay_scp.py) serves real clients correctly.

Differential: DCMTK findscu and pynetdicom's findscu app receive exactly the identifiers the
server says it cycles through, in each transfer syntax; a raw-socket client checks the framing
(max PDU, MessageIDBeingRespondedTo patching) byte by byte.
"""

from __future__ import annotations

import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import dcmread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import replay_scp as rs  # noqa: E402

FINDSCU = shutil.which("findscu")
needs_findscu = pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu not installed")

DISTINCT = 10  # fewer than the responses asked for, so the cycle wraps
STUDY_KEYS = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName"]


@pytest.fixture(scope="module")
def server():
    # Small batches so one query spans several sendall() calls and a partial last batch.
    srv = rs.start(port=0, responses=25, kind="auto", distinct=DISTINCT, batch_bytes=1500)
    yield srv
    srv.stop()


def _findscu(server, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FINDSCU, "127.0.0.1", str(server.port), *args],
        capture_output=True, text=True, errors="replace", timeout=60, cwd=cwd,
    )


def _rsp_files(d: Path) -> list[Path]:
    return sorted(d.glob("rsp*.dcm"), key=lambda p: int(re.sub(r"\D", "", p.name)))


def _assert_identifiers(files: list[Path], kind: str, first: int = 0) -> None:
    expected = rs.make_identifiers(kind, DISTINCT, 0)
    for i, f in enumerate(files, first):
        ds = dcmread(f)
        assert ds == expected[i % DISTINCT], f"{f.name} differs from identifier {i % DISTINCT}"


@needs_findscu
@pytest.mark.parametrize(
    "option, ts",
    [(None, rs.EXPLICIT_LE), ("-xi", rs.IMPLICIT_LE), ("-xb", rs.EXPLICIT_BE),
     ("-xd", rs.DEFLATED_LE)],
)
def test_findscu_gets_every_response(server, tmp_path, option, ts):
    opts = [option] if option else []
    res = _findscu(server, *opts, *STUDY_KEYS, "-X", "-od", str(tmp_path))
    assert res.returncode == 0, res.stderr
    files = _rsp_files(tmp_path)
    assert len(files) == 25
    assert dcmread(files[0]).file_meta.TransferSyntaxUID == ts
    _assert_identifiers(files, "study")
    stats = server.associations[-1]
    assert stats.released and stats.error is None
    assert [(q.sent, q.status, q.transfer_syntax) for q in stats.queries] == [(25, 0, ts)]


@needs_findscu
def test_findscu_worklist_repeat_and_override(server, tmp_path):
    res = _findscu(server, "-W", "-k", "PatientComments=12", "--repeat", "2",
                   "-X", "-od", str(tmp_path))
    assert res.returncode == 0, res.stderr
    files = _rsp_files(tmp_path)
    # DCMTK numbers files by a cumulative counter that includes the final responses.
    assert [int(f.stem[3:]) for f in files] == [*range(1, 13), *range(14, 26)]
    _assert_identifiers(files[:12], "worklist")
    _assert_identifiers(files[12:], "worklist")
    stats = server.associations[-1]
    assert [(q.msg_id, q.sent, q.sop_class) for q in stats.queries] == [
        (1, 12, rs.MWL_FIND), (2, 12, rs.MWL_FIND)]
    assert stats.released


@needs_findscu
def test_findscu_cancel_is_honoured(server):
    n = 300_000  # far more than the socket buffers hold, so the cancel must stop the stream
    res = _findscu(server, "-v", *STUDY_KEYS, "-k", f"PatientComments={n}", "--cancel", "5")
    assert res.returncode == 0, res.stderr
    assert "I: Sending Cancel Request (MsgID 1, PresID 1)" in res.stderr
    assert "Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)" in res.stderr
    received = len(re.findall(r"^I: Find Response: \d+ \(Pending\)$", res.stderr, re.M))
    stats = server.associations[-1]
    q = stats.queries[0]
    assert q.status == rs.STATUS_CANCEL and 5 <= q.sent < n
    assert received == q.sent
    assert stats.released


def test_pynetdicom_findscu_app(server, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "pynetdicom", "findscu", "-q", "127.0.0.1", str(server.port),
         "-k", "PatientName=", "-k", "PatientComments=15", "-w"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    files = _rsp_files(tmp_path)
    assert len(files) == 15
    _assert_identifiers(files, "study")
    stats = server.associations[-1]
    assert stats.queries[0].sop_class == rs.PATIENT_ROOT_FIND  # its default model is -P
    assert stats.released


def test_negotiation_honours_proposal_order(server):
    from pynetdicom import AE

    ae = AE()
    ae.add_requested_context("1.2.840.10008.1.1")  # Verification: not a C-FIND class
    ae.add_requested_context(rs.STUDY_ROOT_FIND, [rs.EXPLICIT_BE, rs.IMPLICIT_LE])
    ae.add_requested_context(rs.MWL_FIND, ["1.2.840.10008.1.2.4.50", rs.DEFLATED_LE])
    ae.add_requested_context(rs.PATIENT_ROOT_FIND, ["1.2.840.10008.1.2.4.50"])
    ae.acse_timeout = ae.network_timeout = 10
    assoc = ae.associate("127.0.0.1", server.port)
    try:
        assert assoc.is_established
        accepted = {c.abstract_syntax: c.transfer_syntax[0] for c in assoc.accepted_contexts}
        assert accepted == {rs.STUDY_ROOT_FIND: rs.EXPLICIT_BE, rs.MWL_FIND: rs.DEFLATED_LE}
        assert len(assoc.rejected_contexts) == 2
        assert assoc.acceptor.maximum_length == 16384
    finally:
        assoc.release()


# ---- raw framing ---------------------------------------------------------------------------------
def _associate_rq(max_pdu: int, ctx: list[tuple[int, str, list[str]]]) -> bytes:
    def item(t: int, v: bytes) -> bytes:
        return struct.pack(">BBH", t, 0, len(v)) + v

    body = struct.pack(">HH", 1, 0) + b"ANY-SCP".ljust(16) + b"RAW".ljust(16) + bytes(32)
    body += item(0x10, rs.APP_CONTEXT.encode())
    for cid, abstract, tss in ctx:
        sub = item(0x30, abstract.encode()) + b"".join(item(0x40, t.encode()) for t in tss)
        body += item(0x20, bytes([cid, 0, 0, 0]) + sub)
    body += item(0x50, item(0x51, struct.pack(">L", max_pdu)))
    return struct.pack(">BBL", 1, 0, len(body)) + body


def _read_pdu(sock: socket.socket) -> tuple[int, bytes]:
    def exact(n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            assert chunk, "server closed early"
            out += chunk
        return out

    ptype, _, length = struct.unpack(">BBL", exact(6))
    return ptype, exact(length)


@pytest.mark.parametrize("one_pdu, max_pdu", [(False, 128), (True, 0), (True, 1000)])
def test_raw_framing_respects_max_pdu(one_pdu, max_pdu):
    msg_id, n = 0x1234, 7
    with rs.start(responses=n, kind="study", distinct=3, one_pdu=one_pdu) as srv, \
            socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(_associate_rq(max_pdu, [(3, rs.STUDY_ROOT_FIND, [rs.IMPLICIT_LE])]))
        assert _read_pdu(sock)[0] == 2
        rq = b"".join([
            rs._cmd_elem(0x0002, rs._uid_bytes(rs.STUDY_ROOT_FIND)),
            rs._cmd_elem(0x0100, struct.pack("<H", rs.C_FIND_RQ)),
            rs._cmd_elem(0x0110, struct.pack("<H", msg_id)),
            rs._cmd_elem(0x0700, struct.pack("<H", 0)),
            rs._cmd_elem(0x0800, struct.pack("<H", 1)),
        ])
        rq = rs._cmd_elem(0x0000, struct.pack("<L", len(rq))) + rq
        ident = rs.encode_dataset(rs.make_identifiers("study", 1)[0], rs.IMPLICIT_LE)
        sock.sendall(rs.pdata_pdus(3, True, rq, 0) + rs.pdata_pdus(3, False, ident, 0))
        messages: list[tuple[dict[int, bytes], bytes]] = []
        cmd_buf, ds_buf, current = b"", b"", None
        pdvs_per_pdu = []
        while True:
            ptype, body = _read_pdu(sock)
            assert ptype == 4
            if max_pdu:
                assert len(body) <= max_pdu
            pos, count = 0, 0
            while pos < len(body):
                length, cid, control = struct.unpack_from(">LBB", body, pos)
                assert cid == 3 and length % 2 == 0
                frag = body[pos + 6 : pos + 4 + length]
                pos += 4 + length
                count += 1
                if control & 1:
                    cmd_buf += frag
                    if control & 2:
                        current, cmd_buf = rs.decode_command(cmd_buf), b""
                        if rs._us(current, 0x0800) == rs.NO_DATASET:
                            messages.append((current, b""))
                else:
                    ds_buf += frag
                    if control & 2:
                        messages.append((current, ds_buf))
                        ds_buf = b""
            pdvs_per_pdu.append(count)
            if messages and not messages[-1][1]:
                break
        sock.sendall(struct.pack(">BBL", 5, 0, 4) + bytes(4))
        assert _read_pdu(sock)[0] == 6
    assert len(messages) == n + 1
    expected = rs.make_identifiers("study", 3)
    for i, (c, ds) in enumerate(messages):
        assert rs._us(c, 0x0120) == msg_id and rs._us(c, 0x0100) == rs.C_FIND_RSP
        assert rs._us(c, 0x0900) == (rs.STATUS_PENDING if i < n else rs.STATUS_SUCCESS)
        if i < n:
            assert rs.decode_dataset(ds, rs.IMPLICIT_LE) == expected[i % 3]
    assert (max(pdvs_per_pdu) == 2) == one_pdu


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(min_size=1, max_size=600), max_pdu=st.integers(8, 300))
def test_payload_position_map(payload, max_pdu):
    out = rs.pdata_pdus(1, True, payload, max_pdu)
    frag = rs._fragment_size(max_pdu)
    assert bytes(out[rs._payload_pos(k, frag)] for k in range(len(payload))) == payload
