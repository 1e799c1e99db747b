"""The matching engine: the directions a tech-transfer officer asks in, over the three corpora.

need → results, need → experts, result → needs (which enterprises to approach), need → similar
needs (duplicates), free text → results. Every list carries explanations, component scores, the
encoder's model id and how it was ranked.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from matching.access import find_record
from matching.change_feed import ChangeFeed
from matching.config import Settings
from matching.corpus import CorpusKind, document_text
from matching.corpus_index import CorpusIndex, SyncReport
from matching.encode import Encoder, load_encoder
from matching.errors import NotFound
from matching.explain import explain, query_weights
from matching.filters import MatchFilters
from matching.fusion import FusedCandidate
from matching.match_list import Match, MatchList
from matching.ranker_registry import RankerRegistry, TrainedRanker
from matching.ranking_features import Profile, Signals, candidate_features, profile_of
from matching.regions import Region
from matching.rerank import guarded_order
from matching.store.database import Database
from matching.store.models import Expert, Need, Organization, Result

__all__ = ["COLD_START_RANKER", "IndexProgress", "MatchingEngine"]

IndexProgress = Callable[[str, int, int], None]
"""``progress(kind, embedded, total)`` while ``MatchingEngine.open`` embeds a corpus."""

log = logging.getLogger(__name__)

COLD_START_RANKER = "fusion (冷启动：尚无训练好的排序模型，按检索融合得分排序)"
FUSION_ONLY_RANKER = "fusion (排序模型只用于需求→成果和检索成果，此方向按检索融合得分排序)"
SIGNALS_SECONDS = 60.0
_MODELS: dict[str, Any] = {"needs": Need, "results": Result, "experts": Expert}
_NAMES = {"needs": "需求", "results": "成果", "experts": "专家"}


class MatchingEngine:
    """Opens the three corpus indexes against a store and answers match requests."""

    def __init__(
        self, database: Database, settings: Settings, encoder: Encoder | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self.encoder = encoder or load_encoder(settings)
        self.corpora: dict[str, CorpusIndex] = {}
        self.rankers = RankerRegistry(settings.data_dir / "ranker")
        self.ranker: TrainedRanker | None = None
        self._ranker_stamp = -1
        self._signals: tuple[float, Signals] = (-SIGNALS_SECONDS, Signals())
        self._signals_lock = threading.Lock()
        self.change_feed: ChangeFeed | None = None  # set by open()
        self._catch_up_lock = threading.Lock()

    def open(self, progress: IndexProgress | None = None) -> list[SyncReport]:
        """Load, catch up or build every corpus index (see ``CorpusIndex.open``);
        ``progress(kind, embedded, total)`` follows each corpus's embedding."""
        reports = []
        # Marked before reading the store: whatever is written while the indexes open is
        # caught up by the first ``catch_up``.
        self.change_feed = ChangeFeed(self.database)
        kinds: tuple[CorpusKind, ...] = ("needs", "results", "experts")
        for kind in kinds:
            corpus = CorpusIndex(kind, self.encoder, self.settings)
            step = None
            if progress is not None:
                step = functools.partial(progress, kind)
            reports.append(corpus.open(self.database, step))
            self.corpora[kind] = corpus
        self.reload_ranker()
        return reports

    def reload_ranker(self) -> TrainedRanker | None:
        """Load the active ranking model (after training or rollback); None: fusion order."""
        self._ranker_stamp = self.rankers.state_stamp()
        self.ranker = self.rankers.load_active()
        return self.ranker

    def _current_ranker(self) -> TrainedRanker | None:
        """The active model, reloaded when another process trained or rolled back."""
        if self.rankers.state_stamp() != self._ranker_stamp:
            self.reload_ranker()
        return self.ranker

    def refresh(self, kind: CorpusKind, ids: Iterable[int]) -> None:
        """Make created, changed or withdrawn records matchable (or gone) at once."""
        self.corpora[kind].refresh(self.database, list(ids))

    def catch_up(self) -> dict[str, int]:
        """Make records written by other processes since ``open`` (or the last call)
        matchable, changed or gone; returns how many records each corpus refreshed."""
        if self.change_feed is None:
            return {}
        with self._catch_up_lock:
            changed = self.change_feed.changes()
            refreshed = {}
            for kind, corpus in self.corpora.items():
                ids = None if changed is None else changed.get(corpus.kind, set())
                refreshed[kind] = corpus.catch_up(self.database, ids)
            return refreshed

    def save(self) -> None:
        for corpus in self.corpora.values():
            corpus.save(self.database)

    # --- directions -------------------------------------------------------------------------

    def need_to_results(
        self, need: int | str, top: int = 10, filters: MatchFilters | None = None
    ) -> MatchList:
        """The results that could solve a need."""
        return self._from_entity("needs", need, "results", "need→results", top, filters)

    def need_to_experts(
        self,
        need: int | str,
        top: int = 10,
        filters: MatchFilters | None = None,
        exclude_conflicts: bool = True,
    ) -> MatchList:
        """Experts whose profile fits a need; by default without those in conflict with the
        need's enterprise (same organization or declared 回避单位)."""
        return self._from_entity(
            "needs",
            need,
            "experts",
            "need→experts",
            top,
            filters,
            exclude_conflicts=exclude_conflicts,
        )

    def result_to_needs(
        self, result: int | str, top: int = 10, filters: MatchFilters | None = None
    ) -> MatchList:
        """The enterprises' needs a result fits: whom to approach."""
        return self._from_entity("results", result, "needs", "result→needs", top, filters)

    def similar_needs(
        self, need: int | str, top: int = 10, filters: MatchFilters | None = None
    ) -> MatchList:
        """Needs close to a need (possible duplicates or the same problem elsewhere)."""
        return self._from_entity("needs", need, "needs", "need→needs", top, filters)

    def search_results(
        self, text: str, top: int = 10, filters: MatchFilters | None = None
    ) -> MatchList:
        """Results for a free-text question."""
        query = {"kind": "text", "text": text}
        return self._match(text, query, "results", "text→results", top, filters, set())

    # --- machinery --------------------------------------------------------------------------

    def _from_entity(
        self,
        source_kind: str,
        key: int | str,
        target: str,
        direction: str,
        top: int,
        filters: MatchFilters | None,
        exclude_conflicts: bool = False,
    ) -> MatchList:
        with self.database.session() as session:
            entity = find_record(session, _MODELS[source_kind], key, _NAMES[source_kind])
            text = self.corpora[source_kind].texts.get(entity.id) or document_text(entity)
            query = {
                "kind": source_kind[:-1],
                "id": entity.id,
                "ref": entity.external_ref,
                "title": getattr(entity, "title", ""),
            }
            exclude: set[int] = {entity.id} if target == source_kind else set()
            if exclude_conflicts and isinstance(entity, Need):
                exclude |= self._conflicted_experts(session, entity)
            profile = profile_of(entity) if isinstance(entity, Need | Result) else None
        return self._match(text, query, target, direction, top, filters, exclude, profile)

    def _conflicted_experts(self, session: Any, need: Need) -> set[int]:
        enterprise = need.enterprise
        names = {enterprise.name} | ({enterprise.group_name} if enterprise.group_name else set())
        conflicted = set()
        for expert in session.scalars(select(Expert)).unique():
            declared = set(expert.conflict_organizations)
            if expert.organization_id == enterprise.id or declared & names:
                conflicted.add(expert.id)
        return conflicted

    def _match(
        self,
        text: str,
        query: dict[str, Any],
        target: str,
        direction: str,
        top: int,
        filters: MatchFilters | None,
        exclude: set[int],
        profile: Profile | None = None,
    ) -> MatchList:
        corpus = self.corpora[target]
        vector = self._query_vector(text)
        ranker = self._current_ranker()
        ranked = ranker is not None and target == "results" and query["kind"] in ("need", "text")
        depth = max(top, self.settings.rerank_depth) if ranked else top
        candidates = corpus.search(text, vector, depth, filters, exclude)
        scores: dict[int, float] | None = None
        if ranker is not None and ranked and candidates:
            features = self._features(text, vector, profile or Profile(), candidates)
            match_scores = ranker.model.match_score(features)
            order = guarded_order(match_scores, self.settings.rerank_keep, top)[:top]
            scores = {candidates[i].id: float(match_scores[i]) for i in order}
            candidates = [candidates[i] for i in order]
        if ranker is not None and ranked:
            label, version = ranker.label, ranker.version
        else:
            label, version = (FUSION_ONLY_RANKER if ranker else COLD_START_RANKER), None
        return MatchList(
            direction=direction,
            query=query,
            items=self._items(target, text, corpus, candidates, scores),
            model_id=self.encoder.model_id,
            ranker=label,
            filters=(filters or MatchFilters()).as_dict(),
            ranker_version=version,
        )

    def _query_vector(self, text: str) -> NDArray[np.float32]:
        limit = self.settings.query_max_chars
        vector: NDArray[np.float32] = self.encoder.encode_queries(
            [text[:limit] if limit else text]
        )[0]
        return vector

    def _features(
        self,
        text: str,
        vector: NDArray[np.float32],
        profile: Profile,
        candidates: Sequence[FusedCandidate],
    ) -> NDArray[np.float64]:
        """The ranking model's features of result candidates for one query."""
        corpus = self.corpora["results"]
        with self.database.session() as session:
            found = session.scalars(
                select(Result).where(Result.id.in_([c.id for c in candidates]))
            ).unique()
            profiles = {result.id: profile_of(result) for result in found}
        return candidate_features(
            text,
            vector,
            profile,
            candidates,
            profiles,
            corpus.vectors,
            corpus.lexical,
            self.signals(),
        )

    def signals(self) -> Signals:
        """Times shown and signed deals from the feedback (re-read at most once a minute)."""
        from matching.feedback import shown_counts, track_record

        with self._signals_lock:
            read_at, cached = self._signals
            if time.monotonic() - read_at < SIGNALS_SECONDS:
                return cached
            with self.database.session() as session:
                record = track_record(session)
                fresh = Signals(
                    shown=shown_counts(session),
                    signed_by_item=record.by_result,
                    signed_by_organization=record.by_institution,
                )
            self._signals = (time.monotonic(), fresh)
            return fresh

    def pair_features(
        self, need: int, result_ids: Sequence[int]
    ) -> tuple[list[int], NDArray[np.float64]] | None:
        """Features of (need, result) pairs as the need's match list would compute them; a
        result beyond the candidate depth gets no retrieval ranks. Results no longer indexed
        are left out. None when the need is not in the store."""
        with self.database.session() as session:
            entity = session.get(Need, need)
            if entity is None:
                return None
            text = self.corpora["needs"].texts.get(entity.id) or document_text(entity)
            profile = profile_of(entity)
        corpus = self.corpora["results"]
        vector = self._query_vector(text)
        candidates = corpus.search(text, vector, self.settings.rerank_depth)
        present = {candidate.id for candidate in candidates}
        wanted = [i for i in result_ids if i in corpus.facets]
        candidates += [FusedCandidate(i, 0.0) for i in wanted if i not in present]
        features = self._features(text, vector, profile, candidates)
        rows = {candidate.id: row for row, candidate in enumerate(candidates)}
        return wanted, features[[rows[i] for i in wanted]]

    def _items(
        self,
        target: str,
        text: str,
        corpus: CorpusIndex,
        candidates: list[Any],
        scores: dict[int, float] | None = None,
    ) -> list[Match]:
        model = _MODELS[target]
        with self.database.session() as session:
            entities = {
                e.id: e
                for e in session.scalars(
                    select(model).where(model.id.in_([c.id for c in candidates]))
                ).unique()
            }
            items = []
            weights = query_weights(text, corpus.lexical)
            for rank, candidate in enumerate(candidates, start=1):
                entity = entities.get(candidate.id)
                if entity is None:  # removed from the store since the index was read
                    continue
                try:
                    why = explain(
                        text,
                        corpus.texts.get(entity.id, ""),
                        entity.id,
                        corpus.lexical,
                        candidate,
                        weights,
                    )
                except NotFound:  # withdrawn by a concurrent request since the search
                    continue
                organization: Organization | None = _organization_of(entity)
                score = candidate.fused
                if scores is not None:
                    score = scores[candidate.id]
                    why.components["match_score"] = round(score, 6)
                items.append(
                    Match(
                        rank=rank,
                        id=entity.id,
                        ref=entity.external_ref,
                        title=str(getattr(entity, "title", None) or getattr(entity, "name", "")),
                        organization=organization.name if organization else "",
                        region=str(Region(entity.province, entity.city, entity.district)),
                        score=round(score, 6),
                        components=why.components,
                        shared_terms=why.shared_terms,
                        evidence=why.evidence,
                        details=_details(entity),
                    )
                )
        return items


def _organization_of(entity: Any) -> Organization | None:
    if isinstance(entity, Need):
        return entity.enterprise
    if isinstance(entity, Result):
        return entity.institution
    organization: Organization | None = entity.organization
    return organization


def _details(entity: Any) -> dict[str, Any]:
    if isinstance(entity, Result):
        return {
            "maturity": entity.maturity,
            "trl": entity.trl,
            "fields": entity.fields,
            "cooperation_modes": entity.cooperation_modes,
            "price_min": entity.price_min,
            "price_max": entity.price_max,
        }
    if isinstance(entity, Need):
        return {
            "fields": entity.fields,
            "cooperation_modes": entity.cooperation_modes,
            "budget_min": entity.budget_min,
            "budget_max": entity.budget_max,
            "deadline": entity.deadline.isoformat() if entity.deadline else None,
            "status": entity.status,
        }
    return {"title": entity.title, "fields": entity.fields}
