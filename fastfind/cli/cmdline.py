"""The findscu-compatible command line: ``fastfind [options] peer port [dcmfile-in...]``.

Parsing only, no networking. :func:`parse_command_line` reproduces the observable behaviour of
DCMTK 3.6.7 ``findscu`` (``../shared/reference/findscu-dcmtk.md`` §1.1, §1.6):

* ``@file`` arguments are replaced by the file's words (quotes group, no nesting), before
  anything else is looked at; an unreadable command file is an error. Command files and
  ``-lc`` files are read once, at most 1 MiB (:mod:`fastfind.localfile`): a FIFO works,
  ``/dev/zero`` is too large, a NUL byte in a command file is refused.
* ``-aet``/``-aec`` are cut to 16 characters as findscu does; a title PS3.5 does not allow
  (empty, all spaces, non-ASCII, backslash, control characters) is an error here (findscu
  sends it, or for an empty one fails after connecting with exit 2).
* Arguments of two or more characters starting with ``+``/``-`` (not followed by a digit) are
  options; short names are rewritten to long names (that list is ``expanded_argv``, what
  ``--arguments`` prints). Option values are the following arguments, taken verbatim.
* Options are then evaluated in findscu's order, so the *first* error it would report is the one
  reported here. Inside a group of alternatives the rightmost option wins.
* Integers are read the way C ``sscanf`` reads them (``%li`` for signed values: decimal, ``0x``
  hex or ``0`` octal, trailing junk ignored; ``%lu`` for unsigned ones: decimal only).
* After the logging options are evaluated, ``-q`` / ``-ll fatal|off`` (or a ``-lc`` file whose
  root logger is FATAL/OFF) silence later error messages, but the exit code stays 1.

Every way of stopping early is a :class:`CommandLineExit` holding the exit code and the exact
stdout/stderr text; the caller prints them and exits.

Beyond findscu 3.6.7, the TLS options of later DCMTK versions (``+pg``, ``+pm``, ``+ph``,
``--no-sni``, ``--request-sni``), ``+pb`` (hidden by DCMTK builds without 3DES) and fastfind's own
long options are accepted.

Left to the caller, as findscu does them after parsing: the ``-od`` directory check (only with
an extract option: ``F: specified output directory does not exist`` / ``... is not writeable``,
exit 1), TLS key/certificate loading, and printing :func:`format_arguments_log` when
``ParsedArgs.arguments`` is set (empty arguments are counted but not shown). Timeouts are the
parsed C ``long`` values; findscu casts them to 32-bit ints.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import _version, localfile
from .._version import __version__
from ..options import (
    AE_TITLE_MAX,
    FindOptions,
    Limits,
    OutputOptions,
    TlsOptions,
    ae_title_problem,
    shown,
)
from . import logs

PROGRAM = "fastfind"
DESCRIPTION = "DICOM query (C-FIND) SCU"
#: Release date shown in the header (``$fastfind: fastfind v<version> <date> $``).
RELEASE_DATE: str = getattr(_version, "__date__", "2026-05-25")

LOG_LEVELS = ("off", "fatal", "error", "warn", "info", "debug", "trace")

# -- option table --------------------------------------------------------------------------------
# An entry is a group ("G", title), a subgroup ("S", title) or an option
# (long, short, number of values, value description, description, exclusive).

_Opt = tuple[str, str, int, str, str, bool]
_Row = tuple[str, str] | _Opt


def _o(long: str, short: str = "", nval: int = 0, vdesc: str = "", desc: str = "",
       exclusive: bool = False) -> _Opt:
    return (long, short, nval, vdesc, desc, exclusive)


_TABLE: list[_Row] = [
    ("G", "general options:"),
    _o("--help", "-h", desc="show this usage text and exit", exclusive=True),
    _o("--version", desc="show version and library information and exit", exclusive=True),
    _o("--arguments", desc="log the command line after @file expansion"),
    _o("--quiet", "-q", desc="quiet: log fatal errors only"),
    _o("--verbose", "-v", desc="verbose: log what is being done"),
    _o("--debug", "-d", desc="debug: log protocol details"),
    _o("--log-level", "-ll", 1, "[l]evel: fatal, error, warn, info, debug or trace",
       "log messages of level l and above"),
    _o("--log-config", "-lc", 1, "[f]ilename: string", "configure logging from file f"),
    ("G", "network options:"),
    ("S", "query keys:"),
    _o("--key", "-k", 1, '[k]ey: gggg,eeee="str", path or dictionary name="str"',
       "add or replace a key in the query (repeatable)"),
    ("S", "query information model:"),
    _o("--worklist", "-W", desc="Modality Worklist model (default)"),
    _o("--patient", "-P", desc="Patient Root model"),
    _o("--study", "-S", desc="Study Root model"),
    _o("--psonly", "-O", desc="Patient/Study Only model (retired)"),
    ("S", "application entity titles:"),
    _o("--aetitle", "-aet", 1, "[a]etitle: string", "our own (calling) AE title (default: FINDSCU)"),
    _o("--call", "-aec", 1, "[a]etitle: string", "the peer's (called) AE title (default: ANY-SCP)"),
    ("S", "post-1993 value representations:"),
    _o("--enable-new-vr", "+u", desc="keep newer VRs such as UN and UT (default)"),
    _o("--disable-new-vr", "-u", desc="write newer VRs as OB"),
    ("S", "transfer syntaxes to propose:"),
    _o("--propose-uncompr", "-x=", desc="all uncompressed syntaxes, explicit VR in this\n"
       "machine's byte order first (default)"),
    _o("--propose-little", "-xe", desc="all uncompressed syntaxes, explicit VR\nlittle endian first"),
    _o("--propose-big", "-xb", desc="all uncompressed syntaxes, explicit VR\nbig endian first"),
    _o("--propose-deflated", "-xd", desc="deflated explicit VR little endian, then all\n"
       "uncompressed syntaxes"),
    _o("--propose-implicit", "-xi", desc="implicit VR little endian only"),
    ("S", "deflate level (needs --propose-deflated):"),
    _o("--compression-level", "+cl", 1, "[l]evel: integer 0..9 (default: 6)",
       "0 stores, 1 is fastest, 9 compresses most"),
    ("S", "other network options:"),
    _o("--timeout", "-to", 1, "[s]econds: integer (default: no limit)", "TCP connect timeout"),
    _o("--socket-timeout", "-ts", 1, "[s]econds: integer (default: 60)",
       "socket send/receive timeout (0: none)"),
    _o("--acse-timeout", "-ta", 1, "[s]econds: integer (default: 30)",
       "timeout for association set-up and release"),
    _o("--dimse-timeout", "-td", 1, "[s]econds: integer (default: no limit)",
       "timeout while waiting for a response"),
    _o("--max-pdu", "-pdu", 1, "[n]umber of bytes: integer (4096..131072)",
       "largest PDU we accept (default: 16384)"),
    _o("--repeat", "", 1, "[n]umber: integer", "send each query n times"),
    _o("--abort", desc="end with A-ABORT instead of A-RELEASE"),
    _o("--cancel", "", 1, "[n]umber: integer", "send C-CANCEL after n responses (default: never)"),
    ("G", "transport layer security (TLS) options:"),
    ("S", "transport:"),
    _o("--disable-tls", "-tls", desc="plain TCP (default)"),
    _o("--enable-tls", "+tls", 2, "[p]rivate key file, [c]ertificate file: string",
       "TLS, authenticating ourselves with key p and certificate c"),
    _o("--anonymous-tls", "+tla", desc="TLS without a client certificate"),
    ("S", "private key password (needs --enable-tls):"),
    _o("--std-passwd", "+ps", desc="ask for the password on the terminal (default)"),
    _o("--use-passwd", "+pw", 1, "[p]assword: string", "use password p"),
    _o("--null-passwd", "-pw", desc="use an empty password"),
    ("S", "key and certificate format:"),
    _o("--pem-keys", "-pem", desc="keys and certificates are PEM (default)"),
    _o("--der-keys", "-der", desc="keys and certificates are DER"),
    ("S", "trusted certificates:"),
    _o("--add-cert-file", "+cf", 1, "[f]ilename: string", "trust the certificate(s) in file f"),
    _o("--add-cert-dir", "+cd", 1, "[d]irectory: string", "trust the certificates in directory d"),
    _o("--add-crl-file", "+crl", 1, "[f]ilename: string",
       "use the revocation list in file f\n(implies --enable-crl-vfy)"),
    _o("--enable-crl-vfy", "+crv", desc="check the peer certificate against CRLs"),
    _o("--enable-crl-all", "+cra", desc="check the whole chain against CRLs"),
    ("S", "security profile:"),
    _o("--list-profiles", "+ph", desc="list the TLS profiles and exit", exclusive=True),
    _o("--profile-8996", "+pg", desc="BCP 195 / RFC 8996 profile"),
    _o("--profile-8996-mod", "+pm", desc="modified BCP 195 / RFC 8996 profile"),
    _o("--profile-bcp195-nd", "+py", desc="non-downgrading BCP 195 profile (default)"),
    _o("--profile-bcp195", "+px", desc="BCP 195 profile"),
    _o("--profile-bcp195-ex", "+pz", desc="extended BCP 195 profile"),
    _o("--profile-basic", "+pb", desc="basic profile (retired, 3DES)"),
    _o("--profile-aes", "+pa", desc="AES profile (retired)"),
    _o("--profile-null", "+pn", desc="authenticated but unencrypted (retired)"),
    ("S", "ciphersuites:"),
    _o("--list-ciphers", "+cc", desc="list the TLS ciphersuites and exit", exclusive=True),
    _o("--cipher", "+cs", 1, "[c]iphersuite name: string",
       "also offer ciphersuite c\n(not with --profile-bcp195-ex)"),
    ("S", "server name indication:"),
    _o("--no-sni", desc="send no server name (default)"),
    _o("--request-sni", "", 1, "[s]erver name: string", "send server name s"),
    ("S", "random seed:"),
    _o("--seed", "+rs", 1, "[f]ilename: string", "seed the random generator from file f"),
    _o("--write-seed", "+ws", desc="write the seed back (needs --seed)"),
    _o("--write-seed-file", "+wf", 1, "[f]ilename: string", "write the seed to file f (needs --seed)"),
    ("S", "peer authentication:"),
    _o("--require-peer-cert", "-rc", desc="verify the peer certificate (default)"),
    _o("--ignore-peer-cert", "-ic", desc="do not verify the peer certificate"),
    ("G", "output options:"),
    ("S", "general:"),
    _o("--output-directory", "-od", 1, '[d]irectory: string (default: ".")',
       "write extracted files into existing directory d"),
    ("S", "automatic data correction:"),
    _o("--enable-correction", "+dc", desc="correct received data (e.g. strip padding)"),
    _o("--disable-correction", "-dc", desc="show received data unchanged (default)"),
    ("S", "C-FIND responses:"),
    _o("--show-responses", "+sr", desc="always log the responses"),
    _o("--hide-responses", "-sr", desc="never log the responses"),
    _o("--extract", "-X", desc="save each response as DICOM file rsp0001.dcm, ..."),
    _o("--extract-xml", "-Xx", desc="save each response as XML file rsp0001.xml, ..."),
    _o("--extract-xml-single", "-Xs", 1, "[f]ilename: string", "save all responses in XML file f"),
    _o("--limit-output", "-Xlo", 1, "[n]umber: integer",
       "save at most n responses to files (default: all)"),
    ("G", "fastfind extensions:"),
    ("S", "exit status:"),
    _o("--dcmtk-exit-codes", desc="exit like findscu 3.6.7 (0, 1, 2, 3 only)"),
    ("S", "more output formats:"),
    _o("--extract-json", "", 1, "[f]ilename: string",
       "save all responses as one DICOM JSON array in f"),
    _o("--extract-ndjson", "", 1, "[f]ilename: string",
       "save responses as DICOM JSON, one object per line"),
    _o("--extract-csv", "", 1, "[f]ilename: string", "save responses as CSV table f"),
    _o("--extract-parquet", "", 1, "[f]ilename: string",
       "save responses as Parquet table f (needs pyarrow)"),
    _o("--csv-fields", "", 1, "[k]eys: K1,K2,...",
       "CSV/Parquet columns (default: the query's keys)"),
    _o("--no-clobber", desc="never overwrite existing output files"),
    _o("--sync", desc="flush output files to disk before exiting"),
    ("S", "transport layer security:"),
    _o("--tls-check-hostname", desc="also check that the peer's certificate names the peer host"),
    ("S", "limits:"),
    _o("--max-identifier-size", "", 1, "[n]umber of bytes: integer (default: 67108864)",
       "reject larger response identifiers (min. 1024)"),
    _o("--max-nesting", "", 1, "[n]umber: integer (default: 64)",
       "reject deeper sequence nesting (min. 1)"),
    _o("--post-cancel-timeout", "", 1, "[s]econds: number (default: 10)",
       "how long to wait for the final response\nafter C-CANCEL"),
    ("S", "extended negotiation (PS3.4 C.5.1.1):"),
    _o("--relational", desc="ask for relational queries"),
    _o("--datetime", desc="ask for combined date-time matching"),
    _o("--fuzzy", desc="ask for fuzzy semantic matching of person names"),
    _o("--timezone", desc="ask for timezone query adjustment"),
    ("S", "batch querying:"),
    _o("--batch", "", 1, "[f]ilename: string",
       "run one query per row of CSV file f (header\nrow: -k keys; a cell is the key's value)"),
    _o("--concurrency", "", 1, "[n]umber: integer 1..256 (default: 4)",
       "associations open at once (needs --batch)"),
    _o("--batch-report", "", 1, "[f]ilename: string",
       "write one CSV line per query to f (needs --batch)"),
    _o("--split-by", "", 1, "[k]ey: DA, TM or DT key",
       "complete capped answers by splitting k's range\n(needs --batch)"),
    _o("--expect-cap", "", 1, "[n]umber: integer",
       "the server stops at n matches: n matches\nmeans capped (needs --batch)"),
    _o("--crawl", "", 1, "[l]evel: STUDY, SERIES or IMAGE",
       "query the children of each match, down to\nlevel l (needs --batch)"),
    _o("--checkpoint", "", 1, "[f]ilename: string",
       "record finished work in f; run again with\nthe same f to resume (needs --batch)"),
]

_OPTIONS: dict[str, _Opt] = {}
for _row in _TABLE:
    if len(_row) == 6:
        _OPTIONS[_row[0]] = _row  # type: ignore[assignment,index]
        if _row[1]:
            _OPTIONS[_row[1]] = _row  # type: ignore[assignment,index,misc]


# -- results -------------------------------------------------------------------------------------


class CommandLineExit(Exception):
    """Stop after parsing: print ``stdout``/``stderr`` verbatim, then exit with ``code``."""

    def __init__(self, code: int, stdout: str = "", stderr: str = ""):
        super().__init__(stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {code}")
        self.code = code
        self.stdout = stdout
        self.stderr = stderr


@dataclass
class ParsedArgs:
    """Everything the command line says; defaults are findscu's."""

    peer: str = ""
    port: int = 104
    files: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    log_level: str = "warn"
    log_config: logs.LogConfig | None = None  #: ``-lc``, read and parsed once
    log_options_given: bool = False
    quiet: bool = False
    arguments: bool = False
    expanded_argv: list[str] = field(default_factory=list)
    model: str = "worklist"
    aetitle: str = "FINDSCU"
    called_aetitle: str = "ANY-SCP"
    enable_new_vrs: bool = True
    proposed_ts: str = "default"
    compression_level: int | None = None
    connect_timeout: int | None = None
    socket_timeout: int = 60
    acse_timeout: int = 30
    dimse_timeout: int | None = None
    max_pdu: int = 16384
    repeat: int = 1
    abort: bool = False
    cancel: int | None = None
    output_directory: str = "."
    output_directory_given: bool = False
    data_correction: bool = False
    show_responses: bool | None = None
    extract: str | None = None
    extract_xml_single_file: str | None = None
    limit_output: int | None = None
    tls: TlsOptions = field(default_factory=TlsOptions)
    dcmtk_exit_codes: bool = False
    sync: bool = False
    no_clobber: bool = False
    tls_check_hostname: bool = False
    extract_json: str | None = None
    extract_ndjson: str | None = None
    extract_csv: str | None = None
    extract_parquet: str | None = None
    csv_fields: list[str] | None = None
    max_identifier_size: int = 64 * 1024 * 1024
    max_nesting: int = 64
    post_cancel_timeout: float = 10.0
    relational: bool = False
    datetime_matching: bool = False
    fuzzy_names: bool = False
    timezone_adjustment: bool = False
    batch: str | None = None
    concurrency: int = 4
    batch_report: str | None = None
    split_by: str | None = None
    expect_cap: int | None = None
    crawl: str | None = None
    checkpoint: str | None = None

    def find_options(self, ssl_context: object = None, server_hostname: str | None = None) -> FindOptions:
        """The network options these arguments ask for."""
        return FindOptions(
            model=self.model,
            calling_ae=self.aetitle,
            called_ae=self.called_aetitle,
            transfer_syntaxes=self.proposed_ts,
            max_pdu=self.max_pdu,
            connect_timeout=self.connect_timeout,
            socket_timeout=self.socket_timeout,
            acse_timeout=self.acse_timeout,
            dimse_timeout=self.dimse_timeout,
            post_cancel_timeout=self.post_cancel_timeout,
            ssl_context=ssl_context,  # type: ignore[arg-type]
            server_hostname=server_hostname,
            deflate_level=self.compression_level if self.compression_level is not None else 6,
            limits=Limits(max_nesting=self.max_nesting, max_identifier_size=self.max_identifier_size),
            relational=self.relational,
            datetime_matching=self.datetime_matching,
            fuzzy_names=self.fuzzy_names,
            timezone_adjustment=self.timezone_adjustment,
            enable_new_vrs=self.enable_new_vrs,
        )

    def output_options(self) -> OutputOptions:
        """The outputs these arguments ask for."""
        return OutputOptions(
            directory=self.output_directory,
            extract=self.extract,
            xml_single_file=self.extract_xml_single_file,
            limit_output=self.limit_output,
            json=self.extract_json,
            ndjson=self.extract_ndjson,
            csv=self.extract_csv,
            parquet=self.extract_parquet,
            csv_fields=tuple(self.csv_fields) if self.csv_fields else None,
            sync=self.sync,
            no_clobber=self.no_clobber,
            enable_new_vrs=self.enable_new_vrs,
        )

    @property
    def responses_log_level(self) -> str | None:
        """Level of the responses logger: 'info', 'off', or None (leave as configured).

        findscu: ``+sr``/``-sr`` force it; otherwise, unless ``-lc`` is given, it is 'off' with
        an extract option and 'info' when no logging option was given.
        """
        if self.show_responses is not None:
            return "info" if self.show_responses else "off"
        if self.log_config is not None:
            return None
        if self.extract is not None:
            return "off"
        return None if self.log_options_given else "info"


