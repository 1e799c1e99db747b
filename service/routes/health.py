"""``GET /health``: liveness and the store's counts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from matching import __version__
from service.deps import DatabaseDep

router = APIRouter(tags=["health"])


class StoreCountsPublic(BaseModel):
    needs: int
    results: int
    experts: int
    organizations: int


class IndexState(BaseModel):
    indexed: int
    kind: str


class FollowerState(BaseModel):
    """The store follower: how often it looks for other processes' writes, how many rounds it
    has run and how many records it has refreshed since the start."""

    interval_seconds: float
    rounds: int
    refreshed: int


class Health(BaseModel):
    status: str
    version: str
    database: str
    schema_revision: str | None
    counts: StoreCountsPublic
    model_id: str | None
    indexes: dict[str, IndexState]
    store_follower: FollowerState | None = None


@router.get("/health", response_model=Health, summary="服务状态与数据量")
def health(database: DatabaseDep, request: Request) -> Health:
    """Whether the service runs, its version, the store's backend and counts, the encoder's
    model id, how many records each index holds and what the store follower has done (none when
    it is off)."""
    engine = request.app.state.engine
    indexes = (
        {}
        if engine is None
        else {
            kind: IndexState(indexed=len(corpus.vectors), kind=corpus.vectors.kind)
            for kind, corpus in engine.corpora.items()
        }
    )
    return Health(
        status="ok",
        version=__version__,
        database=database.engine.dialect.name,
        schema_revision=database.current_revision(),
        counts=StoreCountsPublic(**database.counts()),
        model_id=None if engine is None else engine.encoder.model_id,
        indexes=indexes,
        store_follower=_follower_state(request),
    )


def _follower_state(request: Request) -> FollowerState | None:
    follower = getattr(request.app.state, "store_follower", None)
    if follower is None:
        return None
    return FollowerState(
        interval_seconds=follower.interval, rounds=follower.rounds, refreshed=follower.refreshed
    )
