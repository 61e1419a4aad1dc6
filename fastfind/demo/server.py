"""The bundled demo C-FIND SCP (``fastfind-demo-scp``, ``python -m fastfind.demo``).

A pynetdicom server (this is the one place a pynetdicom AE is fine: it is a server, not
fastfind's query path) offering, with Implicit LE, Explicit LE, Explicit BE and Deflated
Explicit LE (PS3.5 A.1-A.5):

* Modality Worklist Information Model - FIND (PS3.4 K),
* Patient Root, Study Root and Patient/Study Only Q/R - FIND (PS3.4 C),
* Verification (PS3.4 A).

Matching is in :mod:`fastfind.demo.match`, data in :mod:`fastfind.demo.data`.  C-CANCEL is
honoured between two responses (final status FE00).

``--run-query`` starts the SCP on a free port, runs two real queries with the fastfind
CLI (or the program named by ``FASTFIND_DEMO_CLIENT``, e.g. ``findscu``), prints their
output and stops the SCP; the exit code is the first non-zero client exit code.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ModalityWorklistInformationFind,
    PatientRootQueryRetrieveInformationModelFind,
    PatientStudyOnlyQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    Verification,
)

from .data import DemoRecords, make_records
from .match import QueryError, find_qr, find_worklist

__all__ = ["DemoServer", "main", "serve"]

DEFAULT_AET = "FASTFIND-DEMO"
DEFAULT_PORT = 11112
DEFAULT_SEED = 1
DEFAULT_RECORDS = 200
TRANSFER_SYNTAXES = [  # our preference when the requestor's order leaves a tie
    ExplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
]
# SOP Class UID -> demo_match model ("worklist" or a key of demo_match.MODELS)
FIND_MODELS = {
    ModalityWorklistInformationFind: "worklist",
    PatientRootQueryRetrieveInformationModelFind: "patient",
    StudyRootQueryRetrieveInformationModelFind: "study",
    PatientStudyOnlyQueryRetrieveInformationModelFind: "patient_study",
}
STATUS_PENDING = 0xFF00
STATUS_CANCEL = 0xFE00
CLIENT_ENV = "FASTFIND_DEMO_CLIENT"
CLIENT_TIMEOUT = 120.0

_log = logging.getLogger("fastfind.demo")


@dataclass
class DemoServer:
    """A running demo SCP; ``shutdown()`` stops it (idempotent)."""

    host: str
    port: int
    ae_title: str
    records: DemoRecords
    _server: Any

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _responses(event: evt.Event, records: DemoRecords, delay: float) -> Iterator[Any]:
    """EVT_C_FIND handler: (status, identifier) pairs, as pynetdicom expects."""
    model = FIND_MODELS.get(str(event.request.AffectedSOPClassUID))
    try:
        query = event.identifier
        if model == "worklist":
            matches = find_worklist(query, records.worklist)
        elif model is not None:
            matches = find_qr(query, model, records)
        else:  # not reachable: only the FIND contexts above are accepted
            raise QueryError(0x0122, "SOP Class not supported")
        for response in matches:
            if event.is_cancelled:
                yield STATUS_CANCEL, None
                return
            yield STATUS_PENDING, response
            if delay:
                time.sleep(delay)
    except QueryError as exc:
        _log.info("C-FIND failed: %04X %s", exc.status, exc.comment)
        yield exc.status_dataset(), None
        return
    if event.is_cancelled:
        yield STATUS_CANCEL, None
        return
    yield 0x0000, None


def _prefer_requestor_order(event: evt.Event) -> None:
    """EVT_REQUESTED: accept, per context, the requestor's first acceptable transfer syntax.

    pynetdicom's acceptor takes its own list order; reordering this association's copy of
    the supported contexts makes ``-xb`` give Big Endian and ``-xd`` Deflated.
    """
    proposed: dict[str, list[str]] = {}
    for cx in event.assoc.requestor.primitive.presentation_context_definition_list:
        proposed.setdefault(str(cx.abstract_syntax), [str(t) for t in cx.transfer_syntax])
    contexts = event.assoc.acceptor.supported_contexts
    for cx in contexts:
        order = proposed.get(str(cx.abstract_syntax))
        if order:
            ranked = sorted(cx.transfer_syntax,
                            key=lambda ts, o=order: o.index(ts) if ts in o else len(o))
            cx.transfer_syntax = ranked
    event.assoc.acceptor.supported_contexts = contexts


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    ae_title: str = DEFAULT_AET,
    records: DemoRecords | None = None,
    *,
    seed: int = DEFAULT_SEED,
    count: int = DEFAULT_RECORDS,
    delay: float = 0.0,
) -> DemoServer:
    """Start the demo SCP in background threads and return it (``.port`` is the bound port).

    ``delay`` sleeps that many seconds after each pending response (to watch C-CANCEL work).
    """
    data = records if records is not None else make_records(seed=seed, count=count)
    data.entities("PATIENT")  # build the per-level views before any association uses them
    data.level_tags()
    ae = AE(ae_title=ae_title)
    for uid in (*FIND_MODELS, Verification):
        ae.add_supported_context(uid, TRANSFER_SYNTAXES)
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    ae.network_timeout = 60

    def on_find(event: evt.Event) -> Iterator[Any]:
        yield from _responses(event, data, delay)

    server = ae.start_server((host, port), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find),
                                             (evt.EVT_REQUESTED, _prefer_requestor_order)])
    bound = int(server.server_address[1])
    return DemoServer(host=host, port=bound, ae_title=ae_title, records=data, _server=server)


# ---------------------------------------------------------------------------------------
# --run-query


def demo_queries(ae_title: str, port: int) -> list[tuple[str, list[str]]]:
    """The two demo queries as (title, findscu-compatible arguments)."""
    def common(model: str) -> list[str]:
        return ["-v", model, "-aec", ae_title, "127.0.0.1", str(port)]

    study = [
        *common("-S"),
        "-k", "QueryRetrieveLevel=STUDY",
        "-k", "PatientName=A*",
        "-k", "StudyDate=20200101-20251231",
        "-k", "StudyInstanceUID",
        "-k", "ModalitiesInStudy",
        "-k", "PatientID",
        "-k", "StudyDescription",
        "-k", "NumberOfStudyRelatedInstances",
    ]
    worklist = [
        *common("-W"),
        "-k", "ScheduledProcedureStepSequence[0].Modality=CT",
        "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20240101-20240630",
        "-k", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
        "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
        "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription",
        "-k", "PatientName",
        "-k", "PatientID",
        "-k", "AccessionNumber",
    ]
    return [
        ("Study Root C-FIND: studies 2020-2025 of patients whose name starts with A", study),
        ("Modality Worklist C-FIND: CT procedure steps scheduled 2024-01-01..2024-06-30",
         worklist),
    ]


def client_command() -> list[str]:
    """The client program: ``$FASTFIND_DEMO_CLIENT`` (shell-split) or the fastfind CLI."""
    configured = os.environ.get(CLIENT_ENV, "").strip()
    if configured:
        return shlex.split(configured)
    return [sys.executable, "-m", "fastfind"]


def _client_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


_PENDING_LINE = re.compile(rb"(?:Find Response:? \d+ \(Pending)|(?:Find Response \d+ \(Pending)")


def run_queries(server: DemoServer, out: Any = None) -> int:
    """Run the demo queries against ``server``; write everything to ``out`` (binary stream)."""
    stream = out if out is not None else sys.stdout.buffer
    program = client_command()
    results: list[tuple[str, int, int]] = []
    for title, args in demo_queries(server.ae_title, server.port):
        cmd = [*program, *args]
        stream.write(f"\n=== {title}\n$ {shlex.join(cmd)}\n".encode())
        stream.flush()
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, env=_client_env(),
                                  timeout=CLIENT_TIMEOUT, check=False)
        except FileNotFoundError:
            stream.write(f"demo: client program not found: {program[0]}\n".encode())
            results.append((title, 127, 0))
            continue
        except subprocess.TimeoutExpired as exc:  # run() has killed it
            stream.write(exc.output or b"")
            stream.write(f"demo: client timed out after {CLIENT_TIMEOUT:.0f} s\n".encode())
            results.append((title, 124, 0))
            continue
        stream.write(proc.stdout)
        matches = len(_PENDING_LINE.findall(proc.stdout))
        stream.write(f"--- exit code {proc.returncode}, {matches} matches\n".encode())
        results.append((title, proc.returncode, matches))
    failed = [r for r in results if r[1] != 0]
    summary = ", ".join(f"{m} matches (exit {rc})" for _, rc, m in results)
    verdict = "FAILED" if failed else "OK"
    stream.write(f"\ndemo {verdict}: {len(results)} queries against {server.ae_title} on "
                 f"127.0.0.1:{server.port}: {summary}\n".encode())
    stream.flush()
    return failed[0][1] if failed else 0


# ---------------------------------------------------------------------------------------
# command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fastfind-demo-scp",
        description="Demo C-FIND SCP (Modality Worklist, Patient/Study Root, "
                    "Patient/Study Only, Verification) with synthetic data.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default {DEFAULT_PORT}; 0 = any free port; "
                        "--run-query defaults to 0)")
    p.add_argument("--aet", default=DEFAULT_AET, help="AE title (default %(default)s)")
    p.add_argument("--records", type=int, default=DEFAULT_RECORDS, metavar="N",
                   help="number of studies and of worklist entries (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="data seed (default %(default)s)")
    p.add_argument("--delay", type=float, default=0.0, metavar="S",
                   help="sleep S seconds after each pending response (default 0)")
    p.add_argument("--run-query", action="store_true",
                   help="serve on a free port, run demo queries with the fastfind CLI "
                        f"(or ${CLIENT_ENV}), print them and exit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fastfind-demo-scp``."""
    args = _parser().parse_args(argv)
    if args.records < 1:
        _parser().error("--records must be at least 1")
    if args.port is not None and not 0 <= args.port <= 65535:
        _parser().error("--port must be in 0..65535")
    port = args.port if args.port is not None else (0 if args.run_query else DEFAULT_PORT)
    try:
        server = serve(args.host, port, args.aet, seed=args.seed, count=args.records,
                       delay=args.delay)
    except OSError as exc:
        print(f"fastfind-demo-scp: cannot listen on {args.host}:{port}: {exc}", file=sys.stderr)
        return 1
    with server:
        if args.run_query:
            print(f"demo: {args.aet} listening on {server.host}:{server.port} "
                  f"({len(server.records.worklist)} worklist entries, "
                  f"{len(server.records.entities('STUDY'))} studies)", flush=True)
            return run_queries(server)
        return _serve_until_signal(server)


def _serve_until_signal(server: DemoServer) -> int:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"{server.ae_title} listening on {server.host}:{server.port} "
              f"({len(server.records.worklist)} worklist entries, "
              f"{len(server.records.entities('STUDY'))} studies); Ctrl-C stops", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    print("stopped", flush=True)
    return 0

