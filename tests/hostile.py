"""A scripted raw-socket SCP for hostile-server tests (``hostile-scp.md`` §4), parrot style.

:class:`HostileSCP` listens on 127.0.0.1 (port 0), accepts ONE connection in a background thread
and plays a script: a list of steps

* ``("recv_pdu", type_or_None)`` -- read one PDU (deadline :data:`STEP_TIMEOUT`), record it;
* ``("recv_find",)`` -- read PDUs until a complete C-FIND-RQ (command and identifier) arrived;
* ``("recv_cancel", timeout)`` -- read until a C-CANCEL-RQ arrives (or ``timeout``);
* ``("send", data)`` / ``("send_slowly", data, delay_per_byte)`` -- ``data`` is bytes or a
  callable ``f(ctx) -> bytes`` evaluated when the step runs (so it can use the client's RQ);
* ``("send_until_closed", f, interval, limit[, first_i])`` -- send ``f(ctx, i)`` repeatedly
  until the client goes away or ``limit`` seconds pass; ``("send_until_cancel", ...)`` also
  stops once a C-CANCEL-RQ arrived;
* ``("sleep", s)``, ``("close",)``, ``("rst",)`` (SO_LINGER 0), ``("wait_close", timeout)``
  (record everything the client sends until it closes), ``("call", f)``.

After the last step the server keeps recording until the client closes (at most
:data:`DRAIN_TIMEOUT` seconds), then closes. :class:`Record` holds everything the client sent.

Builders make valid PDUs (A-ASSOCIATE-AC from the client's RQ, RJ, A-ABORT, A-RELEASE,
P-DATA-TF, C-FIND-RSP command sets, identifiers via pydicom) and every piece of them can be
overridden to craft the malformed variants. Nothing here imports fastfind: the tests judge it
with independent code.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

HOST = "127.0.0.1"
STEP_TIMEOUT = 15.0
DRAIN_TIMEOUT = 15.0

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
APP_CONTEXT = "1.2.840.10008.3.1.1.1"

C_FIND_RQ = 0x0020
C_FIND_RSP = 0x8020
C_CANCEL_RQ = 0x0FFF
NO_DATASET = 0x0101


# ------------------------------------------------------------------------------ PDU builders
def pdu(ptype: int, body: bytes, reserved: int = 0, length: int | None = None) -> bytes:
    """PDU header (type, reserved, big-endian length) + body (PS3.8 §9.3.1)."""
    return struct.pack(">BBL", ptype, reserved, len(body) if length is None else length) + body


def item(itype: int, body: bytes, length: int | None = None) -> bytes:
    """An A-ASSOCIATE item or sub-item: type, reserved, 2-byte length, body."""
    return struct.pack(">BBH", itype, 0, len(body) if length is None else length) + body


def ae(title: str) -> bytes:
    return title.encode("ascii").ljust(16)[:16]


def a_associate_rj(result: int = 1, source: int = 1, reason: int = 1) -> bytes:
    return pdu(3, bytes([0, result, source, reason]))


def a_abort(source: int = 2, reason: int = 0) -> bytes:
    return pdu(7, bytes([0, 0, source, reason]))


A_RELEASE_RQ = pdu(5, b"\0\0\0\0")
A_RELEASE_RP = pdu(6, b"\0\0\0\0")


@dataclass
class AssocRQ:
    """What the client proposed (parsed from its A-ASSOCIATE-RQ)."""

    called: bytes = b""
    calling: bytes = b""
    contexts: list[tuple[int, str, list[str]]] = field(default_factory=list)
    max_pdu: int | None = None


def parse_associate_rq(body: bytes) -> AssocRQ:
    rq = AssocRQ(called=body[4:20], calling=body[20:36])
    pos = 68
    while pos + 4 <= len(body):
        itype, _, ilen = struct.unpack_from(">BBH", body, pos)
        content = body[pos + 4 : pos + 4 + ilen]
        if itype == 0x20:
            cid = content[0]
            sub = 4
            abstract, tss = "", []
            while sub + 4 <= len(content):
                stype, _, slen = struct.unpack_from(">BBH", content, sub)
                value = content[sub + 4 : sub + 4 + slen].rstrip(b"\0").decode("ascii")
                if stype == 0x30:
                    abstract = value
                elif stype == 0x40:
                    tss.append(value)
                sub += 4 + slen
            rq.contexts.append((cid, abstract, tss))
        elif itype == 0x50:
            sub = 0
            while sub + 4 <= len(content):
                stype, _, slen = struct.unpack_from(">BBH", content, sub)
                if stype == 0x51 and slen == 4:
                    rq.max_pdu = struct.unpack_from(">L", content, sub + 4)[0]
                sub += 4 + slen
        pos += 4 + ilen
    return rq


def ac_context(cid: int, result: int = 0, ts: str | None = EXPLICIT_LE) -> bytes:
    """Presentation context item (0x21) of an A-ASSOCIATE-AC."""
    sub = item(0x40, ts.encode("ascii")) if ts is not None else b""
    return item(0x21, bytes([cid, 0, result, 0]) + sub)


def user_info(max_pdu: int | None = 16384, extra: bytes = b"", impl_uid: str = "1.2.3.4") -> bytes:
    subs = b""
    if max_pdu is not None:
        subs += item(0x51, struct.pack(">L", max_pdu))
    subs += item(0x52, impl_uid.encode("ascii"))
    return item(0x50, subs + extra)


def a_associate_ac(
    rq: AssocRQ,
    *,
    ts: str | None = None,
    result: int = 0,
    max_pdu: int | None = 16384,
    contexts: bytes | None = None,
    app_context: bytes | None = None,
    user: bytes | None = None,
    version: int = 1,
    reserved: bytes = b"\0\0",
    called: bytes | None = None,
    calling: bytes | None = None,
    tail: bytes = b"\0" * 32,
    extra_items: bytes = b"",
) -> bytes:
    """An A-ASSOCIATE-AC answering ``rq``; every part can be replaced for malformed variants.

    ``ts`` defaults to the first transfer syntax the client proposed for each context.
    """
    if contexts is None:
        contexts = b"".join(
            ac_context(cid, result, (ts or tss[0]) if result == 0 else tss[0])
            for cid, _, tss in rq.contexts
        )
    app = item(0x10, APP_CONTEXT.encode()) if app_context is None else app_context
    usr = user_info(max_pdu) if user is None else user
    body = (
        struct.pack(">H", version)
        + reserved
        + (rq.called if called is None else called)
        + (rq.calling if calling is None else calling)
        + tail
        + app
        + contexts
        + extra_items
        + usr
    )
    return pdu(2, body)


def pdv(cid: int, control: int, fragment: bytes, length: int | None = None) -> bytes:
    """A PDV item: 4-byte length, context ID, message control header, fragment."""
    n = len(fragment) + 2 if length is None else length
    return struct.pack(">LBB", n, cid, control) + fragment


def p_data(*pdvs: bytes, length: int | None = None) -> bytes:
    return pdu(4, b"".join(pdvs), length=length)


def message(
    cid: int, command: bytes, dataset: bytes | None = None, max_pdu: int = 16384
) -> bytes:
    """A DIMSE message as P-DATA-TF PDUs, one PDV each, fragments at most ``max_pdu - 6``."""
    out = bytearray()
    for payload, flag in ((command, 1), (dataset, 0)):
        if payload is None:
            continue
        frag = (max_pdu - 6) & ~1
        chunks = [payload[i : i + frag] for i in range(0, len(payload), frag)] or [b""]
        for i, chunk in enumerate(chunks):
            out += p_data(pdv(cid, flag | (2 if i == len(chunks) - 1 else 0), chunk))
    return bytes(out)


# ----------------------------------------------------------------------- DIMSE command sets
_US = {0x0100, 0x0110, 0x0120, 0x0700, 0x0800, 0x0900}


def command_element(elem: int, value: Any) -> bytes:
    """One implicit-VR LE group-0000 element (US for the known ones, else bytes/str as given)."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, int) and elem in _US:
        raw = struct.pack("<H", value)
    elif isinstance(value, int):
        raw = struct.pack("<L", value)
    else:
        raw = str(value).encode("latin-1")
        if len(raw) % 2:
            raw += b"\0" if elem in (0x0002, 0x1000) else b" "
    return struct.pack("<HHL", 0, elem, len(raw)) + raw


