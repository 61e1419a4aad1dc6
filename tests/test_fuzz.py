"""Fuzz smoke runs and regression tests for every fuzz finding (``fuzz/harnesses.py``).

(a) Each atheris harness runs in a subprocess (``python -m fuzz.run NAME --seconds S``) for
``FASTFIND_FUZZ_SECONDS`` seconds (default 10; CI may set 60). The five runs start together, so the
wall time is about S plus start-up. Exit 0 and no finding are required.

(b) Each finding of the fuzzers is a test with its exact input bytes: the raw fuzzer input
replayed through the harness, and a hand-minimised reproducer of the same behaviour. The four
identifier findings are pydicom exceptions on identifiers that fastfind's codec accepts; they are
listed in ``ALLOWED_VALUE_ERRORS`` (open issues, see its entries) and pinned here, so a fix that
changes them makes these tests fail and get updated.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastfind import codec  # noqa: E402
from fastfind.errors import CodecError  # noqa: E402
from fuzz import harnesses as h  # noqa: E402
from fuzz.run import NAMES  # noqa: E402

SECONDS = int(os.environ.get("FASTFIND_FUZZ_SECONDS", "10"))
STARTUP_GRACE = 90  # import + instrumentation; the run itself is bounded by -max_total_time


# ---- (a) smoke runs ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pytest.importorskip("atheris")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    procs = {}
    for name in NAMES:
        base = tmp_path_factory.mktemp(f"fuzz-{name}")
        out = open(base / "log", "w+b")  # noqa: SIM115 - closed at teardown
        cmd = [sys.executable, "-m", "fuzz.run", name, "--seconds", str(SECONDS),
               "--corpus", str(base / "corpus"), "--artifacts", str(base / "artifacts")]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        procs[name] = (proc, out, base)
    yield procs
    for proc, out, _ in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        out.close()


@pytest.mark.parametrize("name", NAMES)
def test_fuzz_smoke(smoke_runs, name: str) -> None:  # type: ignore[no-untyped-def]
    proc, out, base = smoke_runs[name]
    try:
        rc = proc.wait(timeout=SECONDS + STARTUP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    out.seek(0)
    log = out.read().decode("utf-8", "replace")
    crashes = sorted((base / "artifacts").glob("*"))
    detail = "\n".join(f"{c.name}: {base64.b64encode(c.read_bytes()).decode()}" for c in crashes)
    assert rc == 0 and not crashes, f"{name}: exit {rc}\n{log[-4000:]}\n{detail}"
    assert "Done " in log and "Finding" not in log, log[-4000:]


# ---- (b) regression: raw fuzzer inputs -----------------------------------------------------------
#: (harness, base64 of the crash input written by libFuzzer, ALLOWED_VALUE_ERRORS id it hit)
CRASHES = [
    ("identifier", "B0AAQEEABQBDUwoASVNPX0lSIDEwMAgAIABEQQgAMjAyNDAxMDEQABAAUE4IAERvZV5KYW5lEAAgAExPBAB"
     "JRDEgIAAIEklTAgAzIECAAAFTUQAAHgAAAP7/AOAWAAAACABgAENTAgBNUkAAAQBBTgQAQUUxIA==", "fixed"),
    ("identifier", "AEAAQBBVTgAEAAAARDogOgAAAAD//////v8A4P////8IAGAAAgAAAE1S/v8N4AAAAAD+/93gAAAAAA==",
     "fixed"),
    ("identifier", "AMAAQAgAAQAKAAAASVNPX0lSIDEwMAgAIAAIAAAAMjAyNDAxMDEQABAACAAAAERvZQkAAAAAAAAAAAQAAA"
     "BJRDIgIAAIEgIAAAAzIEAAAAEeAAAA/v8A4BYAAAAIAGAAAgAAAE1SQAABAAQAAABBRTEg", "wrong_value_length"),
    ("identifier", "AkAAZAAQACBMTwAESUQwIAAgEghJUwACMyAAQAEAVU4AAAAAAB7//uAAABYAAAAIAP////////8HfwAAA"
     "AAAAEFFMSA=", "un_as_sequence"),
    ("identifier", "AkAAQAAIAAVDUwAKSVNPX0lSIDEwsF0IACBEQQAIMjAyNDAxMDEAEAAQUE4ACERvZV5KYW5lABAAIExPAA"
     "RJRDMkAEABAFVOAAAAAAAe//7gAAAAhxYACABgU1EAAk1SAEAADQAAAAAAAAAA", "un_as_sequence"),
    # CI run 1 (60 s): an item's garbage SpecificCharacterSet makes pydicom refuse to build the
    # sequence (TypeError); fastfind's readers (dump, JSON, CSV) must and do survive it
    ("identifier", "AEAAQAgABRICAAAAMyBAAAABHgAAAP7/AOAWAAAACAAFAAIAAAAAgEQAAQAEAAAAQUUxIA==", "fixed"),
]


@pytest.mark.parametrize(("name", "b64", "ident"), CRASHES)
def test_crash_input_replays_clean(name: str, b64: str, ident: str) -> None:
    pytest.importorskip("atheris")
    data = base64.b64decode(b64)
    h.HARNESSES[name](data)  # no Finding: the behaviour is a documented, allowed one
    if name == "identifier" and ident != "fixed":
        ts = h.TRANSFER_SYNTAXES[data[0] & 3]
        payload = codec.deflate(data[4:]) if ts.deflated and data[0] & 4 else data[4:]
        ds = codec.decode_identifier(payload, ts, data[1] % 70, int.from_bytes(data[2:4], "little") * 4)
        assert ident in {i for _, i in h.access_values(ds)}


# ---- (b) regression: minimised reproducers -------------------------------------------------------
IMPLICIT, EXPLICIT_LE, EXPLICIT_BE = 0, 1, 2
ITEM_34 = (  # an undefined-length item holding (0008,0060) "MR", then the delimiters (34 bytes)
    b"\xfe\xff\x00\xe0\xff\xff\xff\xff" b"\x08\x00\x60\x00\x02\x00\x00\x00MR"
    b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
)
MINIMAL = [
    # explicit US of 3 bytes
    ("wrong_value_length", EXPLICIT_LE, b"\x28\x00\x10\x00US\x03\x00\x01\x02\x03", 0x00280010),
    # (0040,0100) is SQ in the dictionary: pydicom re-reads the opaque UN bytes as a sequence
    # (in the data set's byte order) and fails inside the item
    ("un_as_sequence", EXPLICIT_BE, bytes.fromhex(
        "00400100554e00000000001e" "fffee00000160000" "000800ffffffffffffff077f" "000000000000" "41453120"
    ), 0x00400100),
]


def test_nonstandard_vr_is_refused_by_the_walk() -> None:
    """Fixed: an explicit VR outside PS3.5 Table 6.2-1 has an unknown length-field size, so the
    walk refuses it (both twins) instead of guessing a framing."""
    data = b"\x10\x00\x10\x00AN\x04\x00ABCD"
    h.check_identifier(data, EXPLICIT_LE)
    with pytest.raises(CodecError, match="invalid VR"):
        codec.decode_identifier(data, h.TRANSFER_SYNTAXES[EXPLICIT_LE])


def test_implicit_undefined_length_is_a_sequence() -> None:
    """Fixed: an implicit-VR element of undefined length is walked as a sequence and now also
    decoded as one (VR SQ), whatever its dictionary VR."""
    data = b"\x08\x00\x01\x00\xff\xff\xff\xff" + ITEM_34
    h.check_identifier(data, IMPLICIT)
    ds = codec.decode_identifier(data, h.TRANSFER_SYNTAXES[IMPLICIT])
    assert ds[0x00080001].VR == "SQ" and ds[0x00080001].value[0].Modality == "MR"


@pytest.mark.parametrize(("ident", "ts_index", "data", "tag"), MINIMAL)
def test_known_pydicom_value_errors(ident: str, ts_index: int, data: bytes, tag: int) -> None:
    """The codec accepts these identifiers identically in both twins; pydicom then raises when
    the value is read. Pinned until the open issue ``ident`` is settled."""
    h.check_identifier(data, ts_index)  # parity, tokens, decode_identifier all fine
    ds = codec.decode_identifier(data, h.TRANSFER_SYNTAXES[ts_index])
    assert h.access_values(ds) == [(tag, ident)]
    with warnings.catch_warnings(), pytest.raises(Exception) as info:  # noqa: B017
        warnings.simplefilter("ignore")
        _ = ds[tag].value
    assert not isinstance(info.value, CodecError)
    assert h.allowed_value_error(info.value, ds._dict.get(tag) or None) in (ident, None)


def test_allowed_list_is_narrow() -> None:
    """The allow-list does not excuse arbitrary exceptions from well-formed elements."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    raw = RawDataElement(Tag(0x00100010), "PN", 4, b"ABCD", 0, False, True)
    assert h.allowed_value_error(ValueError("boom"), raw) is None
    assert h.allowed_value_error(KeyError("x"), raw) is None
    with pytest.raises(h.Finding):
        h.documented(h.outcome(int, "x"), "int")  # a ValueError is not a fastfind error


