"""``fastfind``: DCMTK findscu's command line over fastfind's API.

The flow mirrors DCMTK 3.6.7 ``findscu`` (``DcmFindSCU::performQuery``): the same log lines at
each level, the same cumulative response numbering (finals included) for ``rspNNNN`` names,
``--cancel`` and ``-Xlo``; the exit codes are ``fastfind.errors``' (DCMTK's where DCMTK's are
non-zero; ``--dcmtk-exit-codes`` gives DCMTK's 0 for the rest).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any

from pydicom.dataset import Dataset

from .. import codec, errors
from .._version import __version__
from ..client import FindClient, FindOperation, FindResponse, encode_query
from ..dicom import dictionary
from ..dicom import status as st
from ..dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, new_uid
from ..errors import (
    AssociationRejected,
    ConnectError,
    DimseTimeout,
    FastFindError,
    NetworkError,
    NoAcceptableContext,
    OutputError,
    PeerAborted,
    ProtocolError,
    ReleaseTimeout,
    UnusableAssociation,
    UsageError,
)
from ..net.negotiation import ProposedContext
from ..output import files as extract
from . import logs, netdump

log = logs.log
rsplog = logs.responses
SEPARATOR = "-" * 27


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived: abort the association, keep only complete files."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_signal(signum: int, _frame: Any) -> None:
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
        return Run(args).run()
    except FastFindError as exc:
        log.fatal(str(exc))
        return exc.exit_code
    except Exception as exc:  # never a traceback: one line, and a code that says "bug"
        log.fatal(f"internal error: {type(exc).__name__}: {exc}")
        return errors.EXIT_INTERNAL
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        logs.flush()


def _responses_level(args: Any) -> bool | None:
    """DCMTK findscu's rule for the ``dcmtk.dcmnet.responses`` logger (see ParsedArgs)."""
    return {"info": True, "off": False}.get(args.responses_log_level)


