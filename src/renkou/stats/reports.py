"""The standard report forms (报表), built from data element and indicator values, and their files.

A form is a table: a title, the reporting unit and period, columns grouped under merged headers, and rows
(the unit and its children, or categories such as birth orders and age groups). The same table is shown on the
page, returned by the API as JSON, and written to CSV or to an XLSX that looks like the paper form.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period
from renkou.stats.cube import Cube
from renkou.stats.elements import AGE5
from renkou.stats.indicators import Definition, compute
from renkou.stats.models import Indicator
from renkou.stats.selectors import cube_for, published_periods, units_for_report


@dataclass
class Column:
    key: str
    label: str
    group: str = ""
    decimals: int = 0
    unit: str = ""


@dataclass
class Row:
    label: str
    code: str
    values: dict[str, float | None]
    total: bool = False


@dataclass
class FormTable:
    form: str
    title: str
    unit: OrgUnit
    period: Period
    columns: list[Column]
    rows: list[Row]
    row_header: str
    unit_note: str = ""
    published: bool = False
    generated_at: datetime = field(default_factory=timezone.now)

    def as_json(self) -> dict:
        return {
            "form": self.form, "title": self.title, "unit": {"code": self.unit.code, "name": self.unit.name},
            "period": {"code": self.period.code, "label": str(self.period.label),
                       "start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "published": self.published,
            "columns": [{"key": c.key, "label": c.label, "group": c.group, "decimals": c.decimals, "unit": c.unit}
                        for c in self.columns],
            "rows": [{"label": r.label, "code": r.code, "values": r.values} for r in self.rows],
        }

    def header_cells(self) -> tuple[list[tuple[str, int, int]], list[str]]:
        """The two header rows of a page: (label, colspan, rowspan) above, the grouped columns' labels below."""
        top: list[tuple[str, int, int]] = []
        i = 0
        for group, span in self.header_groups():
            top.append((group, span, 1) if group else (self.columns[i].label, 1, 2))
            i += span
        return top, [c.label for c in self.columns if c.group]

    def cells(self, row: Row) -> list[str]:
        out = []
        for c in self.columns:
            v = row.values.get(c.key)
            out.append("—" if v is None else f"{v:,.{c.decimals}f}")
        return out

    def header_groups(self) -> list[tuple[str, int]]:
        """(group label, span) for the first header row; an ungrouped column is its own group of 1."""
        out: list[tuple[str, int]] = []
        for c in self.columns:
            if c.group and out and out[-1][0] == c.group:
                out[-1] = (c.group, out[-1][1] + 1)
            else:
                out.append((c.group, 1))
        return out


def _num(v: float) -> float | int | None:
    if v is None or math.isnan(v) or math.isinf(v):
        return None
    return int(v) if float(v).is_integer() else round(float(v), 6)


class _Values:
    """Element and indicator values of one period for a set of units."""

    def __init__(self, units: list[OrgUnit], period: Period):
        self.period = period
        self.cube: Cube = cube_for([period], [u.code for u in units]).aligned([(u.code, period.code) for u in units])
        self.col = {u.code: j for j, u in enumerate(units)}
        self.indicators = {i.code: i for i in Indicator.objects.all()}
        self._computed: dict[str, object] = {}

    def el(self, unit: OrgUnit, element: str, coc: str = "") -> float | None:
        return _num(self.cube.value((element, coc), unit.code, self.period.code))

    def ind(self, unit: OrgUnit, code: str, part: str = "value") -> float | None:
        if code not in self._computed:
            self._computed[code] = compute(Definition.of(self.indicators[code]), self.cube)
        arr = getattr(self._computed[code], part)
        return None if arr is None else _num(arr[self.col[unit.code]])


def _units_rows(unit: OrgUnit, columns: list[Column], fill: Callable[[_Values, OrgUnit], dict], period: Period
                ) -> list[Row]:
    units = units_for_report(unit)
    vals = _Values(units, period)
    rows = [Row(label=u.name, code=u.code, values=fill(vals, u), total=(u.pk == unit.pk)) for u in units[1:]]
    return [Row(label=_("Total"), code=unit.code, values=fill(vals, unit), total=True), *rows]


def _pop_births(unit: OrgUnit, period: Period) -> tuple[list[Column], list[Row], str]:
    g_pop, g_births = _("Population at the end of the period"), _("Live births in the period")
    cols = [
        Column("pop", _("Total"), g_pop), Column("pop_m", _("Male"), g_pop), Column("pop_f", _("Female"), g_pop),
        Column("mw", _("Married women aged 15–49")),
        Column("births", _("Total"), g_births), Column("o1", _("First child"), g_births),
        Column("o2", _("Second child"), g_births), Column("o3", _("Third and later"), g_births),
        Column("earlier", _("Births of earlier periods reported late")),
        Column("deaths", _("Deaths")),
    ]

    def fill(v: _Values, u: OrgUnit) -> dict:
        return {"pop": v.el(u, "POP_END"), "pop_m": v.el(u, "POP_END", "MALE"), "pop_f": v.el(u, "POP_END", "FEMALE"),
                "mw": v.el(u, "MWOMEN_15_49_END"), "births": v.el(u, "LIVE_BIRTHS"),
                "o1": v.el(u, "LIVE_BIRTHS_ORDER", "O1"), "o2": v.el(u, "LIVE_BIRTHS_ORDER", "O2"),
                "o3": v.el(u, "LIVE_BIRTHS_ORDER", "O3P"), "earlier": v.el(u, "LIVE_BIRTHS_EARLIER"),
                "deaths": v.el(u, "DEATHS")}

    return cols, _units_rows(unit, cols, fill, period), _("Unit name")


