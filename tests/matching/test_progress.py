"""Progress callbacks of long library work: the import (rows checked and written) and opening
the matching indexes (texts embedded per corpus). No model needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from matching import corpus_index
from matching.config import Settings
from matching.corpus_index import CorpusIndex
from matching.engine import MatchingEngine
from matching.importing import PROGRESS_EVERY, import_file
from matching.store.database import Database
from tests.factories import need_row, write_csv
from tests.matching.test_embedding_cache import FakeCountingEncoder


def test_import_reports_rows_checked_and_written_and_ends_at_total(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = 450
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, rows + 1)])
    seen: list[tuple[int, int]] = []
    report = import_file(
        database,
        "needs",
        path,
        settings=settings,
        allow_duplicates=True,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert report.written and report.created == rows
    total = 2 * rows
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert [d for d, _ in seen[:-1]] == list(range(PROGRESS_EVERY, total, PROGRESS_EVERY))
    assert len(seen) <= total // PROGRESS_EVERY + 1


def test_a_rejected_import_still_ends_at_total(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(1), need_row(2, **{"需求名称": ""})])
    seen: list[tuple[int, int]] = []
    report = import_file(
        database, "needs", path, settings=settings, progress=lambda d, t: seen.append((d, t))
    )
    assert not report.written
    assert seen == [(4, 4)]


def test_opening_an_index_reports_each_chunk_embedded(
    database: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, 8)])
    assert import_file(database, "needs", path, settings=settings, allow_duplicates=True).written
    monkeypatch.setattr(corpus_index, "EMBED_CHUNK", 3)
    fake = FakeCountingEncoder()
    seen: list[tuple[int, int]] = []
    report = CorpusIndex("needs", fake, settings).open(database, lambda d, t: seen.append((d, t)))
    assert report.embedded == 7
    assert seen == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert fake.calls == 3
    again: list[tuple[int, int]] = []
    CorpusIndex("needs", fake, settings).open(database, lambda d, t: again.append((d, t)))
    assert again == [(0, 0)]


def test_engine_open_reports_every_corpus(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, 4)])
    assert import_file(database, "needs", path, settings=settings, allow_duplicates=True).written
    seen: list[tuple[str, int, int]] = []
    engine = MatchingEngine(database, settings, encoder=FakeCountingEncoder())
    engine.open(lambda kind, d, t: seen.append((kind, d, t)))
    assert seen[-1] == ("experts", 0, 0)
    assert ("needs", 3, 3) in seen
    assert {kind for kind, _, _ in seen} == {"needs", "results", "experts"}
