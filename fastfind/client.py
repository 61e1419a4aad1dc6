"""fastfind's Python API: C-FIND as a service class user (PS3.4 Annex C and K, PS3.7 §9.1.2).

>>> from fastfind import FindClient
>>> with FindClient("127.0.0.1", port, model="study", called_ae="ANY-SCP") as client:  # doctest: +SKIP
...     for rsp in client.find({"QueryRetrieveLevel": "STUDY", "PatientName": "A*",
...                             "StudyInstanceUID": None}):
...         print(rsp.dataset.PatientName, rsp.json())

:func:`find` is the one-shot form. Responses carry the identifier bytes exactly as received;
they are validated once, on arrival, against the run's :class:`~fastfind.options.Limits`, and
decoded (pydicom Dataset, DICOM JSON) only when asked. Outputs are sinks
(:mod:`fastfind.output`), fed each pending response once: ``client.find(query, sinks=[...])``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from pydicom.dataset import Dataset

from . import codec
from .dicom import status
from .dicom.uids import (  # noqa: I001
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    PROPOSALS,
    TRANSFER_SYNTAXES,
    TransferSyntax,
    resolve_model,
)
from .errors import (
    CodecError,
    DimseTimeout,
    FastFindError,
    FindCancelled,
    FindFailed,
    OutputError,
    ProtocolError,
    UsageError,
)
from .net.association import Association
from .net.negotiation import FIND_EXTENSIONS, ProposedContext, find_extension_item
from .net.protocol import Requestor
from .net.transport import Transport, deadline_after
from .options import FindOptions, Limits

if TYPE_CHECKING:
    from .output.sinks import ResponseSink

Query = Union[Dataset, Mapping[str, Any], str, "os.PathLike[str]"]

C_FIND_RQ = 0x0020
C_FIND_RSP = 0x8020
C_CANCEL_RQ = 0x0FFF
DATASET_PRESENT = 0x0000  # PS3.7 E.1: any value other than 0x0101


class FindResponse:
    """One C-FIND-RSP: its status and (for pending responses) the identifier as received.

    ``plain`` and ``tokens`` are the identifier after (bounded) inflation and its validated walk
    (:func:`fastfind.codec.walk_identifier`); a pending response delivered by
    :class:`FindOperation` has them already. ``query`` is the index of the query it answers in a
    batch (``None`` for a single query).
    """

    __slots__ = (
        "number",
        "status",
        "command",
        "identifier",
        "transfer_syntax",
        "message_id",
        "query",
        "_plain",
        "_tokens",
        "_dataset",
        "_limits",
    )

    def __init__(
        self,
        number: int,
        command: dict[int, Any],
        identifier: bytes | None,
        transfer_syntax: TransferSyntax,
        message_id: int,
        limits: Limits,
        query: int | None = None,
    ):
        self.number = number  #: cumulative response number on the association (DCMTK's count)
        self.command = command  #: decoded command set {element: value}
        self.status: int = command[0x0900]
        self.identifier = identifier  #: identifier bytes exactly as received (maybe deflated)
        self.transfer_syntax = transfer_syntax
        self.message_id = message_id
        self.query = query
        self._plain: bytes | None = None
        self._tokens: codec.Tokens | None = None
        self._dataset: Dataset | None = None
        self._limits = limits

    @property
    def is_pending(self) -> bool:
        return self.status in status.PENDING_STATUSES

    @property
    def category(self) -> str:
        """``pending``, ``success``, ``cancel``, ``warning``, ``failure`` or ``unknown``."""
        return status.category(self.status)

    @property
    def status_text(self) -> str:
        return status.status_text(self.status)

    @property
    def error_comment(self) -> str | None:
        value = self.command.get(0x0902)
        return value if isinstance(value, str) else None

    def validate(self) -> None:
        """Inflate (bounded) and walk the identifier; raises :class:`CodecError` if it is invalid."""
        if self.identifier is not None and self._tokens is None:
            # codec.walk_identifier, inlined: this runs once per response
            ts, limits = self.transfer_syntax, self._limits
            plain = codec.inflate(self.identifier, limits.max_identifier_size) if ts.deflated else self.identifier
            self._tokens = codec.walk(plain, ts.implicit, ts.little, codec.SQ_TAGS, limits.max_nesting)
            self._plain = plain

    @property
    def plain(self) -> bytes | None:
        """The identifier after inflation (same as :attr:`identifier` unless deflated)."""
        self.validate()
        return self._plain

    @property
    def tokens(self) -> codec.Tokens | None:
        """The validated token walk of the identifier (:class:`fastfind.codec.Tokens`)."""
        self.validate()
        return self._tokens

    @property
    def dataset(self) -> Dataset | None:
        """The identifier as a lazily decoded pydicom Dataset (``None`` if there is none)."""
        if self._dataset is None and self.identifier is not None:
            from .dataset import dataset_from_walk

            self.validate()
            assert self._plain is not None and self._tokens is not None
            self._dataset = dataset_from_walk(self._plain, self._tokens, self.transfer_syntax)
        return self._dataset

    def json(self) -> str:
        """The identifier as a DICOM JSON object (PS3.18 F.2), straight from the bytes."""
        from .output.dicom_json import response_json

        return response_json(self).decode("utf-8")

    def json_dict(self) -> dict[str, Any]:
        """:meth:`json` parsed: equal to pydicom's ``Dataset.to_json_dict()`` of the identifier."""
        import json

        return json.loads(self.json()) if self.identifier is not None else {}

    def top_level_value(self, tag: int) -> bytes | None:
        """Raw value bytes of a top-level element, without decoding the data set."""
        toks = self.tokens
        if toks is None:
            return None
        i = toks.find(tag)
        if i < 0:
            return None
        kind, _depth, _tag, _vr, _length, start, end = toks[i]
        assert self._plain is not None
        return self._plain[start:end] if kind == codec.ELEMENT else None

    def __repr__(self) -> str:
        size = len(self.identifier) if self.identifier is not None else 0
        return f"<FindResponse #{self.number} status=0x{self.status:04x} identifier={size} bytes>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as received (batches on process or Dask executors); validated again on use."""
        return (
            FindResponse,
            (self.number, self.command, self.identifier, self.transfer_syntax, self.message_id,
             self._limits, self.query),
        )


