"""TLS (fastfind.net.tls) against DCMTK 3.6.7 findscu's observable behaviour (PS3.15 Annex B).

Certificates are made with the ``openssl`` CLI in a session temp dir. Peers: an in-process
pynetdicom TLS SCP (records whether any DICOM bytes arrived), real Orthanc with DICOM TLS, and
real ``findscu`` as the oracle for set-up messages, exit codes and the ClientHello it sends.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from fastfind.cli.cmdline import TlsOptions, parse_command_line
from fastfind.client import FindClient
from fastfind.errors import NetworkError, PeerAborted, TLSError, UsageError
from fastfind.net.tls import PROFILES, build_context, cipher_string

from servers import (
    ALL_TRANSFER_SYNTAXES,
    HOST,
    ORTHANC,
    STUDY_ROOT_FIND,
    match_datasets,
    qr_instances,
    run_findscu,
    start_orthanc,
    which,
)

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")
needs_findscu = pytest.mark.skipif(which("findscu") is None, reason="DCMTK findscu not installed")
needs_orthanc = pytest.mark.skipif(which(ORTHANC) is None and which("Orthanc") is None,
                                   reason="Orthanc not installed")
TIMEOUT = 5.0
QUERY = {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": None, "PatientName": None}

# --------------------------------------------------------------------------- certificates

_EXT_SERVER = """basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
"""
_EXT_OTHER_NAME = _EXT_SERVER.replace("IP:127.0.0.1,DNS:localhost", "DNS:other.example")
_EXT_CLIENT = """basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth,serverAuth
"""
_CA_CONFIG = """[ca]
default_ca = ca_default
[ca_default]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
default_crl_days = 30
policy = any_name
unique_subject = no
[any_name]
commonName = supplied
"""


class Certs:
    """The certificate set; attribute ``x`` is the path of file ``x`` in ``root``."""

    PASSWORD = "s3cret pass"

    def __init__(self, root: Path):
        self.root = root

    def __getattr__(self, name: str) -> str:
        stem, _, ext = name.rpartition("_")
        return str(self.root / f"{stem}.{ext}")

    def run(self, *args: str) -> None:
        subprocess.run([OPENSSL or "openssl", *args], cwd=self.root, check=True,
                       capture_output=True, timeout=60)

    def key(self, name: str) -> None:
        self.run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", f"{name}.key")

    def issue(self, name: str, cn: str, ext: str, *dates: str) -> None:
        """``name``.key/.pem signed by the CA (``dates``: start, end for ``openssl ca``)."""
        self.key(name)
        (self.root / f"{name}.ext").write_text(ext)
        self.run("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={cn}", "-out", f"{name}.csr")
        span = ["-startdate", dates[0], "-enddate", dates[1]] if dates else ["-days", "30"]
        self.run("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                 "-in", f"{name}.csr", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
                 "-notext", *span)

    def make(self) -> Certs:
        (self.root / "issued").mkdir()
        (self.root / "index.txt").write_text("")
        (self.root / "serial").write_text("1000\n")
        (self.root / "ca.cnf").write_text(_CA_CONFIG)
        self.key("ca")
        self.run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=fastfind test CA",
                 "-days", "30", "-out", "ca.pem",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.issue("server", "localhost", _EXT_SERVER)
        self.issue("othername", "other.example", _EXT_OTHER_NAME)
        self.issue("client", "fastfind client", _EXT_CLIENT)
        self.issue("expired", "localhost", _EXT_SERVER, "20200101000000Z", "20200201000000Z")
        self.issue("revoked", "localhost", _EXT_SERVER)
        self.run("ca", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                 "-revoke", "revoked.pem")
        self.run("ca", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                 "-gencrl", "-out", "ca.crl")
        self.key("selfsigned")
        self.run("req", "-x509", "-new", "-key", "selfsigned.key", "-subj", "/CN=localhost",
                 "-days", "30", "-out", "selfsigned.pem",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
        self.run("pkey", "-in", "client.key", "-aes256", "-passout", f"pass:{self.PASSWORD}",
                 "-out", "client_enc.key")
        self.run("pkey", "-in", "client.key", "-outform", "DER", "-out", "client_key.der")
        self.run("rsa", "-in", "client.key", "-traditional", "-outform", "DER",
                 "-out", "client_rsa.der")
        self.run("x509", "-in", "client.pem", "-outform", "DER", "-out", "client.der")
        self.run("x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der")
        self.run("crl", "-in", "ca.crl", "-outform", "DER", "-out", "ca_crl.der")
        (self.root / "junk.txt").write_text("this is not a key or certificate\n")
        return self


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("tls-certs")).make()


def tls_options(*argv: str) -> TlsOptions:
    """The TlsOptions findscu's command line ``argv`` gives."""
    return parse_command_line([*argv, HOST, "104", "-S", "-k", "QueryRetrieveLevel=STUDY"]).tls


