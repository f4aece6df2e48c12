"""Chart geometry for server-rendered SVG: plain numbers here, markup in the templates
(where every label is escaped), so the charts read without JavaScript.
"""

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 960
HEIGHT = 200
LABEL_ROOM = 22  # under the columns, for the x labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    show_label: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int


def columns(points: Sequence[tuple[str, int]], width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """Vertical columns, one per point, labelled about every seventh."""
    peak = max((value for _, value in points), default=0)
    plot = height - LABEL_ROOM
    step = width / max(len(points), 1)
    every = max(len(points) // 6, 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = plot * value / peak if peak else 0.0
        bars.append(
            Bar(
                x=round(index * step + step * 0.1, 1),
                y=round(plot - bar_height, 1),
                width=round(step * 0.8, 1),
                height=round(bar_height, 1),
                label=label,
                value=value,
                show_label=index % every == 0 or index == len(points) - 1,
            )
        )
    return Chart(width, height, bars, peak)


def hbars(items: Sequence[tuple[str, int]], width: int = 320, row: int = 22) -> Chart:
    """Horizontal bars, one row per item, the longest filling the width."""
    peak = max((value for _, value in items), default=0)
    bars = [
        Bar(
            x=0,
            y=index * row,
            width=round(width * value / peak, 1) if peak else 0.0,
            height=row - 6,
            label=label,
            value=value,
            show_label=True,
        )
        for index, (label, value) in enumerate(items)
    ]
    return Chart(width, max(len(items), 1) * row, bars, peak)
