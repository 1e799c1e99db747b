"""One searchable corpus (needs, results or experts): its vector index, lexical index and facets,
kept in step with the store.

The store is the source of truth. At open, a saved vector index whose manifest matches the
encoder is caught up with the store (changed rows re-embedded, through the embedding cache, and
replaced; gone rows removed); a missing, corrupt or foreign index is rebuilt. The lexical index
is rebuilt from the store's texts.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from matching.config import Settings
from matching.corpus import ACTIVE_STATUSES, CorpusKind, Facets, document_text, facets_of
from matching.encode import Encoder
from matching.errors import TechMatchError
from matching.filters import MatchFilters
from matching.fusion import FusedCandidate
from matching.hybrid import hybrid_search
from matching.index import VectorIndex, create_index, load_index
from matching.lexical import LexicalIndex
from matching.store.database import Database
from matching.store.models import Expert, Need, Result
from matching.text import add_terms

__all__ = ["EMBED_CHUNK", "CorpusIndex", "SyncReport"]

log = logging.getLogger(__name__)

EMBED_CHUNK = 256  # texts per encoder call while opening, between progress reports

MODELS: dict[str, type[Need] | type[Result] | type[Expert]] = {
    "needs": Need,
    "results": Result,
    "experts": Expert,
}


@dataclass
class SyncReport:
    """What opening a corpus index did: loaded as saved, caught up, or rebuilt, and why."""

    kind: str
    action: str
    reason: str
    embedded: int
    removed: int
    count: int


@dataclass
class _Row:
    id: int
    text: str
    facets: Facets
    keywords: list[str]


def _high_water(rows: Sequence[_Row]) -> str:
    """The store's state of one corpus: latest change, count and a digest of ids and times."""
    digest = hashlib.sha256()
    latest = ""
    for row in sorted(rows, key=lambda r: r.id):
        stamp = row.facets.updated_at.isoformat() if row.facets.updated_at else ""
        latest = max(latest, stamp)
        digest.update(f"{row.id}:{stamp};".encode())
    return f"{latest}|{len(rows)}|{digest.hexdigest()[:16]}"