class Run:
    """One fastfind invocation: association, all query files x repeats, teardown."""

    def __init__(self, args: Any):
        self.args = args
        self.exit_code = 0
        self.received = 0
        self.written = 0
        self.failed_numbers: list[int] = []
        self.status_code = 0
        self.write_error: OutputError | None = None
        self.single_xml: Any = None
        self.single_xml_file: Any = None
        self.tables: list[tuple[Any, Any, str, str]] = []  # (writer, file, tmp path, final path)
        self.writer: extract.FileWriter | None = None
        self.info = self.debug = self.rsp_info = False
        self.first_query: Any = None

    # ---- top level ------------------------------------------------------------------------
    def run(self) -> int:
        args = self.args
        logs.setup(args.log_level, _responses_level(args), args.log_config)
        _log_pairs(_dictionary_messages())
        if args.arguments:
            shown = "".join(f"'{a}' " for a in args.expanded_argv if a)
            log.info(f"calling 'fastfind' with {len(args.expanded_argv)} arguments: {shown}\n")
        log.debug(f"$fastfind: fastfind v{__version__} $")
        self.ssl_context = None
        self.server_name: str | None = None
        if args.tls.enabled:
            from ..net.tls import build_context

            try:
                self.ssl_context, self.server_name = build_context(
                    args.tls, check_hostname=args.tls_check_hostname, host=args.peer
                )
            except UsageError as exc:
                log.fatal(str(exc))
                return errors.EXIT_USAGE
        if args.extract_csv and args.csv_fields:
            from ..output.csv_table import parse_field

            try:
                for f in args.csv_fields:
                    parse_field(f)
            except UsageError as exc:
                log.fatal(str(exc))
                return errors.EXIT_USAGE
        if args.extract is not None:
            try:
                extract.check_output_directory(args.output_directory)
            except OutputError as exc:
                log.fatal(str(exc))
                return errors.EXIT_USAGE
        try:
            return self._run_association()
        except Interrupted as exc:
            log.error(f"interrupted by {exc}: association aborted")
            self._summary(force=True)
            return errors.EXIT_SIGINT if exc.signum == signal.SIGINT else errors.EXIT_SIGTERM
        finally:
            if args.tls.enabled:
                from ..net.tls import write_seed

                write_seed(args.tls)

    def _client(self) -> FindClient:
        a = self.args
        return FindClient(
            a.peer,
            a.port,
            model=a.model,
            calling_ae=a.aetitle,
            called_ae=a.called_aetitle,
            transfer_syntaxes=a.proposed_ts,
            max_pdu=a.max_pdu,
            connect_timeout=a.connect_timeout,
            socket_timeout=a.socket_timeout if a.socket_timeout and a.socket_timeout > 0 else None,
            acse_timeout=a.acse_timeout,
            dimse_timeout=a.dimse_timeout,
            post_cancel_timeout=a.post_cancel_timeout,
            deflate_level=a.compression_level if a.compression_level is not None else 6,
            max_identifier_size=a.max_identifier_size,
            max_nesting=a.max_nesting,
            ssl_context=self.ssl_context,
            server_hostname=self.server_name,
        )

    def _run_association(self) -> int:
        a = self.args
        client = self._client()
        contexts = [ProposedContext(1, client.abstract_syntax, client.transfer_syntaxes)]
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                netdump.association_request(
                    a.aetitle, a.called_aetitle, contexts, a.max_pdu, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
                )
            )
        log.info("Requesting Association")
        try:
            client.open()
        except AssociationRejected as exc:
            log.error("Association Rejected:\n" + str(exc))
            return errors.EXIT_NO_ASSOCIATION
        except ConnectError as exc:
            code = "0006:0320" if "unknown host" in str(exc) else "0006:031c"
            log.error(f"Association Request Failed: {code} {exc}")
            return errors.EXIT_NO_ASSOCIATION
        except NoAcceptableContext as exc:
            log.error(str(exc))
            return errors.EXIT_NO_ASSOCIATION
        except NetworkError as exc:
            log.error(f"Association Request Failed: {exc}" if "Association" not in str(exc) else str(exc))
            return errors.EXIT_NO_ASSOCIATION
        except UnusableAssociation as exc:
            log.error(f"Association Request Failed: {exc}")
            log.error(f"fastfind: exit code {errors.EXIT_PROTOCOL}: {exc}")
            return 0 if self.args.dcmtk_exit_codes else errors.EXIT_PROTOCOL
        except ProtocolError as exc:
            log.error(f"Association Request Failed: {exc}")
            return errors.EXIT_NO_ASSOCIATION
        assoc = client.association
        assert assoc is not None and assoc.accepted is not None
        if log.isEnabledFor(logging.DEBUG):
            log.debug(netdump.association_accept(a.aetitle, a.called_aetitle, contexts, assoc.accepted, a.max_pdu))
        log.info(f"Association Accepted (Max Send PDV: {assoc.max_send_pdv})")
        failure: BaseException | None = None
        try:
            if a.extract == "xml-single":
                self._open_single_xml()
            elif a.extract in ("dcm", "xml"):
                self.writer = extract.FileWriter(
                    a.output_directory, threads=3, sync=a.sync, no_clobber=a.no_clobber
                )
            self._open_tables()
            files: list[str | None] = list(a.files) or [None]
            for fname in files:
                self._query_file(client, fname)
        except (Interrupted, KeyboardInterrupt):
            client.abort()
            raise
        except FastFindError as exc:
            failure = exc
        finally:
            self._close_writer()
            self._close_single_xml()
            self._close_tables()
        return self._teardown(client, failure)

    # ---- one query file --------------------------------------------------------------------
    def _query_file(self, client: FindClient, fname: str | None) -> None:
        from .. import query as query_mod

        a = self.args
        try:
            if fname is None:
                ds = Dataset()
            else:
                messages: list[tuple[str, str]] = []
                try:
                    ds = query_mod.load_query_file(fname, a.data_correction, log=messages)
                finally:
                    _log_pairs(messages)
            query_mod.apply_keys(ds, list(a.keys), a.data_correction)
        except UsageError as exc:
            self._log_query_error(fname, exc)
            raise
        if not dictionary.is_loaded():
            # DCMTK: the keys are applied, then DIMSE refuses to encode without a dictionary
            if fname:
                log.error(f"Find Failed, file: {fname}:")
            else:
                log.error("Find Failed, query keys:\n" + _dump_file_block(encode_query(ds, codec.EXPLICIT_LE), codec.EXPLICIT_LE))
            log.error("0006:0213 Data dictionary missing")
            missing = UsageError("Data dictionary missing")
            missing.dcmtk_condition = "0006:0213"  # type: ignore[attr-defined]
            raise missing
        if self.first_query is None:
            self.first_query = ds
        cid, ts = client.context_for()
        identifier = encode_query(ds, ts, client.deflate_level)
        for repeat in range(a.repeat):
            self._one_find(client, cid, ts, identifier, fname, ds, sent=repeat > 0)

    def _log_query_error(self, fname: str | None, exc: UsageError) -> None:
        path = getattr(exc, "path_text", None)
        if path is not None:
            log.error(f"Bad override key/path: {path}")
            return
        line = getattr(exc, "log_line", None)  # the parser's messages were logged already
        log.error(line if line is not None else str(exc))

    def _one_find(
        self,
        client: FindClient,
        cid: int,
        ts: codec.TransferSyntax,
        identifier: bytes,
        fname: str | None,
        ds: Any,
        sent: bool = False,
    ) -> None:
        a = self.args
        assoc = client.association
        assert assoc is not None
        msg_id = assoc.next_message_id
        if log.isEnabledFor(logging.DEBUG):
            log.info("Sending Find Request")
            cmd = {0x0100: 0x0020, 0x0110: msg_id, 0x0002: client.abstract_syntax, 0x0700: 0}
            log.debug(netdump.dimse_message("OUTGOING", cmd, cid, True))
        else:
            log.info(f"Sending Find Request (MsgID {msg_id})")
        if log.isEnabledFor(logging.INFO):
            log.info("Request Identifiers:\n" + _request_block(ds, sent))
        self.debug = log.isEnabledFor(logging.DEBUG)
        self.info = log.isEnabledFor(logging.INFO)
        self.rsp_info = rsplog.isEnabledFor(logging.INFO)
        try:
            op = client.send_request(cid, ts, identifier)
            for rsp in op:
                self.received += 1
                if op.warnings:
                    for w in op.warnings:
                        log.warning(f"DIMSE Warning: ({a.aetitle},{a.called_aetitle}): findUser: {w}")
                    op.warnings.clear()
                if rsp.status in st.PENDING_STATUSES:
                    self._on_pending(op, rsp)
                else:
                    self._on_final(op, rsp)
        except FastFindError as exc:
            if fname:
                log.error(f"Find Failed, file: {fname}:")
            else:
                log.error("Find Failed, query keys:\n" + _dump_file_block(identifier, ts))
            log.error(_condition_text(exc))
            raise

    def _on_pending(self, op: FindOperation, rsp: FindResponse) -> None:
        a = self.args
        n = rsp.number
        if self.debug:
            log.info(f"Received Find Response {n}")
            log.debug(netdump.dimse_message("INCOMING", rsp.command, op.context_id, rsp.identifier is not None))
            if rsplog.isEnabledFor(logging.INFO):
                log.debug("Response Identifiers:\n" + _dump_response(rsp))
        elif self.rsp_info:
            rsplog.info(SEPARATOR)
            rsplog.info(f"Find Response: {n} ({rsp.status_text})")
            rsplog.info(_dump_response(rsp))
        elif self.info:
            log.info(f"Received Find Response {n} ({rsp.status_text})")
        if a.extract is not None and rsp.identifier is not None and self.write_error is None:
            if a.limit_output is not None and n > a.limit_output:
                if n == a.limit_output + 1:
                    log.info(
                        "Maximum number of responses already written to file ... "
                        "not writing this and all following responses to file"
                    )
                else:
                    log.debug("Maximum number of responses already written to file ... not writing this response to file")
            else:
                try:
                    self._extract(rsp)
                except OutputError as exc:
                    self.write_error = exc
                    self.failed_numbers.append(n)
                    log.error(str(exc))
                    log.error(f"cannot write response {n}: cancelling the query")
                    op.cancel()
        elif self.write_error is not None and rsp.identifier is not None:
            self.failed_numbers.append(n)
        if self.tables and rsp.identifier is not None and self.write_error is None:
            self._add_tables(rsp)
        if a.cancel is not None and a.cancel == n:
            log.info(f"Sending Cancel Request (MsgID {op.message_id}, PresID {op.context_id})")
            op.cancel()

    def _on_final(self, op: FindOperation, rsp: FindResponse) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.info("Received Final Find Response")
            log.debug(netdump.dimse_message("INCOMING", rsp.command, op.context_id, False))
        else:
            log.info(f"Received Final Find Response ({rsp.status_text})")
        cat = rsp.category
        if cat == st.SUCCESS or (cat == st.CANCEL and op.cancelled):
            return
        code = errors.EXIT_WARNING_STATUS if cat in (st.CANCEL, st.WARNING) else errors.EXIT_FAILURE_STATUS
        self.status_code = max(self.status_code, code)
        comment = f": {printable(rsp.error_comment)}" if rsp.error_comment else ""
        self._final_reason = f"C-FIND final status 0x{rsp.status:04x} ({rsp.status_text}){comment}"

    # ---- extraction ------------------------------------------------------------------------
    def _extract(self, rsp: FindResponse) -> None:
        a = self.args
        n = rsp.number
        writer = self.writer
        if a.extract == "dcm" and writer is not None:
            name = f"rsp{n:04d}.dcm"
            if self.info:
                log.info(f"Writing response dataset to file: {_display_path(a.output_directory, name)}")
            sop_class = _uid_value(rsp.top_level_value(0x00080016))
            sop_instance = _uid_value(rsp.top_level_value(0x00080018)) or new_uid()
            meta = extract.file_meta(sop_class, sop_instance, rsp.transfer_syntax.uid)
            writer.submit(n, name, [meta, self._identifier_to_write(rsp)])
            self._drain_writer()
        elif a.extract == "xml" and writer is not None:
            from ..output import dcmtk_xml as xmlout

            name = f"rsp{n:04d}.xml"
            log.info(f"Writing response dataset to file: {_display_path(a.output_directory, name)}")
            assert rsp.identifier is not None
            data, messages = xmlout.response_xml(rsp.identifier, rsp.transfer_syntax)
            _log_prefixed(messages)
            writer.submit(n, name, [data])
            self._drain_writer()
        elif a.extract == "xml-single" and self.single_xml is not None:
            log.debug("Writing response dataset to XML file")
            assert rsp.identifier is not None
            _log_prefixed(self.single_xml.add(rsp.identifier, rsp.transfer_syntax))
            self.written += 1

    def _identifier_to_write(self, rsp: FindResponse) -> bytes:
        """The identifier bytes as received, minus any group 0000/0002 element (row 63)."""
        assert rsp.identifier is not None and rsp.tokens is not None and rsp.plain is not None
        ranges, problems = extract.inspect_identifier(rsp.tokens)
        for text in problems:
            log.warning(f"response {rsp.number}: {text}")
        if not ranges:
            return rsp.identifier
        for tag, _, _ in ranges:
            log.warning(
                f"response {rsp.number}: removed ({tag >> 16:04x},{tag & 0xFFFF:04x}) from the "
                "identifier (command/meta group elements do not belong in a data set)"
            )
        plain = extract.without_ranges(rsp.plain, ranges)
        ts = rsp.transfer_syntax
        return codec.deflate(plain) if ts.deflated else plain

    def _drain_writer(self) -> None:
        writer = self.writer
        if writer is not None:
            while writer.messages:
                log.warning(writer.messages.popleft())

    def _close_writer(self) -> None:
        """Wait for the queued files; account for them (every file is complete or absent)."""
        writer = self.writer
        if writer is None:
            return
        try:
            writer.close()
        except OutputError as exc:
            if self.write_error is None:
                self.write_error = exc
                log.error(str(exc))
        self._drain_writer()
        self.written += writer.written
        self.failed_numbers = sorted(set(self.failed_numbers) | set(writer.failed))
        self.writer = None

    def _open_single_xml(self) -> None:
        from ..output import dcmtk_xml as xmlout

        a = self.args
        fname = a.extract_xml_single_file or ""
        path = fname if os.path.isabs(fname) else os.path.join(a.output_directory, fname)
        log.info(f"Writing all response datasets to file: {_display_path(a.output_directory, fname) if not os.path.isabs(fname) else fname}")
        try:
            self.single_xml_file = open(path, "wb")  # noqa: SIM115 - closed in _close_single_xml
        except OSError as exc:
            log.error(f"Writing file: {path}: {exc.strerror}")
            self.write_error = OutputError(f"Writing file: {path}: {exc.strerror}")
            return
        self.single_xml = xmlout.SingleXmlWriter(self.single_xml_file)

    def _close_single_xml(self) -> None:
        if self.single_xml is not None:
            try:
                self.single_xml.close()
                self.single_xml_file.close()
            except OSError as exc:
                self.write_error = OutputError(f"Writing file: {exc.strerror}")
                log.error(str(self.write_error))
            self.single_xml = None

    def _open_tables(self) -> None:
        """Open the --extract-json/--extract-ndjson/--extract-csv outputs (renamed into place at the end)."""
        import tempfile

        a = self.args
        for kind, path in (("json", a.extract_json), ("ndjson", a.extract_ndjson), ("csv", a.extract_csv)):
            if not path:
                continue
            directory = os.path.dirname(os.path.abspath(path))
            try:
                fd, tmp = tempfile.mkstemp(prefix=".fastfind.", suffix=".part", dir=directory)
                fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
            except OSError as exc:
                raise OutputError(f"Writing file: {path}: {exc.strerror or exc}") from None
            self.tables.append((kind, fh, tmp, path))

    def _add_tables(self, rsp: FindResponse) -> None:
        from ..output.csv_table import CsvWriter, default_fields
        from ..output.dicom_json import JsonWriter

        ds = rsp.dataset
        for i, (kind, fh, tmp, path) in enumerate(self.tables):
            try:
                if isinstance(kind, str):
                    if kind == "csv":
                        fields = list(self.args.csv_fields or []) or default_fields(self.first_query)
                        writer: Any = CsvWriter(fh, fields)
                    else:
                        writer = JsonWriter(fh, ndjson=kind == "ndjson")
                    self.tables[i] = (writer, fh, tmp, path)
                    kind = writer
                kind.add(ds)
            except OSError as exc:
                self.write_error = OutputError(f"Writing file: {path}: {exc.strerror or exc}")
                log.error(str(self.write_error))

    def _close_tables(self) -> None:
        from ..output.csv_table import CsvWriter, default_fields
        from ..output.dicom_json import JsonWriter

        for kind, fh, tmp, path in self.tables:
            try:
                if isinstance(kind, str):  # no response at all: still write a valid empty file
                    if kind == "csv":
                        CsvWriter(fh, list(self.args.csv_fields or []) or default_fields(self.first_query))
                    else:
                        kind = JsonWriter(fh, ndjson=kind == "ndjson")
                if not isinstance(kind, str):
                    kind.close()
                fh.close()
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except OSError as exc:
                self.write_error = OutputError(f"Writing file: {path}: {exc.strerror or exc}")
                log.error(str(self.write_error))
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        self.tables = []

    # ---- teardown and exit code ------------------------------------------------------------
    def _teardown(self, client: FindClient, failure: BaseException | None) -> int:
        a = self.args
        assoc = client.association
        assert assoc is not None
        code = 0
        reason = ""
        if failure is None:
            try:
                if a.abort:
                    log.info("Aborting Association")
                    client.abort()
                else:
                    log.info("Releasing Association")
                    client.release()
            except ReleaseTimeout as exc:
                log.error(f"Association Release Failed: 0006:031a DUL network read timeout ({exc})")
                code, reason = errors.EXIT_NO_ASSOCIATION, str(exc)  # DCMTK exits 2 as well
            except FastFindError as exc:
                log.error(f"Association Release Failed: {_condition_text(exc)}")
                code, reason = errors.EXIT_PROTOCOL, str(exc)
        elif isinstance(failure, PeerAborted) and assoc.peer_released:
            log.error("Protocol Error: Peer requested release (Aborting)")
            log.info("Aborting Association")
            client.abort()
            code, reason = errors.EXIT_PROTOCOL, "peer requested release before the final response"
        elif isinstance(failure, PeerAborted):
            log.info("Peer Aborted Association")
            code, reason = errors.EXIT_PROTOCOL, str(failure)
        else:
            log.error(f"Find SCU Failed: {_condition_text(failure)}")
            log.info("Aborting Association")
            client.abort()
            code = failure.exit_code if isinstance(failure, FastFindError) else errors.EXIT_PROTOCOL
            reason = str(failure)
        if self.write_error is not None:
            code, reason = errors.EXIT_WRITE, str(self.write_error)
        if not code and self.status_code:
            code, reason = self.status_code, getattr(self, "_final_reason", "")
        if a.sync and a.extract is not None and not code:
            try:
                extract.sync_directory(a.output_directory)
            except OutputError as exc:
                code, reason = errors.EXIT_WRITE, str(exc)
        if code and a.dcmtk_exit_codes and code != errors.EXIT_NO_ASSOCIATION:
            code = 0  # DCMTK findscu exits 0 for everything after the association was established
        if code:
            self._summary()
            log.error(f"fastfind: exit code {code}: {printable(reason)}")
        return code

    def _summary(self, force: bool = False) -> None:
        if self.args.extract is None and not force:
            return
        failed = ",".join(str(n) for n in self.failed_numbers[:20])
        more = "..." if len(self.failed_numbers) > 20 else ""
        log.error(f"received={self.received} written={self.written} failed=[{failed}{more}]")


