"""One contract, run over every output sink (fastfind.output): what "nothing lost" means for each.

For every sink (-X, -Xx, -Xs, JSON, NDJSON, CSV, Parquet):
- an empty run gives a valid output (an empty JSON array, a CSV header, an XML document, ...);
- a planted symlink at the output name is replaced, never followed;
- nothing partial is visible before close(), and discard() leaves no partial file;
- ENOSPC and EACCES become OutputError (never an OSError or a traceback), through the CLI with
  exit 40 and the ``matches=N written=M failed=[...]`` summary;
- every sink sees the run's limits: an identifier accepted with --max-nesting 100 is written by
  every output, one refused is written by none (the reviewer's defect (a)).
Plus the regressions for the other three defects of review-architecture.md §2.8: -Xs follows no
symlink (b), cli.main() runs twice in one process (c), leaving client.find() early keeps the
association usable (d).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from fastfind import FindClient, OutputError, codec
from fastfind.client import FindResponse
from fastfind.dataset import encode_identifier
from fastfind.errors import CodecError
from fastfind.options import Limits
from fastfind.output.csv_table import CsvSink
from fastfind.output.dcmtk_xml import DcmtkXmlFilesSink, DcmtkXmlSink
from fastfind.output.dicom_json import JsonSink
from fastfind.output.part10 import Part10Sink
from fastfind.output.sinks import SinkSet

import hostile as h
from servers import FindScript, match_datasets

REPO = Path(__file__).resolve().parents[1]
FIELDS = ["PatientName", "PatientID", "StudyInstanceUID"]

try:
    import pyarrow  # noqa: F401

    import fastfind.output.parquet  # noqa: F401

    HAVE_ARROW = True
except ImportError:
    HAVE_ARROW = False


def match(i: int) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.QueryRetrieveLevel = "STUDY"
    ds.PatientName = f"Müller^Anna{i}"
    ds.PatientID = f"P{i:05d}"
    ds.StudyInstanceUID = f"1.2.826.0.1.3680043.8.498.{i + 1}"
    return ds


def response(n: int, ds: Dataset, ts: codec.TransferSyntax = codec.EXPLICIT_LE,
             limits: Limits | None = None) -> FindResponse:
    """A pending FindResponse as FindOperation delivers it: validated with ``limits``."""
    cmd = {0x0100: 0x8020, 0x0120: 1, 0x0800: 0, 0x0900: 0xFF00}
    rsp = FindResponse(n, cmd, encode_identifier(ds, ts), ts, 1, limits or Limits())
    rsp.validate()
    return rsp


# ---- the sinks, and how to read back what each wrote ---------------------------------------------
class Kind:
    """A sink factory plus the reader that checks its output is complete."""

    def __init__(self, name: str, make: Callable[[Path], Any], paths: Callable[[Path], list[Path]],
                 read: Callable[[Path], list[str]], single_file: bool = True):
        self.name = name
        self.make = make
        self.paths = paths  # the file(s) the sink creates under directory d
        self.read = read  # PatientIDs found in the output (raises if it is not a valid file)
        self.single_file = single_file


def _read_rsp_dcm(d: Path) -> list[str]:
    return [str(dcmread(p).PatientID) for p in sorted(d.glob("rsp*.dcm"))]


def _read_rsp_xml(d: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    out = []
    for p in sorted(d.glob("rsp*.xml")):
        root = ET.parse(p).getroot()
        out += [e.text or "" for e in root.iter("element") if e.get("tag") == "0010,0020"]
    return out


def _read_xs(d: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    root = ET.parse(d / "all.xml").getroot()
    assert root.tag == "responses"
    return [e.text or "" for e in root.iter("element") if e.get("tag") == "0010,0020"]


def _read_json(d: Path) -> list[str]:
    items = json.loads((d / "all.json").read_text(encoding="utf-8"))
    return [item["00100020"]["Value"][0] for item in items]


def _read_ndjson(d: Path) -> list[str]:
    text = (d / "all.ndjson").read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line)["00100020"]["Value"][0] for line in text.splitlines()]


def _read_csv(d: Path) -> list[str]:
    import csv

    with open(d / "all.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == FIELDS
    return [r[1] for r in rows[1:]]


def _read_parquet(d: Path) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(d / "all.parquet")
    assert table.column_names[-len(FIELDS):] == FIELDS
    return [str(v) for v in table.column("PatientID").to_pylist()]


def _parquet_sink(d: Path) -> Any:
    from fastfind.output.parquet import ParquetSink

    return ParquetSink(str(d / "all.parquet"), FIELDS)


KINDS = [
    Kind("part10", lambda d: Part10Sink(str(d)), lambda d: sorted(d.glob("rsp*.dcm")), _read_rsp_dcm, False),
    Kind("xml-files", lambda d: DcmtkXmlFilesSink(str(d)), lambda d: sorted(d.glob("rsp*.xml")),
         _read_rsp_xml, False),
    Kind("xml-single", lambda d: DcmtkXmlSink(str(d / "all.xml")), lambda d: [d / "all.xml"], _read_xs),
    Kind("json", lambda d: JsonSink(str(d / "all.json")), lambda d: [d / "all.json"], _read_json),
    Kind("ndjson", lambda d: JsonSink(str(d / "all.ndjson"), ndjson=True), lambda d: [d / "all.ndjson"],
         _read_ndjson),
    Kind("csv", lambda d: CsvSink(str(d / "all.csv"), FIELDS), lambda d: [d / "all.csv"], _read_csv),
]
if HAVE_ARROW:
    KINDS.append(Kind("parquet", _parquet_sink, lambda d: [d / "all.parquet"], _read_parquet))
IDS = [k.name for k in KINDS]


@pytest.fixture(params=KINDS, ids=IDS)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param


def visible(d: Path) -> list[str]:
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


def hidden(d: Path) -> list[str]:
    return sorted(n for n in os.listdir(d) if n.startswith("."))


# ---- the contract ---------------------------------------------------------------------------------
def test_writes_every_response(kind: Kind, tmp_path: Path) -> None:
    with kind.make(tmp_path) as sink:
        for n in range(1, 6):
            sink.add(response(n, match(n)))
    assert kind.read(tmp_path) == [f"P{n:05d}" for n in range(1, 6)]
    assert not hidden(tmp_path)


def test_empty_run_gives_a_valid_output(kind: Kind, tmp_path: Path) -> None:
    sink = kind.make(tmp_path)
    sink.close()
    assert kind.read(tmp_path) == []
    assert not hidden(tmp_path)
    if kind.single_file:
        assert kind.paths(tmp_path)[0].is_file()


def test_nothing_partial_before_close_and_nothing_after_discard(kind: Kind, tmp_path: Path) -> None:
    sink = kind.make(tmp_path)
    for n in range(1, 4):
        sink.add(response(n, match(n)))
    if kind.single_file:
        assert not kind.paths(tmp_path)[0].exists(), "a partial stream output is visible"
    sink.discard()
    if kind.single_file:
        assert visible(tmp_path) == [] and hidden(tmp_path) == []
    else:  # per-response files handed over are complete responses: kept, and complete
        assert kind.read(tmp_path) == [f"P{n:05d}" for n in range(1, len(kind.paths(tmp_path)) + 1)]
        assert not hidden(tmp_path)


def test_planted_symlink_is_replaced_not_followed(kind: Kind, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    d = tmp_path / "out"
    d.mkdir()
    target = kind.paths(d)[0] if kind.single_file else d / ("rsp0001.xml" if "xml" in kind.name else "rsp0001.dcm")
    target.symlink_to(victim)
    with kind.make(d) as sink:
        sink.add(response(1, match(1)))
    assert victim.read_bytes() == b"precious"
    assert not target.is_symlink() and target.is_file()
    assert kind.read(d) == ["P00001"]


def test_limits_are_the_runs(kind: Kind, tmp_path: Path) -> None:
    """An identifier nested 70 deep: refused with the default limit (no sink ever sees it),
    written by every sink when the run allows 100 levels (defect (a): -Xx/-Xs re-walked it with
    the defaults and aborted the association)."""
    deep = match(7)
    inner = deep
    for _ in range(70):
        item = Dataset()
        item.CodeValue = "X"
        inner.ContentSequence = Sequence([item])
        inner = item
    with pytest.raises(CodecError):
        response(1, deep)
    with kind.make(tmp_path) as sink:
        sink.add(response(1, deep, limits=Limits(max_nesting=100)))
    assert kind.read(tmp_path) == ["P00007"]


def _device_full(kind: Kind, d: Path) -> None:
    """Point the sink's output at /dev/full: writes fail with ENOSPC."""
    if kind.single_file:
        kind.paths(d)[0].symlink_to("/dev/full")


