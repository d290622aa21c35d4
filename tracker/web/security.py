"""Security headers on every response (issue 13), as one small ASGI middleware, outermost.

- Content-Security-Policy: scripts only from this site's /static/ (no inline script, no `on*=`
  handlers: tracker/web/static/app.js does what pages need), no plugins, no framing, forms post only
  here. Inline `style=` attributes stay allowed (layout tweaks in the templates; they run no code);
  images may be data: URIs (the year-end charts are drawn on the server and embedded).
- X-Frame-Options DENY and frame-ancestors 'none' (clickjacking; a response that sets X-Frame-Options
  SAMEORIGIN itself, the inline evidence preview, gets SAMEORIGIN and frame-ancestors 'self'),
  X-Content-Type-Options nosniff, Referrer-Policy same-origin (pages use the Referer for "back" links on
  this site; other sites get none).
- Cache-Control: no-store on everything but /static/: pages, JSON and downloads all carry ledger data.
- Strict-Transport-Security when the site is served over https (RECTIFY_BASE_URL).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# A response that set X-Frame-Options: SAMEORIGIN itself (an evidence file previewed in a frame of the task
# page) may be framed by this site's pages, and nothing else is relaxed.
FRAMED_BY_SELF_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.headers = HEADERS | ({"Strict-Transport-Security": "max-age=31536000"} if https else {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                same_origin_frame = headers.get("X-Frame-Options") == "SAMEORIGIN"
                for name, value in self.headers.items():
                    headers[name] = value
                if same_origin_frame:  # evidence shown inline on the task page (tracker/web/pages/tasks.py)
                    headers["X-Frame-Options"] = "SAMEORIGIN"
                    headers["Content-Security-Policy"] = FRAMED_BY_SELF_CSP
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
