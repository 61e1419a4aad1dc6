"""A replay C-FIND SCP that outruns every client: the server side of the macro benchmarks.

Real SCPs (wlmscpfs, Orthanc) spend 100-170 µs per response, so timing a client against them
measures the server. This one encodes seeded synthetic identifiers once per transfer syntax,
pre-builds the P-DATA-TF PDUs of a whole cycle of responses, and for each C-FIND-RQ streams
them with large ``sendall`` calls, patching only MessageIDBeingRespondedTo.

Stdlib + pydicom only (no pynetdicom, no fastfind), raw sockets on 127.0.0.1, one thread per
association. Upper layer: PS3.8 §9.3 (PDUs), §7.1 (association), Annex D.1 (max PDU length);
DIMSE: PS3.7 §9.1.2 (C-FIND), §9.3.2 (C-FIND-RSP), §9.3.2.3 (C-CANCEL-RQ).

Number of responses: ``responses`` (CLI ``--responses``) for every query, unless the query
identifier holds (0010,4000) PatientComments whose value is a decimal integer, e.g.
``-k PatientComments=123``: that query gets that many pending responses.

CLI: ``python benchmarks/replay_scp.py --port 0 --responses 100000 --kind study --print-port``.
API: ``server = start(port=0, responses=1000, kind="study")``; ``server.port``, ``server.stop()``,
``server.responses`` (settable), ``server.associations`` (per-association :class:`AssocStats`).
"""

from __future__ import annotations

import argparse
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

# ---- constants ----------------------------------------------------------------------------------
APP_CONTEXT = "1.2.840.10008.3.1.1.1"  # PS3.7 Annex A.2.1
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
#: uid -> (implicit VR, little endian, deflated)
TRANSFER_SYNTAXES: dict[str, tuple[bool, bool, bool]] = {
    IMPLICIT_LE: (True, True, False),
    EXPLICIT_LE: (False, True, False),
    EXPLICIT_BE: (False, False, False),
    DEFLATED_LE: (False, True, True),
}
MWL_FIND = "1.2.840.10008.5.1.4.31"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_STUDY_ONLY_FIND = "1.2.840.10008.5.1.4.1.2.3.1"
FIND_SOP_CLASSES = frozenset({MWL_FIND, PATIENT_ROOT_FIND, STUDY_ROOT_FIND, PATIENT_STUDY_ONLY_FIND})
KINDS = ("auto", "worklist", "study")

IMPLEMENTATION_UID = "2.25.305828488182953934431424838458227125713"
IMPLEMENTATION_VERSION = "REPLAY_SCP_1"

STATUS_PENDING = 0xFF00
STATUS_SUCCESS = 0x0000
STATUS_CANCEL = 0xFE00
C_FIND_RQ, C_FIND_RSP, C_CANCEL_RQ = 0x0020, 0x8020, 0x0FFF
NO_DATASET = 0x0101

_HDR = struct.Struct(">BBL")  # PDU type, reserved, length
_ITEM = struct.Struct(">BBH")  # item type, reserved, length
_PDV = struct.Struct(">LBB")  # PDV length, context id, message control header
_ELEM_LE = struct.Struct("<HHL")
_US_LE = struct.Struct("<H")
_UL_LE = struct.Struct("<L")

#: Seconds a recv/sendall may wait before the SCP drops an association. Generous: slow clients
#: (pynetdicom) read everything into memory at once, then take minutes before they release.
IDLE_TIMEOUT = 3600.0


class PeerGone(Exception):
    """The peer closed, aborted or timed out: drop the association."""


# ---- synthetic identifiers ----------------------------------------------------------------------
_FAMILY = ["SMITH", "MÜLLER", "GARCÍA", "NGUYEN", "ROSSI", "DUBOIS", "KOWALSKI", "JOHANSSON",
           "O'BRIEN", "VAN DER BERG", "TANAKA", "SILVA", "NOVÁK", "LÓPEZ", "BRONTË", "WEISS"]
_GIVEN = ["ANNA", "JOSÉ", "LI", "MARIE", "PETER", "ZOË", "OLAF", "FRANÇOIS", "EMMA", "JAN"]
_MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "NM", "PT", "XA"]
_DESCRIPTIONS = ["CHEST PA/LAT", "CT HEAD W/O CONTRAST", "MRI KNEE LEFT", "US ABDOMEN COMPLETE",
                 "MAMMO SCREENING BILATERAL", "PET/CT WHOLE BODY", "XA CORONARY ANGIO"]


