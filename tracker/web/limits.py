"""What the app refuses before it reads or stores a request (issue 13).

- `BodyLimit` (ASGI middleware): a body larger than `RECTIFY_MAX_REQUEST_MB` is refused with 413 before
  any of it is read (by its Content-Length, or by counting the bytes of a body sent without one), and a
  multipart body (uploads) without a valid login is refused with 401 before any of it is read, so an
  anonymous client cannot make the server spool files to disk.
- `reject_unstorable` (app-wide dependency): text the database cannot store (NUL, which PostgreSQL refuses
  in text, and lone UTF-16 surrogates) in a query string, path parameter, form field, file name or JSON
  body is a 422 with a Chinese message, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from html import escape

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracker.errors import ValidationFailed

TOO_LARGE = "请求内容超过 {mb} MB 的上限，未被接收；请减少一次上传的文件数量或大小"
NOT_LOGGED_IN = "未登录或令牌无效，请先登录后再上传文件"
BAD_LENGTH = "请求头 Content-Length 无效"


def too_large_message(limit: int) -> str:
    return TOO_LARGE.format(mb=limit // (1024 * 1024))


class BodyLimit:
    """Refuse oversized bodies and anonymous uploads before reading them.

    Sits inside the session middleware (it reads `scope["session"]`). `max_bytes` is read per request
    through `limit()` so a test or an operator changing the setting needs no new app.
    """

    def __init__(self, app: ASGIApp, *, limit) -> None:
        self.app = app
        self.limit = limit  # () -> bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit()
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _refuse(scope, receive, send, 400, BAD_LENGTH)
                return
            if int(declared) > max_bytes:
                await _refuse(scope, receive, send, 413, too_large_message(max_bytes))
                return
        if headers.get("content-type", "").lower().startswith("multipart/") and not await _logged_in(scope):
            await _refuse(scope, receive, send, 401, NOT_LOGGED_IN)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:  # a body without Content-Length (chunked), or longer than it said
                    raise HTTPException(413, too_large_message(max_bytes))
            return message

        await self.app(scope, counted, send)


async def _logged_in(scope: Scope) -> bool:
    """Whether the request carries a session or Bearer token the app accepts (the same check as its pages)."""
    from tracker.web.deps import LoginRequired, _current_user

    request = Request(scope)
    engine = scope["app"].state.engine

    def check() -> bool:
        with Session(engine, expire_on_commit=False) as session:
            try:
                _current_user(request, session)
                return True
            except LoginRequired:
                return False

    return await run_in_threadpool(check)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    """A Chinese answer without reading the body: JSON under /api/, a short page elsewhere."""
    path = scope.get("path", "")
    if path.startswith("/api/"):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        response = JSONResponse({"detail": message}, status_code=status, headers=headers)
    else:
        link = '<a href="/login">登录</a>' if status == 401 else '<a href="/">返回首页</a>'
        response = HTMLResponse(_PAGE.format(status=status, message=escape(message), link=link), status_code=status)
    response.headers["Connection"] = "close"  # the unread body makes the connection unusable for another request
    await response(scope, receive, send)


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>请求被拒绝（{status}）</title></head>
<body><main><h1>请求被拒绝（{status}）</h1><p>{message}</p><p>{link}</p></main></body></html>"""


# NUL cannot be stored in PostgreSQL text; a lone surrogate cannot be encoded as UTF-8 (either database).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "{where}含有无法保存的字符（空字符 NUL 或无效的 Unicode 字符），请删除后重试"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _strings(value):
    """Every string in a parsed JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _bad(text: str) -> bool:
    return bool(_UNSTORABLE.search(text))


async def reject_unstorable(request: Request) -> None:
    """App-wide, before any route's own code: refuse NUL and lone surrogates wherever text comes in.

    FastAPI has already parsed the body for the route (Starlette caches it), so nothing is read twice.
    """
    for key, value in request.query_params.multi_items():
        if _bad(key) or _bad(value):
            raise ValidationFailed(UNSTORABLE.format(where="查询参数"))
    if any(isinstance(v, str) and _bad(v) for v in request.path_params.values()):
        raise ValidationFailed(UNSTORABLE.format(where="网址"))
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(_FORM_TYPES):
        form = await request.form()
        for key, value in form.multi_items():
            text = (value.filename or "") if isinstance(value, UploadFile) else value
            if _bad(key) or _bad(text):
                raise ValidationFailed(UNSTORABLE.format(where="文件名" if isinstance(value, UploadFile) else "表单"))
    elif "json" in content_type:
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:  # not JSON (or not UTF-8): the route's own validation answers
            return
        if any(_bad(s) for s in _strings(parsed)):
            raise ValidationFailed(UNSTORABLE.format(where="请求内容"))
