"""fastfind.cli.cmdline against DCMTK 3.6.7 findscu (differential) plus ParsedArgs unit tests.

The differential vectors all stop during parsing (no network). Vectors that parse are compared
with the ``--arguments`` line findscu logs before it fails to connect to a closed loopback port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastfind.cli import cmdline
from fastfind.cli.cmdline import CommandLineExit, ParsedArgs, parse_command_line

FINDSCU = shutil.which("findscu")
needs_findscu = pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu not installed")

DCMTK_HEADER = "$dcmtk: findscu v3.6.7 2022-04-22 $\n\nfindscu: DICOM query (C-FIND) SCU\n"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A cwd holding the command files, query files and log configs the vectors name."""
    files = {
        "c1.txt": "-P -aec PYSCP -k \"PatientName=A B*\" 'x\"y' \"\" @inner\n",
        "c2.txt": "-P\t-aec PYSCP\r\n-k 'PatientName=A B*' -X -Xx h 1",
        "cbad.txt": "-P --bogus",
        "empty.txt": "",
        "help.txt": "--help",
        "unterm.txt": '-k "unterminated',
        "q.dcm": "",
        "fatal.cfg": "log4cplus.rootLogger = FATAL, c\n"
                     "log4cplus.appender.c=log4cplus::ConsoleAppender\n",
        "c3.txt": "-P -aec PYSCP -k \"PatientName=A B*\" -k 'x\"y' -k \"\" -k ''",
        "nolog.cfg": "# comment\nfoo=bar\n",
        "noroot.cfg": "log4cplus.x=bar\n",
        "blank.cfg": "\n# only comments\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_findscu(args: list[str], cwd) -> tuple[int, str, str]:
    proc = subprocess.run(["findscu", *args], executable=FINDSCU, cwd=cwd, capture_output=True, text=True, timeout=20,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


def run_ours(args: list[str]) -> tuple[int | None, str, str]:
    try:
        parse_command_line(args, prog="findscu")
    except CommandLineExit as exc:
        return exc.code, exc.stdout, exc.stderr
    return None, "", ""


def normalise(text: str) -> str:
    return text.replace(DCMTK_HEADER, cmdline.header())


# Every vector stops during parsing in findscu (exit 0 with usage/version or exit 1 with error).
STOPS = [
    [],
    ["-h"],
    ["--help", "h"],
    ["h", "1", "2", "3", "--help"],
    ["--version"],
    ["--version", "-k", "x"],
    ["--version", "--help"],
    ["--bogus"],
    ["--help", "--bogus"],
    ["--bogus", "--help"],
    ["--help", "-k"],
    ["-vc", "h", "1"],
    ["h"],
    ["-k", "x"],
    ["h", "0"],
    ["h", "+0"],
    ["h", "-1"],
    ["h", "65536"],
    ["h", "abc"],
    ["h", " 12"],
    ["h", "1"],
    ["-k"],
    ["h", "1", "-k"],
    ["h", "1", "--"],
    ["h", "1", "+5"],
    ["-", "h", "1"],
    ["-5", "h", "1"],
    ["", "h", "1", "-k", "x"],
    ["-aet", "-h", "h", "1"],
    ["+tls", "a", "h", "1"],
    ["+tls", "h", "1"],
    ["-pdu", "4095", "h", "1"],
    ["-pdu", "131073", "h", "1"],
    ["-pdu", "x", "h", "1"],
    ["-pdu", "", "h", "1"],
    ["-pdu", "0x1000", "h", "1"],
    ["-pdu", " -5", "h", "1"],
    ["-pdu", "\t-5", "h", "1"],
    ["-pdu", "99999999999999999999999", "h", "1"],
    ["+cl", "5", "h", "1", "-k", "a"],
    ["+cl", "10", "-xd", "h", "1", "-k", "a"],
    ["+cl", "-1", "-xd", "h", "1"],
    ["-xd", "-x=", "+cl", "3", "h", "1"],
    ["-to", "0", "h", "1"],
    ["-to", "-5", "h", "1"],
    ["-to", "0xg", "h", "1"],
    ["-to", "08", "h", "1"],
    ["-ts", "-2", "h", "1"],
    ["-ta", "0", "h", "1"],
    ["-td", "0", "h", "1"],
    ["--repeat", "0", "h", "1"],
    ["--repeat", "-1", "h", "1"],
    ["--cancel", "-1", "h", "1"],
    ["--cancel", "-99999999999999999999", "h", "1"],
    ["-Xlo", "1", "h", "1"],
    ["-Xlo", "0", "-X", "h", "1"],
    ["-Xlo", "-1", "-X", "h", "1"],
    ["-ts", "0x10", "-pdu", "4096", "--cancel", "010", "-Xlo", "1", "h", "1"],
    ["-X", "-Xs", "out.xml", "-Xlo", "0", "h", "1", "-k", "x"],
    ["h", "1", "nosuch.dcm"],
    ["h", "1", "q.dcm", "nosuch.dcm", "-k", "x"],
    ["-q", "h", "1"],
    ["-q", "h", "0"],
    ["-q", "-v", "h", "1"],
    ["--arguments", "h", "1"],
    ["--arguments", "-q", "h", "1", "nosuch.dcm"],
    ["-ll", "off", "h", "1"],
    ["-ll", "FATAL", "h", "1"],
    ["-ll", "Trace", "h", "1"],
    ["-ll", "nope", "h", "1"],
    ["-ll", "", "h", "1"],
    ["-ll", "info", "-v", "h", "1"],
    ["-v", "-ll", "info", "h", "1"],
    ["-lc", "/nonexistent", "h", "1"],
    ["-lc", "sub", "h", "1"],
    ["-lc", "nolog.cfg", "h", "1"],
    ["-lc", "noroot.cfg", "h", "1"],
    ["-lc", "blank.cfg", "h", "1"],
    ["-lc", "fatal.cfg", "h", "1"],
    ["-ll", "warn", "-lc", "fatal.cfg", "h", "1"],
    ["-d", "-lc", "fatal.cfg", "h", "1"],
    ["@empty.txt"],
    ["@help.txt"],
    ["@c1.txt", "h", "1"],
    ["--arguments", "@c1.txt", "h", "1"],
    ["--arguments", "@c2.txt", "-Xlo", "0"],
    ["@cbad.txt", "h", "1"],
    ["@nosuch", "h", "1"],
    ["--bogus", "@nosuch"],
    ["@", "h", "1"],
    ["@sub", "h", "1"],
    ["+ps", "h", "1", "-k", "x"],
    ["+pw", "x", "+ps", "h", "1", "-k", "x"],
    ["-pw", "+tla", "h", "1", "-k", "x"],
    ["+pa", "h", "1", "-k", "x"],
    ["+pz", "+px", "h", "1", "-k", "x"],
    ["+tla", "+crv", "+cra", "h", "1", "-k", "x"],
    ["+tla", "+cra", "+crv", "h", "1", "-k", "x"],
    ["+tla", "+pz", "+cs", "X", "h", "1", "-k", "x"],
    ["+tla", "+ws", "h", "1", "-k", "x"],
    ["+tla", "+wf", "y", "+ws", "h", "1", "-k", "x"],
    ["+ws", "h", "1", "-k", "x"],
    ["+cs", "X", "h", "1", "-k", "x"],
    ["+cf", "x", "h", "1", "-k", "x"],
    ["+crl", "x", "-tls", "h", "1", "-k", "x"],
    ["+tla", "-tls", "-ic", "h", "1", "-k", "x"],
    ["-pem", "-der", "h", "1", "-k", "x"],
    ["+rs", "x", "h", "1", "-k", "x"],
    ["-d", "-k", "a", "+tls", "k", "c", "-pw", "-pem", "+cf", "f", "+cd", "d", "+crl", "r",
     "+crv", "+py", "+rs", "s", "+wf", "w", "-rc", "-tls", "h", "1"],
    ["-ll", "error", "-k", "b", "+tla", "+cs", "TLS_X", "-ic", "-tls", "h", "1"],
]


@needs_findscu
@pytest.mark.parametrize("args", STOPS, ids=[" ".join(v) or "<none>" for v in STOPS])
def test_stops_like_findscu(args, workdir):
    code, out, err = run_findscu(args, workdir)
    ours = run_ours(args)
    assert ours[0] == code
    assert ours[2] == normalise(err)
    if code == 0:  # usage or version: both on stdout, header first, nothing on stderr
        assert out.startswith(DCMTK_HEADER) and ours[1].startswith(cmdline.header())


def test_list_ciphers_and_profiles():
    for opt in ("+cc", "--list-ciphers"):
        with pytest.raises(CommandLineExit) as exc:
            parse_command_line([opt, "h"])
        assert exc.value.code == 0 and "Supported TLS ciphersuites are:" in exc.value.stdout
    with pytest.raises(CommandLineExit) as exc:
        parse_command_line(["+ph"])
    assert exc.value.code == 0 and "bcp195-nd" in exc.value.stdout


def test_usage_and_version_text():
    with pytest.raises(CommandLineExit) as exc:
        parse_command_line([])
    usage = exc.value.stdout
    assert exc.value.stderr == "" and usage.startswith(cmdline.header() + "usage: fastfind")
    for row in cmdline._TABLE:  # every option appears, in table order
        if len(row) == 6:
            assert f"{row[1]:<6}{row[0]}" in usage
    assert "72    timeout after the association was established" in usage
    with pytest.raises(CommandLineExit) as exc:
        parse_command_line(["--version"])
    version = exc.value.stdout
    import ssl

    from fastfind import codec

    assert ssl.OPENSSL_VERSION in version and f"implementation: {codec.IMPLEMENTATION}" in version


# -- valid vectors: ParsedArgs ------------------------------------------------------------------


def parse(*args: str) -> ParsedArgs:
    return parse_command_line(list(args))


def test_defaults(workdir):
    p = parse("host", "104", "-k", "PatientName")
    assert (p.peer, p.port, p.keys, p.files) == ("host", 104, ["PatientName"], [])
    assert (p.model, p.aetitle, p.called_aetitle, p.proposed_ts) == (
        "worklist", "FINDSCU", "ANY-SCP", "default")
    assert (p.socket_timeout, p.acse_timeout, p.max_pdu, p.repeat) == (60, 30, 16384, 1)
    assert p.connect_timeout is p.dimse_timeout is p.cancel is p.compression_level is None
    assert p.extract is None and p.limit_output is None and p.show_responses is None
    assert p.log_level == "warn" and not p.log_options_given and not p.quiet
    assert p.responses_log_level == "info"
    assert not p.tls.enabled and p.tls.profile == "bcp195-nd"
    assert p.expanded_argv == ["host", "104", "--key", "PatientName"]
    assert (p.max_identifier_size, p.max_nesting, p.post_cancel_timeout) == (64 << 20, 64, 10.0)


def test_rightmost_wins_and_interleaving(workdir):
    p = parse("-P", "h", "-S", "-k", "a=1", "11112", "-X", "q.dcm", "-Xx", "-k", "b", "-x=",
              "-xb", "-u", "+u", "+dc", "-dc", "+sr", "-sr")
    assert (p.peer, p.port, p.files, p.keys) == ("h", 11112, ["q.dcm"], ["a=1", "b"])
    assert (p.model, p.extract, p.proposed_ts) == ("study", "xml", "big")
    assert p.enable_new_vrs and not p.data_correction and p.show_responses is False
    assert p.responses_log_level == "off"
    p = parse("-Xs", "all.xml", "-X", "h", "1", "-k", "x")
    assert p.extract == "dcm" and p.extract_xml_single_file is None
    p = parse("-X", "-Xs", "all.xml", "-Xlo", "5", "h", "1", "-k", "x", "-O", "-W")
    assert (p.extract, p.extract_xml_single_file, p.limit_output) == ("xml-single", "all.xml", 5)
    assert p.model == "worklist" and p.responses_log_level == "off"


def test_values_and_numbers(workdir):
    p = parse("-aet", "-P", "-aec", "-", "h", "1", "-k", "-S", "-to", "0x10", "-ts", "-1",
              "-ta", "010", "-td", "5abc", "-pdu", "+4096", "--repeat", "3", "--cancel", "0",
              "-xd", "+cl", "9", "-od", "out", "--abort")
    assert (p.aetitle, p.called_aetitle, p.keys, p.model) == ("-P", "-", ["-S"], "worklist")
    assert (p.connect_timeout, p.socket_timeout, p.acse_timeout, p.dimse_timeout) == (16, -1, 8, 5)
    assert (p.max_pdu, p.repeat, p.cancel, p.compression_level) == (4096, 3, 0, 9)
    assert p.output_directory == "out" and p.output_directory_given and p.abort
    assert p.expanded_argv[:4] == ["--aetitle", "-P", "--call", "-"]


def test_logging_options(workdir):
    assert parse("-v", "-d", "h", "1", "-k", "x").log_level == "debug"
    assert parse("-d", "-v", "h", "1", "-k", "x").log_level == "info"
    p = parse("-q", "h", "1", "-k", "x")
    assert (p.log_level, p.quiet, p.log_options_given, p.responses_log_level) == (
        "fatal", True, True, None)
    assert parse("-ll", "ALL", "h", "1", "-k", "x").log_level == "trace"
    assert parse("-ll", "off", "h", "1", "-k", "x").quiet
    p = parse("-lc", "fatal.cfg", "h", "1", "-k", "x", "-X")
    assert p.log_config is not None and p.log_config.path == "fatal.cfg" and p.quiet and p.responses_log_level is None
    assert parse("+sr", "-lc", "fatal.cfg", "h", "1", "-k", "x").responses_log_level == "info"


def test_command_file_quoting(workdir):
    (workdir / "k.txt").write_text("-k 'a=\"b c\"' -k \"d='e'\" -k '' x\t104\n@c1.txt -k 'open")
    (workdir / "@c1.txt").write_text("")  # a query file with an unlucky name
    p = parse("@k.txt", "-k", "z")
    assert p.keys == ['a="b c"', "d='e'", "", "open", "z"]
    assert (p.peer, p.port, p.files) == ("x", 104, ["@c1.txt"])  # command files do not nest
    assert p.expanded_argv == ["--key", 'a="b c"', "--key", "d='e'", "--key", "", "x", "104",
                               "@c1.txt", "--key", "open", "--key", "z"]


@given(st.lists(st.text(alphabet="ab \t\n'\"", max_size=12), max_size=5))
def test_split_roundtrip(words):
    """Quoted words always come back unchanged."""
    quoted = " ".join('"' + w + '"' if "'" in w else "'" + w + "'"
                      for w in words if not ('"' in w and "'" in w))
    expect = [w for w in words if not ('"' in w and "'" in w)]
    assert cmdline._split_command_file(quoted) == expect


def test_tls_options(workdir):
    p = parse("+tls", "key.pem", "cert.pem", "+pw", "secret", "-der", "+cf", "a", "+cf", "b",
              "+cd", "dir", "+crl", "r", "+px", "+pz", "+rs", "seed", "+ws", "-ic", "h", "1",
              "-k", "x")
    t = p.tls
    assert t.enabled and t.authenticate and (t.private_key_file, t.certificate_file) == (
        "key.pem", "cert.pem")
    assert (t.password, t.key_format, t.profile, t.verify_peer) == ("secret", "der", "bcp195-ex",
                                                                    "ignore")
    assert (t.cert_files, t.cert_dirs, t.crl_files, t.crl_mode) == (["a", "b"], ["dir"], ["r"],
                                                                    "leaf")
    assert (t.seed_file, t.write_seed_file) == ("seed", "seed")
    t = parse("+tla", "+cs", "A", "+cs", "B", "+cra", "+pg", "h", "1", "-k", "x").tls
    assert t.enabled and not t.authenticate and t.password is None
    assert (t.ciphers, t.crl_mode, t.profile) == (["B", "A"], "all", "8996")
    assert not parse("+tla", "-tls", "h", "1", "-k", "x").tls.enabled
    assert parse("+tla", "--request-sni", "srv", "h", "1", "-k", "x").tls.sni == "srv"
    # +tla after +tls keeps the key and certificate (findscu sets, never clears, them)
    t = parse("+tls", "k", "c", "+tla", "+pw", "x", "h", "1", "-k", "x").tls
    assert t.enabled and t.authenticate and t.password == "x"


def test_extensions(workdir):
    p = parse("--dcmtk-exit-codes", "--sync", "--no-clobber", "--extract-json", "a.json",
              "--extract-ndjson", "a.ndjson", "--extract-csv", "a.csv", "--csv-fields",
              "PatientName, PatientID", "--max-identifier-size", "1024", "--max-nesting", "1",
              "--post-cancel-timeout", "2.5", "h", "1", "-k", "x")
    assert p.dcmtk_exit_codes and p.sync and p.no_clobber
    assert (p.extract_json, p.extract_ndjson, p.extract_csv) == ("a.json", "a.ndjson", "a.csv")
    assert p.csv_fields == ["PatientName", "PatientID"]
    assert (p.max_identifier_size, p.max_nesting, p.post_cancel_timeout) == (1024, 1, 2.5)
    assert p.extract is None and p.responses_log_level == "info"


@pytest.mark.parametrize("args,error", [
    (["--max-identifier-size", "1023"], "Invalid value for option --max-identifier-size "
                                        "(underflow: 1023)"),
    (["--max-nesting", "0"], "Invalid value for option --max-nesting (underflow: 0)"),
    (["--max-nesting", "-3"], "Invalid value for option --max-nesting (-3)"),
    (["--post-cancel-timeout", "0"], "Invalid value for option --post-cancel-timeout "
                                     "(underflow: 0)"),
    (["--post-cancel-timeout", "soon"], "Invalid value for option --post-cancel-timeout (soon)"),
    (["--csv-fields", "A"], "--csv-fields only allowed with --extract-csv or --extract-parquet"),
    (["--extract-csv", "o.csv", "--csv-fields", "A,,B"],
     "Invalid value for option --csv-fields (A,,B)"),
    (["--extract-json", ""], "Invalid value for option --extract-json"),
    (["--no-sni", "--request-sni", "x"], "--no-sni not allowed with --request-sni"),
    (["+pg"], "--profile-8996 only allowed with --enable-tls or --anonymous-tls"),
    (["--extract-json"], "Missing value for option --extract-json"),
])
def test_extension_errors(args, error, workdir):
    code, out, err = run_ours(["h", "1", "-k", "x", *args])
    assert (code, out, err) == (1, "", cmdline.header() + f"error: {error}\n")


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


VALID = [
    ["--arguments", "-P", "-aec", "PYSCP", "-k", "QueryRetrieveLevel=PATIENT", "-sr"],
    ["--arguments", "@c3.txt"],
    ["--arguments", "-S", "-k", "", "-aet", " ", "-aet", "X", "-to", "1", "-ts", "5",
     "-ta", "5", "-td", "5", "-pdu", "8192", "--repeat", "2", "--abort", "--cancel", "1",
     "+u", "-u", "+dc", "-dc", "+sr", "-X", "-Xx", "-Xs", "o.xml", "-Xlo", "1", "-od", "sub",
     "-W", "-O", "-xi", "-xe", "-xb", "-x=", "-xd", "+cl", "1", "-v", "q.dcm"],
    ["--arguments", "-q", "-k", "a", "-tls"],
    ["--arguments", "-k", "a", "-to", "99999999999999999999", "-ts", "2147483648", "-ta",
     "4294967296", "-td", "9223372036854775808", "--repeat", "18446744073709551616", "--cancel",
     "99999999999999999999", "-X", "-Xlo", "99999999999999999999", "-od", "sub"],
    ["--arguments", "-d", "-k", "a", "+tls", "k", "c", "-pw", "-pem", "+cf", "f", "+cd", "d",
     "+crl", "r", "+crv", "+py", "+rs", "s", "+wf", "w", "-rc"],
    ["--arguments", "-ll", "error", "-k", "b", "+tla", "+cs", "TLS_X", "-ic"],
]


@needs_findscu
@pytest.mark.parametrize("args", VALID, ids=range(len(VALID)))
def test_arguments_line_like_findscu(args, workdir):
    port = free_closed_port()
    full = [*args[:1], "127.0.0.1", str(port), *args[1:]]
    code, _out, err = run_findscu(full, workdir)
    # parsed fine; then the connection was refused (2) or the TLS set-up failed (1)
    assert code in (1, 2) and "error:" not in err
    p = parse_command_line(full)
    line = cmdline.format_arguments_log(p.expanded_argv, "findscu")
    assert err.startswith(line) and p.arguments


ARGUMENT_LEVELS = [[], ["-q"], ["-v"], ["-d"], ["-ll", "fatal"], ["-ll", "off"], ["-ll", "error"],
                   ["-ll", "warn"], ["-ll", "info"], ["-ll", "trace"], ["-lc", "fatal.cfg"]]


@needs_findscu
@pytest.mark.parametrize("level", ARGUMENT_LEVELS, ids=[" ".join(v) or "default" for v in ARGUMENT_LEVELS])
def test_arguments_line_at_every_level(level, workdir):
    """findscu logs ``--arguments`` whatever the level (-lc: in its own layout, so ours is
    checked for presence only); below INFO nothing else is compared."""
    import servers

    port = str(free_closed_port())
    full = ["--arguments", *level, "127.0.0.1", port, "-k", "PatientName"]
    code, _out, err = run_findscu(full, workdir)
    ours = servers.run_fastfind(full, cwd=workdir, timeout=30)
    assert (ours.returncode, code) == (2, 2)
    line = cmdline.format_arguments_log(parse_command_line(full).expanded_argv)
    assert ours.stderr.startswith(line)
    if level[:1] != ["-lc"]:
        assert err.startswith(line.replace("'fastfind'", "'findscu'"))
    if level in ([], ["-q"], ["-ll", "fatal"], ["-ll", "off"], ["-ll", "error"], ["-ll", "warn"]):
        assert ours.stderr.replace("'fastfind'", "'findscu'") == err


# -- AE titles (issue 9 item 5) -------------------------------------------------------------------


def _requested_titles(cmd: list[str], executable: str | None = None) -> tuple[int, bytes, bytes]:
    """Run ``cmd`` + ``127.0.0.1 <port> -k PatientName`` against a listener that records the
    A-ASSOCIATE-RQ and rejects it; return (exit code, called AE, calling AE) as sent."""
    import struct
    import sys

    import servers

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(20)
        port = srv.getsockname()[1]
        if executable is None:
            env = {"PYTHONPATH": str(servers.REPO_ROOT), "PATH": "/usr/bin:/bin"}
            argv = [sys.executable, "-m", "fastfind"]
        else:
            env, argv = None, ["findscu"]
        proc = subprocess.Popen([*argv, *cmd, "127.0.0.1", str(port), "-k", "PatientName"],
                                executable=executable, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(20)
            pdu = b""
            while len(pdu) < 6 or len(pdu) < 6 + struct.unpack(">I", pdu[2:6])[0]:
                chunk = conn.recv(65536)
                assert chunk
                pdu += chunk
            conn.sendall(bytes([3, 0, 0, 0, 0, 4, 0, 1, 1, 1]))  # A-ASSOCIATE-RJ
        return proc.wait(20), pdu[10:26], pdu[26:42]


AE_SENT = [["-aet", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"], ["-aec", "0123456789abcdef0"],
           ["-aet", " LEAD"], ["-aec", "A B"], ["-aet", "x" * 16 + "\\\t\xe9"], ["-aec", "~!@"]]


@needs_findscu
@pytest.mark.parametrize("args", AE_SENT, ids=[repr(a[1]) for a in AE_SENT])
def test_ae_titles_sent_like_findscu(args):
    """Titles findscu sends (cut to 16 characters) are sent byte for byte the same."""
    assert _requested_titles(args, FINDSCU) == _requested_titles(args)


AE_BAD = [("", "must not be empty"), ("   ", "'   ' must not be all spaces"),
          ("\xe9t\xe9", "'\\xe9t\\xe9' must contain printable ASCII characters only"),
          ("A\\B", "'A\\B' must not contain a backslash"),
          ("A\tB", "'A\\tB' must contain printable ASCII characters only"),
          ("A\x1bB", "'A\\x1bB' must contain printable ASCII characters only"),
          ("\udcff", "'\\udcff' must contain printable ASCII characters only")]


@pytest.mark.parametrize("option", ["-aet", "-aec"])
@pytest.mark.parametrize("title,problem", AE_BAD, ids=[repr(t) for t, _ in AE_BAD])
def test_bad_ae_titles_are_command_line_errors(option, title, problem, workdir):
    """findscu sends these (or, when empty, fails after connecting with exit 2); fastfind
    refuses them before any network activity: one line, exit 1."""
    long = {"-aet": "--aetitle", "-aec": "--call"}[option]
    code, out, err = run_ours([option, title, "h", "1", "-k", "x"])
    assert (code, out) == (1, "")
    assert err == cmdline.header() + f"error: Invalid value for option {long} (AE title {problem})\n"


def test_api_refuses_bad_ae_titles():
    from fastfind.errors import UsageError
    from fastfind.options import FindOptions

    for title, problem in [*AE_BAD, ("A" * 17, "'AAAAAAAAAAAAAAAAA' must not be longer than 16 characters")]:
        for field_name, what in (("calling_ae", "calling AE title"), ("called_ae", "called AE title")):
            with pytest.raises(UsageError) as exc:
                FindOptions(**{field_name: title})
            assert str(exc.value) == f"{what} {problem}"
    with pytest.raises(UsageError, match="must be a string"):
        FindOptions(calling_ae=b"FINDSCU")  # type: ignore[arg-type]
    assert FindOptions(calling_ae=" A~B ", called_ae="X" * 16).called_ae == "X" * 16
