"""Peer text made safe for a terminal: what the peer sends never drives it (hostile-scp.md row 64).

Every control character -- C0, DEL and C1 (U+0080-U+009F; CSI is U+009B) -- is shown as
``\\xNN``. Used wherever peer text reaches a log line: error comments, association errors that
quote the A-ASSOCIATE-AC, warnings about peer UIDs and character sets, summaries. (The data-set
dump, which works on bytes, has its own rule: :mod:`fastfind.output.dump`.)
"""

from __future__ import annotations

CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """``text`` with C0 controls, DEL and C1 controls shown as ``\\xNN``."""
    return text.translate(CONTROLS)
