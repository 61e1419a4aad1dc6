"""Differential tests of fastfind.output.dump against DCMTK's ``dcmdump +L -dc`` (the same
``DcmObject::print`` with flags 0 that findscu logs; ``-dc`` because findscu runs with automatic
data correction off), plus a live ``findscu -v`` / ``wlmscpfs`` check through a capturing proxy.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

from fastfind import codec
from fastfind.codec import DEFLATED_LE, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE
from fastfind.output import dump

DCMDUMP = shutil.which("dcmdump")
needs_dcmdump = pytest.mark.skipif(DCMDUMP is None, reason="DCMTK dcmdump not installed")
ALL_TS = [IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED_LE]
TS_IDS = ["implicit", "explicit", "bigendian", "deflated"]
_LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}
UNDEF = 0xFFFFFFFF


# ---- raw encoder (full control over lengths, order and delimiters) ----------------------------
def el(tag: int, vr: str, value: bytes, ts: codec.TransferSyntax) -> bytes:
    e = "<" if ts.little else ">"
    g, n = tag >> 16, tag & 0xFFFF
    if ts.implicit:
        return struct.pack(e + "HHL", g, n, len(value)) + value
    if vr in _LONG:
        return struct.pack(e + "HH2sHL", g, n, vr.encode(), 0, len(value)) + value
    return struct.pack(e + "HH2sH", g, n, vr.encode(), len(value)) + value


def sq(tag: int, items: list[bytes], ts: codec.TransferSyntax, undefined: bool = False) -> bytes:
    e = "<" if ts.little else ">"
    body = b"".join(items)
    head = struct.pack(e + "HH", tag >> 16, tag & 0xFFFF)
    if not ts.implicit:
        head += b"SQ\0\0"
    if undefined:
        return head + struct.pack(e + "L", UNDEF) + body + struct.pack(e + "HHL", 0xFFFE, 0xE0DD, 0)
    return head + struct.pack(e + "L", len(body)) + body


def item(content: bytes, ts: codec.TransferSyntax, undefined: bool = False) -> bytes:
    e = "<" if ts.little else ">"
    if undefined:
        return (
            struct.pack(e + "HHL", 0xFFFE, 0xE000, UNDEF)
            + content
            + struct.pack(e + "HHL", 0xFFFE, 0xE00D, 0)
        )
    return struct.pack(e + "HHL", 0xFFFE, 0xE000, len(content)) + content


def meta_group(ts_uid: str) -> bytes:
    def ui(v: str) -> bytes:
        b = v.encode()
        return b + b"\0" * (len(b) & 1)

    body = el(0x00020001, "OB", b"\0\1", EXPLICIT_LE)
    body += el(0x00020002, "UI", ui("1.2.840.10008.5.1.4.31"), EXPLICIT_LE)
    body += el(0x00020003, "UI", ui("1.2.3.4.5"), EXPLICIT_LE)
    body += el(0x00020010, "UI", ui(ts_uid), EXPLICIT_LE)
    body += el(0x00020013, "SH", b"FASTFIND", EXPLICIT_LE)
    return el(0x00020000, "UL", struct.pack("<L", len(body)), EXPLICIT_LE) + body


# ---- running dcmdump and undoing the one deliberate deviation ---------------------------------
def dcmdump_text(
    plain: bytes, ts: codec.TransferSyntax, tmp_path: Path, part10: bool = False
) -> str:
    """dcmdump's output for a data set (``plain``: inflated bytes), as str (surrogateescape)."""
    path = tmp_path / f"ds{random.getrandbits(32)}.dcm"
    if ts.deflated or part10:
        body = codec.deflate(plain) if ts.deflated else plain
        path.write_bytes(b"\0" * 128 + b"DICM" + meta_group(ts.uid) + body)
        args = [DCMDUMP, "+L", "-dc", str(path)]
    else:
        flag = {IMPLICIT_LE.uid: "-ti", EXPLICIT_LE.uid: "-te", EXPLICIT_BE.uid: "-tb"}[ts.uid]
        path.write_bytes(plain)
        args = [DCMDUMP, "-f", flag, "+L", "-dc", str(path)]
    proc = subprocess.run(args, capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("ascii", "surrogateescape")


_ESC = re.compile(r"\\x([0-9a-f]{2})")
_LINE = re.compile(r"^(\s*\([0-9a-f]{4},[0-9a-f]{4}\) \S\S )(\[.*\])( *) (# .*)$", re.S)


def _raw_char(code: int) -> str:
    """The character the dump uses for byte ``code`` (bytes >= 0x80 are surrogate escapes)."""
    return chr(0xDC00 + code) if code >= 0x80 else chr(code)


def undo_deviation(line: str) -> str:
    """Turn fastfind's escaped control characters back into DCMTK's raw bytes (and re-pad)."""
    m = _LINE.match(line)
    if not m or "\\x" not in m.group(2):
        return line
    value = _ESC.sub(lambda x: _raw_char(int(x.group(1), 16)), m.group(2))
    return f"{m.group(1)}{value}{' ' * max(0, 40 - len(value))} {m.group(4)}"


def as_dcmtk_text(lines: list[str]) -> str:
    return "\n" + "\n".join(undo_deviation(x) for x in lines) + "\n"


def check(plain: bytes, ts: codec.TransferSyntax, tmp_path: Path) -> list[str]:
    """Assert fastfind's dump of ``plain`` equals dcmdump's, line for line; return our lines."""
    toks = codec.walk_dataset(plain, ts.implicit, ts.little, codec.SQ_TAGS)
    mine = dump.format_dataset(plain, toks, ts)
    ref = dcmdump_text(plain, ts, tmp_path)
    if ts.deflated:
        ref = ref[ref.index("\n# Dicom-Data-Set") :]
    expected = ref.split("\n")
    got = as_dcmtk_text(mine).split("\n")
    for a, b in zip(got, expected, strict=False):
        assert a == b
    assert got == expected
    return mine


def pydicom_bytes(ds: Dataset, ts: codec.TransferSyntax) -> bytes:
    fp = DicomFileLike(BytesIO())
    fp.is_little_endian = ts.little
    fp.is_implicit_VR = ts.implicit
    write_dataset(fp, ds)  # type: ignore[arg-type]
    return fp.parent.getvalue()  # type: ignore[attr-defined]


# ---- pure unit tests (no DCMTK needed) --------------------------------------------------------
def test_line_layout_and_header() -> None:
    data = el(0x00100010, "PN", b"VIVALDI^ANTONIO ", EXPLICIT_LE)
    assert dump.dump_identifier(data, EXPLICIT_LE) == [
        "# Dicom-Data-Set",
        "# Used TransferSyntax: Little Endian Explicit",
        "(0010,0010) PN [VIVALDI^ANTONIO ]                       #  16, 1 PatientName",
    ]
    assert dump.log_lines(["a"]) == ["", "a", ""]


def test_deflated_header_and_inflation() -> None:
    plain = el(0x00100020, "LO", b"ID1 ", EXPLICIT_LE)
    lines = dump.dump_identifier(codec.deflate(plain), DEFLATED_LE)
    assert lines[1] == "# Used TransferSyntax: Deflated Explicit VR Little Endian"
    assert lines[2].startswith("(0010,0020) LO [ID1 ]")


def test_control_characters_escaped_high_bytes_kept() -> None:
    raw = b"M\xfcller\x1b]0;x\x07\r\n\x7f\x00"
    line = dump.dump_identifier(el(0x00100010, "PN", raw, EXPLICIT_LE), EXPLICIT_LE)[2]
    assert "\x1b" not in line and "\x07" not in line and "\r" not in line and "\x7f" not in line
    assert "\\x1b]0;x\\x07\\x0d\\x0a\\x7f\x00]" in line  # trailing NUL padding stays raw
    assert line.encode("utf-8", "surrogateescape").count(b"\xfc") == 1


def test_in_memory_sequences() -> None:
    ts = EXPLICIT_LE
    data = sq(0x00400100, [item(el(0x00080060, "CS", b"", ts), ts, True)], ts, True)
    lines = dump.dump_identifier(data, ts)
    assert "(Sequence with undefined length #=1)" in lines[2]
    plain, toks = codec.tokens(data, ts)
    mem = dump.format_dataset(plain, toks, ts, in_memory=True)
    assert mem[2].startswith("(0040,0100) SQ (Sequence with explicit length #=1)      #   0, 1")
    assert mem[3].startswith("  (fffe,e000) na (Item with explicit length #=1)          #   0, 1")
    assert "for re-encoding" in mem[5] and "for re-encod." in mem[6]


def test_ftoa_known_values() -> None:
    assert dump.dcmtk_float(0.1, 17) == "0.1"
    assert dump.dcmtk_float(1.0, 17) == "1"
    assert dump.dcmtk_float(struct.unpack("<f", struct.pack("<f", 0.1))[0], 9) == "0.100000001"
    assert dump.dcmtk_float(-3.25e-300, 17) == "-3.2499999999999951e-300"
    assert dump.dcmtk_float(math.inf, 9) == "inf" and dump.dcmtk_float(math.nan, 9) == "nan"


# ---- differential tests against dcmdump -------------------------------------------------------
def rich_dataset() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.31"  # known UID
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.1"  # unknown, NUL padded
    ds.StudyDate = ""
    ds.QueryRetrieveLevel = "STUDY"
    ds.add_new(0x00080061, "CS", ["CT", "MR", ""])
    ds.PatientName = "Müller^Hans"
    ds.PatientID = "ID"
    ds.PatientBirthTime = "101010.5"
    ds.OtherPatientIDs = ""
    ds.add_new(0x00101002, "SQ", Sequence())  # empty sequence
    ds.PatientSize = "1.75"
    ds.PatientWeight = ["70", "71.5"]
    ds.PatientAge = "045Y"
    ds.add_new(0x00104000, "LT", "a\\b c")
    ds.StudyDescription = "x" * 90
    ds.add_new(0x00181030, "LO", "odd")
    ds.add_new(0x00200013, "IS", "-7")
    ds.add_new(0x00280010, "US", [1, 65535])
    ds.add_new(0x00280106, "SS", -32768)
    ds.add_new(0x00209241, "FL", [0.1, -1e38, 3.0])
    ds.add_new(0x00189087, "FD", [0.1, 1e300, -2.5e-310, 123456789.125])
    ds.add_new(0x00189219, "SL", [-2147483648, 5])
    ds.add_new(0x00209057, "UL", 4000000000)
    ds.add_new(0x00280009, "AT", [0x00100010, 0x7FE00010])
    ds.add_new(0x00420011, "OB", bytes(range(7)))
    ds.add_new(0x00660023, "OW", b"\x01\x02\xab\xcd")
    ds.add_new(0x00660016, "OF", struct.pack("<2f", 2.5, -0.1))
    ds.add_new(0x00720026, "AT", 0x00080020)
    ds.add_new(0x0040A30A, "DS", "")
    ds.add_new(0x00080100, "SH", "a" * 16)
    ds.add_new(0x00080104, "LO", "Ünïcödé 日本".encode())  # raw UTF-8 bytes
    ds.add_new(0x00081190, "UR", "http://example.com/x ")
    ds.add_new(0x00081060, "PN", "A\\B")
    ds.add_new(0x00100021, "LO", "issuer")
    ds.add_new(0x00090010, "LO", "ACME 1.0")  # private creator
    ds.add_new(0x00091001, "LO", "private")  # private with creator
    ds.add_new(0x00111001, "LO", "orphan")  # private without creator
    ds.add_new(0x00100011, "LO", "unknown public")  # unknown public tag
    ds.add_new(0x00190010, "UN", b"\x01\x02\x03\x04")
    inner = Dataset()
    inner.Modality = "MR"
    inner.ScheduledStationAETitle = ["AA32", "AA33"]
    inner.ScheduledProcedureStepStartDate = "19951015"
    deeper = Dataset()
    deeper.CodeValue = "X1"
    deeper.CodingSchemeDesignator = "99"
    deeper.CodeMeaning = ""
    inner.ScheduledProtocolCodeSequence = Sequence([deeper, Dataset()])  # with an empty item
    ds.ScheduledProcedureStepSequence = Sequence([inner, Dataset()])
    ds.ReferencedStudySequence = Sequence([])
    return ds


@needs_dcmdump
@pytest.mark.parametrize("ts", ALL_TS, ids=TS_IDS)
def test_pydicom_dataset_matches_dcmdump(ts: codec.TransferSyntax, tmp_path: Path) -> None:
    ds = rich_dataset()
    if ts.implicit:
        for tag in (0x00190010, 0x00101002):  # unknown tag / keep it SQ in dictionary
            if tag == 0x00190010:
                del ds[tag]
    check(pydicom_bytes(ds, ts), ts, tmp_path)


def raw_cases(ts: codec.TransferSyntax) -> dict[str, bytes]:
    """Hand-built encodings: explicit and undefined lengths, disorder, duplicates, oddities."""
    e = "<" if ts.little else ">"
    cases: dict[str, bytes] = {}
    d = el(0x00100010, "PN", b"B^A", ts) + el(0x00080018, "UI", b"1.2.3\0", ts)
    d += el(0x00080018, "UI", b"9.9\0", ts)  # duplicate: DCMTK keeps the first
    d += el(0x00080000, "UL", struct.pack(e + "L", 10), ts)  # group length
    d += el(0x00090000, "UL", struct.pack(e + "L", 10), ts)  # private group length
    d += el(0x00100000, "UL", struct.pack(e + "L", 4), ts)
    cases["unsorted_duplicates_group_lengths"] = d
    inner = el(0x00081150, "UI", b"1.2.840.10008.5.1.4.1.1.2\0", ts)
    nested = sq(0x00081199, [item(el(0x00081155, "UI", b"9.9", ts), ts, True)], ts, True)
    d = sq(0x00081110, [], ts)
    d += sq(0x00081111, [item(b"", ts)], ts, True)
    d += sq(0x00081115, [item(b"", ts, True)], ts)
    d += sq(0x00081120, [item(inner + nested, ts)], ts)
    d += sq(0x00400275, [item(el(0x00321060, "LO", b"abc", ts), ts), item(b"", ts, True)], ts, True)
    cases["sequences"] = d
    d = el(0x00080005, "CS", b"A\\\\B\\", ts) + el(0x00080081, "ST", b"a\\b", ts)
    d += el(0x00081080, "LO", b"\\", ts) + el(0x00180020, "CS", b"SE\\IR ", ts)
    d += el(0x00080016, "UI", b"1.2.840.10008.5.1.4.31 ", ts)  # space-padded: no name
    d += el(0x00080016 + 0x10000, "UI", b"", ts)  # (0009,0016) private without creator
    cases["multivalue_strings"] = d
    d = el(0x00280010, "US", b"\1\0\2", ts) + el(0x00280011, "US", b"\1", ts)
    cases["odd_binary_lengths"] = d
    if ts.implicit:
        d = el(0x00280103, "US", struct.pack(e + "H", 1), ts)
        d += el(0x00280106, "SS", struct.pack(e + "h", -2), ts)  # xs resolved to SS
        d += el(0x00280107, "US", struct.pack(e + "H", 7), ts)
        d += el(0x00283006, "OW", b"\1\2\3\4", ts)  # lt
        d += el(0x00041200, "UL", struct.pack(e + "L", 9), ts)  # up
        d += el(0x60003000, "OW", b"\1\2\3\4", ts) + el(0x50003000, "OB", b"\1\2", ts)
        d += el(0x54001010, "OW", b"\1\2", ts) + el(0x7FE00010, "OW", b"\1\2\3\4", ts)
        d += el(0x0010000F, "LO", b"unknown ", ts) + el(0x00431010, "LO", b"ab", ts)
        d += el(0x00090010, "LO", b"ACME", ts) + el(0x00091001, "LO", b"abcd", ts)
        cases["implicit_dictionary_vrs"] = d
        d = sq(0x00431020, [item(el(0x00100020, "LO", b"X1", ts), ts, True)], ts, True)
        cases["implicit_unknown_sequence"] = d
        d = el(0x00280106, "US", struct.pack(e + "H", 65534), ts)  # xs without PixelRepresentation
        cases["implicit_xs_unresolved"] = d
        d = el(0x00280103, "US", struct.pack(e + "H", 0), ts)
        d += el(0x00283002, "US", struct.pack(e + "3H", 256, 0, 16), ts)  # LUTDescriptor -> US
        d += el(0x54001004, "US", struct.pack(e + "H", 8), ts)
        d += el(0x54001010, "OB", b"\1\2\3", ts)  # WaveformData -> OB (8 bits allocated)
        d += el(0x5400100A, "OB", b"\1\2", ts)
        cases["implicit_checkAndUpdateVR"] = d
    else:
        d = el(0x00100020, "UN", b"ab", ts) + el(0x00100021, "OV", b"\1" * 8, ts)
        d += el(0x00100022, "SV", struct.pack(e + "qq", -5, 2**62), ts)
        d += el(0x00100024, "UV", struct.pack(e + "Q", 2**64 - 1), ts)
        d += el(0x00100030, "OD", struct.pack(e + "d", 0.1), ts)
        d += el(0x00100031, "OL", struct.pack(e + "L", 7), ts)
        d += el(0x00100032, "UR", b"http://x ", ts) + el(0x00100033, "UC", b"ab\\c ", ts)
        d += el(0x00100034, "AT", struct.pack(e + "HHH", 1, 2, 3), ts)
        d += el(0x00100035, "FL", struct.pack(e + "ff", math.nan, -math.inf), ts)
        d += el(0x00100036, "OB", b"", ts) + el(0x00100037, "OW", b"\1", ts)
        d += el(0x00100038, "FL", b"\1\2\3", ts) + el(0x00100039, "AT", b"\1\2", ts)
        d += el(0x00100040, "SQ", b"", ts) + el(0x00100041, "FD", b"", ts)
        d += el(0x00100042, "OF", b"\0\0\x80\x3f", ts) + el(0x00100043, "UT", b"", ts)
        d += el(0x00100044, "OD", b"\1", ts) + el(0x00100045, "OL", b"", ts)
        cases["explicit_vr_zoo"] = d
        # UN of undefined length: a sequence whose items are implicit VR LE (PS3.5 §6.2.2)
        ile = IMPLICIT_LE
        inner = el(0x00080100, "SH", b"C1", ile) + el(0x00090010, "LO", b"ACME", ile)
        inner += el(0x00091001, "LO", b"xy", ile) + el(0x00111001, "UN", b"\1\2", ile)
        inner += sq(0x0040A043, [item(el(0x00080104, "LO", b"M ", ile), ile, True)], ile, True)
        body = item(inner, ile, True) + item(el(0x00080100, "SH", b"C2", ile), ile)
        head = struct.pack(e + "HH2sHL", 0x0008, 0x1032, b"UN", 0, UNDEF)
        d = el(0x00080005, "CS", b"ISO_IR 100", ts) + head + body
        d += struct.pack("<HHL", 0xFFFE, 0xE0DD, 0) + el(0x00100010, "PN", b"A^B ", ts)
        d += struct.pack(e + "HH2sHL", 0x0011, 0x1010, b"UN", 0, UNDEF) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
        cases["un_undefined_length"] = d
    return cases


@needs_dcmdump
@pytest.mark.parametrize("ts", ALL_TS, ids=TS_IDS)
def test_raw_cases_match_dcmdump(ts: codec.TransferSyntax, tmp_path: Path) -> None:
    for name, data in raw_cases(ts).items():
        try:
            check(data, ts, tmp_path)
        except AssertionError as exc:
            raise AssertionError(f"case {name}: {exc}") from None


@needs_dcmdump
@pytest.mark.parametrize("ts", [EXPLICIT_LE, IMPLICIT_LE], ids=["explicit", "implicit"])
def test_control_characters_against_dcmdump(ts: codec.TransferSyntax, tmp_path: Path) -> None:
    d = el(0x00100010, "PN", b"M\xfcller\x1b]0;x\x07\x00", ts)
    d += el(0x00104000, "LT", b"x\\y\r\nz\t", ts) + el(0x00100020, "LO", b"A\0B", ts)
    d += el(0x00100021, "LO", b"\x7f\x01", ts) + el(0x00080018, "UI", b"1.2.3\0", ts)
    lines = check(d, ts, tmp_path)
    assert all(not set(x) & {"\x1b", "\x07", "\r", "\n", "\t", "\x7f", "\x01"} for x in lines)


@needs_dcmdump
def test_floats_against_dcmdump(tmp_path: Path) -> None:
    rng = random.Random(1234)
    doubles = [0.0, -0.0, 0.1, 1.0, 1e16, 1e17, 123456789012345678.0, 9.999999999999999e22]
    doubles += [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.0001, 0.00009999]
    doubles += [99999999999999999.0, 0.5, 1 / 3, 2 / 3, 1e-5, 123.456, 1e21, 1e-7]
    while len(doubles) < 600:
        k = rng.random()
        if k < 0.4:
            doubles.append(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
        elif k < 0.7:
            doubles.append(rng.uniform(-1e6, 1e6))
        else:
            doubles.append(round(rng.uniform(-1000, 1000), rng.randrange(0, 8)))
    doubles = [x for x in doubles if not math.isnan(x)]
    singles = [struct.unpack("<f", struct.pack("<f", x))[0] for x in doubles if abs(x) < 3e38]
    singles += [
        struct.unpack("<f", rng.getrandbits(32).to_bytes(4, "little"))[0] for _ in range(400)
    ]
    singles = [x for x in singles if not math.isnan(x)]
    ts = EXPLICIT_LE
    d = el(0x00189087, "FD", struct.pack(f"<{len(doubles)}d", *doubles), ts)
    d += el(0x00209241, "FL", struct.pack(f"<{len(singles)}f", *singles), ts)
    lines = check(d, ts, tmp_path)
    assert len(lines) == 4


@needs_dcmdump
def test_all_uid_names_against_dcmdump(tmp_path: Path) -> None:
    from pydicom._uid_dict import UID_dictionary

    ts = EXPLICIT_LE
    items = []
    for uid in sorted(UID_dictionary):
        v = uid.encode()
        items.append(item(el(0x00081150, "UI", v + b"\0" * (len(v) & 1), ts), ts))
    check(sq(0x00081199, items, ts), ts, tmp_path)


@needs_dcmdump
@pytest.mark.parametrize("ts", ALL_TS, ids=TS_IDS)
def test_format_file_matches_dcmdump(ts: codec.TransferSyntax, tmp_path: Path) -> None:
    plain = pydicom_bytes(rich_dataset(), ts)
    if ts.implicit:
        plain = el(0x00100010, "PN", b"A^B ", ts) + sq(0x00400100, [item(b"", ts)], ts)
    mine = dump.format_file(meta_group(ts.uid), plain, ts)
    assert as_dcmtk_text(mine) == dcmdump_text(plain, ts, tmp_path, part10=True)
    empty_meta = dump.format_file(b"", b"", EXPLICIT_LE)
    assert empty_meta == [
        "# Dicom-File-Format",
        "",
        "# Dicom-Meta-Information-Header",
        "# Used TransferSyntax: Little Endian Explicit",
        "",
        "# Dicom-Data-Set",
        "# Used TransferSyntax: Little Endian Explicit",
    ]


# ---- property test: random data sets ----------------------------------------------------------
# Public tags whose names and VRs agree between pydicom's and DCMTK 3.6.7's dictionaries.
_STRING_TAGS = {
    0x00080050: "SH",
    0x00080060: "CS",
    0x00080090: "PN",
    0x00080020: "DA",
    0x00080030: "TM",
    0x0008002A: "DT",
    0x00100020: "LO",
    0x00101010: "AS",
    0x00101020: "DS",
    0x00200011: "IS",
    0x00400001: "AE",
    0x00081030: "LO",
    0x00324000: "LT",
    0x00081010: "SH",
    0x00400280: "ST",
    0x00080018: "UI",
    0x00081190: "UR",
    0x00400441: "SQ",
}
_BIN_TAGS = {
    0x00280010: "US",
    0x00280106: "xs",
    0x00189219: "SL",
    0x00209057: "UL",
    0x00209241: "FL",
    0x00189087: "FD",
    0x00280009: "AT",
    0x00420011: "OB",
    0x00660023: "OW",
}
_SEQ_TAGS = [0x00400100, 0x00081110, 0x00400008, 0x00081199]
_CHARS = st.sampled_from(list("AZaz09 ^-.*?=\\") + ["\xe9", "\xfc"])


@st.composite
def _element(draw: st.DrawFn, ts: codec.TransferSyntax) -> tuple[int, bytes]:
    e = "<" if ts.little else ">"
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        tag, vr = draw(st.sampled_from(sorted(_STRING_TAGS.items())))
        if vr == "SQ":
            return tag, sq(tag, [], ts, draw(st.booleans()))
        text = "".join(draw(st.lists(_CHARS, max_size=draw(st.sampled_from([6, 70])))))
        return tag, el(tag, vr, text.encode("latin-1"), ts)
    if kind <= 7:
        tag, vr = draw(st.sampled_from(sorted(_BIN_TAGS.items())))
        vr = "US" if vr == "xs" else vr
        size = {"US": 2, "SL": 4, "UL": 4, "FL": 4, "FD": 8, "AT": 4, "OB": 1, "OW": 2}[vr]
        n = draw(st.integers(0, 4))
        raw = draw(st.binary(min_size=n * size, max_size=n * size))
        if vr in ("FL", "FD"):  # canonical numbers (byte order matters for NaN payloads only)
            fmt = "f" if vr == "FL" else "d"
            vals = struct.unpack(f"<{n}{fmt}", raw)
            raw = struct.pack(f"{e}{n}{fmt}", *[0.0 if math.isnan(v) else v for v in vals])
        return tag, el(tag, vr, raw, ts)
    # private (with or without creator) or unknown public
    tag = draw(st.sampled_from([0x00091001, 0x00091002, 0x00111001, 0x0010000F]))
    return tag, el(tag, "LO", b"pv", ts)


@st.composite
def _dataset(draw: st.DrawFn, ts: codec.TransferSyntax, depth: int = 0) -> bytes:
    parts = []
    if draw(st.booleans()):
        parts.append(el(0x00090010, "LO", b"ACME", ts))
    for _ in range(draw(st.integers(0, 6))):
        parts.append(draw(_element(ts))[1])
    if depth < 2:
        for _ in range(draw(st.integers(0, 2))):
            n_items = draw(st.integers(0, 2))
            items = [
                item(draw(_dataset(ts, depth + 1)), ts, draw(st.booleans())) for _ in range(n_items)
            ]
            parts.append(sq(draw(st.sampled_from(_SEQ_TAGS)), items, ts, draw(st.booleans())))
    return b"".join(draw(st.permutations(parts)))


@needs_dcmdump
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_datasets_match_dcmdump(data: st.DataObject, tmp_path: Path) -> None:
    idx = data.draw(st.integers(0, 3))
    ts = ALL_TS[idx]
    # never empty: dcmdump reports an empty file as explicit VR whatever -t option is given
    check(el(0x00080005, "CS", b"ISO_IR 100", ts) + data.draw(_dataset(ts)), ts, tmp_path)


# ---- live: findscu -v against wlmscpfs, through a capturing proxy -----------------------------
WLMSCPFS, FINDSCU, DUMP2DCM = (shutil.which(x) for x in ("wlmscpfs", "findscu", "dump2dcm"))
WLISTDB = Path("/usr/share/doc/dcmtk/examples/wlistdb/OFFIS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _relay(src: socket.socket, dst: socket.socket, sink: bytearray) -> None:
    try:
        while chunk := src.recv(65536):
            sink += chunk
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _messages(stream: bytes) -> list[bytes | None]:
    rx = codec.Receiver(0)
    rx.set_contexts(range(1, 256, 2))
    return [ev[3] for ev in rx.feed(stream) if ev[0] == codec.EV_MESSAGE]


@pytest.mark.interop
@pytest.mark.skipif(
    not (WLMSCPFS and FINDSCU and DUMP2DCM and WLISTDB.is_dir()),
    reason="DCMTK wlmscpfs/findscu/dump2dcm or the example worklist db not installed",
)
@pytest.mark.parametrize("xfer", ["-x=", "-xi", "-xd"])
def test_findscu_verbose_output_matches(xfer: str, tmp_path: Path) -> None:
    db = tmp_path / "db" / "OFFIS"
    db.mkdir(parents=True)
    (db / "lockfile").touch()
    for f in sorted(WLISTDB.glob("*.dump")):
        subprocess.run(
            [DUMP2DCM, str(f), str(db / (f.stem + ".wl"))],
            capture_output=True,
            timeout=30,
            check=True,
        )
    scp_port, proxy_port = _free_port(), _free_port()
    scp = subprocess.Popen(
        [WLMSCPFS, "-dfp", str(db.parent), "-dfr", "+xd", str(scp_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    listener = socket.socket()
    up, down = bytearray(), bytearray()
    threads: list[threading.Thread] = []
    try:
        listener.bind(("127.0.0.1", proxy_port))
        listener.listen(1)
        listener.settimeout(20)
        deadline = time.monotonic() + 10
        while True:  # wait for wlmscpfs to listen
            try:
                socket.create_connection(("127.0.0.1", scp_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "wlmscpfs did not start"
                time.sleep(0.05)

        def accept() -> None:
            client, _ = listener.accept()
            server = socket.create_connection(("127.0.0.1", scp_port), timeout=20)
            for a, b, sink in ((client, server, up), (server, client, down)):
                t = threading.Thread(target=_relay, args=(a, b, sink), daemon=True)
                t.start()
                threads.append(t)

        acceptor = threading.Thread(target=accept, daemon=True)
        acceptor.start()
        proc = subprocess.run(
            [
                FINDSCU,
                "-v",
                xfer,
                "-aec",
                "OFFIS",
                "-k",
                "PatientName=V*",
                "-k",
                "PatientID",
                "-k",
                "ScheduledProcedureStepSequence[0].Modality",
                "-k",
                "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
                "127.0.0.1",
                str(proxy_port),
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
        acceptor.join(10)
        for t in threads:
            t.join(10)
    finally:
        scp.kill()
        scp.wait(10)
        listener.close()
    assert proc.returncode == 0, proc.stderr
    log = proc.stderr.decode("ascii", "surrogateescape").split("\n")
    # the blocks DCMTK printed: after "Request Identifiers:" / "Find Response: N (Pending)"
    blocks, current = [], None
    for line in log:
        text = line[3:]
        if text in ("Request Identifiers:",) or text.startswith("Find Response:"):
            current = []
            blocks.append(current)
        elif current is not None:
            if text.startswith("---") or text.startswith("Received Final"):
                current = None
            else:
                current.append(text)
    ts = {"-x=": EXPLICIT_LE, "-xi": IMPLICIT_LE, "-xd": DEFLATED_LE}[xfer]
    sent = [m for m in _messages(bytes(up)) if m is not None]
    received = [m for m in _messages(bytes(down)) if m is not None]
    assert len(sent) == 1 and len(received) == len(blocks) - 1 >= 1
    assert any("VIVALDI^ANTONIO" in x for x in blocks[1])
    plain, toks = codec.tokens(sent[0], ts)
    # the request is printed before encoding: DCMTK's in-memory form, in its original TS (LEE)
    request = dump.format_dataset(plain, toks, EXPLICIT_LE, in_memory=True)
    assert blocks[0] == dump.log_lines(request)
    for block, identifier in zip(blocks[1:], received, strict=True):
        assert block == dump.log_lines(dump.dump_identifier(identifier, ts))


# ---- C1 controls (issue 9 item 4) -------------------------------------------------------------
def _shown(raw: bytes) -> str:
    """The value field fastfind shows for a PN of ``raw`` (without the brackets)."""
    line = dump.dump_identifier(el(0x00100010, "PN", raw, EXPLICIT_LE), EXPLICIT_LE)[2]
    return line[line.index("[") + 1 : line.rindex("]")]


def test_c1_controls_escaped_in_both_forms() -> None:
    assert _shown(b"a\x9b2J") == "a\\x9b2J"  # raw CSI (Latin-1 C1)
    assert _shown(b"a\xc2\x9b2J") == "a\\xc2\\x9b2J"  # U+009B in UTF-8
    assert _shown(b"\xc2\x80\xc2\x9f") == "\\xc2\\x80\\xc2\\x9f"
    assert _shown(b"\xe4\x9b") == "\udce4\\x9b"  # broken UTF-8: the C1 byte is escaped


def test_ordinary_utf8_and_latin1_kept_byte_for_byte() -> None:
    for text in ("Müller^Jürgen", "Ā ĀĀ", "日本語", "😀 x", "\u00a0\u00ff"):
        raw = text.encode("utf-8")
        if len(raw) % 2:
            raw += b" "
        assert _shown(raw).encode("ascii", "surrogateescape") == raw, text
    latin = "Müller^Jürgen ÅÆØ ÿ".encode("latin-1")
    assert _shown(latin).encode("ascii", "surrogateescape") == latin


@needs_dcmdump
def test_c1_controls_against_dcmdump(tmp_path: Path) -> None:
    ts = EXPLICIT_LE
    d = el(0x00100010, "PN", b"a\x9b2J\xc2\x9b\xc3\xbc\xc4\x80\xfc\xe4\x9b", ts)
    d += el(0x00100020, "LO", "Grüße 日本".encode() + b" ", ts)
    lines = check(d, ts, tmp_path)
    assert not any(b in x.encode("utf-8", "surrogateescape") for x in lines for b in (b"\x9b",))


# ---- long values, streamed (issue 9 item 3) ---------------------------------------------------
def long_values(ts: codec.TransferSyntax) -> bytes:
    """Values of many KiB in every formatting branch, with UTF-8 across piece boundaries."""
    e = "<" if ts.little else ">"
    d = el(0x00091010, "OB", bytes(range(256)) * 80 + b"\x01", ts) if not ts.implicit else b""
    d += el(0x00100010, "PN", ("é" * 5000 + "x\x9by").encode() + b" ", ts)
    d += el(0x00100020, "LO", b"a\\" * 3000, ts)
    d += el(0x00189087, "FD", struct.pack(f"{e}3000d", *(i / 7 for i in range(3000))), ts)
    d += el(0x00209241, "FL", struct.pack(f"{e}3000f", *(i / 3 for i in range(3000))), ts)
    d += el(0x00280009, "AT", struct.pack(f"{e}4000H", *range(4000)), ts)
    d += el(0x00280010, "US", struct.pack(f"{e}5000H", *range(5000)), ts)
    d += el(0x0040A160, "UT", b"T\x00" * 6000 + b"\x00\x00", ts)
    d += el(0x00660023, "OW", bytes(range(256)) * 40 + b"\x07", ts)
    d += el(0x00660016, "OF", struct.pack(f"{e}2000f", *(i * 0.5 for i in range(2000))), ts)
    return d


@needs_dcmdump
@pytest.mark.parametrize("ts", [EXPLICIT_LE, EXPLICIT_BE, IMPLICIT_LE], ids=["explicit", "bigendian", "implicit"])
def test_long_values_match_dcmdump_and_come_in_pieces(ts: codec.TransferSyntax, tmp_path: Path) -> None:
    data = long_values(ts)
    check(data, ts, tmp_path)
    plain, toks = codec.tokens(data, ts)
    lines = list(dump.iter_dataset(plain, toks, ts))
    long_lines = [x for x in lines if isinstance(x, dump.LongLine)]
    assert len(long_lines) >= 8
    for line in long_lines:
        assert max(len(piece) for piece in line) <= 3 * 8192 * 8


def test_dump_memory_is_bounded() -> None:
    """Dumping a 16 MiB OB, 1 Mi repeated tags or 128 Ki items allocates a bounded amount, not a
    string or object per byte or element (tracemalloc peak while consuming the lines)."""
    import tracemalloc

    ts = EXPLICIT_LE
    warm = el(0x00100010, "PN", b"A^B ", ts) + el(0x00111010, "OB", b"x" * 5000, ts)
    dump.format_dataset(*codec.tokens(warm, ts), ts)  # dictionary built, caches filled
    cases = {
        "ob-16MiB": (el(0x00091010, "OB", bytes(16 << 20), ts), 1 << 20),
        "1Mi-repeated-tags": (el(0x00100010, "PN", b"", ts) * (1 << 20), 24 << 20),
        "128Ki-items": (sq(0x00400275, [item(b"", ts)] * (1 << 17), ts), 1 << 20),
    }
    for name, (data, bound) in cases.items():
        plain, toks = codec.tokens(data, ts)
        tracemalloc.start()
        try:
            size = 0
            for line in dump.iter_dataset(plain, toks, ts):
                for piece in [line] if isinstance(line, str) else line:
                    size += len(piece)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert size > 100 or name == "1Mi-repeated-tags"
        assert peak < bound, f"{name}: peak {peak} bytes"


# ---- ?? for elements DCMTK holds with an unknown VR (issue 9 item 13) --------------------------
def test_unknown_tags_from_keys_print_as_unknown_vr() -> None:
    from fastfind import query

    ds = query.build_query(None, ["(0009,1001)=AB", "(0011,1010)", "PatientName", "(0019,0010)=X"])
    for sent in (False, True):
        lines = dump.request_lines(ds, sent)
        assert lines[2].startswith("(0009,1001) ?? ab\\00   "), lines
        assert lines[3].startswith("(0010,0010) PN (no value available)")
        assert lines[4].startswith("(0011,1010) ?? (no value available)")
        shown = "[X ]" if sent else "[X]"  # in memory unpadded until sent (DCMTK, --repeat)
        assert lines[5].startswith(f"(0019,0010) LO {shown:40} #   2"), lines[5]
    plain = codec.encode_identifier(ds, EXPLICIT_LE)
    assert b"\x09\x00\x01\x10UN" in plain  # on the wire it is UN, as DCMTK writes it
    received = dump.dump_identifier(plain, EXPLICIT_LE)  # ... and a received UN stays UN
    assert received[2].startswith("(0009,1001) UN ab\\00")
