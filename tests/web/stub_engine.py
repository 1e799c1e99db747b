"""A stand-in for ``MatchingEngine`` in page tests: deterministic match lists built from the
store (no model, no index), with evidence and terms to highlight. The real engine is what the
browser test drives."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from matching.explain import Evidence
from matching.match_list import Match, MatchList
from matching.store.database import Database
from matching.store.models import Need, Result

SENTENCE = "采用<b>低温</b>催化氧化工艺处理冶炼烟气"
TERM = "冶炼"


def _evidence() -> Evidence:
    start = SENTENCE.index(TERM)
    spans = [(start, start + len(TERM))]
    marked = SENTENCE[:start] + f"【{TERM}】" + SENTENCE[start + len(TERM) :]
    return Evidence(sentence=SENTENCE, start=0, spans=spans, marked=marked)


class StubRankers:
    def status(self) -> dict[str, Any]:
        return {
            "active": None,
            "ranker": "fusion",
            "active_card": None,
            "history": [],
            "versions": [],
        }


class StubEngine:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.refreshed: list[tuple[str, list[int]]] = []
        self.rankers = StubRankers()

    def _list(self, model: Any, direction: str, exclude: int | None, top: int) -> MatchList:
        with self.database.session() as session:
            rows = list(session.scalars(select(model).order_by(model.id).limit(top + 1)).unique())
            items: list[Match] = []
            for record in [r for r in rows if r.id != exclude][:top]:
                owner = record.enterprise if isinstance(record, Need) else record.institution
                rank = len(items) + 1
                items.append(
                    Match(
                        rank=rank,
                        id=record.id,
                        ref=record.external_ref,
                        title=record.title,
                        organization=owner.name,
                        region=f"{record.province}{record.city}",
                        score=round(1 / rank, 6),
                        components={"fused": 0.05, "cosine": 0.81, "lexical": 7.5, "dense_rank": 1},
                        shared_terms=[TERM, "烟气"],
                        evidence=_evidence(),
                        details={"contact_phone": "0562-0000000"},
                    )
                )
        return MatchList(direction, {}, items, "stub-model", "fusion (冷启动)", {})

    def need_to_results(self, need: int, top: int = 10, filters: Any = None) -> MatchList:
        return self._list(Result, "need→results", None, top)

    def similar_needs(self, need: int, top: int = 10, filters: Any = None) -> MatchList:
        return self._list(Need, "need→needs", need, top)

    def result_to_needs(self, result: int, top: int = 10, filters: Any = None) -> MatchList:
        return self._list(Need, "result→needs", None, top)

    def refresh(self, kind: str, ids: list[int]) -> None:
        self.refreshed.append((kind, list(ids)))

    def catch_up(self) -> dict[str, int]:
        """The store follower's call: nothing to catch up (the pages' tests write through the
        app, which calls ``refresh``)."""
        return {}

    def save(self) -> None:
        pass