@pytest.mark.parametrize("kind", [k for k in KINDS if k.single_file], ids=[k.name for k in KINDS if k.single_file])
def test_enospc_is_an_output_error(kind: Kind, tmp_path: Path) -> None:
    """A stream output on a device that is full (written directly: it is not a regular file)."""
    _device_full(kind, tmp_path)
    with pytest.raises(OutputError, match="No space left"):
        sink = kind.make(tmp_path)
        for n in range(1, 2000):
            sink.add(response(n, match(n)))
        sink.close()
    assert os.path.islink(kind.paths(tmp_path)[0]), "the device link was replaced"


def test_eacces_is_an_output_error(kind: Kind, tmp_path: Path) -> None:
    """An output directory we may not write: OutputError, in a child without privileges."""
    base = Path(tempfile.mkdtemp(prefix="fastfind-eacces-", dir="/tmp"))  # traversable by anyone
    os.chmod(base, 0o755)
    d = base / "locked"
    d.mkdir()
    os.chmod(d, 0o555)
    code = (
        "import sys, os\n"
        f"sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'tests')!r}]\n"
        "import test_sinks as t\n"
        "from fastfind.errors import OutputError\n"
        f"kind = [k for k in t.KINDS if k.name == {kind.name!r}][0]\n"
        "rsp = t.response(1, t.match(1))\n"
        "import fastfind.output.files, fastfind._codec_files_py, encodings.idna  # before dropping privileges\n"
        "if os.getuid() == 0:\n"
        "    os.setgid(65534); os.setuid(65534)\n"
        "try:\n"
        f"    sink = kind.make(t.Path({str(d)!r}))\n"
        "    sink.add(rsp)\n"
        "    sink.close()\n"
        "except OutputError as exc:\n"
        "    print('OutputError', exc)\n"
    )
    try:
        got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert "Traceback" not in got.stderr, got.stderr
        assert got.stdout.startswith("OutputError"), (got.stdout, got.stderr)
        assert "ermission denied" in got.stdout or "not writeable" in got.stdout, got.stdout
        assert os.listdir(d) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_sinkset_reports_the_first_error_and_closes_the_others(tmp_path: Path) -> None:
    (tmp_path / "bad.json").symlink_to("/dev/full")
    good = JsonSink(str(tmp_path / "good.ndjson"), ndjson=True)
    sinks = SinkSet([good, JsonSink(str(tmp_path / "bad.json"))])
    with pytest.raises(OutputError):
        for n in range(1, 3000):
            sinks.add(response(n, match(n)))
        sinks.close()
    assert sinks.error is not None
    assert sinks.failed() and sinks.failed()[0] >= 1
    assert (tmp_path / "good.ndjson").is_file()  # the good output is still complete


