"""``GET /health``: liveness and the store's counts."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from matching import __version__
from service.deps import DatabaseDep

router = APIRouter(tags=["health"])


class StoreCountsPublic(BaseModel):
    needs: int
    results: int
    experts: int
    organizations: int


class Health(BaseModel):
    status: str
    version: str
    database: str
    schema_revision: str | None
    counts: StoreCountsPublic


@router.get("/health", response_model=Health, summary="服务状态与数据量")
def health(database: DatabaseDep) -> Health:
    """Whether the service runs, its version, the store's backend and its counts."""
    return Health(
        status="ok",
        version=__version__,
        database=database.engine.dialect.name,
        schema_revision=database.current_revision(),
        counts=StoreCountsPublic(**database.counts()),
    )
