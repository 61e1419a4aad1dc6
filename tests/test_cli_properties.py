"""No command line crashes fastfind (issue 9 item 10): a property test over generated argv.

Command lines are built from the real option table (:data:`fastfind.cli.cmdline._TABLE`, long
and short spellings) with random, missing, huge, empty and non-ASCII values, ``@files`` holding
random bytes or random words, and query/log files; the peer is a scripted SCP or a closed port
on loopback. Each example runs ``python -m fastfind`` in a fresh working directory inside a
sentinel directory (``HOME`` and ``TMPDIR`` point inside it too) and must:

* exit with a documented code other than 70, within :data:`SECONDS`;
* print no traceback;
* create nothing outside its working directory (the sentinel holds only what it held).

The generator never asks for something outside the working directory itself (no ``/`` or
``..`` in generated names; fixed device paths only) and keeps ``--repeat`` small: those would
be requests, not bugs. ``make test`` runs :data:`EXAMPLES` derandomized examples; the ``slow``
variant runs more.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfind.cli import cmdline

import servers

EXAMPLES = 120
SLOW_EXAMPLES = 1000
SECONDS = 15.0
DOCUMENTED = {0, 1, 2, 3, 40, 68, 69, 71, 72}

#: (spelling, number of values, value description) of every option, long and short names
OPTIONS: list[tuple[str, int, str]] = sorted(
    {(spelling, row[2], row[3]) for row in cmdline._TABLE if len(row) == 6  # type: ignore[misc]
     for spelling in row[:2] if spelling}  # type: ignore[misc]
)
SMALL_COUNT = {"--repeat"}  # a huge repeat count is a long run the user asked for

INTERESTING = [
    "", " ", "0", "1", "-1", "2", "0x10", "010", "2147483648", "4294967296",
    "99999999999999999999", "18446744073709551615", "-99999999999999999999", "1e400", "nan",
    "inf", "-", ".", "/dev/null", "/dev/zero", "/dev/full", "/dev/stdout", "/nonexistent/x",
    "\u00e9", "A\\B", "\t", "\x1b[31m", "x" * 300, "PatientName", "QueryRetrieveLevel=STUDY",
    "(0010,0010)=A*", "0010,0020", "SequenceOfUltrasoundRegions[99999999].X=1", "out.json",
    "q.dcm", "lc.cfg", "cmd.txt", "rand.bin", "info", "fatal", "trace", "FINDSCU", "ANY-SCP",
]


def _safe(text: str) -> bool:
    return "/" not in text and text != ".."


words = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=12
            ).filter(_safe),
    st.integers(-(2**70), 2**70).map(str),
)


NUMBERS = st.one_of(st.integers(-2, 20).map(str), st.sampled_from(INTERESTING[:17]))
NAMES = st.sampled_from(["out.json", "o.xml", "q.dcm", ".", "sub", "/dev/null", "/dev/full",
                         "/dev/stdout", "/dev/zero", "-", "nosuch", "lc.cfg", "rand.bin", ""])
TITLES = st.sampled_from(["PYSCP", "FINDSCU", "ANY-SCP", "x" * 20, "", "   ", "A\\B", "\u00e9",
                          " LEAD", "A\tB"])
KEYS = st.sampled_from(["PatientName", "PatientName=A*", "QueryRetrieveLevel=STUDY", "0010,0020",
                        "(0008,0052)=PATIENT", "ScheduledProcedureStepSequence[0].Modality=CT",
                        "NoSuchName=1", "PatientName=\u00e9\\x", "(0010,0010", "="])
LEVELS = st.sampled_from([*cmdline.LOG_LEVELS, "ALL", "bogus", ""])


def typed(vdesc: str) -> st.SearchStrategy[str]:
    """Plausible values for an option (from its value description), sometimes anything."""
    if "integer" in vdesc or "number" in vdesc:
        plausible = NUMBERS
    elif "[l]evel:" in vdesc and "fatal" in vdesc:
        plausible = LEVELS
    elif "aetitle" in vdesc:
        plausible = TITLES
    elif vdesc.startswith("[k]ey: g"):
        plausible = KEYS
    elif "ilename" in vdesc or "irectory" in vdesc:
        plausible = NAMES
    else:
        plausible = words
    return st.one_of(plausible, plausible, words)


@st.composite
def option(draw: st.DrawFn) -> list[str]:
    name, nval, vdesc = draw(st.sampled_from(OPTIONS))
    if name in SMALL_COUNT:
        return [name, *(str(draw(st.integers(-1, 3))) for _ in range(nval))]
    return [name, *(draw(typed(vdesc)) for _ in range(nval))]


@st.composite
def command_line(draw: st.DrawFn, peer: tuple[str, int], closed: int) -> list[str]:
    """[options] peer port [options and files] [an option missing its value]."""
    host, port = draw(st.sampled_from([(peer[0], str(peer[1])), ("127.0.0.1", str(closed)),
                                       ("localhost", str(peer[1]))]))
    opts = draw(st.lists(st.one_of(option(), option(), st.sampled_from([
        ["-S"], ["-P"], ["-v"], ["-d"], ["-X"], ["-xd"], ["--extract-csv", "o.csv"],
        ["-lc", "lc.cfg"], ["--cancel", "1"]])), max_size=6))
    # positionals and @files (whose words may be positionals) only after peer and port: a
    # random word as the peer would be a DNS look-up
    files = draw(st.lists(st.sampled_from([["q.dcm"], ["rand.bin"], ["/dev/zero"], ["nosuch"],
                                           ["@cmd.txt"], ["@rand.bin"], ["@/dev/zero"],
                                           ["@nosuch"]]), max_size=2)) if draw(
        st.integers(0, 3)) == 3 else []
    if draw(st.integers(0, 9)) != 9:  # mostly a query, so that most examples reach the peer
        opts.append(draw(st.sampled_from([["-k", "PatientName"], ["-k", "0010,0020"]])))
    split = draw(st.integers(0, len(opts)))
    after = draw(st.permutations(opts[split:] + files))
    argv = [a for item in opts[:split] for a in item] + [host, port]
    argv += [a for item in after for a in item]
    if draw(st.integers(0, 9)) == 9:
        name, nval, vdesc = draw(st.sampled_from([o for o in OPTIONS if o[1]]))
        argv += [name, *(draw(typed(vdesc)) for _ in range(nval - 1))]  # one value short
    return argv


def _query_file(path: Path) -> None:
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.PatientName = "A*"
    ds.save_as(path, implicit_vr=False, little_endian=True)


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _run_example(argv: list[str], rand: bytes, cmd_words: list[str], sentinel: Path) -> None:
    work = sentinel / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    (work / "sub").mkdir()
    (work / "rand.bin").write_bytes(rand)
    (work / "cmd.txt").write_text(" ".join("'" + w.replace("'", "") + "'" for w in cmd_words),
                                  encoding="utf-8", errors="surrogateescape")
    _query_file(work / "q.dcm")
    (work / "lc.cfg").write_text("log4cplus.rootLogger = INFO, c, f\n"
                                 "log4cplus.appender.c=log4cplus::ConsoleAppender\n"
                                 "log4cplus.appender.f=log4cplus::FileAppender\n"
                                 "log4cplus.appender.f.File=out.log\n")
    before = {p for p in _snapshot(sentinel) if not p.startswith("work")}
    env = {k: v for k, v in os.environ.items() if k not in ("DCMDICTPATH",)}
    env.update(PYTHONPATH=str(servers.REPO_ROOT), HOME=str(sentinel / "home"),
               TMPDIR=str(sentinel / "tmp"))
    start = time.monotonic()
    try:
        got = subprocess.run([sys.executable, "-m", "fastfind", *argv], cwd=work, env=env,
                             capture_output=True, timeout=SECONDS + 10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no exit within {SECONDS + 10} s: {argv!r}")
    seconds = time.monotonic() - start
    stderr = got.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "Logging error" not in stderr, (argv, stderr)
    assert got.returncode in DOCUMENTED, (argv, got.returncode, stderr[-2000:])
    assert seconds < SECONDS, (argv, seconds)
    after = {p for p in _snapshot(sentinel) if not p.startswith("work")}
    assert after == before, (argv, after ^ before)


def _sentinel(tmp_path: Path) -> Path:
    sentinel = tmp_path / "sentinel"
    for sub in ("home", "tmp"):
        (sentinel / sub).mkdir(parents=True)
    return sentinel


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _property(examples: int):  # type: ignore[no-untyped-def]
    def test(scripted_scp, tmp_path: Path) -> None:
        scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(3)))
        sentinel = _sentinel(tmp_path)
        closed = _closed_port()

        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(argv=command_line((scp.host, scp.port), closed),
               rand=st.binary(max_size=300).filter(lambda b: b"/" not in b and b".." not in b),
               cmd_words=st.lists(option(), max_size=4).map(lambda x: [w for o in x for w in o]))
        def check(argv: list[str], rand: bytes, cmd_words: list[str]) -> None:
            _run_example(argv, rand, cmd_words, sentinel)

        check()

    return test


test_no_command_line_crashes = _property(EXAMPLES)
test_no_command_line_crashes_long = pytest.mark.timeout(3600)(pytest.mark.slow(_property(SLOW_EXAMPLES)))
