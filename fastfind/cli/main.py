"""``fastfind`` / ``python -m fastfind``: parse, run, never a traceback."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from ..errors import EXIT_INTERNAL, EXIT_OK, EXIT_WRITE, FastFindError
from . import logs


def _on_signal(signum: int, _frame: Any) -> None:
    from .run import Interrupted

    raise Interrupted(signum)


def _emit(stream: Any, text: str) -> None:
    """Write parser output; raw bytes from ``@file`` words pass through, a closed pipe is ignored."""
    if not text:
        return
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            stream.write(text)
        else:
            stream.flush()
            buffer.write(text.encode("utf-8", "surrogateescape"))
        stream.flush()
    except (OSError, ValueError):
        _silence(stream)


def _silence(stream: Any) -> None:
    """Point a broken standard stream at /dev/null so that the exit-time flush stays quiet."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, stream.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run fastfind with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        from .cmdline import CommandLineExit, parse_command_line

        try:
            args = parse_command_line(argv)
        except CommandLineExit as exc:
            _emit(sys.stdout, exc.stdout)
            _emit(sys.stderr, exc.stderr)
            return exc.code
    except Exception as exc:  # a bug in the parser: one line, and a code that says "bug"
        _emit(sys.stderr, f"F: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_INTERNAL
    return _run(args)


def _run(args: Any) -> int:
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        from .run import Run

        code = Run(args).run()
    except FastFindError as exc:
        logs.log.fatal(str(exc))
        code = exc.exit_code
    except Exception as exc:  # never a traceback: one line, and a code that says "bug"
        logs.log.fatal(f"internal error: {type(exc).__name__}: {exc}")
        code = EXIT_INTERNAL
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        logs.flush()
    if code == EXIT_OK and logs.failed_appender() is not None and not args.dcmtk_exit_codes:
        return EXIT_WRITE  # the query worked, but a log file the user asked for is incomplete
    return code
