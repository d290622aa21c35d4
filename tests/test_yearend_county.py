"""The county summary (.xlsx, .docx, .html) and `rectify summary`, over the golden ledger plus
青石镇's 2024 report, which repeats one problem and claims another was done."""

from __future__ import annotations

import base64
import hashlib
import re
import warnings
import zipfile

import docx
import openpyxl
import pytest
from matplotlib import font_manager
from openpyxl.chart import BarChart
from sqlalchemy import select
from typer.testing import CliRunner

from tests.test_yearend_section import AS_OF, QINGSHI_2023, at, build_ledger, ingest_text
from tracker.cli import app
from tracker.db import session_scope
from tracker.extraction import extract_text
from tracker.ingest import ingest_extraction
from tracker.models import AuditEvent
from tracker.themes import THEMES
from tracker.yearend import charts
from tracker.yearend import county as county_summary
from tracker.yearend.run import county_name, run_year_end, section_name

QINGSHI_2024 = (
    QINGSHI_2023.replace("2023年度", "2024年度")
    .replace("2024年推进", "2025年推进")
    .replace("2024年1月10日", "2025年1月10日")
    .replace(
        """（一）法律顾问作用发挥不充分。镇政府聘请的法律顾问主要参与合同审查，参与重大行政决策前期论证较少。
（二）行政执法规范化水平不高。执法文书制作、证据收集固定等方面还不够规范。
（三）普法宣传针对性不强。对青少年、外出务工人员等重点群体的分类普法不够。
（四）干部学法用法的自觉性有待增强。少数干部学法停留在会前学法，运用法治思维解决问题的能力还不强。
（五）政务公开不够及时。部分惠民资金发放信息公开滞后。
""",
        """（一）行政执法规范程度仍有差距。执法文书制作不够规范，执法案卷归档不及时。
（二）矛盾纠纷源头化解能力不足。村级调解组织排查预警不够及时。
问题整改情况：
一是针对普法宣传针对性不强的问题，制定分众化普法清单，该问题已完成整改。
二是针对法律顾问作用发挥不充分的问题，建立法律顾问履职台账，已整改到位。
""",
    )
)


@pytest.fixture
def ledger(engine, cli_env):
    build_ledger(engine)
    with at(1, 20, 2025):
        ingest_text(engine, QINGSHI_2024, "青石镇-2024.txt")
    return engine


def test_county_files_hold_the_table_late_items_recurrence_and_claims(ledger, tmp_path):
    out = tmp_path / "out"
    result = run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out)
    assert (result["recurring"], result["claimed_not_closed"], result["closed_late"]) == (1, 1, 1)
    wb = openpyxl.load_workbook(out / county_name(2023, "xlsx"), read_only=True)
    assert wb.sheetnames == ["乡镇汇总", "逾期销号", "连续查摆", "称已完成未销号", "主题分布"]
    header = next(wb["乡镇汇总"].iter_rows(max_row=1, values_only=True))
    assert header[:8] == ("乡镇（街道）", "问题数", "已完成", "正在整改", "尚未启动", "长期坚持", "完成率", "计划数")
    rows = {r[0]: r for r in wb["乡镇汇总"].iter_rows(min_row=2, values_only=True)}
    #          问题 已完成 正在整改 尚未启动 长期坚持 完成率 计划 计划已完成 红灯 …
    assert rows["青石镇"][:9] == ("青石镇", 5, 1, 2, 1, 1, 0.2, 3, 1)  # 政务公开 was never assigned
    assert rows["北湖街道"][:9] == ("北湖街道", 2, 2, 0, 0, 0, 1, 1, 1)
    assert rows["合计"][:7] == ("合计", 7, 3, 2, 1, 1, 0.43)
    assert rows["青石镇"][9] == 1  # 普法宣传, past its 30 November deadline: red
    late = list(wb["逾期销号"].iter_rows(min_row=2, values_only=True))
    assert late == [("青石镇", "计划", "充分发挥法律顾问作用", "2024年6月30日", "2024年7月10日", 10)]
    [rec] = list(wb["连续查摆"].iter_rows(min_row=2, values_only=True))
    assert rec == ("青石镇", "2024年度：行政执法规范程度仍有差距", "2023年度：行政执法规范化水平不高", "连续两年查摆")
    # 法律顾问 is closed, so only the 普法宣传 claim disagrees with the ledger
    [claim] = list(wb["称已完成未销号"].iter_rows(min_row=2, values_only=True))
    assert claim[0] == "青石镇" and claim[2:] == ("普法宣传针对性不强", "整改中")
    themes = dict(wb["主题分布"].iter_rows(min_row=2, values_only=True))
    assert sum(themes.values()) == 7 and themes["法律顾问"] == 1

    html = (out / county_name(2023, "html")).read_text(encoding="utf-8")
    assert "全县2个乡镇（街道）2023年度报告共查摆问题7个，已完成整改3个，正在整改2个，尚未启动（待分派）1个" in html
    assert "<th>尚未启动</th>" in html and "<td>20%</td>" in html
    assert "报告称已完成整改但台账尚未销号的1项" in html

    doc = docx.Document(out / county_name(2023, "docx"))
    assert doc.paragraphs[0].text == "2023年度法治政府建设报告问题整改情况汇总"
    assert len(doc.tables) == 4
    assert [r.cells[0].text for r in doc.tables[0].rows] == ["乡镇（街道）", "合计", "北湖街道", "青石镇"]
    assert [c.text for c in doc.tables[0].rows[3].cells[:7]] == ["青石镇", "5", "1", "2", "1", "1", "20%"]
    assert len(doc.inline_shapes) == (2 if charts.cjk_font() else 0)