# -- text ----------------------------------------------------------------------------------------


def header() -> str:
    """The two header lines (plus blank line) that start usage, version and error output."""
    return f"$fastfind: {PROGRAM} v{__version__} {RELEASE_DATE} $\n\n{PROGRAM}: {DESCRIPTION}\n"


def format_arguments_log(expanded_argv: Sequence[str], prog: str = PROGRAM) -> str:
    """The two stderr lines ``--arguments`` produces (empty arguments are counted, not shown)."""
    shown = "".join(f"'{a}' " for a in expanded_argv if a)
    return f"I: calling '{prog}' with {len(expanded_argv)} arguments: {shown}\nI: \n"


def _exit_code_table() -> str:
    """The exit-code table of :mod:`fastfind.errors`' docstring, re-indented for the help text."""
    from .. import errors

    rows: list[list[str]] = []
    for line in (errors.__doc__ or "").splitlines():
        if line[:1].isdigit():
            code, _, text = line.partition(" ")
            rows.append([code, text.strip()])
        elif rows and line.startswith("      ") and line.strip():
            rows[-1].append(line.strip())
    out = ""
    for code, *texts in rows:
        out += f"    {code:<6}{texts[0]}\n" + "".join(f"          {t}\n" for t in texts[1:])
    return out.replace("``", "")


