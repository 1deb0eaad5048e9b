"""Charts as server-side SVG, written by hand.

Why not a library: the charts are two simple shapes (a line per year, bars per kind), must show
suppressed figures as gaps with a "fewer than 10" note rather than as numbers, and must run with
no JavaScript and no new dependency. A few dozen lines of SVG do that, escape every text, and
render the same in every browser (and in headless Chromium for the tests). Every label passes
through ``xml.sax.saxutils.escape``.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from federation.suppression import Figure

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 32, 48
INK, MUTED, ACCENT, GRID = "#1f2933", "#7b8794", "#2f6fde", "#e4e7eb"


def _scale(values: Sequence[int | None]) -> int:
    top = max([v for v in values if v is not None] + [10])
    step = int(10 ** (len(str(top)) - 1))
    return ((top + step - 1) // step) * step


def _frame(title: str, body: list[str], scale: int) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    grid = []
    for i in range(5):
        value = scale * i // 4
        y = TOP + plot_h - plot_h * i / 4
        grid.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>')
        grid.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">{value}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}" '
        'font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>"
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="600" fill="{INK}">{escape(title)}</text>'
        + "".join(grid)
        + "".join(body)
        + "</svg>"
    )


def trend(title: str, labels: Sequence[str], figures: Sequence[Figure]) -> str:
    """A line over program years; suppressed years break the line and say "fewer than 10"."""
    scale = _scale([f.value for f in figures if f.value is not None])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(labels), 1)
    xs = [LEFT + plot_w * (i + 0.5) / n for i in range(n)]
    body: list[str] = []
    segment: list[str] = []
    for x, label, f in zip(xs, labels, figures, strict=True):
        body.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" font-size="11" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        if f.value is None:
            if len(segment) > 1:
                body.append(f'<polyline fill="none" stroke="{ACCENT}" stroke-width="2" points="{" ".join(segment)}"/>')
            segment = []
            body.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h - 6}" text-anchor="middle" font-size="10" '
                f'fill="{MUTED}">fewer than 10</text>'
            )
            continue
        y = TOP + plot_h - plot_h * f.value / scale
        segment.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{ACCENT}"/>')
        body.append(
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="11" fill="{INK}">{f.value}</text>'
        )
    if len(segment) > 1:
        body.append(f'<polyline fill="none" stroke="{ACCENT}" stroke-width="2" points="{" ".join(segment)}"/>')
    return _frame(title, body, scale)


def bars(title: str, labels: Sequence[str], figures: Sequence[Figure]) -> str:
    """Bars per space kind; a suppressed figure has no bar and says "fewer than 10"."""
    scale = _scale([f.value for f in figures if f.value is not None])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(labels), 1)
    slot = plot_w / n
    body: list[str] = []
    for i, (label, f) in enumerate(zip(labels, figures, strict=True)):
        x = LEFT + slot * i
        cx = x + slot / 2
        body.append(
            f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" font-size="11" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        if f.value is None:
            body.append(
                f'<text x="{cx:.1f}" y="{TOP + plot_h - 6}" text-anchor="middle" font-size="10" '
                f'fill="{MUTED}">fewer than 10</text>'
            )
            continue
        h = plot_h * f.value / scale
        body.append(
            f'<rect x="{x + slot * 0.2:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{h:.1f}" fill="{ACCENT}"/>'
        )
        body.append(
            f'<text x="{cx:.1f}" y="{TOP + plot_h - h - 6:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{INK}">{f.value}</text>'
        )
    return _frame(title, body, scale)
