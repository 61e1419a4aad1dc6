"""fastfind.output.dcmtk_xml against DCMTK: dcm2xml (byte-for-byte data-set bodies) and real findscu files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfind import codec
from fastfind.output import dcmtk_xml as xmlout
from fastfind.output import dump

from xmlref import ALL_TS, DCM2XML, FINDSCU, dcm2xml_dataset, findscu, logged, raw_scp, wire

needs_dcm2xml = pytest.mark.skipif(DCM2XML is None, reason="DCMTK dcm2xml not installed")
needs_findscu = pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu not installed")


def ours_corrected(data: bytes, ts: codec.TransferSyntax) -> bytes:
    """Our body with dcm2xml's input data correction (findscu runs without it)."""
    doc, _ = xmlout._render_response(*codec.walk_identifier(data, ts), ts, correct=True)
    return doc.split(b"\n", 1)[1]


RICH = [
    (0x00080005, "CS", "ISO_IR 100"),
    (0x00080020, "DA", "20240101"),
    (0x00080030, "TM", "101010 "),
    (0x00080060, "CS", " CT "),
    (0x00080090, "PN", "Doc^T\xe9 "),
    (0x00081030, "LO", "a<b>&\"c'd "),
    (0x00081110, "SQ", []),
    (
        0x00081032,
        "SQ",
        (
            "U",
            [
                [(0x00080100, "SH", "X "), (0x00080104, "LO", "M\xe9")],
                ("U", []),
                ("U", [(0x00080100, "SH", "Y"), (0x00081199, "SQ", [[(0x00080100, "SH", "Z")]])]),
            ],
        ),
    ),
    (0x00090010, "LO", "CREATOR "),
    (0x00091001, "LO", "priv"),
    (0x00100010, "PN", "M\xfcller^Hans "),
    (0x00100020, "LO", " ID1 "),
    (0x00101000, "LO", "A\\ B "),
    (0x00101010, "AS", "042Y"),
    (0x00181310, "US", [1, 2, 3, 4]),
    (0x00186052, "UL", [7, 4294967295]),
    (0x00189087, "FD", [1.5, 0.1, -0.0, 1e300, 2.5e-10]),
    (0x00189089, "FD", [float("inf"), float("nan")]),
    (0x00189219, "SS", [-3, 32767]),
    (0x0018115E, "FL", [0.1, 3.0, -1e-7, 123456789.0]),
    (0x0020000D, "UI", "1.2.3\0"),
    (0x00200012, "IS", " 12 "),
    (0x00204000, "LT", "line1\r\nline2\t \\x "),
    (0x00209165, "AT", [0x0010, 0x0010, 0x0020, 0x0013]),
    (0x00282000, "OB", b""),
    (0x00283010, "SQ", [[(0x00283006, "OW", [1, 2, 3])]]),
    (0x00400006, "PN", "=\x1b$B;3ED\x1b(B"),
    (0x0040A30A, "DS", "1.5\\ 2 "),
    (0x00420011, "OB", b"\x01\x02\x03\x04"),
    (0x00660016, "OF", [1.25, 3.0, 0.1]),
    (0x00660040, "OL", [1, 2]),
    (0x7FE00010, "OW", [0, 1]),
]


# --- dcm2xml differential ---------------------------------------------------------------------


@needs_dcm2xml
@pytest.mark.parametrize("name", ALL_TS)
def test_dataset_body_matches_dcm2xml(name: str, tmp_path: Path) -> None:
    ts = ALL_TS[name]
    data = wire(RICH, ts)
    ref, _ = dcm2xml_dataset(data, ts, tmp_path)
    assert ref and ours_corrected(data, ts) == ref


