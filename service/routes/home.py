"""``GET /``: the web home. A logged-in user goes to their start page; anyone else sees the
store's counts and the way to log in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from service.deps import DatabaseDep
from service.web.routes.account import start_page
from service.web.routing import WebRoute
from service.web.session import session_user
from service.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
def home(request: Request, database: DatabaseDep) -> Response:
    principal = session_user(request)
    if principal is not None:
        return RedirectResponse(start_page(principal), status_code=303)
    return render(request, "home.html", {"counts": database.counts()})
