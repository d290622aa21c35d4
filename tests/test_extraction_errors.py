"""Files that are not readable reports: a Chinese ExtractionError naming the file and the reason,
and `rectify extract` exits non-zero with that message on stderr. Reports without the expected
sections are not errors: exit 0 with a Chinese warning."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.extraction import ExtractionError, read_document

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"
RANDOM = bytes((i * 167 + 13) % 256 for i in range(4096))  # every byte value, NULs included


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


BAD_FILES = [
    ("空白.txt", b"", "空文件"),
    ("只有空格.txt", "  \n\u3000\n\t\n".encode(), "只有空白"),
    ("截图.txt", PNG, "PNG 图片"),
    ("乱码.txt", RANDOM, "二进制"),
    ("无零字节.txt", bytes(range(0x80, 0x100)) * 8, "编码无法识别"),
    ("控制字符.txt", bytes(range(1, 0x100)) * 16, "二进制"),
    ("假文档.docx", "这不是一个压缩包".encode(), "不是有效的 Word 文档"),
    ("图片改名.docx", PNG, "PNG 图片"),
    ("压缩包.docx", _zip({"readme.txt": b"hello"}), "word/document.xml"),
    (
        "坏文档.docx",
        _zip({"[Content_Types].xml": b"<broken", "word/document.xml": b"<w:document"}),
        "不是有效的 Word 文档",
    ),
    ("报告.pdf", b"%PDF-1.7\n", "已损坏"),  # a PDF cut off after its header
    ("报告", "一、存在的问题".encode(), "不受支持"),
]


@pytest.mark.parametrize("name, data, reason", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_raise_a_chinese_error_naming_the_file(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ExtractionError) as err:
        read_document(path)
    assert name in str(err.value) and reason in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ExtractionError, match="文件 不存在.txt 不存在"):
        read_document(tmp_path / "不存在.txt")


def test_a_folder_is_not_a_file(tmp_path):
    (tmp_path / "文件夹.txt").mkdir()
    with pytest.raises(ExtractionError, match="文件夹.txt 不是文件"):
        read_document(tmp_path / "文件夹.txt")


def test_a_file_over_20_mb_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "超大.txt"
    with path.open("wb") as fh:
        fh.truncate(20 * 1024 * 1024 + 1)  # sparse: no 20 MB written

    def no_reading(self):
        raise AssertionError("read before the size check")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(ExtractionError) as err:
        read_document(path)
    assert "超大.txt" in str(err.value) and "超过 20 MB" in str(err.value)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_text_encodings(tmp_path, encoding):
    text = "西岭镇2023年度法治政府建设工作总结\r\n一、存在的问题\r\n"
    path = tmp_path / "编码.txt"
    path.write_bytes(text.encode(encoding))
    assert read_document(path) == text  # BOM dropped, line endings kept


runner = CliRunner()


@pytest.mark.parametrize("name, data, reason", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_cli_exits_non_zero_with_the_message_on_stderr(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(app, ["extract", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert name in result.stderr and reason in result.stderr


def test_cli_report_without_shortcomings_or_plan_gives_warnings_not_an_error(tmp_path):
    path = tmp_path / "只有成效.txt"
    path.write_text(
        "南坪乡2023年度法治政府建设工作总结\n一、主要举措和成效\n（一）开展普法。全年12场。\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["extract", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["items"] == [] and out["unit"] == "南坪乡"
    assert any("存在的不足" in w for w in out["warnings"]) and any("计划" in w for w in out["warnings"])


def test_cli_text_format_is_a_readable_chinese_list(tmp_path):
    path = tmp_path / "东坪乡.txt"
    path.write_text(
        "东坪乡2023年度法治政府建设工作总结\n一、存在的不足和原因\n（一）台账不全。原因是无专人管理。\n"
        "二、2024年工作计划\n（一）健全台账。明确专人。\n东坪乡人民政府\n2024年1月9日\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["extract", str(path), "--format", "text"])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for expected in (
        "单位：东坪乡",
        "报告年度：2023",
        "计划年度：2024",
        "签发日期：2024年1月9日",
        "文号：—",
        "存在的不足（1 条）",
        "1. 台账不全",
        "原因：无专人管理",
        "下一年度计划（1 条）",
        "1. 健全台账",
    ):
        assert expected in out
    assert "〔位置 " in out


def test_cli_rejects_an_unknown_format(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("一、存在的问题\n", encoding="utf-8")
    assert runner.invoke(app, ["extract", str(path), "--format", "xml"]).exit_code != 0


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "锁定.txt"
    path.write_text("一、存在的问题\n", encoding="utf-8")

    def denied(self):
        raise PermissionError(13, "权限不够")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ExtractionError, match="锁定.txt 无法读取：权限不够"):
        read_document(path)
