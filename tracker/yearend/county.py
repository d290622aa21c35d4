"""The county summary: one row per township, the items closed late, recurring problems, reports that
claim done where the ledger does not, themes, two charts — as .docx, .xlsx and HTML.

Items never assigned (待分派) have their own column, 尚未启动, apart from 正在整改. The .docx and the
HTML carry the two charts as pictures drawn by `tracker.yearend.charts` (or say why they are
missing); the .xlsx has native Excel charts instead, each beside the cells it charts: completion
rate by township on 乡镇汇总, shortcomings by theme on 主题分布.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname

from tracker.lights import GREEN, RED, YELLOW
from tracker.models import Kind
from tracker.recurrence import recurrence_label
from tracker.textfmt import cn_date, cn_number, percent
from tracker.themes import THEMES
from tracker.xlsx import text_cell
from tracker.yearend import charts, gbt9704
from tracker.yearend.data import DONE, ClaimRow, RecurrenceRow, TownshipYear
from tracker.yearend.section import counts, environment

TABLE_HEADER = [
    "乡镇（街道）",
    "问题数",
    "已完成",
    "正在整改",
    "尚未启动",
    "长期坚持",
    "完成率",
    "计划数",
    "计划已完成",
    "逾期（红灯）",
    "黄灯",
    "绿灯",
    "连续查摆",
    "无对应计划",
    "称已完成未销号",
]
RATE_COLUMN = TABLE_HEADER.index("完成率") + 1  # 1-based, for the .xlsx chart


class Rate(int):
    """A completion rate in whole percent: reads "43%", a number (0.43, shown 43%) in the .xlsx."""

    def __str__(self) -> str:
        return f"{int(self)}%"


@dataclass
class TownshipRow:
    name: str
    total: int
    done: int
    in_progress: int  # in work or waiting for review
    unassigned: int  # 待分派: not started
    ongoing: int
    rate: int
    plans: int
    plans_done: int
    red: int
    yellow: int
    green: int
    recurring: int
    unlinked: int
    claimed_not_closed: int

    def cells(self) -> list:
        return [
            self.name,
            self.total,
            self.done,
            self.in_progress,
            self.unassigned,
            self.ongoing,
            Rate(self.rate),
            self.plans,
            self.plans_done,
            self.red,
            self.yellow,
            self.green,
            self.recurring,
            self.unlinked,
            self.claimed_not_closed,
        ]


@dataclass
class LateRow:
    township: str
    kind: str
    title: str
    deadline: date
    closed_on: date

    @property
    def days_late(self) -> int:
        return (self.closed_on - self.deadline).days

    def cells(self) -> list:
        return [self.township, self.kind, self.title, cn_date(self.deadline), cn_date(self.closed_on), self.days_late]


@dataclass
class CountySummary:
    year: int
    as_of: date
    rows: list[TownshipRow]
    total: TownshipRow
    late: list[LateRow]
    recurrences: list[RecurrenceRow]
    claims: list[ClaimRow]
    themes: dict[str, int]
    charts: dict[str, bytes] = field(default_factory=dict)  # name → PNG
    chart_note: str = ""  # why charts are missing, if they are

    @property
    def title(self) -> str:
        return f"{self.year}年度法治政府建设报告问题整改情况汇总"

    @property
    def overview(self) -> str:
        t = self.total
        text = (
            f"截至{cn_date(self.as_of)}，全县{len(self.rows)}个乡镇（街道）{self.year}年度报告共查摆问题{t.total}个，"
            f"已完成整改{t.done}个，正在整改{t.in_progress}个，"
            + (f"尚未启动（待分派）{t.unassigned}个，" if t.unassigned else "")
            + f"长期坚持{t.ongoing}个，完成率{t.rate}%；"
            f"{self.year + 1}年计划工作{t.plans}项，已完成{t.plans_done}项。"
            f"逾期未完成（红灯）{t.red}项，临近时限或长期未报送进展（黄灯）{t.yellow}项。"
        )
        extra = []
        if t.recurring:
            extra.append(f"连续两年以上查摆的问题{t.recurring}个")
        if t.unlinked:
            extra.append(f"没有对应下一年度计划措施的问题{t.unlinked}个")
        if self.claims:
            extra.append(f"报告称已完成整改但台账尚未销号的{len(self.claims)}项")
        return text + ("；".join(extra) + "。" if extra else "")

    def chart_uris(self) -> dict[str, str]:
        return {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in self.charts.items()}


CHART_TITLES = {"completion": "各乡镇（街道）问题整改完成率", "themes": "查摆问题主题分布"}


def _row(ty: TownshipYear, claimed: int) -> TownshipRow:
    c = counts(ty.shortcomings)
    both = ty.shortcomings + ty.plans
    return TownshipRow(
        ty.name,
        c["total"],
        c["done"],
        c["in_progress"],
        c["unassigned"],
        c["ongoing"],
        c["rate"],
        len(ty.plans),
        sum(t.state == DONE for t in ty.plans),
        sum(t.light == RED for t in both),
        sum(t.light == YELLOW for t in both),
        sum(t.light == GREEN for t in both),
        sum(t.recurrence_years >= 2 for t in ty.shortcomings),
        sum(t.linked_plans == 0 for t in ty.shortcomings),
        claimed,
    )


def _total(rows: list[TownshipRow]) -> TownshipRow:
    sums = [sum(getattr(r, f.name) for r in rows) for f in fields(TownshipRow)[1:]]
    total = TownshipRow("合计", *sums)
    total.rate = percent(total.done, total.total)
    return total


class Tally:
    """The county summary built up township by township (chunk by chunk), so any number fits in memory."""

    def __init__(self, claims: list[ClaimRow]):
        self.claims = claims
        self.claimed = Counter(c.township for c in claims)
        self.rows: list[TownshipRow] = []
        self.late: list[LateRow] = []
        self.themes = dict.fromkeys(THEMES, 0)

    def add(self, ty: TownshipYear) -> None:
        self.rows.append(_row(ty, self.claimed[ty.name]))
        self.late += [
            LateRow(ty.name, Kind(t.kind).label, t.title, t.deadline, t.closed_on)
            for t in ty.shortcomings + ty.plans
            if t.closed_late
        ]
        for t in ty.shortcomings:
            self.themes[t.theme] += 1

    def summary(
        self, recurrences: list[RecurrenceRow], *, year: int, as_of: date, with_charts: bool = True
    ) -> CountySummary:
        s = CountySummary(year, as_of, self.rows, _total(self.rows), self.late, recurrences, self.claims, self.themes)
        if with_charts:
            made = {
                "completion": charts.completion_chart([(r.name, r.rate) for r in self.rows if r.total]),
                "themes": charts.theme_chart(self.themes),
            }
            s.charts = {k: v for k, v in made.items() if v}
            if charts.cjk_font() is None:
                s.chart_note = charts.NO_FONT
            elif not s.charts:
                s.chart_note = charts.NO_DATA
        return s


def recurrence_cells(r: RecurrenceRow) -> list:
    return [
        r.township,
        f"{r.report_year}年度：{r.title}",
        f"{r.earlier_year}年度：{r.earlier_title}",
        recurrence_label(r.years),
    ]


def claim_cells(c: ClaimRow) -> list:
    return [c.township, f"{c.report_year}年度报告：{c.text}", c.task_title, c.task_status]


def theme_rows(summary: CountySummary) -> list[list]:
    return [[t, n] for t, n in summary.themes.items()]


SHEETS = (  # (title, header, rows of a summary)
    ("乡镇汇总", TABLE_HEADER, lambda s: [s.total.cells()] + [r.cells() for r in s.rows]),
    (
        "逾期销号",
        ["乡镇（街道）", "类型", "问题/计划", "整改时限", "销号日期", "逾期天数"],
        lambda s: [r.cells() for r in s.late],
    ),
    (
        "连续查摆",
        ["乡镇（街道）", "问题", "此前查摆的问题", "标注"],
        lambda s: [recurrence_cells(r) for r in s.recurrences],
    ),
    (
        "称已完成未销号",
        ["乡镇（街道）", "报告中的整改情况", "台账中的问题", "台账状态"],
        lambda s: [claim_cells(c) for c in s.claims],
    ),
    ("主题分布", ["主题", "问题数"], theme_rows),
)


READING_ROWS = 500  # rows a table in the .docx or on the page shows; the .xlsx has them all


def for_reading(rows: list[list]) -> tuple[list[list], int]:
    """The rows a reader gets in the document or on the page, and how many are left to the .xlsx."""
    return rows[:READING_ROWS], max(0, len(rows) - READING_ROWS)


def left_out(hidden: int) -> str:
    return f"（另有{hidden}行未列出，完整内容见同名 .xlsx 文件。）"


def xlsx(summary: CountySummary) -> bytes:
    """Every row of every table, one sheet each, and native Excel charts beside the data they chart."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, rows in SHEETS:
        ws = wb.create_sheet(title)
        ws.freeze_panes = "A2"
        ws.column_dimensions["A"].width = 16
        for col in "BCD":
            ws.column_dimensions[col].width = 40 if title in ("逾期销号", "连续查摆", "称已完成未销号") else 10
        ws.append([_header_cell(ws, h, bold) for h in header])
        n = 0
        for row in rows(summary):
            ws.append([_cell(ws, v) for v in row])
            n += 1
        if title == "乡镇汇总" and summary.rows:
            # rows 3… are the townships (row 2 is 合计)
            ws.add_chart(
                _bar_chart(ws, CHART_TITLES["completion"], value_col=RATE_COLUMN, first=3, last=n + 1, percent=True),
                f"{get_column_letter(len(header) + 2)}2",
            )
        elif title == "主题分布" and n:
            ws.add_chart(_bar_chart(ws, CHART_TITLES["themes"], value_col=2, first=2, last=n + 1, percent=False), "D2")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(ws, value):
    if isinstance(value, Rate):
        cell = WriteOnlyCell(ws, value=int(value) / 100)
        cell.number_format = "0%"
        return cell
    return text_cell(ws, gbt9704.xml_safe(value)) if isinstance(value, str) else value  # never a formula


