"""The matching engine on the Qdrant backend gives FAISS's lists (a tiny store, the real model)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from matching.config import Settings
from matching.embedding_cache import CachedEncoder, EmbeddingCache
from matching.encode import SentenceTransformerEncoder
from matching.engine import MatchingEngine
from matching.importing import import_file
from matching.qdrant_index import QdrantIndex
from matching.store.database import Database

SIZES = {"needs": 6, "results": 24, "experts": 3}


def _smaller(source: Path, folder: Path) -> Path:
    """The first rows of each file of the mini demo (kept small: every text is embedded)."""
    for entity, count in SIZES.items():
        with open(source / f"{entity}.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with open(folder / f"{entity}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[:count])
    return folder


@pytest.fixture(scope="module")
def engines(
    tmp_path_factory: pytest.TempPathFactory,
    mini_demo_dir: Path,
    encoder: SentenceTransformerEncoder,
) -> Iterator[tuple[MatchingEngine, MatchingEngine]]:
    """One small store opened with FAISS and with Qdrant; the texts are embedded once (a shared
    embedding cache)."""
    folder = tmp_path_factory.mktemp("qdrant-engine")
    data = _smaller(mini_demo_dir, folder)
    faiss_settings = Settings(data_dir=folder / "faiss", load_demo=False, demo_dir=mini_demo_dir)
    qdrant_settings = faiss_settings.model_copy(
        update={"data_dir": folder / "qdrant", "vector_backend": "qdrant"}
    )
    database = Database(faiss_settings.resolved_database_url)
    database.upgrade()
    for entity in ("needs", "results", "experts"):
        report = import_file(database, entity, data / f"{entity}.csv", settings=faiss_settings)
        assert report.errors == []
    cached = CachedEncoder(
        encoder,
        EmbeddingCache(folder / "embeddings.sqlite"),
        query_prefix=encoder.query_prefix,
        passage_prefix=encoder.passage_prefix,
    )
    opened = []
    for settings in (faiss_settings, qdrant_settings):
        engine = MatchingEngine(database, settings, cached)
        assert [report.action for report in engine.open()] == ["rebuilt"] * 3
        opened.append(engine)
    yield opened[0], opened[1]
    database.dispose()


def test_need_to_results_is_the_same_on_qdrant_as_on_faiss(
    engines: tuple[MatchingEngine, MatchingEngine],
) -> None:
    with_faiss, with_qdrant = engines
    assert isinstance(with_qdrant.corpora["results"].vectors, QdrantIndex)
    needs = sorted(with_faiss.corpora["needs"].facets)
    assert len(needs) == SIZES["needs"]
    for need in needs:
        expected = with_faiss.need_to_results(need, top=10)
        found = with_qdrant.need_to_results(need, top=10)
        assert found.refs() == expected.refs()
        assert np.allclose(
            [item.score for item in found.items], [item.score for item in expected.items], atol=1e-5
        )
        for left, right in zip(found.items, expected.items, strict=True):
            assert left.components["cosine"] == pytest.approx(right.components["cosine"], abs=1e-5)


def test_a_saved_qdrant_engine_reopens_without_rebuilding(
    engines: tuple[MatchingEngine, MatchingEngine],
) -> None:
    _, with_qdrant = engines
    with_qdrant.save()
    again = MatchingEngine(with_qdrant.database, with_qdrant.settings, with_qdrant.encoder)
    assert [report.action for report in again.open()] == ["loaded"] * 3
    need = min(with_qdrant.corpora["needs"].facets)
    assert again.need_to_results(need).refs() == with_qdrant.need_to_results(need).refs()