def _births_order_sex(unit: OrgUnit, period: Period) -> tuple[list[Column], list[Row], str]:
    g = _("Live births")
    cols = [Column("male", _("Male"), g), Column("female", _("Female"), g), Column("total", _("Total"), g),
            Column("srb", _("Sex ratio at birth"), decimals=2, unit=_("per 100 girls"))]
    vals = _Values([unit], period)
    rows = []
    for code, label in (("O1", _("First child")), ("O2", _("Second child")), ("O3P", _("Third and later")),
                        ("", _("Total"))):
        m = vals.el(unit, "LIVE_BIRTHS_ORDER_SEX", f"{code}.MALE") if code else vals.el(unit, "LIVE_BIRTHS", "MALE")
        f = vals.el(unit, "LIVE_BIRTHS_ORDER_SEX", f"{code}.FEMALE") if code else vals.el(unit, "LIVE_BIRTHS",
                                                                                           "FEMALE")
        t = vals.el(unit, "LIVE_BIRTHS_ORDER", code) if code else vals.el(unit, "LIVE_BIRTHS")
        rows.append(Row(label=label, code=code or "TOTAL", total=not code,
                        values={"male": m, "female": f, "total": t,
                                "srb": round(100 * m / f, 2) if f else None}))
    return cols, rows, _("Birth order")


def _srb_township(unit: OrgUnit, period: Period) -> tuple[list[Column], list[Row], str]:
    g = _("Live births")
    g_ci = _("Interval (95%)")
    cols = [Column("male", _("Male"), g), Column("female", _("Female"), g), Column("total", _("Total"), g),
            Column("srb", _("Sex ratio at birth"), decimals=2), Column("low", _("Lower"), g_ci, decimals=2),
            Column("high", _("Upper"), g_ci, decimals=2)]

    def fill(v: _Values, u: OrgUnit) -> dict:
        return {"male": v.el(u, "LIVE_BIRTHS", "MALE"), "female": v.el(u, "LIVE_BIRTHS", "FEMALE"),
                "total": v.el(u, "LIVE_BIRTHS"), "srb": v.ind(u, "SRB"), "low": v.ind(u, "SRB", "low"),
                "high": v.ind(u, "SRB", "high")}

    return cols, _units_rows(unit, cols, fill, period), _("Unit name")


def _pyramid(unit: OrgUnit, period: Period) -> tuple[list[Column], list[Row], str]:
    g = _("Population at the end of the period")
    cols = [Column("male", _("Male"), g), Column("female", _("Female"), g), Column("total", _("Total"), g),
            Column("male_pct", _("Male %"), _("Share of the total"), decimals=2),
            Column("female_pct", _("Female %"), _("Share of the total"), decimals=2)]
    vals = _Values([unit], period)
    total = vals.el(unit, "POP_END") or 0
    rows = []
    for opt in AGE5.options:
        m = vals.el(unit, "POP_END_AGE5", f"{opt.code}.MALE") or 0
        f = vals.el(unit, "POP_END_AGE5", f"{opt.code}.FEMALE") or 0
        rows.append(Row(label=opt.name_zh, code=opt.code, values={
            "male": m, "female": f, "total": m + f,
            "male_pct": round(100 * m / total, 2) if total else None,
            "female_pct": round(100 * f / total, 2) if total else None}))
    m, f = vals.el(unit, "POP_END", "MALE") or 0, vals.el(unit, "POP_END", "FEMALE") or 0
    rows.append(Row(label=_("Total"), code="TOTAL", total=True, values={
        "male": m, "female": f, "total": total, "male_pct": round(100 * m / total, 2) if total else None,
        "female_pct": round(100 * f / total, 2) if total else None}))
    return cols, rows, _("Age")


