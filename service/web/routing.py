"""The route class of every page: errors become Chinese pages instead of problem documents,
a missing session sends the browser to the login page, and a new CSRF seed made while
rendering is set as a cookie.

``APIRouter(route_class=WebRoute, include_in_schema=False)`` makes a router of pages. For HTMX
requests (header ``HX-Request``) an error answers a fragment for the page's message area
(``HX-Retarget: #flash``) and a lost session a ``HX-Redirect`` to the login page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from matching.errors import InvalidFile, NotFound, TechMatchError
from service.problems import Problem
from service.web.session import LoginRequired, end_session, login_url, safe_next, set_csrf_cookie
from service.web.templating import render

__all__ = ["WebRoute", "error_page", "is_htmx"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_page(
    request: Request,
    status: int,
    title: str,
    detail: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """A page (or, for HTMX, a message fragment) saying what went wrong."""
    context = {"status": status, "title": title, "detail": detail}
    if is_htmx(request):
        fragment_headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", **(headers or {})}
        return render(request, "_flash.html", context, status, fragment_headers)
    return render(request, "error.html", context, status, headers)


def _to_login(request: Request, error: LoginRequired) -> Response:
    response: Response
    if is_htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        here = current.path + (f"?{current.query}" if current.query else "")
        target = "/login?next=" + quote(safe_next(here), safe="/")
        response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(login_url(request), status_code=303)
    if error.clear_cookie:
        end_session(request, response)
    return response


def _validation_detail(error: RequestValidationError) -> str:
    reasons = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "body", "path"))
        reasons.append(f"{where}：{item.get('msg', '无效')}")
    return "；".join(reasons)


class WebRoute(APIRoute):
    """A page route (see the module doc)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            response: Response
            try:
                response = await handler(request)
            except LoginRequired as error:
                response = _to_login(request, error)
            except Problem as error:
                response = error_page(
                    request, error.status, error.title, error.detail, error.headers
                )
            except RequestValidationError as error:
                response = error_page(request, 422, "输入数据无效", _validation_detail(error))
            except NotFound as error:
                response = error_page(request, 404, "未找到", str(error))
            except InvalidFile as error:
                response = error_page(request, 422, "文件无法读取", str(error))
            except TechMatchError as error:
                response = error_page(request, 422, "无法完成", str(error))
            set_csrf_cookie(request, response)
            return response

        return page