class CorpusIndex:
    """Hybrid retrieval over one corpus."""

    def __init__(self, kind: CorpusKind, encoder: Encoder, settings: Settings) -> None:
        self.kind = kind
        self.encoder = encoder
        self.settings = settings
        self.folder = settings.data_dir / "indexes" / kind
        self.vectors: VectorIndex = create_index(encoder.dimension, 0, settings)
        self.lexical = LexicalIndex()
        self.facets: dict[int, Facets] = {}
        self.texts: dict[int, str] = {}
        self._refresh_lock = threading.Lock()

    def _rows(self, database: Database, ids: Iterable[int] | None = None) -> list[_Row]:
        model: Any = MODELS[self.kind]
        with database.session() as session:
            query = select(model).where(model.status.in_(ACTIVE_STATUSES[self.kind]))
            if ids is not None:
                query = query.where(model.id.in_(list(ids)))
            return [
                _Row(e.id, document_text(e), facets_of(e), list(e.keywords))
                for e in session.scalars(query).unique()
            ]

    def open(
        self, database: Database, progress: Callable[[int, int], None] | None = None
    ) -> SyncReport:
        """Load or build the indexes so that they reflect the store exactly.

        ``progress(embedded, to_embed)`` is called as the texts to embed go through the encoder
        (every ``EMBED_CHUNK``) and at the end with ``(total, total)`` (``(0, 0)`` when nothing
        needed embedding)."""
        rows = self._rows(database)
        high_water = _high_water(rows)
        embedded = removed = 0
        try:
            vectors, manifest = load_index(
                self.folder, self.encoder.model_id, self.encoder.dimension, self.settings
            )
        except TechMatchError as error:
            action, reason = "rebuilt", str(error)
            vectors = create_index(self.encoder.dimension, len(rows), self.settings)
            to_embed = rows
        else:
            if manifest.high_water == high_water:
                action, reason, to_embed = "loaded", "up to date", []
            else:
                action, reason = "caught up", f"store changed since {manifest.high_water}"
                since = manifest.high_water.split("|", 1)[0]
                indexed = set(vectors.ids().tolist())
                to_embed = [
                    row
                    for row in rows
                    if row.id not in indexed
                    or (row.facets.updated_at and row.facets.updated_at.isoformat() > since)
                ]
                gone = indexed - {row.id for row in rows}
                vectors.remove(sorted(gone))
                removed = len(gone)
        embedded = len(to_embed)
        if progress is not None:
            progress(0, embedded)
        for start in range(0, embedded, EMBED_CHUNK):
            chunk = to_embed[start : start + EMBED_CHUNK]
            vectors.upsert(
                [row.id for row in chunk], self.encoder.encode_passages([row.text for row in chunk])
            )
            if progress is not None:
                progress(start + len(chunk), embedded)
        self.vectors = vectors
        if action != "loaded":
            vectors.save(self.folder, model_id=self.encoder.model_id, high_water=high_water)
        self.facets = {row.id: row.facets for row in rows}
        self.texts = {row.id: row.text for row in rows}
        # The records' own keywords keep domain terms whole when jieba tokenises.
        add_terms({keyword for row in rows for keyword in row.keywords})
        self.lexical.build(list(self.texts), list(self.texts.values()))
        report = SyncReport(self.kind, action, reason, embedded, removed, len(rows))
        log.info(
            "%s index %s (%s): %d embedded, %d removed, %d in all",
            self.kind,
            action,
            reason,
            embedded,
            removed,
            len(rows),
        )
        return report

    def refresh(self, database: Database, ids: Sequence[int]) -> None:
        """Bring the given ids in line with the store: (re-)index active ones, drop the rest.

        Safe beside concurrent searches: refreshes are serialised, and the facet and text maps
        are replaced whole (copy on write), so a search never sees one half-updated.
        """
        with self._refresh_lock:
            rows = {row.id: row for row in self._rows(database, ids)}
            gone = [entity_id for entity_id in ids if entity_id not in rows]
            facets, texts = dict(self.facets), dict(self.texts)
            if gone:
                self.vectors.remove(gone)
                self.lexical.remove(gone)
                for entity_id in gone:
                    facets.pop(entity_id, None)
                    texts.pop(entity_id, None)
            if rows:
                fresh = list(rows.values())
                add_terms({keyword for row in fresh for keyword in row.keywords})
                vectors = self.encoder.encode_passages([row.text for row in fresh])
                self.vectors.upsert([row.id for row in fresh], vectors)
                self.lexical.upsert([row.id for row in fresh], [row.text for row in fresh])
                for row in fresh:
                    facets[row.id] = row.facets
                    texts[row.id] = row.text
            self.facets, self.texts = facets, texts

    def catch_up(self, database: Database, ids: Iterable[int] | None = None) -> int:
        """Refresh the records whose stored version differs from the one indexed (written by
        another process): among ``ids``, or among all records when ``None``. Records the index
        already holds as stored are skipped, so a record this process refreshed itself is not
        embedded twice. Returns how many records were refreshed.

        Works in chunks of ``EMBED_CHUNK``, so the service's own refreshes are never held up
        by more than one chunk of embedding."""
        model: Any = MODELS[self.kind]
        query = select(model.id, model.updated_at).where(
            model.status.in_(ACTIVE_STATUSES[self.kind])
        )
        wanted = None if ids is None else set(ids)
        if wanted is not None:
            if not wanted:
                return 0
            query = query.where(model.id.in_(sorted(wanted)))
        with database.session() as session:
            stored = {int(entity_id): stamp for entity_id, stamp in session.execute(query)}
        held = self.facets
        candidates = set(stored) | set(held) if wanted is None else wanted
        stale = sorted(
            entity_id
            for entity_id in candidates
            if (entity_id in stored) != (entity_id in held)
            or (entity_id in stored and held[entity_id].updated_at != stored[entity_id])
        )
        for start in range(0, len(stale), EMBED_CHUNK):
            self.refresh(database, stale[start : start + EMBED_CHUNK])
        if stale:
            log.info("%s index caught up with %d records written elsewhere", self.kind, len(stale))
        return len(stale)

    def save(self, database: Database | None = None) -> None:
        """Persist the vector index with the high-water mark of what it holds. The mark is
        computed from the index's own records, not from the store: a record another process
        wrote meanwhile (e.g. ``techmatch import`` while the service runs) is then still seen as
        missing and caught up on the next open. ``database`` is not needed (kept for callers)."""
        with self._refresh_lock:  # no refresh between reading the records and writing the index
            held = [_Row(entity_id, "", facets, []) for entity_id, facets in self.facets.items()]
            self.vectors.save(
                self.folder, model_id=self.encoder.model_id, high_water=_high_water(held)
            )

    def search(
        self,
        query_text: str,
        query_vector: np.ndarray,
        k: int,
        filters: MatchFilters | None = None,
        exclude: Iterable[int] = (),
    ) -> list[FusedCandidate]:
        """Fused dense + lexical candidates, best first; with filters, k come back whenever k
        allowed items exist (each retriever searches within the allowed set)."""
        facets = self.facets  # one snapshot: a refresh swaps it only when both indexes agree
        allowed = (filters or MatchFilters()).allowed(facets)
        excluded = set(exclude)
        if excluded:
            allowed = (set(facets) if allowed is None else allowed) - excluded
        found = hybrid_search(
            query_text, query_vector, self.vectors, self.lexical, k, self.settings, allowed
        )
        # An item being added by a concurrent refresh may already be in one index but not yet
        # in the other or in the facets: it is not matchable until the refresh completes.
        return [candidate for candidate in found if candidate.id in facets]