def _uid(rng: random.Random) -> str:
    return f"2.25.{rng.getrandbits(120)}"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}"


def _date(rng: random.Random, lo: int, hi: int) -> str:
    return f"{rng.randint(lo, hi):04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"


def _worklist(rng: random.Random, i: int) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.AccessionNumber = f"A{rng.randint(0, 10**9):09d}"
    ds.ReferringPhysicianName = _name(rng)
    ds.PatientName = _name(rng)
    ds.PatientID = f"P{i:07d}"
    ds.PatientBirthDate = _date(rng, 1930, 2020)
    ds.PatientSex = rng.choice("MFO")
    ds.StudyInstanceUID = _uid(rng)
    ds.RequestingPhysician = _name(rng)
    ds.RequestedProcedureDescription = rng.choice(_DESCRIPTIONS)
    sps = Dataset()
    sps.Modality = rng.choice(_MODALITIES)
    sps.ScheduledStationAETitle = f"STATION{rng.randint(1, 40)}"
    sps.ScheduledProcedureStepStartDate = _date(rng, 2024, 2026)
    sps.ScheduledProcedureStepStartTime = _time(rng)
    sps.ScheduledPerformingPhysicianName = _name(rng)
    sps.ScheduledProcedureStepDescription = rng.choice(_DESCRIPTIONS)
    sps.ScheduledProcedureStepID = f"SPS{rng.randint(0, 10**6):06d}"
    sps.ScheduledStationName = f"ROOM {rng.randint(1, 20)}"
    sps.ScheduledProcedureStepLocation = f"BUILDING {rng.choice('ABC')}"
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    ds.RequestedProcedureID = f"RP{rng.randint(0, 10**6):06d}"
    ds.RequestedProcedurePriority = rng.choice(["LOW", "MEDIUM", "HIGH", "ROUTINE"])
    return ds


def _study(rng: random.Random, i: int) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.StudyDate = _date(rng, 2000, 2025)
    ds.StudyTime = _time(rng)
    ds.AccessionNumber = f"A{rng.randint(0, 10**9):09d}"
    ds.QueryRetrieveLevel = "STUDY"
    ds.RetrieveAETitle = "REPLAY_SCP"
    ds.ModalitiesInStudy = sorted(rng.sample(_MODALITIES, rng.randint(1, 3)))
    ds.ReferringPhysicianName = _name(rng)
    ds.StudyDescription = rng.choice(_DESCRIPTIONS)
    ds.PatientName = _name(rng)
    ds.PatientID = f"P{i:07d}"
    ds.PatientBirthDate = _date(rng, 1930, 2020)
    ds.PatientSex = rng.choice("MFO")
    ds.StudyInstanceUID = _uid(rng)
    ds.StudyID = str(rng.randint(1, 99999))
    ds.NumberOfStudyRelatedSeries = rng.randint(1, 20)
    ds.NumberOfStudyRelatedInstances = rng.randint(1, 3000)
    return ds


def make_identifiers(kind: str, count: int = 1000, seed: int = 0) -> list[Dataset]:
    """The ``count`` distinct, seeded identifiers the server cycles through for ``kind``."""
    if kind not in ("worklist", "study"):
        raise ValueError(f"unknown kind {kind!r}")
    rng = random.Random(f"replay-scp:{kind}:{seed}")
    build = _worklist if kind == "worklist" else _study
    return [build(rng, i) for i in range(count)]


def encode_dataset(ds: Dataset, ts_uid: str) -> bytes:
    """Encode ``ds`` as a network data set in ``ts_uid`` (deflated as one raw stream, PS3.5 §A.5)."""
    implicit, little, deflated = TRANSFER_SYNTAXES[ts_uid]
    fp = DicomBytesIO()
    fp.is_little_endian = little
    fp.is_implicit_VR = implicit
    write_dataset(fp, ds)
    data = fp.getvalue()
    if deflated:
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = comp.compress(data) + comp.flush()
        if len(data) % 2:
            data += b"\x00"  # PS3.5 §A.5: an odd deflated bitstream gets one trailing NULL
    return data


def decode_dataset(data: bytes, ts_uid: str) -> Dataset:
    """Decode a network data set in ``ts_uid`` (used for the query identifier)."""
    implicit, little, deflated = TRANSFER_SYNTAXES[ts_uid]
    if deflated:
        data = zlib.decompress(data, -15)
    return read_dataset(BytesIO(data), implicit, little)


