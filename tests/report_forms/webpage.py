"""A shared report as its county government's web site publishes it, in the forms users save it.

- `page_html`: the article page: site header, navigation menu, breadcrumb (当前位置), the title, the
  info line (发布时间/来源/浏览次数/字号), the report one paragraph per `<p>` (indented by \\u3000\\u3000,
  by CSS text-indent or by &nbsp;), 【打印本页】【关闭窗口】, share links, the footer (主办/承办/ICP/网站标识码),
  scripts and styles. Three layouts, one per report: a semantic HTML5 site (`<header>`, `<nav>`,
  `<footer>`), an old table-layout site with the report pasted from Word (MsoNormal spans, source
  lines wrapped inside sentences, empty &nbsp; paragraphs), and a div-layout CMS site.
- `page_bytes`: that page encoded (UTF-8, or GBK declared as gb2312 by <meta charset> or http-equiv).
- `page_mhtml`: the page as Chrome saves it ("网页，单个文件"): MIME multipart/related, the page in
  quoted-printable UTF-8, then its stylesheet and logo; or as IE saves .mht (base64, charset in the part).
- `ctrl_a_copy`: what Ctrl+A, Ctrl+C in the browser and a paste into Notepad give: every visible line
  of the page, site name, menu, 发布时间 and footer included (NBSP pasted as a space).
"""

from __future__ import annotations

import base64
import email.header
import os
import quopri
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

# ../shared, or RECTIFY_SHARED_DIR as in tests/conftest.py
SHARED = Path(os.environ.get("RECTIFY_SHARED_DIR") or Path(__file__).resolve().parents[2].parent / "shared")
REPORTS = SHARED / "reports"
STEMS = ("xiaojing-2023", "xidagou-2024", "xili-2023")
# Leftovers of a .docx → .txt conversion in the shared reports; a published page has none of them.
CONVERSION_NOISE = re.compile(r"\[bookmark:[^\]\n]*\]|\*\*")
NBSP = "\xa0"


@dataclass(frozen=True)
class Site:
    county: str  # the site is its 人民政府's
    unit: str  # 来源
    title: str  # the article title on the page
    published: str  # 发布时间
    views: int
    layout: str  # semantic | table | div
    host: str
    province: str  # ICP 备案 prefix


SITES = {
    "xili-2023": Site(
        "石门县",
        "西里镇",
        "中共西里镇委 西里镇人民政府关于2023年度法治政府建设工作的报告",
        "2024-01-08",
        1234,
        "semantic",
        "www.shimen.gov.cn",
        "湘",
    ),
    "xiaojing-2023": Site(
        "博爱县",
        "孝敬镇",
        "孝敬镇2023年度法治政府建设工作报告",
        "2024-01-12 16:05",
        867,
        "table",
        "www.boai.gov.cn",
        "豫",
    ),
    "xidagou-2024": Site(
        "西山县",
        "西大沟镇",
        "西大沟镇2024年度法治政府建设工作总结",
        "2025-01-10 10:12:36",
        2051,
        "div",
        "www.xishan.gov.cn",
        "新",
    ),
}
MENU = ("首页", "政务公开", "政务服务", "互动交流", "走进{county}")
# The drop-down under each menu item (shown on hover: not in a Ctrl+A copy).
SUBMENU = (
    "政府信息公开",
    "政策文件",
    "政策解读",
    "人事信息",
    "财政资金",
    "规划计划",
    "应急管理",
    "统计信息",
    "法治政府建设",
    "建议提案办理",
    "重点领域信息公开",
    "政府工作报告",
)
CRUMB = ("首页", "政务公开", "法治政府建设", "年度报告")


@dataclass(frozen=True)
class Para:
    text: str  # as in the report, leading white space dropped; "" for a blank line
    role: str  # title | body | heading | sign | blank


