"""Charts drawn on the server as inline SVG: the geometry is computed here, the templates
(``_charts.html``) only draw it. No JavaScript; every chart also has its numbers as a table.
Coordinates are SVG user units (pixels at 100 % zoom)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BarChart", "Funnel", "bar_chart", "funnel"]

LABEL_WIDTH = 190
PLOT_WIDTH = 380
VALUE_ROOM = 50
BAR_HEIGHT = 11
ROW_GAP = 10
STEP_HEIGHT = 40
FUNNEL_LABEL = 130
FUNNEL_PLOT = 360
FUNNEL_RATE = 70


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: int  # which series (colour) it draws
    value: float


@dataclass(frozen=True)
class Row:
    label: str
    label_y: float
    bars: tuple[Rect, ...]


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one group of ``len(series)`` bars per row."""

    title: str
    series: tuple[str, ...]
    rows: tuple[Row, ...]
    width: float
    height: float
    label_width: float


def _text(value: float) -> str:
    return f"{value:g}"


def bar_chart(
    title: str,
    series: Sequence[str],
    data: Sequence[tuple[str, Sequence[float]]],
    limit: int = 12,
) -> BarChart:
    """A chart of ``data`` rows (label, one value per series), the ``limit`` largest rows (by
    their sum) in their given order."""
    largest = sorted(data, key=lambda row: -sum(row[1]))[:limit]
    kept = [row for row in data if row in largest]
    peak = max((max(values, default=0) for _, values in kept), default=0) or 1
    rows, y = [], 8.0
    for label, values in kept:
        bars = []
        for number, value in enumerate(values):
            width = PLOT_WIDTH * value / peak
            bars.append(
                Rect(
                    LABEL_WIDTH,
                    y + number * BAR_HEIGHT,
                    max(width, 1),
                    BAR_HEIGHT - 1,
                    number,
                    value,
                )
            )
        group_height = BAR_HEIGHT * len(values)
        rows.append(Row(label, y + group_height / 2 + 4, tuple(bars)))
        y += group_height + ROW_GAP
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_ROOM
    return BarChart(title, tuple(series), tuple(rows), width, y + 4, LABEL_WIDTH)


@dataclass(frozen=True)
class Step:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    rate: str  # share of the previous step, "" for the first


@dataclass(frozen=True)
class Funnel:
    title: str
    steps: tuple[Step, ...]
    width: float
    height: float
    label_width: float


def funnel(title: str, data: Sequence[tuple[str, float]]) -> Funnel:
    """Centred bars narrowing from the first step, each with its share of the one before."""
    peak = max((value for _, value in data), default=0) or 1
    steps, previous = [], None
    for number, (label, value) in enumerate(data):
        width = max(FUNNEL_PLOT * value / peak, 2)
        rate = ""
        if previous is not None:
            rate = f"{value / previous:.0%}" if previous else "—"
        steps.append(
            Step(
                label,
                value,
                FUNNEL_LABEL + (FUNNEL_PLOT - width) / 2,
                number * STEP_HEIGHT + 4,
                width,
                STEP_HEIGHT - 8,
                rate,
            )
        )
        previous = value
    width = FUNNEL_LABEL + FUNNEL_PLOT + FUNNEL_RATE
    return Funnel(title, tuple(steps), width, len(steps) * STEP_HEIGHT + 8, FUNNEL_LABEL)
