"""One ``fastfind`` invocation: DCMTK findscu's flow (``DcmFindSCU::performQuery``) over the API.

The same log lines at each level, the same cumulative response numbering (finals included) for
``rspNNNN`` names, ``--cancel`` and ``-Xlo``. Every output is a sink (:mod:`fastfind.output`),
fed each pending response after it was reported; the exit code comes from
:func:`fastfind.cli.exitcodes.exit_code`.
"""

from __future__ import annotations

import logging
import os
import signal

from pydicom.dataset import Dataset

from .. import codec
from .. import query as query_mod
from .._version import __version__
from ..client import FindClient, FindOperation, FindResponse, encode_query
from ..dataset import encode_identifier
from ..dicom import dictionary
from ..dicom import status as st
from ..dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, TransferSyntax
from ..errors import (
    EXIT_FAILURE_STATUS,
    EXIT_NO_ASSOCIATION,
    EXIT_PROTOCOL,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    EXIT_WARNING_STATUS,
    AssociationRejected,
    ConnectError,
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
from ..net import association
from ..output.files import check_output_directory, sync_directory
from ..output.sinks import SinkSet, open_sinks
from . import logs, netdump, report
from .cmdline import ParsedArgs
from .exitcodes import Outcome, exit_code

log = logs.log


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived: abort the association, keep only complete files."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Run:
    """One fastfind invocation: association, all query files x repeats, teardown."""

    def __init__(self, args: ParsedArgs):
        self.args = args
        self.outcome = Outcome()
        self.matches = 0
        self.sinks = SinkSet()
        self.files_opened = False
        self.tables_opened = False

    def run(self) -> int:
        a = self.args
        logs.setup(a.log_level, {"info": True, "off": False}.get(a.responses_log_level or ""), a.log_config)
        if a.arguments:
            shown = "".join(f"'{x}' " for x in a.expanded_argv if x)
            logs.always(f"calling 'fastfind' with {len(a.expanded_argv)} arguments: {shown}\n")
        log.debug(f"$fastfind: fastfind v{__version__} $\n")
        loaded = dictionary.load_from_environment()
        for level, message in report.dictionary_lines(loaded, os.environ.get("DCMDICTPATH", "")):
            log.log(logs.level_of(level), message)
        association.SOCKET_TIMEOUT_SHOWN = a.socket_timeout
        if a.batch is not None:  # one query per row of a file: fastfind.cli.batch
            from .batch import BatchRun

            return BatchRun(self).run()
        try:
            client = FindClient(a.peer, a.port, self._find_options())
            self._check_outputs()
        except (UsageError, OutputError) as exc:
            log.fatal(str(exc))
            return EXIT_USAGE
        try:
            return self._run_association(client)
        except Interrupted as exc:
            log.error(f"interrupted by {exc}: association aborted")
            self._summary()
            return EXIT_SIGINT if exc.signum == signal.SIGINT else EXIT_SIGTERM
        finally:
            if a.tls.enabled:
                from ..net.tls import write_seed

                write_seed(a.tls)

    def _find_options(self):  # type: ignore[no-untyped-def]
        a = self.args
        ssl_context = server_name = None
        if a.tls.enabled:
            from ..net.tls import build_context

            ssl_context, server_name = build_context(a.tls, check_hostname=a.tls_check_hostname, host=a.peer)
        return a.find_options(ssl_context, server_name)

    def _check_outputs(self) -> None:
        """findscu's pre-flight checks (exit 1), before any network activity."""
        a = self.args
        if (a.extract_csv or a.extract_parquet) and a.csv_fields:
            from ..output.csv_table import parse_field

            for f in a.csv_fields:
                parse_field(f)
        if a.extract_parquet:
            from ..arrow import require_pyarrow

            require_pyarrow()  # one clear line and exit 1, before any network activity
        if a.extract is not None:
            check_output_directory(a.output_directory)

    # ---- the association ---------------------------------------------------------------------
    def _run_association(self, client: FindClient) -> int:
        a = self.args
        contexts = client.proposed_contexts
        if log.isEnabledFor(logging.DEBUG):
            log.debug(netdump.association_request(a.aetitle, a.called_aetitle, contexts, a.max_pdu,
                                                  IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME))
        log.info("Requesting Association")
        refused = self._open(client)
        if refused is not None:
            return refused
        assoc = client.association
        assert assoc is not None and assoc.accepted is not None
        send_pdv, notes = report.max_send_pdv(assoc.peer_max_pdu)
        for note in notes:
            log.warning(note)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(netdump.association_accept(
                a.aetitle, a.called_aetitle, contexts, assoc.accepted, a.max_pdu, IMPLEMENTATION_CLASS_UID,
                IMPLEMENTATION_VERSION_NAME, getattr(assoc, "ac_pdu", None)))
        log.info(f"Association Accepted (Max Send PDV: {send_pdv})")
        if any(client.options.extensions):
            answers = client.extensions_accepted
            log.info("Extended Negotiation: " + ", ".join(
                f"{name} {'accepted' if ok else 'not accepted'}" for name, ok in answers.items()))
        failure: FastFindError | None = None
        try:
            self._open_sinks(())
            for fname in list(a.files) or [None]:
                self._query_file(client, fname)
        except (Interrupted, KeyboardInterrupt):
            self.sinks.discard()
            client.abort()
            raise
        except FastFindError as exc:
            failure = exc
        self._close_sinks()
        self._teardown(client, failure)
        return self._finish()

    def _open(self, client: FindClient) -> int | None:
        """Open the association; on failure log DCMTK's lines and return the exit code."""
        try:
            client.open()
            return None
        except AssociationRejected as exc:
            log.error("Association Rejected:\n" + str(exc))
        except ConnectError as exc:
            code = "0006:0320" if "unknown host" in str(exc) else "0006:031c"
            log.error(f"Association Request Failed: {code} {exc}")
        except NoAcceptableContext as exc:
            accepted = getattr(exc, "accepted", None)
            if accepted is not None and log.isEnabledFor(logging.DEBUG):
                a = self.args
                log.debug(netdump.association_accept(
                    a.aetitle, a.called_aetitle, client.proposed_contexts, accepted, a.max_pdu,
                    IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, getattr(exc, "ac_body", None)))
            log.error(str(exc))
        except NetworkError as exc:
            text = report.printable(str(exc))  # (peer text may be quoted in it)
            log.error(f"Association Request Failed: {text}" if "Association" not in text else text)
        except UnusableAssociation as exc:
            log.error(f"Association Request Failed: {report.printable(str(exc))}")
            log.error(f"fastfind: exit code {EXIT_PROTOCOL}: {report.printable(str(exc))}")
            return 0 if self.args.dcmtk_exit_codes else EXIT_PROTOCOL
        except ProtocolError as exc:
            log.error(f"Association Request Failed: {report.printable(str(exc))}")
        return EXIT_NO_ASSOCIATION

    # ---- outputs -----------------------------------------------------------------------------
    def _open_sinks(self, fields: list[str] | tuple[str, ...]) -> None:
        """The file outputs right after the association (as findscu opens ``-Xs``); the tables
        once the first query is known (their default columns are its keys)."""
        out = self.args.output_options()
        try:
            if not self.files_opened:
                self.files_opened = True
                self.sinks = open_sinks(out.without_tables())
            elif not self.tables_opened:
                self.tables_opened = True
                self.sinks.sinks += open_sinks(out.only_tables(), fields).sinks
        except OutputError as exc:
            log.error(str(exc))
            self._write_failed(exc)

    def _write_failed(self, exc: OutputError) -> None:
        if self.outcome.write_error is None:
            self.outcome.write_error = str(exc)

    def _close_sinks(self) -> None:
        try:
            self.sinks.close()
        except OutputError as exc:
            if self.outcome.write_error is None:
                log.error(str(exc))
            self._write_failed(exc)

    # ---- one query file ------------------------------------------------------------------------
    def _query_file(self, client: FindClient, fname: str | None) -> None:
        a = self.args
        try:
            if fname is None:
                ds = Dataset()
            else:
                messages: list[tuple[str, str]] = []
                try:
                    ds = query_mod.load_query_file(fname, a.data_correction, log=messages)
                finally:
                    if log.isEnabledFor(logging.DEBUG):
                        for line in report.query_file_lines(fname):
                            log.debug(line)
                    for level, message in messages:
                        log.log(logs.level_of(level), message)
            query_mod.apply_keys(ds, list(a.keys), a.data_correction)
        except UsageError as exc:
            path = getattr(exc, "path_text", None)
            line = getattr(exc, "log_line", None)  # the parser's messages were logged already
            log.error(f"Bad override key/path: {path}" if path is not None else line or str(exc))
            raise
        if not dictionary.is_loaded():
            # DCMTK: the keys are applied and the request logged, then DIMSE refuses to encode
            # without a dictionary
            self._log_request(client, client.context_for()[0], ds, False)
            if fname:
                log.error(f"Find Failed, file: {fname}:")
            else:
                log.error("Find Failed, query keys:\n" + report.file_block(encode_query(ds, codec.EXPLICIT_LE), codec.EXPLICIT_LE, ds))
            log.error("0006:0213 Data dictionary missing")
            missing = UsageError("Data dictionary missing")
            missing.dcmtk_condition = "0006:0213"
            raise missing
        if not self.tables_opened:
            from ..output.csv_table import default_fields

            self._open_sinks(default_fields(ds))
        cid, ts = client.context_for()
        identifier = encode_identifier(ds, ts, client.options.deflate_level, client.options.enable_new_vrs)
        for repeat in range(a.repeat):
            self._one_find(client, cid, ts, identifier, fname, ds, sent=repeat > 0)

    def _one_find(self, client: FindClient, cid: int, ts: TransferSyntax, identifier: bytes,
                  fname: str | None, ds: Dataset, sent: bool) -> None:
        a = self.args
        self._log_request(client, cid, ds, sent)
        shown = report.ResponseReport(a.aetitle, a.called_aetitle)
        verbose = shown.debug or shown.rsp_info or shown.info  # -q/default: nothing per response
        sinks = self.sinks
        try:
            op = client.send_request(cid, ts, identifier)
            if sinks:
                op.on_wait = sinks.flush
            for rsp in op:
                shown.received(op, rsp)
                if rsp.status == 0xFF00 or rsp.status == 0xFF01:
                    if verbose:
                        shown.pending(op, rsp)
                    if rsp.identifier is not None:
                        self.matches += 1
                        if sinks:
                            self._add(op, rsp)
                    if a.cancel is not None and a.cancel == rsp.number:
                        log.info(f"Sending Cancel Request (MsgID {op.message_id}, PresID {op.context_id})")
                        op.cancel()
                else:
                    shown.final(op, rsp)
                    shown.status_detail(rsp)
                    self._on_final(op, rsp)
        except FastFindError as exc:
            if fname:
                log.error(f"Find Failed, file: {fname}:")
            else:
                log.error("Find Failed, query keys:\n" + report.file_block(identifier, ts, ds))
            log.error(report.condition_text(exc))
            raise

    def _log_request(self, client: FindClient, cid: int, ds: Dataset, sent: bool) -> None:
        """findscu's lines for the C-FIND-RQ it is about to send (DIMSE dump under ``-d``)."""
        assert client.association is not None
        msg_id = client.association.next_message_id
        if log.isEnabledFor(logging.DEBUG):
            log.info("Sending Find Request")
            cmd = {0x0100: 0x0020, 0x0110: msg_id, 0x0002: client.abstract_syntax, 0x0700: client.options.priority}
            log.debug(netdump.dimse_message("OUTGOING", cmd, cid, True))
        else:
            log.info(f"Sending Find Request (MsgID {msg_id})")
        if log.isEnabledFor(logging.INFO):
            log.info("Request Identifiers:\n" + report.request_block(ds, sent))

    def _add(self, op: FindOperation, rsp: FindResponse) -> None:
        failed_before = self.sinks.error is not None
        try:
            self.sinks.add(rsp)
        except OutputError as exc:
            if failed_before:
                return
            log.error(str(exc))
            log.error(f"cannot write response {rsp.number}: cancelling the query")
            self._write_failed(exc)
            op.cancel()

    def _on_final(self, op: FindOperation, rsp: FindResponse) -> None:
        cat = rsp.category
        if cat == st.SUCCESS or (cat == st.CANCEL and op.cancelled):
            return
        code = EXIT_WARNING_STATUS if cat in (st.CANCEL, st.WARNING) else EXIT_FAILURE_STATUS
        self.outcome.note_status(code, report.final_reason(rsp))

    # ---- teardown and exit code ----------------------------------------------------------------
    def _teardown(self, client: FindClient, failure: FastFindError | None) -> None:
        a = self.args
        out = self.outcome
        assoc = client.association
        assert assoc is not None
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
                out.failure_code, out.failure_reason = EXIT_NO_ASSOCIATION, str(exc)  # as DCMTK
            except FastFindError as exc:
                log.error(f"Association Release Failed: {report.condition_text(exc)}")
                out.failure_code, out.failure_reason = EXIT_PROTOCOL, str(exc)
        elif isinstance(failure, PeerAborted) and assoc.peer_released:
            log.error("Protocol Error: Peer requested release (Aborting)")
            log.info("Aborting Association")
            client.abort()
            out.failure_code = EXIT_PROTOCOL
            out.failure_reason = "peer requested release before the final response"
        elif isinstance(failure, PeerAborted):
            log.info("Peer Aborted Association")
            out.failure_code, out.failure_reason = EXIT_PROTOCOL, str(failure)
        else:
            log.error(f"Find SCU Failed: {report.condition_text(failure)}")
            log.info("Aborting Association")
            client.abort()
            out.failure_code, out.failure_reason = failure.exit_code, str(failure)

    def _finish(self) -> int:
        a = self.args
        code, reason = exit_code(self.outcome)
        if a.sync and a.extract is not None and not code:
            try:
                sync_directory(a.output_directory)
            except OutputError as exc:
                self._write_failed(exc)
                code, reason = exit_code(self.outcome)
        if code and a.dcmtk_exit_codes:
            code, _ = exit_code(self.outcome, dcmtk_exit_codes=True)
        if code:
            self._summary()
            log.error(f"fastfind: exit code {code}: {report.printable(reason)}")
        return code

    def _summary(self) -> None:
        """``matches=N written=M failed=[...]`` for each output (nothing when there is none)."""
        if not self.sinks:
            return
        failed = self.sinks.failed(21)
        shown = ",".join(str(n) for n in failed[:20]) + ("..." if len(failed) > 20 else "")
        counts = self.sinks.written()
        if len(counts) == 1:
            written = f"written={counts[0][1]}"
        else:
            written = " ".join(f"{name}: written={count}" for name, count in counts)
        log.error(f"matches={self.matches} {written} failed=[{shown}]")
