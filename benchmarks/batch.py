"""Batch benchmark: many small queries against an archive that takes time to search.

The replay SCP (benchmarks/replay_scp.py) spends ``--search-ms`` (20) before answering each
query with 5 matches. Clients, alternating, in one run:

- ``dcmtk``: DCMTK findscu given the N queries as N query files, on one association (the way
  to run many queries with findscu);
- ``fastfind-seq``: fastfind the same way (N query files, one association);
- ``fastfind-batch``: ``fastfind --batch rows.csv --concurrency 8``;
- the same against an SCP that refuses more than 4 associations at once (rejected-transient):
  every response must arrive, no query lost, exit 0.

Then the API's two pool designs on the same workload, in-process: the asyncio engine
(``find_many``: every association on one event loop) and threads (``find_many(executor=
ThreadPoolExecutor(8))``: a blocking association per thread); and fastfind ``--batch`` alone at
growing N with no search time, to show peak RSS stays flat.

    python benchmarks/batch.py                 # N=1000, 3 runs
    python benchmarks/batch.py --queries 200 --runs 1 --rss 1000,10000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from compare import _fmt, make_launcher, spawn  # noqa: E402

import replay_scp  # noqa: E402

MATCHES = 5


def write_inputs(n: int, where: Path) -> tuple[Path, list[Path]]:
    """rows.csv for --batch and the same queries as N query files."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    rows = where / f"rows-{n}.csv"
    with open(rows, "w") as fh:
        fh.write("PatientID,StudyInstanceUID\n")
        for i in range(n):
            fh.write(f"P{i},\n")
    files = []
    qdir = where / f"q{n}"
    qdir.mkdir(exist_ok=True)
    for i in range(n):
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.PatientID = f"P{i}"
        ds.StudyInstanceUID = ""
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.1"
        ds.file_meta.MediaStorageSOPInstanceUID = f"1.2.3.{i}"
        path = qdir / f"q{i:06d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return rows, files


def command(client: str, port: int, rows: Path, files: list[Path], concurrency: int) -> list[str]:
    keys = ["-S", "-k", "QueryRetrieveLevel=STUDY"]
    if client == "dcmtk":
        return [shutil.which("findscu") or "findscu", "-q", "-S", "127.0.0.1", str(port), *map(str, files)]
    if client == "fastfind-seq":
        return [sys.executable, "-m", "fastfind", "-q", "-S", "127.0.0.1", str(port), *map(str, files)]
    return [sys.executable, "-m", "fastfind", "-q", *keys, "--batch", str(rows), "--concurrency",
            str(concurrency), "127.0.0.1", str(port)]


def measure(server: replay_scp.ReplayServer, launcher: list[str], argv: list[str], n: int,
            work: Path, timeout: float) -> dict:  # type: ignore[type-arg]
    before = len(server.associations)
    server.open_max = server.rejected = 0
    code, wall, user, sys_, rss = spawn(launcher, argv, None, work / "stderr", timeout)
    assocs = server.associations[before:]
    sent = sum(q.sent for a in assocs for q in a.queries if q.status == replay_scp.STATUS_SUCCESS)
    queries = {q.msg_id for a in assocs for q in a.queries}
    ok = code == 0 and sent >= n * MATCHES
    why = "" if ok else f"exit {code}, {sent} responses" + (
        " | " + (work / "stderr").read_text(errors="replace")[-300:] if (work / "stderr").exists() else "")
    return {"ok": ok, "why": why, "wall": wall, "cpu": user + sys_, "rss_mib": rss / 1024,
            "associations": len([a for a in assocs if not a.rejected]), "rejected": server.rejected,
            "open_max": server.open_max, "responses": sent, "queries_seen": len(queries)}


