"""DCMTK-style logging on stderr: ``X: message``, every line of a message prefixed (oflog).

Two loggers mirror DCMTK's: ``fastfind`` (DCMTK's ``dcmtk.dcmnet`` and the application logger)
and ``fastfind.responses`` (DCMTK's ``dcmtk.dcmnet.responses``), which prints the per-response
dump. Raw identifier bytes reach stderr unchanged: text is written as UTF-8 with
``surrogateescape``, and the dump maps non-ASCII bytes to surrogates.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from dataclasses import dataclass

from .. import localfile
from ..errors import UsageError

TRACE = 5
FATAL = logging.CRITICAL
OFF = FATAL + 10
logging.addLevelName(TRACE, "TRACE")

LEVELS = {
    "fatal": FATAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
    "off": OFF,
}
_LETTER = {TRACE: "T", logging.DEBUG: "D", logging.INFO: "I", logging.WARNING: "W", logging.ERROR: "E", FATAL: "F"}

log = logging.getLogger("fastfind")
responses = logging.getLogger("fastfind.responses")


class DcmtkFormatter(logging.Formatter):
    """``X: `` before every line of the message."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = _LETTER.get(record.levelno, "I") + ": "
        msg = record.getMessage()
        return "\n".join(prefix + line for line in msg.split("\n"))


class _SharedStderr(io.TextIOWrapper):
    """A text layer over ``sys.stderr.buffer`` that never closes the buffer it shares."""

    def close(self) -> None:
        if not self.closed:
            self.flush()

    def __del__(self) -> None:
        try:
            self.flush()
        except (OSError, ValueError):
            pass


_stderr: tuple[object, io.TextIOWrapper] | None = None


def stderr_stream() -> io.TextIOWrapper:
    """stderr as UTF-8 with surrogateescape (raw bytes pass through unchanged).

    Made once per ``sys.stderr.buffer`` and reused, so :func:`setup` can run any number of times
    in one process (a second wrapper, once collected, would close the shared buffer).
    """
    global _stderr
    buffer = sys.stderr.buffer
    if _stderr is None or _stderr[0] is not buffer:
        _stderr = (buffer, _SharedStderr(
            buffer, encoding="utf-8", errors="surrogateescape", line_buffering=False, write_through=False
        ))
    return _stderr[1]


class LogConfigError(UsageError):
    """A ``-lc`` appender cannot be set up (its file cannot be opened): exit 1."""


@dataclass(frozen=True)
class LogConfig:
    """A ``-lc`` log4cplus properties file, read once (a FIFO can be read only once)."""

    path: str
    properties: dict[str, str]

    @property
    def root_level(self) -> str:
        """The root logger's level name (log4cplus: ``ALL`` is TRACE, none or unknown DEBUG)."""
        first = self.properties.get("log4cplus.rootLogger", "").split(",")[0].strip().lower()
        if first == "all":
            return "trace"
        return first if first in LEVELS else "debug"

    @property
    def appenders(self) -> list[str]:
        """The appender names the root logger writes to."""
        parts = self.properties.get("log4cplus.rootLogger", "").split(",")[1:]
        return [p.strip() for p in parts if p.strip()]


def parse_properties(text: str) -> dict[str, str]:
    """log4cplus ``Properties``: ``key = value`` lines (both trimmed), ``#`` comments, CR LF
    line ends; the last of repeated keys wins; ``${appname}`` is ``fastfind``."""
    props: dict[str, str] = {}
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line[0] == "#" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        props[key.rstrip()] = value.strip().replace("${appname}", "fastfind")
    return props


def read_config(path: str) -> LogConfig:
    """Read a ``-lc`` file once, at most :data:`~fastfind.localfile.LOG_CONFIG_LIMIT` bytes
    (raises :class:`OSError` with a readable reason)."""
    data = localfile.read_capped(path, localfile.LOG_CONFIG_LIMIT)
    return LogConfig(path, parse_properties(data.decode("utf-8", "surrogateescape")))


_failed: str | None = None


def failed_appender() -> str | None:
    """The first log file write failure since :func:`setup` (its one-line message), or None."""
    return _failed


def _report_failure(message: str) -> None:
    """Record a log file failure and say so once, as one line on stderr."""
    global _failed
    if _failed is not None:
        return
    _failed = message
    try:
        stream = stderr_stream()
        stream.write(f"E: {message}\n")
        stream.flush()
    except (OSError, ValueError):
        pass


