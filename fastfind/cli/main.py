"""``fastfind`` / ``python -m fastfind``: parse, run, never a traceback."""

from __future__ import annotations

import signal
import sys
from typing import Any

from ..errors import EXIT_INTERNAL, FastFindError
from . import logs


def _on_signal(signum: int, _frame: Any) -> None:
    from .run import Interrupted

    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    """Run fastfind with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    from .cmdline import CommandLineExit, parse_command_line

    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_command_line(argv)
    except CommandLineExit as exc:
        if exc.stdout:
            sys.stdout.write(exc.stdout)
            sys.stdout.flush()
        if exc.stderr:
            sys.stderr.write(exc.stderr)
            sys.stderr.flush()
        return exc.code
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        from .run import Run

        return Run(args).run()
    except FastFindError as exc:
        logs.log.fatal(str(exc))
        return exc.exit_code
    except Exception as exc:  # never a traceback: one line, and a code that says "bug"
        logs.log.fatal(f"internal error: {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        logs.flush()