# ---- the CLI: every output killed mid-run, ENOSPC with the summary ------------------------------
CLI_OUTPUTS = {
    "-X": (["-X"], lambda d: sorted(d.glob("rsp*.dcm"))),
    "-Xx": (["-Xx"], lambda d: sorted(d.glob("rsp*.xml"))),
    "-Xs": (["-Xs", "all.xml"], lambda d: [d / "all.xml"]),
    "json": (["--extract-json", "all.json"], lambda d: [d / "all.json"]),
    "ndjson": (["--extract-ndjson", "all.ndjson"], lambda d: [d / "all.ndjson"]),
    "csv": (["--extract-csv", "all.csv", "--csv-fields", "PatientID,TextValue"], lambda d: [d / "all.csv"]),
}
if HAVE_ARROW:
    CLI_OUTPUTS["parquet"] = (["--extract-parquet", "all.parquet", "--csv-fields", "PatientID,TextValue"],
                              lambda d: [d / "all.parquet"])


def _cli(od: Path, port: int, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "fastfind", "-sr", "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName",
            "-k", "PatientID", "-k", "StudyInstanceUID", "-od", str(od), *extra, "127.0.0.1", str(port)]


@pytest.mark.parametrize("name", list(CLI_OUTPUTS))
def test_killed_mid_run_leaves_nothing_partial(name: str, tmp_path: Path) -> None:
    """SIGKILL while responses stream in: whatever is visible is complete; stream outputs are
    either absent or complete, per-response files all parse."""
    extra, paths = CLI_OUTPUTS[name]
    od = tmp_path / "od"
    od.mkdir()
    script = [*h.associate(), ("recv_find",),
              *[x for i in range(40) for x in (h.pending(h.study(i)), ("sleep", 0.02))], ("sleep", 30)]
    with h.HostileSCP(script) as scp:
        proc = subprocess.Popen(_cli(od, scp.port, [*extra, "-td", "60"]), cwd=od,
                                env=dict(os.environ, PYTHONPATH=str(REPO)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20  # kill once responses are being written
        while time.monotonic() < deadline and proc.poll() is None:
            if name not in ("-X", "-Xx") or paths(od):
                break
            time.sleep(0.02)
        time.sleep(0.2 if name in ("-X", "-Xx") else 1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    files = paths(od)
    if name in ("-X", "-Xx"):
        assert files, "no file written before the kill"
        for p in files:
            if name == "-X":
                dcmread(p)
            else:
                import xml.etree.ElementTree as ET

                ET.parse(p)
    else:
        assert not files[0].exists(), f"{files[0].name} visible after SIGKILL"


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "tiny"
    target.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)],
                          capture_output=True, text=True, timeout=10)
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=10)


