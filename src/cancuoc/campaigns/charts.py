"""Server-side SVG charts for the campaign dashboard and the PDF report.

Pure Python (no Django): each function takes plain figures and returns an SVG document as
a string, so the page and the PDF (WeasyPrint renders SVG) show the same charts and no
JavaScript is needed. Every text is XML-escaped (unit names come from data). Geometry is
rounded to 0.01 px and the scales are "nice" (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ),
so a bar's height is exactly value ÷ axis maximum × plot height.

Charts:
* `cumulative_chart`: cumulative received against the target, with the required-pace
  line from the last day to the target on the deadline;
* `unit_bars`: per unit, the day's received as a bar and its quota as a tick;
* `heat_table`: day × unit, each cell coloured by the % of the day's quota.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from cancuoc.campaigns.quotas import format_int, format_percent

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "DejaVu Sans, Arial, sans-serif"
_NICE = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)

#: Heat table colours by % of quota: (lower bound, fill, legend label).
HEAT_SCALE: tuple[tuple[int, str, str], ...] = (
    (0, "#d73027", "< 80%"),
    (80, "#fc8d59", "80–100%"),
    (100, "#91cf60", "100–110%"),
    (110, "#1a9850", "≥ 110%"),
)
HEAT_NONE = "#e5e5e5"
COLOURS = {
    "bar": "#4575b4",
    "bar_below": "#d73027",
    "quota": "#222222",
    "line": "#4575b4",
    "target": "#1a9850",
    "required": "#d73027",
    "grid": "#dddddd",
    "text": "#222222",
}


def nice_max(value: float) -> float:
    """The smallest "nice" number ≥ value (1 for 0 or less)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in _NICE:
        if step * power >= value:
            nice = step * power
            return int(nice) if float(nice).is_integer() else nice
    return 10 * power  # pragma: no cover - 10 is in _NICE


def num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros ("179.5", "40", "12.25")."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(x: float, y: float, content: str, **attrs: str) -> str:
    extra = "".join(f" {name.replace('_', '-')}={quoteattr(v)}" for name, v in attrs.items())
    return f'<text x="{num(x)}" y="{num(y)}"{extra}>{escape(content)}</text>'


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="{SVG_NS}" width="{num(width)}" height="{num(height)}" '
        f'viewBox="0 0 {num(width)} {num(height)}" role="img" aria-label={quoteattr(title)} '
        f'font-family={quoteattr(FONT)} font-size="11">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _y_axis(
    *, left: float, top: float, plot_w: float, plot_h: float, axis_max: float, language: str
) -> list[str]:
    parts = []
    for i in range(5):
        value = axis_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{num(left)}" y1="{num(y)}" x2="{num(left + plot_w)}" '
            f'y2="{num(y)}" stroke="{COLOURS["grid"]}" stroke-width="1"/>'
        )
        label = format_int(round(value), language)
        parts.append(_text(left - 4, y + 4, label, text_anchor="end", **{"class": "tick"}))
    return parts


# --- Cumulative against target ------------------------------------------------------------


def cumulative_chart(
    *,
    days: Sequence[dt.date],
    cumulative: Sequence[int],
    target: int,
    start: dt.date,
    deadline: dt.date,
    title: str = "",
    language: str = "vi",
    width: int = 640,
    height: int = 280,
) -> str:
    """Cumulative received (a line) against the target (a horizontal line), with the
    required-pace line from the last day's cumulative to the target on the deadline."""
    left, right, top, bottom = 64.0, 16.0, 24.0, 36.0
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max(1, (deadline - start).days)
    reached = max(cumulative) if cumulative else 0
    axis_max = nice_max(max(target, reached))

    def x(day: dt.date) -> float:
        return left + plot_w * (day - start).days / span

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / axis_max

    body = _y_axis(
        left=left, top=top, plot_w=plot_w, plot_h=plot_h, axis_max=axis_max, language=language
    )
    body.append(
        f'<line class="target" x1="{num(left)}" y1="{num(y(target))}" x2="{num(left + plot_w)}" '
        f'y2="{num(y(target))}" stroke="{COLOURS["target"]}" stroke-width="2" '
        f'data-value="{target}"/>'
    )
    body.append(
        _text(
            left + plot_w,
            y(target) - 4,
            format_int(target, language),
            text_anchor="end",
            **{"class": "target-label"},
        )
    )
    if days:
        points = " ".join(f"{num(x(d))},{num(y(v))}" for d, v in zip(days, cumulative, strict=True))
        body.append(
            f'<polyline class="cumulative" points="{points}" fill="none" '
            f'stroke="{COLOURS["line"]}" stroke-width="2"/>'
        )
        last_day, last = days[-1], cumulative[-1]
        if last < target and last_day < deadline:
            body.append(
                f'<line class="required" x1="{num(x(last_day))}" y1="{num(y(last))}" '
                f'x2="{num(x(deadline))}" y2="{num(y(target))}" stroke="{COLOURS["required"]}" '
                f'stroke-width="2" stroke-dasharray="6 4"/>'
            )
        body.append(
            _text(
                x(last_day) + 4,
                y(last) - 6,
                format_int(last, language),
                **{"class": "last-label"},
            )
        )
    for day, anchor in ((start, "start"), (deadline, "end")):
        body.append(
            _text(
                x(day), top + plot_h + 16, f"{day:%d/%m/%Y}", text_anchor=anchor, **{"class": "day"}
            )
        )
    return _svg(width, height, title, body)