def api_designs(port: int, n: int, concurrency: int) -> dict[str, dict[str, float]]:  # type: ignore[type-arg]
    """The asyncio engine vs threads with blocking associations, in this process."""
    from fastfind.batch import find_many, pool

    queries = [{"QueryRetrieveLevel": "STUDY", "PatientID": f"P{i}", "StudyInstanceUID": None} for i in range(n)]
    out = {}
    for name in ("event loop", "threads"):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        if name == "threads":
            with ThreadPoolExecutor(concurrency) as ex:
                results = list(find_many(queries, "127.0.0.1", port, model="study", executor=ex,
                                         chunk_size=8, max_in_flight=2 * concurrency))
            pool.close_pool()
        else:
            results = list(find_many(queries, "127.0.0.1", port, model="study", concurrency=concurrency))
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)  # includes the SCP threads
        out[name] = {"wall": wall, "cpu": cpu, "ok": float(all(r.ok for r in results)),
                     "responses": float(sum(r.count for r in results))}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--search-ms", type=float, default=20.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--limit", type=int, default=4, help="the limited SCP's association cap")
    p.add_argument("--rss", default="1000,10000,100000", help="fastfind --batch alone at these N")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--json", dest="json_out")
    args = p.parse_args(argv)
    n = args.queries
    work = Path(tempfile.mkdtemp(prefix="fastfind-batch-bench-"))
    results: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    rss_rows: list[dict] = []  # type: ignore[type-arg]
    try:
        launcher = make_launcher(work)
        rows, files = write_inputs(n, work)
        delay = args.search_ms / 1000
        servers = {
            "open": replay_scp.start(responses=MATCHES, kind="study", search_delay=delay),
            "limited": replay_scp.start(responses=MATCHES, kind="study", search_delay=delay,
                                        max_associations=args.limit),
        }
        try:
            plan = [("dcmtk", "open"), ("fastfind-seq", "open"), ("fastfind-batch", "open"),
                    ("fastfind-batch", "limited")]
            for r in range(args.runs):
                order = plan[r % len(plan):] + plan[: r % len(plan)]
                for client, srv in order:
                    server = servers[srv]
                    got = measure(server, launcher, command(client, server.port, rows, files,
                                                            args.concurrency), n, work, args.timeout)
                    results.setdefault(f"{client}@{srv}", []).append(got)
                    print(f"round {r + 1}: {client} ({srv} SCP): {got['wall']:.2f} s "
                          f"{'ok' if got['ok'] else 'FAILED ' + got['why']}", file=sys.stderr, flush=True)
            designs = api_designs(servers["open"].port, n, args.concurrency)
        finally:
            for s in servers.values():
                s.stop()
        fast = replay_scp.start(responses=MATCHES, kind="study")
        try:
            for size in [int(x) for x in args.rss.split(",") if x]:
                rows_n, _ = write_inputs(size, work) if size != n else (rows, files)
                got = measure(fast, launcher, command("fastfind-batch", fast.port, rows_n, [],
                                                      args.concurrency), size, work, args.timeout)
                got["queries"] = size
                rss_rows.append(got)
                print(f"rss: {size} queries: {got['rss_mib']:.1f} MiB, {got['wall']:.1f} s "
                      f"{'ok' if got['ok'] else got['why']}", file=sys.stderr, flush=True)
        finally:
            fast.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(key: str, field: str) -> float | None:
        vals = [x[field] for x in results.get(key, []) if x["ok"]]
        return statistics.median(vals) if vals else None

    dcmtk = med("dcmtk@open", "wall")
    print(f"## Batch: {n} queries, {args.search_ms:g} ms search each, {MATCHES} matches each\n")
    print("| client | SCP | ok | wall s | ms/query | CPU s | peak RSS MiB | associations | rejected "
          "| max open | wall × DCMTK |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, runs in results.items():
        client, srv = key.split("@")
        wall = med(key, "wall")
        last = runs[-1]
        print(f"| {client} | {srv}{f' (≤{args.limit})' if srv == 'limited' else ''} "
              f"| {sum(x['ok'] for x in runs)}/{len(runs)} | {_fmt(wall, '.2f')} "
              f"| {_fmt(wall and wall / n * 1000, '.2f')} | {_fmt(med(key, 'cpu'), '.2f')} "
              f"| {_fmt(med(key, 'rss_mib'), '.1f')} | {last['associations']} | {last['rejected']} "
              f"| {last['open_max']} | {_fmt(wall / dcmtk if wall and dcmtk else None, '.3f')} |")
    targets = []
    for key, limit, label in (("fastfind-batch@open", 0.15, f"--batch --concurrency {args.concurrency}"),
                              ("fastfind-batch@limited", 0.3, f"--batch, SCP limited to {args.limit}")):
        wall = med(key, "wall")
        if wall and dcmtk:
            targets.append({"label": label, "ratio": wall / dcmtk, "target": limit})
    print("\n| target | ratio | ≤ | met |\n|---|---:|---:|---|")
    for t in targets:
        print(f"| {t['label']} | {t['ratio']:.3f} | {t['target']} | {'yes' if t['ratio'] <= t['target'] else '**no**'} |")
    print("\n## API pool designs (same workload, in-process; CPU includes the SCP's threads)\n")
    print("| design | wall s | CPU s | all ok | responses |\n|---|---:|---:|---|---:|")
    for name, d in designs.items():
        print(f"| {name} | {d['wall']:.2f} | {d['cpu']:.2f} | {bool(d['ok'])} | {int(d['responses'])} |")
    print("\n## Peak RSS of fastfind --batch by number of queries (no search time)\n")
    print("| queries | ok | wall s | peak RSS MiB |\n|---:|---|---:|---:|")
    for row in rss_rows:
        print(f"| {row['queries']} | {row['ok']} | {row['wall']:.1f} | {row['rss_mib']:.1f} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"results": results, "designs": designs,
                                                   "rss": rss_rows, "targets": targets}, indent=2))
    failed = [x for runs in results.values() for x in runs if not x["ok"]] + [x for x in rss_rows if not x["ok"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
