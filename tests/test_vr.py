"""fastfind.dicom.vr is the one place of the VR facts: the parts that keep their own spelling of
a table agree with it, and the implicit-VR rule is DCMTK's (the overlay/curve groups 60xx/50xx
are the even ones: DcmTagKey::getBaseTag)."""

from __future__ import annotations

import pytest

from fastfind import _codec_py, codec, query
from fastfind.dicom import vr


def test_tables_agree() -> None:
    assert query.STRING_VRS == vr.STRING_VRS
    assert _codec_py._STANDARD_VRS == {v.encode() for v in vr.STANDARD_VRS}
    assert _codec_py._LONG_VRS == {v.encode() for v in vr.LONG_VRS}
    assert vr.LONG_VRS < vr.STANDARD_VRS and vr.STRING_VRS < vr.STANDARD_VRS
    assert len(vr.STANDARD_VRS) == 34  # PS3.5 Table 6.2-1 (2024)


@pytest.mark.parametrize("tag, dict_vr, rep, bits, expected", [
    (0x00280106, "xs", 1, None, "SS"),
    (0x00280106, "xs", 0, None, "US"),
    (0x00280106, "xs", None, None, "xs"),  # unresolved: dcmdump prints xs
    (0x54001010, "ox", None, 8, "OB"),
    (0x54001010, "ox", None, 16, "OW"),
    (0x54001010, "ox", None, None, "ox"),
    (0x60003000, "ox", None, None, "OW"),
    (0x60223000, "ox", None, None, "OW"),
    (0x60013000, "ox", None, None, "ox"),  # odd group: private, not an overlay
    (0x50003000, "ox", None, None, "OB"),
    (0x50013000, "ox", None, None, "ox"),
    (0x7FE00010, "ox", None, None, "OW"),
    (0x7FE00010, "px", None, None, "OW"),
    (0x00100010, "PN", None, None, "PN"),
])
def test_implicit_vr_is_dcmtks(tag: int, dict_vr: str, rep: int | None, bits: int | None, expected: str) -> None:
    assert vr.implicit_vr(tag, dict_vr, rep, bits) == expected


def test_the_walk_refuses_exactly_the_non_standard_vrs() -> None:
    for a in range(65, 91):
        for b in range(65, 91):
            name = chr(a) + chr(b)
            length = b"\x00\x00\x00\x00\x00\x00" if name in vr.LONG_VRS else b"\x00\x00"  # PS3.5 7.1.2
            data = b"\x10\x00\x10\x00" + name.encode() + length
            if name in vr.STANDARD_VRS:
                codec.walk_dataset(data, False, True, codec.SQ_TAGS)
            else:
                with pytest.raises(Exception, match="invalid VR"):
                    codec.walk_dataset(data, False, True, codec.SQ_TAGS)
