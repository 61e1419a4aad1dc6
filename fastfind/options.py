"""The options a C-FIND run is configured with: the one contract between the CLI and the API.

Objects here are plain data (no sockets, no files); :mod:`fastfind.cli.cmdline` builds them from
the command line, :class:`fastfind.client.FindClient` and the output sinks take them.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field, replace

from .errors import UsageError

DEFAULT_MAX_DEPTH = 64  #: sequence nesting (DCMTK ``DCMTK_MAX_SEQUENCE_NESTING``)
DEFAULT_MAX_IDENTIFIER = 64 << 20  #: bytes of one identifier, after inflation
DEFAULT_MAX_COMMAND = 64 << 10  #: bytes of one command set
MAX_IDENTIFIER = 0xFFFFFFFE  #: the largest identifier the walk can index (32-bit offsets)
MAX_NESTING = 0x7FFFFFFF
AE_TITLE_MAX = 16  #: PS3.5 §6.2 AE: at most 16 characters


def ae_title_problem(title: object) -> str | None:
    """Why ``title`` cannot be an AE title (PS3.5 §6.2: 1-16 characters of the default
    repertoire without backslash or control characters, not all spaces), or None."""
    if not isinstance(title, str):
        return "must be a string"
    if not title:
        return "must not be empty"
    if len(title) > AE_TITLE_MAX:
        return f"must not be longer than {AE_TITLE_MAX} characters"
    if not title.strip(" "):
        return "must not be all spaces"
    if "\\" in title:
        return "must not contain a backslash"
    if any(not " " <= c <= "~" for c in title):
        return "must contain printable ASCII characters only"
    return None


def shown(text: str) -> str:
    """``text`` quoted for a one-line message: control and non-ASCII characters escaped."""
    return "'" + "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in text) + "'"


def check_ae_title(title: object, what: str) -> None:
    """Raise :class:`~fastfind.errors.UsageError` unless ``title`` is a valid AE title."""
    problem = ae_title_problem(title)
    if problem is not None:
        value = shown(title) + " " if isinstance(title, str) and title else ""
        raise UsageError(f"{what} {value}{problem}")


@dataclass(frozen=True)
class Limits:
    """What fastfind accepts from a peer (``../shared/reference/hostile-scp.md`` §6.1).

    Every identifier is validated against these once, when it arrives; every output then works
    on the validated walk, so no output can disagree with another about what is acceptable.
    """

    max_nesting: int = DEFAULT_MAX_DEPTH
    max_identifier_size: int = DEFAULT_MAX_IDENTIFIER
    max_command_size: int = DEFAULT_MAX_COMMAND

    def __post_init__(self) -> None:
        # "very large" means as large as fastfind can take: 4 GiB per identifier, 2^31 levels
        object.__setattr__(self, "max_identifier_size", min(self.max_identifier_size, MAX_IDENTIFIER))
        object.__setattr__(self, "max_nesting", min(self.max_nesting, MAX_NESTING))


@dataclass
class TlsOptions:
    """The TLS options (always present; ``enabled`` says whether TLS is used).

    ``password`` is None for "prompt on the terminal" (``+ps``, the default), "" for ``-pw``.
    ``crl_mode`` is 'none', 'leaf' (``+crv`` or any ``+crl``) or 'all' (``+cra``).
    ``ciphers`` are in the order DCMTK adds them (right to left on the command line).
    ``write_seed_file`` is the seed file itself for ``+ws``.
    """

    enabled: bool = False
    authenticate: bool = False
    private_key_file: str | None = None
    certificate_file: str | None = None
    password: str | None = None
    key_format: str = "pem"
    cert_files: list[str] = field(default_factory=list)
    cert_dirs: list[str] = field(default_factory=list)
    crl_files: list[str] = field(default_factory=list)
    crl_mode: str = "none"
    profile: str = "bcp195-nd"
    ciphers: list[str] = field(default_factory=list)
    sni: str | None = None
    seed_file: str | None = None
    write_seed_file: str | None = None
    verify_peer: str = "require"


@dataclass(frozen=True)
class FindOptions:
    """How to reach a peer and run C-FINDs on it: DCMTK findscu's network options.

    Timeouts are seconds (``None`` = none). ``socket_timeout`` bounds each wait for the peer once
    associated (``-ts``), ``acse_timeout`` association set-up and release (``-ta``),
    ``dimse_timeout`` each whole response (``-td``), ``post_cancel_timeout`` the wait for the
    final status after a C-CANCEL. Unlike DCMTK, every one is an absolute deadline.
    """

    model: str = "worklist"
    calling_ae: str = "FINDSCU"
    called_ae: str = "ANY-SCP"
    transfer_syntaxes: str | tuple[str, ...] = "default"
    max_pdu: int = 16384
    connect_timeout: float | None = None
    socket_timeout: float | None = 60
    acse_timeout: float | None = 30
    dimse_timeout: float | None = None
    post_cancel_timeout: float | None = 10
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    deflate_level: int = 6
    priority: int = 0
    limits: Limits = field(default_factory=Limits)
    #: SOP Class Extended Negotiation (PS3.4 C.5.1.1): ask for relational queries, combined
    #: date-time matching, fuzzy matching of person names, timezone query adjustment
    relational: bool = False
    datetime_matching: bool = False
    fuzzy_names: bool = False
    timezone_adjustment: bool = False
    #: False is findscu's ``-u``: queries are sent with the post-1993 VRs written as OB
    enable_new_vrs: bool = True

    @property
    def extensions(self) -> tuple[bool, bool, bool, bool]:
        return (self.relational, self.datetime_matching, self.fuzzy_names, self.timezone_adjustment)

    def __post_init__(self) -> None:
        check_ae_title(self.calling_ae, "calling AE title")
        check_ae_title(self.called_ae, "called AE title")
        if self.socket_timeout is not None and self.socket_timeout <= 0:
            object.__setattr__(self, "socket_timeout", None)  # DCMTK: -ts 0 means none


@dataclass(frozen=True)
class OutputOptions:
    """What to write (DCMTK findscu's output options and fastfind's own).

    ``extract`` is ``"dcm"`` (``-X``), ``"xml"`` (``-Xx``) or ``"xml-single"`` (``-Xs``, into
    ``xml_single_file``); files go to ``directory`` (``-od``); ``limit_output`` is ``-Xlo``.
    ``json``, ``ndjson``, ``csv`` and ``parquet`` name table outputs (``-`` is standard output);
    ``csv_fields`` their columns (default: the query's keys). ``per_query`` is set for batches:
    files go to ``directory/q<row>/`` and tables get a leading ``query`` column.
    """

    directory: str = "."
    extract: str | None = None
    xml_single_file: str | None = None
    limit_output: int | None = None
    json: str | None = None
    ndjson: str | None = None
    csv: str | None = None
    parquet: str | None = None
    csv_fields: tuple[str, ...] | None = None
    sync: bool = False
    no_clobber: bool = False
    per_query: bool = False
    #: False is findscu's ``-u``: ``rspNNNN.dcm`` hold the identifier with the post-1993 VRs
    #: written as OB (otherwise the bytes as received)
    enable_new_vrs: bool = True

    @property
    def xml_single_path(self) -> str:
        """The ``-Xs`` file: relative names are inside ``directory``, as in findscu."""
        name = self.xml_single_file or ""
        return name if os.path.isabs(name) else os.path.join(self.directory, name)

    @property
    def any(self) -> bool:
        return bool(self.extract or self.json or self.ndjson or self.csv or self.parquet)

    def without_tables(self) -> OutputOptions:
        """These options minus the column outputs (CSV, Parquet)."""
        return replace(self, csv=None, parquet=None)

    def only_tables(self) -> OutputOptions:
        """Only the column outputs (CSV, Parquet)."""
        return replace(self, extract=None, json=None, ndjson=None)
