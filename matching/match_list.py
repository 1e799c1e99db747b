"""What a match request answers: an ordered list of matches, each with its explanation."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from matching.explain import Evidence

__all__ = ["Match", "MatchList"]


@dataclass
class Match:
    """One matched need, result or expert, with why it matched."""

    rank: int
    id: int
    ref: str
    title: str
    organization: str
    region: str
    score: float
    components: dict[str, float | int | None]
    shared_terms: list[str]
    evidence: Evidence | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class MatchList:
    """A ranked list for one query. ``model_id`` names the encoder whose vectors were used;
    ``ranker`` says how the order was made (fusion while no ranking model is trained) and
    ``ranker_version`` names the ranking model version (None: fusion order)."""

    direction: str
    query: dict[str, Any]
    items: list[Match]
    model_id: str
    ranker: str
    filters: dict[str, Any]
    ranker_version: str | None = None
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def refs(self) -> list[str]:
        return [match.ref for match in self.items]