def usage_text() -> str:
    """The ``--help`` text (own wording; findscu's options, groups and order)."""
    lines = [
        f"usage: {PROGRAM} [options] peer port [dcmfile-in...]",
        "",
        "parameters:",
        "  peer                          host name or address of the C-FIND SCP",
        "  port                          its TCP port",
        "  dcmfile-in                    DICOM file(s) holding query identifiers",
        "",
    ]
    indent = ""
    for row in _TABLE:
        if len(row) == 2:
            if row[0] == "G":
                lines.append(row[1])
                indent = ""
            else:
                lines.append("  " + row[1])
                indent = "  "
            continue
        long, short, _n, vdesc, desc, _x = row  # type: ignore[misc]
        col = f"{indent}  {short:<6}{long}"
        texts = ([vdesc] if vdesc else []) + desc.split("\n")
        if len(col) >= 32:
            lines.append(col)
            lines.append(" " * 32 + texts[0])
        else:
            lines.append(f"{col:<32}{texts[0]}")
        lines.extend(" " * 32 + t for t in texts[1:])
    lines += [
        "",
        "@file arguments are replaced by the words in file (quotes group words).",
        "",
        "exit codes (fastfind; with --dcmtk-exit-codes only 0, 1, 2 and 3):",
        _exit_code_table().rstrip("\n"),
        "",
    ]
    return header() + "\n".join(lines) + "\n"


