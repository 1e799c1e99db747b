"""The matching engine over a small slice of the demo data, with the real model, FAISS and BM25.

The slice: 12 recorded need → result pairs, their needs and results, 60 other results and the
experts; built once per module (embedding ~100 texts)."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from matching.config import Settings
from matching.demo import DemoPair, read_pairs
from matching.encode import Encoder
from matching.engine import COLD_START_RANKER, MatchingEngine
from matching.filters import MatchFilters
from matching.importing import import_file
from matching.store.database import Database
from matching.store.models import Expert, Need, Result
from tests.conftest import DEMO_DIR
from tests.factories import need_row, write_csv

PAIRS = 12
OTHER_RESULTS = 60


def _slice(folder: Path) -> list[DemoPair]:
    pairs = read_pairs(DEMO_DIR)[::10][:PAIRS]
    needs = {pair.need_ref for pair in pairs}
    results = {pair.result_ref for pair in pairs}
    for name, key, keep in (("needs.csv", "需求编号", needs), ("results.csv", "成果编号", results)):
        with open(DEMO_DIR / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        chosen = [row for row in rows if row[key] in keep]
        if name == "results.csv":
            others = [row for row in rows if row[key] not in keep]
            chosen += others[:: max(1, len(others) // OTHER_RESULTS)][:OTHER_RESULTS]
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(chosen)
    shutil.copy(DEMO_DIR / "experts.csv", folder / "experts.csv")
    return pairs


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, encoder: Encoder
) -> Iterator[tuple[MatchingEngine, list[DemoPair], Settings]]:
    folder = tmp_path_factory.mktemp("engine")
    pairs = _slice(folder)
    settings = Settings(data_dir=folder / "var", load_demo=False, demo_dir=folder)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    for entity in ("needs", "results", "experts"):
        report = import_file(database, entity, folder / f"{entity}.csv", settings=settings)
        assert report.errors == []
    engine = MatchingEngine(database, settings, encoder)
    reports = engine.open()
    assert [r.action for r in reports] == ["rebuilt"] * 3
    yield engine, pairs, settings
    database.dispose()


def test_paired_results_rank_at_the_top_with_explanations(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, _ = world
    in_top3 = 0
    for pair in pairs:
        match_list = engine.need_to_results(pair.need_ref, top=5)
        assert match_list.ranker == COLD_START_RANKER
        assert match_list.model_id == engine.encoder.model_id
        assert len(match_list.items) == 5
        refs = match_list.refs()
        in_top3 += pair.result_ref in refs[:3]
        if pair.result_ref in refs:
            match = match_list.items[refs.index(pair.result_ref)]
            assert match.components["dense"] is not None
            assert match.evidence is not None and match.evidence.sentence
            assert match.evidence.sentence in engine.corpora["results"].texts[match.id]
            for start, end in match.evidence.spans:
                assert f"【{match.evidence.sentence[start:end]}】" in match.evidence.marked
    assert in_top3 >= PAIRS - 2


def test_result_to_needs_finds_the_need_it_answers(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, _ = world
    found = sum(
        pair.need_ref in engine.result_to_needs(pair.result_ref, top=3).refs() for pair in pairs
    )
    assert found >= PAIRS - 2


def test_filters_never_starve_the_list(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, _ = world
    facets = engine.corpora["results"].facets
    province_counts: dict[str, int] = {}
    for f in facets.values():
        province_counts[f.province] = province_counts.get(f.province, 0) + 1
    rare = min(province_counts, key=lambda p: province_counts[p])
    filters = MatchFilters(provinces=frozenset({rare}))
    match_list = engine.need_to_results(pairs[0].need_ref, top=10, filters=filters)
    assert len(match_list.items) == min(10, province_counts[rare])
    assert all(m.region.startswith(rare) for m in match_list.items)
    assert match_list.filters == {"provinces": [rare]}
    pilot = MatchFilters(maturities=frozenset({"pilot", "industrial"}), min_trl=6)
    allowed = pilot.allowed(facets)
    assert allowed is not None
    listed = engine.need_to_results(pairs[1].need_ref, top=10, filters=pilot)
    assert len(listed.items) == min(10, len(allowed))
    assert all(m.details["trl"] >= 6 for m in listed.items)


def test_need_to_experts_leaves_out_conflicted_experts(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, _ = world
    with engine.database.session() as session:
        need = session.scalar(select(Need).where(Need.external_ref == pairs[0].need_ref))
        assert need is not None
        enterprise = need.enterprise.name
        experts = session.scalars(select(Expert)).unique().all()
        conflicted = {e.external_ref for e in experts if enterprise in e.conflict_organizations}
    everyone = engine.need_to_experts(pairs[0].need_ref, top=200, exclude_conflicts=False)
    fair = engine.need_to_experts(pairs[0].need_ref, top=200)
    assert conflicted and conflicted <= set(everyone.refs())
    assert not conflicted & set(fair.refs())


def test_similar_needs_exclude_the_need_itself(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, _ = world
    assert pairs[0].need_ref not in engine.similar_needs(pairs[0].need_ref, top=5).refs()


def test_writes_are_matchable_at_once_and_withdrawn_ones_gone(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, _ = world
    pair = pairs[2]
    with engine.database.session() as session:
        result = session.scalar(select(Result).where(Result.external_ref == pair.result_ref))
        assert result is not None
        result.status = "withdrawn"
        result_id = result.id
    engine.refresh("results", [result_id])
    assert pair.result_ref not in engine.need_to_results(pair.need_ref, top=20).refs()
    with engine.database.session() as session:
        result = session.get(Result, result_id)
        assert result is not None
        result.status = "published"
    engine.refresh("results", [result_id])
    assert pair.result_ref in engine.need_to_results(pair.need_ref, top=5).refs()


def test_refresh_of_unknown_or_inactive_ids_is_harmless(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, _ = world
    before = len(engine.corpora["results"].vectors)
    engine.refresh("results", [987_654_321])
    engine.refresh("needs", [987_654_321])
    assert len(engine.corpora["results"].vectors) == before
    assert len(engine.need_to_results(pairs[0].need_ref, top=5).items) == 5


def test_reopen_loads_catches_up_and_rebuilds_corrupt_indexes(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    engine, pairs, settings = world
    engine.save()
    again = MatchingEngine(engine.database, settings, engine.encoder)
    assert {r.action for r in again.open()} == {"loaded"}
    with engine.database.session() as session:
        need = session.scalar(select(Need).where(Need.external_ref == pairs[3].need_ref))
        assert need is not None
        need.title = need.title + "（已更新）"
    caught_up = {
        r.kind: r for r in MatchingEngine(engine.database, settings, engine.encoder).open()
    }
    assert (caught_up["needs"].action, caught_up["needs"].embedded) == ("caught up", 1)
    assert caught_up["results"].action == "loaded"
    for path in (settings.data_dir / "indexes" / "results").iterdir():
        if path.suffix != ".json":
            path.write_bytes(path.read_bytes()[:100])
    rebuilt = {r.kind: r for r in MatchingEngine(engine.database, settings, engine.encoder).open()}
    assert rebuilt["results"].action == "rebuilt"


def test_a_save_does_not_claim_records_written_behind_the_engine_s_back(
    world: tuple[MatchingEngine, list[DemoPair], Settings],
) -> None:
    """Another process changes a need while the service runs (no refresh reaches this engine);
    the service then saves on shutdown: the next start must still catch that change up."""
    engine, pairs, settings = world
    running = MatchingEngine(engine.database, settings, engine.encoder)
    running.open()
    with engine.database.session("another-process") as session:
        need = session.scalar(select(Need).where(Need.external_ref == pairs[5].need_ref))
        assert need is not None
        need.title = need.title + "（另一进程修改）"
    running.save()
    restarted = {
        r.kind: r for r in MatchingEngine(engine.database, settings, engine.encoder).open()
    }
    assert (restarted["needs"].action, restarted["needs"].embedded) == ("caught up", 1)


def test_catch_up_makes_writes_of_other_processes_matchable_once(
    world: tuple[MatchingEngine, list[DemoPair], Settings], tmp_path: Path
) -> None:
    """``techmatch import`` (or a second service) writes beside a running engine: catch_up
    makes the new need matchable and the withdrawn result gone, without a restart, and embeds
    nothing twice."""
    engine, pairs, settings = world
    engine.catch_up()  # earlier tests wrote behind this engine's back too
    other = Database(settings.resolved_database_url)  # another writer, its own connections
    try:
        with other.session() as session:
            original = session.scalar(select(Need).where(Need.external_ref == pairs[6].need_ref))
            assert original is not None
            text = {"需求名称": original.title, "需求描述": original.description}
        twin = need_row(7001, **text)
        report = import_file(other, "needs", write_csv(tmp_path / "twin.csv", [twin]))
        assert report.created == 1
        with other.session("another-process") as session:
            result = session.scalar(
                select(Result).where(Result.external_ref == pairs[6].result_ref)
            )
            assert result is not None
            result.status = "withdrawn"
    finally:
        other.dispose()
    assert "T-7001" not in engine.similar_needs(pairs[6].need_ref, top=5).refs()
    assert engine.catch_up() == {"needs": 1, "results": 1, "experts": 0}
    assert "T-7001" in engine.similar_needs(pairs[6].need_ref, top=5).refs()
    assert pairs[6].result_ref not in engine.need_to_results(pairs[6].need_ref, top=20).refs()
    assert engine.catch_up() == {"needs": 0, "results": 0, "experts": 0}
    # A write this engine refreshed itself is not embedded again by the next catch_up.
    with engine.database.session() as session:
        result = session.scalar(select(Result).where(Result.external_ref == pairs[6].result_ref))
        assert result is not None
        result.status = "published"
        result_id = result.id
    engine.refresh("results", [result_id])
    assert engine.catch_up() == {"needs": 0, "results": 0, "experts": 0}
    assert pairs[6].result_ref in engine.need_to_results(pairs[6].need_ref, top=5).refs()