def _vital_rates(unit: OrgUnit, period: Period) -> tuple[list[Column], list[Row], str]:
    g_n, g_r = _("Numbers"), _("Rates")
    cols = [Column("mean_pop", _("Mean population"), g_n, decimals=1), Column("births", _("Live births"), g_n),
            Column("deaths", _("Deaths"), g_n), Column("cbr", _("Crude birth rate (‰)"), g_r, decimals=2),
            Column("cdr", _("Crude death rate (‰)"), g_r, decimals=2),
            Column("ngr", _("Natural growth rate (‰)"), g_r, decimals=2),
            Column("gfr", _("General fertility rate (‰)"), g_r, decimals=2),
            Column("tfr", _("Total fertility rate"), g_r, decimals=3),
            Column("srb", _("Sex ratio at birth"), g_r, decimals=2)]

    def fill(v: _Values, u: OrgUnit) -> dict:
        return {"mean_pop": v.el(u, "POP_MEAN"), "births": v.el(u, "LIVE_BIRTHS"),
                "deaths": v.el(u, "DEATHS_RESIDENCE", "HERE"), "cbr": v.ind(u, "CBR"), "cdr": v.ind(u, "CDR"),
                "ngr": v.ind(u, "NGR"), "gfr": v.ind(u, "GFR"), "tfr": v.ind(u, "TFR"), "srb": v.ind(u, "SRB")}

    return cols, _units_rows(unit, cols, fill, period), _("Unit name")


@dataclass(frozen=True)
class FormSpec:
    code: str
    title: object
    build: Callable[[OrgUnit, Period], tuple[list[Column], list[Row], str]]
    unit_note: object = ""


FORMS: dict[str, FormSpec] = {f.code: f for f in (
    FormSpec("pop_births", gettext_lazy("Population and births (national form 1)"), _pop_births,
             gettext_lazy("persons")),
    FormSpec("births_order_sex", gettext_lazy("Live births by birth order and sex"), _births_order_sex,
             gettext_lazy("persons")),
    FormSpec("srb_township", gettext_lazy("Sex ratio at birth by township"), _srb_township, gettext_lazy("persons")),
    FormSpec("pyramid", gettext_lazy("Population by five-year age group and sex"), _pyramid,
             gettext_lazy("persons")),
    FormSpec("vital_rates", gettext_lazy("Vital rates"), _vital_rates, ""),
)}


class UnknownForm(ValueError):
    pass


def report_build(form: str, unit: OrgUnit, period: Period) -> FormTable:
    spec = FORMS.get(form)
    if spec is None:
        raise UnknownForm(form)
    cols, rows, row_header = spec.build(unit, period)
    return FormTable(form=form, title=str(spec.title), unit=unit, period=period, columns=cols, rows=rows,
                     row_header=row_header, unit_note=str(spec.unit_note),
                     published=period.code in published_periods([period.code]))


def subtitle(t: FormTable) -> str:
    text = _("Reporting unit: %(unit)s    Period: %(period)s (%(start)s to %(end)s)") % {
        "unit": t.unit.name, "period": t.period.label, "start": t.period.start.isoformat(),
        "end": t.period.end.isoformat()}
    if t.unit_note:
        text += "    " + _("Unit: %(unit)s") % {"unit": t.unit_note}
    return text


def to_csv(t: FormTable) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([t.row_header, _("Code"), *[f"{c.group}/{c.label}" if c.group else c.label for c in t.columns]])
    for r in t.rows:
        w.writerow([r.label, r.code, *["" if r.values.get(c.key) is None else r.values[c.key] for c in t.columns]])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(t: FormTable) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = t.form[:31]
    ncols = len(t.columns) + 1
    last = get_column_letter(ncols)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws["A1"] = t.title
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A1:{last}1")
    ws["A2"] = subtitle(t)
    ws.merge_cells(f"A2:{last}2")
    # Two header rows: groups merged across their columns, ungrouped columns merged down.
    ws.cell(row=3, column=1, value=t.row_header)
    ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    col = 2
    for group, span in t.header_groups():
        if group:
            ws.cell(row=3, column=col, value=group)
            if span > 1:
                ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + span - 1)
            for k in range(span):
                ws.cell(row=4, column=col + k, value=t.columns[col + k - 2].label)
        else:
            ws.cell(row=3, column=col, value=t.columns[col - 2].label)
            ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
        col += span
    for r in (3, 4):
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            cell.font, cell.alignment, cell.border = Font(bold=True), centre, box
    for i, row in enumerate(t.rows, start=5):
        head = ws.cell(row=i, column=1, value=row.label)
        head.border = box
        if row.total:
            head.font = Font(bold=True)
        for j, c in enumerate(t.columns, start=2):
            v = row.values.get(c.key)
            cell = ws.cell(row=i, column=j, value=v)
            cell.border = box
            cell.number_format = "#,##0" if c.decimals == 0 else "#,##0." + "0" * c.decimals
            if row.total:
                cell.font = Font(bold=True)
    end = 5 + len(t.rows)
    ws.cell(row=end + 1, column=1, value=_("Prepared by renkou on %(at)s") % {
        "at": timezone.localtime(t.generated_at).strftime("%Y-%m-%d %H:%M")})
    ws.merge_cells(start_row=end + 1, start_column=1, end_row=end + 1, end_column=ncols)
    ws.column_dimensions["A"].width = 18
    for j in range(2, ncols + 1):
        ws.column_dimensions[get_column_letter(j)].width = 12
    ws.row_dimensions[4].height = 32
    ws.freeze_panes = "B5"
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = "3:4"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
