"""Charts for the county summary, drawn on the server (matplotlib, Agg) with a CJK font found offline.

Without any Chinese font the labels would print as boxes, so no chart is drawn then and the summary
says why (install fonts-wqy-microhei or fonts-noto-cjk).
"""
from __future__ import annotations

import io
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "SimHei", "Microsoft YaHei", "AR PL UMing CN", "Noto Serif CJK SC")
MAX_BARS = 40  # more townships than this: a distribution instead of one bar each
NO_FONT = "服务器未安装中文字体（如 fonts-wqy-microhei 或 fonts-noto-cjk），图表未生成"


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


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
