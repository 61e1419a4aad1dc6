"""Helpers of the XML tests: a raw identifier encoder and the DCMTK references (dcm2xml on a file,
findscu against an SCP that sends identifiers byte for byte).

:func:`encode` takes ``(tag, vr, value)`` triples so that odd lengths, padding, undefined lengths
and garbage are under the test's control: ``value`` is bytes, a str (Latin-1), a list of numbers
(packed per VR), or for ``SQ`` a list of items (lists of triples); ``("U", x)`` marks a sequence
or item of undefined length, and a ``UN`` triple whose value is ``("U", items)`` is a UN element of
undefined length, its items in implicit VR little endian (PS3.5 §6.2.2).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from fastfind import codec

DCM2XML = shutil.which("dcm2xml")
FINDSCU = shutil.which("findscu")

ALL_TS = {
    "implicit": codec.IMPLICIT_LE,
    "explicit": codec.EXPLICIT_LE,
    "big": codec.EXPLICIT_BE,
    "deflated": codec.DEFLATED_LE,
}
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
_CODES = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "OF": "f"}
_CODES.update({"OD": "d", "OL": "L", "OV": "Q", "UV": "Q", "SV": "q", "AT": "H", "OW": "H"})
UNDEFINED = 0xFFFFFFFF


def _value(vr: str, v: object, little: bool) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("latin-1")
    assert isinstance(v, list)
    return struct.pack(f"{'<' if little else '>'}{len(v)}{_CODES[vr]}", *v)


def _items(items: list, implicit: bool, little: bool) -> bytes:
    o = "<" if little else ">"
    body = b""
    for item in items:
        undefined = isinstance(item, tuple)
        content = encode(item[1] if undefined else item, implicit, little)
        body += struct.pack(f"{o}HHL", 0xFFFE, 0xE000, UNDEFINED if undefined else len(content))
        body += content + (struct.pack(f"{o}HHL", 0xFFFE, 0xE00D, 0) if undefined else b"")
    return body


def encode(elems: list, implicit: bool, little: bool) -> bytes:
    """The triples encoded in the given transfer syntax (see the module docstring)."""
    o = "<" if little else ">"
    out = b""
    for tag, vr, v in elems:
        if vr == "SQ" or (vr == "UN" and isinstance(v, tuple)):
            undefined = isinstance(v, tuple)
            items = v[1] if undefined else v
            if vr == "UN":  # PS3.5 6.2.2: the content is implicit VR little endian
                body = _items(items, True, True) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
            else:
                body = _items(items, implicit, little)
                body += struct.pack(f"{o}HHL", 0xFFFE, 0xE0DD, 0) if undefined else b""
            length = UNDEFINED if undefined else len(body)
        else:
            body = _value(vr, v, little)
            length = len(body)
        if implicit:
            out += struct.pack(f"{o}HHL", tag >> 16, tag & 0xFFFF, length)
        elif vr in LONG_VRS:
            out += struct.pack(f"{o}HH2sHL", tag >> 16, tag & 0xFFFF, vr.encode(), 0, length)
        else:
            out += struct.pack(f"{o}HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)
        out += body
    return out


def wire(elems: list, ts: codec.TransferSyntax) -> bytes:
    """The identifier as sent in ``ts`` (deflated if it says so)."""
    data = encode(elems, ts.implicit, ts.little)
    if ts.deflated:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = c.compress(data) + c.flush()
    return data


def _meta_el(tag: int, vr: str, v: bytes) -> bytes:
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(v)) + v


def dcm2xml_dataset(
    data: bytes, ts: codec.TransferSyntax, tmp: Path, *opts: str
) -> tuple[bytes, str]:
    """dcm2xml's ``<data-set>`` element for ``data`` (wrapped in a file so deflate works too)."""
    assert DCM2XML is not None
    uid = ts.uid.encode() + b"\0" * (len(ts.uid) % 2)
    meta = _meta_el(0x00020002, "UI", b"1.2.3\0") + _meta_el(0x00020003, "UI", b"1.2.3.4\0")
    meta += _meta_el(0x00020010, "UI", uid)
    meta = struct.pack("<HH2sHL", 2, 0, b"UL", 4, len(meta)) + meta
    path = tmp / "in.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + meta + data)
    run = subprocess.run([DCM2XML, "+M", *opts, str(path)], capture_output=True, timeout=30)
    found = re.search(rb"<data-set.*</data-set>\n", run.stdout, re.S)
    return (found.group(0) if found else b""), run.stderr.decode("latin-1")


class Raw:
    """An identifier already encoded, sent by the SCP byte for byte."""

    def __init__(self, data: bytes):
        self.data = data


@contextlib.contextmanager
def raw_scp(identifiers: Callable[[codec.TransferSyntax], list[bytes]]) -> Iterator[int]:
    """A pynetdicom MWL SCP (AET XMLSCP) answering every C-FIND with ``identifiers(ts)``, sent
    as they are; yields its port. Each identifier must have an even length (DCMTK rejects odd
    PDV fragments)."""
    from pydicom.uid import (
        DeflatedExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
    )
    from pynetdicom import AE, _config, evt, service_class
    from pynetdicom.sop_class import ModalityWorklistInformationFind

    real_encode = service_class.encode
    old_log = _config.LOG_RESPONSE_IDENTIFIERS

    def encode_raw(ds, *args, **kwargs):  # type: ignore[no-untyped-def]
        return ds.data if isinstance(ds, Raw) else real_encode(ds, *args, **kwargs)

    def handle(event):  # type: ignore[no-untyped-def]
        for data in identifiers(codec.TRANSFER_SYNTAXES[event.context.transfer_syntax]):
            yield 0xFF00, Raw(data)

    service_class.encode = encode_raw
    _config.LOG_RESPONSE_IDENTIFIERS = False
    ae = AE(ae_title="XMLSCP")
    ae.add_supported_context(
        ModalityWorklistInformationFind,
        [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
         DeflatedExplicitVRLittleEndian],
    )
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, handle)])
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        service_class.encode = real_encode
        _config.LOG_RESPONSE_IDENTIFIERS = old_log


def findscu(port: int, out: Path, *opts: str) -> subprocess.CompletedProcess:
    """Real findscu against :func:`raw_scp` on ``port``, writing into ``out``."""
    assert FINDSCU is not None
    cmd = [FINDSCU, "-aec", "XMLSCP", "-W", "-k", "PatientName=*", *opts, "-od", str(out)]
    return subprocess.run([*cmd, "127.0.0.1", str(port)], capture_output=True, timeout=60)


#: findscu's read-time warnings (dcmdata's, printed whatever the output option): not the XML
#: writer's lines, so the comparisons leave them out
READ_WARNINGS = ("is odd", "with VR UN and undefined length", "not in ascending tag order",
                 "found twice in one data set")


def logged(run: subprocess.CompletedProcess) -> list[str]:
    """findscu's W:/E: lines of the XML writer (read-time warnings left out)."""
    lines = run.stderr.decode("latin-1").splitlines()
    return [x for x in lines if x[:3] in ("W: ", "E: ") and not any(w in x for w in READ_WARNINGS)]