class FindOperation:
    """Iterator over the responses of one C-FIND request (pending ones, then the final one).

    Each pending response is validated, then given to every sink (``sinks``), then yielded.
    :meth:`cancel` sends C-CANCEL-RQ (PS3.7 §9.3.2.3); responses already in flight still arrive,
    and the final status must then come within ``post_cancel_timeout`` or the association is
    aborted (:class:`DimseTimeout`). A sink that fails (:class:`OutputError`) cancels the query;
    the error is in :attr:`output_error` and raised by :meth:`check`.
    """

    def __init__(
        self,
        client: FindClient,
        message_id: int,
        context_id: int,
        ts: TransferSyntax,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
        query: int | None = None,
    ):
        self.client = client
        self.options = client.options
        self.message_id = message_id
        self.context_id = context_id
        self.transfer_syntax = ts
        self.query = query
        self.final: FindResponse | None = None
        self.cancelled = False
        self.matches = 0  #: pending responses with an identifier
        self.received = 0  #: responses of this request, the final one included
        #: number responses from 1 per request (batches) instead of per association (DCMTK)
        self.number_per_query = False
        self.warnings: list[str] = []
        self.output_error: OutputError | None = None
        self._cancel_deadline: float | None = None
        self._sinks = _as_sink_list(sinks)
        #: called before each wait for the peer (outputs start on what they have); with sinks,
        #: their ``flush``
        self.on_wait: Callable[[], None] | None = self._flush_sinks if self._sinks else None

    def _flush_sinks(self) -> None:
        for sink in self._sinks:
            flush = getattr(sink, "flush", None)
            if flush is not None:
                flush()

    def __iter__(self) -> FindOperation:
        return self

    def __next__(self) -> FindResponse:
        if self.final is not None:
            raise StopIteration
        assoc = self._before_receive()
        opts = self.options
        try:
            ctx, cmd, ds = assoc.receive_message(
                opts.dimse_timeout, opts.socket_timeout, self._cancel_deadline
            )
        except FastFindError as exc:
            raise self._receive_failed(exc) from None
        return self._take(ctx, cmd, ds)

    def _before_receive(self) -> Any:
        """The association to read the next response from (outputs told first if it waits)."""
        assoc = self.client.association
        if assoc is None or assoc.transport.closed:
            raise UsageError("the association is not open")
        if self.on_wait is not None and not assoc.message_ready:
            self.on_wait()
        return assoc

    def _receive_failed(self, exc: FastFindError) -> FastFindError:
        """What ends this request when receiving failed (the association is already aborted)."""
        self.client._operation = None
        if isinstance(exc, DimseTimeout) and self._cancel_deadline is not None:
            return DimseTimeout("no final status after C-CANCEL within the post-cancel timeout")
        return exc

    def _take(self, ctx: int, cmd: dict[int, Any], ds: bytes | None) -> FindResponse:
        """One received message as a response of this request (PS3.7 §9.1.2.1, §9.3.2.2):
        checked, numbered, validated with the run's limits, given to the sinks."""
        client = self.client
        status_value = cmd.get(0x0900)
        if (
            cmd.get(0x0100) != C_FIND_RSP
            or cmd.get(0x0120) != self.message_id
            or ctx != self.context_id
            or status_value.__class__ is not int
            or 0x0800 not in cmd
        ):
            client._operation = None
            client._abort_now()
            raise ProtocolError(self._refusal(ctx, cmd), 0, 0)
        client.response_count += 1
        self.received += 1
        number = self.received if self.number_per_query else client.response_count
        rsp = FindResponse(
            number, cmd, ds, self.transfer_syntax, self.message_id, self.options.limits, self.query,
        )
        if status_value == 0xFF00 or status_value == 0xFF01:
            if ds is None:
                self.warnings.append("Status Pending, but no identifier (DataSetType 0x0101)")
            else:
                try:
                    rsp.validate()
                except CodecError:
                    client._operation = None
                    client._abort_now()
                    raise
                self.matches += 1
                if self._sinks and self.output_error is None:
                    self._feed(rsp)
        else:
            if ds is not None:
                self.warnings.append(
                    f"Status {rsp.status_text}, but a data set was attached: ignored"
                )
                rsp.identifier = None
            self.final = rsp
            if client._operation is self:
                client._operation = None
        return rsp

    def _feed(self, rsp: FindResponse) -> None:
        try:
            for sink in self._sinks:
                sink.add(rsp)
        except OutputError as exc:
            self.output_error = exc
            self.cancel()

    def _refusal(self, ctx: int, cmd: dict[int, Any]) -> str:
        """Why a message does not answer our request (the association is aborted, source 0)."""
        field = cmd.get(0x0100)
        responded = cmd.get(0x0120)
        if field != C_FIND_RSP:
            text = f"0x{field:x}" if isinstance(field, int) else "missing"
            return f"DIMSE: Unexpected Response Command Field: {text}"
        if responded != self.message_id:
            return f"DIMSE: Unexpected Response MsgId: {responded} (expected: {self.message_id})"
        if ctx != self.context_id:
            return f"C-FIND-RSP on presentation context {ctx}, request was on {self.context_id}"
        if 0x0800 not in cmd:
            return "DIMSE: C-FIND-RSP without CommandDataSetType"
        return "DIMSE: C-FIND-RSP without a Status"

    def cancel(self) -> None:
        """Send C-CANCEL-RQ for this request (once)."""
        if self.cancelled or self.final is not None:
            return
        assoc = self.client._require()
        assoc.send_message(self.context_id, self.cancel_command(), None,
                           deadline_after(self.options.socket_timeout))
        self._cancelled()

    def cancel_command(self) -> bytes:
        """The C-CANCEL-RQ command set for this request (PS3.7 §9.3.2.3)."""
        return codec.encode_command([(0x0100, C_CANCEL_RQ), (0x0120, self.message_id), (0x0800, 0x0101)])

    def _cancelled(self) -> None:
        self.cancelled = True
        self._cancel_deadline = deadline_after(self.options.post_cancel_timeout)

    def drain(self) -> None:
        """Cancel (unless finished) and read the remaining responses, discarding them.

        This leaves the association ready for the next request; if the peer does not end the
        query within the post-cancel timeout, the association is aborted.
        """
        if self.final is not None:
            return
        self._sinks = []
        self.cancel()
        for _ in self:
            pass

    def pending(self) -> Iterator[FindResponse]:
        """Iterate over the pending responses only; the final one is left in :attr:`final`."""
        for rsp in self:
            if rsp.is_pending:
                yield rsp

    def run(self) -> FindOperation:
        """Read every response (the sinks get them); return ``self`` for :meth:`check`."""
        for _ in self:
            pass
        return self

    def check(self) -> FindResponse:
        """Raise unless the query ended with Success: :class:`~fastfind.errors.OutputError` if a
        sink failed, :class:`FindFailed`/:class:`FindCancelled` for the final status."""
        final = self.final
        if final is None:
            raise UsageError("the C-FIND has not finished yet")
        if self.output_error is not None:
            raise self.output_error
        cat = final.category
        if cat == status.SUCCESS:
            return final
        text = f"C-FIND ended with status 0x{final.status:04x} ({final.status_text})"
        if final.error_comment:
            text += f": {final.error_comment}"
        if cat in (status.CANCEL, status.WARNING):
            if cat == status.CANCEL and self.cancelled:
                return final
            raise FindCancelled(text, final.status, final.error_comment)
        raise FindFailed(text, final.status, final.error_comment)


