"""Inline SVG line plots: no script, no style sheet, no font beyond the page's own.

A plot maps data to pixels with ``y = 0`` at the bottom and ``x = 0`` at the left; its
``data-x-max`` / ``data-y-max`` attributes are the axis ends and ``data-area`` the plot area
(left, top, width, height in px), so a reader (or a test) can map each point of the polyline
back to the value it draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 440, 170
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 22, 30  # margins (px): room for the axis labels
MAX_POINTS = 600  # more samples than this are thinned evenly (the first and last stay)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k that is >= ``value`` (an
    axis end people read, which leaves little of the plot empty)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        top = step * 10.0**exponent
        if top >= value * (1 - 1e-12):
            return top
    return 10.0 ** (exponent + 1)


def thin(
    points: Sequence[tuple[float, float]], limit: int = MAX_POINTS
) -> list[tuple[float, float]]:
    """At most ``limit`` points, evenly spaced by index, keeping the first and the last."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def _label(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def line_plot(title: str, x_label: str, points: Sequence[tuple[float, float]]) -> str:
    """One ``<svg>`` plotting ``points`` (x, y) as a polyline, axes from 0."""
    drawn = thin(points)
    x_max = nice_ceiling(max((x for x, _ in drawn), default=0.0))
    y_max = nice_ceiling(max((y for _, y in drawn), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def px(x: float, y: float) -> str:
        return f"{LEFT + x / x_max * plot_w:.1f},{base - y / y_max * plot_h:.1f}"

    parts = [
        f'<svg class="plot" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" data-series="{escape(title)}" data-x-max="{x_max:g}" data-y-max="{y_max:g}" '
        f'data-area="{LEFT} {TOP} {plot_w} {plot_h}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="14" class="plot-title">{escape(title)}</text>',
    ]
    for i in range(5):  # grid lines and y labels at 0, 1/4 ... 1 of the axis
        y = base - i * plot_h / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_label(y_max * i / 4)}</text>'
        )
    for i in range(3):
        x = LEFT + i * plot_w / 2
        parts.append(
            f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">{_label(x_max * i / 2)}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 2}" text-anchor="end">{escape(x_label)}</text>'
    )
    if drawn:
        coords = " ".join(px(x, y) for x, y in drawn)
        parts.append(f'<polyline points="{coords}" class="line"/>')
    else:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
            'text-anchor="middle">no status lines</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
