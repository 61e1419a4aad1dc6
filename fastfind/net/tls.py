"""TLS set-up with DCMTK 3.6.7 ``findscu`` semantics on Python's :mod:`ssl` (PS3.15 Annex B).

:func:`build_context` turns the parsed TLS options (:class:`fastfind.options.TlsOptions`) into a
client :class:`ssl.SSLContext`. It works in findscu's order and, for local set-up problems,
logs DCMTK's ``E:``/``W:`` lines on the ``fastfind`` logger and raises
:class:`~fastfind.errors.UsageError` whose text is DCMTK's ``F:`` line (exit code 1):

1. trusted certificates (``+cf``, ``+cd``) and CRLs (``+crl``): an unreadable file is logged
   (``W: unable to load certificate file 'f', ignoring``) and skipped;
2. private key, then certificate (``+tls key cert``): ``000b:0004 Unable to load private TLS key
   from 'key'``; a bad certificate is reported as findscu 3.6.7 does, as ``000b:0006 Private key
   'key' and certificate 'cert' do not match``;
3. profile, then ``+cs`` ciphersuites (DCMTK's IANA ``TLS_...`` names, mapped to OpenSSL's).

Verification follows DCMTK (decision §6.3.3 of ``hostile-scp.md``): only the ``+cf``/``+cd``
certificates are trusted (never the system store); ``-rc`` (default) and ``-vc`` need a chain
that verifies (a TLS server always presents a certificate, so both are the same for a client);
``-ic`` accepts any server. Host names are not checked unless ``check_hostname=True``.

Profiles (``TLS_...`` lists as DCMTK 3.6.7 offers them, observed in its ClientHello; TLS 1.3
ciphersuites are OpenSSL's defaults because :mod:`ssl` cannot set them):

=========  ==========  ==========================================================
profile    TLS         TLS 1.2 ciphersuites
=========  ==========  ==========================================================
bcp195-nd  1.2 - 1.3   ECDHE/DHE-RSA AES-128/256-GCM (``+py``, 3.6.7's default)
bcp195     1.2 - 1.3   the same + TLS_RSA_WITH_AES_128_CBC_SHA (``+px``)
bcp195-ex  1.2         the same four + ECDHE-ECDSA AES-256/128-GCM (``+pz``)
8996       1.2 - 1.3   ECDHE-RSA/ECDSA AES-128/256-GCM (``+pg``, RFC 8996/9325)
8996-mod   1.2 - 1.3   ECDHE AES-GCM, CCM, CCM-8, ChaCha20 (``+pm``)
aes        1.2         TLS_RSA_WITH_AES_128_CBC_SHA (``+pa``, retired)
basic      1.2         TLS_RSA_WITH_3DES_EDE_CBC_SHA (``+pb``, retired; needs 3DES)
null       1.2         TLS_RSA_WITH_NULL_SHA (``+pn``, unencrypted, retired)
=========  ==========  ==========================================================

Deviation: TLS 1.0 and 1.1 are never negotiated (DCMTK's ``+px``/``+pa``/``+pn`` would).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import getpass
import logging
import os
import re
import ssl
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import localfile
from ..errors import UsageError
from ..options import TlsOptions

log = logging.getLogger("fastfind")

PASSWORD_PROMPT = "Enter PEM pass phrase:"
SEED_SIZE = 1024
SEED_READ_LIMIT = 1 << 20  #: ``+rs``: bytes mixed in at most (``/dev/urandom`` is fine)

#: DCMTK's ciphersuite names (IANA) -> OpenSSL names; the names ``+cs`` accepts.
OPENSSL_CIPHERS: dict[str, str] = {
    "TLS_RSA_WITH_NULL_SHA": "NULL-SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": "DES-CBC3-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA": "CAMELLIA128-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA": "ECDH-ECDSA-AES128-SHA",
    "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA": "ECDH-RSA-AES128-SHA",
    "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256": "ECDH-ECDSA-AES128-SHA256",
    "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256": "ECDH-RSA-AES128-SHA256",
    "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256": "ECDH-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256": "ECDH-RSA-AES128-GCM-SHA256",
    "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA": "CAMELLIA256-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA256": "AES256-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA": "ECDH-ECDSA-AES256-SHA",
    "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA": "ECDH-RSA-AES256-SHA",
    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384": "ECDH-ECDSA-AES256-SHA384",
    "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384": "ECDH-RSA-AES256-SHA384",
    "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384": "ECDH-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384": "ECDH-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA": "DHE-DSS-AES128-SHA",
    "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA": "DHE-DSS-CAMELLIA128-SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA": "DHE-RSA-AES128-SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA": "DHE-RSA-CAMELLIA128-SHA",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256": "DHE-DSS-AES128-SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256": "DHE-RSA-AES128-SHA256",
    "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256": "DHE-DSS-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": "ECDHE-ECDSA-AES256-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": "ECDHE-RSA-AES256-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA": "DHE-DSS-AES256-SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA": "DHE-RSA-AES256-SHA",
    "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA": "DHE-DSS-CAMELLIA256-SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA": "DHE-RSA-CAMELLIA256-SHA",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256": "DHE-DSS-AES256-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256": "DHE-RSA-AES256-SHA256",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "DHE-RSA-CHACHA20-POLY1305",
    "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384": "DHE-DSS-AES256-GCM-SHA384",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
}

#: Used by the ``8996-mod`` profile only (``+cs`` does not know them, as in findscu 3.6.7).
_PROFILE_ONLY_CIPHERS = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM": "ECDHE-ECDSA-AES128-CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8": "ECDHE-ECDSA-AES128-CCM8",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM": "ECDHE-ECDSA-AES256-CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8": "ECDHE-ECDSA-AES256-CCM8",
}

_ND = ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384")


@dataclass(frozen=True)
class Profile:
    """A DICOM Secure Transport Connection Profile (PS3.15 B.1-B.13) as DCMTK implements it."""

    name: str  #: DCMTK's name, used in its messages
    ciphers: tuple[str, ...]  #: TLS 1.2 ciphersuites (IANA names), in DCMTK's order
    tls13: bool = True  #: TLS 1.3 allowed
    extra: str = "3.6.7"  #: rule set for ``+cs``: '3.6.7', '8996', 'none' (refused), 'any'


PROFILES: dict[str, Profile] = {
    "bcp195-nd": Profile("Non-downgrading BCP 195 TLS Profile", _ND),
    "bcp195": Profile("BCP 195 TLS Profile", (*_ND, "TLS_RSA_WITH_AES_128_CBC_SHA")),
    "bcp195-ex": Profile("Extended BCP 195 TLS Profile",
                         (*_ND, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), tls13=False, extra="none"),
    "8996": Profile("BCP 195 RFC 8996 TLS Profile",
                    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                     "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
                    extra="8996"),
    "8996-mod": Profile("Modified BCP 195 RFC 8996 TLS Profile",
                        ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
                         "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                         "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                         "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                         "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                         "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
                         "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                         "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"), extra="none"),
    "aes": Profile("AES TLS Secure Transport Connection Profile",
                   ("TLS_RSA_WITH_AES_128_CBC_SHA",), tls13=False),
    "basic": Profile("Basic TLS Secure Transport Connection Profile",
                     ("TLS_RSA_WITH_3DES_EDE_CBC_SHA",), tls13=False),
    "null": Profile("Authenticated unencrypted communication", ("TLS_RSA_WITH_NULL_SHA",),
                    tls13=False, extra="any"),
}

# OpenSSL 3 packed error codes DCMTK prints for failures :mod:`ssl` reports only as "PEM lib".
_E_BAD_DECRYPT = "1c800064: bad decrypt"
_E_UNSUPPORTED = "1e08010c: unsupported"
_E_NO_START_LINE = "0480006c: no start line"


class _ErrorQueue:
    """OpenSSL's per-thread error queue as findscu shows it: every failure pushes its errors,
    and the ``E: OpenSSL error ...`` line DCMTK logs pops only the *oldest* one."""

    def __init__(self) -> None:
        self.queue: list[str] = []

    def report(self, errors: list[str]) -> None:
        self.queue.extend(errors)
        log.error("OpenSSL error " + self.queue.pop(0))


def build_context(
    tls: TlsOptions,
    *,
    password_prompt: Callable[[str], str] = getpass.getpass,
    check_hostname: bool = False,
    host: str | None = None,
) -> tuple[ssl.SSLContext, str | None]:
    """A client context for ``tls`` and the server name to pass to ``wrap_socket`` (or None).

    The name is ``tls.sni`` (``--request-sni``); with ``check_hostname`` it defaults to ``host``
    (the peer as given on the command line) and the certificate must match it (RFC 6125).
    ``password_prompt`` is called (at most once, only for an encrypted key) when
    ``tls.password`` is None (``+ps``). Raises :class:`UsageError` with DCMTK's message.
    """
    if not tls.enabled:
        raise UsageError("TLS is not enabled")
    profile = PROFILES.get(tls.profile)
    if profile is None:
        raise UsageError(f"unknown TLS profile: {tls.profile}")
    if check_hostname and tls.verify_peer == "ignore":
        raise UsageError("host name checking needs peer certificate verification "
                         "(not with --ignore-peer-cert)")
    server_name = tls.sni
    if check_hostname:
        server_name = server_name or host
        if not server_name:
            raise UsageError("host name checking needs the peer's host name")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    _read_seed(tls.seed_file)
    der = tls.key_format == "der"
    errors = _ErrorQueue()
    # findscu adds the files of repeated +cf/+cd/+crl options from right to left
    for path in reversed(tls.cert_files):
        _add_trusted_file(ctx, path, der, "certificate", errors)
    for path in reversed(tls.cert_dirs):
        _add_trusted_dir(ctx, path, der)
    for path in reversed(tls.crl_files):
        _add_trusted_file(ctx, path, der, "CRL", errors)
    if tls.crl_mode == "leaf":
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    elif tls.crl_mode == "all":
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    # DCMTK uses OpenSSL's default chain rules: no partial chains, no RFC 5280 strict mode.
    for flag in ("VERIFY_X509_STRICT", "VERIFY_X509_PARTIAL_CHAIN"):
        ctx.verify_flags &= ~getattr(ssl.VerifyFlags, flag, 0)

    if tls.authenticate:
        if not tls.private_key_file or not tls.certificate_file:
            raise UsageError("--enable-tls needs a private key file and a certificate file")
        _load_key_and_certificate(ctx, tls.private_key_file, tls.certificate_file, der,
                                  tls.password, password_prompt, errors)

    ctx.set_ciphers(cipher_string(tls))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED if profile.tls13 else ssl.TLSVersion.TLSv1_2

    if tls.verify_peer == "ignore":
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = check_hostname
    return ctx, server_name


def cipher_string(tls: TlsOptions) -> str:
    """The OpenSSL cipher list for ``tls``' profile plus its ``+cs`` ciphersuites.

    Logs DCMTK's warnings; raises :class:`UsageError` for unknown, unsupported or (in this
    profile) forbidden ciphersuites, with findscu 3.6.7's messages.
    """
    profile = PROFILES[tls.profile]
    names: list[str] = []
    supported = _supported_openssl_ciphers()
    table = {**OPENSSL_CIPHERS, **_PROFILE_ONLY_CIPHERS}
    for suite in profile.ciphers:
        if table[suite] not in supported:
            if tls.profile == "8996-mod" and suite.endswith(("_CCM", "_CCM_8")):
                continue  # optional in practice: OpenSSL builds without CCM still get the rest
            _unsupported(suite)
        names.append(table[suite])
    for suite in tls.ciphers:
        openssl_name = OPENSSL_CIPHERS.get(suite)
        if openssl_name is None:
            raise UsageError("0001:0007 Illegal call, perhaps wrong parameters")
        if openssl_name not in supported:
            _unsupported(suite)
        _check_extra_cipher(profile, suite)
        names.append(openssl_name)
    text = ":".join(dict.fromkeys(names))
    if tls.profile == "null":
        text += ":@SECLEVEL=0"  # OpenSSL refuses unencrypted suites at security level 1 and up
    return text


def write_seed(tls: TlsOptions) -> None:
    """``+ws``/``+wf``: write fresh random bytes to the seed file (errors are ignored, as DCMTK)."""
    if not tls.enabled or not tls.write_seed_file:
        return
    with contextlib.suppress(OSError):
        with open(tls.write_seed_file, "wb") as f:
            f.write(ssl.RAND_bytes(SEED_SIZE))


# -- ciphersuites ---------------------------------------------------------------------------------


def _supported_openssl_ciphers() -> set[str]:
    scratch = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    scratch.set_ciphers("ALL:eNULL")
    return {c["name"] for c in scratch.get_ciphers()}


def _unsupported(suite: str) -> None:
    log.critical(f"Ciphersuite '{suite}' not supported by the OpenSSL library used to compile "
                 "this application.")
    raise UsageError(f"000b:0003 Unknown or invalid ciphersuite: {suite}")


def _not_allowed(message: str) -> None:
    log.critical(message)
    raise UsageError("000b:000a Ciphersuite not allowed in current DICOM security profile")


def _check_extra_cipher(profile: Profile, suite: str) -> None:
    """DCMTK's rules for a ``+cs`` ciphersuite added to a profile (warnings or refusal)."""
    if profile.extra == "any":
        return
    if profile.extra == "none":
        _not_allowed(f"Additional ciphersuites not permitted with security profile '{profile.name}'")
    if "_NULL_" in suite:
        _not_allowed(f"Unencrypted ciphersuite '{suite}' not permitted with security profile "
                     f"'{profile.name}'")
    rsa = suite.startswith("TLS_RSA_")
    if profile.extra == "3.6.7":
        which = "RSA" if rsa else "NO RSA"
        log.warning(f"Ciphersuite '{suite}' uses {which} key transport. RFC 7525 recommends that "
                    "such cipher suites should not be used.")
        return
    if suite.endswith("_SHA"):
        _not_allowed(f"Ciphersuite '{suite}' using SHA-1 MAC not permitted with security profile "
                     f"'{profile.name}'")
    if rsa:
        log.warning(f"Ciphersuite '{suite}' uses RSA key transport. RFC 9325 recommends that "
                    "such cipher suites should not be used.")
    if suite.startswith("TLS_DHE_"):
        log.warning(f"Ciphersuite '{suite}' uses ephemeral finite-field Diffie-Hellman key "
                    "agreement. RFC 9325 recommends that such cipher suites should not be used.")
    if "_CBC_" in suite:
        log.warning(f"Ciphersuite '{suite}' uses CBC mode of operation. RFC 9325 recommends that "
                    "such cipher suites should not be used, unless both sides support the "
                    "encrypt_then_mac extension (we do).")