def report_paragraphs(stem: str) -> list[Para]:
    """The report's lines as the page's paragraphs: the title block, body, headings, signature."""
    lines = [CONVERSION_NOISE.sub("", s).rstrip() for s in (REPORTS / f"{stem}.txt").read_text("utf-8").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    filled = [i for i, s in enumerate(lines) if s.strip()]
    addressee = next((i for i in filled[:6] if lines[i].endswith(("：", ":"))), None)
    title_end = addressee if addressee is not None else filled[0] + 1
    sign_from = len(lines)
    while sign_from > 0 and re.match(r" {3,}\S", lines[sign_from - 1]):  # set right in the source
        sign_from -= 1
    out = []
    for i, line in enumerate(lines):
        text = line.strip(" ")
        if not text:
            role = "blank"
        elif i < title_end:
            role = "title"
        elif i >= sign_from:
            role = "sign"
        elif re.match(r"[一二三四五六七八九十]+、", text):
            role = "heading"
        else:
            role = "body"
        out.append(Para(text, role))
    return out


# --- the article -----------------------------------------------------------------------------------------
# How CMS editors indent a paragraph, in turn: full-width spaces typed, CSS text-indent, &nbsp;.
_INDENTS = (
    ("<p>", "\u3000\u3000", "\u3000\u3000"),
    ('<p style="text-indent: 2em; text-align: justify;">', "", ""),
    ("<p>", "&nbsp;" * 4, " " * 4),
)


def _html_text(text: str) -> str:
    """Escaped, with the author's runs of spaces kept as &nbsp; (as editors save them)."""
    return re.sub(r" {2,}", lambda m: "&nbsp;" * len(m.group()), escape(text, quote=False))


def _copied(text: str) -> str:
    return re.sub(r" {2,}", lambda m: " " * len(m.group()), text)


def _editor_article(paras: list[Para]) -> tuple[str, list[str]]:
    """A CMS editor's paragraphs (UEditor/TRS): html, and the copied lines (a blank line between
    paragraphs: their CSS margins)."""
    html, lines, n = [], [], 0
    for p in paras:
        if p.role == "blank":
            continue
        if p.role == "title":
            html.append(f'<p style="text-align: center;"><strong>{_html_text(p.text)}</strong></p>')
            lines += [_copied(p.text), ""]
        elif p.role == "sign":
            html.append(f'<p style="text-align: right;">{_html_text(p.text)}</p>')
            lines += [_copied(p.text), ""]
        else:
            tag, indent, copied = _INDENTS[n % len(_INDENTS)]
            n += 1
            body = _html_text(p.text)
            if p.role == "heading":
                body = f"<strong>{body}</strong>"
            html.append(f"{tag}{indent}{body}</p>")
            lines += [copied + _copied(p.text), ""]
    return "\n".join(html), lines


def _word_runs(text: str) -> str:
    """Word's HTML: ASCII runs in their own lang="EN-US" spans, the source wrapped every 40 characters
    (between two Chinese characters, where a browser shows no space)."""
    out = []
    for run in re.split(r"([\x21-\x7e]+)", text):
        if re.fullmatch(r"[\x21-\x7e]+", run or " "):
            out.append(
                f'</span><span lang="EN-US" style="font-size:16.0pt;font-family:仿宋_GB2312">{escape(run)}'
                f'</span><span style="font-size:16.0pt;font-family:仿宋_GB2312">'
            )
        else:
            wrapped = re.sub(r"([\u4e00-\u9fff])(?=[\u4e00-\u9fff])", _wrap_every(40), _html_text(run))
            out.append(wrapped)
    return f'<span style="font-size:16.0pt;font-family:仿宋_GB2312">{"".join(out)}</span>'


def _wrap_every(width: int):
    count = 0

    def wrap(m: re.Match) -> str:
        nonlocal count
        count += 1
        return m.group(1) + ("\n" if count % width == 0 else "")

    return wrap


def _word_article(paras: list[Para]) -> tuple[str, list[str]]:
    """Paragraphs pasted from Word into an old CMS: MsoNormal, no margins (no blank copied lines),
    blank lines as &nbsp; paragraphs."""
    html, lines = [], []
    for p in paras:
        if p.role == "blank":
            html.append('<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>')
            lines.append(" ")
            continue
        align = {"title": "center", "sign": "right"}.get(p.role, "justify")
        indent = "text-indent:32.0pt;" if p.role in ("body", "heading") else ""
        html.append(
            f'<p class="MsoNormal" align="{align}" style="text-align:{align};{indent}line-height:28.0pt">'
            f'{_word_runs(p.text)}<span lang="EN-US"><o:p></o:p></span></p>'
        )
        lines.append(_copied(p.text))
    return "\n".join(html), lines


# --- the page around it ----------------------------------------------------------------------------------
_STYLE = """<style type="text/css">
body{margin:0;font:14px/1.8 "Microsoft YaHei",SimSun;} .hide{display:none}
.article-content p,.con-text p{margin:12px 0;line-height:2;font-size:16px} .sub-menu{display:none}
.main-nav li:hover .sub-menu,.nav li:hover .sub-menu{display:block}
</style>"""
_HEAD_SCRIPT = """<script type="text/javascript" src="/js/jquery-1.12.4.min.js"></script>
<script type="text/javascript">
var _hmt = _hmt || []; function doZoom(size){ document.getElementById("zoom").style.fontSize = size + "px"; }
document.write('<div class="tj">统计代码：访问量加载中</div>');
</script>"""
_TAIL_SCRIPT = """<script type="text/javascript">
(function(){ var hm = document.createElement("script"); hm.src = "https://hm.baidu.com/hm.js?0123456789abcdef";
var s = document.getElementsByTagName("script")[0]; s.parentNode.insertBefore(hm, s); if (1 < 2) { /* </div> */ } })();
</script>
<noscript><p>您的浏览器不支持脚本，部分功能无法使用。</p></noscript>
<div style="display:none" id="wzws-stat">访问统计 2024</div>"""


def _charset_meta(declare: str, charset: str) -> str:
    if declare == "meta":
        return f'<meta charset="{charset}">'
    if declare == "http-equiv":
        return f'<meta http-equiv="Content-Type" content="text/html; charset={charset}" />'
    return ""


def _info(site: Site) -> tuple[str, str]:
    html = (
        f"发布时间：{site.published}&nbsp;&nbsp;来源：{site.unit}&nbsp;&nbsp;"
        f'浏览次数：<span id="hits">{site.views}</span>&nbsp;&nbsp;字号：【<a href="javascript:doZoom(18)">大</a> '
        '<a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(14)">小</a>】'
    )
    return html, f"发布时间：{site.published}  来源：{site.unit}  浏览次数：{site.views}  字号：【大 中 小】"


def _footer_lines(site: Site) -> list[str]:
    return [
        f"主办单位：{site.county}人民政府办公室  承办：{site.county}大数据发展中心",
        f"ICP备案号：{site.province}ICP备05012345号-1  网站标识码：4308230001  "
        f"{site.province}公网安备 43082302000123号",
        "建议使用1366×768分辨率，IE10以上版本浏览器浏览本站",
    ]


def _menu_items(menu: list[str]) -> str:
    sub = "".join(f'<li><a href="/sub/{i}/">{t}</a></li>' for i, t in enumerate(SUBMENU))
    return "".join(f'<li><a href="/{i}/">{m}</a><ul class="sub-menu">{sub}</ul></li>' for i, m in enumerate(menu))


def _links(items: list[str], sep: str) -> str:
    return sep.join(f'<a href="/{i}/">{escape(t)}</a>' for i, t in enumerate(items))


def _semantic(site: Site, article: str, copied: list[str]) -> tuple[str, list[str]]:
    menu = [m.format(county=site.county) for m in MENU]
    footer = _footer_lines(site)
    info_html, info_line = _info(site)
    html = f"""<header class="site-header">
  <div class="top-bar"><div class="welcome">欢迎访问{site.county}人民政府网站！</div>
  <div class="tools"><a href="/wza/">无障碍浏览</a> | <a href="/elder/">长者模式</a></div></div>
  <div class="logo"><a href="/"><img src="/images/logo.png" alt="{site.county}人民政府"><span>{site.county}人民政府</span></a></div>
</header>
<nav class="main-nav"><ul>{_menu_items(menu)}</ul></nav>
<main class="container">
  <div class="location">当前位置：{_links(list(CRUMB), " &gt; ")}</div>
  <article class="article">
    <h1 class="article-title">{escape(site.title)}</h1>
    <div class="article-info">{info_html}</div>
    <!-- 正文开始 -->
    <div class="article-content" id="zoom">
{article}
    </div>
    <!-- 正文结束 -->
    <div class="article-tools"><a href="javascript:window.print()">【打印本页】</a><a href="javascript:window.close()">【关闭窗口】</a></div>
    <div class="share-box">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
  </article>
</main>
<footer class="site-footer">
  <div class="footer-links">{_links(["网站地图", "联系我们", "隐私声明"], " | ")}</div>
  {"".join(f"<p>{_html_text(line)}</p>" for line in footer)}
</footer>"""
    lines = [
        f"欢迎访问{site.county}人民政府网站！",
        "无障碍浏览 | 长者模式",
        f"{site.county}人民政府",
        *menu,
        "当前位置：" + " > ".join(CRUMB),
        site.title,
        info_line,
        "",
        *copied,
        "【打印本页】【关闭窗口】",
        "分享到：微信 微博 QQ空间",
        "网站地图 | 联系我们 | 隐私声明",
        *footer,
    ]
    return html, lines


def _table(site: Site, article: str, copied: list[str]) -> tuple[str, list[str]]:
    menu = [m.format(county=site.county) for m in MENU]
    footer = _footer_lines(site)
    info_html, info_line = _info(site)
    cells = "".join(f'<td align="center"><a href="/{i}/">{m}</a></td>' for i, m in enumerate(menu))
    html = f"""<table width="1002" border="0" align="center" cellpadding="0" cellspacing="0" class="head">
<tr><td height="150" background="/images/top.jpg"><div class="sitename">{site.county}人民政府</div></td></tr></table>
<table width="1002" border="0" align="center" cellpadding="0" cellspacing="0" class="menu"><tr>{cells}</tr></table>
<table width="1002" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td height="36" class="wz">您现在的位置：{_links(list(CRUMB), " &gt;&gt; ")}</td></tr></table>
<table width="1002" border="0" align="center" cellpadding="0" cellspacing="0"><tr><td>
  <table width="95%" border="0" align="center">
    <tr><td align="center" class="bt">{escape(site.title)}</td></tr>
    <tr><td align="center" class="xx">{info_html}</td></tr>
    <tr><td class="zw" id="zoom"><div class="WordSection1" style="layout-grid:28.95pt">
{article}
    </div></td></tr>
    <tr><td align="right">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr>
  </table>
</td></tr></table>
<table width="1002" border="0" align="center" cellpadding="0" cellspacing="0" class="bottom">
<tr><td align="center">{"<br>".join(_html_text(line) for line in footer)}</td></tr></table>"""
    lines = [
        f"{site.county}人民政府",
        "\t".join(menu),
        "您现在的位置：" + " >> ".join(CRUMB),
        site.title,
        info_line,
        *copied,
        "【打印本页】【关闭窗口】",
        *footer,
    ]
    return html, lines


def _div(site: Site, article: str, copied: list[str]) -> tuple[str, list[str]]:
    menu = [m.format(county=site.county) for m in MENU]
    footer = _footer_lines(site)
    info = [f"发布时间：{site.published}", f"来源：{site.unit}", f"浏览次数：{site.views}", "字号：【大 中 小】"]
    html = f"""<div class="header">
  <div class="top"><span id="today"></span><a href="#">设为首页</a> <a href="#">加入收藏</a></div>
  <div class="logo"><h1>{site.county}人民政府</h1></div>
</div>
<div class="nav"><ul>{_menu_items(menu)}</ul></div>
<div class="breadcrumb"><span>当前位置：</span>{_links(list(CRUMB), " &gt; ")}</div>
<div class="content-wrap">
  <div class="con-title"><h2>{escape(site.title)}</h2></div>
  <div class="con-info">{" ".join(f"<span>{escape(i)}</span>" for i in info)}</div>
  <div class="con-text TRS_Editor">
{article}
  </div>
  <div class="con-tools"><span>【<a href="javascript:window.print()">打印本页</a>】</span><span>【<a href="javascript:window.close()">关闭窗口</a>】</span></div>
</div>
<div class="footer"><div class="copyright">{"".join(f"<p>{_html_text(line)}</p>" for line in footer)}</div></div>"""
    lines = [
        "设为首页 加入收藏",
        f"{site.county}人民政府",
        *menu,
        "当前位置：" + " > ".join(CRUMB),
        site.title,
        " ".join(info),
        "",
        *copied,
        "【打印本页】【关闭窗口】",
        *footer,
    ]
    return html, lines


LAYOUTS = {"semantic": _semantic, "table": _table, "div": _div}


def _page(stem: str, layout: str | None = None) -> tuple[str, list[str]]:
    site = SITES[stem]
    layout = layout or site.layout
    paras = report_paragraphs(stem)
    article, copied = (_word_article if layout == "table" else _editor_article)(paras)
    return LAYOUTS[layout](site, article, copied)


def page_html(stem: str, charset: str = "utf-8", declare: str = "meta", layout: str | None = None) -> str:
    """The page's source; `declare`: meta (<meta charset>), http-equiv, or none; `layout`: another
    site's layout (semantic, table, div) than the report's own."""
    site = SITES[stem]
    body, _ = _page(stem, layout)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
{_charset_meta(declare, charset)}
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="SiteName" content="{site.county}人民政府">
<meta name="ArticleTitle" content="{escape(site.title)}">
<title>{escape(site.title)}_{site.county}人民政府</title>
<link rel="stylesheet" type="text/css" href="/css/common.css">
{_STYLE}
{_HEAD_SCRIPT}
</head>
<body>
<!-- 头部 -->
{body}
{_TAIL_SCRIPT}
</body>
</html>
"""


def page_bytes(
    stem: str, encoding: str = "utf-8", declare: str = "meta", bom: bool = False, layout: str | None = None
) -> bytes:
    """The page saved as "网页，仅 HTML": UTF-8, or gbk/gb18030 (declared as gb2312 for gbk, as sites do)."""
    label = {"gbk": "gb2312"}.get(encoding, encoding)
    raw = page_html(stem, label, declare, layout).encode(encoding)
    return b"\xef\xbb\xbf" + raw if bom else raw


def ctrl_a_copy(stem: str, newline: str = "\n", layout: str | None = None) -> str:
    """The page as Ctrl+A, Ctrl+C in the browser and a paste into Notepad give it."""
    _, lines = _page(stem, layout)
    return newline.join(lines) + newline


def url(stem: str) -> str:
    return f"http://{SITES[stem].host}/zwgk/fzzfjs/ndbg/t20240108_{STEMS.index(stem) + 612034}.html"


_BOUNDARY = "----MultipartBoundary--Xq3o5mR2cVbq8oT9mH6vB1pW4zK7dL0sN9fJ2gA----"
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


def page_mhtml(
    stem: str, transfer: str = "quoted-printable", encoding: str = "utf-8", part_charset: str | None = None
) -> bytes:
    """The page in one .mhtml file. Chrome: the DOM re-serialized in UTF-8 without scripts, a
    Content-Type meta first in <head>, quoted-printable; `transfer="base64"`, `encoding="gbk"`,
    `part_charset="gb2312"` give an .mht as IE saves it."""
    site = SITES[stem]
    page_url = url(stem)
    html = re.sub(r"<script\b.*?</script>\s*", "", page_html(stem, declare="none"), flags=re.S)
    charset = part_charset or encoding
    html = html.replace("<head>\n", f'<head><meta http-equiv="Content-Type" content="text/html; charset={charset}">', 1)
    payload = _transfer_encode(html.encode(encoding), transfer)
    css = _transfer_encode(b'@charset "utf-8";\nbody { margin: 0px; }\n', "quoted-printable")
    subject = email.header.Header(f"{site.title}_{site.county}人民政府", "utf-8").encode()
    content_type = f'text/html; charset="{part_charset}"' if part_charset else "text/html"
    parts = [
        (
            f"Content-Type: {content_type}\r\nContent-ID: <frame-8F0E2C3B1A5D4E6F9A7B@mhtml.blink>\r\n"
            f"Content-Transfer-Encoding: {transfer}\r\nContent-Location: {page_url}\r\n\r\n"
        ).encode()
        + payload,
        (
            f"Content-Type: text/css\r\nContent-Transfer-Encoding: quoted-printable\r\n"
            f"Content-Location: http://{site.host}/css/common.css\r\n\r\n"
        ).encode()
        + css,
        (
            f"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Location: http://{site.host}/images/logo.png\r\n\r\n"
        ).encode()
        + _transfer_encode(_PNG, "base64"),
    ]
    head = (
        f"From: <Saved by Blink>\r\nSnapshot-Content-Location: {page_url}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 8 Jan 2024 10:21:33 +0800\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/related;\r\n\ttype="text/html";\r\n\tboundary="{_BOUNDARY}"\r\n\r\n\r\n'
    ).encode()
    body = b"".join(f"--{_BOUNDARY}\r\n".encode() + part + b"\r\n" for part in parts)
    return head + body + f"--{_BOUNDARY}--\r\n".encode()


def _transfer_encode(data: bytes, transfer: str) -> bytes:
    if transfer == "base64":
        encoded = base64.encodebytes(data)
    else:
        encoded = quopri.encodestring(data)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# --- files -----------------------------------------------------------------------------------------------
FORMS = ("utf8.html", "gbk.html", "mhtml", "copy.txt")


def write_form(stem: str, form: str, folder: Path) -> Path:
    """One form of the report's page as a file in `folder`: <stem>-<form>."""
    path = Path(folder) / f"{stem}-{form}" if form != "mhtml" else Path(folder) / f"{stem}.mhtml"
    if form == "utf8.html":
        path.write_bytes(page_bytes(stem))
    elif form == "gbk.html":
        path.write_bytes(page_bytes(stem, "gbk"))
    elif form == "mhtml":
        path.write_bytes(page_mhtml(stem))
    elif form == "copy.txt":
        path.write_text(ctrl_a_copy(stem), encoding="utf-8")
    else:
        raise ValueError(form)
    return path
