"""The XML renderer: the Cython ``_codec_xml.pxi`` against its twin ``_codec_xml_py.py``, and the
DCMTK rules both follow, checked against the real dcm2xml / findscu.

* parity: generated identifiers (every VR, all four transfer syntaxes, nested and undefined-length
  sequences and items, UN of undefined length, private creators, pseudo VRs, character sets with
  ISO 2022 escapes, garbage values and raw garbage) give the same bytes and log lines;
* DCMTK's ``%g`` (``dcmtk_float``) in C against the Python function, on hypothesis floats and on
  random bit patterns (subnormals, NaN and infinities included);
* differentials: UN elements of undefined length, private creators, implicit VRs of odd groups,
  character sets findscu does not convert.
"""

from __future__ import annotations

import os
import random
import struct
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec import load_impl

from fastfind import _codec_py as py
from fastfind import _codec_xml_py as xp
from fastfind import codec
from fastfind.dicom import dictionary
from fastfind.errors import CodecError
from fastfind.options import Limits
from fastfind.output import dump

from xmlref import (
    ALL_TS,
    DCM2XML,
    FINDSCU,
    dcm2xml_dataset,
    encode,
    findscu,
    logged,
    raw_scp,
    wire,
)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from fuzz import harnesses as h  # noqa: E402

