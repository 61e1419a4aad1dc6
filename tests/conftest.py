"""Shared fixtures: real DICOM peers (DCMTK wlmscpfs/dcmqrscp, Orthanc) started once per session,
and a scripted in-process pynetdicom C-FIND SCP per test. See tests/servers.py for the helpers.

A missing binary skips the tests that need it, except under CI (``CI`` set) or with
``FASTFIND_REQUIRE_INTEROP=1``, where it fails them: CI installs DCMTK and Orthanc, so the
interop tests must run there.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "interop_only: only checks external peers/tools, not fastfind's codec; "
                   "skipped in the pure-Python (FASTFIND_NO_EXTENSIONS) run")


def require_binaries(*names: str) -> None:
    """Skip the calling test/fixture when a binary is missing (fail instead under CI)."""
    missing = [n for n in names if servers.which(n) is None]
    if not missing:
        return
    reason = f"not installed: {', '.join(missing)}"
    if os.environ.get("CI") or os.environ.get("FASTFIND_REQUIRE_INTEROP") == "1":
        pytest.fail(f"{reason} (required under CI / FASTFIND_REQUIRE_INTEROP=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def wlmscpfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.WorklistServer]:
    """wlmscpfs serving 30 generated worklist records (CT/MR, some ISO_IR 100) as AET WLMSCP."""
    require_binaries("wlmscpfs")
    server = servers.start_wlmscpfs(tmp_path_factory.mktemp("wlmscpfs"))
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def wlmscpfs_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.WorklistServer]:
    """wlmscpfs serving DCMTK's example worklist database (10 records) as AET OFFIS."""
    require_binaries("wlmscpfs", "dump2dcm")
    if not servers.EXAMPLE_WLISTDB.is_dir():
        require_binaries(str(servers.EXAMPLE_WLISTDB))  # skips/fails with the path as reason
    server = servers.start_wlmscpfs(tmp_path_factory.mktemp("wlmscpfs-example"), aet="OFFIS",
                                    example=True)
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def dcmqrscp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.QRServer]:
    """dcmqrscp (AET QRSCP): 4 patients x 2 studies x 2 series x 2 images, indexed by dcmqridx."""
    require_binaries("dcmqrscp", "dcmqridx")
    server = servers.start_dcmqrscp(tmp_path_factory.mktemp("dcmqrscp"))
    yield server
    server.process.stop()


OrthancFactory = Callable[..., servers.OrthancServer]


@pytest.fixture(scope="session")
def orthanc_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancFactory]:
    """``factory(studies=20, **config)``: an Orthanc with those config overrides (e.g.
    ``LimitFindResults=5``), started once per session per distinct set of arguments."""
    started: dict[str, servers.OrthancServer] = {}

    def factory(studies: int = 20, **config: Any) -> servers.OrthancServer:
        require_binaries(servers.ORTHANC)
        key = json.dumps([studies, config], sort_keys=True)
        if key not in started:
            workdir = tmp_path_factory.mktemp("orthanc")
            started[key] = servers.start_orthanc(workdir, data=servers.orthanc_data(studies),
                                                 **config)
        return started[key]

    yield factory
    stoppers = [threading.Thread(target=s.process.stop) for s in started.values()]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()


@pytest.fixture(scope="session")
def orthanc(orthanc_factory: OrthancFactory) -> servers.OrthancServer:
    """Orthanc (AET ORTHANC) with 20 studies of 10 patients, 2 series x 2 instances each."""
    return orthanc_factory()


@pytest.fixture(scope="session")
def orthanc_limited(orthanc_factory: OrthancFactory) -> servers.OrthancServer:
    """Like ``orthanc`` with ``LimitFindResults=5``: broad queries end with FE00 after 5."""
    return orthanc_factory(LimitFindResults=5)


@pytest.fixture
def scripted_scp() -> Iterator[Callable[..., servers.ScriptedSCP]]:
    """``factory(script, **options)`` -> a running ScriptedSCP; all are shut down afterwards."""
    started: list[servers.ScriptedSCP] = []

    def factory(script: Any = None, **options: Any) -> servers.ScriptedSCP:
        scp = servers.ScriptedSCP(servers.FindScript() if script is None else script, **options)
        started.append(scp)
        return scp

    yield factory
    for scp in started:
        scp.stop()


@pytest.fixture(scope="session")
def findscu_bin() -> str:
    """Path of DCMTK findscu (skips, or fails under CI, if missing)."""
    require_binaries("findscu")
    return str(servers.which("findscu"))
