"""Real DICOM peers for the test suite: DCMTK wlmscpfs/dcmqrscp, Orthanc, a scripted pynetdicom SCP.

Every peer listens on a run-time port and is reached on 127.0.0.1 only; every wait has a
deadline; every subprocess runs in its own process group that is killed at teardown (and at
interpreter exit as a safety net). Test data is generated deterministically with pydicom.

Also here: ``run_findscu``/``run_fastfind`` (the two clients of the differential tests),
``normalise_stderr`` and ``compare_dicom_files``.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
START_DEADLINE = 30.0  # seconds a server gets to become ready
EXAMPLE_WLISTDB = Path("/usr/share/doc/dcmtk/examples/wlistdb")
ORTHANC = "/usr/sbin/Orthanc"

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_STUDY_ONLY_FIND = "1.2.840.10008.5.1.4.1.2.3.1"
FIND_MODELS = (MODALITY_WORKLIST_FIND, PATIENT_ROOT_FIND, STUDY_ROOT_FIND, PATIENT_STUDY_ONLY_FIND)
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
#: The scripted SCP's default acceptance order. pynetdicom accepts the first of the *acceptor's*
#: list that was proposed, so: deflate whenever proposed (-xd), else Explicit LE, else Implicit;
#: Big Endian only when proposed alone (pass another order to prefer it).
ALL_TRANSFER_SYNTAXES = (DEFLATED_LE, EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE)


def which(name: str) -> str | None:
    """Path of executable ``name`` (absolute paths are checked as-is), or None."""
    if os.path.isabs(name):
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name)


def uid(*parts: object) -> str:
    """A deterministic 2.25 UID derived from ``parts`` (PS3.5 B.2)."""
    digest = hashlib.sha256("|".join(["fastfind-tests", *map(str, parts)]).encode()).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


# --------------------------------------------------------------------------- ports and processes


def free_port(host: str = HOST) -> int:
    """A TCP port that was free on ``host`` a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if a TCP connection to (host, port) succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], deadline: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``deadline`` seconds have passed; return its result."""
    end = time.monotonic() + deadline
    while True:
        if predicate():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(interval)


def wait_for_port(host: str, port: int, deadline: float = START_DEADLINE) -> None:
    """Wait (at most ``deadline`` seconds) until (host, port) accepts TCP; TimeoutError otherwise."""
    if not wait_until(lambda: port_open(host, port), deadline):
        raise TimeoutError(f"nothing listening on {host}:{port} after {deadline:.0f} s")


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL if the test process dies (Linux prctl)."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ServerStartError(RuntimeError):
    """A server process exited or did not become ready in time."""


_LIVE: set[ServerProcess] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        proc.stop()


class ServerProcess:
    """A subprocess in its own process group with its output in ``log_path``.

    ``start`` waits until ``ready()`` is true (deadline ``deadline`` s) and raises
    ServerStartError with the log's tail if the process exits first; ``stop`` kills the whole
    process group (SIGTERM, then SIGKILL after a grace period). Use as a context manager.
    """

    def __init__(self, argv: Sequence[str], log_path: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready: Callable[[], bool], deadline: float = START_DEADLINE) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits: only use it from the main
        # thread, where it means "the test run died without teardown".
        on_main = threading.current_thread() is threading.main_thread()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.cwd, env=self.env, start_new_session=True,
                preexec_fn=_die_with_parent if on_main and sys.platform == "linux" else None,
            )
        _LIVE.add(self)
        end = time.monotonic() + deadline
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise ServerStartError(
                    f"{self.argv[0]} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if ready():
                return self
            if time.monotonic() >= end:
                self.stop()
                raise ServerStartError(f"{self.argv[0]} not ready after {deadline:.0f} s:\n"
                                       f"{self.log_tail()}")
            time.sleep(0.05)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """Kill the process group: SIGTERM, wait ``grace`` s, then SIGKILL. Idempotent."""
        _LIVE.discard(self)
        proc = self.proc
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)  # the group also holds forked per-association children
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers whose leader already exited

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_on_free_port(make: Callable[[int], ServerProcess], ready: Callable[[int], bool],
                       attempts: int = 3, deadline: float = START_DEADLINE
                       ) -> tuple[ServerProcess, int]:
    """Start ``make(port)`` on a fresh free port, retrying if the port was taken meanwhile."""
    error: Exception | None = None
    for _ in range(attempts):
        port = free_port()
        proc = make(port)
        try:
            return proc.start(lambda p=port: ready(p), deadline), port
        except ServerStartError as exc:
            error = exc
    raise ServerStartError(f"gave up after {attempts} attempts: {error}")


# --------------------------------------------------------------------------- DICOM file helpers


def write_dicom(path: Path, ds: Dataset, sop_class: str, sop_instance: str) -> Path:
    """Write ``ds`` as a DICOM file (PS3.10: preamble, meta header, Explicit VR LE)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_bytes(ds: Dataset, sop_class: str, sop_instance: str) -> bytes:
    """``ds`` as the bytes of a DICOM file."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


# --------------------------------------------------------------------------- worklist (wlmscpfs)

#: Latin-1 names used for every fifth worklist record (ISO_IR 100, PS3.5 6.1.2.3).
LATIN1_NAMES = ("MÜLLER^JÜRGEN", "GARÇON^FRANÇOIS", "SØRENSEN^ÅSE", "NÚÑEZ^JOSÉ", "LÖWE^BJÖRN",
                "FÄLTSKOG^AGNETHA")
ASCII_NAMES = ("SMITH^JOHN", "DOE^JANE", "VIVALDI^ANTONIO", "BACH^JOHANN", "MOZART^WOLFGANG",
               "HAYDN^JOSEPH", "LISZT^FRANZ", "CHOPIN^FREDERIC")


def worklist_records(count: int = 30) -> list[Dataset]:
    """``count`` deterministic MWL records (PS3.4 K.6.1): modality CT for even i, MR for odd,
    SPS start dates 2024-01-01 + i days; every fifth record has a Latin-1 name and ISO_IR 100."""
    records = []
    for i in range(count):
        latin = i % 5 == 0
        ds = Dataset()
        if latin:
            ds.SpecificCharacterSet = "ISO_IR 100"
        ds.AccessionNumber = f"ACC{i:05d}"
        name = LATIN1_NAMES[(i // 5) % len(LATIN1_NAMES)] if latin else ASCII_NAMES[i % 8]
        ds.ReferringPhysicianName = "REFERRER^" + ("A" if i % 2 else "B")
        ds.PatientName = name
        ds.PatientID = f"PID{i:04d}"
        ds.PatientBirthDate = f"19{50 + i % 40:02d}0{1 + i % 9}1{i % 10}"
        ds.PatientSex = "MF"[i % 2]
        ds.StudyInstanceUID = uid("wl", i, "study")
        ds.RequestingPhysician = "REQUESTER"
        ds.RequestedProcedureDescription = f"EXAM{i}"
        sps = Dataset()
        sps.Modality = "CT" if i % 2 == 0 else "MR"
        sps.ScheduledStationAETitle = "STATION" + str(i % 3)
        day = 1 + i % 28
        month = 1 + i // 28
        sps.ScheduledProcedureStepStartDate = f"2024{month:02d}{day:02d}"
        sps.ScheduledProcedureStepStartTime = f"{8 + i % 10:02d}{(i * 7) % 60:02d}00"
        sps.ScheduledPerformingPhysicianName = "PERFORMER^X"
        sps.ScheduledProcedureStepDescription = f"STEP {i}"
        sps.ScheduledProcedureStepID = f"SPS{i:04d}"
        sps.ScheduledStationName = f"ROOM{i % 4}"
        sps.ScheduledProcedureStepLocation = "FLOOR1"
        sps.PreMedication = ""
        sps.CommentsOnTheScheduledProcedureStep = ""
        ds.ScheduledProcedureStepSequence = [sps]
        ds.RequestedProcedureID = f"RP{i:04d}"
        ds.RequestedProcedurePriority = "LOW"
        records.append(ds)
    return records


def write_worklist_db(root: Path, aet: str, records: Iterable[Dataset]) -> Path:
    """Write ``root/aet/wklistNNN.wl`` + ``lockfile`` (wlmscpfs's layout); return ``root``."""
    db = root / aet
    db.mkdir(parents=True, exist_ok=True)
    (db / "lockfile").touch()
    for i, ds in enumerate(records):
        write_dicom(db / f"wklist{i:03d}.wl", ds, "1.2.276.0.7230010.3.1.0.1", uid("wlfile", i))
    return root


def example_worklist_db(root: Path, aet: str = "OFFIS") -> tuple[Path, list[Dataset]]:
    """Copy DCMTK's example worklist db into ``root/aet``: ``.wl`` files as they are (gunzipped
    if needed), ``.dump`` files converted with ``dump2dcm -g``. Returns (root, records)."""
    src_dirs = [d for d in EXAMPLE_WLISTDB.iterdir() if d.is_dir()]
    if not src_dirs:
        raise FileNotFoundError(f"no example worklist in {EXAMPLE_WLISTDB}")
    db = root / aet
    db.mkdir(parents=True, exist_ok=True)
    (db / "lockfile").touch()
    for src in sorted(src_dirs[0].iterdir()):
        name = src.name
        if name.endswith(".gz"):
            name = name[:-3]
            data = gzip.decompress(src.read_bytes())
        else:
            data = src.read_bytes()
        if name.endswith(".wl"):
            (db / name).write_bytes(data)
        elif name.endswith(".dump"):
            dump = db / name
            dump.write_bytes(data)
            dump2dcm = which("dump2dcm")
            if dump2dcm is None:
                raise FileNotFoundError("dump2dcm")
            subprocess.run([dump2dcm, "-g", str(dump), str(db / (name[:-5] + ".wl"))],
                           check=True, capture_output=True, timeout=30)
            dump.unlink()
    records = [dcmread(p) for p in sorted(db.glob("*.wl"))]
    return root, records


@dataclass
class WorklistServer:
    """A running wlmscpfs: query it with ``findscu -W -aec <aet> <host> <port>``."""

    host: str
    port: int
    aet: str
    count: int
    records: list[Dataset]
    db_dir: Path
    process: ServerProcess


def start_wlmscpfs(workdir: Path, aet: str = "WLMSCP", records: list[Dataset] | None = None,
                   example: bool = False, extra_args: Sequence[str] = ("-csk",)
                   ) -> WorklistServer:
    """Build the worklist db under ``workdir`` and start ``wlmscpfs -dfp <db> <port>``.

    ``-csk`` (default) makes wlmscpfs return each file's SpecificCharacterSet."""
    exe = which("wlmscpfs")
    if exe is None:
        raise FileNotFoundError("wlmscpfs")
    workdir.mkdir(parents=True, exist_ok=True)
    if example:
        root, records = example_worklist_db(workdir / "db", aet)
    else:
        records = worklist_records() if records is None else records
        root = write_worklist_db(workdir / "db", aet, records)

    def make(port: int) -> ServerProcess:
        argv = [exe, "-v", *extra_args, "-dfp", str(root), str(port)]
        return ServerProcess(argv, workdir / "wlmscpfs.log", cwd=workdir)

    proc, port = start_on_free_port(make, lambda p: port_open(HOST, p))
    return WorklistServer(HOST, port, aet, len(records), records, root / aet, proc)


# --------------------------------------------------------------------------- dcmqrscp


@dataclass
class QRData:
    """The instances stored in a Q/R peer, with the counts a query should find."""

    instances: list[Dataset]

    def _distinct(self, keyword: str) -> list[str]:
        return sorted({str(ds.get(keyword)) for ds in self.instances})

    @property
    def patients(self) -> list[str]:
        return self._distinct("PatientID")

    @property
    def studies(self) -> list[str]:
        return self._distinct("StudyInstanceUID")

    @property
    def series(self) -> list[str]:
        return self._distinct("SeriesInstanceUID")


def qr_instances(patients: int, studies_per_patient: int, series_per_study: int = 2,
                 images_per_series: int = 2, tag: str = "qr", latin1: bool = False
                 ) -> QRData:
    """Deterministic CT instances (no pixel data) for a Patient/Study/Series/Image hierarchy.

    With ``latin1`` every third patient gets a Latin-1 name and ISO_IR 100."""
    out = []
    for p in range(patients):
        lat = latin1 and p % 3 == 0
        name = LATIN1_NAMES[p % len(LATIN1_NAMES)] if lat else ASCII_NAMES[p % len(ASCII_NAMES)]
        for s in range(studies_per_patient):
            st = p * studies_per_patient + s
            for e in range(series_per_study):
                for i in range(images_per_series):
                    ds = Dataset()
                    if lat:
                        ds.SpecificCharacterSet = "ISO_IR 100"
                    ds.SOPClassUID = CT_IMAGE_STORAGE
                    ds.SOPInstanceUID = uid(tag, p, s, e, i)
                    ds.StudyDate = f"2023{1 + st % 12:02d}{1 + st % 28:02d}"
                    ds.StudyTime = f"{8 + st % 10:02d}3000"
                    ds.AccessionNumber = f"A{st:05d}"
                    ds.Modality = "CT" if e % 2 == 0 else "MR"
                    ds.ReferringPhysicianName = "REFERRER"
                    ds.StudyDescription = f"STUDY {st}"
                    ds.SeriesDescription = f"SERIES {e}"
                    ds.PatientName = f"{name}{p}" if not lat else name
                    ds.PatientID = f"{tag.upper()}{p:03d}"
                    ds.PatientBirthDate = f"19{60 + p % 30:02d}0101"
                    ds.PatientSex = "MF"[p % 2]
                    ds.StudyInstanceUID = uid(tag, p, s)
                    ds.SeriesInstanceUID = uid(tag, p, s, e)
                    ds.StudyID = f"S{st}"
                    ds.SeriesNumber = e + 1
                    ds.InstanceNumber = i + 1
                    out.append(ds)
    return QRData(out)


@dataclass
class QRServer:
    """A running dcmqrscp (Patient Root, Study Root and Patient/Study Only FIND)."""

    host: str
    port: int
    aet: str
    data: QRData
    storage: Path
    config: Path
    process: ServerProcess


def start_dcmqrscp(workdir: Path, aet: str = "QRSCP", data: QRData | None = None,
                   extra_args: Sequence[str] = ()) -> QRServer:
    """Write the instances, index them with ``dcmqridx`` and start ``dcmqrscp -c cfg <port>``.

    The default fork mode is used: 3.6.7 in single-process mode (``-s``) crashes (SIGSEGV)
    after its first association here."""
    exe, idx = which("dcmqrscp"), which("dcmqridx")
    if exe is None or idx is None:
        raise FileNotFoundError("dcmqrscp/dcmqridx")
    data = qr_instances(4, 2) if data is None else data
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    files = [str(write_dicom(storage / f"img{n:05d}.dcm", ds, ds.SOPClassUID, ds.SOPInstanceUID))
             for n, ds in enumerate(data.instances)]
    subprocess.run([idx, str(storage), *files], check=True, capture_output=True, timeout=120)

    def make(port: int) -> ServerProcess:
        cfg = workdir / "dcmqrscp.cfg"
        cfg.write_text(
            f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n\n"
            "HostTable BEGIN\nHostTable END\n\nVendorTable BEGIN\nVendorTable END\n\n"
            f"AETable BEGIN\n{aet} {storage} R (200, 1024mb) ANY\nAETable END\n")
        argv = [exe, "-v", *extra_args, "-c", str(cfg), str(port)]
        return ServerProcess(argv, workdir / "dcmqrscp.log", cwd=workdir)

    proc, port = start_on_free_port(make, lambda p: port_open(HOST, p))
    return QRServer(HOST, port, aet, data, storage, workdir / "dcmqrscp.cfg", proc)


# --------------------------------------------------------------------------- Orthanc


@dataclass
class OrthancServer:
    """A running Orthanc: DICOM on ``port`` (AET ``aet``), REST on ``http_port``."""

    host: str
    port: int
    http_port: int
    aet: str
    data: QRData
    config: dict[str, Any]
    workdir: Path
    process: ServerProcess

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def rest(self, path: str, body: bytes | None = None, timeout: float = 30.0) -> Any:
        """GET (or POST ``body``) ``path`` on the REST API; the decoded JSON answer."""
        return http_json(self.url + path, body, timeout)


def http_json(url: str, body: bytes | None = None, timeout: float = 30.0) -> Any:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", "application/dicom")
    with urllib.request.urlopen(req, timeout=timeout) as rsp:
        return json.loads(rsp.read() or b"null")


def _http_ready(url: str) -> bool:
    try:
        http_json(url, timeout=1.0)
        return True
    except (OSError, urllib.error.URLError, ValueError):
        return False


def orthanc_data(studies: int = 20) -> QRData:
    """``studies`` studies over ``studies // 2`` patients, 2 series of 2 instances each."""
    return qr_instances(max(1, studies // 2), 2, 2, 2, tag="orthanc", latin1=True)


def start_orthanc(workdir: Path, aet: str = "ORTHANC", data: QRData | None = None,
                  **overrides: Any) -> OrthancServer:
    """Start ``Orthanc cfg.json`` on free DICOM/HTTP ports and upload ``data`` via REST.

    The config keeps everything under ``workdir``, loads no plugins, lets any AET query
    (``DicomAlwaysAllowFind``) and ignores the called AET; ``overrides`` are merged in
    (e.g. ``LimitFindResults=5``)."""
    exe = which(ORTHANC) or which("Orthanc")
    if exe is None:
        raise FileNotFoundError("Orthanc")
    data = orthanc_data() if data is None else data
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {}

    def make(port: int) -> ServerProcess:
        http_port = free_port()
        config.clear()
        config.update({
            "Name": "fastfind-tests", "StorageDirectory": str(workdir / "storage"),
            "IndexDirectory": str(workdir / "index"), "Plugins": [],
            "DicomServerEnabled": True, "DicomAet": aet, "DicomPort": port,
            "HttpServerEnabled": True, "HttpPort": http_port,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
            "DicomCheckCalledAet": False, "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowEcho": True, "DicomModalities": {}, "OrthancPeers": {},
            "LimitFindResults": 0, "LimitFindInstances": 0, "SaveJobs": False,
            "StorageCompression": False, "DefaultEncoding": "Latin1",
        })
        config.update(overrides)
        cfg = workdir / "orthanc.json"
        cfg.write_text(json.dumps(config, indent=1))
        return ServerProcess([exe, str(cfg)], workdir / "orthanc.log", cwd=workdir)

    def ready(port: int) -> bool:
        return _http_ready(f"http://{HOST}:{config['HttpPort']}/system") and port_open(HOST, port)

    proc, port = start_on_free_port(make, ready)
    server = OrthancServer(HOST, port, config["HttpPort"], aet, data, dict(config), workdir, proc)
    try:
        for ds in data.instances:
            server.rest("/instances", dicom_bytes(ds, ds.SOPClassUID, ds.SOPInstanceUID))
        stats = server.rest("/statistics")
        if stats["CountInstances"] != len(data.instances):
            raise ServerStartError(f"Orthanc stored {stats['CountInstances']} instances")
    except BaseException:
        proc.stop()
        raise
    return server


# --------------------------------------------------------------------------- pynetdicom scripted SCP


@dataclass
class FindScript:
    """What the scripted SCP does with one C-FIND request (PS3.4 C.4.1, PS3.7 9.1.2).

    Sends each of ``matches`` with ``pending_status`` (after ``delay`` s each), then
    ``final_status`` (with ``error_comment`` if given). A C-CANCEL is honoured before the next
    response (final FE00) when ``honour_cancel``. ``abort_after=k`` sends A-ABORT after k pending
    responses instead of continuing."""

    matches: Sequence[Dataset] = ()
    pending_status: int = 0xFF00
    final_status: int = 0x0000
    error_comment: str | None = None
    abort_after: int | None = None
    delay: float = 0.0
    honour_cancel: bool = True


@dataclass
class ReceivedFind:
    """One C-FIND-RQ as the SCP saw it."""

    message_id: int
    affected_sop_class: str
    priority: int
    context_id: int
    transfer_syntax: str
    identifier: Dataset | None
    identifier_raw: bytes  # as on the wire (deflated for 1.2.840.10008.1.2.1.99)
    identifier_bytes: bytes  # inflated
    cancelled: bool = False
    responses_sent: int = 0  # pending + final responses sent so far
    aborted: bool = False


@dataclass
class ReceivedAssociation:
    """One A-ASSOCIATE-RQ as the SCP saw it, and what happened on the association."""

    calling_aet: str
    called_aet: str
    max_pdu: int
    implementation_class_uid: str
    implementation_version_name: str | None
    contexts: list[tuple[int, str, list[str]]]  # (context ID, abstract syntax, transfer syntaxes)
    accepted: bool
    finds: list[ReceivedFind] = field(default_factory=list)
    cancels: list[int] = field(default_factory=list)  # MessageIDBeingRespondedTo per C-CANCEL-RQ
    message_ids: list[int] = field(default_factory=list)  # every request's MessageID
    ended: str | None = None  # "released" | "aborted" | None while still open


def _inflate(data: bytes) -> bytes:
    """Raw-deflate ``data`` inflated (PS3.5 A.5); ``data`` itself if it is not valid deflate."""
    try:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        return d.decompress(data) + d.flush()
    except zlib.error:
        return data


class ScriptedSCP:
    """An in-process pynetdicom C-FIND SCP (port 0) whose answers follow a FindScript.

    ``script`` is a FindScript for every request, or ``callable(n, identifier) -> FindScript``
    for the n-th request (0-based). ``associations`` records what was received."""

    def __init__(self, script: FindScript | Callable[[int, Dataset | None], FindScript],
                 aet: str = "PYSCP", require_called_aet: bool = False,
                 transfer_syntaxes: Sequence[str] = ALL_TRANSFER_SYNTAXES,
                 models: Sequence[str] = FIND_MODELS, max_pdu: int = 16384,
                 dimse_timeout: float = 30.0,
                 extended: Callable[[dict[str, bytes]], dict[str, bytes]] | None = None):
        from pynetdicom import AE, evt

        self.script = script
        self.aet = aet
        self.associations: list[ReceivedAssociation] = []
        self._by_assoc: dict[int, ReceivedAssociation] = {}
        self._requests = 0
        self._lock = threading.Lock()
        ae = AE(ae_title=aet)
        ae.require_called_aet = require_called_aet
        ae.maximum_pdu_size = max_pdu
        # pynetdicom rejects (transient, local limit) past 10 concurrent associations by default;
        # association limits are the batch SCP's job, not this one's
        ae.maximum_associations = 64
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = dimse_timeout
        for model in models:
            ae.add_supported_context(model, list(transfer_syntaxes))
        handlers = [
            (evt.EVT_ACCEPTED, self._on_assoc, [True]), (evt.EVT_REJECTED, self._on_assoc, [False]),
            (evt.EVT_RELEASED, self._on_end, ["released"]),
            (evt.EVT_ABORTED, self._on_end, ["aborted"]),
            (evt.EVT_DIMSE_RECV, self._on_dimse), (evt.EVT_C_FIND, self._on_find),
        ]
        #: every SOP Class Extended Negotiation request seen: {abstract syntax: bytes}
        self.extended_requests: list[dict[str, bytes]] = []
        if extended is not None:
            def on_extended(event: Any) -> dict[str, bytes]:
                asked = {str(k): bytes(v) for k, v in event.app_info.items()}
                if asked:
                    self.extended_requests.append(asked)
                return extended(asked)

            handlers.append((evt.EVT_SOP_EXTENDED, on_extended))
        self.ae = ae
        self.server = ae.start_server((HOST, 0), block=False, evt_handlers=handlers)
        self.host = HOST
        self.port: int = int(self.server.server_address[1])

    # -- recording
    def _record(self, assoc: Any) -> ReceivedAssociation:
        return self._by_assoc[id(assoc)]

    def _on_assoc(self, event: Any, accepted: bool) -> None:
        rq = event.assoc.requestor
        contexts = [(int(cx.context_id), str(cx.abstract_syntax), [str(t) for t in cx.transfer_syntax])
                    for cx in rq.requested_contexts]
        rec = ReceivedAssociation(
            calling_aet=str(rq.primitive.calling_ae_title), called_aet=str(rq.primitive.called_ae_title),
            max_pdu=int(rq.maximum_length), implementation_class_uid=str(rq.implementation_class_uid),
            implementation_version_name=(str(rq.implementation_version_name)
                                         if rq.implementation_version_name else None),
            contexts=contexts, accepted=accepted)
        with self._lock:
            self.associations.append(rec)
            self._by_assoc[id(event.assoc)] = rec

    def _on_end(self, event: Any, how: str) -> None:
        rec = self._by_assoc.get(id(event.assoc))
        if rec is not None and rec.ended is None:
            rec.ended = how

    def _on_dimse(self, event: Any) -> None:
        rec = self._by_assoc.get(id(event.assoc))
        cmd = event.message.command_set
        if rec is None:
            return
        if cmd.CommandField == 0x0FFF:
            rec.cancels.append(int(cmd.MessageIDBeingRespondedTo))
        elif "MessageID" in cmd:
            rec.message_ids.append(int(cmd.MessageID))

    # -- C-FIND
    def _on_find(self, event: Any) -> Iterable[tuple[Any, Dataset | None]]:
        rec = self._record(event.assoc)
        req = event.request
        cx = event.context
        ts = str(cx.transfer_syntax)
        raw = req.Identifier.getvalue() if req.Identifier is not None else b""
        try:
            identifier: Dataset | None = event.identifier
            for _ in identifier:  # decode now, so a bad identifier is caught here
                pass
        except Exception:
            identifier = None
        found = ReceivedFind(int(req.MessageID), str(req.AffectedSOPClassUID), int(req.Priority),
                             int(cx.context_id), ts, identifier, raw,
                             _inflate(raw) if ts == DEFLATED_LE else raw)
        rec.finds.append(found)
        with self._lock:
            n = self._requests
            self._requests += 1
        script = self.script if isinstance(self.script, FindScript) else self.script(n, identifier)

        def cancelled() -> bool:
            if event.is_cancelled or req.MessageID in rec.cancels:
                found.cancelled = True
            return found.cancelled and script.honour_cancel

        for ds in script.matches:
            if script.abort_after is not None and found.responses_sent >= script.abort_after:
                break
            if script.delay:
                time.sleep(script.delay)
            if cancelled():
                found.responses_sent += 1
                yield 0xFE00, None
                return
            found.responses_sent += 1
            yield script.pending_status, ds
        if script.abort_after is not None:
            found.aborted = True
            event.assoc.abort()
            return
        if script.delay:
            time.sleep(script.delay)
        cancelled()  # record a late C-CANCEL even though the final answer no longer changes
        status: Any = script.final_status
        if script.error_comment is not None:
            status = Dataset()
            status.Status = script.final_status
            status.ErrorComment = script.error_comment
        found.responses_sent += 1
        yield status, None

    @property
    def finds(self) -> list[ReceivedFind]:
        """Every C-FIND-RQ received, over all associations, in arrival order."""
        return [f for a in list(self.associations) for f in a.finds]

    def wait_ended(self, count: int = 1, deadline: float = 10.0) -> bool:
        """Wait until ``count`` associations have been released or aborted."""
        return wait_until(lambda: sum(a.ended is not None or not a.accepted
                                      for a in self.associations) >= count, deadline)

    def stop(self) -> None:
        self.server.shutdown()

    def __enter__(self) -> ScriptedSCP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def match_datasets(count: int, charset: str | None = None) -> list[Dataset]:
    """``count`` deterministic Study Root study-level answers."""
    out = []
    for i in range(count):
        ds = Dataset()
        if charset:
            ds.SpecificCharacterSet = charset
        ds.QueryRetrieveLevel = "STUDY"
        ds.PatientName = f"PATIENT^{i:04d}"
        ds.PatientID = f"P{i:04d}"
        ds.StudyInstanceUID = uid("match", i)
        out.append(ds)
    return out


# --------------------------------------------------------------------------- the two clients


def run_findscu(args: Sequence[str], cwd: Path | None = None, timeout: float = 60.0
                ) -> subprocess.CompletedProcess[str]:
    """Run DCMTK ``findscu *args``. Output is decoded as Latin-1, so bytes round-trip exactly."""
    exe = which("findscu")
    if exe is None:
        raise FileNotFoundError("findscu")
    return subprocess.run([exe, *map(str, args)], cwd=cwd, capture_output=True,
                          encoding="latin-1", timeout=timeout, stdin=subprocess.DEVNULL)


def run_fastfind(args: Sequence[str], cwd: Path | None = None, timeout: float = 60.0
                 ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fastfind *args`` from this checkout (same decoding as run_findscu)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "fastfind", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, encoding="latin-1", timeout=timeout,
                          stdin=subprocess.DEVNULL)


_RESPONSE = re.compile(r"^I: (?:Find Response: |Received Find Response )(\d+) \(([^)]*)\)", re.M)
_FINAL = re.compile(r"^I: Received Final Find Response(?: \d+)? \(([^)]*)\)", re.M)


def parse_responses(stderr: str) -> tuple[int, str | None]:
    """(number of pending responses, final status text or None) from findscu ``-v`` output."""
    pending = sum(1 for m in _RESPONSE.finditer(stderr) if m.group(2).startswith("Pending"))
    final = _FINAL.findall(stderr)
    return pending, (final[-1] if final else None)


# Masks for what legitimately differs between findscu and fastfind runs.
_MASKS: list[tuple[re.Pattern[str], str]] = [
    # Version banner: "$dcmtk: findscu v3.6.7 2022-04-22 $" (also under a "D: " prefix).
    (re.compile(r"\$\w+: [\w.-]+ v[^$\n]*\$"), "$<VERSION>$"),
    (re.compile(r"(Implementation Class UID:[ \t]*)\S*"), r"\1<UID>"),
    (re.compile(r"(Implementation Version Name:[ \t]*)\S*"), r"\1<NAME>"),
    (re.compile(r"\bOFFIS_DCMTK_\d+\b|\bFASTFIND_\w+\b"), "<NAME>"),
    (re.compile(r"\b1\.2\.276\.0\.7230010\.3\.0\.\d+\.\d+\.\d+\b"), "<UID>"),
    # UIDs generated while writing files: DCMTK's instance UID root, and any UID in brackets
    # after "generated SOPInstanceUID" (DCMTK's -d message for a new meta header).
    (re.compile(r"\b1\.2\.276\.0\.7230010\.3\.1\.[2-4](?:\.\d+)+"), "<UID>"),
    (re.compile(r"(generated SOPInstanceUID \[)[^\]]*"), r"\1<UID>"),
    # Meta header elements that are generated afresh (dumps of written files).
    (re.compile(r"^(\w: )?(\((?:0002,0003|0002,0012|0002,0013)\) \w\w )(\[[^\]]*\]|=\S+|<UID>)"
                r"(\s+#\s*\d+)?", re.M), r"\1\2<GENERATED>"),
    (re.compile(r"^(\w: )?(\(0002,0000\) UL )\d+(\s+#\s*\d+)?", re.M), r"\1\2<LEN>"),
    # PDU hex dumps (-d) embed the implementation identity.
    (re.compile(r"^(\w: )?[ \t]{2,}(?:[0-9a-f]{2}[ \t]+)*[0-9a-f]{2}[ \t]*$", re.M), r"\1<HEX>"),
    (re.compile(r"^((?:\w: )?<HEX>\n)(?:(?:\w: )?<HEX>\n)+", re.M), r"\1"),  # one per dump
    (re.compile(r"(PDU Length: )\d+( \+ \d+ bytes)"), r"\1<LEN>\2"),
    # Fractional durations and timestamps (configured timeouts in whole seconds stay).
    (re.compile(r"\b\d+\.\d+\s?(?:ms|s|sec|seconds)\b"), "<TIME>"),
    (re.compile(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "<TIMESTAMP>"),
    (re.compile(r"(?:/tmp|/var/tmp)/[^\s'\"]*"), "<TMP>"),
]


def normalise_stderr(text: str, ports: Iterable[int] = (), paths: Iterable[str | Path] = (),
                     ) -> str:
    """``text`` with version strings, implementation UIDs/names, generated UIDs, hex PDU dumps
    and PDU lengths, durations, temp paths and the given ``ports``/``paths`` masked.

    ``paths`` are replaced first (by ``<PATH>``), so pass the output directories to keep the
    file names after them comparable."""
    text = text.replace("\r\n", "\n")
    for p in sorted((str(p) for p in paths), key=len, reverse=True):
        text = text.replace(p, "<PATH>")
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    for port in ports:
        text = re.sub(rf"(?<![\d.]){int(port)}(?![\d.])", "<PORT>", text)
    return text


IGNORED_META = ("MediaStorageSOPInstanceUID", "ImplementationClassUID",
                "ImplementationVersionName", "FileMetaInformationGroupLength")


def _element_diffs(a: Dataset, b: Dataset, where: str) -> list[str]:
    out = []
    tags_a, tags_b = set(a.keys()), set(b.keys())
    for tag in sorted(tags_a ^ tags_b):
        out.append(f"{where}{tag}: only in {'first' if tag in tags_a else 'second'}")
    for tag in sorted(tags_a & tags_b):
        ra, rb = a.get_item(tag), b.get_item(tag)  # raw elements while still undecoded
        ea, eb = a[tag], b[tag]
        if ea.VR != eb.VR:
            out.append(f"{where}{tag}: VR {ea.VR} != {eb.VR}")
        elif ea.VR == "SQ":
            if len(ea.value) != len(eb.value):
                out.append(f"{where}{tag}: {len(ea.value)} items != {len(eb.value)} items")
                continue
            for n, (ia, ib) in enumerate(zip(ea.value, eb.value, strict=True)):
                out.extend(_element_diffs(ia, ib, f"{where}{tag}[{n}]."))
        elif isinstance(ra, RawDataElement) and isinstance(rb, RawDataElement):
            if ra.value != rb.value:
                out.append(f"{where}{tag}: {ra.value!r} != {rb.value!r}")
        elif ea.value != eb.value:
            out.append(f"{where}{tag}: {ea.value!r} != {eb.value!r}")
    return out


def _meta_without(ds: Dataset) -> Dataset:
    meta = Dataset()
    for elem in ds.file_meta:
        if elem.keyword not in IGNORED_META:
            meta.add(elem)
    return meta


def compare_dicom_files(a: Path | str, b: Path | str, exact_dataset: bool = False) -> list[str]:
    """Differences between two DICOM files (e.g. findscu's and fastfind's rspNNNN.dcm).

    Compares the preamble, the meta header minus IGNORED_META, and the data sets element by
    element (VR and value, recursing into sequences). ``exact_dataset`` also requires the data
    set bytes after the meta header to be identical. Empty list = equivalent."""
    ra, rb = Path(a).read_bytes(), Path(b).read_bytes()
    out = []
    if ra[:132] != rb[:132]:
        out.append("preamble/DICM prefix differs")
    da, db = dcmread(a), dcmread(b)
    out.extend(_element_diffs(_meta_without(da), _meta_without(db), "meta "))
    out.extend(_element_diffs(da, db, ""))
    if exact_dataset:
        off_a = 132 + 12 + int(da.file_meta.FileMetaInformationGroupLength)
        off_b = 132 + 12 + int(db.file_meta.FileMetaInformationGroupLength)
        if ra[off_a:] != rb[off_b:]:
            out.append("data set bytes differ")
    return out


def rsp_files(directory: Path, suffix: str = ".dcm") -> list[Path]:
    """``rspNNNN<suffix>`` files in ``directory`` ordered by their number."""
    files = [p for p in Path(directory).glob(f"rsp*{suffix}") if p.stem[3:].isdigit()]
    return sorted(files, key=lambda p: int(p.stem[3:]))
