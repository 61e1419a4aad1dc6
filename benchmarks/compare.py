"""Macro benchmark: fastfind vs DCMTK findscu (vs pynetdicom's findscu), every output, one run.

For each size N, output mode and storage, every client pulls N C-FIND responses from the
in-process replay SCP (benchmarks/replay_scp.py), the clients alternating in each round. Modes:
``quiet`` (``-q``, nothing written), ``X`` (rspNNNN.dcm), ``Xx`` (rspNNNN.xml), ``Xs`` (one XML
file), ``json``, ``ndjson``, ``csv``, ``parquet``. DCMTK has the first four; fastfind's table
outputs are held against what DCMTK needs to only *receive* the responses (its ``quiet`` run),
since no DCMTK tool writes them. Storages: ``tmpfs`` (/dev/shm: the client's own cost) and
``disk`` (what users see; the file system's cost included). Measured per run: wall time, the
child's user+sys CPU and peak RSS (``wait4``), and the SCP's own CPU. Every run is verified: exit
code 0, N pending responses + Success on one released association, and the output complete (N
files, N records). A baseline run with N=0 gives the start-up cost ("net CPU"). The disk floor
(N plain files, 1 thread and a small pool) is measured in the same run, and ``--rss-sizes`` runs
fastfind alone at growing N to show peak RSS stays flat in every format.

    python benchmarks/compare.py                      # sizes 30000,100000, 3 runs, all modes
    python benchmarks/compare.py --sizes 1000 --runs 1 --json out.json --chart out.svg
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import replay_scp  # noqa: E402

CLIENTS = ("fastfind", "dcmtk", "pynetdicom")
MODES = ("quiet", "X", "Xx", "Xs", "json", "ndjson", "csv", "parquet")
STORAGES = ("tmpfs", "disk")
#: the options of each mode; {od} is the run's output directory
MODE_ARGS = {
    "quiet": [],
    "X": ["-X", "-od", "{od}"],
    "Xx": ["-Xx", "-od", "{od}"],
    "Xs": ["-Xs", "all.xml", "-od", "{od}"],
    "json": ["--extract-json", "{od}/all.json"],
    "ndjson": ["--extract-ndjson", "{od}/all.ndjson"],
    "csv": ["--extract-csv", "{od}/all.csv"],
    "parquet": ["--extract-parquet", "{od}/all.parquet"],
}
SUPPORTS = {
    "fastfind": set(MODES),
    "dcmtk": {"quiet", "X", "Xx", "Xs"},
    "pynetdicom": {"quiet", "X"},
}
#: issue targets: mode -> (what fastfind is compared with, max ratio of wall times)
TARGETS = {
    "X": ("X", 0.5),
    "Xx": ("Xx", 0.5),
    "Xs": ("Xs", 0.5),
    "json": ("quiet", 1.0),
    "ndjson": ("quiet", 1.0),
    "parquet": ("quiet", 1.0),
    "csv": ("quiet", 0.8),
}
KEYS = {
    "study": ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName=", "-k", "PatientID=",
              "-k", "StudyInstanceUID=", "-k", "StudyDate=", "-k", "AccessionNumber=",
              "-k", "ModalitiesInStudy=", "-k", "StudyDescription="],
    "worklist": ["-W", "-k", "PatientName=", "-k", "PatientID=", "-k", "AccessionNumber=",
                 "-k", "StudyInstanceUID=", "-k", "RequestedProcedureDescription="],
}


@dataclass
class Run:
    """One client run."""

    ok: bool
    wall: float
    cpu: float  # child user + sys, seconds
    user: float
    sys: float
    maxrss_kib: int
    scp_cpu: float
    files: int | None = None
    why: str = ""


@dataclass
class Cell:
    """All runs of one client for one (N, mode, storage)."""

    n: int
    mode: str
    client: str
    storage: str = "-"
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float | None:
        vals = [getattr(r, attr) for r in self.runs if r.ok]
        return statistics.median(vals) if vals else None


# ---- clients ------------------------------------------------------------------------------------
def client_command(
    client: str, port: int, mode: str, kind: str, outdir: Path
) -> tuple[list[str], Path | None]:
    """argv and cwd for one run of ``client``."""
    keys = KEYS[kind]
    target = ["127.0.0.1", str(port)]
    extra = [a.replace("{od}", str(outdir)) for a in MODE_ARGS[mode]]
    if client == "fastfind":
        return [sys.executable, "-m", "fastfind", "-q", *keys, *extra, *target], None
    if client == "dcmtk":
        return [shutil.which("findscu") or "findscu", "-q", *keys, *extra, *target], None
    if client == "pynetdicom":
        argv = [sys.executable, "-m", "pynetdicom", "findscu", "-q", *keys, *target]
        return (argv + ["-w"] if mode == "X" else argv), outdir
    raise ValueError(client)


def output_count(mode: str, outdir: Path) -> int | None:
    """How many responses the run's output holds (None for quiet)."""
    if mode == "quiet":
        return None
    if mode in ("X", "Xx"):
        suffix = ".dcm" if mode == "X" else ".xml"
        with os.scandir(outdir) as it:
            return sum(1 for e in it if e.name.startswith("rsp") and e.name.endswith(suffix))
    path = outdir / Path(MODE_ARGS[mode][1]).name
    if not path.exists():
        return 0
    if mode == "parquet":
        import pyarrow.parquet as pq

        return int(pq.read_metadata(path).num_rows)
    data = path.read_bytes()
    if mode == "Xs":
        return data.count(b"<data-set ")
    if mode == "json":
        return sum(1 for line in data.split(b"\n") if line.startswith(b"{"))
    if mode == "csv":
        return data.count(b"\r\n") - 1
    return data.count(b"\n")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


