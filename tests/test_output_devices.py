"""Outputs that are not regular files (issue 9 item 9): a device, FIFO or ``-`` is written
directly and never replaced; a symlink to a regular file is replaced, its target untouched
(``fastfind.output.files.OutputFile``)."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

import servers

OUTPUTS = ["--extract-json", "--extract-ndjson", "--extract-csv"]
QUERY = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName", "-k", "PatientID"]


def run(scp, args: list[str], cwd: Path):
    start = time.monotonic()
    got = servers.run_fastfind([scp.host, str(scp.port), *QUERY, *args], cwd=cwd, timeout=60)
    return got, time.monotonic() - start


def null_device(tmp_path: Path) -> Path:
    """A character device like /dev/null: our own node when we may make one (root), so that a
    regression cannot replace the machine's /dev/null; else /dev/null itself (not writable)."""
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        return node
    except (PermissionError, OSError):
        return Path("/dev/null")


@pytest.mark.parametrize("option", OUTPUTS)
def test_character_device_stays_a_device(scripted_scp, tmp_path: Path, option: str) -> None:
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(3)))
    dev = null_device(tmp_path)
    before = os.stat(dev)
    got, _ = run(scp, [option, str(dev)], tmp_path)
    assert got.returncode == 0, got.stderr
    after = os.lstat(dev)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert not [p.name for p in dev.parent.iterdir() if p.name.startswith(f".{dev.name}.")]


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_stdout(scripted_scp, tmp_path: Path, target: str) -> None:
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(3)))
    got, _ = run(scp, ["--extract-ndjson", target, "-sr"], tmp_path)
    assert got.returncode == 0, got.stderr
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert len(rows) == 3 and all("00100020" in r for r in rows)
    assert not list(tmp_path.iterdir())  # nothing named "-" or temporary was made


def test_fifo_with_reader(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(4)))
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as f:
            received.append(f.read())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.1)  # the reader is waiting in open()
    got, _ = run(scp, ["--extract-csv", str(fifo)], tmp_path)
    t.join(10)
    assert got.returncode == 0, got.stderr
    lines = received[0].decode().splitlines()
    assert len(lines) == 5 and "PatientID" in lines[0]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_fifo_without_reader_fails_at_once(scripted_scp, tmp_path: Path) -> None:
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(2)))
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    got, seconds = run(scp, ["--extract-json", str(fifo)], tmp_path)
    assert got.returncode == 40 and seconds < 20, got.stderr
    assert f"E: Writing file: {fifo}: No such device or address\n" in got.stderr
    assert "Traceback" not in got.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("option", OUTPUTS)
def test_symlink_to_regular_file_is_replaced(scripted_scp, tmp_path: Path, option: str) -> None:
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(2)))
    target = tmp_path / "target.txt"
    target.write_text("original")
    link = tmp_path / "link.out"
    link.symlink_to(target)
    got, _ = run(scp, [option, str(link)], tmp_path)
    assert got.returncode == 0, got.stderr
    assert not link.is_symlink() and link.is_file()
    text = link.read_text()
    assert "PatientID" in text or "00100020" in text
    assert target.read_text() == "original"
