"""The data dictionary against DCMTK 3.6.7's own ``dicom.dic`` and ``DCMDICTPATH`` rules."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastfind.dicom import dictionary

DICOM_DIC = Path("/usr/share/libdcmtk17/dicom.dic")
PRIVATE_DIC = Path("/usr/share/libdcmtk17/private.dic")
needs_dic = pytest.mark.skipif(not DICOM_DIC.exists(), reason="DCMTK dicom.dic not installed")

#: Entries that differ because pydicom follows a newer edition of PS3.6 than DCMTK 3.6.7
#: (2022b): elements retired since then, and one VM change.
KNOWN_NAME_DIFFERENCES = 9


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    dictionary.use_default()
    yield
    dictionary.use_default()


@pytest.fixture(scope="module")
def dcmtk_dic() -> dictionary._Dictionary:
    if not DICOM_DIC.exists():
        pytest.skip("DCMTK dicom.dic not installed")
    d = dictionary._Dictionary()
    log: list[tuple[str, str]] = []
    assert dictionary.load_file(d, str(DICOM_DIC), log) is True
    assert log == []
    return d


@needs_dic
def test_default_matches_dcmtk_names_and_vrs(dcmtk_dic: dictionary._Dictionary) -> None:
    default = dictionary._default()
    names = vrs = missing = 0
    for (tag, _creator), (vr, _vm, name) in dcmtk_dic.exact.items():
        found = default.find(tag)
        if found is None:
            missing += 1
            continue
        names += found[2] != name
        vrs += found[0] != vr
    assert vrs == 0
    assert names <= KNOWN_NAME_DIFFERENCES
    assert missing <= 1  # CurrentFrameFunctionalGroupsSequence, removed from the standard


@needs_dic
def test_repeating_groups_match_dcmtk(dcmtk_dic: dictionary._Dictionary) -> None:
    default = dictionary._default()
    for rng in dcmtk_dic.ranges:
        for group in {rng.glo, rng.glo + 1, rng.glo + 2, rng.ghi}:
            for elem in {rng.elo, rng.elo + 1, rng.ehi}:
                tag = group << 16 | elem
                assert default.find(tag) == dcmtk_dic.find(tag), hex(tag)


_DCMTK_DIC: list[dictionary._Dictionary] = []


@needs_dic
@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_random_tags_agree_with_dcmtk(tag: int) -> None:
    if not _DCMTK_DIC:
        _DCMTK_DIC.append(dictionary._Dictionary())
        dictionary.load_file(_DCMTK_DIC[0], str(DICOM_DIC), [])
    ours, theirs = dictionary._default().find(tag), _DCMTK_DIC[0].find(tag)
    if ours is not None and theirs is not None:
        assert ours[0] == theirs[0]
    if theirs is None:
        assert ours is None or tag >> 16 in (0x0008, 0x0018, 0x0040, 0x0070, 0x0072, 0x3010)


def test_lookups() -> None:
    assert dictionary.tag_for_name("PatientName") == 0x00100010
    assert dictionary.tag_for_name("patientname") is None
    assert dictionary.tag_for_name("OverlayRows") == 0x60000010
    assert dictionary.tag_for_name("RETIRED_DataSetType") == 0x00080040
    assert dictionary.entry(0x00100010) == ("PN", "1", "PatientName")
    assert dictionary.entry(0x60020010)[2] == "OverlayRows"  # type: ignore[index]
    assert dictionary.entry(0x60010010)[2] == "PrivateCreator"  # type: ignore[index]
    assert dictionary.entry(0x00090000)[2] == "PrivateGroupLength"  # type: ignore[index]
    assert dictionary.entry(0x00080000)[2] == "GenericGroupLength"  # type: ignore[index]
    assert dictionary.entry(0x00091001) is None


@pytest.mark.parametrize(
    "tag,vr",
    [
        (0x00100010, "PN"),
        (0x00091001, "UN"),
        (0x00090010, "LO"),
        (0x001100FF, "LO"),
        (0x00281101, "US"),  # xs
        (0x00041200, "UL"),  # up
        (0x00283006, "OW"),  # lt
        (0x60003000, "OB"),  # ox
        (0x7FE00010, "OB"),  # px
        (0x00400100, "SQ"),
        (0x00190000, "UL"),
    ],
)
def test_vr_for_tag(tag: int, vr: str) -> None:
    assert dictionary.vr_for_tag(tag) == vr


def test_private_creator_vr() -> None:
    assert dictionary.vr_for_tag(0x00191002, "GEMS_ACQU_01") == "SL"  # as in DCMTK private.dic
    assert dictionary.vr_for_tag(0x00191102, "GEMS_ACQU_01") == "SL"  # any block
    assert dictionary.vr_for_tag(0x00191002, "OTHER") == "UN"
    assert dictionary.vr_for_tag(0x00191002) == "UN"


def test_dcmdictpath_unloadable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCMDICTPATH", "/nonexistent")
    assert dictionary.load_from_environment() == [
        ("E", "DcmDataDictionary: Cannot open file: /nonexistent"),
        ("W", "no data dictionary loaded, check environment variable: DCMDICTPATH"),
    ]
    assert not dictionary.is_loaded()
    assert dictionary.tag_for_name("PatientName") is None
    assert dictionary.entry(0x00100010) is None
    assert dictionary.vr_for_tag(0x00100010) == "UN"
    assert dictionary.entry(0x00100000)[2] == "GenericGroupLength"  # type: ignore[index]
    assert dictionary.tag_for_name("Item") == 0xFFFEE000  # DCMTK's skeleton dictionary
    monkeypatch.setenv("DCMDICTPATH", "")
    assert dictionary.load_from_environment() == []
    assert dictionary.tag_for_name("PatientName") == 0x00100010


def test_dcmdictpath_custom_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dic = tmp_path / "my.dic"
    dic.write_text(
        "# comment\n"
        "\n"
        "(0010,0010)\tLO\tMyName\t1\tDICOM\n"
        "(0011-o-0013,0010-u-00FF)\tLO\tMyCreator\t1\tPRIVATE\n"
        "(6000-60FF,0010)\tUS\tMyRows\t1\n"
        '(0019,"ACME",10)\tDS\tAcmeThing\t1-n\tPrivateTag\n'
        "(0020,3100-31FF)\tCS\tMyIDs\t1-n\n"
    )
    monkeypatch.setenv("DCMDICTPATH", f"{dic}::/nonexistent")
    assert dictionary.load_from_environment() == [
        ("E", "DcmDataDictionary: Cannot open file: /nonexistent")
    ]
    assert dictionary.is_loaded()
    assert dictionary.tag_for_name("PatientName") is None
    assert dictionary.tag_for_name("MyName") == 0x00100010
    assert dictionary.entry(0x00130020) == ("LO", "1", "MyCreator")
    assert dictionary.entry(0x00120020) is None  # odd groups only
    assert dictionary.entry(0x60020010)[2] == "MyRows"  # type: ignore[index]
    assert dictionary.entry(0x60010010) is None  # even groups only by default
    assert dictionary.entry(0x00203102)[2] == "MyIDs"  # type: ignore[index]
    assert dictionary.entry(0x00203101) is None
    assert dictionary.entry_for(0x00191010, "ACME") == ("DS", "1-n", "AcmeThing")
    assert dictionary.entry(0x00191010) is None
    assert dictionary.tag_for_name("AcmeThing") == 0x00190010  # DCMTK resolves to the key


def test_dcmdictpath_bad_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dic = tmp_path / "bad.dic"
    dic.write_text(
        "(0010,0010)\tPN\tPatientName\t1\n"
        "(0010,0020)\tZZ\tPatientID\t1\n"
        "0010,0030\tDA\tBirth\t1\n"
        "(0010,0040)\tCS\n"
        "(0010,0050)\tCS\tX\t1\tDICOM\textra\n"
        "(0010,0060)\tCS\tY\tq\n"
    )
    monkeypatch.setenv("DCMDICTPATH", str(dic))
    where = f"DcmDataDictionary: {dic}: "
    assert dictionary.load_from_environment() == [
        ("E", f"{where}bad VR field (line 2): ZZ"),
        ("E", f"{where}bad Tag field (line 3): 0010,0030"),
        ("E", f"{where}too few fields (line 4)"),
        ("E", f"{where}too many fields (line 5): "),
        ("E", f"{where}bad VM field (line 6): q"),
        ("W", "no data dictionary loaded, check environment variable: DCMDICTPATH"),
    ]
    assert dictionary.tag_for_name("PatientName") == 0x00100010  # good lines still count


@pytest.mark.skipif(shutil.which("dcmdump") is None, reason="DCMTK dcmdump not installed")
@pytest.mark.interop
def test_dcmtk_reports_the_same_dictionary_errors(tmp_path: Path) -> None:
    dic = tmp_path / "bad.dic"
    dic.write_text("(0010,0020)\tZZ\tPatientID\t1\n(0010,0040)\tCS\n")
    env = dict(os.environ, DCMDICTPATH=f"{dic}:/nonexistent")
    done = subprocess.run(
        ["dcmdump", str(tmp_path / "missing.dcm")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    lines = [ln for ln in done.stderr.splitlines() if "DcmDataDictionary" in ln]
    os.environ.pop("DCMDICTPATH", None)
    expected = dictionary.load_files([str(dic), "/nonexistent"])
    assert lines == [f"{level}: {text}" for level, text in expected if "DcmDataDictionary" in text]


@needs_dic
def test_dcmdictpath_with_dcmtk_files(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [str(DICOM_DIC)] + ([str(PRIVATE_DIC)] if PRIVATE_DIC.exists() else [])
    monkeypatch.setenv("DCMDICTPATH", ":".join(paths))
    assert dictionary.load_from_environment() == []
    assert dictionary.tag_for_name("PatientName") == 0x00100010
    assert dictionary.vr_for_tag(0x00280106) == "US"
    assert dictionary.entry(0x00380004)[2] == "ReferencedPatientAliasSequence"  # type: ignore[index]