_SPAWN_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct timespec t0, t1;
    struct rusage ru;
    int status, fd;
    pid_t pid;
    if (argc < 2) return 2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%d %.9f %ld.%06ld %ld.%06ld %ld\n",
           WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status),
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
           (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
    return 0;
}
"""

_SPAWN_PY = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, st, ru = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(st), time.perf_counter() - t0, ru.ru_utime, ru.ru_stime,
      ru.ru_maxrss)
"""


def make_launcher(workdir: Path) -> list[str]:
    """A small process that forks, execs and ``wait4``s the client and prints its rusage.

    Linux carries a process's peak RSS across ``exec`` (the RSS of the forked copy counts), so
    a client forked straight from this ~50 MiB harness would report >= 50 MiB. A tiny C launcher
    (or, without a C compiler, ``python -S``, ~8 MiB) keeps that floor low.
    """
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        src, exe = workdir / "spawn.c", workdir / "spawn"
        src.write_text(_SPAWN_C)
        if subprocess.run([cc, "-O2", "-o", str(exe), str(src)], capture_output=True,
                          timeout=60).returncode == 0:
            return [str(exe)]
    return [sys.executable, "-S", "-I", "-c", _SPAWN_PY]


def spawn(
    launcher: list[str], argv: list[str], cwd: Path | None, errpath: Path, timeout: float
) -> tuple[int, float, float, float, int]:
    """Run ``argv`` under ``launcher``: (exit code, wall s, user s, sys s, peak RSS KiB)."""
    with open(errpath, "wb") as err:
        proc = subprocess.Popen([*launcher, *argv], cwd=cwd, env=child_env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            out, _ = proc.communicate()
        finally:
            timer.cancel()
    fields = out.split()
    if proc.returncode != 0 or len(fields) != 5:
        return -9, float("nan"), float("nan"), float("nan"), 0
    return int(fields[0]), float(fields[1]), float(fields[2]), float(fields[3]), int(fields[4])


def run_client(
    server: replay_scp.ReplayServer, launcher: list[str], client: str, n: int, mode: str,
    kind: str, workdir: Path, timeout: float,
) -> tuple[Run, int]:
    """Run ``client`` once for ``n`` responses; returns the run and the mean rsp file size."""
    server.responses = n
    outdir = Path(tempfile.mkdtemp(prefix=f"{client}-", dir=workdir))
    argv, cwd = client_command(client, server.port, mode, kind, outdir)
    before = len(server.associations)
    errpath = outdir.with_suffix(".stderr")
    os.sync()  # start every run with no dirty pages left by the previous one (writeback throttling)
    scp0 = resource.getrusage(resource.RUSAGE_SELF)
    code, wall, user, sys_, rss = spawn(launcher, argv, cwd, errpath, timeout)
    scp1 = resource.getrusage(resource.RUSAGE_SELF)
    scp_cpu = (scp1.ru_utime - scp0.ru_utime) + (scp1.ru_stime - scp0.ru_stime)
    run = Run(True, wall, user + sys_, user, sys_, rss, scp_cpu)
    why = []
    if code != 0:
        why.append("killed (timeout) or launcher failed" if code == -9 else f"exit code {code}")
    # The SCP thread records the release before it sends A-RELEASE-RP, so this is complete.
    assocs = server.associations[before:]
    sent = [(q.sent, q.status) for a in assocs for q in a.queries]
    if sent != [(n, replay_scp.STATUS_SUCCESS)] or not all(a.released for a in assocs):
        why.append(f"SCP saw {sent} on {len(assocs)} association(s), "
                   f"released={[a.released for a in assocs]}")
    size = 0
    if mode != "quiet" and code == 0:
        run.files = output_count(mode, outdir)
        if run.files != n:
            why.append(f"{run.files} responses in the {mode} output, expected {n}")
        elif n and mode == "X":
            size = sum(e.stat().st_size for e in os.scandir(outdir)) // n
    if why:
        run.ok = False
        tail = errpath.read_text(errors="replace").strip().splitlines()[-3:]
        run.why = "; ".join(why) + (" | stderr: " + " / ".join(tail) if tail else "")
    shutil.rmtree(outdir, ignore_errors=True)
    errpath.unlink(missing_ok=True)
    return run, size


def probe(
    server: replay_scp.ReplayServer, launcher: list[str], client: str, kind: str, workdir: Path
) -> str | None:
    """Why ``client`` cannot be benchmarked, or None if a 3-response query works in both modes."""
    if client == "dcmtk" and shutil.which("findscu") is None:
        return "findscu not on PATH"
    for mode in ("quiet", "X"):
        run, _ = run_client(server, launcher, client, 3, mode, kind, workdir, 60)
        if not run.ok:
            return f"{mode} probe failed: {run.why}"
    return None


# ---- disk floor ---------------------------------------------------------------------------------
def disk_floor(n: int, size: int, workdir: Path, threads: int) -> tuple[float, float]:
    """Wall and CPU seconds to create ``n`` files of ``size`` bytes in one fresh directory."""
    d = Path(tempfile.mkdtemp(prefix="floor-", dir=workdir))
    payload = os.urandom(size)
    names = [str(d / f"rsp{i:04d}.dcm") for i in range(1, n + 1)]

    def write(chunk: list[str]) -> None:
        for name in chunk:
            with open(name, "wb") as f:
                f.write(payload)

    os.sync()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if threads <= 1:
        write(names)
    else:
        step = max(1, len(names) // (threads * 8))
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(write, [names[i : i + step] for i in range(0, len(names), step)]))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    shutil.rmtree(d, ignore_errors=True)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


# ---- machine description -------------------------------------------------------------------------
def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=child_env())
        lines = (out.stdout + out.stderr).strip().splitlines()
        return lines[0] if lines else f"exit {out.returncode}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"


