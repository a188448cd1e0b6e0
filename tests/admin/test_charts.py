"""The dashboard's SVG chart geometry (pure, no database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bookstore.charts import ChartDay, _nice_ceiling, daily_chart


def _days(values: list[tuple[int, str]]) -> list[ChartDay]:
    start = date(2026, 3, 1)
    return [ChartDay(day=start + timedelta(days=i), orders=o, revenue=Decimal(r)) for i, (o, r) in enumerate(values)]


def test_axis_maxima_are_rounded_up_to_readable_numbers() -> None:
    assert [_nice_ceiling(v) for v in (0, 1, 3, 7, 10, 11, 42, 99, 101, 4999)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        50,
        100,
        200,
        5000,
    ]
    assert _nice_ceiling(0.3) == 0.5


def test_bars_are_proportional_to_orders_and_stand_on_the_baseline() -> None:
    chart = daily_chart(_days([(0, "0"), (5, "50.00"), (10, "100.00")]), currency="EUR")

    assert chart.max_orders == 10
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0
    assert heights[1] * 2 == heights[2] == chart.plot_bottom - chart.plot_top
    assert all(bar.y + bar.height == chart.plot_bottom for bar in chart.bars)
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs)
    assert chart.plot_left <= xs[0]
    assert xs[-1] + chart.bars[-1].width <= chart.plot_right


def test_revenue_line_has_one_point_per_day_scaled_to_the_revenue_axis() -> None:
    chart = daily_chart(_days([(1, "0.00"), (1, "100.00"), (1, "200.00")]), currency="EUR")

    assert chart.max_revenue == Decimal("200")
    points = [tuple(map(float, p.split(","))) for p in chart.revenue_points.split()]
    assert len(points) == 3
    assert points[0][1] == chart.plot_bottom
    assert points[2][1] == chart.plot_top
    assert points[1][1] == (chart.plot_top + chart.plot_bottom) / 2


def test_labels_name_the_day_the_orders_and_the_revenue() -> None:
    chart = daily_chart(_days([(3, "45.50")]), currency="EUR")

    assert chart.bars[0].label == "2026-03-01: 3 orders, 45.50 EUR"
    assert chart.revenue_dots[0][2] == chart.bars[0].label


def test_the_last_day_is_always_labelled_on_the_x_axis() -> None:
    chart = daily_chart(_days([(1, "1")] * 30), currency="EUR")

    assert [t.label for t in chart.x_ticks] == ["02 Mar", "09 Mar", "16 Mar", "23 Mar", "30 Mar"]
    assert chart.x_ticks[-1].x == chart.revenue_dots[-1][0]


def test_an_empty_month_draws_flat_bars_and_line_without_dividing_by_zero() -> None:
    chart = daily_chart(_days([(0, "0")] * 30), currency="EUR")

    assert all(bar.height == 0 for bar in chart.bars)
    assert {float(p.split(",")[1]) for p in chart.revenue_points.split()} == {chart.plot_bottom}