# ---- the harness checks themselves catch what they should --------------------------------------
def test_checks_pass_on_seeds() -> None:
    for name, inputs in h.seeds().items():
        if name == "identifier":
            for data in inputs:
                payload = codec.deflate(data[4:]) if data[0] & 4 else data[4:]
                h.check_identifier(payload, data[0] & 3, data[1] % 70, int.from_bytes(data[2:4], "little") * 4)
        elif name == "command":
            for data in inputs:
                h.check_command(data)
        elif name == "xml":
            for data in inputs:
                h.fuzz_xml(data)


def test_xml_check_catches_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_xml fails when the implementations differ (here: a renderer dropping a byte)."""
    if len(h.IMPLS) < 2:
        pytest.skip("the Cython codec is not built")
    plain = h.seeds()["xml"][1][1:]
    h.check_xml(plain, 1)
    real = h.IMPLS[0][1].xml_document
    monkeypatch.setattr(h.IMPLS[0][1], "xml_document", lambda *a: (real(*a)[0][:-1], real(*a)[1]))
    with pytest.raises(h.Finding, match="disagree"):
        h.check_xml(plain, 1)


def test_pdu_stream_split_equivalence_examples() -> None:
    seed = h.seeds()["pdu_stream"][0]
    stream = seed[20:]  # 6 + 1 context + 7 + three u16 cuts
    for cuts in ([], [1], [5, 6, 7], list(range(0, len(stream), 3))):
        h.check_pdu_stream(stream, cuts, 16384, [1])
    h.check_pdu_stream(stream, [10], 16384, [], keep_feeding=True)  # no context: refused
    h.check_pdu_stream(stream + b"\x09\x00\x00\x00", [len(stream) + 1], 0, [1], keep_feeding=True)


def test_inflate_check_examples() -> None:
    data = b"x" * 300
    stream = codec.deflate(data)
    h.check_inflate(stream, 300, data)
    h.check_inflate(stream, 299, data)  # bomb cap: CodecError, expected
    h.check_inflate(stream[:-3], 1000)
    h.check_inflate(stream + b"\x00\x00", 1000)
    h.check_inflate(b"", 0)


def test_associate_ac_check_examples() -> None:
    for data in h.seeds()["associate_ac"]:
        h.check_associate_ac(data[1:])
    h.check_associate_ac(b"")
    h.check_associate_ac(b"\x00\x01" + bytes(66) + b"\x10\x00\xff\xff")