# -- local files ---------------------------------------------------------------------------------


def _read_tls_file(path: str) -> bytes:
    """A key, certificate or CRL file, read once with :data:`~fastfind.localfile.TLS_FILE_LIMIT`."""
    return localfile.read_capped(path, localfile.TLS_FILE_LIMIT)


def _log_cap(what: str, path: str, exc: BaseException) -> None:
    """Say why a file was not used when the reason is ours (too large, no data in time)."""
    if isinstance(exc, OSError) and exc.errno in (errno.EFBIG, errno.ETIMEDOUT):
        log.warning(f"{what} file '{path}': {localfile.describe(exc)}")


# -- trusted certificates and CRLs ---------------------------------------------------------------


def _add_trusted_file(ctx: ssl.SSLContext, path: str, der: bool, what: str,
                      errors: _ErrorQueue) -> None:
    """``+cf``/``+crl``: add the file's certificates or CRLs; on failure warn and go on."""
    try:
        data = _read_tls_file(path)
        if der and what == "certificate":
            ctx.load_verify_locations(cadata=data)
        else:  # OpenSSL parses a PEM file itself (certificates and CRLs alike)
            with _private_file(_pem("X509 CRL", data) if der else data) as pem_path:
                ctx.load_verify_locations(cafile=pem_path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        errors.report(_openssl_errors(exc, _E_NO_START_LINE))
        _log_cap(what, path, exc)
        log.warning(f"unable to load {what} file '{path}', ignoring")


def _add_trusted_dir(ctx: ssl.SSLContext, path: str, der: bool) -> None:
    """``+cd``: an OpenSSL hashed directory (``c_rehash``); a missing directory is ignored."""
    if not der:
        with contextlib.suppress(OSError, ssl.SSLError):
            ctx.load_verify_locations(capath=path)
        return
    # ssl's capath reads PEM only: load the hashed DER files now instead of on demand.
    with contextlib.suppress(OSError):
        for name in sorted(os.listdir(path)):
            if re.fullmatch(r"[0-9a-f]{8}\.\d+", name):
                with contextlib.suppress(OSError, ssl.SSLError, ValueError):
                    ctx.load_verify_locations(cadata=_read_tls_file(os.path.join(path, name)))


# -- our key and certificate ---------------------------------------------------------------------


def _load_key_and_certificate(ctx: ssl.SSLContext, key: str, cert: str, der: bool,
                              password: str | None, prompt: Callable[[str], str],
                              errors: _ErrorQueue) -> None:
    """DCMTK's order: the key (``000b:0004``), then the certificate and the pair (``000b:0006``)."""
    key_error = f"000b:0004 Unable to load private TLS key from '{key}'"
    pair_error = f"000b:0006 Private key '{key}' and certificate '{cert}' do not match"
    try:
        key_data = _read_tls_file(key)
    except OSError as exc:
        errors.report(_openssl_errors(exc))
        _log_cap("private key", key, exc)
        raise UsageError(key_error) from None
    key_pem = _key_as_pem(key_data, der)
    if key_pem is None:
        errors.report([_E_UNSUPPORTED])
        raise UsageError(key_error)
    try:
        cert_data = _read_tls_file(cert)
        cert_pem = ssl.DER_cert_to_PEM_cert(cert_data).encode() if der else cert_data
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=cert_pem.decode("latin-1"))
    except (OSError, ssl.SSLError, ValueError) as exc:
        errors.report(_openssl_errors(exc, _E_NO_START_LINE))
        _log_cap("certificate", cert, exc)
        raise UsageError(pair_error) from None

    answer: list[str] = []

    def password_callback() -> str:
        if password is not None:
            return password
        if not answer:
            try:
                answer.append(prompt(PASSWORD_PROMPT))
            except (EOFError, OSError):
                answer.append("")
        return answer[0]

    with _private_file(key_pem) as key_path, _private_file(cert_pem) as cert_path:
        try:
            ctx.load_cert_chain(cert_path, key_path, password=password_callback)
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise UsageError(pair_error) from None
            errors.report([_E_BAD_DECRYPT] if _encrypted(key_pem)
                          else _openssl_errors(exc, _E_UNSUPPORTED))
            raise UsageError(key_error) from None
        except (OSError, ValueError) as exc:
            errors.report(_openssl_errors(exc, _E_UNSUPPORTED))
            raise UsageError(key_error) from None