def version_text() -> str:
    """The ``--version`` block: our version and every library that matters."""
    import platform
    import ssl
    import zlib

    import pydicom
    import pynetdicom

    from .. import codec

    return header() + (
        f"\nHost type: {platform.system()} {platform.machine()}\n"
        f"Python: {platform.python_implementation()} {platform.python_version()}\n"
        f"Codec implementation: {codec.IMPLEMENTATION}\n"
        "\nExternal libraries used:\n"
        f"- pydicom, Version {pydicom.__version__}\n"
        f"- pynetdicom, Version {pynetdicom.__version__}\n"
        f"- ZLIB, Version {zlib.ZLIB_RUNTIME_VERSION}\n"
        f"- {ssl.OPENSSL_VERSION}\n"
    )


def _host_block() -> str:
    import platform

    return f"\nHost type: {platform.system()} {platform.machine()}\n"


def ciphers_text() -> str:
    """``+cc``: the ciphersuites this Python's OpenSSL offers (OpenSSL names)."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    names = "".join(f"  {c['name']}\n" for c in ctx.get_ciphers())
    return header() + _host_block() + "\nSupported TLS ciphersuites are:\n" + names


TLS_PROFILES = {
    "8996": "BCP 195 RFC 8996 TLS Profile",
    "8996-mod": "Modified BCP 195 RFC 8996 TLS Profile",
    "bcp195-nd": "Non-downgrading BCP 195 TLS Profile",
    "bcp195": "BCP 195 TLS Profile",
    "bcp195-ex": "Extended BCP 195 TLS Profile",
    "basic": "Basic TLS Secure Transport Connection Profile (retired)",
    "aes": "AES TLS Secure Transport Connection Profile (retired)",
    "null": "Authenticated unencrypted communication (retired)",
}


def profiles_text() -> str:
    """``+ph``: the TLS profile names fastfind knows."""
    import ssl

    body = "".join(f"  {k:<11}{v}\n" for k, v in TLS_PROFILES.items())
    return (header() + _host_block() + f"Cryptographic algorithms implemented by: "
            f"{ssl.OPENSSL_VERSION}\n\nSupported TLS Secure Transport Connection Profiles are:\n"
            + body)


# -- number parsing (C sscanf semantics) ---------------------------------------------------------

_C_SPACE = " \t\n\v\f\r"
_LONG_MAX = 2**63 - 1
_ULONG_MAX = 2**64 - 1


def _scan_long(text: str) -> int | None:
    """``sscanf(text, "%li")``: None when no number starts the text; clamps like strtol."""
    s = text.lstrip(_C_SPACE)
    neg = s[:1] == "-"
    if s[:1] in "+-" and s:
        s = s[1:]
    if s[:2].lower() == "0x" and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
        base, digits, s = 16, "0123456789abcdefABCDEF", s[2:]
    elif s[:1] == "0":
        base, digits = 8, "01234567"
    else:
        base, digits = 10, "0123456789"
    n = 0
    while n < len(s) and s[n] in digits:
        n += 1
    if n == 0:
        return None
    value = int(s[:n], base)
    if neg:
        return max(-value, -_LONG_MAX - 1)
    return min(value, _LONG_MAX)


def _scan_ulong(text: str) -> int | None:
    """``sscanf(text, "%lu")``: decimal only; a minus sign negates modulo 2**64 like strtoul."""
    s = text.lstrip(_C_SPACE)
    neg = s[:1] == "-"
    if s[:1] in "+-" and s:
        s = s[1:]
    n = 0
    while n < len(s) and s[n] in "0123456789":
        n += 1
    if n == 0:
        return None
    value = int(s[:n])
    if value > _ULONG_MAX:
        return _ULONG_MAX
    return (-value) % 2**64 if neg else value


def _scan_float(text: str) -> float | None:
    """A float the way ``OFStandard::atof`` accepts it (leading number, rest ignored)."""
    s = text.lstrip(_C_SPACE)
    for end in range(len(s), 0, -1):
        try:
            value = float(s[:end])
        except ValueError:
            continue
        if s[:end].strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
            return None
        return value
    return None


# -- the command line engine ---------------------------------------------------------------------


def _is_option(arg: str) -> bool:
    return len(arg) >= 2 and arg[0] in "+-" and not ("0" <= arg[1] <= "9")


def _expand_command_files(argv: Sequence[str]) -> list[str]:
    """Replace ``@file`` arguments by the file's words; command files do not nest.

    A command file is read once with :data:`~fastfind.localfile.COMMAND_FILE_LIMIT` (a FIFO
    or ``<(...)`` works; ``/dev/zero`` is too large); a directory holds no words, as in findscu.
    A NUL byte cannot be part of an argument, so a file holding one is refused.
    """
    out: list[str] = []
    for arg in argv:
        if len(arg) < 2 or arg[0] != "@":
            out.append(arg)
            continue
        name = arg[1:]
        try:
            raw = localfile.read_capped(name, localfile.COMMAND_FILE_LIMIT)
        except IsADirectoryError:
            raw = b""
        except OSError as exc:
            if exc.errno in (errno.EFBIG, errno.ETIMEDOUT):
                raise _Fail(f"Cannot read command file '{name}': {localfile.describe(exc)}") from None
            raise _Fail(f"Cannot open command file '{name}'") from None
        if b"\0" in raw:
            raise _Fail(f"Cannot read command file '{name}': it contains a NUL byte")
        out.extend(_split_command_file(raw.decode("utf-8", "surrogateescape")))
    return out


def _split_command_file(data: str) -> list[str]:
    """Words separated by space/tab/CR/LF; '...' or "..." group (an empty pair is a word)."""
    words: list[str] = []
    value = ""
    quote = ""
    for c in data:
        if c in "\"'":
            if quote == c:
                words.append(value)
                value, quote = "", ""
            elif not quote:
                quote = c
            else:
                value += c
        elif c in " \t\n\r" and not quote:
            if value:
                words.append(value)
                value = ""
        else:
            value += c
    if value:
        words.append(value)
    return words


class _Fail(Exception):
    """An ``error: ...`` message (exit 1)."""


class _CmdLine:
    """OFCommandLine's model: arguments (options in long form), option and parameter positions."""

    def __init__(self, args: list[str]):
        self.args: list[str] = []
        self.opt_pos: list[int] = []
        self.params: list[int] = []
        self.exclusive = False
        i = 0
        while i < len(args):
            arg = args[i]
            if not _is_option(arg):
                self.params.append(len(self.args))
                self.args.append(arg)
            else:
                spec = _OPTIONS.get(arg)
                if spec is None:
                    self.args.append(arg)
                    raise _Fail(f"Unknown option {arg}")
                self.opt_pos.append(len(self.args))
                self.args.append(spec[0])
                self.exclusive = self.exclusive or spec[5]
                if spec[2] >= len(args) - i:
                    raise _Fail(f"Missing value for option {spec[0]}")
                self.args.extend(args[i + 1:i + 1 + spec[2]])
                i += spec[2]
            i += 1
        self.cur = 0  # ArgumentIterator
        self.opt_cur = len(self.opt_pos)  # OptionPosIterator
        self.block = False
        self.block_at = len(self.opt_pos)

    # findOption and friends
    def find(self, long: str, mode: str = "normal") -> bool:
        """Search right to left ('normal', 'first', 'next') or left to right ('left', 'nextleft')."""
        if mode in ("left", "nextleft"):
            k = 0 if mode == "left" else self.opt_cur + 1
            while k < len(self.opt_pos):
                if self.args[self.opt_pos[k]] == long:
                    self.opt_cur, self.cur = k, self.opt_pos[k]
                    return True
                k += 1
            return False
        k = self.opt_cur if mode == "next" else len(self.opt_pos)
        while k > 0:
            k -= 1
            if self.block and k == self.block_at:
                return False
            if self.args[self.opt_pos[k]] == long:
                self.opt_cur, self.cur = k, self.opt_pos[k]
                if mode == "normal":
                    self.block_at = k
                return True
        return False

    def begin_block(self) -> None:
        self.block, self.block_at = True, len(self.opt_pos)

    def end_block(self) -> None:
        self.block = False

    def value(self) -> str:
        """The next value; an empty value is accepted silently (as DCMTK does for strings)."""
        self.cur += 1
        return self.args[self.cur]

    def _opt_name(self) -> str:
        return self.args[self.opt_pos[self.opt_cur]]

    def _bad(self, what: str) -> _Fail:
        arg = self.args[self.cur]
        if not arg:
            return _Fail(f"Invalid value for option {self._opt_name()}")
        return _Fail(f"Invalid value for option {self._opt_name()} ({what}{arg})")

    def int_value(self, lo: int | None = None, hi: int | None = None, *,
                  unsigned: bool = False) -> int:
        """getValueAndCheckMin/MinMax for OFCmdSignedInt (``%li``) or OFCmdUnsignedInt."""
        text = self.value()
        if unsigned:
            v = _scan_ulong(text)
            stripped = text.lstrip(" ")
            if v is None or not stripped or stripped[0] == "-":
                raise self._bad("")
        else:
            v = _scan_long(text)
            if v is None:
                raise self._bad("")
        if lo is not None and v < lo:
            raise self._bad("underflow: ")
        if hi is not None and v > hi:
            raise self._bad("overflow: ")
        return v

    def float_value(self, lo: float, *, inclusive: bool) -> float:
        text = self.value()
        v = _scan_float(text)
        if v is None:
            raise self._bad("")
        if v < lo or (not inclusive and v == lo):
            raise self._bad("underflow: ")
        return v

    def param(self, n: int) -> str:
        self.cur = self.params[n - 1]
        return self.args[self.cur]