class _ConsoleAppender(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr; if stderr itself fails (closed pipe, full disk) logging stops quietly."""

    broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def flush(self) -> None:
        try:
            super().flush()
        except (OSError, ValueError):
            self.broken = True

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self.broken = True


class _FileAppender(logging.Handler):
    """A log4cplus ``FileAppender``: one unbuffered write per message, so a failing file (full
    disk) is noticed at once, reported once, and nothing is left to fail at exit."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            self.fd = os.open(path, flags, 0o666)  # a FIFO without a reader fails at once
            os.set_blocking(self.fd, True)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise LogConfigError(f"cannot open log file '{path}': {reason}") from None

    def emit(self, record: logging.LogRecord) -> None:
        if self.fd < 0:
            return
        data = (self.format(record) + "\n").encode("utf-8", "surrogateescape")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        _report_failure(f"cannot write log file '{self.path}': {exc.strerror or exc}")
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            try:
                os.close(fd)
            except OSError as exc:
                _report_failure(f"cannot write log file '{self.path}': {exc.strerror or exc}")
        super().close()


def setup(
    level: str = "warn",
    responses_level: bool | None = None,
    config_file: LogConfig | str | None = None,
    stream: io.TextIOBase | None = None,
) -> logging.Handler:
    """Configure both loggers; ``responses_level`` True = INFO, False = OFF, None = inherit.

    ``config_file`` is the parsed ``-lc`` file (a path is read here). Raises
    :class:`LogConfigError` when an appender's file cannot be opened.
    """
    global _failed
    _failed = None
    for old in log.handlers:
        if isinstance(old, _FileAppender):
            old.close()
    handler = _ConsoleAppender(stream or stderr_stream())
    handler.setFormatter(DcmtkFormatter())
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(LEVELS[level])
    if responses_level is True:
        responses.setLevel(logging.INFO)
    elif responses_level is False:
        responses.setLevel(OFF)
    else:
        responses.setLevel(logging.NOTSET)
    if config_file:
        config = config_file if isinstance(config_file, LogConfig) else read_config(config_file)
        apply_config(config, handler)
    return handler


def apply_config(config: LogConfig, console: logging.Handler) -> None:
    """Map the common parts of a log4cplus properties file (DCMTK ``-lc``) onto Python logging.

    Understood: ``log4cplus.rootLogger = LEVEL[, appender...]``,
    ``log4cplus.logger.dcmtk.dcmnet.responses = LEVEL``, ``FileAppender``/``RollingFileAppender``
    with ``.File`` (``${appname}`` expands to ``fastfind``; appended to), ``ConsoleAppender``
    (stderr), an appender's ``.Threshold``. Anything else is ignored. All appenders are opened
    before any is installed, so a failure leaves logging on stderr.
    """
    props = config.properties
    if "log4cplus.rootLogger" in props:
        log.setLevel(LEVELS[config.root_level])
    handlers: list[logging.Handler] = []
    try:
        for name in config.appenders:
            handlers.append(_appender(props, name, console))
    except LogConfigError:
        for h in handlers:
            if isinstance(h, _FileAppender):
                h.close()
        raise
    if handlers:
        log.handlers[:] = handlers
    rsp = props.get("log4cplus.logger.dcmtk.dcmnet.responses", "").split(",")[0].strip().lower()
    if rsp in LEVELS:
        responses.setLevel(LEVELS[rsp])


def _appender(props: dict[str, str], name: str, console: logging.Handler) -> logging.Handler:
    kind = props.get(f"log4cplus.appender.{name}", "")
    h: logging.Handler
    if "FileAppender" in kind:
        h = _FileAppender(props.get(f"log4cplus.appender.{name}.File", "fastfind.log"))
    elif isinstance(console, logging.StreamHandler):
        h = _ConsoleAppender(console.stream)
    else:
        h = console
    threshold = props.get(f"log4cplus.appender.{name}.Threshold", "").lower()
    if threshold in LEVELS:
        h.setLevel(LEVELS[threshold])
    h.setFormatter(DcmtkFormatter())
    return h


_BY_LETTER = {"F": FATAL, "E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "D": logging.DEBUG, "T": TRACE}


def level_of(name: str) -> int:
    """The logging level of a DCMTK level letter or name (``"E"``, ``"warn"``, ...)."""
    return _BY_LETTER.get(name[:1].upper(), logging.WARNING)


def always(message: str) -> None:
    """Log ``message`` at INFO whatever the logger's threshold (``-q``, ``-ll``, a ``-lc`` root
    level): findscu prints its ``--arguments`` line at every level. Appender thresholds apply."""
    log.handle(log.makeRecord(log.name, logging.INFO, "", 0, message, (), None))


def flush() -> None:
    """Flush every handler (failures are reported by the handlers, never raised)."""
    for h in log.handlers:
        try:
            h.flush()
        except (OSError, ValueError):
            pass
