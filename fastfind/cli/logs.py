"""DCMTK-style logging on stderr: ``X: message``, every line of a message prefixed (oflog).

Two loggers mirror DCMTK's: ``fastfind`` (DCMTK's ``dcmtk.dcmnet`` and the application logger)
and ``fastfind.responses`` (DCMTK's ``dcmtk.dcmnet.responses``), which prints the per-response
dump. Raw identifier bytes reach stderr unchanged: text is written as UTF-8 with
``surrogateescape``, and the dump maps non-ASCII bytes to surrogates.
"""

from __future__ import annotations

import io
import logging
import sys

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


def setup(
    level: str = "warn",
    responses_level: bool | None = None,
    config_file: str | None = None,
    stream: io.TextIOBase | None = None,
) -> logging.Handler:
    """Configure both loggers; ``responses_level`` True = INFO, False = OFF, None = inherit."""
    handler = logging.StreamHandler(stream or stderr_stream())
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
        apply_config_file(config_file, handler)
    return handler


def apply_config_file(path: str, handler: logging.Handler) -> None:
    """Map the common parts of a log4cplus properties file (DCMTK ``-lc``) onto Python logging.

    Understood: ``log4cplus.rootLogger = LEVEL[, appender...]``,
    ``log4cplus.logger.dcmtk.dcmnet.responses = LEVEL``, ``FileAppender``/``RollingFileAppender``
    with ``.File`` (``${appname}`` expands to ``fastfind``), ``ConsoleAppender``, an appender's
    ``.Threshold``. Anything else is ignored.
    """
    props: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            props[key] = value.replace("${appname}", "fastfind")
    root = props.get("log4cplus.rootLogger")
    handlers: list[logging.Handler] = []
    if root:
        parts = [p.strip() for p in root.split(",")]
        if parts[0].lower() in LEVELS:
            log.setLevel(LEVELS[parts[0].lower()])
        for name in parts[1:]:
            kind = props.get(f"log4cplus.appender.{name}", "")
            h: logging.Handler
            if "FileAppender" in kind:
                h = logging.FileHandler(props.get(f"log4cplus.appender.{name}.File", "fastfind.log"))
            else:
                h = logging.StreamHandler(handler.stream) if isinstance(handler, logging.StreamHandler) else handler
            threshold = props.get(f"log4cplus.appender.{name}.Threshold", "").lower()
            if threshold in LEVELS:
                h.setLevel(LEVELS[threshold])
            h.setFormatter(DcmtkFormatter())
            handlers.append(h)
    if handlers:
        log.handlers[:] = handlers
    rsp = props.get("log4cplus.logger.dcmtk.dcmnet.responses")
    if rsp and rsp.split(",")[0].strip().lower() in LEVELS:
        responses.setLevel(LEVELS[rsp.split(",")[0].strip().lower()])


_BY_LETTER = {"F": FATAL, "E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "D": logging.DEBUG, "T": TRACE}


def level_of(name: str) -> int:
    """The logging level of a DCMTK level letter or name (``"E"``, ``"warn"``, ...)."""
    return _BY_LETTER.get(name[:1].upper(), logging.WARNING)


def flush() -> None:
    for h in log.handlers:
        h.flush()
