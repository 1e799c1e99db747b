"""The web interface: server-rendered Chinese pages (Jinja2 + HTMX, no build step) on the same
app, accounts and roles as the API. See ``docs/web.md``.

- ``session``: the login cookie, CSRF tokens, page dependencies (``PageUser``, ``page_roles``);
- ``routing.WebRoute``: the route class of pages (errors as pages, login redirects);
- ``templating.render``: a page from ``service/templates`` (every page extends ``base.html``);
- ``navigation``: the navigation bar by role (``add_nav_item`` for new pages);
- ``jobs.JobRunner``: long work with a progress bar (``/jobs/{id}``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.web.jobs import JobRunner
from service.web.routes import (
    account,
    committee,
    dashboard,
    events,
    feedback,
    imports,
    jobs,
    ranker,
    records,
)

__all__ = ["STATIC_DIR", "install_web"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install_web(app: FastAPI) -> None:
    """Serve the pages and ``/static`` on ``app``, with a job runner for long work."""
    app.state.jobs = JobRunner(app.state.database)
    app.state.pending_imports = imports.PendingImports(app.state.database)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (account, records, feedback, imports, dashboard, jobs, ranker, committee, events):
        app.include_router(module.router)