needs_dcm2xml = pytest.mark.skipif(DCM2XML is None, reason="DCMTK dcm2xml not installed")
needs_findscu = pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu not installed")
SETTINGS = settings(  # FASTFIND_PARITY_EXAMPLES=20000 for a longer local soak
    max_examples=int(os.environ.get("FASTFIND_PARITY_EXAMPLES", "300")), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TS_INDEX = {name: h.TRANSFER_SYNTAXES.index(ts) for name, ts in ALL_TS.items()}


@pytest.fixture(scope="module")
def cy() -> ModuleType:
    return load_impl("cython")


@pytest.fixture(params=["python", "cython"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "python":
        return py
    return request.getfixturevalue("cy")


def render(mod: ModuleType, fn: str, elems: list, ts: codec.TransferSyntax,
           correct: bool = False) -> tuple[bytes, list[str]]:
    plain = encode(elems, ts.implicit, ts.little)
    return getattr(mod, fn)(plain, mod.walk(plain, ts.implicit, ts.little, codec.SQ_TAGS), ts,
                            correct)


# ---- generated identifiers -------------------------------------------------------------------
VRS = ("AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SS ST SV TM UC UI UL UN "
       "UR US UT UV").split()


def _tags_by_vr() -> list[tuple[int, str]]:
    """Two public tags of every VR (pydicom's dictionary), plus DCMTK's pseudo-VR cases."""
    from pydicom.datadict import DicomDictionary

    out: dict[str, list[int]] = {}
    for tag, entry in sorted(DicomDictionary.items()):
        vr = entry[0]
        if vr in VRS and not entry[3] and tag >> 16 > 2 and len(out.setdefault(vr, [])) < 2:
            out[vr].append(tag)
    pairs = [(tag, vr) for vr, tags in out.items() for tag in tags]
    return pairs + [
        (0x00280103, "US"), (0x00280106, "US"), (0x00280120, "SS"), (0x00283002, "US"),
        (0x00283006, "OW"), (0x00041200, "UL"), (0x54001004, "US"), (0x54001010, "OW"),
        (0x60003000, "OW"), (0x60023000, "OB"), (0x60013000, "OW"), (0x50003000, "OB"),
        (0x7FE00010, "OW"), (0x00080005, "CS"),
    ]


LEAF_TAGS = _tags_by_vr()
SEQ_TAGS = [0x00081110, 0x00081199, 0x00400275, 0x00091002]
CREATORS = [0x00090010, 0x00290010, 0x00110010]
PRIVATE = [0x00091001, 0x00091002, 0x00291008, 0x00291010, 0x00111001]
CREATOR_VALUES = [b"ACUSON", b"SIEMENS CSA HEADER", b"GEMS_IDEN_01", b" ACUSON ", b"ACUSON\0\0",
                  b"ACUSON  ", b"", b"X\0"]
CHARSETS = [c.decode() for c in h.XML_CHARSETS] + [
    "ISO_IR 6", "ISO 2022 IR 6\\ISO 2022 IR 58 ", "GBK ", "ISO 2022 IR 6\\ISO 2022 IR 166 ",
    "ISO 2022 IR 13\\ISO 2022 IR 87 ", "ISO 2022 IR 6\\\\ISO 2022 IR 100 ", " ISO_IR 100",
]
text = st.one_of(st.lists(st.sampled_from(h.XML_FRAGMENTS), max_size=8).map(b"".join),
                 st.binary(max_size=24))


def _floats(width: int, code: str) -> st.SearchStrategy[bytes]:
    return st.lists(st.floats(width=width), max_size=4).map(
        lambda v: struct.pack(f"<{len(v)}{code}", *v))


@st.composite
def leaf(draw: st.DrawFn) -> tuple[int, str, bytes]:
    choice = draw(st.integers(0, 11))
    if choice == 0:
        tag, vr = 0x00080005, "CS"
        value = draw(st.sampled_from(CHARSETS).map(str.encode) | text)
    elif choice == 1:
        tag, vr = draw(st.sampled_from(CREATORS)), "LO"
        value = draw(st.sampled_from(CREATOR_VALUES) | text)
    elif choice == 2:
        tag, vr, value = draw(st.sampled_from(PRIVATE)), draw(st.sampled_from(VRS)), draw(text)
    elif choice == 3:
        tag = draw(st.integers(0x00030000, 0xFFFDFFFF).filter(lambda t: t not in codec.SQ_TAGS))
        vr, value = draw(st.sampled_from(VRS)), draw(text)
    else:
        tag, vr = draw(st.sampled_from(LEAF_TAGS))
        if draw(st.integers(0, 9)) == 0:
            vr = draw(st.sampled_from(VRS))  # an explicit VR other than the dictionary's
        if vr in ("FL", "OF"):
            value = draw(_floats(32, "f") | text)
        elif vr in ("FD", "OD"):
            value = draw(_floats(64, "d") | text)
        elif tag in (0x00280103, 0x54001004):
            value = draw(st.sampled_from([b"\1\0", b"\0\0", b"\0\1", b"\x08\0", b"\1", b""]))
        else:
            value = draw(text)
    return tag, vr, value


@st.composite
def sequence(draw: st.DrawFn, depth: int) -> tuple[int, str, object]:
    tag = draw(st.sampled_from(SEQ_TAGS))
    items: list = []
    for _ in range(draw(st.integers(0, 3))):
        content = draw(element_list(depth + 1))
        items.append(("U", content) if draw(st.booleans()) else content)
    kind = draw(st.sampled_from(["SQ", "undefined", "UN"]))
    if kind == "SQ":
        return tag, "SQ", items
    return tag, "UN" if kind == "UN" else "SQ", ("U", items)


@st.composite
def element_list(draw: st.DrawFn, depth: int = 0) -> list:
    out = []
    for _ in range(draw(st.integers(0, 7))):
        if depth < 3 and draw(st.integers(0, 5)) == 0:
            out.append(draw(sequence(depth)))
        else:
            out.append(draw(leaf()))
    if draw(st.integers(0, 3)):  # mostly ascending, as PS3.5 §7.1 wants; sometimes not
        out.sort(key=lambda e: e[0])
    return out


@SETTINGS
@given(elems=element_list(), ts_name=st.sampled_from(sorted(ALL_TS)))
def test_renderers_agree(cy: ModuleType, elems: list, ts_name: str) -> None:
    ts = ALL_TS[ts_name]
    plain = encode(elems, ts.implicit, ts.little)
    codec.walk(plain, ts.implicit, ts.little, codec.SQ_TAGS, 64)  # generated to be walkable
    h.check_xml(plain, TS_INDEX[ts_name])


@SETTINGS
@given(plain=st.binary(max_size=400), ts_name=st.sampled_from(sorted(ALL_TS)))
def test_renderers_agree_on_garbage(cy: ModuleType, plain: bytes, ts_name: str) -> None:
    h.check_xml(plain, TS_INDEX[ts_name])


def test_fuzz_seeds_render_alike(cy: ModuleType) -> None:
    for data in h.seeds()["xml"]:
        h.fuzz_xml(data)


# ---- DCMTK's %g digits ------------------------------------------------------------------------
@pytest.mark.parametrize(  # all read from dcm2xml's output (FD: precision 17, FL: 9)
    "value, prec, text",
    [(0.0, 17, "0"), (-0.0, 17, "0"), (0.1, 17, "0.1"), (1e300, 17, "1.0000000000000007e+300"),
     (-2.5e-10, 17, "-2.5e-10"), (123.0, 17, "123"), (float("-inf"), 17, "-inf"),
     (float("nan"), 17, "nan"), (5e-324, 17, "4.9406564584124659e-324"),
     (99999.95, 17, "99999.949999999997"), (1e16, 17, "10000000000000000"), (1e17, 17, "1e+17"),
     (0.00012345, 17, "0.00012344999999999997"), (2 / 3, 17, "0.66666666666666661"),
     (1.7976931348623157e308, 17, "1.7976931348623167e+308"),
     (0.10000000149011612, 9, "0.100000001"), (1.401298464324817e-45, 9, "1.40129846e-45"),
     (16777216.0, 9, "16777216"), (3.4028234663852886e38, 9, "3.40282347e+38")],
)
def test_dcmtk_float_golden(impl: ModuleType, value: float, prec: int, text: str) -> None:
    assert impl.dcmtk_float(value, prec) == text
    assert dump.dcmtk_float(value, prec) == text


@settings(max_examples=3000, deadline=None)
@given(x=st.floats(width=64) | st.floats(width=32, allow_subnormal=True),
       prec=st.sampled_from([0, 1, 2, 6, 8, 9, 15, 16, 17, 18, 25, 40, 64]))
def test_dcmtk_float_c_is_the_python_function(cy: ModuleType, x: float, prec: int) -> None:
    assert cy.dcmtk_float(x, prec) == dump.dcmtk_float(x, prec)


def _bit_patterns(n: int, seed: int) -> list[tuple[float, int]]:
    """FL values (from 32-bit patterns) at precision 9 and FD values (64-bit) at 17, uniform
    over the bit patterns: every exponent, subnormals, NaN payloads, infinities."""
    rng = random.Random(seed)
    out = []
    for _ in range(n // 2):
        out.append((struct.unpack("<f", rng.getrandbits(32).to_bytes(4, "little"))[0], 9))
        out.append((struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0], 17))
    return out


def test_dcmtk_float_bit_patterns(cy: ModuleType) -> None:
    pairs = _bit_patterns(200_000, 20240101)
    bad = [(x, p) for x, p in pairs if cy.dcmtk_float(x, p) != dump.dcmtk_float(x, p)]
    assert not bad[:10]


@pytest.mark.slow
def test_dcmtk_float_millions(cy: ModuleType) -> None:
    pairs = _bit_patterns(3_000_000, 7)
    bad = [(x, p) for x, p in pairs if cy.dcmtk_float(x, p) != dump.dcmtk_float(x, p)]
    assert not bad[:10]


def test_dcmtk_float_odd_arguments_are_the_python_function(cy: ModuleType) -> None:
    for x, prec in ((1.5, 100), (1.5, -1), (3, 9), (True, 17)):
        assert cy.dcmtk_float(x, prec) == dump.dcmtk_float(x, prec)


# ---- contract of the two functions ----------------------------------------------------------------
def test_tokens_outside_the_data_are_refused(impl: ModuleType) -> None:
    ts = codec.EXPLICIT_LE
    plain = encode([(0x00100010, "PN", "Doe^John")], False, True)
    toks = impl.walk(plain, False, True, codec.SQ_TAGS)
    for fn in ("xml_document", "xml_dataset_utf8"):
        with pytest.raises(CodecError, match="outside the 8 bytes"):
            getattr(impl, fn)(plain[:8], toks, ts)


def test_deep_nesting_and_wide_containers(impl: ModuleType) -> None:
    """Nothing recurses on the data and a container is ordered in O(n log n)."""
    elems: list = [(0x00100010, "PN", "X")]
    for _ in range(300):
        elems = [(0x00081110, "SQ", ("U", [("U", elems)]))]
    wide = [(0x00090000 + 2 * k, "LO", "AB") for k in range(20000, 0, -1)]
    ts = codec.EXPLICIT_LE
    for case in (elems, wide):
        plain = encode(case, False, True)
        toks = impl.walk(plain, False, True, codec.SQ_TAGS, 1000)
        doc, log = impl.xml_document(plain, toks, ts)
        assert doc.count(b"<element") == (1 if case is elems else 20000) and log == []


def test_only_escaped_or_multibyte_values_reach_python(cy: ModuleType,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = xp.decode_value

    def counting(value: bytes, encodings: tuple[str, ...], vr: int) -> bytes:
        calls.append(value)
        return real(value, encodings, vr)

    monkeypatch.setattr(xp, "decode_value", counting)
    ts = codec.EXPLICIT_LE
    iso2022 = [(0x00080005, "CS", "ISO 2022 IR 6\\ISO 2022 IR 149 "), (0x00080090, "PN", "A^B"),
               (0x00100010, "PN", b"Hong^Gildong=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6"),
               (0x00100020, "LO", "ID 1")]
    latin1 = [(0x00080005, "CS", "ISO_IR 100"), (0x00100010, "PN", "M\xfcller^Ren\xe9"),
              (0x00101000, "LO", b"\xe9" * 30)]
    doc, log = render(cy, "xml_dataset_utf8", iso2022, ts)
    assert calls == [b"Hong^Gildong=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6"] and log == []
    assert "Hong^Gildong=홍^길".encode() in doc
    calls.clear()
    doc, _ = render(cy, "xml_dataset_utf8", latin1, ts)
    assert calls == [] and "Müller^René".encode() in doc


def test_a_new_dictionary_is_used_at_once(impl: ModuleType, tmp_path: Path) -> None:
    """Entries are cached in C; loading another dictionary (DCMDICTPATH) drops them."""
    dic = tmp_path / "mini.dic"
    dic.write_text("(0010,0010)\tPN\tNameOfThePatient\t1\tT\n(0029,0010)\tLO\tCreator\t1\tT\n"
                   "(0029,\"ACUSON\",01)\tUS\tPriv\t1\tT\n")
    elems = [(0x00100010, "PN", "A"), (0x00290010, "LO", "ACUSON"), (0x00291001, "UN", b"\1\0")]
    ts = codec.IMPLICIT_LE
    before = render(impl, "xml_document", elems, ts)[0]
    try:
        assert dictionary.load_files([str(dic)]) == []
        doc = render(impl, "xml_document", elems, ts)[0]
        assert b'name="NameOfThePatient">A<' in doc
        assert b'<element tag="0029,1001" vr="US" vm="1" len="2" name="Priv">1<' in doc
    finally:
        dictionary.use_default()
    assert render(impl, "xml_document", elems, ts)[0] == before


def test_dictionary_cache_is_bounded(impl: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """More distinct tags than the cache holds: it is dropped and refilled, same output."""
    monkeypatch.setattr(xp, "MAX_CACHED", 100)
    elems = [(0x00130000 + k, "UN", b"") for k in range(300)]
    small = [(0x00100010, "PN", "A")]
    ts = codec.EXPLICIT_LE
    first = render(impl, "xml_document", elems, ts)
    assert render(impl, "xml_document", elems, ts) == first
    assert first[0].count(b"<element") == len(elems)
    assert b'name="PatientName">A<' in render(impl, "xml_document", small, ts)[0]


# ---- DCMTK: UN of undefined length ------------------------------------------------------------------
UN_CASE = [
    (0x00080005, "CS", "ISO_IR 100"),
    (0x00081110, "UN", ("U", [
        [(0x00080100, "SH", "CODE"), (0x00080104, "LO", "M\xe9aning "), (0x00280103, "US", [1]),
         (0x00280106, "US", [5]), (0x00181310, "US", [1, 2]), (0x00209165, "AT", [0x10, 0x20])],
        ("U", [(0x00100010, "PN", "M\xfcller^Hans "), (0x00280106, "US", [7])]),
    ])),
    (0x00090010, "LO", "ACUSON"),
    (0x00091001, "UN", ("U", [[(0x00080100, "SH", "AB")]])),
    (0x00100010, "UN", ("U", [])),
    (0x00330010, "UN", ("U", [[(0x00100020, "LO", "X ")]])),
    (0x00400275, "UN", ("U", [[(0x00400009, "SH", "SPS1"),
                               (0x00081110, "UN", ("U", [[(0x00080100, "SH", "IN")]]))]])),
]


@needs_dcm2xml
@pytest.mark.parametrize("ts_name", ["explicit", "big"])
@pytest.mark.parametrize("utf8", [False, True])
def test_un_of_undefined_length_matches_dcm2xml(impl: ModuleType, ts_name: str, utf8: bool,
                                                tmp_path: Path) -> None:
    """DCMTK reads such an element as a sequence of implicit VR little endian items (CP-246) and
    writes it as vr="SQ"; numbers inside are little endian even in a big endian data set."""
    ts = ALL_TS[ts_name]
    data = wire(UN_CASE, ts)
    ref, err = dcm2xml_dataset(data, ts, tmp_path, *(["+U8"] if utf8 else []))
    assert "with VR UN and undefined length, reading a sequence" in err
    ours, _ = render(impl, "xml_dataset_utf8" if utf8 else "xml_document", UN_CASE, ts, True)
    assert ref.count(b'vr="SQ"') == 6 and b'vr="UN"' not in ref
    assert (ours if utf8 else ours.split(b"\n", 1)[1]) == ref


@needs_findscu
def test_un_of_undefined_length_matches_findscu(impl: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    """The same end to end: findscu's -Xx and -Xs files. Its CP-246 warning is printed when the
    identifier is read, whatever the output option: not the XML writer's."""
    monkeypatch.setattr(codec, "xml_document", impl.xml_document)
    monkeypatch.setattr(codec, "xml_dataset_utf8", impl.xml_dataset_utf8)
    monkeypatch.setattr(codec, "walk", impl.walk)
    _against_findscu([UN_CASE, UN_CASE[:2]], tmp_path, expect_read_warning="(CP-246)")


def _against_findscu(cases: list[list], tmp_path: Path, expect_read_warning: str = "") -> None:
    from fastfind.output import dcmtk_xml as xmlout

    sent: list[bytes] = []
    used: list[codec.TransferSyntax] = []

    def identifiers(ts: codec.TransferSyntax) -> list[bytes]:
        out = [wire(elems, ts) for elems in cases]
        assert all(len(d) % 2 == 0 for d in out), "findscu refuses odd PDV fragments"
        sent[:] = out
        used[:] = [ts]
        return out

    with raw_scp(identifiers) as port:
        xx, xs = tmp_path / "xx", tmp_path / "xs"
        xx.mkdir()
        xs.mkdir()
        run_xx = findscu(port, xx, "-Xx")
        run_xs = findscu(port, xs, "-Xs", "all.xml")
    assert run_xx.returncode == 0 and run_xs.returncode == 0, run_xx.stderr + run_xs.stderr
    assert expect_read_warning.encode() in run_xx.stderr
    ts = used[0]
    expected: list[str] = []
    for n, data in enumerate(sent, 1):
        doc, log = xmlout.response_xml(data, ts)
        assert (xx / f"rsp{n:04d}.xml").read_bytes() == doc
        expected += log
    assert logged(run_xx) == expected
    writer_file = tmp_path / "ours.xml"
    with writer_file.open("wb") as fp:
        writer = xmlout.SingleXmlWriter(fp)
        expected = [line for data in sent for line in writer.add(data, ts)]
        writer.close()
    assert (xs / "all.xml").read_bytes() == writer_file.read_bytes()
    assert logged(run_xs) == expected


# ---- DCMTK: private creators, odd groups, character sets left alone -------------------------
PRIVATE_CASES = [  # ACUSON (0009,xx01) is IS "Unknown" in both DCMTK's and pydicom's dictionary
    [(0x00090010, "LO", "ACUSON"), (0x00091001, "IS", "1 ")],  # known
    [(0x00091001, "IS", "1 "), (0x00090010, "LO", "ACUSON")],  # creator read after it
    [(0x00090010, "LO", ""), (0x00090010, "LO", "ACUSON"), (0x00091001, "IS", "1 ")],  # 1st empty
    [(0x00090010, "LO", "ACUSON  "), (0x00091001, "IS", "1 ")],  # padding is not stripped
    [(0x00090010, "LO", "ACUSON\0\0"), (0x00091001, "IS", "1 ")],  # a C string: ends at NUL
    [(0x00090010, "LO", " ACUSON "), (0x00091001, "IS", "1 ")],
    [(0x00090010, "UN", "ACUSON"), (0x00091001, "IS", "1 ")],  # not a string VR
    [(0x00090010, "SH", "ACUSON"), (0x00091001, "IS", "1 ")],
    [(0x00090010, "LO", "ACUSON"), (0x00081110, "SQ", [[(0x00091001, "IS", "1 ")]])],  # per item
    [(0x00080005, "CS", "ISO_IR 192"), (0x00100010, "PN", b"bad \xff ")],  # not converted
    [(0x00080005, "CS", ""), (0x00100010, "PN", b"bad \xff ")],
    [(0x00100010, "PN", b"Jos\xe9")],
    [(0x00080005, "CS", "ISO_IR 100"),
     (0x00081110, "SQ", [[(0x00080005, "CS", "ISO_IR 126"), (0x00100010, "PN", b"Jos\xe9")]])],
    [(0x00080005, "CS", "\\ISO 2022 IR 100"), (0x00100010, "PN", b"Jo\x1b-A\xe9")],
]  # every identifier of an even length


@needs_findscu
@pytest.mark.parametrize("implicit", [False, True])
def test_private_creators_and_charsets_match_findscu(
    impl: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, implicit: bool
) -> None:
    monkeypatch.setattr(codec, "xml_document", impl.xml_document)
    monkeypatch.setattr(codec, "xml_dataset_utf8", impl.xml_dataset_utf8)
    monkeypatch.setattr(codec, "walk", impl.walk)
    if not implicit:
        _against_findscu(PRIVATE_CASES, tmp_path)
        return
    # implicit VR: the creator decides the VR too (IS when known, UN otherwise)
    cases = [c for c in PRIVATE_CASES if all(vr != "UN" for _, vr, _ in c)]
    _against_findscu_implicit(cases, tmp_path)


def _against_findscu_implicit(cases: list[list], tmp_path: Path) -> None:
    from fastfind.output import dcmtk_xml as xmlout

    ts = codec.IMPLICIT_LE
    datas = [wire(elems, ts) for elems in cases]
    with raw_scp(lambda _ts: datas) as port:
        run = findscu(port, tmp_path, "-xi", "-Xx")
    assert run.returncode == 0, run.stderr
    expected: list[str] = []
    for n, data in enumerate(datas, 1):
        doc, log = xmlout.response_xml(data, ts)
        assert (tmp_path / f"rsp{n:04d}.xml").read_bytes() == doc
        expected += log
    assert logged(run) == expected


DICOM_DIC = next(iter(sorted(Path("/usr/share").glob("libdcmtk*/dicom.dic"))), None)


@needs_dcm2xml
@pytest.mark.skipif(DICOM_DIC is None, reason="DCMTK's dicom.dic not found")
def test_pseudo_vrs_of_odd_groups_match_dcm2xml(impl: ModuleType, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """OverlayData/CurveData's "OB or OW" rule is for even groups only (DcmTagKey::getBaseTag
    masks 0xFF01): an odd-group "ox" entry stays ox, written OB. dump.py masks 0xFF00."""
    odd = tmp_path / "odd.dic"
    odd.write_text("(6001,3000)\tox\tOddOverlayData\t1\tT\n(5001,3000)\tox\tOddCurveData\t1\tT\n")
    item = [(0x00283006, "OW", [1, 2]), (0x50003000, "OB", b"cd"), (0x50013000, "OB", b"cd"),
            (0x54001010, "OW", b"ab"), (0x60003000, "OW", b"ef"), (0x60013000, "OB", b"gh"),
            (0x60023000, "OW", b"ef"), (0x7FE00010, "OW", b"\1\2")]
    elems = [(0x00081199, "SQ", [item, [(0x54001004, "US", [16]), (0x54001010, "OW", b"ab")]])]
    ts = codec.IMPLICIT_LE
    monkeypatch.setenv("DCMDICTPATH", f"{DICOM_DIC}:{odd}")
    try:
        assert dictionary.load_from_environment() == []
        ref, _ = dcm2xml_dataset(wire(elems, ts), ts, tmp_path)
        ours, _ = render(impl, "xml_document", elems, ts, True)
    finally:
        dictionary.use_default()
    assert b'tag="6001,3000" vr="OB"' in ref and b'tag="5001,3000" vr="OB"' in ref
    assert ours.split(b"\n", 1)[1] == ref


def test_limits_are_the_walks(impl: ModuleType) -> None:
    """The renderer takes the run's validated walk: nesting deeper than the default 64 renders
    when the walk allowed it (the -Xx re-walk with default limits is gone)."""
    elems: list = [(0x00100010, "PN", "X")]
    for _ in range(70):
        elems = [(0x00081110, "SQ", [elems])]
    data = wire(elems, codec.EXPLICIT_LE)
    plain, _ = codec.walk_identifier(data, codec.EXPLICIT_LE, Limits(max_nesting=100))
    toks = impl.walk(plain, False, True, codec.SQ_TAGS, 100)
    doc, _ = impl.xml_document(plain, toks, codec.EXPLICIT_LE)
    assert doc.count(b"<sequence") == 70


# ---- end to end at scale: the CLI against findscu on the replay SCP ---------------------------
@needs_findscu
@pytest.mark.parametrize("xfer", ["", "-xi", "-xb", "-xd"])
def test_cli_files_equal_findscus_on_the_replay_scp(xfer: str, tmp_path: Path) -> None:
    """fastfind -Xx / -Xs and findscu -Xx / -Xs, same worklist responses (sequences, ISO_IR 100,
    every transfer syntax): every file byte for byte."""
    import subprocess

    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    import replay_scp

    server = replay_scp.start(port=0, responses=300, kind="worklist", distinct=300)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        for opts in (["-Xx"], ["-Xs", "all.xml"]):
            outs = []
            for tool in ([sys.executable, "-m", "fastfind"], [str(FINDSCU)]):
                out = tmp_path / f"{len(outs)}{opts[0]}"
                out.mkdir()
                cmd = [*tool, "-q", "-W", *([xfer] if xfer else []), "-k", "PatientName=", *opts,
                       "-od", str(out), "127.0.0.1", str(server.port)]
                run = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
                assert run.returncode == 0, run.stderr
                outs.append({p.name: p.read_bytes() for p in out.iterdir()})
            assert len(outs[0]) == (300 if opts[0] == "-Xx" else 1)
            assert outs[0] == outs[1]
    finally:
        server.stop()
