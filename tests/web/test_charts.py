"""Chart geometry for the inline SVG charts."""

from __future__ import annotations

from service.web.charts import bar_chart, funnel


def test_bar_chart_scales_to_the_largest_value_and_keeps_the_largest_rows() -> None:
    rows = [(f"第{i}组", (float(i), float(i) / 2)) for i in range(20)]
    chart = bar_chart("图", ("需求", "成果"), rows, limit=5)
    assert [row.label for row in chart.rows] == ["第15组", "第16组", "第17组", "第18组", "第19组"]
    widest = max(bar.width for row in chart.rows for bar in row.bars)
    assert chart.rows[-1].bars[0].width == widest
    assert chart.rows[-1].bars[1].width == widest / 2
    assert all(bar.y < chart.height for row in chart.rows for bar in row.bars)


def test_empty_chart() -> None:
    chart = bar_chart("图", ("需求",), [])
    assert chart.rows == () and chart.height > 0


def test_funnel_rates() -> None:
    shape = funnel("漏斗", [("征集需求", 200), ("推荐对接", 50), ("对接洽谈", 0), ("签约项目", 0)])
    assert [step.rate for step in shape.steps] == ["", "25%", "0%", "—"]
    assert shape.steps[0].width > shape.steps[1].width > 0
    first = shape.steps[0]
    assert first.x + first.width <= shape.width
