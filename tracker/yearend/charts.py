"""Charts for the county summary, drawn on the server (matplotlib, Agg) with a CJK font found offline.

matplotlib only knows the fonts in its cached font list (built the first time it ran), so a font
installed later (`apt-get install fonts-wqy-microhei`) is invisible to it. `cjk_font()` therefore
looks the fonts up itself — `fc-list :lang=zh file`, then known paths of WenQuanYi and Noto CJK —
and registers them with `font_manager.fontManager.addfont`. Without any Chinese font the labels
would print as boxes, so no chart is drawn then and the summary says why (NO_FONT).
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

log = logging.getLogger(__name__)

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "AR PL UMing CN",
    "Noto Serif CJK SC",
)
KNOWN_FONT_FILES = (  # Debian/Ubuntu, then Fedora/Arch packagings of the same fonts
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
MAX_BARS = 40  # more townships than this: a distribution instead of one bar each
MAX_FILES = 30  # font files registered at most (Noto CJK ships one per weight)
NO_FONT = "服务器未安装中文字体（如 fonts-wqy-microhei 或 fonts-noto-cjk），图表未生成"
NO_DATA = "没有可绘制的数据（尚无乡镇查摆问题），图表未生成"


def cjk_font_files() -> list[str]:
    """Font files that cover Chinese: what fontconfig knows (`fc-list :lang=zh file`), then known paths."""
    found: list[str] = []
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        found = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
    found += [p for p in KNOWN_FONT_FILES if Path(p).is_file()]
    return list(dict.fromkeys(f for f in found if f.lower().endswith((".ttf", ".ttc", ".otf", ".otc"))))


def _preferred(names: set[str]) -> str | None:
    return next((name for name in CJK_FONTS if name in names), None)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of a Chinese font matplotlib can use, registering installed ones it missed."""
    manager = font_manager.fontManager
    hit = _preferred({f.name for f in manager.ttflist})
    if hit:
        return hit
    known = {f.fname for f in manager.ttflist}
    added: list[str] = []
    for path in cjk_font_files()[:MAX_FILES]:
        if path in known:
            continue
        before = len(manager.ttflist)
        try:
            manager.addfont(path)
        except Exception as exc:  # a broken or unreadable file: try the next one
            log.warning("无法读取字体文件 %s：%s", path, exc)
            continue
        added += [f.name for f in manager.ttflist[before:]]
    hit = _preferred(set(added)) or (added[0] if added else None)
    if hit:
        log.info("图表使用中文字体 %s（已从字体文件登记）", hit)
    return hit


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def completion_chart(rates: list[tuple[str, int]]) -> bytes | None:
    """Completion rate (%) by township, or the spread of rates when there are too many townships."""
    font = cjk_font()
    if font is None or not rates:
        return None
    props = {"family": font}
    if len(rates) <= MAX_BARS:
        ordered = sorted(rates, key=lambda r: (r[1], r[0]))
        fig = Figure(figsize=(7.5, max(2.5, 0.32 * len(ordered) + 1)))
        ax = fig.subplots()
        bars = ax.barh([n for n, _ in ordered], [r for _, r in ordered], color="#3b6ea5")
        ax.bar_label(bars, labels=[f"{r}%" for _, r in ordered], padding=3, fontsize=8, fontproperties=props)
        ax.set_xlim(0, 110)
        ax.set_xlabel("完成率(%)", fontproperties=props)
        for label in ax.get_yticklabels():
            label.set_fontproperties(props)
    else:
        fig = Figure(figsize=(7.5, 3.5))
        ax = fig.subplots()
        ax.hist([r for _, r in rates], bins=range(0, 110, 10), color="#3b6ea5", edgecolor="white")
        ax.set_xlabel("完成率(%)", fontproperties=props)
        ax.set_ylabel("乡镇（街道）数", fontproperties=props)
    ax.set_title("各乡镇（街道）问题整改完成率", fontproperties=props)
    return _png(fig)


def theme_chart(counts: dict[str, int]) -> bytes | None:
    """Shortcomings by theme, largest first."""
    font = cjk_font()
    shown = [(t, n) for t, n in sorted(counts.items(), key=lambda kv: kv[1]) if n]
    if font is None or not shown:
        return None
    props = {"family": font}
    fig = Figure(figsize=(7.5, max(2.5, 0.35 * len(shown) + 1)))
    ax = fig.subplots()
    bars = ax.barh([t for t, _ in shown], [n for _, n in shown], color="#c0504d")
    ax.bar_label(bars, padding=3, fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("问题数(个)", fontproperties=props)
    ax.set_title("查摆问题主题分布", fontproperties=props)
    for label in ax.get_yticklabels():
        label.set_fontproperties(props)
    return _png(fig)