# ---- DIMSE command sets (PS3.7 §6.3, §E; always implicit VR little endian) ---------------------
def _cmd_elem(elem: int, raw: bytes) -> bytes:
    return _ELEM_LE.pack(0, elem, len(raw)) + raw


def _uid_bytes(uid: str) -> bytes:
    raw = uid.encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def find_rsp_command(sop_class: str, msg_id: int, status: int, has_dataset: bool) -> tuple[bytes, int]:
    """A C-FIND-RSP command set and the offset of its MessageIDBeingRespondedTo value."""
    body = _cmd_elem(0x0002, _uid_bytes(sop_class)) + _cmd_elem(0x0100, _US_LE.pack(C_FIND_RSP))
    msgid_offset = 12 + len(body) + 8
    body += _cmd_elem(0x0120, _US_LE.pack(msg_id))
    body += _cmd_elem(0x0800, _US_LE.pack(0x0001 if has_dataset else NO_DATASET))
    body += _cmd_elem(0x0900, _US_LE.pack(status))
    return _cmd_elem(0x0000, _UL_LE.pack(len(body))) + body, msgid_offset


def decode_command(data: bytes) -> dict[int, bytes]:
    """Split a command set into {element number: raw value} (group 0000 only)."""
    out: dict[int, bytes] = {}
    pos, n = 0, len(data)
    while pos + 8 <= n:
        group, elem, length = _ELEM_LE.unpack_from(data, pos)
        pos += 8
        if group != 0 or pos + length > n:
            raise ValueError("malformed command set")
        out[elem] = data[pos : pos + length]
        pos += length
    if pos != n:
        raise ValueError("trailing bytes in command set")
    return out


def _us(cmd: dict[int, bytes], elem: int) -> int | None:
    raw = cmd.get(elem)
    return _US_LE.unpack(raw)[0] if raw is not None and len(raw) == 2 else None


# ---- P-DATA-TF framing (PS3.8 §9.3.5, Annex E) --------------------------------------------------
def _fragment_size(max_pdu: int) -> int:
    """Largest PDV fragment that fits the peer's max PDU (0 = unlimited), kept even."""
    if max_pdu == 0:
        return 1 << 30
    return (max_pdu - 6) & ~1


def pdata_pdus(ctx_id: int, is_command: bool, payload: bytes, max_pdu: int) -> bytes:
    """One PDV per P-DATA-TF PDU, fragmenting ``payload`` to respect ``max_pdu``."""
    frag = _fragment_size(max_pdu)
    flag = 1 if is_command else 0
    out = bytearray()
    pos, n = 0, len(payload)
    while True:
        chunk = payload[pos : pos + frag]
        pos += len(chunk)
        control = flag | (2 if pos >= n else 0)
        out += _HDR.pack(4, 0, len(chunk) + 6) + _PDV.pack(len(chunk) + 2, ctx_id, control) + chunk
        if pos >= n:
            return bytes(out)