def _dependence(sub: str, base: str, ok: bool) -> None:
    if not ok:
        raise _Fail(f"{sub} only allowed with {base}")


def _conflict(first: str, second: str, bad: bool) -> None:
    if bad:
        raise _Fail(f"{first} not allowed with {second}")


# -- findscu's evaluation order -----------------------------------------------------------------


def parse_command_line(argv: Sequence[str], prog: str = PROGRAM) -> ParsedArgs:
    """Parse ``argv`` (without the program name) the way findscu 3.6.7 does.

    Raises :class:`CommandLineExit` for ``--help``, ``--version``, ``+cc``, ``+ph``, an empty
    command line (usage, exit 0) and every command-line error (exit 1). ``prog`` is only used in
    the ``--arguments`` line of an error raised after that line would have been printed.
    """
    state: dict[str, object] = {"quiet": False, "prefix": ""}
    try:
        return _parse(list(argv), state, prog)
    except _Fail as exc:
        err = "" if state["quiet"] else header() + f"error: {exc}\n"
        raise CommandLineExit(1, "", str(state["prefix"]) + err) from None


def _parse(argv: list[str], state: dict[str, object], prog: str) -> ParsedArgs:
    cmd = _CmdLine(_expand_command_files(argv))
    if not cmd.args:
        raise CommandLineExit(0, usage_text(), "")
    if cmd.exclusive:
        if cmd.find("--help"):
            raise CommandLineExit(0, usage_text(), "")
        if cmd.find("--version"):
            raise CommandLineExit(0, version_text(), "")
        if cmd.find("--list-ciphers"):
            raise CommandLineExit(0, ciphers_text(), "")
        if cmd.find("--list-profiles"):
            raise CommandLineExit(0, profiles_text(), "")
    if len(cmd.params) < 2:
        raise _Fail("Missing parameter " + ("peer", "port")[len(cmd.params)])

    p = ParsedArgs(expanded_argv=list(cmd.args))
    p.peer = cmd.param(1)
    port_text = cmd.param(2)
    port = _scan_ulong(port_text)
    if port is None:
        raise _Fail(f"Invalid parameter value {port_text}")
    if port < 1:
        raise _Fail(f"Invalid parameter value {port_text} (underflow)")
    if port > 65535:
        raise _Fail(f"Invalid parameter value {port_text} (overflow)")
    p.port = port

    _logging(cmd, p, state)
    if p.arguments:
        state["prefix"] = format_arguments_log(p.expanded_argv, prog)

    if cmd.find("--key", "left"):
        p.keys.append(cmd.value())
        while cmd.find("--key", "nextleft"):
            p.keys.append(cmd.value())

    _block(cmd, p, "model", [("--worklist", "worklist"), ("--patient", "patient"),
                             ("--study", "study"), ("--psonly", "psonly")])
    if cmd.find("--aetitle"):
        p.aetitle = _ae_title(cmd)
    if cmd.find("--call"):
        p.called_aetitle = _ae_title(cmd)
    _block(cmd, p, "proposed_ts", [("--propose-uncompr", "default"), ("--propose-little", "little"),
                                   ("--propose-big", "big"), ("--propose-implicit", "implicit"),
                                   ("--propose-deflated", "deflated")])
    if cmd.find("--compression-level"):
        _dependence("--compression-level", "--propose-deflated", p.proposed_ts == "deflated")
        p.compression_level = cmd.int_value(0, 9, unsigned=True)
    _block(cmd, p, "enable_new_vrs", [("--enable-new-vr", True), ("--disable-new-vr", False)])
    if cmd.find("--timeout"):
        p.connect_timeout = cmd.int_value(1)
    if cmd.find("--socket-timeout"):
        p.socket_timeout = cmd.int_value(-1)
    if cmd.find("--acse-timeout"):
        p.acse_timeout = cmd.int_value(1)
    if cmd.find("--dimse-timeout"):
        p.dimse_timeout = cmd.int_value(1)
    if cmd.find("--max-pdu"):
        p.max_pdu = cmd.int_value(4096, 131072, unsigned=True)
    if cmd.find("--repeat"):
        p.repeat = cmd.int_value(1, unsigned=True)
    p.abort = cmd.find("--abort")
    if cmd.find("--cancel"):
        p.cancel = cmd.int_value(0)
    if cmd.find("--output-directory"):
        p.output_directory, p.output_directory_given = cmd.value(), True
    _block(cmd, p, "data_correction", [("--enable-correction", True),
                                       ("--disable-correction", False)])
    _block(cmd, p, "show_responses", [("--show-responses", True), ("--hide-responses", False)])

    cmd.begin_block()
    if cmd.find("--extract"):
        p.extract = "dcm"
    if cmd.find("--extract-xml"):
        p.extract = "xml"
    if cmd.find("--extract-xml-single"):
        p.extract, p.extract_xml_single_file = "xml-single", cmd.value()
    cmd.end_block()
    if cmd.find("--limit-output"):
        _dependence("--limit-output", "--extract, --extract-xml or --extract-xml-single",
                    p.extract is not None)
        p.limit_output = cmd.int_value(1, unsigned=True)

    for n in range(3, len(cmd.params) + 1):
        name = cmd.param(n)
        if not os.access(name, os.R_OK):
            raise _Fail(f"cannot access file: {name}")
        p.files.append(name)
    if not p.files and not p.keys and not cmd.find("--batch", "first"):
        raise _Fail("either query file or override keys (or both) must be specified")

    _tls(cmd, p.tls)
    _extensions(cmd, p)
    return p