def _fs_type(path: Path) -> str:
    best, fstype = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            mnt = parts[1]
            if str(path).startswith(mnt) and len(mnt) > len(best):
                best, fstype = mnt, parts[2]
    except OSError:
        pass
    return f"{fstype} ({best})"


def machine(workdir: Path) -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import pydicom
    import pynetdicom

    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "pydicom": pydicom.__version__,
        "pynetdicom": pynetdicom.__version__,
        "dcmtk": _first_line(["findscu", "--version"]) if shutil.which("findscu") else "absent",
        "fastfind": _first_line([sys.executable, "-c", "import fastfind._version as v, "
                                 "fastfind.codec as c; print(v.__version__, c.IMPLEMENTATION)"]),
        "workdir": f"{workdir} on {_fs_type(workdir)}",
    }
    return info


# ---- report --------------------------------------------------------------------------------------
def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _reference(cells: dict[tuple[int, str, str, str], Cell], c: Cell, mode: str | None = None) -> Cell | None:
    """DCMTK's cell that ``c`` is compared with: the same mode and storage, or its quiet run."""
    mode = mode or (c.mode if c.mode in SUPPORTS["dcmtk"] else "quiet")
    storage = "-" if mode == "quiet" else c.storage
    return cells.get((c.n, mode, "dcmtk", storage))