# --- Per-unit bars against quota ------------------------------------------------------------


def unit_bars(
    rows: Sequence[tuple[str, int, int]],
    *,
    title: str = "",
    language: str = "vi",
    height: int = 300,
    band: int = 36,
) -> str:
    """One bar per (label, received, quota): the bar is the received count, the black tick
    across it the quota; bars below their quota are red."""
    left, right, top, bottom = 64.0, 16.0, 24.0, 110.0
    plot_h = height - top - bottom
    plot_w = max(1, len(rows)) * band
    width = left + plot_w + right
    axis_max = nice_max(max([max(r, q) for _l, r, q in rows], default=0))
    body = _y_axis(
        left=left, top=top, plot_w=plot_w, plot_h=plot_h, axis_max=axis_max, language=language
    )
    bar_w = band * 0.6
    base = top + plot_h
    for i, (label, received, quota) in enumerate(rows):
        x0 = left + i * band + (band - bar_w) / 2
        h = plot_h * received / axis_max
        colour = COLOURS["bar_below"] if quota and received < quota else COLOURS["bar"]
        pct = format_percent(Decimal(received) * 100 / quota, language) if quota else ""
        tooltip = f"{label}: {format_int(received, language)}/{format_int(quota, language)} {pct}"
        body.append(
            f'<rect class="bar" x="{num(x0)}" y="{num(base - h)}" width="{num(bar_w)}" '
            f'height="{num(h)}" fill="{colour}" data-label={quoteattr(label)} '
            f'data-value="{received}"><title>{escape(tooltip.strip())}</title></rect>'
        )
        if quota:
            qy = base - plot_h * quota / axis_max
            body.append(
                f'<line class="quota" x1="{num(x0 - 3)}" y1="{num(qy)}" x2="{num(x0 + bar_w + 3)}" '
                f'y2="{num(qy)}" stroke="{COLOURS["quota"]}" stroke-width="2" '
                f'data-value="{quota}"/>'
            )
        cx = left + i * band + band / 2
        body.append(
            _text(
                cx,
                base + 12,
                label,
                text_anchor="end",
                transform=f"rotate(-45 {num(cx)} {num(base + 12)})",
                **{"class": "label"},
            )
        )
    return _svg(width, height, title, body)


# --- Day × unit heat table -------------------------------------------------------------------


def heat_colour(pct: Decimal | None) -> str:
    if pct is None:
        return HEAT_NONE
    colour = HEAT_SCALE[0][1]
    for bound, fill, _label in HEAT_SCALE:
        if pct >= bound:
            colour = fill
    return colour


def heat_table(
    *,
    units: Sequence[str],
    days: Sequence[dt.date],
    values: Sequence[Sequence[Decimal | None]],
    title: str = "",
    language: str = "vi",
    cell: int = 16,
    label_width: int = 180,
) -> str:
    """One row per unit, one column per day; a cell's colour is its % of the day's quota
    (grey: closed day or no quota), its tooltip the figure."""
    top, header = 8.0, 40.0
    width = label_width + cell * max(1, len(days)) + 8
    height = top + header + cell * len(units) + 40
    body: list[str] = []
    for j, day in enumerate(days):
        cx = label_width + j * cell + cell / 2
        if j % 7 == 0 or j == len(days) - 1:
            body.append(
                _text(
                    cx,
                    top + header - 4,
                    f"{day:%d/%m}",
                    text_anchor="start",
                    transform=f"rotate(-60 {num(cx)} {num(top + header - 4)})",
                    **{"class": "day"},
                )
            )
    # A province has thousands of cells: each column's x and date, and each distinct
    # percentage's text and colour, are worked out once.
    columns = [(num(label_width + j * cell), f"{day:%d/%m/%Y}") for j, day in enumerate(days)]
    looks: dict[Decimal | None, tuple[str, str, str]] = {}
    for i, (unit, row) in enumerate(zip(units, values, strict=True)):
        y0 = top + header + i * cell
        y = num(y0)
        body.append(
            _text(label_width - 6, y0 + cell - 4, unit, text_anchor="end", **{"class": "unit"})
        )
        for (x, date), pct in zip(columns, row, strict=True):
            look = looks.get(pct)
            if look is None:
                look = looks[pct] = (
                    format_percent(pct, language),
                    heat_colour(pct),
                    "" if pct is None else str(pct),
                )
            shown, fill, value = look
            tooltip = f"{unit}, {date}: {shown}"
            body.append(
                f'<rect class="cell" x="{x}" y="{y}" '
                f'width="{cell - 1}" height="{cell - 1}" fill="{fill}" '
                f'data-value="{value}"><title>{escape(tooltip)}</title></rect>'
            )
    legend_y = top + header + cell * len(units) + 14
    for k, (_bound, fill, label) in enumerate(HEAT_SCALE):
        lx = label_width + k * 90
        body.append(
            f'<rect class="legend" x="{num(lx)}" y="{num(legend_y)}" width="12" height="12" '
            f'fill="{fill}"/>'
        )
        body.append(_text(lx + 16, legend_y + 10, label, **{"class": "legend-label"}))
    return _svg(width, height, title, body)