# --------------------------------------------------------------------------- a TLS test SCP


@dataclass
class TlsSCP:
    """An in-process pynetdicom Study Root C-FIND SCP behind TLS (port 0).

    ``connections`` counts TLS connections pynetdicom accepted (handshake done), ``requests``
    the A-ASSOCIATE-RQs it received and ``received`` every byte of DICOM data that reached it.
    """

    cert: str
    key: str
    client_ca: str | None = None
    require_client_cert: bool = False
    tls12_only: bool = False
    matches: Sequence[Dataset] = field(default_factory=lambda: match_datasets(3))
    connections: int = 0
    requests: int = 0
    received: bytearray = field(default_factory=bytearray)
    peer_certs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        from pynetdicom import AE, evt

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        if self.tls12_only:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if self.client_ca:
            ctx.load_verify_locations(self.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED if self.require_client_cert else ssl.CERT_OPTIONAL
        ae = AE("TLSSCP")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
        ae.add_supported_context(STUDY_ROOT_FIND, list(ALL_TRANSFER_SYNTAXES))
        lock = threading.Lock()

        def on_open(event: Any) -> None:
            with lock:
                self.connections += 1
                sock = event.assoc.dul.socket.socket
                self.peer_certs.append(sock.getpeercert() if isinstance(sock, ssl.SSLSocket)
                                       else None)

        def on_requested(event: Any) -> None:
            with lock:
                self.requests += 1

        def on_data(event: Any) -> None:
            with lock:
                self.received += event.data

        def on_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
            for ds in self.matches:
                yield 0xFF00, ds
            yield 0x0000, None

        handlers = [(evt.EVT_CONN_OPEN, on_open), (evt.EVT_REQUESTED, on_requested),
                    (evt.EVT_DATA_RECV, on_data), (evt.EVT_C_FIND, on_find)]
        self.server = ae.start_server((HOST, 0), block=False, ssl_context=ctx,
                                      evt_handlers=handlers)
        self.port = int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def scp_factory(certs: Certs) -> Iterator[Any]:
    started: list[TlsSCP] = []

    def make(cert: str | None = None, key: str | None = None, **kw: Any) -> TlsSCP:
        scp = TlsSCP(cert or certs.server_pem, key or certs.server_key, **kw)
        started.append(scp)
        return scp

    yield make
    for scp in started:
        scp.stop()


def query(port: int, ctx: ssl.SSLContext, server_hostname: str | None = None) -> list[Dataset]:
    """One Study Root C-FIND over TLS; the matches' datasets."""
    with FindClient(HOST, port, model="study", called_ae="TLSSCP", connect_timeout=TIMEOUT,
                    acse_timeout=TIMEOUT, dimse_timeout=TIMEOUT, socket_timeout=TIMEOUT,
                    ssl_context=ctx, server_hostname=server_hostname) as client:
        return [rsp.dataset for rsp in client.find(QUERY)]


def context(*argv: str, **kw: Any) -> ssl.SSLContext:
    return build_context(tls_options(*argv), **kw)[0]


# --------------------------------------------------------------------------- handshakes


def test_mutual_tls_success_sends_client_certificate(certs: Certs, scp_factory: Any) -> None:
    scp = scp_factory(client_ca=certs.ca_pem, require_client_cert=True)
    found = query(scp.port, context("+tls", certs.client_key, certs.client_pem, "+cf", certs.ca_pem))
    assert [ds.PatientID for ds in found] == [ds.PatientID for ds in scp.matches]
    assert scp.requests == 1
    subject = dict(x[0] for x in scp.peer_certs[0]["subject"])
    assert subject["commonName"] == "fastfind client"


def test_anonymous_tls_sends_no_certificate(certs: Certs, scp_factory: Any) -> None:
    scp = scp_factory(client_ca=certs.ca_pem, require_client_cert=False)
    assert len(query(scp.port, context("+tla", "+cf", certs.ca_pem))) == 3
    assert scp.peer_certs == [{}] or scp.peer_certs == [None]


@pytest.mark.parametrize("server, argv", [
    ("selfsigned", ["+tla", "+cf", "{ca_pem}"]),           # untrusted, self-signed
    ("expired", ["+tla", "+cf", "{ca_pem}"]),              # trusted issuer, expired
    ("server", ["+tla"]),                                  # -rc default: nothing trusted
    ("selfsigned", ["+tla", "+cf", "{ca_pem}", "-rc"]),
    ("revoked", ["+tla", "+cf", "{ca_pem}", "+crl", "{ca_crl}"]),
    ("revoked", ["-der", "+tla", "+cf", "{ca_der}", "+crl", "{ca_crl_der}"]),
])
def test_bad_server_certificate_fails_before_any_dicom_byte(
        certs: Certs, scp_factory: Any, server: str, argv: list[str]) -> None:
    scp = scp_factory(getattr(certs, f"{server}_pem"), getattr(certs, f"{server}_key"))
    ctx = context(*[a.format(**{k: getattr(certs, k) for k in ("ca_pem", "ca_crl", "ca_der",
                                                               "ca_crl_der")}) for a in argv])
    with pytest.raises(TLSError):
        query(scp.port, ctx)
    assert (scp.connections, scp.requests, bytes(scp.received)) == (0, 0, b"")


def test_verify_peer_variants(certs: Certs, scp_factory: Any) -> None:
    """-ic accepts an untrusted server; -vc (like -rc for a client) refuses it."""
    untrusted = scp_factory(certs.selfsigned_pem, certs.selfsigned_key)
    assert len(query(untrusted.port, context("+tla", "-ic"))) == 3
    opts = tls_options("+tla", "+cf", certs.ca_pem)
    opts.verify_peer = "verify"
    with pytest.raises(TLSError):
        query(untrusted.port, build_context(opts)[0])
    trusted = scp_factory()
    assert len(query(trusted.port, build_context(opts)[0])) == 3
    assert untrusted.requests == 1


def test_crl_leaf_check_passes_unrevoked_server(certs: Certs, scp_factory: Any) -> None:
    scp = scp_factory()
    assert len(query(scp.port, context("+tla", "+cf", certs.ca_pem, "+crl", certs.ca_crl))) == 3
    assert len(query(scp.port, context("+tla", "+cf", certs.ca_pem, "+crl", certs.ca_crl,
                                       "+cra"))) == 3


def test_client_certificate_required_but_none_configured(certs: Certs, scp_factory: Any) -> None:
    """TLS 1.2: the handshake fails. TLS 1.3: the server's alert comes after our Finished; the
    A-ASSOCIATE-RQ goes out encrypted but the server never decrypts or processes it."""
    scp12 = scp_factory(client_ca=certs.ca_pem, require_client_cert=True, tls12_only=True)
    with pytest.raises(TLSError):
        query(scp12.port, context("+tla", "+cf", certs.ca_pem))
    scp13 = scp_factory(client_ca=certs.ca_pem, require_client_cert=True)
    with pytest.raises((TLSError, PeerAborted)):
        query(scp13.port, context("+tla", "+cf", certs.ca_pem))
    for scp in (scp12, scp13):
        assert (scp.connections, scp.requests, bytes(scp.received)) == (0, 0, b"")


def test_tls13_client_certificate_refusal_is_a_network_error(certs: Certs, scp_factory: Any
                                                              ) -> None:
    scp = scp_factory(client_ca=certs.ca_pem, require_client_cert=True)
    with pytest.raises(NetworkError):
        query(scp.port, context("+tla", "+cf", certs.ca_pem))


def test_hostname_check_is_opt_in(certs: Certs, scp_factory: Any) -> None:
    wrong = scp_factory(certs.othername_pem, certs.othername_key)
    assert len(query(wrong.port, context("+tla", "+cf", certs.ca_pem))) == 3  # DCMTK parity
    ctx, name = build_context(tls_options("+tla", "+cf", certs.ca_pem), check_hostname=True,
                              host=HOST)
    assert name == HOST
    with pytest.raises(TLSError):
        query(wrong.port, ctx, name)
    right = scp_factory()
    assert len(query(right.port, ctx, name)) == 3
    ctx, name = build_context(tls_options("+tla", "+cf", certs.ca_pem, "--request-sni",
                                          "localhost"), check_hostname=True, host=HOST)
    assert name == "localhost"
    assert len(query(right.port, ctx, name)) == 3
    with pytest.raises(UsageError):
        build_context(tls_options("+tla", "-ic"), check_hostname=True, host=HOST)


@pytest.mark.parametrize("key, cert, extra", [
    ("client_key_der", "client_der", ["-der", "+cf", "{ca_der}"]),
    ("client_rsa_der", "client_der", ["-der", "+cf", "{ca_der}"]),
    ("client_enc_key", "client_pem", ["+pw", Certs.PASSWORD, "+cf", "{ca_pem}"]),
])
def test_key_formats_and_password(certs: Certs, scp_factory: Any, key: str, cert: str,
                                  extra: list[str]) -> None:
    scp = scp_factory(client_ca=certs.ca_pem, require_client_cert=True)
    args = [a.format(ca_der=certs.ca_der, ca_pem=certs.ca_pem) for a in extra]
    ctx = context("+tls", getattr(certs, key), getattr(certs, cert), *args)
    assert len(query(scp.port, ctx)) == 3
    assert dict(x[0] for x in scp.peer_certs[0]["subject"])["commonName"] == "fastfind client"


def test_password_prompt_called_once_only_for_encrypted_key(certs: Certs) -> None:
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return Certs.PASSWORD

    build_context(tls_options("+tls", certs.client_enc_key, certs.client_pem), password_prompt=prompt)
    assert asked == ["Enter PEM pass phrase:"]
    build_context(tls_options("+tls", certs.client_key, certs.client_pem), password_prompt=prompt)
    assert len(asked) == 1
    with pytest.raises(UsageError, match="Unable to load private TLS key"):
        build_context(tls_options("+tls", certs.client_enc_key, certs.client_pem),
                      password_prompt=lambda _t: "wrong")


def test_profiles_set_protocol_versions(certs: Certs) -> None:
    for name, profile in PROFILES.items():
        opts = tls_options("+tla")
        opts.profile = name
        if name == "basic" and "DES-CBC3-SHA" not in {
                c["name"] for c in _all_ciphers()}:
            with pytest.raises(UsageError, match="TLS_RSA_WITH_3DES_EDE_CBC_SHA"):
                build_context(opts)
            continue
        ctx = build_context(opts)[0]
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
        assert (ctx.maximum_version == ssl.TLSVersion.TLSv1_2) == (not profile.tls13)


def _all_ciphers() -> list[dict[str, Any]]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:eNULL")
    return ctx.get_ciphers()


# --------------------------------------------------------------------------- findscu as oracle

_SETUP_CASES = [
    ["+tls", "{nofile}", "{client_pem}", "-pw"],
    ["+tls", "{client_key}", "{nofile}"],
    ["+tls", "{junk_txt}", "{client_pem}"],
    ["+tls", "{client_key}", "{junk_txt}"],
    ["+tls", "{server_key}", "{client_pem}"],                     # key/cert mismatch
    ["+tls", "{client_enc_key}", "{client_pem}", "+pw", "wrong"],
    ["+tls", "{client_enc_key}", "{client_pem}", "-pw"],
    ["+tls", "{client_enc_key}", "{client_pem}", "+pw", Certs.PASSWORD],
    ["-der", "+tls", "{client_key}", "{client_pem}"],              # PEM read as DER
    ["+tls", "{client_key_der}", "{client_der}"],                  # DER read as PEM
    ["-der", "+tls", "{client_key_der}", "{client_der}", "+cf", "{ca_der}"],
    ["+tls", "{client_key}", "{client_pem}", "+cs", "FOO"],
    ["+tla", "+cs", "TLS_RSA_WITH_NULL_MD5"],
    ["+tla", "+cs", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
    ["+tla", "+cs", "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"],
    ["+tla", "+cs", "TLS_RSA_WITH_NULL_SHA"],
    ["+tla", "+px", "+cs", "TLS_RSA_WITH_NULL_SHA"],
    ["+tla", "+pn", "+cs", "TLS_RSA_WITH_NULL_SHA"],
    ["+tla", "+cs", "TLS_RSA_WITH_AES_256_CBC_SHA", "+cs", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
    ["+tla", "+cf", "{nofile}", "+cf", "{junk_txt}", "+crl", "{junk_txt}", "+cd", "{nofile}"],
    ["+tls", "{nofile}", "{client_pem}", "-pw", "+cf", "{junk_txt}", "+cs", "FOO"],
    ["+tla", "+rs", "{nofile}", "+wf", "{nofile}/x"],
]


class _Lines(logging.Handler):
    LETTER = {logging.CRITICAL: "F", logging.ERROR: "E", logging.WARNING: "W", logging.INFO: "I"}

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{self.LETTER.get(record.levelno, 'D')}: {record.getMessage()}")


def _fill(certs: Certs, argv: Sequence[str]) -> list[str]:
    names = {"nofile": str(certs.root / "nofile")}
    names.update({k: getattr(certs, k) for k in (
        "client_pem", "client_key", "junk_txt", "server_key", "client_enc_key", "client_key_der",
        "client_der", "ca_der")})
    return [a.format(**names) for a in argv]


@needs_findscu
@pytest.mark.parametrize("argv", _SETUP_CASES, ids=lambda a: " ".join(a).replace("{", "")
                         .replace("}", ""))
def test_setup_messages_match_findscu(certs: Certs, argv: list[str]) -> None:
    """Same E:/W:/F: lines and exit code (1 = set-up failed, 2 = got as far as connecting)."""
    from servers import free_port

    args = _fill(certs, argv)
    port = free_port()
    ref = run_findscu([*args, HOST, port, "-S", "-k", "QueryRetrieveLevel=STUDY"],
                      timeout=TIMEOUT * 2)
    want = [line for line in ref.stderr.splitlines()
            if line[:3] in ("F: ", "E: ", "W: ") and "Association Request Failed" not in line]
    handler = _Lines()
    logger = logging.getLogger("fastfind")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        build_context(tls_options(*args), password_prompt=lambda _t: pytest.fail("prompted"))
        code = 2
    except UsageError as exc:
        handler.lines.append(f"F: {exc}")
        code = exc.exit_code
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert (code, handler.lines) == (ref.returncode, want)


def _client_hello(connect: Any) -> tuple[list[int], list[int]]:
    """(cipher suite codes, supported_versions) of the first ClientHello ``connect(port)`` sends."""
    with socket.create_server((HOST, 0)) as srv:
        srv.settimeout(TIMEOUT)
        port = srv.getsockname()[1]
        done = threading.Event()

        def client() -> None:
            try:
                connect(port)
            except Exception:
                pass
            done.set()

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            data = b""
            while len(data) < 5 or len(data) < 5 + struct.unpack(">H", data[3:5])[0]:
                chunk = conn.recv(65536)
                assert chunk, "client closed before sending its ClientHello"
                data += chunk
        thread.join(TIMEOUT)
    body = data[9:]  # record header (5) + handshake header (4)
    i = 2 + 32
    i += 1 + body[i]  # session id
    (length,) = struct.unpack(">H", body[i:i + 2])
    suites = [struct.unpack(">H", body[i + 2 + k:i + 4 + k])[0] for k in range(0, length, 2)]
    i += 2 + length
    i += 1 + body[i]  # compression methods
    (ext_len,) = struct.unpack(">H", body[i:i + 2])
    i += 2
    end, versions = i + ext_len, [0x0303]
    while i < end:
        etype, elen = struct.unpack(">HH", body[i:i + 4])
        if etype == 43:  # supported_versions (RFC 8446 4.2.1)
            raw = body[i + 5:i + 4 + elen]
            versions = [struct.unpack(">H", raw[k:k + 2])[0] for k in range(0, len(raw), 2)]
        i += 4 + elen
    return suites, sorted(versions)


@needs_findscu
@pytest.mark.parametrize("argv", [
    ["+py"], ["+px"], ["+pz"], ["+pa"], ["+pn"],
    ["+cs", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "+cs", "TLS_RSA_WITH_AES_256_CBC_SHA"],
    ["+pa", "+cs", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"],
])
def test_client_hello_matches_findscu(certs: Certs, argv: list[str]) -> None:
    """Offered ciphersuites are findscu's, in its order; versions too, minus TLS 1.0/1.1."""
    args = ["+tla", "-ic", *argv]
    theirs = _client_hello(lambda port: run_findscu(
        [*args, HOST, port, "-S", "-k", "QueryRetrieveLevel=STUDY", "-to", "5", "-ta", "5"],
        timeout=TIMEOUT * 2))
    ctx = build_context(tls_options(*args))[0]

    def ours(port: int) -> None:
        with socket.create_connection((HOST, port), timeout=TIMEOUT) as sock:
            ctx.wrap_socket(sock)

    mine = _client_hello(ours)
    assert mine[0] == theirs[0]
    assert mine[1] == [v for v in theirs[1] if v >= 0x0303]


def test_cipher_string_order_and_null_profile() -> None:
    opts = tls_options("+tla", "+cs", "TLS_RSA_WITH_AES_256_CBC_SHA",
                       "+cs", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
    assert cipher_string(opts).split(":")[-2:] == ["ECDHE-RSA-AES128-SHA", "AES256-SHA"]
    assert cipher_string(tls_options("+tla", "+pn")) == "NULL-SHA:@SECLEVEL=0"


# --------------------------------------------------------------------------- real Orthanc


@pytest.fixture(scope="module", params=[True, False], ids=["client-cert-required", "optional"])
def orthanc_tls(request: pytest.FixtureRequest, certs: Certs,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if which(ORTHANC) is None and which("Orthanc") is None:
        pytest.skip("Orthanc not installed")
    server = start_orthanc(
        tmp_path_factory.mktemp("orthanc-tls"), data=qr_instances(2, 2, 1, 1, tag="tls"),
        DicomTlsEnabled=True, DicomTlsCertificate=certs.server_pem,
        DicomTlsPrivateKey=certs.server_key, DicomTlsTrustedCertificates=certs.ca_pem,
        DicomTlsRemoteCertificateRequired=request.param, DicomScpTimeout=5)
    server.cert_required = request.param
    yield server
    server.process.stop()


def _orthanc_find(server: Any, ctx: ssl.SSLContext) -> list[str]:
    with FindClient(server.host, server.port, model="study", called_ae=server.aet,
                    connect_timeout=TIMEOUT, acse_timeout=TIMEOUT, dimse_timeout=TIMEOUT,
                    socket_timeout=TIMEOUT, ssl_context=ctx) as client:
        return sorted(str(r.dataset.StudyInstanceUID) for r in client.find(QUERY))


def _findscu_orthanc(server: Any, *tls: str) -> tuple[int, int]:
    """(exit code, number of responses) of real findscu with TLS options ``tls``."""
    ref = run_findscu([*tls, "-S", "-aec", server.aet, "-to", "5", "-ta", "5", "-td", "5",
                       "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
                       server.host, server.port], timeout=TIMEOUT * 3)
    return ref.returncode, ref.stderr.count("Find Response:")


@needs_orthanc
def test_orthanc_with_client_certificate(certs: Certs, orthanc_tls: Any) -> None:
    ctx = context("+tls", certs.client_key, certs.client_pem, "+cf", certs.ca_pem)
    uids = _orthanc_find(orthanc_tls, ctx)
    assert uids == sorted(set(orthanc_tls.data.studies))
    if which("findscu"):
        assert _findscu_orthanc(orthanc_tls, "+tls", certs.client_key, certs.client_pem,
                                "+cf", certs.ca_pem) == (0, len(uids))


@needs_orthanc
def test_orthanc_without_client_certificate(certs: Certs, orthanc_tls: Any) -> None:
    ctx = context("+tla", "+cf", certs.ca_pem)
    if orthanc_tls.cert_required:
        with pytest.raises((TLSError, PeerAborted)):
            _orthanc_find(orthanc_tls, ctx)
        if which("findscu"):
            code, responses = _findscu_orthanc(orthanc_tls, "+tla", "+cf", certs.ca_pem)
            assert (code, responses) == (2, 0)
    else:
        assert _orthanc_find(orthanc_tls, ctx) == sorted(set(orthanc_tls.data.studies))


@needs_orthanc
def test_orthanc_untrusted_by_us(certs: Certs, orthanc_tls: Any) -> None:
    """Orthanc's certificate is not in our +cf: both clients refuse; -ic lets both through."""
    with pytest.raises(TLSError):
        _orthanc_find(orthanc_tls, context("+tls", certs.client_key, certs.client_pem,
                                           "+cf", certs.selfsigned_pem))
    ic = context("+tls", certs.client_key, certs.client_pem, "-ic")
    assert len(_orthanc_find(orthanc_tls, ic)) == len(set(orthanc_tls.data.studies))
    if which("findscu"):
        assert _findscu_orthanc(orthanc_tls, "+tls", certs.client_key, certs.client_pem,
                                "+cf", certs.selfsigned_pem)[0] == 2


def test_seed_files_and_disabled_tls(certs: Certs, tmp_path: Path) -> None:
    from fastfind.net.tls import write_seed

    seed = tmp_path / "seed"
    seed.write_bytes(b"x" * 10)
    opts = tls_options("+tla", "+rs", str(seed), "+ws")
    build_context(opts)
    write_seed(opts)
    assert len(seed.read_bytes()) == 1024 and seed.read_bytes() != b"x" * 10
    with pytest.raises(UsageError):
        build_context(tls_options("-tls"))  # never a "TLS" context for a plain connection


@pytest.mark.parametrize("der", [False, True], ids=["pem", "der"])
def test_trusted_certificate_directory(certs: Certs, scp_factory: Any, tmp_path: Path,
                                       der: bool) -> None:
    """+cd reads an OpenSSL hashed directory (``openssl rehash`` names), like DCMTK."""
    shutil.copy(certs.ca_pem, tmp_path / "ca.pem")
    certs.run("rehash", str(tmp_path))
    if der:
        for link in tmp_path.glob("*.0"):
            target = tmp_path / link.name
            link.unlink()
            certs.run("x509", "-in", certs.ca_pem, "-outform", "DER", "-out", str(target))
        (tmp_path / "ca.pem").unlink()
    scp = scp_factory()
    fmt = ["-der"] if der else []
    assert len(query(scp.port, context(*fmt, "+tla", "+cd", str(tmp_path)))) == 3
    with pytest.raises(TLSError):
        query(scp.port, context(*fmt, "+tla", "+cd", str(tmp_path / "empty")))


@given(st.binary(max_size=64))
def test_der_key_sniffing_never_crashes(data: bytes) -> None:
    from fastfind.net.tls import _key_as_pem

    out = _key_as_pem(data, der=True)
    assert out is None or out.startswith(b"-----BEGIN ")