def command_set(fields: dict[int, Any], group_length: int | None = None) -> bytes:
    """A command set from ``{element: value}`` (a value of ``None`` drops the element)."""
    body = b"".join(command_element(e, v) for e, v in sorted(fields.items()) if v is not None)
    gl = len(body) if group_length is None else group_length
    return command_element(0x0000, gl) + body


def find_rsp(
    msg_id: int,
    status: int,
    dataset: bool | None = None,
    *,
    sop_class: str | None = STUDY_ROOT_FIND,
    command_field: int | None = C_FIND_RSP,
    error_comment: str | bytes | None = None,
    data_set_type: int | None = None,
    extra: dict[int, Any] | None = None,
    omit: Iterable[int] = (),
    group_length: int | None = None,
) -> bytes:
    """A C-FIND-RSP command set (PS3.7 §9.3.2.2); every field can be overridden or omitted."""
    if dataset is None:
        dataset = status in (0xFF00, 0xFF01)
    fields: dict[int, Any] = {
        0x0002: sop_class,
        0x0100: command_field,
        0x0120: msg_id,
        0x0800: (0x0000 if dataset else NO_DATASET) if data_set_type is None else data_set_type,
        0x0900: status,
        0x0902: error_comment,
    }
    fields.update(extra or {})
    for e in omit:
        fields.pop(e, None)
    return command_set(fields, group_length)


