"""The JSON API under /api/v1: session cookie or `Authorization: Bearer TOKEN`; errors as {"detail": "..."}."""

from fastapi import APIRouter, Depends
from fastapi.security import HTTPBearer

from tracker.web.api import reports, tasks, users
from tracker.web.api.schemas import Message

# The app answers a bad request with {"detail": "<中文说明>"}, not FastAPI's list of errors: documented so
# (the app factory applies it to the other areas' API routes too).
VALIDATION_ERROR = {422: {"model": Message, "description": "参数或内容有误"}}
# Declared for the OpenAPI schema only; deps.CurrentUser reads the header itself (and the cookie).
_bearer = HTTPBearer(auto_error=False, description="`rectify users token NAME` 生成的 API 令牌")

router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(_bearer)],
    responses={
        401: {"model": Message, "description": "未登录或令牌无效"},
        **VALIDATION_ERROR,
        403: {"model": Message, "description": "无权执行此操作"},
        404: {"model": Message, "description": "记录不存在（或不在你的权限范围内）"},
    },
)
for module in (tasks, reports, users):
    router.include_router(module.router)
