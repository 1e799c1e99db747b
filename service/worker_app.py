"""The app of one process of ``techmatch serve --workers N``: each worker opens its own store
connections and its own engine (loading the indexes the supervising process saved, catching up
with whatever was written since), and follows the other workers' writes through the store."""

from __future__ import annotations

import os

from fastapi import FastAPI

from matching.config import Settings
from matching.engine import MatchingEngine
from matching.store.database import Database
from service.app import create_app

__all__ = ["create_worker_app"]


def create_worker_app() -> FastAPI:
    """Build one worker's app from the environment's settings (uvicorn calls it per worker)."""
    settings = Settings()
    engine = MatchingEngine(Database(settings.resolved_database_url), settings)
    for report in engine.open():
        print(
            f"进程 {os.getpid()} 索引 {report.kind}：{report.action}（{report.reason}），"
            f"新嵌入 {report.embedded}，删除 {report.removed}，共 {report.count}",
            flush=True,
        )
    return create_app(settings, engine.database, engine)
