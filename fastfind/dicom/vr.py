"""Value Representations (PS3.5 §6.2) and the facts about them that several parts of fastfind
need: each one here, once. The codecs build their C tables from these sets.

:func:`implicit_vr` is DCMTK's ``DcmItem::checkAndUpdateVR`` for an element read in implicit VR:
the dictionary's pseudo VR (``xs`` = US or SS, ``ox`` = OB or OW, ``px`` = pixel data) resolved
where the data set says which real VR it is; the dump keeps an unresolved pseudo VR's name as
dcmdump does, the XML writer writes DCMTK's replacement for it.
"""

from __future__ import annotations

#: PS3.5 Table 6.2-1: every VR; any other two bytes in explicit VR are refused (their length
#: field size is unknown, so guessing would misframe everything after them).
STANDARD_VRS = frozenset(
    "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR "
    "US UT UV".split()
)
#: VRs with a 4-byte length (and 2 reserved bytes) in explicit VR (PS3.5 §7.1.2).
LONG_VRS = frozenset("OB OD OF OL OV OW SQ UC UN UR UT SV UV".split())
#: VRs whose values are character strings (DCMTK's DcmByteString classes).
STRING_VRS = frozenset("AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT".split())
#: string VRs with a single value: no backslash splitting (PS3.5 §6.4).
SINGLE_VALUED = frozenset(("LT", "ST", "UT", "UR"))
#: VRs defined after 1993 that findscu's ``-u`` writes as OB (DCMTK ``dcmEnableGenerationOfNewVRs``).
NEW_VRS = frozenset(("UN", "UT", "OF", "OD", "OL", "UR", "UC", "OV", "SV", "UV"))
#: the name DCMTK gives a tag its dictionary does not know
UNKNOWN_NAME = "Unknown Tag & Data"

PIXEL_REPRESENTATION = 0x00280103
WAVEFORM_BITS_ALLOCATED = 0x54001004
PIXEL_DATA = 0x7FE00010
#: tags whose "US or SS" VR follows PixelRepresentation (PS3.3 C.7.6.3.1.4)
XS_BY_PIXEL_REP = frozenset((
    0x00280120, 0x00280121, 0x00603004, 0x00603006, 0x00189810, 0x00280106,
    0x00280107, 0x00280108, 0x00280109, 0x00283002, 0x00409211, 0x00409216,
))
#: tags whose "OB or OW" VR follows WaveformBitsAllocated (PS3.5 §8.3)
OX_BY_WAVEFORM_BITS = frozenset((0x54001010, 0x5400100A, 0x54000110, 0x54000112))
#: DCMTK's ``DcmTagKey::getBaseTag`` for the repeating groups 50xx/60xx: even groups only
REPEATING_MASK = 0xFF01FFFF
OVERLAY_DATA = 0x60003000
CURVE_DATA = 0x50003000


def implicit_vr(tag: int, dict_vr: str, pixel_representation: int | None = None,
                waveform_bits: int | None = None) -> str:
    """The VR DCMTK gives an implicit-VR element whose dictionary VR is ``dict_vr``, given the
    data set's PixelRepresentation and WaveformBitsAllocated (``None`` where absent)."""
    if dict_vr == "xs":
        if tag in XS_BY_PIXEL_REP and pixel_representation is not None:
            return "SS" if pixel_representation == 1 else "US"
    elif dict_vr == "px":
        return "OW"
    elif dict_vr == "ox":
        if tag in OX_BY_WAVEFORM_BITS:
            if waveform_bits is not None:
                return "OB" if waveform_bits == 8 else "OW"
        elif tag == PIXEL_DATA or (tag & REPEATING_MASK) == OVERLAY_DATA:
            return "OW"
        elif (tag & REPEATING_MASK) == CURVE_DATA:
            return "OB"
    return dict_vr
