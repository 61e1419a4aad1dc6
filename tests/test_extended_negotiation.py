"""SOP Class Extended Negotiation for C-FIND (PS3.4 C.5.1.1, PS3.7 D.3.3.5): --relational,
--datetime, --fuzzy, --timezone, from the API (blocking and asyncio), batches and the CLI,
against a pynetdicom SCP that answers the sub-item."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastfind import FindClient
from fastfind.aio import AsyncFindClient
from fastfind.batch import find_many

from servers import FindScript, match_datasets

REPO = Path(__file__).resolve().parents[1]
STUDY = "1.2.840.10008.5.1.4.1.2.2.1"
QUERY = {"QueryRetrieveLevel": "STUDY", "PatientName": "*"}


def only_relational(asked: dict[str, bytes]) -> dict[str, bytes]:
    """Accept relational queries, refuse every other extension asked for."""
    return {uid: bytes([info[0]] + [0] * (len(info) - 1)) for uid, info in asked.items()}


def test_the_item_asks_for_exactly_what_was_asked(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(2)), extended=only_relational)
    with FindClient(scp.host, scp.port, model="study", relational=True, fuzzy_names=True) as client:
        assert len(list(client.find(QUERY))) == 2
        assert client.extensions_accepted == {
            "relational-queries": True, "fuzzy semantic matching of person names": False}
    assert scp.extended_requests == [{STUDY: b"\x01\x00\x01"}]  # bytes 1-3: up to the last asked


def test_nothing_is_asked_by_default(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(1)), extended=only_relational)
    with FindClient(scp.host, scp.port, model="study") as client:
        list(client.find(QUERY))
        assert client.extensions_accepted == {}
    assert scp.extended_requests == []


def test_a_peer_that_ignores_the_item_accepts_nothing(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(1)))  # no handler: no answer item
    with FindClient(scp.host, scp.port, model="study", timezone_adjustment=True) as client:
        list(client.find(QUERY))
        assert client.extensions_accepted == {"timezone query adjustment": False}


def test_asyncio_and_batches_negotiate_too(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(1)), extended=only_relational)

    async def main() -> dict[str, bool]:
        async with AsyncFindClient(scp.host, scp.port, model="study", relational=True,
                                   datetime_matching=True) as client:
            [rsp async for rsp in client.find(QUERY)]
            return client.extensions_accepted

    assert asyncio.run(main()) == {"relational-queries": True, "combined date-time matching": False}
    results = list(find_many([QUERY] * 3, scp.host, scp.port, model="study", relational=True,
                             concurrency=2))
    assert all(r.ok for r in results)
    assert all(req == {STUDY: b"\x01"} for req in scp.extended_requests[1:])


def test_cli_logs_what_was_accepted_at_verbose(scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(1)), extended=only_relational)
    got = subprocess.run(
        [sys.executable, "-m", "fastfind", "-v", "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName",
         "--relational", "--fuzzy", "127.0.0.1", str(scp.port)],
        capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert got.returncode == 0, got.stderr
    assert ("I: Extended Negotiation: relational-queries accepted, "
            "fuzzy semantic matching of person names not accepted") in got.stderr
    assert scp.extended_requests == [{STUDY: b"\x01\x00\x01"}]
    quiet = subprocess.run(
        [sys.executable, "-m", "fastfind", "-S", "-k", "QueryRetrieveLevel=STUDY", "--relational",
         "127.0.0.1", str(scp.port)],
        capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert "Extended Negotiation" not in quiet.stderr