def _payload_pos(k: int, frag: int) -> int:
    """Output offset of payload byte ``k`` within :func:`pdata_pdus` output."""
    return (k // frag) * (frag + 12) + 12 + k % frag


@dataclass
class _Cycle:
    """Pre-built PDUs of one cycle of pending responses for one presentation context."""

    data: bytes
    msgid_offsets: list[int]  # offsets of the low byte; the high byte follows in the payload
    msgid_hi_offsets: list[int]
    ends: list[int]  # end offset of response i
    batches: list[tuple[int, int]]  # (first response, end response) per batch


def build_cycle(
    encoded: list[bytes], ctx_id: int, sop_class: str, max_pdu: int, batch_bytes: int, one_pdu: bool
) -> _Cycle:
    """Frame every pre-encoded identifier as command + data set PDUs, ready to be streamed."""
    cmd, off = find_rsp_command(sop_class, 0, STATUS_PENDING, True)
    frag = _fragment_size(max_pdu)
    cmd_pdus = pdata_pdus(ctx_id, True, cmd, max_pdu)
    out = bytearray()
    lo_offs: list[int] = []
    hi_offs: list[int] = []
    ends: list[int] = []
    for ds in encoded:
        base = len(out)
        if one_pdu and (max_pdu == 0 or len(cmd) + len(ds) + 12 <= max_pdu):
            out += _HDR.pack(4, 0, len(cmd) + len(ds) + 12)
            out += _PDV.pack(len(cmd) + 2, ctx_id, 3) + cmd
            out += _PDV.pack(len(ds) + 2, ctx_id, 2) + ds
            lo_offs.append(base + 12 + off)
            hi_offs.append(base + 12 + off + 1)
        else:
            out += cmd_pdus
            out += pdata_pdus(ctx_id, False, ds, max_pdu)
            lo_offs.append(base + _payload_pos(off, frag))
            hi_offs.append(base + _payload_pos(off + 1, frag))
        ends.append(len(out))
    batches: list[tuple[int, int]] = []
    first, start = 0, 0
    for i, end in enumerate(ends):
        if end - start >= batch_bytes or i == len(ends) - 1:
            batches.append((first, i + 1))
            first, start = i + 1, end
    return _Cycle(bytes(out), lo_offs, hi_offs, ends, batches)


# ---- association statistics ----------------------------------------------------------------------
@dataclass
class QueryStats:
    """One C-FIND-RQ as served: ``sent`` pending responses, then ``status``."""

    msg_id: int
    sop_class: str
    transfer_syntax: str
    requested: int
    sent: int = 0
    status: int | None = None


@dataclass
class AssocStats:
    """What happened on one association (filled in as it goes)."""

    peer: str
    calling_ae: str = ""
    called_ae: str = ""
    peer_max_pdu: int = 0
    contexts: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # id -> (AS, TS|None)
    queries: list[QueryStats] = field(default_factory=list)
    released: bool = False
    aborted: bool = False
    rejected: bool = False  #: refused as over the server's association limit
    error: str | None = None

    @property
    def responses_sent(self) -> int:
        return sum(q.sent for q in self.queries)


# ---- the association state machine -------------------------------------------------------------
def _ae(raw: bytes) -> str:
    return raw.decode("ascii", "replace").strip(" \x00")


def parse_associate_rq(body: bytes) -> dict:  # type: ignore[type-arg]
    """Parse an A-ASSOCIATE-RQ PDU body (PS3.8 §9.3.2): AEs, contexts, max PDU."""
    if len(body) < 68:
        raise ValueError("A-ASSOCIATE-RQ too short")
    version = struct.unpack_from(">H", body, 0)[0]
    info: dict = {  # type: ignore[type-arg]
        "version": version,
        "called": _ae(body[4:20]),
        "calling": _ae(body[20:36]),
        "header": body[:68],
        "app_context": None,
        "contexts": [],  # (id, abstract syntax, [transfer syntaxes])
        "max_pdu": 0,
    }
    pos = 68
    while pos < len(body):
        if pos + 4 > len(body):
            raise ValueError("truncated item header")
        itype, _, ilen = _ITEM.unpack_from(body, pos)
        item = body[pos + 4 : pos + 4 + ilen]
        if len(item) != ilen:
            raise ValueError("truncated item")
        pos += 4 + ilen
        if itype == 0x10:
            info["app_context"] = item.decode("ascii", "replace").strip(" \x00")
        elif itype == 0x20:
            if ilen < 4:
                raise ValueError("short presentation context item")
            ctx_id = item[0]
            abstract, tsyntaxes = None, []
            sp = 4
            while sp < ilen:
                stype, _, slen = _ITEM.unpack_from(item, sp)
                value = item[sp + 4 : sp + 4 + slen].decode("ascii", "replace").strip(" \x00")
                if sp + 4 + slen > ilen:
                    raise ValueError("truncated presentation context sub-item")
                sp += 4 + slen
                if stype == 0x30:
                    abstract = value
                elif stype == 0x40:
                    tsyntaxes.append(value)
            info["contexts"].append((ctx_id, abstract, tsyntaxes))
        elif itype == 0x50:
            sp = 0
            while sp + 4 <= ilen:
                stype, _, slen = _ITEM.unpack_from(item, sp)
                if stype == 0x51 and slen == 4:
                    info["max_pdu"] = struct.unpack_from(">L", item, sp + 4)[0]
                sp += 4 + slen
    return info


def _item(itype: int, value: bytes) -> bytes:
    return _ITEM.pack(itype, 0, len(value)) + value


def _pdu(ptype: int, body: bytes) -> bytes:
    return _HDR.pack(ptype, 0, len(body)) + body


def negotiate(
    rq: dict, max_pdu: int  # type: ignore[type-arg]
) -> tuple[bytes, dict[int, tuple[str, str | None]]]:
    """The A-ASSOCIATE-AC PDU for ``rq`` and the context table (PS3.8 §9.3.3, §7.1.1.13)."""
    table: dict[int, tuple[str, str | None]] = {}
    items = _item(0x10, APP_CONTEXT.encode())
    for ctx_id, abstract, tsyntaxes in rq["contexts"]:
        if abstract not in FIND_SOP_CLASSES:
            result, ts = 3, None  # abstract-syntax-not-supported
        else:
            ts = next((t for t in tsyntaxes if t in TRANSFER_SYNTAXES), None)
            result = 0 if ts else 4  # transfer-syntaxes-not-supported
        table[ctx_id] = (abstract or "", ts)
        sub = _item(0x40, (ts or IMPLICIT_LE).encode())
        items += _item(0x21, bytes([ctx_id, 0, result, 0]) + sub)
    user = _item(0x51, struct.pack(">L", max_pdu))
    user += _item(0x52, _uid_bytes(IMPLEMENTATION_UID).rstrip(b"\x00"))
    user += _item(0x55, IMPLEMENTATION_VERSION.encode())
    items += _item(0x50, user)
    return _pdu(2, rq["header"] + items), table


class _Association:
    """Serves one association on one socket, single-threaded."""

    def __init__(self, server: ReplayServer, sock: socket.socket, peer: str):
        self.server = server
        self.sock = sock
        self.stats = AssocStats(peer=peer)
        self.buf = bytearray()
        self.events: list[tuple] = []  # type: ignore[type-arg]  # decoded, not yet handled
        self.cmd = bytearray()
        self.ds = bytearray()
        self.pending_cmd: dict[int, bytes] | None = None
        self.cycles: dict[int, tuple[str, _Cycle]] = {}
        self.admitted = False  # counted in the server's open associations

    # -- receiving --
    def _recv(self) -> None:
        try:
            data = self.sock.recv(1 << 16)
        except (TimeoutError, OSError) as exc:
            raise PeerGone(f"recv failed: {exc}") from None
        if not data:
            raise PeerGone("peer closed the connection")
        self.buf += data
        self._split()

    def _split(self) -> None:
        """Turn complete PDUs in the buffer into events."""
        while len(self.buf) >= 6:
            ptype, _, length = _HDR.unpack_from(self.buf, 0)
            if len(self.buf) < 6 + length:
                return
            body = bytes(self.buf[6 : 6 + length])
            del self.buf[: 6 + length]
            if ptype == 4:
                self._pdata(body)
            else:
                self.events.append((ptype, body))

    def _pdata(self, body: bytes) -> None:
        pos = 0
        while pos < len(body):
            if pos + 6 > len(body):
                raise PeerGone("truncated PDV")
            length, ctx_id, control = _PDV.unpack_from(body, pos)
            frag = body[pos + 6 : pos + 4 + length]
            if length < 2 or len(frag) != length - 2:
                raise PeerGone("bad PDV length")
            pos += 4 + length
            if control & 1:
                self.cmd += frag
                if control & 2:
                    cmd = decode_command(bytes(self.cmd))
                    self.cmd.clear()
                    if _us(cmd, 0x0800) == NO_DATASET:
                        self.events.append(("msg", ctx_id, cmd, None))
                    else:
                        self.pending_cmd = cmd
            else:
                self.ds += frag
                if control & 2:
                    if self.pending_cmd is None:
                        raise PeerGone("data set without a command")
                    self.events.append(("msg", ctx_id, self.pending_cmd, bytes(self.ds)))
                    self.pending_cmd = None
                    self.ds.clear()

    def _next_event(self) -> tuple:  # type: ignore[type-arg]
        while not self.events:
            self._recv()
        return self.events.pop(0)

    def _send(self, data: bytes | memoryview) -> None:
        try:
            self.sock.sendall(data)
        except (TimeoutError, OSError) as exc:
            raise PeerGone(f"send failed: {exc}") from None

    # -- the phases --
    def run(self) -> None:
        try:
            if not self._associate():
                return
            while True:
                ev = self._next_event()
                if ev[0] == "msg":
                    self._message(ev[1], ev[2], ev[3])
                elif ev[0] == 5:  # A-RELEASE-RQ
                    self.stats.released = True
                    self._send(_pdu(6, b"\x00" * 4))
                    return
                elif ev[0] == 7:  # A-ABORT
                    self.stats.aborted = True
                    return
                else:
                    self._abort(f"unexpected PDU type {ev[0]}")
                    return
        except PeerGone as exc:
            self.stats.error = str(exc)
        except Exception as exc:  # a bug or a malformed peer: abort, never hang
            self._abort(f"{type(exc).__name__}: {exc}")
        finally:
            if self.admitted:
                self.server.leave()
            try:
                self.sock.close()
            except OSError:
                pass

    def _abort(self, why: str) -> None:
        self.stats.error = why
        self.stats.aborted = True
        try:
            self.sock.sendall(_pdu(7, bytes([0, 0, 2, 0])))  # service-provider initiated
        except OSError:
            pass

    def _associate(self) -> bool:
        ev = self._next_event()
        if ev[0] != 1:
            self._abort("expected A-ASSOCIATE-RQ")
            return False
        rq = parse_associate_rq(ev[1])
        self.stats.calling_ae, self.stats.called_ae = rq["calling"], rq["called"]
        self.stats.peer_max_pdu = rq["max_pdu"]
        if rq["app_context"] != APP_CONTEXT or not rq["version"] & 1:
            # A-ASSOCIATE-RJ, rejected-permanent (PS3.8 §9.3.4): service-user / app-context-name-
            # not-supported, or ACSE service-provider / protocol-version-not-supported.
            source_reason = (1, 2) if rq["app_context"] != APP_CONTEXT else (2, 2)
            self._send(_pdu(3, bytes([0, 1, *source_reason])))
            self.stats.error = "association rejected"
            return False
        if 0 < rq["max_pdu"] < 64:
            self._abort(f"peer max PDU {rq['max_pdu']} too small")
            return False
        srv = self.server
        verdict = srv.on_associate(len(srv.associations) - 1) if srv.on_associate else None
        if verdict in ("reject-transient", "reject-permanent"):
            result = 2 if verdict == "reject-transient" else 1
            self._send(_pdu(3, bytes([0, result, 1, 1])))  # service-user, no reason given
            self.stats.error = f"association {verdict}"
            self.stats.rejected = True
            return False
        if not srv.admit():
            # A-ASSOCIATE-RJ rejected-transient, service-provider (presentation) / local limit
            # exceeded (PS3.8 §9.3.4): the archive wants fewer associations from this AE
            self._send(_pdu(3, bytes([0, 2, 3, 2])))
            self.stats.error = "association rejected: local limit exceeded"
            self.stats.rejected = True
            return False
        self.admitted = True
        ac, table = negotiate(rq, srv.max_pdu)
        self.stats.contexts = table
        self._send(ac)
        return True

    def _message(self, ctx_id: int, cmd: dict[int, bytes], ds: bytes | None) -> None:
        field_ = _us(cmd, 0x0100)
        ctx = self.stats.contexts.get(ctx_id)
        if ctx is None or ctx[1] is None:
            self._abort(f"message on unaccepted presentation context {ctx_id}")
            raise PeerGone("aborted")
        if field_ == C_CANCEL_RQ:
            return  # a cancel for a query that is already finished: ignore (PS3.7 §9.3.2.3)
        if field_ != C_FIND_RQ or ds is None:
            self._abort(f"unsupported command 0x{field_ or 0:04X}")
            raise PeerGone("aborted")
        msg_id = _us(cmd, 0x0110) or 0
        srv = self.server
        if srv.on_query is not None:
            with srv._lock:
                number = srv.queries_seen
                srv.queries_seen += 1
            action = srv.on_query(number, decode_dataset(ds, ctx[1]))
            if action == "abort":  # A-ABORT before any response
                self._abort("scripted abort")
                raise PeerGone("aborted by script")
            if action == "close":  # drop the connection before any response
                raise PeerGone("closed by script")
            if isinstance(action, tuple) and action[0] == "abort-after":  # some responses, then abort
                self._stream(ctx_id, ctx[0], ctx[1], msg_id, action[1], final=False)
                self._abort("scripted abort after responses")
                raise PeerGone("aborted by script")
        if self.server.search_delay:
            time.sleep(self.server.search_delay)  # the archive's search, before the first answer
        n = self.server.responses
        try:
            comments = decode_dataset(ds, ctx[1]).get("PatientComments")
            if comments is not None and str(comments).strip().isdigit():
                n = int(str(comments).strip())
        except Exception:
            pass  # an identifier we cannot read still gets the default number of responses
        self._stream(ctx_id, ctx[0], ctx[1], msg_id, n)

    def _cycle(self, ctx_id: int, sop_class: str, ts: str) -> _Cycle:
        cached = self.cycles.get(ctx_id)
        if cached is None:
            srv = self.server
            kind = srv.kind
            if kind == "auto":
                kind = "worklist" if sop_class == MWL_FIND else "study"
            cycle = build_cycle(
                srv.encoded(kind, ts), ctx_id, sop_class, self.stats.peer_max_pdu,
                srv.batch_bytes, srv.one_pdu,
            )
            cached = self.cycles[ctx_id] = (kind, cycle)
        return cached[1]

    def _cancelled(self, msg_id: int) -> bool:
        """Non-blocking look at incoming data: True once a C-CANCEL-RQ for ``msg_id`` arrived."""
        while True:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                break
            self._recv()
        for i, ev in enumerate(self.events):
            if ev[0] == 7:
                self.stats.aborted = True
                raise PeerGone("peer aborted")
            if ev[0] == "msg" and _us(ev[2], 0x0100) == C_CANCEL_RQ:
                if _us(ev[2], 0x0120) == msg_id:
                    del self.events[i]
                    return True
        return False

    def _stream(self, ctx_id: int, sop_class: str, ts: str, msg_id: int, n: int,
                final: bool = True) -> None:
        q = QueryStats(msg_id, sop_class, ts, n)
        self.stats.queries.append(q)
        cycle = self._cycle(ctx_id, sop_class, ts)
        buf = bytearray(cycle.data)
        lo, hi = msg_id & 0xFF, msg_id >> 8
        for o in cycle.msgid_offsets:
            buf[o] = lo
        for o in cycle.msgid_hi_offsets:
            buf[o] = hi
        view = memoryview(buf)
        ends = cycle.ends
        remaining = n
        status = STATUS_SUCCESS
        while remaining > 0 and status == STATUS_SUCCESS:
            for first, end in cycle.batches:
                count = min(end - first, remaining)
                start = ends[first - 1] if first else 0
                self._send(view[start : ends[first + count - 1]])
                q.sent += count
                remaining -= count
                if self._cancelled(msg_id):
                    status = STATUS_CANCEL
                    break
                if remaining <= 0:
                    break
        q.status = status
        if final:
            command, _ = find_rsp_command(sop_class, msg_id, status, False)
            self._send(pdata_pdus(ctx_id, True, command, self.stats.peer_max_pdu))


# ---- the server ---------------------------------------------------------------------------------
class ReplayServer:
    """Listens on ``host:port`` and serves each association in its own thread."""

    def __init__(
        self,
        port: int = 0,
        responses: int = 1000,
        kind: str = "auto",
        *,
        host: str = "127.0.0.1",
        max_pdu: int = 16384,
        distinct: int = 1000,
        seed: int = 0,
        batch_bytes: int = 256 << 10,
        one_pdu: bool = False,
        idle_timeout: float = IDLE_TIMEOUT,
        search_delay: float = 0.0,
        max_associations: int = 0,
        on_associate: Callable[[int], str | None] | None = None,
        on_query: Callable[[int, Dataset], object] | None = None,
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if distinct < 1:
            raise ValueError("distinct must be >= 1")
        self.responses = responses
        self.kind = kind
        self.max_pdu = max_pdu
        self.distinct = distinct
        self.seed = seed
        self.batch_bytes = batch_bytes
        self.one_pdu = one_pdu
        self.idle_timeout = idle_timeout
        self.search_delay = search_delay  #: seconds before the first response of each query
        self.max_associations = max_associations  #: more open at once are rejected (0 = no limit)
        #: scripted faults for tests: ``on_associate(n)`` for the n-th association (0-based)
        #: may answer "reject-transient"/"reject-permanent"; ``on_query(n, identifier)`` for the
        #: n-th query may answer "abort", "close" or ("abort-after", k)
        self.on_associate = on_associate
        self.on_query = on_query
        self.queries_seen = 0
        self.open_now = 0
        self.open_max = 0  #: the most associations that were open at once
        self.rejected = 0
        self.associations: list[AssocStats] = []
        self._encoded: dict[tuple[str, str], list[bytes]] = {}
        self._datasets: dict[str, list[Dataset]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)

    def admit(self) -> bool:
        """Count one more open association, or refuse it (over :attr:`max_associations`)."""
        with self._lock:
            if self.max_associations and self.open_now >= self.max_associations:
                self.rejected += 1
                return False
            self.open_now += 1
            self.open_max = max(self.open_max, self.open_now)
            return True

    def leave(self) -> None:
        with self._lock:
            self.open_now -= 1

    def encoded(self, kind: str, ts: str) -> list[bytes]:
        """The cycle's identifiers for ``kind`` encoded in ``ts``, built once and cached."""
        with self._lock:
            key = (kind, ts)
            if key not in self._encoded:
                if kind not in self._datasets:
                    self._datasets[kind] = make_identifiers(kind, self.distinct, self.seed)
                self._encoded[key] = [encode_dataset(ds, ts) for ds in self._datasets[kind]]
            return self._encoded[key]

    def warm(self, kinds: tuple[str, ...] = ("worklist", "study")) -> None:
        """Encode every kind in every transfer syntax now, instead of on the first query."""
        for kind in kinds:
            for ts in TRANSFER_SYNTAXES:
                self.encoded(kind, ts)

    def start(self) -> ReplayServer:
        self._accept_thread.start()
        return self

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(self.idle_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            assoc = _Association(self, sock, f"{addr[0]}:{addr[1]}")
            with self._lock:
                self.associations.append(assoc.stats)
                self._socks = [s for s in self._socks if s.fileno() != -1] + [sock]
                self._threads = [t for t in self._threads if t.is_alive()]
            t = threading.Thread(target=assoc.run, daemon=True)
            self._threads.append(t)
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, drop every association, and wait (bounded) for the threads."""
        self._stop.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            for s in self._socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._accept_thread.is_alive():
            self._accept_thread.join(timeout)
        for t in list(self._threads):
            t.join(timeout)

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(port: int = 0, responses: int = 1000, kind: str = "auto", **options: object) -> ReplayServer:
    """Start a :class:`ReplayServer` in background threads and return it (``.port``, ``.stop()``)."""
    return ReplayServer(port, responses, kind, **options).start()  # type: ignore[arg-type]


# ---- CLI ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--responses", type=int, default=100000, help="pending responses per query")
    p.add_argument("--kind", choices=KINDS, default="auto",
                   help="identifiers to return (auto: worklist for MWL, study otherwise)")
    p.add_argument("--max-pdu", type=int, default=16384, help="our max PDU (0 = unlimited)")
    p.add_argument("--distinct", type=int, default=1000, help="distinct identifiers cycled")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-bytes", type=int, default=256 << 10, help="bytes per sendall")
    p.add_argument("--one-pdu", action="store_true",
                   help="command and data set PDVs in one P-DATA-TF PDU when they fit")
    p.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT,
                   help="seconds a send/recv may wait before the association is dropped")
    p.add_argument("--search-delay", type=float, default=0.0,
                   help="seconds of 'search' before the first response of each query")
    p.add_argument("--max-associations", type=int, default=0,
                   help="reject more associations open at once (rejected-transient; 0 = no limit)")
    p.add_argument("--print-port", action="store_true", help="print the port on stdout")
    p.add_argument("--stats", action="store_true", help="log each association to stderr")
    args = p.parse_args(argv)
    server = ReplayServer(
        args.port, args.responses, args.kind, host=args.host, max_pdu=args.max_pdu,
        distinct=args.distinct, seed=args.seed, batch_bytes=args.batch_bytes,
        one_pdu=args.one_pdu, idle_timeout=args.idle_timeout, search_delay=args.search_delay,
        max_associations=args.max_associations,
    )
    server.warm(("worklist", "study") if args.kind == "auto" else (args.kind,))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server.start()
    if args.print_port:
        print(server.port, flush=True)
    else:
        print(f"replay SCP listening on {args.host}:{server.port}", file=sys.stderr, flush=True)
    seen = 0
    try:
        while not done.wait(0.5):
            if args.stats:
                for a in server.associations[seen:]:
                    if a.released or a.aborted or a.error:
                        print(f"{a.peer}: {len(a.queries)} queries, {a.responses_sent} responses, "
                              f"released={a.released} error={a.error}", file=sys.stderr)
                        seen += 1
                    else:
                        break
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
