"""A history plot per store × item × indicator: the values DHIS2 holds per period, as the
geometry of a server-drawn SVG (the template writes the markup, escaped like every page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dhispatch.runtime.console.journal_view import Entry
from dhispatch.runtime.journal import CellKey

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48


@dataclass(frozen=True, slots=True)
class Point:
    period: str
    value: float
    text: str  # the value as sent
    state: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Plot:
    points: tuple[Point, ...]
    low: float
    high: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    right: int = WIDTH - RIGHT

    @property
    def path(self) -> str:
        """The polyline through the points, oldest first."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def series(known: Mapping[CellKey, Entry], store: str, item: str, step: str) -> list[Entry]:
    """The entries of one store × item × step (indicator), by period."""
    found = [e for e in known.values() if (e.store, e.item, e.step) == (store, item, step)]
    return sorted(found, key=lambda e: (e.key.period, e.key.coc, e.key.data_element))


def plot(entries: list[Entry]) -> Plot:
    """Points spaced evenly by period, scaled from 0 (or the lowest value) to the highest."""
    numeric = [(e, float(e.value)) for e in entries if _number(e.value)]
    if not numeric:
        return Plot((), 0.0, 0.0)
    values = [v for _, v in numeric]
    low, high = min(0.0, *values), max(values)
    span = (high - low) or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(1, len(numeric) - 1)
    points = tuple(
        Point(e.key.period, v, e.value, e.state,
              LEFT + (i * step if len(numeric) > 1 else inner_w / 2),
              TOP + inner_h * (1 - (v - low) / span))
        for i, (e, v) in enumerate(numeric)
    )  # fmt: skip
    return Plot(points, low, high)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
