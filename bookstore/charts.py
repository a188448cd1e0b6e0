"""Server-side SVG chart geometry for the admin dashboard.

Pure: numbers in, coordinates out; the template draws them. No JavaScript and
no external assets, so the dashboard works offline and under a strict CSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WIDTH = 880
HEIGHT = 240
PAD_LEFT = 40
PAD_RIGHT = 56
PAD_TOP = 12
PAD_BOTTOM = 28


@dataclass(frozen=True)
class ChartDay:
    """One day of the series: orders placed and their revenue."""

    day: date
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class DailyChart:
    """Everything the template needs to draw bars (orders) and a line (revenue)."""

    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    bars: list[Bar]
    revenue_points: str
    revenue_dots: list[tuple[float, float, str]]
    x_ticks: list[Tick]
    max_orders: int
    max_revenue: Decimal
    currency: str

    @property
    def left_label_x(self) -> float:
        return self.plot_left - 6

    @property
    def right_label_x(self) -> float:
        return self.plot_right + 6

    @property
    def top_label_y(self) -> float:
        return self.plot_top + 4

    @property
    def tick_label_y(self) -> float:
        return self.height - 8


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times 10^n that is >= value (a readable axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop above always returns


def daily_chart(days: Sequence[ChartDay], *, currency: str) -> DailyChart:
    """Lay out ``days`` (oldest first) as bars for orders and a polyline for revenue."""
    plot_left, plot_right = float(PAD_LEFT), float(WIDTH - PAD_RIGHT)
    plot_top, plot_bottom = float(PAD_TOP), float(HEIGHT - PAD_BOTTOM)
    plot_w, plot_h = plot_right - plot_left, plot_bottom - plot_top
    count = max(len(days), 1)
    slot = plot_w / count
    bar_w = max(slot * 0.7, 1.0)

    max_orders = int(_nice_ceiling(max((d.orders for d in days), default=0)))
    max_revenue = Decimal(str(_nice_ceiling(float(max((d.revenue for d in days), default=Decimal(0))))))

    bars: list[Bar] = []
    dots: list[tuple[float, float, str]] = []
    ticks: list[Tick] = []
    for i, d in enumerate(days):
        x_slot = plot_left + i * slot
        height = plot_h * d.orders / max_orders
        label = f"{d.day.isoformat()}: {d.orders} orders, {d.revenue:.2f} {currency}"
        bars.append(
            Bar(
                x=round(x_slot + (slot - bar_w) / 2, 2),
                y=round(plot_bottom - height, 2),
                width=round(bar_w, 2),
                height=round(height, 2),
                label=label,
            )
        )
        cx = round(x_slot + slot / 2, 2)
        cy = round(plot_bottom - plot_h * float(d.revenue / max_revenue), 2)
        dots.append((cx, cy, label))
        # A date under every 7th bar counted back from today, so today is always labelled.
        if (len(days) - 1 - i) % 7 == 0:
            ticks.append(Tick(x=cx, label=d.day.strftime("%d %b")))

    return DailyChart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        bars=bars,
        revenue_points=" ".join(f"{x},{y}" for x, y, _ in dots),
        revenue_dots=dots,
        x_ticks=ticks,
        max_orders=max_orders,
        max_revenue=max_revenue,
        currency=currency,
    )