def _ae_title(cmd: _CmdLine) -> str:
    """An AE title value: cut to 16 characters as findscu does, then checked (PS3.5 §6.2)."""
    title = cmd.value()[:AE_TITLE_MAX]
    problem = ae_title_problem(title)
    if problem is not None:
        value = shown(title) + " " if title else ""
        raise _Fail(f"Invalid value for option {cmd._opt_name()} (AE title {value}{problem})")
    return title


def _block(cmd: _CmdLine, p: ParsedArgs, attr: str, choices: list[tuple[str, object]]) -> None:
    """An option block without side effects: the rightmost option present wins."""
    cmd.begin_block()
    for long, value in choices:
        if cmd.find(long):
            setattr(p, attr, value)
    cmd.end_block()


def _logging(cmd: _CmdLine, p: ParsedArgs, state: dict[str, object]) -> None:
    """OFLog::configureFromCommandLine: -q/-v/-d, -ll, -lc checks, quiet mode, --arguments."""
    level: str | None = None
    cmd.begin_block()
    for long, lvl in (("--debug", "debug"), ("--verbose", "info"), ("--quiet", "fatal")):
        if cmd.find(long):
            level = lvl
    cmd.end_block()
    ll_given = False
    if cmd.find("--log-level"):
        _conflict("--log-level", "--verbose, --debug or --quiet", level is not None)
        text = cmd.value()
        ll_given = bool(text)
        name = text.upper()
        if name not in ("OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL"):
            raise _Fail("Invalid log level for --log-level option")
        level = "trace" if name == "ALL" else name.lower()
    root_level = level or "warn"
    if cmd.find("--log-config"):
        _conflict("--log-config", "--log-level", ll_given)
        _conflict("--log-config", "--verbose, --debug or --quiet", level is not None)
        path = cmd.value()
        if not path or not os.path.exists(path) or os.path.isdir(path):
            raise _Fail("Specified --log-config file does not exist")
        if not os.access(path, os.R_OK):
            raise _Fail("Specified --log-config file cannot be read")
        try:
            config = logs.read_config(path)
        except OSError as exc:
            raise _Fail(f"Specified --log-config file cannot be read: {localfile.describe(exc)}"
                        ) from None
        props = config.properties
        if not props:
            raise _Fail("Specified --log-config file does not contain any settings")
        if not any(k.startswith("log4cplus.") for k in props):
            raise _Fail("Specified --log-config file does not contain any valid settings")
        if "log4cplus.rootLogger" not in props:
            raise _Fail("Specified --log-config file does not set up log4cplus.rootLogger")
        p.log_config = config
        root_level = config.root_level
    if level is not None:
        p.log_level = level
    p.log_options_given = any(cmd.find(o, "first") for o in (
        "--log-config", "--quiet", "--verbose", "--debug", "--log-level"))
    state["quiet"] = p.quiet = root_level in ("fatal", "off")
    p.arguments = cmd.find("--arguments")


