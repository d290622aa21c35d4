"""The FastAPI application: pages, the /api/v1 JSON API, sessions, error mapping."""

from __future__ import annotations

import os
import secrets
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from notifications import web as notifications_web
from tracker.config import ConfigError, Settings, get_settings
from tracker.db import get_engine
from tracker.errors import DomainError, PasswordChangeRequired
from tracker.web import api, pages
from tracker.web.audit_trail import remember_client
from tracker.web.deps import CsrfFailed, LoginRequired, check_csrf
from tracker.web.limits import BodyLimit, reject_unstorable
from tracker.web.security import SecurityHeaders
from tracker.web.templating import render
from tracker.web.validation import validation_message
from tracker.yearend import web as yearend_web

SESSION_COOKIE = "rectify_session"


SECRET_KEY_MISSING = (
    "配置错误：RECTIFY_SECRET_KEY 未设置。使用 PostgreSQL 时，所有网页进程必须使用同一个会话签名密钥，"
    "请在每台服务器上设置相同的至少 32 个字符的随机字符串（可用 python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(48))' 生成）"
)


def secret_key(settings: Settings) -> str:
    """The session signing key: RECTIFY_SECRET_KEY, shared by every web process. Only the embedded default
    (SQLite, one machine) may go without: a key is then made once and kept private in the data dir.
    On PostgreSQL without one, ConfigError (`rectify serve` refuses to start)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if not settings.embedded:
        raise ConfigError([SECRET_KEY_MISSING.removeprefix("配置错误：")])
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=settings.data_dir, prefix=".secret_key-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            os.link(tmp, path)  # whole or not at all; a process that made one first keeps its key
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def create_app(*, engine: Engine | None = None, start_scheduler: bool = False) -> FastAPI:
    """The app on `engine` (default: the configured database).

    `rectify serve` passes start_scheduler=True; the reminders' scheduler (issue 5) starts from it,
    so tests and extra processes serve pages without scheduling anything.
    """
    settings = get_settings()
    engine = engine or get_engine()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Every serving process competes for the scheduler lease; only its holder schedules and sends.
        handle = None
        if start_scheduler:
            from notifications import scheduler

            handle = scheduler.start(engine)
        try:
            yield
        finally:
            if handle is not None:
                handle.shutdown()

    # The interactive docs pages load their scripts from a CDN: off, to work offline; /openapi.json stays.
    app = FastAPI(
        title="rectify 整改事项台账 API",
        version="1",
        dependencies=[Depends(remember_client), Depends(reject_unstorable), Depends(check_csrf)],
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.start_scheduler = start_scheduler
    # inside the session middleware (added after it): it reads the session to refuse anonymous uploads unread
    app.add_middleware(BodyLimit, limit=lambda: get_settings().max_request_mb * 1024 * 1024)
    # The cookie carries a server-side session id (tracker/sessions.py decides whether it is still valid).
    https = settings.notify.base_url.startswith("https://")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_hours * 3600,
        same_site="lax",
        https_only=https,
    )
    app.add_middleware(SecurityHeaders, https=https)  # outermost: every response, refusals included
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(api.router)
    for router in pages.routers:
        app.include_router(router)
    for area in (yearend_web, notifications_web):  # their pages extend ours: templates, nav links
        area.setup_pages()
        app.include_router(area.router, responses=api.VALIDATION_ERROR)
    _error_handlers(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str):
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    user = getattr(request.state, "user", None)
    return render(
        request, "error.html", user=user, status_code=status, message=message, status=status, back=_back_link(request)
    )


def _back_link(request: Request) -> str:
    """Where "reload" and "back" lead: the page the request came from, if it is on this site."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        return _error(request, exc.status_code, exc.message)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change_required(request: Request, exc: PasswordChangeRequired):
        # pages lead to the change form (which says why); the API says so with a 403
        if _is_api(request):
            return JSONResponse({"detail": exc.message}, status_code=403)
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if _is_api(request):
            return JSONResponse(
                {"detail": "未登录或令牌无效，请先登录"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = f"/login?{urlencode({'next': target})}" if request.method == "GET" else "/login"
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed):
        return _error(request, 403, "页面已过期或请求来源无法验证（CSRF 校验失败），请刷新页面后重试")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return _error(request, 422, validation_message(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        messages = {404: "页面或记录不存在", 405: "不支持此请求方式"}
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        return _error(request, exc.status_code, detail or messages.get(exc.status_code, "请求无法处理"))