def parse_command(data: bytes) -> dict[int, bytes]:
    """Group-0000 implicit-VR LE elements -> raw values (lenient; for recording only)."""
    out: dict[int, bytes] = {}
    pos = 0
    while pos + 8 <= len(data):
        _g, e, n = struct.unpack_from("<HHL", data, pos)
        out[e] = data[pos + 8 : pos + 8 + n]
        pos += 8 + n
    return out


def us(raw: bytes | None) -> int | None:
    return struct.unpack("<H", raw)[0] if raw is not None and len(raw) == 2 else None


# ------------------------------------------------------------------------------ identifiers
def identifier(ds: Dataset | dict[str, Any], ts: str = EXPLICIT_LE) -> bytes:
    """Encode a data set (or ``{keyword: value}``) in ``ts`` with pydicom (deflate included)."""
    if not isinstance(ds, Dataset):
        d = Dataset()
        for k, v in ds.items():
            setattr(d, k, v)
        ds = d
    fp = DicomBytesIO()
    fp.is_little_endian = ts != EXPLICIT_BE
    fp.is_implicit_VR = ts == IMPLICIT_LE
    write_dataset(fp, ds)
    data = fp.getvalue()
    if ts == DEFLATED_LE:
        import zlib

        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = c.compress(data) + c.flush()
        if len(data) % 2:
            data += b"\0"
    return data


def study(i: int) -> dict[str, Any]:
    """A small, valid study-level match."""
    return {
        "SpecificCharacterSet": "ISO_IR 100",
        "QueryRetrieveLevel": "STUDY",
        "PatientName": f"Doe^John{i}",
        "StudyInstanceUID": f"1.2.3.4.{i}",
    }


def element_le(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    """One explicit-VR LE element (short or long length form chosen by the VR)."""
    n = len(value) if length is None else length
    g, e = tag >> 16, tag & 0xFFFF
    if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"):
        return struct.pack("<HH2sHL", g, e, vr, 0, n) + value
    return struct.pack("<HH2sH", g, e, vr, n) + value


# -------------------------------------------------------------------------------- the server
@dataclass
class Record:
    """Everything the client did on the connection."""

    pdus: list[tuple[int, bytes]] = field(default_factory=list)  # (type, body)
    rq: AssocRQ | None = None
    find_rqs: list[dict[int, bytes]] = field(default_factory=list)
    find_identifiers: list[bytes] = field(default_factory=list)
    cancels: list[dict[int, bytes]] = field(default_factory=list)
    commands: list[dict[int, bytes]] = field(default_factory=list)
    client_closed: bool = False
    client_closed_at: float | None = None
    send_failed: bool = False
    errors: list[str] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)  # what the script sent, in order
    connected: bool = False
    done: bool = False

    @property
    def types(self) -> list[int]:
        return [t for t, _ in self.pdus]

    @property
    def aborts(self) -> list[tuple[int, int]]:
        """(source, reason) of every A-ABORT the client sent."""
        return [(b[2], b[3]) for t, b in self.pdus if t == 7 and len(b) >= 4]

    @property
    def pdata_count(self) -> int:
        return sum(1 for t, _ in self.pdus if t == 4)


