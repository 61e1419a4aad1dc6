"""The options a C-FIND run is configured with: the one contract between the CLI and the API.

Objects here are plain data (no sockets, no files); :mod:`fastfind.cli.cmdline` builds them from
the command line, :class:`fastfind.client.FindClient` and the output sinks take them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
