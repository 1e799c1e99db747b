"""The ranking model inside the engine: cold start, feedback → training rows, a trained model
ordering and stamping the lists, rollback, and training with the held-out gate. Real model,
FAISS and SQLite over the mini demo (20 needs, 40 results)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from matching.config import Settings
from matching.demo import load_demo
from matching.encode import Encoder
from matching.engine import COLD_START_RANKER, FUSION_ONLY_RANKER, MatchingEngine
from matching.feedback import pair_labels, record_feedback
from matching.ranker import MatchRanker
from matching.ranker_registry import RankerRegistry, TrainedRanker
from matching.ranker_sources import feedback_training_set, train_from_sources
from matching.store.database import Database
from matching.store.models import Need


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, encoder: Encoder, mini_demo_dir: Path
) -> Iterator[MatchingEngine]:
    folder = tmp_path_factory.mktemp("ranked")
    settings = Settings(data_dir=folder, load_demo=False, demo_dir=mini_demo_dir)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    load_demo(database, mini_demo_dir, settings)
    opened = MatchingEngine(database, settings, encoder)
    opened.open()
    yield opened
    database.dispose()


def need_ids(engine: MatchingEngine) -> list[int]:
    with engine.database.session() as session:
        return list(session.scalars(select(Need.id).order_by(Need.id)))


def test_cold_start_uses_the_fusion_order_and_says_so(engine: MatchingEngine) -> None:
    listed = engine.need_to_results(need_ids(engine)[0], top=5)
    assert listed.ranker == COLD_START_RANKER and listed.ranker_version is None
    assert all("match_score" not in item.components for item in listed.items)


def test_feedback_round_trips_into_training_rows(engine: MatchingEngine) -> None:
    expected = {}
    with engine.database.session("staff:test") as session:
        for need in need_ids(engine):
            shown = engine.need_to_results(need, top=6).items
            for item in shown:
                record_feedback(session, need, "shown", result=item.id, rank=item.rank)
                expected[(need, item.id)] = 0
            record_feedback(session, need, "已签约", result=shown[0].id, amount=50.0)
            record_feedback(session, need, "contacted", result=shown[1].id)
            record_feedback(session, need, "rejected", result=shown[2].id, reason="价格不合适")
            record_feedback(session, need, "rejected", result=shown[5].id, reason="不相关")
            expected.update(
                {(need, shown[0].id): 4, (need, shown[1].id): 2, (need, shown[2].id): 1}
            )
    with engine.database.session() as session:
        assert pair_labels(session) == expected
    rows = feedback_training_set(engine)
    assert rows.n_queries == len(need_ids(engine)) and len(rows.labels) == len(expected)
    got = {
        (int(query), int(item)): int(label)
        for query, item, label in zip(rows.queries, rows.items, rows.labels, strict=True)
    }
    assert got == expected


def test_a_trained_model_orders_need_lists_and_stamps_its_version(
    engine: MatchingEngine,
) -> None:
    rows = feedback_training_set(engine)
    model = MatchRanker(max_iter=50).fit(rows.features, rows.labels)
    version = RankerRegistry(engine.settings.data_dir / "ranker").save(model, {}, activate=True)
    need = need_ids(engine)[3]
    listed = engine.need_to_results(need, top=5)  # picks up the new state on its own
    assert listed.ranker_version == version and version in listed.ranker
    scores = [item.score for item in listed.items]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert all(item.components["match_score"] == item.score for item in listed.items)
    texts = engine.search_results("钢渣 综合利用", top=3)
    assert texts.ranker_version == version
    result_id = listed.items[0].id
    other = engine.result_to_needs(result_id, top=3)
    assert other.ranker == FUSION_ONLY_RANKER and other.ranker_version is None


def test_rollback_elsewhere_takes_effect_on_the_next_request(engine: MatchingEngine) -> None:
    RankerRegistry(engine.settings.data_dir / "ranker").rollback()
    listed = engine.need_to_results(need_ids(engine)[0], top=3)
    assert listed.ranker == COLD_START_RANKER and listed.ranker_version is None


def test_training_from_feedback_reports_the_held_out_comparison(engine: MatchingEngine) -> None:
    report = train_from_sources(engine, from_feedback=True)
    assert report.training_data["source"] == "feedback"
    assert report.holdout["queries"] == 4 and report.holdout["baseline"] == "fusion"
    assert report.accepted == (report.holdout["ndcg@10_new"] > report.holdout["ndcg@10_fusion"])
    active = engine.ranker.version if engine.ranker else None
    assert active == (report.version if report.accepted else None)


class FakeBackwardsModelForGuardTest(MatchRanker):
    """Not a ranking model: scores the candidates in reverse fused order (the fused first
    lowest), to test only that the engine applies the re-ranking guard."""

    def match_score(self, X: Any) -> Any:
        return np.linspace(0.0, 1.0, len(X))


def test_the_fused_first_stays_in_a_re_ranked_list(engine: MatchingEngine) -> None:
    need = need_ids(engine)[5]
    engine._ranker_stamp = engine.rankers.state_stamp()  # keep the models set below
    try:
        engine.ranker = None  # the fused order
        fused_first = engine.need_to_results(need, top=5).items[0].id
        engine.ranker = TrainedRanker("v-fake", FakeBackwardsModelForGuardTest(), {})
        guarded = engine.need_to_results(need, top=5)
        scores = [item.score for item in guarded.items]
        assert fused_first in [item.id for item in guarded.items]
        assert guarded.items[-1].id == fused_first  # rescued at the end of the top
        assert scores == sorted(scores, reverse=True)
        unguarded = engine.settings.model_copy(update={"rerank_keep": 0})
        engine.settings, settings = unguarded, engine.settings
        try:
            alone = engine.need_to_results(need, top=5)
            assert fused_first not in [item.id for item in alone.items]
        finally:
            engine.settings = settings
    finally:
        engine.reload_ranker()