@pytest.fixture
def stale_font_cache(monkeypatch):
    """matplotlib as on a machine where the Chinese font was installed after matplotlib cached its font
    list: the font is on disk (fc-list knows it) but not in `fontManager.ttflist`."""
    files = set(charts.cjk_font_files())
    if not files:
        pytest.skip("未安装中文字体：apt-get install -y fonts-wqy-microhei")
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if f.fname not in files])
    manager._findfont_cached.cache_clear()
    charts.cjk_font.cache_clear()
    yield files
    charts.cjk_font.cache_clear()
    manager._findfont_cached.cache_clear()


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_charts_are_drawn_with_a_cjk_font_found_outside_matplotlibs_cache(ledger, tmp_path, stale_font_cache):
    assert charts.cjk_font() is not None  # registered from fc-list / the known paths
    family = charts.cjk_font()
    assert any(f.name == family and f.fname in stale_font_cache for f in font_manager.fontManager.ttflist)
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, formats=("md",))
    assert _glyph_warnings(caught) == []  # every Chinese label had its glyphs
    assert (result["charts"], result["chart_note"]) == (2, "")
    pngs = [n for n in result["county_files"] if n.endswith(".png")]
    assert len(pngs) == 2 and all((out / n).read_bytes().startswith(b"\x89PNG") for n in pngs)

    with zipfile.ZipFile(out / county_name(2023, "docx")) as z:  # the pictures are in the Word file
        media = [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        assert len(media) == 2 and all(z.read(n).startswith(b"\x89PNG") for n in media)
    assert len(docx.Document(out / county_name(2023, "docx")).inline_shapes) == 2

    html = (out / county_name(2023, "html")).read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', html)
    assert [alt for _, alt in images] == list(county_summary.CHART_TITLES.values())
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data, _ in images)
    assert charts.NO_FONT not in html


def test_glyph_check_catches_a_latin_only_font(monkeypatch):
    """The warning the test above looks for does appear when the labels are drawn without a CJK font."""
    monkeypatch.setattr(charts, "cjk_font", lambda: "DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert charts.theme_chart({"法律顾问": 2}).startswith(b"\x89PNG")
    assert _glyph_warnings(caught)


def test_without_a_cjk_font_charts_are_left_out_and_the_cli_says_why(ledger, tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app, ["summary", "--year", "2023", "--as-of", "2024-12-20", "--out", str(out), "--format", "md"]
    )
    assert r.exit_code == 0, r.output
    [line] = [ln for ln in r.output.splitlines() if "图表" in ln]
    assert line == f"注意：{charts.NO_FONT}"
    assert not any(p.suffix == ".png" for p in out.iterdir())
    assert charts.NO_FONT in (out / county_name(2023, "html")).read_text(encoding="utf-8")
    assert len(docx.Document(out / county_name(2023, "docx")).inline_shapes) == 0
    ok = CliRunner().invoke(
        app, ["summary", "--year", "2023", "--out", str(tmp_path / "one"), "--township", "北湖街道"]
    )
    assert ok.exit_code == 0 and "图表" not in ok.output  # no county summary asked for: nothing skipped


def test_summary_from_the_cli_is_an_export_in_the_audit_log(ledger, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["summary", "--year", "2023", "--out", str(out), "--format", "txt"])
    assert r.exit_code == 0, r.output
    with session_scope(ledger) as s:
        [event] = s.execute(select(AuditEvent).where(AuditEvent.action == "export")).scalars().all()
    written = sorted(p.name for p in out.iterdir())
    assert event.entity == "yearend" and event.actor.startswith("命令行")
    assert event.after["file"] == str(out) and event.after["files"] == len(written) > 0
    assert event.after["year"] == 2023


def test_xlsx_has_native_charts_beside_the_data_they_chart(ledger, tmp_path):
    out = tmp_path / "out"
    run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, formats=("md",))
    wb = openpyxl.load_workbook(out / county_name(2023, "xlsx"))
    sheet = wb["乡镇汇总"]
    [chart] = sheet._charts
    assert isinstance(chart, BarChart) and chart.type == "bar"
    [series] = chart.series
    assert series.val.numRef.f == "'乡镇汇总'!$G$3:$G$4"  # 完成率 of 北湖街道 and 青石镇, not 合计
    assert series.cat.strRef.f == "'乡镇汇总'!$A$3:$A$4"
    assert series.tx.strRef.f == "'乡镇汇总'!$G$1" and sheet["G1"].value == "完成率"
    assert [sheet[f"A{r}"].value for r in (3, 4)] == ["北湖街道", "青石镇"]
    assert [sheet[f"G{r}"].value for r in (3, 4)] == [1, 0.2] and sheet["G3"].number_format == "0%"
    assert chart.anchor._from.col == len(county_summary.TABLE_HEADER) + 1 and chart.anchor._from.row == 1

    themes = wb["主题分布"]
    [chart] = themes._charts
    [series] = chart.series
    last = 1 + len(THEMES)
    assert series.val.numRef.f == f"'主题分布'!$B$2:$B${last}"
    assert series.cat.strRef.f == f"'主题分布'!$A$2:$A${last}"
    assert sum(themes[f"B{r}"].value for r in range(2, last + 1)) == 7
    assert (chart.anchor._from.col, chart.anchor._from.row) == (3, 1)  # D2, right of the two columns