_PEM_KEY = re.compile(rb"-----BEGIN ((?:[A-Z]+ )*)PRIVATE KEY-----")


def _key_as_pem(data: bytes, der: bool) -> bytes | None:
    """The key as PEM text, or None if it cannot be a private key in the given format."""
    if not der:
        return data if _PEM_KEY.search(data) else None
    label = _der_key_label(data)
    return _pem(label, data) if label else None


def _encrypted(pem: bytes) -> bool:
    return b"ENCRYPTED" in pem


def _der_key_label(der: bytes) -> str | None:
    """PEM label of a DER private key: PKCS#8 (plain or encrypted), PKCS#1 RSA or SEC 1 EC."""
    body = _der_contents(der, 0x30)
    if body is None:
        return None
    if body[:1] == b"\x30":
        return "ENCRYPTED PRIVATE KEY"  # EncryptedPrivateKeyInfo ::= SEQUENCE { algorithm, data }
    version = _der_element(body)
    if version is None or body[0] != 0x02:
        return None
    rest = body[version:]
    return {0x30: "PRIVATE KEY", 0x02: "RSA PRIVATE KEY", 0x04: "EC PRIVATE KEY"}.get(
        rest[0] if rest else -1)


def _der_element(data: bytes) -> int | None:
    """Total length (header + contents) of the DER element at the start of ``data``."""
    if len(data) < 2:
        return None
    first = data[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            return None
        header, length = 2 + count, int.from_bytes(data[2:2 + count], "big")
    return header + length if header + length <= len(data) else None


def _der_contents(data: bytes, tag: int) -> bytes | None:
    size = _der_element(data)
    if size is None or data[0] != tag or size != len(data):
        return None
    header = 2 if data[1] < 0x80 else 2 + (data[1] & 0x7F)
    return data[header:size]


def _pem(label: str, der: bytes) -> bytes:
    text = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """A path :mod:`ssl` can open holding ``data``: an anonymous memory file on Linux, else a
    0600 temporary file in a private directory; gone on exit."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("fastfind-tls", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="fastfind-tls-") as tmp:
        path = os.path.join(tmp, "pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield path


def _read_seed(path: str | None) -> None:
    """``+rs``: mix the file into OpenSSL's random pool (a missing file is ignored, as DCMTK)."""
    if not path:
        return
    with contextlib.suppress(OSError):
        data = localfile.read_capped(path, SEED_READ_LIMIT, truncate=True)
        if data:
            ssl.RAND_add(data, 0.0)


def _openssl_errors(exc: BaseException, fallback: str = "00000000: OpenSSL error") -> list[str]:
    """The ``XXXXXXXX: text`` OpenSSL 3 errors (packed codes) that ``exc`` left in the queue."""
    if isinstance(exc, ssl.SSLError):
        lib, reason = getattr(exc, "library", None), getattr(exc, "reason", None)
        tables = getattr(ssl, "_ssl", None)
        libs = {name: code for code, name in getattr(tables, "lib_codes_to_names", {}).items()}
        codes = {(lc, name): rc
                 for (lc, rc), name in getattr(tables, "err_codes_to_names", {}).items()}
        if lib in libs and (libs[lib], reason) in codes:
            packed = ((libs[lib] & 0xFF) << 23) | (codes[(libs[lib], reason)] & 0x7FFFFF)
            return [f"{packed:08x}: {str(reason).lower().replace('_', ' ')}"]
        return [fallback]
    if isinstance(exc, OSError) and exc.errno:
        # system error, then BIO "no such file", then the caller's "system lib"
        return [f"{0x80000000 | exc.errno:08x}: OpenSSL error", "10000080: no such file",
                "05880002: system lib"]
    return [fallback]
