"""Errors as JSON problem details (RFC 9457): ``type``, ``title``, ``status``, ``detail``,
``instance``, and for invalid input ``errors``: one entry per field with its reason.

No malformed request, unknown id or library error becomes a 500: each maps to a 4xx here.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from matching.errors import InvalidFile, NotFound, TechMatchError

__all__ = ["FieldError", "Problem", "install_problem_handlers", "problem_response"]

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "请求有误",
    401: "未登录或登录已失效",
    403: "无权访问",
    404: "未找到",
    405: "不支持的请求方法",
    409: "与现有数据冲突",
    413: "上传文件过大",
    415: "不支持的文件类型",
    422: "输入数据无效",
    429: "请求过于频繁",
    500: "服务器内部错误",
}

FieldError = dict[str, str]


class Problem(Exception):
    """Raise to answer with a problem document. ``errors``: ``{"field": ..., "reason": ...}``."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str = "",
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title or _TITLES.get(status, "错误")
        self.detail = detail
        self.errors = errors or []
        self.headers = headers
        self.extra = extra


def problem_response(
    request: Request,
    status: int,
    title: str | None = None,
    detail: str = "",
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or _TITLES.get(status, "错误"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(part) for part in location)


def _validation_errors(error: RequestValidationError) -> list[FieldError]:
    errors = []
    for item in error.errors():
        errors.append(
            {
                "field": _field_name(tuple(item.get("loc", ()))),
                "in": str(item.get("loc", ("body",))[0]),
                "reason": str(item.get("msg", "无效")),
            }
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the app can meet to a problem document."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.title, exc.detail, exc.errors, exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "；".join(f"{e['field']}：{e['reason']}" for e in errors[:5])
        return problem_response(request, 422, detail=detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"没有这个地址：{request.url.path}"
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(request, exc.status_code, detail=detail, headers=headers)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return problem_response(request, 404, detail=str(exc))

    @app.exception_handler(InvalidFile)
    async def _invalid_file(request: Request, exc: InvalidFile) -> JSONResponse:
        return problem_response(request, 422, "文件无法读取", detail=str(exc))

    @app.exception_handler(TechMatchError)
    async def _domain(request: Request, exc: TechMatchError) -> JSONResponse:
        return problem_response(request, 422, detail=str(exc))

    @app.exception_handler(OverflowError)
    async def _too_large(request: Request, exc: OverflowError) -> JSONResponse:
        # A number too large for the store (e.g. an id of 30 digits) cannot name anything.
        return problem_response(request, 404, detail="编号超出范围，找不到对应记录")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, detail="服务器内部错误，已记录日志")
