"""The asyncio API (fastfind.aio) end to end: the same behaviour as the blocking API
(tests/test_api.py), on one event loop, against a pynetdicom SCP and the hostile raw-socket SCP.
Both clients run the same sans-IO state machine; these tests pin the asyncio driver's waiting:
absolute deadlines, peer aborts, refused and closed connections, cancel and drain."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from fastfind import (
    AssociationRejected,
    ConnectError,
    DimseTimeout,
    FindCancelled,
    FindFailed,
    NoAcceptableContext,
    PeerAborted,
    ProtocolError,
)
from fastfind.aio import AsyncFindClient, find
from fastfind.codec import TRANSFER_SYNTAXES

import hostile as h
import servers
from servers import FindScript, match_datasets

STUDY_QUERY = {"QueryRetrieveLevel": "STUDY", "PatientName": "*", "StudyInstanceUID": None}


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def collect(agen: Any) -> list[Any]:
    return [x async for x in agen]


def test_find_yields_every_match_then_releases(scripted_scp: Any) -> None:
    matches = match_datasets(7)
    scp = scripted_scp(FindScript(matches=matches))
    got = run(collect(find(scp.host, scp.port, STUDY_QUERY, model="study", called_ae=scp.aet)))
    assert [r.number for r in got] == list(range(1, 8))
    assert [r.dataset.PatientName for r in got] == [m.PatientName for m in matches]
    assert scp.wait_ended() and scp.associations[0].ended == "released"


@pytest.mark.parametrize("proposal", ["default", "implicit", "big", "deflated"])
def test_every_transfer_syntax_round_trips(scripted_scp: Any, proposal: str) -> None:
    matches = match_datasets(3, charset="ISO_IR 100")
    scp = scripted_scp(FindScript(matches=matches))

    async def main() -> tuple[list[Any], Any]:
        async with AsyncFindClient(scp.host, scp.port, model="study", transfer_syntaxes=proposal) as client:
            return await collect(client.find(STUDY_QUERY)), client.context_for()[1]

    got, ts = run(main())
    assert [r.dataset for r in got] == matches
    assert TRANSFER_SYNTAXES[scp.associations[0].finds[0].transfer_syntax] is ts


def test_one_association_many_queries_and_early_exit(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(30), delay=0.005))

    async def main() -> list[int]:
        async with AsyncFindClient(scp.host, scp.port, model="study") as client:
            counts = []
            async for i, _ in _enumerate(client.find(STUDY_QUERY)):
                if i == 1:
                    break
            for _ in range(2):
                counts.append(len(await collect(client.find(STUDY_QUERY))))
            return counts

    assert run(main()) == [30, 30]
    assoc = scp.associations[0]
    assert assoc.message_ids == [1, 2, 3] and assoc.cancels == [1]


async def _enumerate(agen: Any) -> Any:
    i = 0
    async for x in agen:
        yield i, x
        i += 1


def test_statuses_raise_like_the_blocking_api(scripted_scp: Any) -> None:
    failing = scripted_scp(FindScript(matches=match_datasets(2), final_status=0xA700, error_comment="full"))
    with pytest.raises(FindFailed) as info:
        run(collect(find(failing.host, failing.port, STUDY_QUERY, model="study")))
    assert info.value.status == 0xA700 and info.value.error_comment == "full"
    capped = scripted_scp(FindScript(matches=match_datasets(1), final_status=0xFE00))
    with pytest.raises(FindCancelled):
        run(collect(find(capped.host, capped.port, STUDY_QUERY, model="study")))
    assert len(run(collect(find(capped.host, capped.port, STUDY_QUERY, model="study", check=False)))) == 1


def test_cancel_stops_the_query(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(50), delay=0.02))

    async def main() -> tuple[int, int]:
        async with AsyncFindClient(scp.host, scp.port, model="study") as client:
            op = await client.start(STUDY_QUERY)
            pending = 0
            async for rsp in op:
                if rsp.is_pending:
                    pending += 1
                    if pending == 2:
                        await op.cancel()
            assert op.final is not None
            return pending, op.final.status

    pending, final = run(main())
    assert final == 0xFE00 and pending < 50
    assert scp.associations[0].cancels == [1]


def test_peer_abort_rejection_no_context_refused(scripted_scp: Any) -> None:
    aborting = scripted_scp(FindScript(matches=match_datasets(5), abort_after=2))
    seen: list[Any] = []

    async def consume() -> None:
        async for rsp in find(aborting.host, aborting.port, STUDY_QUERY, model="study"):
            seen.append(rsp)

    with pytest.raises(PeerAborted):
        run(consume())
    assert len(seen) == 2
    picky = scripted_scp(FindScript(), require_called_aet=True, aet="RIGHT")
    with pytest.raises(AssociationRejected) as info:
        run(AsyncFindClient(picky.host, picky.port, model="study", called_ae="WRONG").open())
    assert "Called AE Title Not Recognized" in str(info.value)
    narrow = scripted_scp(FindScript(), models=[servers.FIND_MODELS[0]])
    other = "study" if servers.FIND_MODELS[0] != "1.2.840.10008.5.1.4.1.2.2.1" else "patient"
    with pytest.raises(NoAcceptableContext):
        run(AsyncFindClient(narrow.host, narrow.port, model=other).open())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectError, match="Connection refused"):
        run(AsyncFindClient("127.0.0.1", port).open())
    with pytest.raises(ConnectError, match="unknown host"):
        run(AsyncFindClient("no-such-host.invalid", 104).open())


def test_a_dripping_server_cannot_stretch_the_deadline() -> None:
    """One byte every 0.3 s: the socket timeout (-ts) is a deadline per chunk, not per byte."""
    def message(c: h.Context) -> bytes:
        return h.message(c.cid, h.find_rsp(c.msg_id, 0xFF00, True), h.identifier(h.study(1), c.ts))

    script = [*h.associate(), ("recv_find",), ("send_slowly", message, 0.3)]
    with h.HostileSCP(script) as scp:
        async def main() -> None:
            async with AsyncFindClient("127.0.0.1", scp.port, model="study", socket_timeout=2) as client:
                await collect(client.find(STUDY_QUERY))

        t0 = time.monotonic()
        with pytest.raises(DimseTimeout):
            run(main())
        assert time.monotonic() - t0 < 6
        record = scp.wait(10)
    assert record.aborts and record.aborts[0][0] == 0  # A-ABORT, source 0


def test_a_protocol_violation_aborts_with_the_blocking_drivers_pdu() -> None:
    script = [*h.associate(), ("recv_find",), ("send", b"\x09\x00\x00\x00\x00\x02ab")]  # PDU type 9
    with h.HostileSCP(script) as scp:
        async def main() -> None:
            async with AsyncFindClient("127.0.0.1", scp.port, model="study") as client:
                await collect(client.find(STUDY_QUERY))

        with pytest.raises(ProtocolError, match="Unrecognized PDU type: 0x09"):
            run(main())
        record = scp.wait(10)
    assert record.aborts and record.aborts[0] == (2, 1)  # AA-8: source 2, unrecognized-PDU


def test_many_associations_on_one_loop(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(4), delay=0.01))

    async def one() -> int:
        async with AsyncFindClient(scp.host, scp.port, model="study") as client:
            return len(await collect(client.find(STUDY_QUERY)))

    async def main() -> list[int]:
        return list(await asyncio.gather(*[one() for _ in range(12)]))

    assert run(main()) == [4] * 12
    assert scp.wait_ended(12) and len(scp.associations) == 12
