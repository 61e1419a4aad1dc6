"""The Python API end to end against a real (pynetdicom) SCP on 127.0.0.1 (PS3.4 C.4.1)."""

from __future__ import annotations

import socket

import pytest
from pydicom import Dataset

from fastfind import (
    AssociationRejected,
    ConnectError,
    FindCancelled,
    FindClient,
    FindFailed,
    NoAcceptableContext,
    PeerAborted,
    find,
    find_all,
)
from fastfind.codec import TRANSFER_SYNTAXES

import servers
from servers import FindScript, match_datasets

STUDY_QUERY = {"QueryRetrieveLevel": "STUDY", "PatientName": "*", "StudyInstanceUID": None}


def test_find_yields_every_match_then_releases(scripted_scp) -> None:
    matches = match_datasets(7)
    scp = scripted_scp(FindScript(matches=matches))
    got = list(find(scp.host, scp.port, STUDY_QUERY, model="study", called_ae=scp.aet))
    assert [r.number for r in got] == list(range(1, 8))
    assert [r.dataset.PatientName for r in got] == [m.PatientName for m in matches]
    assert all(r.is_pending and r.identifier for r in got)
    assert scp.wait_ended()
    assoc = scp.associations[0]
    assert assoc.ended == "released"
    assert assoc.calling_aet == "FINDSCU" and assoc.called_aet == scp.aet
    assert assoc.max_pdu == 16384
    received = assoc.finds[0].identifier
    assert received.QueryRetrieveLevel == "STUDY" and received.PatientName == "*"
    assert "StudyInstanceUID" in received and received.StudyInstanceUID == ""


@pytest.mark.parametrize("proposal", ["default", "implicit", "big", "deflated"])
def test_every_transfer_syntax_round_trips(scripted_scp, proposal: str) -> None:
    matches = match_datasets(3, charset="ISO_IR 100")
    scp = scripted_scp(FindScript(matches=matches))
    with FindClient(scp.host, scp.port, model="study", transfer_syntaxes=proposal) as client:
        got = list(client.find(STUDY_QUERY))
        ts = client.context_for()[1]
    for rsp, expected in zip(got, matches, strict=True):
        assert rsp.dataset == expected
        assert rsp.transfer_syntax is ts
    assert TRANSFER_SYNTAXES[scp.associations[0].finds[0].transfer_syntax] is ts


def test_one_association_many_queries(scripted_scp) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(2)))
    queries = [STUDY_QUERY, Dataset(), {"PatientID": "X"}]
    out = list(find_all(scp.host, scp.port, queries, model="study"))
    assert [index for index, _ in out] == [0, 0, 1, 1, 2, 2]
    # DCMTK's cumulative count: the final responses (3, 6, 9) are counted too
    assert [rsp.number for _, rsp in out] == [1, 2, 4, 5, 7, 8]
    assert len(scp.associations) == 1
    assert scp.associations[0].message_ids == [1, 2, 3]


def test_failure_status_raises_after_the_matches(scripted_scp) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(2), final_status=0xA700, error_comment="full"))
    seen = []
    with pytest.raises(FindFailed) as info:
        for rsp in find(scp.host, scp.port, STUDY_QUERY, model="study"):
            seen.append(rsp)
    assert len(seen) == 2
    assert info.value.status == 0xA700 and info.value.error_comment == "full"
    assert info.value.exit_code == 69


def test_unrequested_cancel_status_raises_find_cancelled(scripted_scp) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(1), final_status=0xFE00))
    with pytest.raises(FindCancelled):
        list(find(scp.host, scp.port, STUDY_QUERY, model="study"))
    # check=False leaves the decision to the caller
    assert len(list(find(scp.host, scp.port, STUDY_QUERY, model="study", check=False))) == 1


def test_cancel_stops_the_query(scripted_scp) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(50), delay=0.02))
    with FindClient(scp.host, scp.port, model="study") as client:
        op = client.start(STUDY_QUERY)
        pending = 0
        for rsp in op:
            if rsp.is_pending:
                pending += 1
                if pending == 2:
                    op.cancel()
        assert op.final is not None and op.final.status == 0xFE00
        assert op.check() is op.final  # a cancel we asked for is not an error
    assert pending < 50
    assert scp.associations[0].cancels == [1]


def test_peer_abort_is_an_exception(scripted_scp) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(5), abort_after=2))
    seen = []
    with pytest.raises(PeerAborted):
        for rsp in find(scp.host, scp.port, STUDY_QUERY, model="study"):
            seen.append(rsp)
    assert len(seen) == 2


def test_rejection_and_no_context(scripted_scp) -> None:
    scp = scripted_scp(FindScript(), require_called_aet=True, aet="RIGHT")
    with pytest.raises(AssociationRejected) as info:
        FindClient(scp.host, scp.port, model="study", called_ae="WRONG").open()
    assert "Called AE Title Not Recognized" in str(info.value)
    assert info.value.exit_code == 2
    scp2 = scripted_scp(FindScript(), models=[servers.FIND_MODELS[0]])
    other = [m for m in ("worklist", "patient", "study") if FindClient("h", 1, model=m).abstract_syntax != servers.FIND_MODELS[0]][0]
    with pytest.raises(NoAcceptableContext):
        FindClient(scp2.host, scp2.port, model=other).open()


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        FindClient("127.0.0.1", port).open()
    assert "Connection refused" in str(info.value)


def test_query_file_and_dataset_forms(scripted_scp, tmp_path) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(1)))
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.PatientID = "ABC"
    path = tmp_path / "q.dcm"
    ds.save_as(path, implicit_vr=True, little_endian=True)
    assert len(list(find(scp.host, scp.port, ds, model="study"))) == 1
    assert len(list(find(scp.host, scp.port, str(path), model="study"))) == 1
    assert [f.identifier.PatientID for a in scp.associations for f in a.finds] == ["ABC", "ABC"]