_TLS_ANY = "--enable-tls or --anonymous-tls"


def _tls(cmd: _CmdLine, t: TlsOptions) -> None:
    """DcmTLSOptions::parseArguments (3.6.7 order, plus the later profiles and SNI options)."""
    cmd.begin_block()
    if cmd.find("--disable-tls"):
        t.enabled = False
    if cmd.find("--enable-tls"):
        t.enabled = t.authenticate = True
        t.private_key_file, t.certificate_file = cmd.value(), cmd.value()
    if cmd.find("--anonymous-tls"):
        t.enabled = True
    cmd.end_block()

    cmd.begin_block()
    if cmd.find("--std-passwd"):
        _dependence("--std-passwd", "--enable-tls", t.authenticate)
        t.password = None
    if cmd.find("--use-passwd"):
        _dependence("--use-passwd", "--enable-tls", t.authenticate)
        t.password = cmd.value()
    if cmd.find("--null-passwd"):
        _dependence("--null-passwd", "--enable-tls", t.authenticate)
        t.password = ""
    cmd.end_block()

    def simple_block(choices: list[tuple[str, str, str]], attr: str) -> None:
        cmd.begin_block()
        for long, dep_name, value in choices:
            if cmd.find(long):
                _dependence(dep_name, _TLS_ANY, t.enabled)
                setattr(t, attr, value)
        cmd.end_block()

    simple_block([("--pem-keys", "--pem-keys", "pem"), ("--der-keys", "--der-keys", "der")],
                 "key_format")

    if cmd.find("--request-sni"):
        t.sni = cmd.value()
    if cmd.find("--no-sni"):
        _conflict("--no-sni", "--request-sni", t.sni is not None)
        t.sni = None

    if cmd.find("--seed"):
        _dependence("--seed", _TLS_ANY, t.enabled)
        t.seed_file = cmd.value()
    cmd.begin_block()
    if cmd.find("--write-seed"):
        _dependence("--write-seed", _TLS_ANY, t.enabled)
        _dependence("--write-seed", "--seed", t.seed_file is not None)
        t.write_seed_file = t.seed_file
    if cmd.find("--write-seed-file"):
        _dependence("--write-seed-file", _TLS_ANY, t.enabled)
        _dependence("--write-seed-file", "--seed", t.seed_file is not None)
        t.write_seed_file = cmd.value()
    cmd.end_block()

    simple_block([("--require-peer-cert", "--require-peer-cert", "require"),
                  ("--ignore-peer-cert", "--ignore-peer-cert", "ignore")], "verify_peer")
    simple_block([("--profile-8996", "--profile-8996", "8996"),
                  ("--profile-8996-mod", "--profile-8996-mod", "8996-mod"),
                  ("--profile-bcp195", "--profile-bcp195", "bcp195"),
                  ("--profile-bcp195-nd", "--profile-bcp195-nd", "bcp195-nd"),
                  ("--profile-bcp195-ex", "--profile-bcp195-ex", "bcp195-ex"),
                  ("--profile-basic", "--profile-basic", "basic"),
                  # findscu 3.6.7 names --profile-basic in this error message, too
                  ("--profile-aes", "--profile-basic", "aes"),
                  ("--profile-null", "--profile-null", "null")], "profile")

    for long, target in (("--add-cert-file", t.cert_files), ("--add-cert-dir", t.cert_dirs),
                         ("--add-crl-file", t.crl_files)):
        if cmd.find(long, "first"):
            _dependence(long, _TLS_ANY, t.enabled)
            target.extend(_values_left_to_right(cmd, long))
    if t.crl_files:
        t.crl_mode = "leaf"
    if cmd.find("--enable-crl-vfy", "first"):
        _dependence("--enable-crl-vfy", _TLS_ANY, t.enabled)
        t.crl_mode = "leaf"
    if cmd.find("--enable-crl-all", "first"):
        _dependence("--enable-crl-all", _TLS_ANY, t.enabled)
        _conflict("--enable-crl-all", "--enable-crl-vfy", cmd.find("--enable-crl-vfy", "first"))
        t.crl_mode = "all"
    if cmd.find("--cipher", "first"):
        _dependence("--cipher", _TLS_ANY, t.enabled)
        _conflict("--cipher", "--profile-bcp195-ex", t.profile == "bcp195-ex")
        t.ciphers = list(reversed(_values_left_to_right(cmd, "--cipher")))


