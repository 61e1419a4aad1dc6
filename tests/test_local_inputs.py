"""Local files that are not (ordinary) files: every read is capped, waits have a deadline, and a
bad file is one clear line with exit 1 (issue 9 items 7 and 8).

Covers :mod:`fastfind.localfile` itself, ``@file`` command files, query files, ``DCMDICTPATH``
dictionaries, TLS files, and ``-lc`` log configurations (read once; failing appenders).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from fastfind import localfile, query
from fastfind.cli import cmdline, logs
from fastfind.cli.cmdline import CommandLineExit, parse_command_line
from fastfind.dicom import dictionary
from fastfind.errors import UsageError
from fastfind.net import tls
from fastfind.options import TlsOptions

import servers

FINDSCU = shutil.which("findscu")
KEYS = ["-k", "PatientName"]


def run(args: list[str], cwd: Path, timeout: float = 30) -> tuple[int, str, float]:
    """(exit code, stderr, seconds) of ``python -m fastfind args``."""
    start = time.monotonic()
    got = servers.run_fastfind(args, cwd=cwd, timeout=timeout)
    return got.returncode, got.stderr, time.monotonic() - start


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "Logging error" not in stderr
    assert "internal error" not in stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


class FifoWriter:
    """A named FIFO whose content a thread writes once, when a reader opens it."""

    def __init__(self, path: Path, data: bytes):
        os.mkfifo(path)
        self.path = path
        self.thread = threading.Thread(target=self._write, args=(data,), daemon=True)
        self.thread.start()

    def _write(self, data: bytes) -> None:
        with open(self.path, "wb") as f:  # blocks until the reader opens
            f.write(data)


# -- localfile.read_capped ----------------------------------------------------------------------


def test_read_capped_regular_and_limits(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"12345")
    assert localfile.read_capped(str(tmp_path / "a"), 5) == b"12345"
    for path, limit in ((tmp_path / "a", 4), (sparse(tmp_path / "big", 1 << 30), 1 << 20),
                        (Path("/dev/zero"), 1 << 16)):
        with pytest.raises(OSError) as exc:
            localfile.read_capped(str(path), limit)
        assert exc.value.errno == errno.EFBIG and f"more than {limit} bytes" in exc.value.strerror
    assert localfile.read_capped("/dev/urandom", 100, truncate=True).__len__() == 100
    assert localfile.read_capped("/dev/null", 10) == b""


def test_read_capped_refuses_directories_and_nul_names(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        localfile.read_capped(str(tmp_path), 10)
    with pytest.raises(OSError) as exc:
        localfile.read_capped("a\0b", 10)
    assert exc.value.errno == errno.EINVAL


def test_read_capped_fifo_once_and_deadline(tmp_path: Path) -> None:
    FifoWriter(tmp_path / "f", b"x" * 100_000)
    assert localfile.read_capped(str(tmp_path / "f"), 1 << 20) == b"x" * 100_000
    os.mkfifo(tmp_path / "nowriter")
    start = time.monotonic()
    with pytest.raises(OSError) as exc:  # opening does not block, reading has a deadline
        localfile.read_capped(str(tmp_path / "nowriter"), 10, timeout=0.3)
    assert exc.value.errno == errno.ETIMEDOUT and time.monotonic() - start < 5


# -- @file command files ------------------------------------------------------------------------


@pytest.mark.parametrize("content,error", [
    (None, "Cannot read command file '/dev/zero': file too large (more than 1048576 bytes)"),
    (b"-k PatientName=A\0B h 1", "Cannot read command file 'cmd': it contains a NUL byte"),
    (b"-k x " * 300_000, "Cannot read command file 'cmd': file too large (more than 1048576 bytes)"),
], ids=["dev-zero", "nul-byte", "too-large"])
def test_bad_command_files(tmp_path: Path, content: bytes | None, error: str) -> None:
    name = "/dev/zero"
    if content is not None:
        (tmp_path / "cmd").write_bytes(content)
        name = "cmd"
    code, err, seconds = run([f"@{name}", "127.0.0.1", str(closed_port())], tmp_path)
    assert (code, err) == (1, cmdline.header() + f"error: {error}\n")
    assert seconds < 20


def test_command_file_fifo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    FifoWriter(tmp_path / "cmd", b"-k 'PatientName=A B' -P\n")
    p = parse_command_line(["@cmd", "h", "1"])
    assert p.keys == ["PatientName=A B"] and p.model == "patient"


@pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu not installed")
def test_command_file_fifo_like_findscu(tmp_path: Path) -> None:
    """findscu reads a FIFO command file; so do we (same ``--arguments`` line)."""
    port = str(closed_port())
    lines = []
    for tool in ("findscu", "fastfind"):
        fifo = tmp_path / f"cmd-{tool}"
        FifoWriter(fifo, b"-k X -aec 'A B'\n")
        args = ["--arguments", f"@{fifo}", "127.0.0.1", port]
        if tool == "findscu":
            got = subprocess.run(["findscu", *args], executable=FINDSCU, capture_output=True,
                                 encoding="latin-1", timeout=20, stdin=subprocess.DEVNULL)
        else:
            got = servers.run_fastfind(args, cwd=tmp_path, timeout=30)
        assert got.returncode == 2
        lines.append(got.stderr.splitlines()[0].replace(f"'{tool}'", "'X'").replace(tool, ""))
    assert lines[0] == lines[1] and "'--key' 'X' '--call' 'A B'" in lines[0]


# -- query files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name,reason", [
    ("/dev/zero", "file too large (more than 67108864 bytes)"),
    (".", "Is a directory"),
], ids=["dev-zero", "directory"])
def test_bad_query_files(scripted_scp, tmp_path: Path, name: str, reason: str) -> None:
    scp = scripted_scp()
    code, err, seconds = run([scp.host, str(scp.port), name], tmp_path)
    assert code == 1 and seconds < 20, err
    assert_clean(err)
    assert f"E: Bad DICOM file: {name}: {reason}\n" in err


def test_query_file_fifo(scripted_scp, tmp_path: Path) -> None:
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.PatientName = "FIFO*"
    (tmp_path / "q.dcm").write_bytes(b"")
    ds.save_as(tmp_path / "q.dcm", implicit_vr=True, little_endian=True)
    FifoWriter(tmp_path / "q.fifo", (tmp_path / "q.dcm").read_bytes())
    scp = scripted_scp()
    code, err, _ = run([scp.host, str(scp.port), "q.fifo"], tmp_path)
    assert code == 0, err
    assert str(scp.associations[0].finds[0].identifier.PatientName) == "FIFO*"


def test_deflated_query_file_inflates_within_the_cap(tmp_path: Path) -> None:
    import zlib

    meta = b"\0" * 128 + b"DICM"
    uid = b"1.2.840.10008.1.2.1.99\0"
    meta += b"\x02\x00\x10\x00UI" + len(uid).to_bytes(2, "little") + uid
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = bomb.compress(b"\0" * (localfile.QUERY_FILE_LIMIT + 1)) + bomb.flush()
    (tmp_path / "bomb.dcm").write_bytes(meta + body)
    with pytest.raises(query.QueryFileError) as exc:
        query.load_query_file(str(tmp_path / "bomb.dcm"))
    assert "file too large" in str(exc.value)
    (tmp_path / "cut.dcm").write_bytes(meta + body[: len(body) // 2])
    with pytest.raises(query.QueryFileError) as exc:
        query.load_query_file(str(tmp_path / "cut.dcm"))
    assert str(exc.value) == "I/O suspension or premature end of stream"


# -- DCMDICTPATH and TLS files ------------------------------------------------------------------


def test_dictionary_too_large(tmp_path: Path) -> None:
    path = str(sparse(tmp_path / "huge.dic", localfile.DICTIONARY_LIMIT + 1))
    try:
        messages = dictionary.load_files([path])
    finally:
        dictionary.use_default()
    assert messages[:2] == [
        ("E", f"DcmDataDictionary: {path}: file too large (more than 16777216 bytes)"),
        ("E", f"DcmDataDictionary: Cannot open file: {path}"),
    ]


def test_tls_files_are_capped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    opts = TlsOptions(enabled=True, cert_files=["/dev/zero"], crl_files=["/dev/zero"],
                      verify_peer="ignore")
    ctx, _ = tls.build_context(opts)
    assert isinstance(ctx, ssl.SSLContext)
    text = caplog.text
    assert "certificate file '/dev/zero': file too large" in text
    assert "unable to load certificate file '/dev/zero', ignoring" in text
    assert "unable to load CRL file '/dev/zero', ignoring" in text
    opts = TlsOptions(enabled=True, authenticate=True, private_key_file="/dev/zero",
                      certificate_file="/dev/zero", password="", verify_peer="ignore")
    with pytest.raises(UsageError, match="Unable to load private TLS key from '/dev/zero'"):
        tls.build_context(opts)
    tls._read_seed("/dev/urandom")  # a seed may be a device: its first MiB is used


# -- -lc log configurations ---------------------------------------------------------------------


def cfg(path: Path, *lines: str) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def file_appender(path: Path, target: str) -> str:
    return cfg(path, "log4cplus.rootLogger = INFO, f", "log4cplus.appender.f=log4cplus::FileAppender",
               f"log4cplus.appender.f.File={target}")


def test_log_config_device_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandLineExit) as exc:
        parse_command_line(["-lc", "/dev/zero", "h", "1", "-k", "x"])
    assert (exc.value.code, exc.value.stderr) == (1, cmdline.header() + (
        "error: Specified --log-config file cannot be read: file too large (more than 1048576 bytes)\n"))


def test_log_config_fifo_is_read_once(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp()
    FifoWriter(tmp_path / "lc", b"log4cplus.rootLogger = INFO, c\n"
                                b"log4cplus.appender.c=log4cplus::ConsoleAppender\n")
    code, err, seconds = run(["-lc", "lc", scp.host, str(scp.port), *KEYS], tmp_path)
    assert code == 0 and seconds < 20, err
    assert "I: Requesting Association\n" in err


@pytest.mark.parametrize("target,reason", [
    ("nosuchdir/x.log", "No such file or directory"),
    (".", "Is a directory"),
], ids=["missing-directory", "directory"])
def test_log_file_that_cannot_be_opened(scripted_scp, tmp_path: Path, target: str, reason: str) -> None:
    scp = scripted_scp()
    lc = file_appender(tmp_path / "lc.cfg", target)
    code, err, _ = run(["-lc", lc, scp.host, str(scp.port), *KEYS], tmp_path)
    assert (code, err) == (1, f"F: cannot open log file '{target}': {reason}\n")
    assert scp.associations == []  # refused before any network activity


def test_log_file_write_failure(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(3)))
    lc = file_appender(tmp_path / "lc.cfg", "/dev/full")
    code, err, _ = run(["-lc", lc, scp.host, str(scp.port), *KEYS], tmp_path)
    assert (code, err) == (40, "E: cannot write log file '/dev/full': No space left on device\n")
    ok = file_appender(tmp_path / "ok.cfg", "out.log")
    code, err, _ = run(["-lc", ok, scp.host, str(scp.port), *KEYS], tmp_path)
    assert (code, err) == (0, "")
    assert "I: Association Accepted" in (tmp_path / "out.log").read_text()


def test_log_file_fifo_without_reader(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp()
    os.mkfifo(tmp_path / "pipe")
    lc = file_appender(tmp_path / "lc.cfg", "pipe")
    code, err, seconds = run(["-lc", lc, scp.host, str(scp.port), *KEYS], tmp_path)
    assert (code, err) == (1, "F: cannot open log file 'pipe': No such device or address\n")
    assert seconds < 20


@pytest.mark.parametrize("level,expect", [
    ("ALL", "trace"), ("", "debug"), ("bogus", "debug"), ("FATAL", "fatal"), ("off", "off"),
    ("Info", "info"),
])
def test_one_log_config_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str,
                               expect: str) -> None:
    """The parser (quiet mode) and the logger setup read the root level the same way."""
    monkeypatch.chdir(tmp_path)
    lc = cfg(tmp_path / "lc.cfg", "  # comment", f"log4cplus.rootLogger = {level}, c\r",
             "log4cplus.appender.c=log4cplus::ConsoleAppender")
    p = parse_command_line(["-lc", lc, "h", "1", "-k", "x"])
    assert p.log_config is not None and p.log_config.root_level == expect
    assert p.quiet == (expect in ("fatal", "off"))
    try:
        logs.setup(p.log_level, None, p.log_config)
        assert logs.log.level == logs.LEVELS[expect]
    finally:
        logs.setup()


def test_all_level_config_logs_debug(tmp_path: Path) -> None:
    lc = cfg(tmp_path / "lc.cfg", "log4cplus.rootLogger = ALL, c",
             "log4cplus.appender.c=log4cplus::ConsoleAppender")
    code, err, _ = run(["-lc", lc, "127.0.0.1", str(closed_port()), *KEYS], tmp_path)
    assert code == 2 and "D: $fastfind: fastfind v" in err, err