def _as_sink_list(sinks: ResponseSink | Sequence[ResponseSink] | None) -> list[ResponseSink]:
    if sinks is None:
        return []
    if hasattr(sinks, "add"):
        return [sinks]  # type: ignore[list-item]
    return list(sinks)  # type: ignore[arg-type]


class _ClientBase:
    """What the blocking and the asyncio clients share: options, contexts, requests."""

    def __init__(self, host: str, port: int, options: FindOptions | None = None, **overrides: Any):
        self.host = host
        self.port = port
        self.options = _with_overrides(options or FindOptions(), overrides)
        opts = self.options
        self.abstract_syntax = resolve_model(opts.model)
        ts = opts.transfer_syntaxes
        if isinstance(ts, str):
            if ts not in PROPOSALS:
                raise UsageError(f"unknown transfer syntax proposal: {ts}")
            self.transfer_syntaxes = list(PROPOSALS[ts])
        else:
            self.transfer_syntaxes = list(ts)
        unknown = [uid for uid in self.transfer_syntaxes if uid not in TRANSFER_SYNTAXES]
        if unknown:
            raise UsageError(f"unsupported transfer syntax for C-FIND: {', '.join(unknown)}")
        self.association: Any = None
        self.response_count = 0  #: every C-FIND-RSP received on this association (DCMTK's count)
        self._operation: Any = None

    @property
    def proposed_contexts(self) -> list[ProposedContext]:
        """The presentation contexts proposed (one, ID 1, as DCMTK findscu)."""
        return [ProposedContext(1, self.abstract_syntax, self.transfer_syntaxes)]

    def requestor(self) -> Requestor:
        """A new protocol state machine for one association with these options."""
        opts = self.options
        return Requestor(
            opts.calling_ae,
            opts.called_ae,
            self.proposed_contexts,
            max_pdu=opts.max_pdu,
            implementation_class_uid=IMPLEMENTATION_CLASS_UID,
            implementation_version_name=IMPLEMENTATION_VERSION_NAME,
            max_command=opts.limits.max_command_size,
            max_dataset=opts.limits.max_identifier_size,
            user_items=[find_extension_item(self.abstract_syntax, opts.extensions)] if any(opts.extensions) else None,
        )

    @property
    def extensions_accepted(self) -> dict[str, bool]:
        """Which of the C-FIND extensions asked for the peer accepted (PS3.4 C.5.1.1)."""
        assoc = self.association
        answer = assoc.accepted.extended.get(self.abstract_syntax) if assoc and assoc.accepted else None
        return {name: answer is not None and len(answer) > i and answer[i] == 1
                for i, name in enumerate(FIND_EXTENSIONS) if self.options.extensions[i]}

    @property
    def is_open(self) -> bool:
        return self.association is not None and not self.association.transport.closed

    def _require(self) -> Any:
        if not self.is_open:
            raise UsageError("the association is not open")
        return self.association

    def _abort_now(self) -> None:
        """Abort without waiting (a fault found in a response)."""
        if self.association is not None:
            self.association.abort(0, 0)

    def context_for(self, abstract_syntax: str | None = None) -> tuple[int, TransferSyntax]:
        """The accepted presentation context for the query model."""
        assoc = self._require()
        assert assoc.accepted is not None
        wanted = abstract_syntax or self.abstract_syntax
        for cid, (abstract, ts) in sorted(assoc.accepted.accepted.items()):
            if abstract == wanted:
                return cid, TRANSFER_SYNTAXES[ts]
        raise UsageError("No Presentation Context")

    def request_command(self, msg_id: int, priority: int | None = None) -> bytes:
        """The C-FIND-RQ command set (PS3.7 §9.3.2.1)."""
        return codec.encode_command(
            [
                (0x0002, self.abstract_syntax),
                (0x0100, C_FIND_RQ),
                (0x0110, msg_id),
                (0x0700, self.options.priority if priority is None else priority),
                (0x0800, DATASET_PRESENT),
            ]
        )

    def encode(self, query: Query | bytes) -> tuple[int, TransferSyntax, bytes]:
        """The accepted context for the query model and the query encoded in its syntax."""
        cid, ts = self.context_for()
        opts = self.options
        identifier = query if isinstance(query, bytes) else encode_query(
            query, ts, opts.deflate_level, opts.enable_new_vrs)
        return cid, ts, identifier


