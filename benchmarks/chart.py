"""An SVG bar chart of benchmark ratios (no plotting library needed): one bar per measurement,
its target as a tick, DCMTK's time as the line at 1.0.

    python benchmarks/chart.py results.json batch.json > results.svg   # compare.py's and batch.py's
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path

ROW = 22
LEFT = 250
WIDTH = 820
SCALE_MAX = 1.2


def draw(rows: list[dict], title: str) -> str:  # type: ignore[type-arg]
    """rows: dicts with "ratio", "target" and a label built from "mode", "n", "storage"."""
    top = 40
    height = top + ROW * len(rows) + 50
    plot = WIDTH - LEFT - 30
    top_value = max([SCALE_MAX, *(r["ratio"] * 1.05 for r in rows)])

    def x(v: float) -> float:
        return LEFT + plot * min(v, top_value) / top_value

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
    ]
    for tick in [i / 10 for i in range(0, int(top_value * 10) + 1, 2)]:
        out.append(f'<line x1="{x(tick):.1f}" y1="{top - 5}" x2="{x(tick):.1f}" '
                   f'y2="{top + ROW * len(rows)}" stroke="#ddd"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{top + ROW * len(rows) + 15}" '
                   f'text-anchor="middle">{tick:.1f}</text>')
    for i, r in enumerate(rows):
        y = top + i * ROW
        label = r.get("label") or " ".join(str(r[k]) for k in ("mode", "n", "storage") if r.get(k) not in (None, "-"))
        target = r.get("target")
        colour = "#999" if target is None else ("#3a7d44" if r["ratio"] <= target else "#c0392b")
        out.append(f'<text x="{LEFT - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{LEFT}" y="{y + 4}" width="{x(r["ratio"]) - LEFT:.1f}" height="{ROW - 8}" '
                   f'fill="{colour}"/>')
        if target is not None:
            out.append(f'<line x1="{x(target):.1f}" y1="{y + 1}" x2="{x(target):.1f}" '
                       f'y2="{y + ROW - 1}" stroke="black" stroke-width="2"/>')
        out.append(f'<text x="{x(r["ratio"]) + 4:.1f}" y="{y + 15}">{r["ratio"]:.2f}</text>')
    y_end = top + ROW * len(rows)
    out.append(f'<line x1="{x(1.0):.1f}" y1="{top - 5}" x2="{x(1.0):.1f}" y2="{y_end}" '
               'stroke="#555" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{x(1.0) + 3:.1f}" y="{top - 8}">DCMTK = 1.0</text>')
    out.append(f'<text x="{LEFT}" y="{y_end + 35}">bar: ratio (green: target met, red: not, grey: no target); '
               'black tick: the target</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    """``chart.py A.json [B.json ...]``: the "targets" of every file, in one chart, on stdout."""
    rows = []
    for name in argv:
        rows += json.loads(Path(name).read_text())["targets"]
    sys.stdout.write(draw(rows, "fastfind wall (quiet: CPU) ÷ DCMTK findscu's, lower is better"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