def report(cells: dict[tuple[int, str, str, str], Cell], baseline: dict[str, Cell],
           floors: list[dict]) -> str:  # type: ignore[type-arg]
    lines = [
        "| N | output | storage | client | ok | wall s | wall µs/rsp | CPU µs/rsp | net CPU µs/rsp "
        "| peak RSS MiB | SCP CPU µs/rsp | CPU × DCMTK | wall × DCMTK | vs DCMTK |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in cells.values():
        wall, cpu = c.median("wall"), c.median("cpu")
        rss, scp = c.median("maxrss_kib"), c.median("scp_cpu")
        base = baseline.get(c.client)
        base_cpu = base.median("cpu") if base else None
        net = (cpu - base_cpu) / c.n * 1e6 if cpu is not None and base_cpu is not None else None
        r = _reference(cells, c)
        rcpu = r.median("cpu") if r else None
        rwall = r.median("wall") if r else None
        ok = sum(x.ok for x in c.runs)
        lines.append(
            f"| {c.n} | {c.mode} | {c.storage} | {c.client} | {ok}/{len(c.runs)} | {_fmt(wall, '.3f')} "
            f"| {_fmt(wall and wall / c.n * 1e6, '.1f')} | {_fmt(cpu and cpu / c.n * 1e6, '.1f')} "
            f"| {_fmt(net, '.1f')} | {_fmt(rss and rss / 1024, '.1f')} "
            f"| {_fmt(scp and scp / c.n * 1e6, '.2f')} "
            f"| {_fmt(cpu / rcpu if cpu and rcpu else None, '.2f')} "
            f"| {_fmt(wall / rwall if wall and rwall else None, '.2f')} "
            f"| {'-' if r is None else r.mode} |"
        )
    lines += ["", "Start-up (N=0, quiet): " + ", ".join(
        f"{name} {_fmt(b.median('wall'), '.3f')} s wall / {_fmt(b.median('cpu'), '.3f')} s CPU"
        for name, b in baseline.items())]
    if floors:
        lines += [
            "",
            "Disk floor (plain open/write/close of N files in one new directory):",
            "",
            "| N | storage | bytes/file | threads | wall µs/file | CPU µs/file |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for f in floors:
            lines.append(f"| {f['n']} | {f['storage']} | {f['size']} | {f['threads']} | {f['wall_us']:.1f} "
                         f"| {f['cpu_us']:.1f} |")
    return "\n".join(lines)


def issue_target(n: int, mode: str, storage: str) -> float | None:
    """The issue's limit for this measurement, or None where the issue sets none (reported only).

    Its rules: -X <= 0.5 at 100,000 on tmpfs, <= 0.6 below, <= 0.7 on the disk; -Xx/-Xs <= 0.5
    on tmpfs; JSON, NDJSON and Parquet of 100,000 <= 1.0 of DCMTK quiet, CSV <= 0.8; the quiet
    path <= 0.35 of DCMTK's CPU at 100,000 (below that, Python's start-up is most of it)."""
    if mode == "quiet":
        return 0.35 if n >= 100000 else None
    limit = TARGETS[mode][1]
    if mode == "X":
        return 0.7 if storage == "disk" else (limit if n >= 100000 else 0.6)
    if storage != "tmpfs":
        return None
    return limit if mode in ("Xx", "Xs") or n >= 100000 else None


def targets(cells: dict[tuple[int, str, str, str], Cell]) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    """Every fastfind/DCMTK ratio of this run, with the issue's target where it sets one."""
    rows: list[dict] = []  # type: ignore[type-arg]
    for c in cells.values():
        if c.client != "fastfind":
            continue
        limit = issue_target(c.n, c.mode, c.storage)
        if c.mode == "quiet":
            r = _reference(cells, c)
            cpu, rcpu = c.median("cpu"), r.median("cpu") if r else None
            if cpu and rcpu:
                rows.append({"n": c.n, "mode": "quiet", "storage": "-", "measure": "CPU",
                             "vs": "quiet", "ratio": cpu / rcpu, "target": limit})
            continue
        vs = TARGETS[c.mode][0]
        r = _reference(cells, c, vs)
        wall, rwall = c.median("wall"), r.median("wall") if r else None
        if wall and rwall:
            rows.append({"n": c.n, "mode": c.mode, "storage": c.storage, "measure": "wall",
                         "vs": vs, "ratio": wall / rwall, "target": limit})
    lines = ["| N | output | storage | fastfind / DCMTK | DCMTK run | ratio | target | met |",
             "|---:|---|---|---|---|---:|---:|---|"]
    for row in rows:
        if row["target"] is None:
            limit, met = "—", "(no target)"
        else:
            limit = f"≤ {row['target']:.2f}"
            met = "yes" if row["ratio"] <= row["target"] else "**no**"
        lines.append(f"| {row['n']} | {row['mode']} | {row['storage']} | {row['measure']} | {row['vs']} "
                     f"| {row['ratio']:.2f} | {limit} | {met} |")
    return "\n".join(lines), rows


def storage_dirs(storages: list[str], base: str | None) -> dict[str, Path]:
    """A fresh work directory per storage: tmpfs under /dev/shm, disk under ``base`` (or /var/tmp)."""
    out = {}
    for st in storages:
        parent = "/dev/shm" if st == "tmpfs" else (base or "/var/tmp")
        out[st] = Path(tempfile.mkdtemp(prefix=f"fastfind-bench-{st}-", dir=parent))
    return out


# ---- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="30000,100000", help="comma-separated response counts")
    p.add_argument("--runs", type=int, default=3, help="runs per (size, mode, storage, client)")
    p.add_argument("--clients", default="fastfind,dcmtk")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--storage", default=",".join(STORAGES), help="tmpfs and/or disk")
    p.add_argument("--kind", choices=("study", "worklist"), default="study")
    p.add_argument("--max-pdu", type=int, default=16384, help="the SCP's max PDU (0 = unlimited)")
    p.add_argument("--floor-threads", type=int, default=4, help="pool size for the disk floor")
    p.add_argument("--workdir", default=None, help="the disk storage's directory (default /var/tmp)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a run is killed")
    p.add_argument("--rss-sizes", default="", help="fastfind alone at these N, every mode (tmpfs)")
    p.add_argument("--json", dest="json_out", default=None, help="also write results here")
    p.add_argument("--chart", default=None, help="draw the ratios as an SVG chart here")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    clients = [c for c in args.clients.split(",") if c]
    storages = [s for s in args.storage.split(",") if s]
    rss_sizes = [int(s) for s in args.rss_sizes.split(",") if s]
    if not sizes or any(n < 1 for n in sizes) or set(modes) - set(MODES) or \
            set(clients) - set(CLIENTS) or set(storages) - set(STORAGES) or args.runs < 1:
        p.error("bad --sizes/--modes/--clients/--storage/--runs")
    dirs = storage_dirs(storages or ["tmpfs"], args.workdir)
    workdir = next(iter(dirs.values()))
    try:
        launcher = make_launcher(workdir)
        info = machine(workdir)
        for st, d in dirs.items():
            info[f"storage {st}"] = f"{d} on {_fs_type(d)}"
        floor_rss = spawn(launcher, ["true"], None, workdir / "true.stderr", 30)[4]
        kind_ = "C fork/exec/wait4" if len(launcher) == 1 else "python -S fork/exec/wait4"
        info["launcher"] = f"{kind_} (peak RSS floor {floor_rss / 1024:.1f} MiB)"
        print("## Machine\n")
        for k, v in info.items():
            print(f"- {k}: {v}")
        print(flush=True)

        server = replay_scp.ReplayServer(0, 0, args.kind, max_pdu=args.max_pdu,
                                         idle_timeout=args.timeout)
        server.warm((args.kind,))
        server.start()
        try:
            skipped: dict[str, str] = {}
            for c in list(clients):
                why = probe(server, launcher, c, args.kind, workdir)
                if why:
                    skipped[c] = why
                    clients.remove(c)
                    print(f"skipping {c}: {why}", file=sys.stderr, flush=True)
            baseline = {c: Cell(0, "quiet", c) for c in clients}
            cells: dict[tuple[int, str, str, str], Cell] = {}
            for n in sizes:
                for m in modes:
                    for st in (["-"] if m == "quiet" else storages):
                        for c in clients:
                            if m in SUPPORTS[c]:
                                cells[(n, m, c, st)] = Cell(n, m, c, st)
            floors: list[dict] = []  # type: ignore[type-arg]
            sizes_seen: list[int] = []
            for r in range(args.runs):
                order = clients[r % len(clients):] + clients[: r % len(clients)] if clients else []
                for c in order:
                    baseline[c].runs.append(run_client(server, launcher, c, 0, "quiet", args.kind,
                                                       workdir, args.timeout)[0])
                for n in sizes:
                    for m in modes:
                        for st in (["-"] if m == "quiet" else storages):
                            for c in order:
                                cell = cells.get((n, m, c, st))
                                if cell is None:
                                    continue
                                where = dirs.get(st, workdir)
                                run, size = run_client(server, launcher, c, n, m, args.kind, where,
                                                       args.timeout)
                                cell.runs.append(run)
                                if size:
                                    sizes_seen.append(size)
                                state = "ok" if run.ok else f"FAILED: {run.why}"
                                print(f"round {r + 1}: N={n} {m} {st} {c}: {run.wall:.3f} s wall, "
                                      f"{run.cpu:.3f} s CPU, {state}", file=sys.stderr, flush=True)
            rss_cells: list[Cell] = []
            if rss_sizes and "fastfind" in clients:
                for m in modes:
                    for n in rss_sizes:
                        run, _ = run_client(server, launcher, "fastfind", n, m, args.kind,
                                            dirs.get("tmpfs", workdir), args.timeout)
                        cell = Cell(n, m, "fastfind", "tmpfs", [run])
                        rss_cells.append(cell)
                        print(f"rss: N={n} {m}: {run.maxrss_kib / 1024:.1f} MiB "
                              f"{'ok' if run.ok else run.why}", file=sys.stderr, flush=True)
            fsize = int(statistics.median(sizes_seen)) if sizes_seen else 440
            if "X" in modes:
                for st, d in dirs.items():
                    for n in sizes:
                        for threads in (1, args.floor_threads):
                            walls, cpus = [], []
                            for _ in range(args.runs):
                                w, cp = disk_floor(n, fsize, d, threads)
                                walls.append(w)
                                cpus.append(cp)
                            floors.append({"n": n, "storage": st, "size": fsize, "threads": threads,
                                           "wall_us": statistics.median(walls) / n * 1e6,
                                           "cpu_us": statistics.median(cpus) / n * 1e6})
        finally:
            server.stop()
    finally:
        for d in dirs.values():
            shutil.rmtree(d, ignore_errors=True)

    print("## Results (medians)\n")
    print(report(cells, baseline, floors))
    table, target_rows = targets(cells)
    print("\n## Targets\n")
    print(table)
    if rss_cells:
        print("\n## Peak RSS by N (fastfind, tmpfs, MiB)\n")
        by_mode: dict[str, dict[int, float]] = {}
        for c in rss_cells:
            by_mode.setdefault(c.mode, {})[c.n] = c.runs[0].maxrss_kib / 1024
        print("| output | " + " | ".join(f"N={n}" for n in rss_sizes) + " |")
        print("|---|" + "---:|" * len(rss_sizes))
        for m, row in by_mode.items():
            print(f"| {m} | " + " | ".join(f"{row.get(n, float('nan')):.1f}" for n in rss_sizes) + " |")
    for c, why in skipped.items():
        print(f"\nSkipped {c}: {why}")
    failed = [(cell, run) for cell in [*cells.values(), *rss_cells] for run in cell.runs if not run.ok]
    for cell, run in failed:
        print(f"\nFAILED N={cell.n} {cell.mode} {cell.storage} {cell.client}: {run.why}")
    doc = {
        "machine": info,
        "kind": args.kind,
        "skipped": skipped,
        "baseline": {c: [asdict(r) for r in b.runs] for c, b in baseline.items()},
        "results": [{"n": c.n, "mode": c.mode, "storage": c.storage, "client": c.client,
                     "runs": [asdict(r) for r in c.runs]} for c in cells.values()],
        "rss": [{"n": c.n, "mode": c.mode, "maxrss_kib": c.runs[0].maxrss_kib, "ok": c.runs[0].ok}
                for c in rss_cells],
        "targets": target_rows,
        "disk_floor": floors,
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(doc, indent=2))
    if args.chart:
        from chart import draw

        Path(args.chart).write_text(draw(target_rows, "fastfind wall time ÷ DCMTK findscu's (lower is better)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