def test_cli_writes_one_file_per_township_and_format_plus_county_files(ledger, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app, ["summary", "--year", "2023", "--as-of", "2024-12-20", "--out", str(out), "--format", "md,txt"]
    )
    assert r.exit_code == 0, r.output
    assert "截至2024年12月20日" in r.output.replace("\n", "")
    names = {p.name for p in out.iterdir()}
    assert {section_name(t, 2023, f) for t in ("青石镇", "北湖街道") for f in ("md", "txt")} <= names
    assert county_name(2023, "xlsx") in names and not any(n.endswith(".docx") and "青石镇" in n for n in names)

    one = tmp_path / "one"
    r = CliRunner().invoke(app, ["summary", "--year", "2023", "--township", "北湖街道", "--out", str(one)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in one.iterdir()) == sorted(
        section_name("北湖街道", 2023, f) for f in ("docx", "md", "txt")
    )
    for args, message in (
        (["--year", "2021"], "没有找到2021年度报告"),
        (["--year", "2023", "--format", "pdf"], "pdf"),
        (["--year", "2023", "--as-of", "2024-13-01"], "2024-13-01"),
    ):
        r = CliRunner().invoke(app, ["summary", *args, "--out", str(tmp_path / "bad")])
        assert r.exit_code == 1 and message in r.output


def test_summary_counts_exclude_withdrawn_tasks(ledger, tmp_path):
    """Replacing 青石镇's 2023 report without 政务公开 withdraws that task: it leaves the counts."""
    with at(2, 1, 2025):
        text = QINGSHI_2023.replace("（五）政务公开不够及时。部分惠民资金发放信息公开滞后。\n", "")
        r = ingest_extraction(
            engine=ledger,
            extraction=extract_text(text, source_name="青石镇-2023-修订.txt"),
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            actor="测试",
            replace=True,
        )
        assert r.outcome == "replaced"
    out = tmp_path / "out"
    run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, formats=("txt",), county=False)
    text = (out / section_name("青石镇", 2023, "txt")).read_text(encoding="utf-8")
    assert "查摆的4个方面问题" in text and "政务公开" not in text and "五是" not in text


def test_long_tables_are_cut_for_reading_and_left_whole_in_the_xlsx(ledger, tmp_path, monkeypatch):
    monkeypatch.setattr(county_summary, "READING_ROWS", 2)
    out = tmp_path / "out"
    run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, formats=("md",))
    doc = docx.Document(out / county_name(2023, "docx"))
    assert [r.cells[0].text for r in doc.tables[0].rows] == ["乡镇（街道）", "合计", "北湖街道"]
    assert any(p.text == "（另有1行未列出，完整内容见同名 .xlsx 文件。）" for p in doc.paragraphs)
    assert "另有1行未列出" in (out / county_name(2023, "html")).read_text(encoding="utf-8")
    sheet = openpyxl.load_workbook(out / county_name(2023, "xlsx"), read_only=True)["乡镇汇总"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["合计", "北湖街道", "青石镇"]


def test_cli_can_include_review_notes(ledger, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app,
        [
            "summary",
            "--year",
            "2023",
            "--as-of",
            "2024-12-20",
            "--township",
            "青石镇",
            "--format",
            "txt",
            "--include-review-notes",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "尚未启动（待分派）1 个" in r.output.replace("\n", "")
    assert "审核未通过，原因：佐证材料未体现" in (out / section_name("青石镇", 2023, "txt")).read_text(encoding="utf-8")
    assert "审核意见" in CliRunner().invoke(app, ["summary", "--help"]).output