class FindClient(_ClientBase):
    """One association used for any number of C-FIND requests.

    ``options`` is a :class:`~fastfind.options.FindOptions`; keyword arguments override its
    fields (``FindClient(host, port, model="study", called_ae="PACS")``), and
    ``max_identifier_size`` / ``max_nesting`` set its :class:`~fastfind.options.Limits`.
    The main fields:

    :param model: ``"worklist"`` (default, as DCMTK findscu), ``"patient"``, ``"study"``,
        ``"psonly"`` or an abstract syntax UID.
    :param transfer_syntaxes: ``"default"``, ``"little"``, ``"big"``, ``"implicit"``,
        ``"deflated"`` (DCMTK's ``-x=``/``-xe``/``-xb``/``-xi``/``-xd``) or a list of UIDs.
    :param socket_timeout: bound on each wait for the peer once associated (DCMTK ``-ts``);
        unlike DCMTK it is an absolute deadline per chunk, not reset by every byte.
    :param dimse_timeout: bound on each whole response message (DCMTK ``-td``); ``None`` = off.
    """

    association: Association | None

    # ---- association ------------------------------------------------------------------------
    def open(self) -> FindClient:
        """Connect and negotiate the association."""
        opts = self.options
        transport = Transport.connect(
            self.host, self.port, opts.connect_timeout, opts.ssl_context, opts.server_hostname
        )
        self.association = Association.open(transport, self.requestor(), opts.acse_timeout)
        return self

    def release(self) -> None:
        """A-RELEASE the association (an unfinished query is cancelled and drained first)."""
        if self.is_open:
            self._finish_operation()
            assert self.association is not None
            self.association.release(self.options.acse_timeout)

    def abort(self) -> None:
        """A-ABORT the association (source: service user)."""
        self._operation = None
        if self.association is not None:
            self.association.abort(0, 0)

    def __enter__(self) -> FindClient:
        return self.open() if self.association is None else self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.is_open:
            return
        if exc_type is None:
            self.release()
        else:
            self.abort()

    # ---- queries ----------------------------------------------------------------------------
    def start(
        self,
        query: Query | bytes,
        *,
        priority: int | None = None,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
        query_index: int | None = None,
    ) -> FindOperation:
        """Send one C-FIND-RQ and return the :class:`FindOperation` over its responses.

        ``query`` is a pydicom Dataset, a mapping of ``-k`` style keys to values (``None`` = an
        empty return key), a query file path, or identifier bytes already encoded in the
        accepted transfer syntax.
        """
        cid, ts, identifier = self.encode(query)
        return self.send_request(cid, ts, identifier, priority, sinks=sinks, query_index=query_index)

    def send_request(
        self,
        cid: int,
        ts: TransferSyntax,
        identifier: bytes,
        priority: int | None = None,
        *,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
        query_index: int | None = None,
    ) -> FindOperation:
        """Send an already encoded identifier as a C-FIND-RQ (PS3.7 §9.3.2.1).

        A previous request still open on this association is cancelled and drained first.
        """
        self._finish_operation()
        assoc = self._require()
        msg_id = assoc.take_message_id()
        assoc.send_message(cid, self.request_command(msg_id, priority), identifier,
                           deadline_after(self.options.socket_timeout))
        op = FindOperation(self, msg_id, cid, ts, sinks, query_index)
        self._operation = op
        return op

    def _finish_operation(self) -> None:
        op, self._operation = self._operation, None
        if op is not None and op.final is None and self.is_open:
            op.drain()

    def find(
        self,
        query: Query | bytes,
        *,
        check: bool = True,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
    ) -> Iterator[FindResponse]:
        """Yield the pending responses of one C-FIND (after the sinks got each one); then, with
        ``check``, raise on a non-Success end (or an output failure).

        Leaving the loop early cancels the query and drains it, so the association stays usable.
        """
        op = self.start(query, sinks=sinks)
        try:
            yield from op.pending()
        finally:
            if op.final is None and self._operation is op:
                self._operation = None
                _drain_quietly(op)
        if check:
            op.check()

    def run(
        self,
        query: Query | bytes,
        sinks: ResponseSink | Sequence[ResponseSink] | None = None,
        *,
        check: bool = True,
    ) -> FindOperation:
        """Run one C-FIND to its end, feeding ``sinks``; return the finished operation."""
        op = self.start(query, sinks=sinks).run()
        if check:
            op.check()
        return op