def _bar_chart(ws, title: str, *, value_col: int, first: int, last: int, percent: bool) -> BarChart:
    """A horizontal bar chart of column `value_col`, rows first..last, labelled by column A; its
    series named by the column's header."""
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = title
    chart.legend = None
    chart.add_data(Reference(ws, min_col=value_col, min_row=first, max_row=last))
    column = get_column_letter(value_col)  # the series is named by the column's header
    chart.series[0].tx = SeriesLabel(strRef=StrRef(f"{quote_sheetname(ws.title)}!${column}$1"))
    # the labels are text: a string reference (set_categories would make a numeric one)
    chart.series[0].cat = AxDataSource(strRef=StrRef(str(Reference(ws, min_col=1, min_row=first, max_row=last))))
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    if percent:
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 1
        chart.y_axis.number_format = "0%"
        chart.y_axis.title = "完成率"
    else:
        chart.y_axis.title = "问题数（个）"
    chart.width = 16
    chart.height = min(60.0, max(7.5, 0.55 * (last - first + 1) + 2.5))
    return chart


def _header_cell(ws, value, font) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    cell.alignment = Alignment(horizontal="center")
    return cell


def docx(summary: CountySummary) -> bytes:
    doc = gbt9704.new_document(landscape=True)
    doc.add_paragraph(summary.title, style=gbt9704.TITLE_STYLE)
    doc.add_paragraph(summary.overview)
    for n, (title, header, rows) in enumerate(SHEETS[:4], 1):
        doc.add_paragraph(f"{cn_number(n)}、{title}", style=gbt9704.HEADING_STYLE)
        body, hidden = for_reading(rows(summary))
        if body:
            gbt9704.add_table(doc, header, body)
        else:
            doc.add_paragraph("无。")
        if hidden:
            doc.add_paragraph(left_out(hidden))
    doc.add_paragraph(f"{cn_number(len(SHEETS[:4]) + 1)}、图表", style=gbt9704.HEADING_STYLE)
    for key, png in summary.charts.items():
        # an exactly spaced line would crop the picture to one line's height: single spacing here
        picture = doc.add_paragraph(style=gbt9704.CELL_STYLE)
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.add_run().add_picture(io.BytesIO(png), width=Mm(160))
        doc.add_paragraph(CHART_TITLES[key], style=gbt9704.CELL_STYLE).alignment = WD_ALIGN_PARAGRAPH.CENTER
    if summary.chart_note:
        doc.add_paragraph(summary.chart_note)
    return gbt9704.to_bytes(doc)


def page_context(summary: CountySummary) -> dict:
    """What yearend/county_body.html.j2 needs: the standalone file and the web page render the same."""
    return {
        "s": summary,
        "charts": summary.chart_uris(),
        "chart_titles": CHART_TITLES,
        "sheets": SHEETS,
        "reading": for_reading,
        "left_out": left_out,
    }


def html(summary: CountySummary) -> str:
    """A standalone page (charts inline), the same body the web app shows."""
    return environment().get_template("yearend/county.html.j2").render(**page_context(summary))