@needs_dcm2xml
@pytest.mark.parametrize(
    "charset", ["", "ISO_IR 100", "ISO_IR 192", "ISO 2022 IR 6\\ISO 2022 IR 87", "FOO", "ISO_IR 6"]
)
def test_quoting_per_charset_matches_dcm2xml(charset: str, tmp_path: Path) -> None:
    elems = [] if not charset else [(0x00080005, "CS", charset)]
    elems += [
        (0x00100010, "PN", b"\x1b$B;3ED\x1b(B^\xe9\xc3\xa9<&>"),
        (0x00104000, "LT", b"ctl\x01\x07\x7f\x80\xff\x00\r\n'\"end"),
    ]
    ts = codec.EXPLICIT_LE
    data = wire(elems, ts)
    ref, _ = (
        dcm2xml_dataset(data, ts, tmp_path, "+Ca", "ISO_IR 100")
        if not charset
        else (dcm2xml_dataset(data, ts, tmp_path))
    )
    if not charset:  # dcm2xml inserts (0008,0005) here; findscu writes nothing of the kind
        ref = re.sub(rb'<element tag="0008,0005"[^\n]*\n', b"", ref)
    assert ref and ours_corrected(data, ts) == ref


finite = st.floats(allow_nan=False, allow_infinity=True, width=64)


@needs_dcm2xml
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    doubles=st.lists(finite, min_size=1, max_size=40),
    singles=st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=40),
)
def test_float_formatting_matches_dcm2xml(doubles: list, singles: list, tmp_path: Path) -> None:
    ts = codec.EXPLICIT_LE
    data = wire([(0x0018115E, "FL", singles), (0x00189087, "FD", doubles)], ts)
    ref, _ = dcm2xml_dataset(data, ts, tmp_path)
    assert ours_corrected(data, ts) == ref


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0, "0"),
        (0.1, "0.1"),
        (1e300, "1.0000000000000007e+300"),
        (-2.5e-10, "-2.5e-10"),
        (123.0, "123"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
    ],
)
def test_dcmtk_g_golden(value: float, text: str) -> None:
    assert dump.dcmtk_float(value, 17) == text


