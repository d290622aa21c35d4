"""A report's text as HTML with its extracted items marked, for the review page."""

from __future__ import annotations

from markupsafe import Markup, escape


def highlight(text: str, spans: list[tuple[object, str, int, int]]) -> Markup:
    """The document as HTML with each (key, kind, start, end) span wrapped in <mark>.

    Overlapping spans are flattened: every stretch of text is marked for the narrowest span
    covering it, and each span's first stretch carries the anchor id="item-<key>".
    """
    bounds = sorted({0, len(text), *(s for _, _, s, _ in spans), *(e for _, _, _, e in spans)})
    out, anchored = [], set()
    for a, b in zip(bounds, bounds[1:]):
        covering = [sp for sp in spans if sp[2] <= a and b <= sp[3]]
        chunk = escape(text[a:b])
        if not covering:
            out.append(chunk)
            continue
        key, kind, _, _ = min(covering, key=lambda sp: sp[3] - sp[2])
        anchor = f' id="item-{key}"' if key not in anchored else ""
        anchored.add(key)
        out.append(Markup(f'<mark class="k-{escape(kind)}" data-item="{key}"{anchor}>') + chunk + Markup("</mark>"))
    return Markup("").join(out)
