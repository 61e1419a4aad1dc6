"""``-X``/``-od`` must lose nothing and write nothing it should not (``hostile-scp.md`` §5).

Atomic writes through a planted symlink, a read-only or full output directory (tiny tmpfs
mounts; skipped where mounting is not permitted), the directory vanishing mid-run, SIGINT and
SIGTERM mid-stream, ``--sync``, ``--no-clobber``, overwrite warnings and the
``matches=N written=M failed=[...]`` summary.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_hostile import BASE, REPO, check_file, run_cli  # noqa: E402

import hostile as h  # noqa: E402

S = h.study
PART = re.compile(r"\.part$|^\.")


def big_study(i: int, size: int = 20000) -> dict[str, Any]:
    """A match carrying ``size`` bytes of StudyDescription-like text (fills a tiny tmpfs fast)."""
    d = S(i)
    d["TextValue"] = "x" * (size - size % 2)  # UT: no 64-character limit
    return d


def leftovers(od: Path) -> list[str]:
    return [n for n in os.listdir(od) if PART.search(n)]


def summary(err: str) -> re.Match[str] | None:
    return re.search(r"^E: matches=(\d+) written=(\d+) failed=\[([\d,]*)\.*\]", err, re.M)


def run(script: list[Any], tmp: Path, extra: list[str] = (), od: Path | None = None
        ) -> tuple[int, str, Path, h.Record]:
    """Run the CLI against a scripted SCP; ``od`` overrides the output directory."""
    with h.HostileSCP(script) as scp:
        if od is None:
            rc, _wall, _rss, _out, err, od_, _cwd, _argv = run_cli(scp.port, list(extra), tmp)
        else:
            rc, err, od_ = _run_with_od(scp.port, list(extra), tmp, od)
        record = scp.wait(10)
    text = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
    assert "Traceback" not in text, text
    return rc, text, od_, record


def _run_with_od(port: int, extra: list[str], tmp: Path, od: Path) -> tuple[int, str, Path]:
    argv = [sys.executable, "-m", "fastfind", *BASE, "-X", "-od", str(od), *extra, "127.0.0.1",
            str(port)]
    proc = subprocess.run(argv, cwd=tmp, env=dict(os.environ, PYTHONPATH=str(REPO)),
                          capture_output=True, timeout=40, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stderr.decode("utf-8", "replace"), od


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    """``mount(size, ro=False) -> Path``: a tiny tmpfs under tmp_path (skips if not permitted)."""
    mounted: list[Path] = []

    def mount(size: str = "64k", ro: bool = False) -> Path:
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        opts = f"size={size}" + (",ro" if ro else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)],
                              capture_output=True, text=True, timeout=10)
        if proc.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=10)


def pendings_then_success(n: int, make: Any = S) -> list[Any]:
    return [*h.associate(), ("recv_find",), *[h.pending(make(i)) for i in range(n)], h.final(),
            *h.release()]


# ---------------------------------------------------------------------------------- tests
def test_symlink_at_final_name_is_replaced_not_followed(tmp_path: Path) -> None:
    od = tmp_path / "od"
    od.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    (od / "rsp0001.dcm").symlink_to(victim)
    (od / "rsp0002.dcm").symlink_to("/dev/full")  # replaced too: os.replace never follows
    rc, err, od, _ = run(pendings_then_success(2), tmp_path)
    assert rc == 0, err
    assert victim.read_bytes() == b"precious"
    for n in (1, 2):
        path = od / f"rsp{n:04d}.dcm"
        assert not path.is_symlink() and path.is_file()
        check_file(path, S(n - 1), h.EXPLICIT_LE)
    assert re.search(r"^W: .*replac.*rsp0001", err, re.M), err
    assert not leftovers(od)


def test_existing_files_overwritten_with_warning_and_stale_ones_kept(tmp_path: Path) -> None:
    od = tmp_path / "od"
    od.mkdir()
    (od / "rsp0001.dcm").write_bytes(b"old run")
    (od / "rsp0009.dcm").write_bytes(b"stale, higher-numbered")
    rc, err, od, _ = run(pendings_then_success(2), tmp_path)
    assert rc == 0, err
    check_file(od / "rsp0001.dcm", S(0), h.EXPLICIT_LE)
    assert (od / "rsp0009.dcm").read_bytes() == b"stale, higher-numbered"  # never auto-deleted
    warnings = [line for line in err.splitlines() if line.startswith("W: ")]
    assert any("rsp0001" in w for w in warnings) and not any("rsp0002" in w for w in warnings)


def test_file_mode_follows_umask(tmp_path: Path) -> None:
    rc, err, od, _ = run(pendings_then_success(1), tmp_path)
    assert rc == 0, err
    mask = os.umask(0)
    os.umask(mask)
    assert (od / "rsp0001.dcm").stat().st_mode & 0o777 == 0o666 & ~mask


def stream_until_cancel(make: Any = S, before: list[Any] = (), start: int = 0) -> list[Any]:
    """Pendings every 50 ms until the client cancels (at most 8 s), then Cancel and release."""
    return [*h.associate(), ("recv_find",), *before,
            ("send_until_cancel", lambda c, i: h.message(
                c.cid, h.find_rsp(c.msg_id, 0xFF00), h.identifier(make(i), c.ts)), 0.05, 8, start),
            h.final(0xFE00), *h.release()]


def check_accounting(od: Path, err: str, first_lost: int, make: Any = S,
                     foreign: tuple[str, ...] = ()) -> tuple[int, int, list[int]]:
    """The summary matches the disk: every pending is either a valid file or listed as failed.

    Files are written on a thread pool, so a response or two after the first failure may still
    land; what must hold is that nothing is unaccounted for and nothing partial is visible.
    """
    m = summary(err)
    assert m, err
    matches, written = int(m.group(1)), int(m.group(2))
    failed = [int(x) for x in m.group(3).split(",") if x]
    assert failed and failed[0] == first_lost, err
    on_disk = sorted(int(n[3:7]) for n in os.listdir(od) if n.startswith("rsp") and n not in foreign)
    assert len(on_disk) == written, (on_disk, err)
    assert sorted(on_disk + failed) == list(range(1, matches + 1)), (on_disk, failed, err)
    for n in on_disk:
        check_file(od / f"rsp{n:04d}.dcm", make(n - 1), h.EXPLICIT_LE)
    assert not leftovers(od)
    return matches, written, failed


def test_no_clobber_refuses_existing_file(tmp_path: Path) -> None:
    od = tmp_path / "od"
    od.mkdir()
    (od / "rsp0002.dcm").write_bytes(b"keep me")
    rc, err, od, record = run(stream_until_cancel(), tmp_path, ["--no-clobber"])
    assert rc == 40, err
    assert (od / "rsp0002.dcm").read_bytes() == b"keep me"
    check_accounting(od, err, 2, foreign=("rsp0002.dcm",))
    assert re.search(r"^E: .*rsp0002", err, re.M), err
    assert record.cancels, "no C-CANCEL after the write failure"


def test_sync_writes_complete_files(tmp_path: Path) -> None:
    rc, err, od, _ = run(pendings_then_success(3), tmp_path, ["--sync"])
    assert rc == 0, err
    for n in (1, 2, 3):
        check_file(od / f"rsp{n:04d}.dcm", S(n - 1), h.EXPLICIT_LE)
    assert not leftovers(od)


def test_read_only_output_directory_is_refused_before_connecting(tmp_path: Path, tmpfs: Any) -> None:
    od = tmpfs("64k", ro=True)
    with h.HostileSCP(pendings_then_success(1)) as scp:
        rc, err, _ = _run_with_od(scp.port, [], tmp_path, od)
        record = scp.record
    assert rc == 1, err
    assert re.search(r"^F: .*(writ|read-only)", err, re.M), err
    assert not record.connected or not record.pdus, "connected although -od is unusable"


def test_output_directory_turns_read_only_mid_run(tmp_path: Path, tmpfs: Any) -> None:
    od = tmpfs("256k")

    def remount_ro(_scp: h.HostileSCP) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(od)], check=True, timeout=10)

    before = [h.pending(S(0)), ("sleep", 0.3), ("call", remount_ro)]
    rc, err, _, record = run(stream_until_cancel(before=before, start=1), tmp_path, [], od=od)
    assert rc == 40, err
    check_accounting(od, err, 2)
    assert re.search(r"Read-only file system", err), err
    assert record.cancels, "no C-CANCEL after the write failure"


def test_disk_full_mid_run(tmp_path: Path, tmpfs: Any) -> None:
    od = tmpfs("64k")
    rc, err, _, record = run(stream_until_cancel(big_study), tmp_path, [], od=od)
    assert rc == 40, err
    m = summary(err)
    assert m, err
    first_lost = int(m.group(3).split(",")[0])
    assert 1 < first_lost < 5, err  # 20 KB files on a 64 KiB tmpfs
    check_accounting(od, err, first_lost, big_study)
    assert re.search(r"No space left", err), err
    assert record.cancels, "no C-CANCEL after ENOSPC"


def test_output_directory_removed_mid_run(tmp_path: Path) -> None:
    od = tmp_path / "gone"
    od.mkdir()

    def remove_od(_scp: h.HostileSCP) -> None:
        shutil.rmtree(od)

    before = [h.pending(S(0)), ("sleep", 0.3), ("call", remove_od)]
    rc, err, _, record = run(stream_until_cancel(before=before, start=1), tmp_path, [], od=od)
    assert rc == 40, err
    assert not od.exists(), "fastfind re-created the removed output directory"
    m = summary(err)
    assert m and m.group(2) == "1" and m.group(3).startswith("2"), err
    assert record.cancels, "no C-CANCEL after the write failure"


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_stream(tmp_path: Path, signum: int, code: int) -> None:
    od = tmp_path / "od"
    od.mkdir()
    script = [*h.associate(), ("recv_find",), h.pending(S(0)), h.pending(S(1)), ("sleep", 20)]
    argv = [sys.executable, "-m", "fastfind", *BASE, "-td", "30", "-ts", "30", "-X", "-od",
            str(od)]
    with h.HostileSCP(script) as scp:
        proc = subprocess.Popen([*argv, "127.0.0.1", str(scp.port)], cwd=tmp_path,
                                env=dict(os.environ, PYTHONPATH=str(REPO)),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 15
            while not (od / "rsp0002.dcm").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.1)
            proc.send_signal(signum)
            _out, err_b = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        record = scp.wait(10)
    err = err_b.decode("utf-8", "replace")
    assert proc.returncode == code, err
    assert "Traceback" not in err, err
    assert record.aborts and record.aborts[0][0] == 0, f"no A-ABORT(0): {record.types}"
    assert sorted(os.listdir(od)) == ["rsp0001.dcm", "rsp0002.dcm"]
    for n in (1, 2):
        check_file(od / f"rsp{n:04d}.dcm", S(n - 1), h.EXPLICIT_LE)
    m = summary(err)
    assert m and m.group(1) == "2" and m.group(2) == "2", err


def test_summary_counts_on_protocol_failure(tmp_path: Path) -> None:
    script = [*h.associate(), ("recv_find",), h.pending(S(0)), h.pending(S(1)), ("sleep", 0.2),
              ("send", h.a_abort(2, 0)), ("sleep", 5)]
    rc, err, od, _ = run(script, tmp_path)
    assert rc == 71, err
    m = summary(err)
    assert m and (m.group(1), m.group(2), m.group(3)) == ("2", "2", ""), err
