"""Differential tests: fastfind vs DCMTK findscu 3.6.7, same arguments, same real server.

Each case runs both clients against the same peer (wlmscpfs, dcmqrscp, Orthanc, or a scripted
pynetdicom SCP) in two scratch directories and compares the exit code, the normalised stderr and
every output file (``rspNNNN.dcm`` as data sets plus meta header, ``.xml`` byte for byte).
Where fastfind deliberately exits non-zero although DCMTK exits 0 (hostile-scp.md §6.3), the
parity run adds ``--dcmtk-exit-codes`` and a second assertion pins fastfind's own code.

Every vector also runs at ``-d`` and at ``-ll trace``, and stderr is compared whole (after the
normalisation of versions, implementation UIDs/names, generated UIDs, hex PDU dumps, lengths,
durations and paths in :func:`servers.normalise_stderr`). Two documented exceptions:

* the ``DcmDataDictionary: Loading file:`` lines of DCMTK's compiled-in dictionary files, when
  ``DCMDICTPATH`` is unset (fastfind's built-in dictionary is not read from files; with
  ``DCMDICTPATH`` set, fastfind prints them as DCMTK does);
* ``T:`` lines: DCMTK's trace level follows its own objects (``DcmItem::insert()``,
  ``searchSubFromHere()``, the DUL state table, each PDU header read), which fastfind does not
  have; every other line at trace level is compared.
"""

from __future__ import annotations

import difflib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydicom import Dataset

import servers
from conftest import require_binaries
from servers import FindScript, ScriptedSCP, compare_dicom_files, match_datasets

pytestmark = pytest.mark.interop

WL = ["-k", "PatientName", "-k", "PatientID", "-k", "ScheduledProcedureStepSequence[0].Modality"]
STUDY = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName", "-k", "StudyInstanceUID"]
NEW_VR_KEYS = ["-k", "StrainDescription", "-k", "ReasonForVisit", "-k", "URNCodeValue",
               "-k", "TextValue=some text"]


@dataclass
class Case:
    name: str
    peer: str  # fixture-ish name resolved by `peer` below
    args: list[str]
    own_exit: int | None = None  # fastfind's exit code when it differs from DCMTK's on purpose
    compare_stderr: bool = True
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (name, content) in cwd
    env: dict[str, str] = field(default_factory=dict)  # extra environment for both clients
    same_query: bool = False  # the scripted SCP got the same identifier bytes from both


def _wl_query_file() -> bytes:
    from io import BytesIO

    from pydicom import Dataset
    from pydicom.sequence import Sequence

    ds = Dataset()
    ds.PatientName = ""
    ds.PatientID = ""
    item = Dataset()
    item.Modality = "MR"
    item.ScheduledStationAETitle = ""
    ds.ScheduledProcedureStepSequence = Sequence([item])
    out = BytesIO()
    ds.save_as(out, implicit_vr=False, little_endian=True)
    return out.getvalue()