@pytest.mark.parametrize("name", list(CLI_OUTPUTS))
def test_enospc_through_the_cli_exits_40_with_the_summary(name: str, tmp_path: Path, tiny_tmpfs: Path) -> None:
    extra, paths = CLI_OUTPUTS[name]
    big = [h.study(i) | {"TextValue": os.urandom(3000).hex()} for i in range(40)]  # incompressible
    script = [*h.associate(), ("recv_find",), *[h.pending(ds) for ds in big], h.final(), *h.release()]
    with h.HostileSCP(script) as scp:
        got = subprocess.run(_cli(tiny_tmpfs, scp.port, extra), cwd=tiny_tmpfs, capture_output=True,
                             text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)),
                             stdin=subprocess.DEVNULL)
    assert got.returncode == 40, got.stderr
    assert "Traceback" not in got.stderr
    assert "No space left" in got.stderr, got.stderr
    assert "E: matches=" in got.stderr and "written=" in got.stderr, got.stderr
    assert not [n for n in os.listdir(tiny_tmpfs) if n.startswith(".") and n.endswith(".part")]


# ---- the reviewer's defects (b), (c), (d) ---------------------------------------------------------
def test_xs_does_not_follow_a_planted_symlink(tmp_path: Path, scripted_scp: Any) -> None:
    scp = scripted_scp(FindScript(matches=match_datasets(2)))
    od = tmp_path / "od"
    od.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (od / "all.xml").symlink_to(victim)
    got = subprocess.run(_cli(od, scp.port, ["-aec", scp.aet, "-Xs", "all.xml"]), capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert got.returncode == 0, got.stderr
    assert victim.read_bytes() == b"precious"
    assert stat.S_ISREG(os.lstat(od / "all.xml").st_mode)
    assert (od / "all.xml").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_main_runs_twice_in_one_process(tmp_path: Path) -> None:
    """cli.main() re-wrapped sys.stderr.buffer on every call and the old wrapper closed it."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = (
        "import sys\n"
        "from fastfind.cli import main\n"
        f"a = main(['-S', '-k', 'PatientName', '127.0.0.1', '{port}'])\n"
        f"b = main(['-S', '-k', 'PatientName', '127.0.0.1', '{port}'])\n"
        "sys.stderr.write(f'codes {a} {b}\\n')\n"
    )
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert got.returncode == 0, got.stderr
    assert got.stderr.count("E: Association Request Failed") == 2, got.stderr
    assert got.stderr.rstrip().endswith("codes 2 2"), got.stderr


def test_leaving_find_early_keeps_the_association_usable(scripted_scp: Any) -> None:
    """Defect (d): the next query failed with "Unexpected Response MsgId" and aborted."""
    scp = scripted_scp(FindScript(matches=match_datasets(50), delay=0.01))
    query = {"QueryRetrieveLevel": "STUDY", "PatientName": "*", "StudyInstanceUID": None}
    with FindClient(scp.host, scp.port, model="study", called_ae=scp.aet) as client:
        for i, _rsp in enumerate(client.find(query)):
            if i == 2:
                break
        second = list(client.find(query))
    assert len(second) == 50
    assoc = scp.associations[0]
    assert assoc.cancels == [1], "the abandoned query was not cancelled"
    assert assoc.message_ids == [1, 2]
    assert scp.wait_ended() and assoc.ended == "released"