@needs_dcm2xml
@pytest.mark.parametrize(
    "charset, value",
    [
        ("ISO_IR 100", "Caf\xe9 "),
        ("ISO_IR 126", b"\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2 "),
        ("ISO_IR 6", "Mu^X"),
        ("ISO_IR 6", "M\xfc^X"),  # illegal byte: DCMTK refuses, nothing written
        ("FOO ", "M\xfc^X"),
        ("ISO 2022 IR 6\\ISO 2022 IR 87", b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"),
        ("ISO 2022 IR 87\\ISO 2022 IR 100", "X"),
        ("\\ISO 2022 IR 999", "X"),
        ("ISO 2022 IR 6\\ISO 2022 IR 100", b"A\x1b-A\xe9"),  # odd: dcm2xml's NUL pad refuses it
        # even lengths (no pad byte), so the character sets really are selected:
        ("ISO 2022 IR 6\\ISO 2022 IR 100 ", b"A\x1b-A\xe9"),
        ("\\ISO 2022 IR 100", b"Jo\x1b-A\xe9=\x1b-A\xe9"),
        ("ISO 2022 IR 100\\ISO 2022 IR 126 ", b"\xe9\x1b-F\xe1"),
        ("ISO 2022 IR 6\\ISO 2022 IR 149 ", b"A\x1b$)C\xc7\xd1"),
        ("ISO 2022 IR 6\\ISO 2022 IR 58 ", b"A\x1b$)A\xb0\xa1"),
        ("ISO 2022 IR 6\\ISO 2022 IR 166 ", b"A\x1b-T\xa1"),
        ("\\ISO 2022 IR 100", b"Jos\xe9"),  # no escape: the first repertoire (ASCII) fails
        ("ISO_IR 13 ", b"\xb1\xdf"),
        ("GB18030 ", "中文".encode("gb18030")),
        ("GBK ", "中文".encode("gbk")),
        ("ISO 2022 IR 100 ", "X"),  # a single ISO 2022 term is not selectable
        ("ISO 2022 IR 6\\\\ISO 2022 IR 100 ", "X"),
    ],
)
def test_utf8_conversion_matches_dcm2xml(charset: str, value: object, tmp_path: Path) -> None:
    """dcm2xml +U8 converts as findscu -Xs does, except that it also converts (validates) when
    (0008,0005) is absent, empty or ISO_IR 192, which findscu leaves alone (checked end to end in
    test_xml_codec.py)."""
    elems = [
        (0x00080005, "CS", charset),
        (0x00081032, "SQ", [[(0x00080104, "LO", value)]]),
        (0x00100010, "PN", value),
        (0x00100020, "LO", "id"),
    ]
    ts = codec.EXPLICIT_LE
    data = wire(elems, ts)
    ref, err = dcm2xml_dataset(data, ts, tmp_path, "+U8")
    ours, log = xmlout._render_utf8(*codec.walk_identifier(data, ts), ts, correct=True)
    assert ours == ref
    errors = [line for line in log if line.startswith("E: Writing XML file: ")]
    assert bool(errors) == (not ref)
    for line in errors:  # dcm2xml: "F: <condition text>: converting file to UTF-8: ..."
        assert "F: " + line[len("E: Writing XML file: ") :] + ": converting" in err
    for line in log:
        if not line.startswith("E: Writing XML file: "):
            assert line in err.splitlines()


# --- -Xx header / warnings (findscu's own code, checked end to end below) -----------------


@pytest.mark.parametrize(
    "charset, header, warning",
    [
        (None, b'<?xml version="1.0"?>', None),
        ("ISO_IR 100", b'<?xml version="1.0" encoding="ISO-8859-1"?>', None),
        ("ISO_IR 192", b'<?xml version="1.0" encoding="UTF-8"?>', None),
        ("ISO_IR 6", b'<?xml version="1.0" encoding="UTF-8"?>', None),
        ("ISO_IR 148", b'<?xml version="1.0" encoding="ISO-8859-9"?>', None),
        ("ISO_IR 203", b'<?xml version="1.0"?>', "value 'ISO_IR 203' not supported ... quoting"),
        ("", b'<?xml version="1.0"?>', None),
    ],
)
def test_xx_header(charset: str | None, header: bytes, warning: str | None) -> None:
    elems = [(0x00100010, "PN", "M\xfcller")]
    if charset is not None:
        elems.insert(0, (0x00080005, "CS", charset))
    doc, log = xmlout.response_xml(wire(elems, codec.EXPLICIT_LE), codec.EXPLICIT_LE)
    assert doc.split(b"\n")[0] == header
    quoted = charset is not None and charset not in xmlout.XML_ENCODINGS
    assert (b"M&#252;ller" in doc) == quoted and (b"M\xfcller" in doc) != quoted
    assert [w for w in log if warning and warning in w] == ([log[0]] if warning else [])
    assert len(log) == (1 if warning else 0)


def test_ascii_only_unsupported_charset_warns_without_quoting_note() -> None:
    elems = [(0x00080005, "CS", "ISO 2022 IR 6\\ISO 2022 IR 87"), (0x00100010, "PN", "A\x1b$B")]
    _, log = xmlout.response_xml(wire(elems, codec.EXPLICIT_LE), codec.EXPLICIT_LE)
    assert log == [
        "W: SpecificCharacterSet (0008,0005) value 'ISO 2022 IR 6\\ISO 2022 IR 87' not supported"
    ]


def test_single_writer_frame_and_failure_leaves_dataset_out() -> None:
    fp = io.BytesIO()
    w = xmlout.SingleXmlWriter(fp)
    good = wire([(0x00100010, "PN", "A")], codec.EXPLICIT_LE)
    bad = wire([(0x00080005, "CS", "FOO "), (0x00100010, "PN", "B")], codec.EXPLICIT_LE)
    assert w.add(good, codec.EXPLICIT_LE) == []
    assert w.add(bad, codec.EXPLICIT_LE)[0].startswith("E: Writing XML file: Cannot select")
    w.close()
    text = fp.getvalue()
    assert text.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<responses type="C-FIND">\n')
    assert text.endswith(b"</data-set>\n</responses>\n") and text.count(b"<data-set") == 1


# --- end to end: files written by a real findscu ----------------------------------------------

E2E = [
    [
        (0x00080005, "CS", "ISO_IR 100"),
        (0x00080050, "SH", "ACC1 "),
        (0x00100010, "PN", "M\xfcller^Ren\xe9 "),
        (0x00100020, "LO", " P1"),
        (0x00101030, "DS", "72.5"),
        (0x00400100, "SQ", [[(0x00080060, "CS", "MR"), (0x00400002, "DA", "20240102")]]),
    ],
    [(0x00100010, "PN", "VIVALDI^ANTONIO "), (0x00100020, "LO", "A<&>'\"")],
    [
        (0x00080005, "CS", "ISO 2022 IR 6\\ISO 2022 IR 87"),
        (0x00100010, "PN", b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"),
    ],
    [(0x00080005, "CS", "ISO_IR 192"), (0x00100010, "PN", "Jos\xe9".encode() + b" ")],
    [(0x00080005, "CS", "FOO "), (0x00100010, "PN", "\xe9&"), (0x00100020, "LO", "\x01\x80")],
]  # each identifier has an even length: DCMTK rejects odd PDV fragments


@pytest.fixture
def scp():
    """The raw SCP answering with the E2E identifiers; yields (port, sent)."""
    sent: list[tuple[bytes, str]] = []

    def identifiers(ts: codec.TransferSyntax) -> list[bytes]:
        out = [wire(elems, ts) for elems in E2E]
        sent.extend((data, ts.uid) for data in out)
        return out

    with raw_scp(identifiers) as port:
        yield port, sent


@needs_findscu
@pytest.mark.parametrize("xfer", ["", "-xi", "-xb", "-xd"])
def test_findscu_xx_and_xs_files(scp, xfer: str, tmp_path: Path) -> None:
    port, sent = scp
    opts = [xfer] if xfer else []
    run = findscu(port, tmp_path, *opts, "-Xx")
    assert run.returncode == 0, run.stderr
    expected_log: list[str] = []
    for n, (data, uid) in enumerate(sent, 1):
        doc, log = xmlout.response_xml(data, codec.TRANSFER_SYNTAXES[uid])
        assert (tmp_path / f"rsp{n:04d}.xml").read_bytes() == doc
        expected_log += log
    assert logged(run) == expected_log

    sent.clear()
    run = findscu(port, tmp_path, *opts, "-Xs", "all.xml")
    assert run.returncode == 0, run.stderr
    fp = io.BytesIO()
    writer = xmlout.SingleXmlWriter(fp)
    expected_log = []
    for data, uid in sent:
        expected_log += writer.add(data, codec.TRANSFER_SYNTAXES[uid])
    writer.close()
    assert (tmp_path / "all.xml").read_bytes() == fp.getvalue()
    assert logged(run) == expected_log


@needs_dcm2xml
def test_implicit_pseudo_vrs_match_dcm2xml(tmp_path: Path) -> None:
    """xs/ox resolved from PixelRepresentation / WaveformBitsAllocated, as DCMTK reads them."""
    items = [
        [(0x00280103, "US", [1]), (0x00280106, "SS", [-2]), (0x00283002, "US", [1, 2, 3])],
        [(0x00280103, "US", [0]), (0x00280106, "US", [2])],
        [(0x00280106, "US", [5]), (0x7FE00010, "OW", [1])],
        [(0x54001004, "US", [8]), (0x54001010, "OB", b"ab")],
        [(0x00090010, "LO", "SIEMENS CSA HEADER"), (0x00091008, "CS", "X ")],
    ]
    ts = codec.IMPLICIT_LE
    data = wire([(0x00081199, "SQ", items)], ts)
    ref, _ = dcm2xml_dataset(data, ts, tmp_path)
    assert ref and ours_corrected(data, ts) == ref