class Context:
    """What script callables see: the parsed RQ and the last C-FIND-RQ's message ID / context."""

    def __init__(self, record: Record):
        self.record = record

    @property
    def rq(self) -> AssocRQ:
        assert self.record.rq is not None, "no A-ASSOCIATE-RQ received"
        return self.record.rq

    @property
    def msg_id(self) -> int:
        return us(self.record.find_rqs[-1].get(0x0110)) or 0

    @property
    def cid(self) -> int:
        return self.rq.contexts[0][0]

    @property
    def ts(self) -> str:
        return self.rq.contexts[0][2][0]


Step = Sequence[Any]


class HostileSCP:
    """One-connection scripted SCP; use as a context manager (the thread is joined at exit)."""

    def __init__(
        self, script: Sequence[Step], *, listen: bool = True, backlog: int = 1, serve: bool = True
    ):
        self.script = list(script)
        self.record = Record()
        self.ctx = Context(self.record)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.port: int = self.sock.getsockname()[1]
        self.conn: socket.socket | None = None
        self._rbuf = bytearray()
        self._msg: dict[int, Any] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        if listen:  # listen=False: connection refused; serve=False: nobody ever accepts
            self.sock.listen(backlog)
            if serve:
                self.thread.start()

    def __enter__(self) -> HostileSCP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for s in (self.conn, self.sock):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        if self.thread.is_alive():
            self.thread.join(5)

    def wait(self, timeout: float = 10.0) -> Record:
        """Wait until the script (and the final drain) finished; return the record."""
        self.thread.join(timeout)
        return self.record

    # ---- the thread ---------------------------------------------------------------------
    def _serve(self) -> None:
        rec = self.record
        try:
            self.sock.settimeout(STEP_TIMEOUT)
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conn = conn
            rec.connected = True
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for step in self.script:
                if self._stop.is_set() or not self._run(step):
                    break
            if self.conn is not None and not self._stop.is_set():
                self._drain(DRAIN_TIMEOUT)  # record what the client still sends (A-ABORT...)
        except Exception as exc:  # recorded, the test asserts on it
            rec.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            rec.done = True
            if self.conn is not None:
                try:
                    self.conn.close()
                except OSError:
                    pass

    def _run(self, step: Step) -> bool:
        """Run one step; False ends the script (the connection is gone)."""
        kind = step[0]
        conn = self.conn
        assert conn is not None
        if kind == "recv_pdu":
            got = self._read_pdu(time.monotonic() + STEP_TIMEOUT)
            if got is None:
                self.record.errors.append(f"client closed while waiting for PDU {step[1:]}")
                return False
            if len(step) > 1 and step[1] is not None and got[0] != step[1]:
                self.record.errors.append(f"expected PDU type {step[1]}, got {got[0]}")
            return True
        if kind == "recv_find":
            n = len(self.record.find_identifiers)
            deadline = time.monotonic() + STEP_TIMEOUT
            while len(self.record.find_identifiers) == n:
                if self._read_pdu(deadline) is None:
                    self.record.errors.append("client closed before a C-FIND-RQ")
                    return False
            return True
        if kind == "recv_cancel":
            deadline = time.monotonic() + (step[1] if len(step) > 1 else STEP_TIMEOUT)
            while not self.record.cancels:
                if self._read_pdu(deadline) is None:
                    return not self.record.client_closed
            return True
        if kind == "send":
            return self._send(self._value(step[1]))
        if kind == "send_slowly":
            data, delay = self._value(step[1]), step[2]
            for i in range(len(data)):
                if not self._send(data[i : i + 1]):
                    return False
                if delay:
                    time.sleep(delay)
                if self._stop.is_set():
                    return False
            return True
        if kind in ("send_until_closed", "send_until_cancel"):
            make, interval, limit = step[1], step[2], step[3]
            end = time.monotonic() + limit
            i = step[4] if len(step) > 4 else 0
            while time.monotonic() < end and not self._stop.is_set():
                if kind == "send_until_cancel" and self.record.cancels:
                    return True
                if not self._send(make(self.ctx, i)):
                    return False
                i += 1
                self._poll_incoming(interval)
                if self.record.client_closed:
                    return False
            return True
        if kind == "sleep":
            self._poll_incoming(step[1])
            return not self.record.client_closed
        if kind == "close":
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self._drain(step[1] if len(step) > 1 else 5.0)
            return False
        if kind == "rst":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            self.conn = None
            return False
        if kind == "wait_close":
            self._drain(step[1])
            return not self.record.client_closed
        if kind == "call":
            step[1](self)
            return True
        raise ValueError(f"unknown step {kind!r}")

    def _value(self, data: bytes | Callable[[Context], bytes]) -> bytes:
        return data(self.ctx) if callable(data) else data

    def _send(self, data: bytes) -> bool:
        assert self.conn is not None
        try:
            self.conn.settimeout(STEP_TIMEOUT)
            self.conn.sendall(data)
        except OSError:
            self.record.send_failed = True
            return False
        self.record.sent.append(data)
        return True

    def _poll_incoming(self, seconds: float) -> None:
        """Record whatever the client sends during ``seconds`` (returns early if it closes)."""
        end = time.monotonic() + seconds
        while not self.record.client_closed:
            if self._read_pdu(end) is None:
                return

    def _drain(self, seconds: float) -> None:
        self._poll_incoming(seconds)

    def _read_pdu(self, deadline: float) -> tuple[int, bytes] | None:
        """Read one complete PDU before ``deadline``; None on close or timeout."""
        buf = self._rbuf
        while True:
            if len(buf) >= 6:
                ptype, _, length = struct.unpack_from(">BBL", buf)
                if len(buf) >= 6 + length:
                    body = bytes(buf[6 : 6 + length])
                    del buf[: 6 + length]
                    self._note(ptype, body)
                    return ptype, body
            left = deadline - time.monotonic()
            if left <= 0 or self.conn is None:
                return None
            self.conn.settimeout(left)
            try:
                data = self.conn.recv(65536)
            except TimeoutError:
                return None
            except OSError:
                data = b""
            if not data:
                self.record.client_closed = True
                self.record.client_closed_at = time.monotonic()
                return None
            buf += data

    def _note(self, ptype: int, body: bytes) -> None:
        rec = self.record
        rec.pdus.append((ptype, body))
        if ptype == 1 and rec.rq is None:
            rec.rq = parse_associate_rq(body)
        if ptype != 4:
            return
        pos = 0
        while pos + 6 <= len(body):
            n = struct.unpack_from(">L", body, pos)[0]
            control = body[pos + 5]
            frag = body[pos + 6 : pos + 4 + n]
            pos += 4 + n
            if control & 1:
                self._msg.setdefault("cmd", bytearray()).extend(frag)
                if control & 2:
                    cmd = parse_command(bytes(self._msg.pop("cmd")))
                    rec.commands.append(cmd)
                    field_ = us(cmd.get(0x0100))
                    if field_ == C_CANCEL_RQ:
                        rec.cancels.append(cmd)
                    elif field_ == C_FIND_RQ:
                        rec.find_rqs.append(cmd)
                        self._msg["ds"] = bytearray()
            else:
                self._msg.setdefault("ds", bytearray()).extend(frag)
                if control & 2:
                    rec.find_identifiers.append(bytes(self._msg.pop("ds")))


