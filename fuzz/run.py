"""Run one atheris harness: ``python -m fuzz.run NAME --seconds N [--corpus DIR]``.

The committed seeds (``fuzz/corpus/NAME``) are read but never written: new inputs go to
``--corpus`` (default: a fresh temporary directory), crash reproducers to ``--artifacts``.
Exit status 0 means no finding in the time given. ``--replay FILE...`` runs saved inputs once
(no fuzzing); ``--write-seeds`` regenerates the seed corpus from :func:`fuzz.harnesses.seeds`.

fastfind's Python modules, the harnesses themselves and pynetdicom / pydicom (for the harnesses
that reach them) are instrumented for coverage. The Cython extension and zlib are not: they are
compared against the instrumented Python twin (the same algorithm), not measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
NAMES = ("pdu_stream", "command", "identifier", "inflate", "associate_ac", "xml")
#: third-party packages whose code a harness drives (instrumented along with fastfind)
EXTRA_INSTRUMENTED = {"identifier": ["pydicom"], "associate_ac": ["pynetdicom"], "xml": ["pydicom"]}
MAX_LEN = {"pdu_stream": 8192, "command": 1024, "identifier": 8192, "inflate": 4096,
           "associate_ac": 2048, "xml": 4096}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.splitlines()[0])
    ap.add_argument("name", choices=NAMES + ("all",))
    ap.add_argument("--seconds", type=int, default=60, help="fuzzing time (default 60)")
    ap.add_argument("--corpus", type=Path, help="writable corpus directory (kept)")
    ap.add_argument("--artifacts", type=Path, help="where crash inputs go (default: a temp dir)")
    ap.add_argument("--replay", nargs="+", type=Path, help="run these inputs once and stop")
    ap.add_argument("--write-seeds", action="store_true", help="rewrite fuzz/corpus from seeds()")
    ap.add_argument("--no-instrument", action="store_true", help="skip coverage instrumentation")
    ap.add_argument("libfuzzer", nargs="*", help="extra libFuzzer flags, after --")
    args = ap.parse_args(argv)

    if args.write_seeds:
        return _write_seeds()
    if args.name == "all":
        ap.error("'all' is only valid with --write-seeds")

    import atheris

    # "fuzz" too: the harnesses' own branches (inflate modes, structured ACs) then count as
    # coverage, which zlib and the Cython module (not instrumented) cannot provide
    packages = ["fastfind", "fuzz", *EXTRA_INSTRUMENTED.get(args.name, [])]
    if args.no_instrument or args.replay:
        from fuzz import harnesses
    else:
        with atheris.instrument_imports(include=packages):
            from fuzz import harnesses
    target = harnesses.HARNESSES[args.name]

    if args.replay:
        for path in args.replay:
            target(path.read_bytes())
            print(f"{path}: ok")
        return 0

    seed_dir = CORPUS / args.name
    work = args.corpus or Path(tempfile.mkdtemp(prefix=f"fastfind-fuzz-{args.name}-"))
    work.mkdir(parents=True, exist_ok=True)
    artifacts = args.artifacts or Path(tempfile.mkdtemp(prefix=f"fastfind-crash-{args.name}-"))
    artifacts.mkdir(parents=True, exist_ok=True)
    impls = ", ".join(name for name, _ in harnesses.IMPLS)
    print(f"fuzz.run: {args.name} for {args.seconds}s, comparing {impls}; corpus {work}, "
          f"seeds {seed_dir}, artifacts {artifacts}", file=sys.stderr, flush=True)
    flags = [
        sys.argv[0],
        f"-max_total_time={args.seconds}",
        f"-max_len={MAX_LEN[args.name]}",
        "-timeout=10",  # one input running 10 s is a hang
        "-rss_limit_mb=1536",  # growth past this is an unbounded allocation
        f"-artifact_prefix={artifacts}{os.sep}",
        "-print_final_stats=1",
        *args.libfuzzer,
        str(work),
        str(seed_dir),
    ]
    atheris.Setup(flags, target)
    atheris.Fuzz()  # exits the process: 0 when the time is up, non-zero on a finding
    return 0


def _write_seeds() -> int:
    from fuzz import harnesses

    for name, inputs in harnesses.seeds().items():
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        for i, data in enumerate(inputs):
            (folder / f"seed-{i:02d}").write_bytes(data)
        print(f"{folder}: {len(inputs)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
