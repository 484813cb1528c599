"""SVG charts: parsed with xml.etree, exact geometry and labels, escaped text."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from cancuoc.campaigns import charts

NS = {"s": charts.SVG_NS}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == f"{{{charts.SVG_NS}}}svg"
    return root


@pytest.mark.parametrize(
    ("value", "nice"),
    [
        (0, 1),
        (1, 1),
        (7, 8),
        (718, 800),
        (9_020, 10_000),
        (1_149_122, 1_200_000),
        (101, 120),
        (1_600, 2_000),
    ],
)
def test_nice_max(value, nice):
    assert charts.nice_max(value) == nice


def test_num_rounds_to_two_decimals():
    assert charts.num(179.5) == "179.5"
    assert charts.num(40.0) == "40"
    assert charts.num(12.345) == "12.35" or charts.num(12.345) == "12.34"
    assert charts.num(-0.001) == "0"


def test_unit_bars_heights_and_labels():
    svg = charts.unit_bars(
        [("Huyện Thạch Hà", 718, 600), ("Huyện Lộc Hà", 598, 600), ("Xã <A&B>", 0, 0)],
        title="Ngày 16/3",
        height=300,
    )
    root = parse(svg)
    bars = root.findall("s:rect[@class='bar']", NS)
    # Plot height = 300 − 24 − 110 = 166; axis max 800.
    assert [b.get("height") for b in bars] == [
        "148.99",
        "124.08",
        "0",
    ]  # 718 × 166 / 800, 598 × 166 / 800
    assert bars[0].get("y") == charts.num(24 + 166 - 166 * 718 / 800)
    assert [b.get("data-label") for b in bars] == ["Huyện Thạch Hà", "Huyện Lộc Hà", "Xã <A&B>"]
    assert bars[0].get("fill") == charts.COLOURS["bar"]
    assert bars[1].get("fill") == charts.COLOURS["bar_below"]  # below its quota
    assert bars[0].find("s:title", NS).text == "Huyện Thạch Hà: 718/600 119,7%"
    quotas = root.findall("s:line[@class='quota']", NS)
    assert [q.get("data-value") for q in quotas] == ["600", "600"]  # none for a 0 quota
    assert quotas[0].get("y1") == charts.num(24 + 166 - 166 * 600 / 800)
    labels = [t.text for t in root.findall("s:text[@class='label']", NS)]
    assert labels == ["Huyện Thạch Hà", "Huyện Lộc Hà", "Xã <A&B>"]
    assert "<A&B>" not in svg and "&lt;A&amp;B&gt;" in svg  # escaped in the source
    ticks = [t.text for t in root.findall("s:text[@class='tick']", NS)]
    assert ticks == ["0", "200", "400", "600", "800"]
    assert root.find("s:title", NS).text == "Ngày 16/3"


def test_unit_bars_english_numbers():
    svg = charts.unit_bars([("A", 9_020, 8_400)], language="en")
    root = parse(svg)
    assert [t.text for t in root.findall("s:text[@class='tick']", NS)][-1] == "10,000"
    assert root.find("s:rect[@class='bar']/s:title", NS).text == "A: 9,020/8,400 107.4%"


def test_cumulative_chart_lines():
    start, deadline = dt.date(2021, 3, 1), dt.date(2021, 3, 11)
    days = [start + dt.timedelta(i) for i in range(5)]
    svg = charts.cumulative_chart(
        days=days,
        cumulative=[100, 250, 400, 500, 600],
        target=1_000,
        start=start,
        deadline=deadline,
        title="Tiến độ",
        width=640,
        height=280,
    )
    root = parse(svg)
    # Plot: left 64, width 560 (56 a day), top 24, height 220 (0.22 per dossier).
    line = root.find("s:polyline[@class='cumulative']", NS)
    assert line.get("points").split() == ["64,222", "120,189", "176,156", "232,134", "288,112"]
    target = root.find("s:line[@class='target']", NS)
    assert (target.get("y1"), target.get("data-value")) == ("24", "1000")
    required = root.find("s:line[@class='required']", NS)
    assert [required.get(k) for k in ("x1", "y1", "x2", "y2")] == ["288", "112", "624", "24"]
    assert root.find("s:text[@class='target-label']", NS).text == "1.000"
    assert [t.text for t in root.findall("s:text[@class='day']", NS)] == [
        "01/03/2021",
        "11/03/2021",
    ]


def test_cumulative_chart_without_required_line_when_reached():
    start = dt.date(2021, 3, 1)
    svg = charts.cumulative_chart(
        days=[start], cumulative=[1_200], target=1_000, start=start, deadline=dt.date(2021, 3, 2)
    )
    root = parse(svg)
    assert root.find("s:line[@class='required']", NS) is None
    assert charts.nice_max(1_200) == 1_200


def test_heat_table_colours_and_tooltips():
    days = [dt.date(2021, 3, 15), dt.date(2021, 3, 16)]
    svg = charts.heat_table(
        units=["Huyện Thạch Hà", "Huyện Lộc Hà"],
        days=days,
        values=[[Decimal("119.7"), Decimal("79.9")], [None, Decimal("100.0")]],
        title="Heat",
    )
    root = parse(svg)
    cells = root.findall("s:rect[@class='cell']", NS)
    assert [c.get("fill") for c in cells] == ["#1a9850", "#d73027", charts.HEAT_NONE, "#91cf60"]
    assert cells[0].find("s:title", NS).text == "Huyện Thạch Hà, 15/03/2021: 119,7%"
    assert cells[2].find("s:title", NS).text == "Huyện Lộc Hà, 15/03/2021: —"
    assert [c.get("data-value") for c in cells] == ["119.7", "79.9", "", "100.0"]
    assert [t.text for t in root.findall("s:text[@class='unit']", NS)] == [
        "Huyện Thạch Hà",
        "Huyện Lộc Hà",
    ]
    assert len(root.findall("s:rect[@class='legend']", NS)) == 4


def test_heat_colour_bounds():
    assert charts.heat_colour(Decimal("80.0")) == "#fc8d59"
    assert charts.heat_colour(Decimal("109.9")) == "#91cf60"
    assert charts.heat_colour(Decimal("110")) == "#1a9850"
    assert charts.heat_colour(Decimal("0")) == "#d73027"