CASES = [
    # ---- worklist (wlmscpfs) ------------------------------------------------------------------
    Case("wl-default", "wl", WL),
    Case("wl-verbose", "wl", ["-v", *WL]),
    Case("wl-quiet", "wl", ["-q", *WL]),
    Case("wl-ll-info", "wl", ["-ll", "info", *WL]),
    Case("wl-ll-error", "wl", ["-ll", "error", *WL]),
    Case("wl-debug", "wl", ["-d", *WL]),
    Case("wl-seq-match", "wl", ["-v", "-k", "PatientName", "-k", "ScheduledProcedureStepSequence[0].Modality=CT"]),
    Case("wl-tag-forms", "wl", ["-v", "-k", "(0010,0010)", "-k", "0010,0020", "-k", "(0040,0100)[0].(0008,0060)=MR"]),
    Case("wl-wildcard", "wl", ["-v", "-k", "PatientName=P*", "-k", "PatientID"]),
    Case("wl-extract", "wl", ["-X", "-od", "out", *WL]),
    Case("wl-extract-verbose", "wl", ["-v", "-X", "-od", "out", *WL]),
    Case("wl-extract-sr", "wl", ["+sr", "-X", "-od", "out", *WL]),
    Case("wl-extract-limit", "wl", ["-v", "-X", "-Xlo", "3", "-od", "out", *WL]),
    Case("wl-extract-xml", "wl", ["-Xx", "-od", "out", *WL]),
    Case("wl-extract-xml-single", "wl", ["-v", "-Xs", "all.xml", "-od", "out", *WL]),
    Case("wl-sr-off", "wl", ["-sr", "-v", *WL]),
    Case("wl-repeat", "wl", ["-v", "--repeat", "2", "-X", "-od", "out", *WL]),
    Case("wl-abort", "wl", ["-v", "--abort", *WL]),
    Case("wl-implicit", "wl", ["-xi", "-X", "-od", "out", *WL]),
    Case("wl-big", "wl", ["-xb", "-v", "-X", "-od", "out", *WL]),
    Case("wl-explicit", "wl", ["-xe", "-v", *WL]),
    Case("wl-deflate-proposal", "wl", ["-xd", "+cl", "9", "-v", "-X", "-od", "out", *WL]),
    Case("wl-aet-pdu", "wl", ["-v", "-aet", "MYAET", "-pdu", "4096", *WL]),
    Case("wl-timeouts", "wl", ["-v", "-to", "5", "-ts", "5", "-ta", "5", "-td", "5", *WL]),
    Case("wl-arguments", "wl", ["--arguments", "-v", *WL]),
    Case("wl-query-file", "wl", ["-v", "-X", "-od", "out", "q1.dcm"], files=[("q1.dcm", b"")]),
    Case("wl-two-files-gaps", "wl", ["-v", "-X", "-od", "out", "--repeat", "2", "q1.dcm", "q1.dcm", "-k", "PatientID"],
         files=[("q1.dcm", b"")]),
    Case("wl-command-file", "wl", ["@cmd.txt"], files=[("cmd.txt", b'-v -k PatientName -k "PatientID"\n')]),
    Case("wl-bad-key", "wl", ["-v", "-k", "NoSuchName=1"], own_exit=1),
    Case("wl-bad-file", "wl", ["-v", "bad.dcm"], files=[("bad.dcm", b"this is not DICOM at all")], own_exit=1),
    Case("wl-unknown-called-ae", "wl", ["-v", "-aec", "NOSUCHAE", *WL]),
    # ---- Q/R (dcmqrscp) ----------------------------------------------------------------------
    Case("qr-patient", "qr", ["-v", "-P", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientName", "-k", "PatientID"]),
    Case("qr-study", "qr", ["-v", *STUDY, "-X", "-od", "out"]),
    Case("qr-series", "qr", ["-v", "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", "SeriesInstanceUID", "-k", "Modality",
                             "-k", "StudyInstanceUID=" + servers.uid("qr", 0, 0)]),
    Case("qr-implicit-extract", "qr", ["-xi", "-X", "-od", "out", *STUDY]),
    Case("qr-no-context", "qr", ["-v", "-W", *WL]),
    # ---- Orthanc -------------------------------------------------------------------------------
    Case("orthanc-study", "orthanc", ["-v", *STUDY, "-k", "StudyDate", "-X", "-od", "out"]),
    Case("orthanc-cap", "orthanc-capped", ["-v", *STUDY], own_exit=68),
    # ---- scripted pynetdicom SCP -------------------------------------------------------------
    Case("scp-failure-status", "scp-a700", ["-v", *STUDY], own_exit=69),
    Case("scp-failure-default-level", "scp-a700", STUDY, own_exit=69),
    Case("scp-pending-warning", "scp-ff01", ["-v", *STUDY]),
    Case("scp-cancel", "scp-slow", ["-v", "--cancel", "3", *STUDY, "-X", "-od", "out"]),
    Case("scp-cancel-repeat", "scp-slow", ["-v", "--cancel", "3", "--repeat", "2", *STUDY]),
    Case("scp-peer-abort", "scp-abort", ["-v", *STUDY, "-X", "-od", "out"], own_exit=71),
    Case("scp-latin1-dump", "scp-latin1", STUDY),
    Case("scp-deflate-extract", "scp", ["-xd", "-v", "-X", "-od", "out", *STUDY]),
    Case("scp-rejected", "scp-reject", ["-v", *STUDY]),
    Case("scp-xml-latin1", "scp-latin1", ["-Xx", "-od", "out", *STUDY]),
    # ---- issue 9: unknown keys (??), the dictionary, status detail, -u ----------------------
    Case("scp-unknown-keys", "scp", ["-v", *STUDY, "-k", "(0009,1001)=AB", "-k", "(0011,1010)",
                                     "-k", "(0019,0010)=X", "-k", "PatientID=ABC"]),
    Case("scp-unknown-keys-repeat", "scp", ["-v", "--repeat", "2", *STUDY, "-k", "(0011,1010)"]),
    Case("wl-no-dictionary", "wl", ["-v", "-k", "0010,0010", "-k", "(0011,1010)"],
         env={"DCMDICTPATH": "/nonexistent"}, own_exit=1),
    Case("wl-dictionary-path", "wl", ["-v", *WL],
         env={"DCMDICTPATH": "/nonexistent:/usr/share/libdcmtk17/dicom.dic"}),
    Case("scp-failure-comment", "scp-c000", ["-v", *STUDY], own_exit=69),
    # -u: the post-1993 VRs written as OB in the query and in the rsp files, as DCMTK does
    Case("orthanc-uc-disable-new-vr", "orthanc-new-vrs", ["-u", "-v", *STUDY, *NEW_VR_KEYS, "-X", "-od", "out"]),
    Case("orthanc-uc-new-vr", "orthanc-new-vrs", ["-v", *STUDY, *NEW_VR_KEYS, "-X", "-od", "out"]),
    Case("scp-disable-new-vr", "scp-new-vrs", ["-u", "-v", *STUDY, *NEW_VR_KEYS, "-k", "(0011,1010)=AB",
                                               "-X", "-od", "out"], same_query=True),
    Case("scp-disable-new-vr-implicit", "scp-new-vrs", ["-u", "-xi", *STUDY, *NEW_VR_KEYS, "-X", "-od", "out"],
         same_query=True),
    Case("scp-disable-new-vr-big-endian", "scp-new-vrs", ["-u", "-xb", *STUDY, *NEW_VR_KEYS, "-X", "-od", "out"],
         same_query=True),
    Case("scp-disable-new-vr-deflate", "scp-new-vrs", ["-u", "-xd", *STUDY, *NEW_VR_KEYS, "-X", "-od", "out"],
         same_query=True),
    Case("scp-new-vr", "scp-new-vrs", ["-v", *STUDY, *NEW_VR_KEYS, "-X", "-od", "out"], same_query=True),
]
LEVELS = {"": [], "debug": ["-d"], "trace": ["-ll", "trace"]}
#: (vector, level) pairs whose output still differs, with the reason (strict: fixed = failure)
KNOWN_DIFFERENCES = {
    ("wl-extract-xml-single", "debug"): "-Xs: DCMTK's debug lines of its UTF-8 conversion "
    "(convertCharacterSet, one 'Converting' line per value) are not printed by dcmtk_xml.py",
    ("wl-extract-xml-single", "trace"): "same as at debug",
}


def _vector(case: Case, level: str) -> object:
    reason = KNOWN_DIFFERENCES.get((case.name, level))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, level, id=f"{case.name}{'-' + level if level else ''}", marks=marks)


def _has_level(case: Case) -> bool:
    """A vector that sets its own log level (in its arguments or command file) runs once."""
    in_files = [w for _, content in case.files for w in (content or b"").decode("latin-1").split()]
    return (any(w in ("-d", "-ll", "-q") for w in case.args)
            or any(w in ("-d", "-ll", "-q", "-v") for w in in_files))


VECTORS = [_vector(case, level) for case in CASES for level in LEVELS
           if not (level and _has_level(case))]


def _at_level(args: list[str], level: str) -> list[str]:
    """``args`` at ``level``: ``-v`` dropped (``-ll`` may not be combined with it; both levels
    print everything ``-v`` does)."""
    if not level:
        return args
    return [*LEVELS[level], *(a for a in args if a != "-v")]


@pytest.fixture(scope="module")
def peers(request: pytest.FixtureRequest):
    """Lazily start each kind of peer once for the module; returns ``get(name) -> (host, port, aet)``."""
    started: dict[str, tuple[str, int, str]] = {}
    scps: list[ScriptedSCP] = []

    by_name: dict[str, ScriptedSCP] = {}

    def scp(script: FindScript, **kw: object) -> tuple[str, int, str]:
        s = ScriptedSCP(script, **kw)  # type: ignore[arg-type]
        scps.append(s)
        return s.host, s.port, s.aet

    makers: dict[str, Callable[[], tuple[str, int, str]]] = {
        "scp": lambda: scp(FindScript(matches=match_datasets(4))),
        "scp-a700": lambda: scp(FindScript(matches=match_datasets(2), final_status=0xA700, error_comment="full")),
        "scp-c000": lambda: scp(FindScript(matches=match_datasets(1), final_status=0xC000,
                                           error_comment="unable to process")),
        "scp-ff01": lambda: scp(FindScript(matches=match_datasets(3), pending_status=0xFF01)),
        "scp-slow": lambda: scp(FindScript(matches=match_datasets(12), delay=0.05)),
        "scp-abort": lambda: scp(FindScript(matches=match_datasets(6), abort_after=2)),
        "scp-latin1": lambda: scp(FindScript(matches=_latin1_matches())),
        "scp-reject": lambda: scp(FindScript(), require_called_aet=True, aet="ONLYME"),
        "scp-new-vrs": lambda: scp(FindScript(matches=_new_vr_matches())),
    }

    def get(name: str) -> tuple[str, int, str]:
        if name not in started:
            if name == "wl":
                server = request.getfixturevalue("wlmscpfs")
                started[name] = (server.host, server.port, server.aet)
            elif name == "qr":
                server = request.getfixturevalue("dcmqrscp")
                started[name] = (server.host, server.port, server.aet)
            elif name == "orthanc-new-vrs":
                server = _orthanc_new_vrs(request)
                started[name] = (server.host, server.port, server.aet)
            elif name.startswith("orthanc"):
                factory = request.getfixturevalue("orthanc_factory")
                server = factory(studies=6, LimitFindResults=3) if name == "orthanc-capped" else factory(studies=6)
                started[name] = (server.host, server.port, server.aet)
            else:
                started[name] = makers[name]()
                by_name[name] = scps[-1]
        return started[name]

    get.scps = by_name  # type: ignore[attr-defined]
    yield get
    for s in scps:
        s.stop()


def _with_new_vrs(ds: Dataset, i: int) -> Dataset:
    """``ds`` plus elements of the post-1993 VRs ``-u`` rewrites (UC, UT, UR, UN, OF, OD, OL)."""
    ds.StrainDescription = f"strain {i} description"  # UC
    ds.ReasonForVisit = f"reason {i}"  # UT
    ds.URNCodeValue = f"urn:oid:1.2.{i}"  # UR
    return ds


def _new_vr_matches() -> list[Dataset]:
    out = [_with_new_vrs(ds, i) for i, ds in enumerate(match_datasets(3))]
    for i, ds in enumerate(out):
        ds.add_new(0x00091010, "UN", bytes([1, 2, 3, i]))  # private, no creator: UN
        ds.add_new(0x00660016, "OF", struct.pack("<2f", 1.5, -i))
        ds.add_new(0x00640009, "OD", struct.pack("<d", 0.25 * i))
        ds.add_new(0x00660040, "OL", struct.pack("<L", i))
    return out


def _orthanc_new_vrs(request: pytest.FixtureRequest) -> servers.OrthancServer:
    """An Orthanc whose instances carry UC, UT and UR elements (issue 9 item 12: ``-u``)."""
    require_binaries(servers.ORTHANC)
    tmp = request.getfixturevalue("tmp_path_factory").mktemp("orthanc-new-vrs")
    data = servers.qr_instances(3, 1, 1, 1, tag="orthuc")
    for i, ds in enumerate(data.instances):
        _with_new_vrs(ds, i)
    server = servers.start_orthanc(tmp, data=data)
    request.addfinalizer(server.process.stop)
    return server


def _latin1_matches():
    out = match_datasets(2, charset="ISO_IR 100")
    out[0].PatientName = "M\u00fcller^J\u00fcrgen"
    out[1].PatientName = "Gr\u00f6\u00df^\u00c5sa"
    return out


def _prepare(root: Path, case: Case) -> Path:
    root.mkdir()
    (root / "out").mkdir()
    for name, content in case.files:
        (root / name).write_bytes(content or _wl_query_file())
    return root


def _our_warnings_removed(text: str) -> str:
    """Drop fastfind's documented extra lines: overwrite warnings and the exit-code summary."""
    return re.sub(r"^(?:W: replaced existing file|E: fastfind: exit code|E: matches=\d+ ).*\n", "", text, flags=re.M)


_DEFAULT_DICTIONARY = re.compile(r"^D: DcmDataDictionary: Loading file: /usr/share/libdcmtk\d+/\S+\n", re.M)


def _comparable(text: str, case: Case) -> str:
    """The two documented exceptions of the whole-stderr comparison (module docstring)."""
    if "DCMDICTPATH" not in case.env:
        text = _DEFAULT_DICTIONARY.sub("", text)
    return re.sub(r"^T: .*\n", "", text, flags=re.M)


@pytest.mark.parametrize("case, level", VECTORS)
def test_same_as_findscu(case: Case, level: str, peers, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    require_binaries("findscu")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    host, port, aet = peers(case.peer)
    called = "SOMEONE" if case.peer == "scp-reject" else aet
    common = [host, str(port), "-aec", called, *_at_level(case.args, level)]
    dd = _prepare(tmp_path / "dcmtk", case)
    ff = _prepare(tmp_path / "fastfind", case)
    ref = servers.run_findscu(common, cwd=dd, timeout=60)
    extra = ["--dcmtk-exit-codes"] if case.own_exit is not None else []
    got = servers.run_fastfind([*extra, *common], cwd=ff, timeout=60)
    assert "Traceback" not in got.stderr, got.stderr
    assert got.returncode == ref.returncode, (got.stderr, ref.stderr)
    if case.compare_stderr:
        a = servers.normalise_stderr(_our_warnings_removed(got.stderr), ports=[port], paths=[ff])
        b = servers.normalise_stderr(ref.stderr, ports=[port], paths=[dd])
        a, b = (re.sub(r"^I: calling '[^']*'", "I: calling '<PROG>'", t, flags=re.M) for t in (a, b))
        a, b = _comparable(a, case), _comparable(b, case)
        assert a == b, "".join(difflib.unified_diff(b.splitlines(True), a.splitlines(True),
                                                    "findscu", "fastfind", n=2))
    if case.same_query:
        finds = peers.scps[case.peer].finds
        assert finds[-1].identifier_bytes == finds[-2].identifier_bytes, "the queries differ"
    ours = sorted(p.relative_to(ff) for p in ff.rglob("*") if p.is_file())
    theirs = sorted(p.relative_to(dd) for p in dd.rglob("*") if p.is_file())
    assert ours == theirs
    for rel in theirs:
        if rel.suffix == ".dcm" and rel.parent.name == "out":
            # DCMTK re-encodes sequences with undefined length when saving; fastfind keeps the bytes
            # as received, so the files are compared as data sets.
            assert compare_dicom_files(ff / rel, dd / rel) == []
        elif rel.suffix == ".xml":
            assert (ff / rel).read_bytes() == (dd / rel).read_bytes()
    if case.own_exit is not None:
        own = servers.run_fastfind(common, cwd=_prepare(tmp_path / "own", case), timeout=60)
        assert own.returncode == case.own_exit, own.stderr
        assert re.search(rf"^E: fastfind: exit code {case.own_exit}: ", own.stderr, re.M) or case.own_exit == 1