def _drain_quietly(op: FindOperation) -> None:
    """Drain ``op`` from a generator's ``finally``: a failure there has already aborted the
    association (the next request says so); it must not surface from ``close()``."""
    if not op.client.is_open:
        return
    try:
        op.drain()
    except FastFindError:
        op.client.abort()


def _with_overrides(options: FindOptions, overrides: dict[str, Any]) -> FindOptions:
    if not overrides:
        return options
    limits = {}
    for name in ("max_identifier_size", "max_nesting", "max_command_size"):
        if name in overrides:
            limits[name] = overrides.pop(name)
    if limits:
        overrides["limits"] = dataclasses.replace(overrides.get("limits", options.limits), **limits)
    fields = {f.name for f in dataclasses.fields(FindOptions)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"unknown FindClient option(s): {', '.join(unknown)}")
    if "transfer_syntaxes" in overrides and not isinstance(overrides["transfer_syntaxes"], str):
        overrides["transfer_syntaxes"] = tuple(overrides["transfer_syntaxes"])
    return dataclasses.replace(options, **overrides)


def encode_query(query: Query, ts: TransferSyntax, deflate_level: int = 6, new_vrs: bool = True) -> bytes:
    """Encode a query (Dataset, key mapping, or query file path) as an identifier in ``ts``
    (``new_vrs=False``: findscu's ``-u``, the post-1993 VRs written as OB)."""
    from .dataset import encode_identifier

    return encode_identifier(build_dataset(query), ts, deflate_level, new_vrs)


