"""Unit, county, years, signing date and document number, as the reports write them."""

from __future__ import annotations

import datetime

import pytest

from tracker.extraction import extract_text

BODY = (
    "一、主要举措和成效\n（一）学法。全年学法8次。\n二、存在的问题\n（一）宣传不深入。形式单一。\n"
    "三、下一步工作打算\n（一）丰富宣传形式。开展以案释法。\n"
)


def meta(header: str, tail: str = "") -> dict:
    ex = extract_text(header + BODY + tail)
    return {
        "unit": ex.unit,
        "county": ex.county,
        "report_year": ex.report_year,
        "plan_year": ex.plan_year,
        "issued_on": ex.issued_on,
        "doc_number": ex.doc_number,
    }


@pytest.mark.parametrize(
    "header, unit, county",
    [
        ("中共石桥镇委  石桥镇人民政府\n关于2023年度法治政府建设工作的报告\n县委、县政府：\n", "石桥镇", None),
        ("中共石桥镇委员会\n关于2023年度法治政府建设情况的报告\n中共博爱县委、博爱县人民政府：\n", "石桥镇", "博爱县"),
        (
            "中共南湖街道工作委员会 南湖街道办事处\n关于2023年度法治政府建设情况的报告\n青州区委、区政府：\n",
            "南湖街道",
            "青州区",
        ),
        ("石桥乡2023年度法治政府建设工作总结\n", "石桥乡", None),
        ("  **新乡镇2023年度法治政府建设工作总结**\n", "新乡镇", None),
        ("博爱县石桥镇人民政府\n关于2023年度法治政府建设的报告\n", "石桥镇", "博爱县"),
        (
            "关于2023年度法治政府建设工作的报告\n县委、县政府：\n现将石桥镇2023年度法治政府建设情况报告如下：\n",
            "石桥镇",
            None,
        ),
    ],
)
def test_unit_as_written_and_county_when_named(header, unit, county):
    got = meta(header)
    assert (got["unit"], got["county"]) == (unit, county)


def test_unit_from_the_signature_when_the_header_has_none():
    got = meta("关于2023年度法治政府建设工作的报告\n县委、县政府：\n", "特此报告。\n东坪乡人民政府\n2024年2月1日\n")
    assert got["unit"] == "东坪乡"


@pytest.mark.parametrize(
    "date_line, expected",
    [
        ("2024年1月5日", datetime.date(2024, 1, 5)),
        ("2024 年 1 月 5 日", datetime.date(2024, 1, 5)),
        ("二〇二四年一月五日", datetime.date(2024, 1, 5)),
        ("二○二四年十二月三十一日", datetime.date(2024, 12, 31)),
        ("2024年2月30日", None),  # not a date
    ],
)
def test_signing_date(date_line, expected):
    got = meta("石桥镇2023年度法治政府建设工作总结\n", f"特此报告。\n石桥镇人民政府\n      {date_line}\n")
    assert got["issued_on"] == expected


def test_a_date_inside_the_text_is_not_the_signing_date():
    got = meta("石桥镇2023年度法治政府建设工作总结\n截至2023年12月20日，已完成整改3项。\n")
    assert got["issued_on"] is None


@pytest.mark.parametrize(
    "line, expected",
    [
        ("石政 [2023] 105号", "石政 [2023] 105号"),
        ("石政〔2024〕3号", "石政〔2024〕3号"),
        ("  石政发[2024]第12号  ", "石政发[2024]第12号"),
    ],
)
def test_document_number(line, expected):
    assert meta(f"{line}\n石桥镇2023年度法治政府建设工作总结\n")["doc_number"] == expected


def test_no_document_number():
    header = "石桥镇2023年度法治政府建设工作总结\n依据《石政〔2023〕5号》文件要求，现报告如下。\n"
    assert meta(header)["doc_number"] is None


@pytest.mark.parametrize(
    "header, report_year, plan_year",
    [
        ("石桥镇2023年度法治政府建设工作总结\n", 2023, 2024),
        ("关于 2 0 2 3 年度法治政府建设工作的报告\n石桥镇人民政府\n", 2023, 2024),
        ("石桥镇2023年法治政府建设工作报告\n", 2023, 2024),
    ],
)
def test_years(header, report_year, plan_year):
    got = meta(header)
    assert (got["report_year"], got["plan_year"]) == (report_year, plan_year)


def test_unknown_unit_and_year_are_none_with_warnings():
    ex = extract_text("关于法治政府建设工作的报告\n" + BODY)
    assert (ex.unit, ex.report_year, ex.plan_year) == (None, None, None)
    assert any("报告单位" in w for w in ex.warnings) and any("报告年度" in w for w in ex.warnings)


def test_to_dict_has_exactly_the_contract_shape():
    ex = extract_text(
        "石桥镇2023年度法治政府建设工作总结\n" + BODY + "石桥镇人民政府\n2024年1月5日\n", source_name="s.txt"
    )
    d = ex.to_dict()
    assert list(d) == ["unit", "county", "report_year", "plan_year", "issued_on", "doc_number", "warnings", "items"]
    assert d["issued_on"] == "2024-01-05"
    assert list(d["items"][0]) == ["kind", "seq", "title", "text", "start", "end", "causes", "section"]
    assert d["items"][0] == {
        "kind": "shortcoming",
        "seq": 1,
        "title": "宣传不深入",
        "text": "（一）宣传不深入。形式单一。",
        "start": ex.items[0].start,
        "end": ex.items[0].end,
        "causes": [],
        "section": "二、存在的问题",
    }
    assert ex.source_name == "s.txt" and ex.text.startswith("石桥镇")