# ---- helpers -------------------------------------------------------------------------------
def _dictionary_messages() -> list[tuple[str, str]]:
    return list(dictionary.load_from_environment())


_PREFIX_LEVELS = {"F": logs.FATAL, "E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "D": logging.DEBUG}


def _log_prefixed(lines: list[str]) -> None:
    """Log lines that already carry DCMTK's ``X: `` level prefix."""
    for line in lines:
        level = _PREFIX_LEVELS.get(line[:1], logging.WARNING) if line[1:3] == ": " else logging.WARNING
        log.log(level, line[3:] if line[1:3] == ": " else line)


def printable(text: str) -> str:
    """``text`` with C0 controls and DEL shown as ``\\xNN`` (peer text never drives the terminal)."""
    return text.translate(_CONTROLS)


_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def _log_pairs(pairs: list[tuple[str, str]]) -> None:
    """Log ``(level letter, message)`` pairs (from the query loader and dictionary)."""
    for level, message in pairs:
        log.log(_PREFIX_LEVELS.get(level[:1].upper(), logging.WARNING), message)


def _display_path(directory: str, name: str) -> str:
    if not directory:
        return name
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _uid_value(raw: bytes | None) -> str | None:
    if not raw:
        return None
    text = raw.rstrip(b"\x00 ").decode("ascii", "replace")
    return text or None


def _dump_lines(data: bytes, ts: codec.TransferSyntax) -> list[str]:
    from ..output import dump

    return dump.dump_identifier(data, ts)


def _request_block(ds: Any, sent: bool) -> str:
    """The request dump as DCMTK prints it from memory (see :func:`fastfind.output.dump.request_lines`)."""
    from ..output import dump

    return "\n" + "\n".join(dump.request_lines(ds, sent)) + "\n"


def _dump_response(rsp: FindResponse) -> str:
    from ..output import dump

    if rsp.identifier is None:
        return "\n# Dicom-Data-Set\n# Used TransferSyntax: Unknown Transfer Syntax\n"
    lines = dump.format_dataset(rsp.plain, rsp.tokens, rsp.transfer_syntax)
    return "\n" + "\n".join(lines) + "\n"


def _dump_file_block(identifier: bytes, ts: codec.TransferSyntax) -> str:
    from ..output import dump

    try:
        plain = codec.plain_bytes(identifier, ts)
        lines = dump.format_file(b"", plain, ts)
    except Exception:
        lines = _dump_lines(identifier, ts)
    return "\n" + "\n".join(lines) + "\n"


def _condition_text(exc: BaseException) -> str:
    if isinstance(exc, PeerAborted):
        return "0006:0317 Peer aborted Association (or never connected)"
    if isinstance(exc, DimseTimeout):
        return f"0006:0207 {exc}"
    cond = getattr(exc, "dcmtk_condition", None)
    text = getattr(exc, "condition_text", None) or str(exc)
    return f"{cond} {text}" if cond else text


__all__ = ["main"]
