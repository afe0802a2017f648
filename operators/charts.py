"""The statistics' charts: SVG drawn on the server by pygal, shown as <img> (data: URIs).

pygal was chosen by measurement (docs/statistics.md, benchmarks/compare_charts.py): the fastest
of the candidates and the lightest in memory. An SVG inside an <img> runs no script and loads
nothing, so the dashboard's strict Content-Security-Policy stays as it is (img-src data:), the
same file works when the bulletin is saved or printed, and every chart has its numbers in the
table beside it. Hidden counts ("<5") are not drawn: their bars are missing.
"""

from __future__ import annotations

import base64
from typing import Any

import pygal
from pygal.style import Style

from bot.stats.tables import Table

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#dde1e7",
    opacity=".9",
    opacity_hover="1",
    colors=("#1f5f8b", "#9bb8cf", "#2e6b3a", "#b35c00", "#b3261e", "#6b4e9b", "#5d6675"),
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=11,
    legend_font_size=12,
    title_font_size=14,
    tooltip_font_size=11,
)
HEAT_STYLE = Style(**{**STYLE.__dict__, "colors": ("#1f5f8b",) * 7})
COMMON: dict[str, Any] = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "explicit_size": True,
    "show_legend": True,
    "legend_at_bottom": True,
    "print_values": False,
    "margin": 8,
    "no_data_text": "Nessun dato",
    "truncate_label": 40,
    "truncate_legend": 40,
}


def _rows(table: Table) -> list[list[Any]]:
    return table.rows[:-1] if table.total_row else table.rows


def _values(table: Table, column: int, *, top_down: bool = False) -> list[float | None]:
    values = [row[column].value for row in _rows(table)]
    return values[::-1] if top_down else values


def svg(table: Table) -> str:
    """The chart of a table, as SVG text ("" when the table has none)."""
    labels = [row[0].text for row in _rows(table)]
    if table.chart == "compare":
        chart = pygal.HorizontalBar(width=640, height=max(160, 40 + 34 * len(labels)), **COMMON)
        chart.x_labels = labels[::-1]  # pygal draws horizontal bars from the bottom up
        chart.add(table.header[1], _values(table, 1, top_down=True))
        chart.add(table.header[2], _values(table, 2, top_down=True))
    elif table.chart == "bars":
        chart = pygal.Bar(
            width=640, height=260, x_label_rotation=20, **{**COMMON, "show_legend": False}
        )
        chart.x_labels = labels
        chart.add(table.header[1], _values(table, 1))
    elif table.chart == "heat":
        chart = pygal.Dot(
            width=760,
            height=300,
            style=HEAT_STYLE,
            **{k: v for k, v in COMMON.items() if k != "style"} | {"show_legend": False},
        )
        chart.x_labels = [table.header[i] for i in table.series]
        for row in reversed(_rows(table)):
            chart.add(row[0].text, [row[i].value for i in table.series])
        chart.y_labels = [row[0].text for row in reversed(_rows(table))]
    elif table.chart == "stack":
        chart = pygal.HorizontalStackedBar(
            width=640, height=max(160, 60 + 34 * len(labels)), **COMMON
        )
        chart.x_labels = labels[::-1]
        for i in table.series:
            chart.add(table.header[i], _values(table, i, top_down=True))
    else:
        return ""
    chart.title = None
    return str(chart.render(is_unicode=True))


def data_uri(table: Table) -> str:
    """The chart as a data: URI for an <img> ("" when the table has none)."""
    drawn = svg(table)
    if not drawn:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(drawn.encode()).decode()