def build_dataset(query: Query) -> Dataset:
    """Turn any accepted query form into a pydicom Dataset (see :meth:`FindClient.start`)."""
    if isinstance(query, Dataset):
        return query
    from . import query as query_mod

    if isinstance(query, (str, os.PathLike)):
        return query_mod.build_query(os.fspath(query), [])
    if isinstance(query, Mapping):
        keys = [k if v is None else f"{k}={v}" for k, v in query.items()]
        return query_mod.build_query(None, keys)
    raise UsageError(f"cannot use a {type(query).__name__} as a C-FIND query")


def find(
    host: str,
    port: int,
    query: Query,
    *,
    check: bool = True,
    sinks: ResponseSink | Sequence[ResponseSink] | None = None,
    **options: Any,
) -> Iterator[FindResponse]:
    """Associate, run one C-FIND, yield its pending responses, release.

    ``options`` are :class:`FindClient`'s. With ``check`` (default) a final status other than
    Success raises :class:`~fastfind.errors.FindFailed` or :class:`~fastfind.errors.FindCancelled`
    after every pending response has been yielded.
    """
    with FindClient(host, port, **options) as client:
        yield from client.find(query, check=check, sinks=sinks)


def find_all(
    host: str,
    port: int,
    queries: Iterable[Query],
    *,
    check: bool = True,
    sinks: ResponseSink | Sequence[ResponseSink] | None = None,
    **options: Any,
) -> Iterator[tuple[int, FindResponse]]:
    """Run many C-FINDs one after another on ONE association; yield ``(query index, response)``."""
    with FindClient(host, port, **options) as client:
        for index, query in enumerate(queries):
            op = client.start(query, sinks=sinks, query_index=index)
            try:
                for rsp in op.pending():
                    yield index, rsp
            finally:
                if op.final is None and client._operation is op:
                    client._operation = None
                    _drain_quietly(op)
            if check:
                op.check()