# ------------------------------------------------------------------------- script fragments
def associate(ts: str | None = None, **ac_options: Any) -> list[Step]:
    """Receive the A-ASSOCIATE-RQ and accept it (``ts``: the transfer syntax to accept)."""
    return [("recv_pdu", 1), ("send", lambda c: a_associate_ac(c.rq, ts=ts, **ac_options))]


def pending(ds: dict[str, Any] | Dataset | bytes, status: int = 0xFF00, **rsp: Any) -> Step:
    """Send one Pending C-FIND-RSP with this identifier (encoded in the accepted TS)."""

    def build(c: Context) -> bytes:
        data = ds if isinstance(ds, bytes) else identifier(ds, c.ts)
        return message(c.cid, find_rsp(c.msg_id, status, True, **rsp), data)

    return ("send", build)


def final(status: int = 0x0000, **rsp: Any) -> Step:
    """Send a final C-FIND-RSP (no data set unless ``dataset=True``)."""
    dataset = rsp.pop("dataset", False)
    data = rsp.pop("data", None)

    def build(c: Context) -> bytes:
        return message(c.cid, find_rsp(c.msg_id, status, dataset, **rsp), data)

    return ("send", build)


def release() -> list[Step]:
    """Receive A-RELEASE-RQ, answer A-RELEASE-RP."""
    return [("recv_pdu", 5), ("send", A_RELEASE_RP)]


def normal(matches: int = 2, ts: str | None = None) -> list[Step]:
    """A well-behaved exchange: associate, ``matches`` pendings, Success, release."""
    return [
        *associate(ts),
        ("recv_find",),
        *[pending(study(i)) for i in range(matches)],
        final(),
        *release(),
    ]
