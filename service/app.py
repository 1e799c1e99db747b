"""The FastAPI application: a thin layer over the matching library."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from matching import __version__
from matching.config import Settings
from matching.engine import MatchingEngine
from matching.store.database import Database
from service.problems import install_problem_handlers
from service.routes import (
    audit,
    auth,
    committee,
    dashboard,
    events,
    feedback,
    health,
    home,
    matches,
    ranker,
    records,
    transfer,
)
from service.store_follower import StoreFollower
from service.web import install_web

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    engine: MatchingEngine | None = None,
) -> FastAPI:
    """Build the app on ``settings`` (read from the environment by default).

    The store must be migrated (``techmatch setup`` does it); the app does not change schemas.
    ``engine`` (opened) serves matching; without it, the app serves the store only.
    """
    settings = settings or Settings()
    settings.check_secrets()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        follower = None
        if app.state.engine is not None and settings.store_poll_seconds > 0:
            follower = StoreFollower(app.state.engine, settings.store_poll_seconds)
            follower.start()
        app.state.store_follower = follower
        yield
        if follower is not None:
            follower.stop()
        app.state.jobs.shutdown()
        if app.state.engine is not None:
            app.state.engine.save()
        if database is None:
            app.state.database.dispose()

    app = FastAPI(
        title="TechMatch 科技供需对接",
        version=__version__,
        description="企业技术需求与科技成果、专家的智能匹配服务。",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.resolved_database_url)
    app.state.engine = engine
    app.state.login_limiter = auth.LoginLimiter()
    install_problem_handlers(app)
    app.include_router(auth.router)
    for module in (
        records,
        transfer,
        matches,
        feedback,
        ranker,
        audit,
        committee,
        events,
        dashboard,
    ):
        app.include_router(module.router)
    app.include_router(health.router)
    app.include_router(home.router)
    install_web(app)
    return app
