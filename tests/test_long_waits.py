"""Numbers out of range are "very long", never an overflow (issue 9 item 6).

findscu accepts timeouts up to C ``long`` (20-digit values are clamped by ``sscanf``) and treats
what does not fit its 32-bit timers as "no limit"; fastfind does the same: a wait of
:data:`~fastfind.net.transport.LONGEST_WAIT` seconds or more, ``inf`` and NaN have no deadline
(``tests/test_cmdline.py`` checks that findscu parses these values too).
"""

from __future__ import annotations

import math
import socket
import time

import pytest

from fastfind.client import FindClient
from fastfind.net import transport
from fastfind.net.transport import LONGEST_WAIT, Deadline, deadline_after
from fastfind.options import FindOptions, Limits
from fastfind.query import build_query

import servers

HUGE = [2**31, 2**32, 2**63 - 1, 2**64, 1e30, math.inf]


@pytest.mark.parametrize("seconds", [*HUGE, math.nan, -math.inf, 0, -1, None])
def test_no_deadline(seconds):
    assert deadline_after(seconds) is None


def test_deadlines_and_remaining():
    now = time.monotonic()
    d = deadline_after(LONGEST_WAIT - 1)
    assert d is not None and d >= now + LONGEST_WAIT - 1
    assert 0 < transport._remaining(deadline_after(5)) <= 5
    assert transport._remaining(now + 1e30) is None  # a far deadline made elsewhere: no timeout
    with pytest.raises(Deadline):
        transport._remaining(now - 1)


def test_sockets_accept_the_longest_wait():
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(transport._remaining(time.monotonic() + LONGEST_WAIT * 0.999))
        b.send(b"x")
        assert a.recv(1) == b"x"


def test_api_with_huge_numbers(scripted_scp):
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(3)))
    opts = FindOptions(model="study", connect_timeout=1e30, socket_timeout=2**63, acse_timeout=math.inf,
                       dimse_timeout=2**64, post_cancel_timeout=math.nan,
                       limits=Limits(max_nesting=2**64, max_identifier_size=2**64 - 1))
    assert opts.limits.max_identifier_size == 0xFFFFFFFE and opts.limits.max_nesting == 2**31 - 1
    ds = build_query(None, ["QueryRetrieveLevel=STUDY", "PatientName"])
    with FindClient(scp.host, scp.port, opts) as client:
        results = list(client.find(ds))
    assert len(results) == 3


TIMEOUTS = ["-to", "-ts", "-ta", "-td"]
VALUES = ["2147483648", "4294967296", "99999999999999999999"]


@pytest.mark.parametrize("option", TIMEOUTS)
@pytest.mark.parametrize("value", VALUES)
def test_cli_huge_timeouts(scripted_scp, tmp_path, option, value):
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(2)))
    got = servers.run_fastfind([option, value, "-S", "-k", "QueryRetrieveLevel=STUDY", scp.host,
                                str(scp.port)], cwd=tmp_path, timeout=30)
    assert got.returncode == 0, got.stderr
    assert got.stderr.count("Find Response:") == 2


@pytest.mark.parametrize("extra", [
    ["--post-cancel-timeout", "1e400", "--cancel", "1"],
    ["--post-cancel-timeout", "9e18", "--cancel", "0"],
    ["--max-identifier-size", "18446744073709551615", "-xd", "-X"],
    ["--max-identifier-size", "99999999999999999999999", "--extract-json", "out.json"],
    ["--max-nesting", "18446744073709551615", "-Xs", "out.xml"],
], ids=["cancel-inf", "cancel-9e18", "identifier-2^64", "identifier-23-digits", "nesting-2^64"])
def test_cli_huge_extension_values(scripted_scp, tmp_path, extra):
    scp = scripted_scp(servers.FindScript(matches=servers.match_datasets(3), delay=0.05))
    got = servers.run_fastfind([*extra, "-S", "-k", "QueryRetrieveLevel=STUDY", scp.host, str(scp.port)],
                               cwd=tmp_path, timeout=30)
    assert got.returncode == 0, got.stderr
