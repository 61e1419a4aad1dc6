"""fastfind's Python API: C-FIND as a service class user (PS3.4 Annex C and K, PS3.7 §9.1.2).

>>> from fastfind import FindClient
>>> with FindClient("127.0.0.1", port, model="study", called_ae="ANY-SCP") as client:  # doctest: +SKIP
...     for rsp in client.find({"QueryRetrieveLevel": "STUDY", "PatientName": "A*",
...                             "StudyInstanceUID": None}):
...         print(rsp.dataset.PatientName, rsp.identifier[:8])

:func:`find` is the one-shot form. Responses carry the identifier bytes exactly as received and
decode them into a pydicom Dataset only when :attr:`FindResponse.dataset` is read.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

from pydicom.dataset import Dataset

from . import codec
from .dicom import status
from .dicom.uids import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    PROPOSALS,
    resolve_model,
)
from .errors import (
    CodecError,
    DimseTimeout,
    FindCancelled,
    FindFailed,
    ProtocolError,
    UsageError,
)
from .net.association import Association
from .net.negotiation import ProposedContext
from .net.transport import Transport, deadline_after

Query = Union[Dataset, Mapping[str, Any], str, "os.PathLike[str]"]

C_FIND_RQ = 0x0020
C_FIND_RSP = 0x8020
C_CANCEL_RQ = 0x0FFF
DATASET_PRESENT = 0x0000  # PS3.7 E.1: any value other than 0x0101


class FindResponse:
    """One C-FIND-RSP: its status and (for pending responses) the identifier as received."""

    __slots__ = (
        "number",
        "status",
        "command",
        "identifier",
        "transfer_syntax",
        "message_id",
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
        transfer_syntax: codec.TransferSyntax,
        message_id: int,
        limits: tuple[int, int],
    ):
        self.number = number  #: cumulative response number on the association (DCMTK's count)
        self.command = command  #: decoded command set {element: value}
        self.status: int = command[0x0900]
        self.identifier = identifier  #: identifier bytes exactly as received (maybe deflated)
        self.transfer_syntax = transfer_syntax
        self.message_id = message_id
        self._plain: bytes | None = None
        self._tokens: list[tuple[Any, ...]] | None = None
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
            max_depth, max_size = self._limits
            self._plain, self._tokens = codec.tokens(
                self.identifier, self.transfer_syntax, max_depth, max_size
            )

    @property
    def plain(self) -> bytes | None:
        """The identifier after inflation (same as :attr:`identifier` unless deflated)."""
        self.validate()
        return self._plain

    @property
    def tokens(self) -> list[tuple[Any, ...]] | None:
        """Flat token walk of the identifier (see :func:`fastfind.codec.walk_dataset`)."""
        self.validate()
        return self._tokens

    @property
    def dataset(self) -> Dataset | None:
        """The identifier as a lazily decoded pydicom Dataset (``None`` if there is none)."""
        if self._dataset is None and self.identifier is not None:
            max_depth, max_size = self._limits
            self._dataset = codec.decode_identifier(
                self.identifier, self.transfer_syntax, max_depth, max_size
            )
        return self._dataset

    def top_level_value(self, tag: int) -> bytes | None:
        """Raw value bytes of a top-level element, without decoding the data set."""
        toks = self.tokens
        if not toks:
            return None
        plain = self._plain
        assert plain is not None
        for kind, depth, t, _vr, _length, start, end in toks:
            if depth == 0 and t == tag and kind == codec.ELEMENT:
                return plain[start:end]
            if depth == 0 and t > tag:
                break
        return None

    def __repr__(self) -> str:
        size = len(self.identifier) if self.identifier is not None else 0
        return f"<FindResponse #{self.number} status=0x{self.status:04x} identifier={size} bytes>"


class FindOperation:
    """Iterator over the responses of one C-FIND request (pending ones, then the final one).

    :meth:`cancel` sends C-CANCEL-RQ (PS3.7 §9.3.2.3); responses already in flight still arrive,
    and the final status must then come within ``post_cancel_timeout`` or the association is
    aborted (:class:`DimseTimeout`).
    """

    def __init__(self, client: FindClient, message_id: int, context_id: int, ts: codec.TransferSyntax):
        self.client = client
        self.message_id = message_id
        self.context_id = context_id
        self.transfer_syntax = ts
        self.final: FindResponse | None = None
        self.cancelled = False
        self.warnings: list[str] = []
        self._cancel_deadline: float | None = None

    def __iter__(self) -> FindOperation:
        return self

    def __next__(self) -> FindResponse:
        if self.final is not None:
            raise StopIteration
        client = self.client
        assoc = client.association
        if assoc is None:
            raise UsageError("the association is not open")
        try:
            ctx, cmd, ds = assoc.receive_message(
                client.dimse_timeout, client.socket_timeout, self._cancel_deadline
            )
        except DimseTimeout:
            if self._cancel_deadline is not None:
                raise DimseTimeout("no final status after C-CANCEL within the post-cancel timeout") from None
            raise
        status_value = cmd.get(0x0900)
        if (
            cmd.get(0x0100) != C_FIND_RSP
            or cmd.get(0x0120) != self.message_id
            or ctx != self.context_id
            or status_value.__class__ is not int
            or 0x0800 not in cmd
        ):
            self._refuse(assoc, ctx, cmd)
        client.response_count += 1
        rsp = FindResponse(
            client.response_count, cmd, ds, self.transfer_syntax, self.message_id, client._limits
        )
        if status_value == 0xFF00 or status_value == 0xFF01:
            if ds is None:
                self.warnings.append("Status Pending, but no identifier (DataSetType 0x0101)")
            else:
                try:
                    rsp.validate()
                except CodecError:
                    assoc.abort(0, 0)
                    raise
        else:
            if ds is not None:
                self.warnings.append(
                    f"Status {rsp.status_text}, but a data set was attached: ignored"
                )
                rsp.identifier = None
            self.final = rsp
        return rsp

    def _refuse(self, assoc: Association, ctx: int, cmd: dict[int, Any]) -> None:
        """Abort (source 0) for a response that does not answer our request (PS3.7 §9.3.2.2)."""
        field = cmd.get(0x0100)
        responded = cmd.get(0x0120)
        if field != C_FIND_RSP:
            text = f"0x{field:x}" if isinstance(field, int) else "missing"
            message = f"DIMSE: Unexpected Response Command Field: {text}"
        elif responded != self.message_id:
            message = f"DIMSE: Unexpected Response MsgId: {responded} (expected: {self.message_id})"
        elif ctx != self.context_id:
            message = f"C-FIND-RSP on presentation context {ctx}, request was on {self.context_id}"
        elif 0x0800 not in cmd:
            message = "DIMSE: C-FIND-RSP without CommandDataSetType"
        else:
            message = "DIMSE: C-FIND-RSP without a Status"
        assoc.abort(0, 0)
        raise ProtocolError(message, 0, 0)

    def cancel(self) -> None:
        """Send C-CANCEL-RQ for this request (once)."""
        if self.cancelled or self.final is not None:
            return
        client = self.client
        assoc = client._require()
        cmd = codec.encode_command([(0x0100, C_CANCEL_RQ), (0x0120, self.message_id), (0x0800, 0x0101)])
        assoc.send_message(self.context_id, cmd, None, deadline_after(client.socket_timeout))
        self.cancelled = True
        self._cancel_deadline = deadline_after(client.post_cancel_timeout)

    def pending(self) -> Iterator[FindResponse]:
        """Iterate over the pending responses only; the final one is left in :attr:`final`."""
        for rsp in self:
            if rsp.is_pending:
                yield rsp

    def check(self) -> FindResponse:
        """Raise :class:`FindFailed`/:class:`FindCancelled` unless the final status is Success."""
        final = self.final
        if final is None:
            raise UsageError("the C-FIND has not finished yet")
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


class FindClient:
    """One association used for any number of C-FIND requests.

    :param model: ``"worklist"`` (default, as DCMTK findscu), ``"patient"``, ``"study"``,
        ``"psonly"`` or an abstract syntax UID.
    :param transfer_syntaxes: ``"default"``, ``"little"``, ``"big"``, ``"implicit"``,
        ``"deflated"`` (DCMTK's ``-x=``/``-xe``/``-xb``/``-xi``/``-xd``) or a list of UIDs.
    :param socket_timeout: bound on each wait for the peer once associated (DCMTK ``-ts``);
        unlike DCMTK it is an absolute deadline per chunk, not reset by every byte.
    :param dimse_timeout: bound on each whole response message (DCMTK ``-td``); ``None`` = off.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        model: str = "worklist",
        calling_ae: str = "FINDSCU",
        called_ae: str = "ANY-SCP",
        transfer_syntaxes: str | list[str] = "default",
        max_pdu: int = 16384,
        connect_timeout: float | None = None,
        socket_timeout: float | None = 60,
        acse_timeout: float | None = 30,
        dimse_timeout: float | None = None,
        post_cancel_timeout: float | None = 10,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        deflate_level: int = 6,
        max_identifier_size: int = codec.DEFAULT_MAX_IDENTIFIER,
        max_nesting: int = codec.DEFAULT_MAX_DEPTH,
        priority: int = 0,
    ):
        self.host = host
        self.port = port
        self.abstract_syntax = resolve_model(model)
        self.transfer_syntaxes = (
            PROPOSALS[transfer_syntaxes] if isinstance(transfer_syntaxes, str) else list(transfer_syntaxes)
        )
        unknown = [ts for ts in self.transfer_syntaxes if ts not in codec.TRANSFER_SYNTAXES]
        if unknown:
            raise UsageError(f"unsupported transfer syntax for C-FIND: {', '.join(unknown)}")
        self.calling_ae = calling_ae
        self.called_ae = called_ae
        self.max_pdu = max_pdu
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout or None
        self.acse_timeout = acse_timeout
        self.dimse_timeout = dimse_timeout
        self.post_cancel_timeout = post_cancel_timeout
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.deflate_level = deflate_level
        self.priority = priority
        self._limits = (max_nesting, max_identifier_size)
        self.association: Association | None = None
        self.response_count = 0  #: every C-FIND-RSP received on this association (DCMTK's count)

    # ---- association ------------------------------------------------------------------------
    def open(self) -> FindClient:
        """Connect and negotiate the association (one presentation context, ID 1)."""
        transport = Transport.connect(
            self.host, self.port, self.connect_timeout, self.ssl_context, self.server_hostname
        )
        contexts = [ProposedContext(1, self.abstract_syntax, self.transfer_syntaxes)]
        self.association = Association.request(
            transport,
            self.calling_ae,
            self.called_ae,
            contexts,
            max_pdu=self.max_pdu,
            acse_timeout=self.acse_timeout,
            implementation_class_uid=IMPLEMENTATION_CLASS_UID,
            implementation_version_name=IMPLEMENTATION_VERSION_NAME,
            max_dataset=self._limits[1],
        )
        return self

    def _require(self) -> Association:
        if self.association is None or self.association.transport.closed:
            raise UsageError("the association is not open")
        return self.association

    def context_for(self, abstract_syntax: str | None = None) -> tuple[int, codec.TransferSyntax]:
        """The accepted presentation context for the query model."""
        assoc = self._require()
        assert assoc.accepted is not None
        wanted = abstract_syntax or self.abstract_syntax
        for cid, (abstract, ts) in sorted(assoc.accepted.accepted.items()):
            if abstract == wanted:
                return cid, codec.TRANSFER_SYNTAXES[ts]
        raise UsageError("No Presentation Context")

    def release(self) -> None:
        """A-RELEASE the association."""
        if self.association is not None and not self.association.transport.closed:
            self.association.release(self.acse_timeout)

    def abort(self) -> None:
        """A-ABORT the association (source: service user)."""
        if self.association is not None:
            self.association.abort(0, 0)

    def __enter__(self) -> FindClient:
        return self.open() if self.association is None else self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.association is None or self.association.transport.closed:
            return
        if exc_type is None:
            self.release()
        else:
            self.abort()

    # ---- queries ----------------------------------------------------------------------------
    def start(self, query: Query | bytes, *, priority: int | None = None) -> FindOperation:
        """Send one C-FIND-RQ and return the :class:`FindOperation` over its responses.

        ``query`` is a pydicom Dataset, a mapping of ``-k`` style keys to values (``None`` = an
        empty return key), a query file path, or identifier bytes already encoded in the
        accepted transfer syntax.
        """
        cid, ts = self.context_for()
        identifier = query if isinstance(query, bytes) else encode_query(query, ts, self.deflate_level)
        return self.send_request(cid, ts, identifier, priority)

    def send_request(
        self, cid: int, ts: codec.TransferSyntax, identifier: bytes, priority: int | None = None
    ) -> FindOperation:
        """Send an already encoded identifier as a C-FIND-RQ (PS3.7 §9.3.2.1)."""
        assoc = self._require()
        msg_id = assoc.next_message_id
        assoc.next_message_id = (msg_id + 1) & 0xFFFF or 1
        cmd = codec.encode_command(
            [
                (0x0002, self.abstract_syntax),
                (0x0100, C_FIND_RQ),
                (0x0110, msg_id),
                (0x0700, self.priority if priority is None else priority),
                (0x0800, DATASET_PRESENT),
            ]
        )
        assoc.send_message(cid, cmd, identifier, deadline_after(self.socket_timeout))
        return FindOperation(self, msg_id, cid, ts)

    def find(self, query: Query | bytes, *, check: bool = True) -> Iterator[FindResponse]:
        """Yield the pending responses of one C-FIND; then, with ``check``, raise on a non-Success end."""
        op = self.start(query)
        yield from op.pending()
        if check:
            op.check()


def encode_query(query: Query, ts: codec.TransferSyntax, deflate_level: int = 6) -> bytes:
    """Encode a query (Dataset, key mapping, or query file path) as an identifier in ``ts``."""
    return codec.encode_identifier(build_dataset(query), ts, deflate_level)


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


def find(host: str, port: int, query: Query, *, check: bool = True, **options: Any) -> Iterator[FindResponse]:
    """Associate, run one C-FIND, yield its pending responses, release.

    ``options`` are :class:`FindClient`'s. With ``check`` (default) a final status other than
    Success raises :class:`~fastfind.errors.FindFailed` or :class:`~fastfind.errors.FindCancelled`
    after every pending response has been yielded.
    """
    with FindClient(host, port, **options) as client:
        yield from client.find(query, check=check)


def find_all(
    host: str, port: int, queries: Iterable[Query], *, check: bool = True, **options: Any
) -> Iterator[tuple[int, FindResponse]]:
    """Run many C-FINDs one after another on ONE association; yield ``(query index, response)``."""
    with FindClient(host, port, **options) as client:
        for index, query in enumerate(queries):
            for rsp in client.find(query, check=check):
                yield index, rsp
