"""``-u`` (DCMTK's ``dcmDisableGenerationOfNewVRs``): the post-1993 VRs are written as OB, in the
query and in the rsp files; nothing else changes (issue 9 item 12). The differential suite
compares both with findscu -u; these pin the transformation itself, both codecs."""

from __future__ import annotations

import struct

import pytest
from pydicom import Dataset

from fastfind import codec
from fastfind.dataset import NEW_VRS, encode_identifier, without_new_vrs


def el(tag: int, vr: bytes, value: bytes, big: bool = False) -> bytes:
    e = ">" if big else "<"
    if vr in (b"OB", b"OW", b"SQ", *(v.encode() for v in NEW_VRS)):
        return struct.pack(e + "HH2sHL", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack(e + "HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


@pytest.mark.parametrize("big", [False, True], ids=["little", "big"])
def test_every_new_vr_becomes_ob_and_nothing_else_changes(big: bool) -> None:
    vrs = sorted(NEW_VRS)
    elements = b"".join(el(0x00110010 + i, vr.encode(), b"ab" * (i + 1), big) for i, vr in enumerate(vrs))
    e = ">" if big else "<"
    nested = el(0x0040A160, b"UT", b"nested", big)
    item = struct.pack(e + "HHL", 0xFFFE, 0xE000, len(nested)) + nested
    data = el(0x00100010, b"PN", b"A^B ", big) + elements + el(0x00400275, b"SQ", item, big)
    out = without_new_vrs(data, codec.walk(data, False, not big, codec.SQ_TAGS))
    assert len(out) == len(data)
    expected = data
    for vr in vrs:
        expected = expected.replace(vr.encode() + b"\x00\x00", b"OB\x00\x00")
    assert out == expected
    assert b"UT" not in out and out.count(b"OB\x00\x00") == len(vrs) + 1


def test_un_of_undefined_length_is_kept_and_unchanged_data_is_the_same_object() -> None:
    un_sq = (struct.pack("<HH2sHL", 0x0008, 0x1032, b"UN", 0, 0xFFFFFFFF)
             + struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + struct.pack("<HHL", 0x0008, 0x0100, 2) + b"C1"
             + struct.pack("<HHL", 0xFFFE, 0xE00D, 0) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    data = un_sq + el(0x00100010, b"PN", b"A^B ")
    assert without_new_vrs(data, codec.walk(data, False, True, codec.SQ_TAGS)) is data


def test_query_encoding_with_and_without_new_vrs() -> None:
    ds = Dataset()
    ds.TextValue = "some text"
    ds.StrainDescription = "strain"
    ds.PatientName = "A^B"
    with_new = encode_identifier(ds, codec.EXPLICIT_LE)
    without = encode_identifier(ds, codec.EXPLICIT_LE, new_vrs=False)
    assert b"UT" in with_new and b"UC" in with_new
    assert without == with_new.replace(b"UT\x00\x00", b"OB\x00\x00").replace(b"UC\x00\x00", b"OB\x00\x00")
    assert encode_identifier(ds, codec.IMPLICIT_LE, new_vrs=False) == encode_identifier(ds, codec.IMPLICIT_LE)
    deflated = encode_identifier(ds, codec.DEFLATED_LE, new_vrs=False)
    assert codec.inflate(deflated, 1 << 20) == without


def test_options_carry_the_switch() -> None:
    from fastfind.cli.cmdline import parse_command_line as parse_args

    args = parse_args(["-u", "-k", "PatientName", "host", "104"])
    assert args.find_options().enable_new_vrs is False
    assert args.output_options().enable_new_vrs is False
    args = parse_args(["-k", "PatientName", "host", "104"])
    assert args.find_options().enable_new_vrs and args.output_options().enable_new_vrs