def _values_left_to_right(cmd: _CmdLine, long: str) -> list[str]:
    out: list[str] = []
    found = cmd.find(long, "left")
    while found:
        out.append(cmd.value())
        found = cmd.find(long, "nextleft")
    return out


def _extensions(cmd: _CmdLine, p: ParsedArgs) -> None:
    """fastfind's own options (checked after all of findscu's)."""
    p.dcmtk_exit_codes = cmd.find("--dcmtk-exit-codes")
    p.sync = cmd.find("--sync")
    p.no_clobber = cmd.find("--no-clobber")
    p.tls_check_hostname = cmd.find("--tls-check-hostname")
    p.relational = cmd.find("--relational")
    p.datetime_matching = cmd.find("--datetime")
    p.fuzzy_names = cmd.find("--fuzzy")
    p.timezone_adjustment = cmd.find("--timezone")
    for long, attr in (("--extract-json", "extract_json"), ("--extract-ndjson", "extract_ndjson"),
                       ("--extract-csv", "extract_csv"), ("--extract-parquet", "extract_parquet")):
        if cmd.find(long):
            value = cmd.value()
            if not value:
                raise _Fail(f"Invalid value for option {long}")
            setattr(p, attr, value)
    if cmd.find("--csv-fields"):
        _dependence("--csv-fields", "--extract-csv or --extract-parquet",
                    p.extract_csv is not None or p.extract_parquet is not None)
        # commas inside "(gggg,eeee)" do not separate fields
        fields = [f.strip() for f in re.findall(r"(?:\([^)]*\)|[^,])+|(?<=,)(?=,|$)|^(?=,)", cmd.value())]
        if not all(fields):
            raise cmd._bad("")
        p.csv_fields = fields
    num: list[tuple[str, str, Callable[[], object]]] = [
        ("--max-identifier-size", "max_identifier_size",
         lambda: cmd.int_value(1024, unsigned=True)),
        ("--max-nesting", "max_nesting", lambda: cmd.int_value(1, unsigned=True)),
        ("--post-cancel-timeout", "post_cancel_timeout",
         lambda: cmd.float_value(0.0, inclusive=False)),
    ]
    for long, attr, read in num:
        if cmd.find(long):
            setattr(p, attr, read())
    _batch(cmd, p)


def _batch(cmd: _CmdLine, p: ParsedArgs) -> None:
    """The batch options: each needs --batch; --split-by a DA/TM/DT key."""
    if cmd.find("--batch"):
        p.batch = cmd.value()
        if not p.batch or not os.access(p.batch, os.R_OK) or os.path.isdir(p.batch):
            raise _Fail(f"cannot access file: {p.batch}")
        _conflict("--repeat", "--batch", cmd.find("--repeat", "first"))
        _conflict("--cancel", "--batch", cmd.find("--cancel", "first"))
        if len(p.files) > 1:
            raise _Fail("--batch takes at most one query file (it applies to every row)")
    batch = p.batch is not None
    if cmd.find("--concurrency"):
        _dependence("--concurrency", "--batch", batch)
        p.concurrency = cmd.int_value(1, 256, unsigned=True)
    for long, attr in (("--batch-report", "batch_report"), ("--checkpoint", "checkpoint")):
        if cmd.find(long):
            _dependence(long, "--batch", batch)
            value = cmd.value()
            if not value:
                raise _Fail(f"Invalid value for option {long}")
            setattr(p, attr, value)
    if cmd.find("--expect-cap"):
        _dependence("--expect-cap", "--batch", batch)
        p.expect_cap = cmd.int_value(1, unsigned=True)
    if cmd.find("--split-by"):
        _dependence("--split-by", "--batch", batch)
        from ..batch.split import split_key_vr
        from ..errors import UsageError

        p.split_by = cmd.value()
        try:
            split_key_vr(p.split_by)
        except UsageError as exc:
            raise _Fail(str(exc)) from None
    if cmd.find("--crawl"):
        _dependence("--crawl", "--batch", batch)
        level = cmd.value().upper()
        if level not in ("STUDY", "SERIES", "IMAGE"):
            raise cmd._bad("")
        if p.model == "worklist":
            raise _Fail("--crawl not allowed with --worklist")
        p.crawl = level
