"""Where the ranking model's training rows come from: labelled pairs in BEIR qrels, and the
feedback recorded on match lists.

Both go through the same retrieval (hybrid candidates at ``rerank_depth``) and the same
features as a live match list, so the model learns on what it will see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from matching.config import Settings
from matching.encode import Encoder
from matching.evaluate import BeirData, load_beir
from matching.fusion import FusedCandidate
from matching.hybrid import hybrid_search
from matching.index import VectorIndex, create_index
from matching.lexical import LexicalIndex
from matching.ranker_registry import RankerError
from matching.ranker_training import TrainingReport, TrainingSet, train_and_gate
from matching.ranking_features import FEATURE_NAMES, Profile, Signals, candidate_features

if TYPE_CHECKING:
    from matching.engine import MatchingEngine

__all__ = [
    "BeirCandidates",
    "BeirIndexes",
    "beir_candidates",
    "beir_signals",
    "beir_training_set",
    "feedback_training_set",
    "index_beir_corpus",
    "load_beir_folder",
    "profile_from_metadata",
    "train_from_sources",
]

Progress = Callable[[str], None]


def _words(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(word) for word in value if str(word).strip())
    if isinstance(value, str):
        parts = value.replace("_", ";").replace("；", ";").replace(",", ";").split(";")
        return tuple(part.strip() for part in parts if part.strip())
    return ()


def _set(value: object) -> frozenset[str]:
    if isinstance(value, list):
        return frozenset(str(v) for v in value if str(v).strip())
    if isinstance(value, str) and value.strip():
        return frozenset([value.strip()])
    return frozenset()


def profile_from_metadata(metadata: Mapping[str, object]) -> Profile:
    """A benchmark document's profile: ``fields`` (or ``discipline``), ``field_groups`` (or
    ``category``) and ``keywords`` (a list, or a string joined by _ ; or ,)."""
    return Profile(
        kind="result",
        fields=_set(metadata.get("fields", metadata.get("discipline"))),
        field_groups=_set(metadata.get("field_groups", metadata.get("category"))),
        keywords=_words(metadata.get("keywords")),
    )


@dataclass
class BeirIndexes:
    """A benchmark corpus embedded and indexed like a live corpus (numeric ids 0…n-1)."""

    keys: list[str]
    vectors: VectorIndex
    lexical: LexicalIndex
    profiles: dict[int, Profile]


def index_beir_corpus(
    data: BeirData, encoder: Encoder, settings: Settings, progress: Progress = lambda _: None
) -> BeirIndexes:
    keys = list(data.corpus)
    texts = [f"{title} {text}".strip() for title, text in data.corpus.values()]
    progress(f"embedding {len(texts)} documents with {encoder.model_id}")
    vectors = create_index(encoder.dimension, len(texts), settings)
    vectors.upsert(list(range(len(keys))), encoder.encode_passages(texts))
    lexical = LexicalIndex()
    lexical.build(list(range(len(keys))), texts)
    profiles = {
        number: profile_from_metadata(data.metadata.get(key, {})) for number, key in enumerate(keys)
    }
    return BeirIndexes(keys, vectors, lexical, profiles)


@dataclass
class BeirCandidates:
    """Each query's text, vector and fused candidates (best first)."""

    texts: dict[str, str]
    vectors: dict[str, NDArray[np.float32]]
    candidates: dict[str, list[FusedCandidate]]


def beir_candidates(
    indexes: BeirIndexes,
    queries: Mapping[str, str],
    encoder: Encoder,
    settings: Settings,
    progress: Progress = lambda _: None,
) -> BeirCandidates:
    ids = list(queries)
    progress(f"embedding {len(ids)} queries")
    vectors = encoder.encode_queries([queries[q] for q in ids])
    candidates = {
        query: hybrid_search(
            queries[query],
            vector,
            indexes.vectors,
            indexes.lexical,
            settings.rerank_depth,
            settings,
        )
        for query, vector in zip(ids, vectors, strict=True)
    }
    return BeirCandidates(dict(queries), dict(zip(ids, vectors, strict=True)), candidates)


def beir_signals(*runs: BeirCandidates, top: int = 10) -> Signals:
    """Popularity without labels: how many queries' top ``top`` lists each document is in."""
    shown: Counter[int] = Counter()
    for run in runs:
        for candidates in run.candidates.values():
            shown.update(candidate.id for candidate in candidates[:top])
    return Signals(shown=shown)


def beir_training_set(
    indexes: BeirIndexes,
    run: BeirCandidates,
    qrels: Mapping[str, Mapping[str, int]],
    signals: Signals,
    source: str,
    query_types: Mapping[str, str] | None = None,
) -> TrainingSet:
    """Every query's candidates with their qrels grade (0 when not judged)."""
    blocks, labels, queries, items = [], [], [], []
    for query, candidates in run.candidates.items():
        judged = qrels.get(query, {})
        blocks.append(
            candidate_features(
                run.texts[query],
                run.vectors[query],
                Profile(),
                candidates,
                indexes.profiles,
                indexes.vectors,
                indexes.lexical,
                signals,
            )
        )
        for candidate in candidates:
            key = indexes.keys[candidate.id]
            labels.append(int(judged.get(key, 0)))
            queries.append(query)
            items.append(key)
    features = np.vstack(blocks) if blocks else np.zeros((0, len(FEATURE_NAMES)))
    return TrainingSet(
        features,
        np.asarray(labels, dtype=np.int64),
        np.asarray(queries, dtype=np.str_),
        items,
        source,
        dict(query_types or {}),
    )


def load_beir_folder(folder: Path) -> BeirData:
    """``corpus.jsonl``, ``queries.jsonl`` and the qrels of a BEIR folder (``qrels/train.tsv``,
    else ``qrels/dev.tsv``, else the only TSV in ``qrels/``)."""
    qrels_dir = folder / "qrels"
    found = [qrels_dir / name for name in ("train.tsv", "dev.tsv") if (qrels_dir / name).exists()]
    if not found and qrels_dir.is_dir():
        found = sorted(qrels_dir.glob("*.tsv"))
    for required in (folder / "corpus.jsonl", folder / "queries.jsonl"):
        if not required.exists():
            raise RankerError(f"BEIR 目录 {folder} 缺少 {required.name}")
    if not found:
        raise RankerError(f"BEIR 目录 {folder} 的 qrels/ 下没有 .tsv 文件")
    return load_beir(folder / "corpus.jsonl", folder / "queries.jsonl", found[0])


def beir_folder_training_set(
    folder: Path, encoder: Encoder, settings: Settings, progress: Progress = lambda _: None
) -> TrainingSet:
    """A training set from a BEIR folder's own corpus, queries and qrels."""
    data = load_beir_folder(folder)
    indexes = index_beir_corpus(data, encoder, settings, progress)
    run = beir_candidates(indexes, data.queries, encoder, settings, progress)
    return beir_training_set(
        indexes, run, data.qrels, beir_signals(run), f"qrels:{folder}", data.query_types
    )


def feedback_training_set(engine: MatchingEngine) -> TrainingSet:
    """The recorded feedback on need → result pairs, each pair with the features it has in the
    need's match list now (pairs without feedback are left out: nobody judged them)."""
    from matching.feedback import pair_labels

    with engine.database.session() as session:
        labels = pair_labels(session)
    by_need: dict[int, dict[int, int]] = {}
    for (need_id, result_id), label in labels.items():
        by_need.setdefault(need_id, {})[result_id] = label
    blocks, rows, queries, items = [], [], [], []
    for need_id, judged in sorted(by_need.items()):
        found = engine.pair_features(need_id, sorted(judged))
        if found is None:  # the need was withdrawn or deleted
            continue
        result_ids, features = found
        blocks.append(features)
        for result_id in result_ids:
            rows.append(judged[result_id])
            queries.append(str(need_id))
            items.append(str(result_id))
    features = np.vstack(blocks) if blocks else np.zeros((0, len(FEATURE_NAMES)))
    return TrainingSet(
        features,
        np.asarray(rows, dtype=np.int64),
        np.asarray(queries, dtype=np.str_),
        items,
        "feedback",
    )


def _combined(sets: list[TrainingSet]) -> TrainingSet:
    """One training set from several, each source's queries kept apart."""
    if len(sets) == 1:
        return sets[0]
    return TrainingSet(
        np.vstack([s.features for s in sets]),
        np.concatenate([s.labels for s in sets]),
        np.concatenate([np.char.add(f"{s.source}|", s.queries) for s in sets]),
        [item for s in sets for item in s.items],
        " + ".join(s.source for s in sets),
    )


def train_from_sources(
    engine: MatchingEngine,
    from_feedback: bool,
    qrels_dirs: Sequence[Path] = (),
    progress: Progress = lambda _: None,
) -> TrainingReport:
    """Build the training set from the feedback and/or BEIR folders, train, gate against the
    active model on held-out queries, and make the engine use the result."""
    sets = []
    if from_feedback:
        progress("collecting feedback pairs and their features")
        sets.append(feedback_training_set(engine))
    for folder in qrels_dirs:
        sets.append(beir_folder_training_set(folder, engine.encoder, engine.settings, progress))
    if not sets:
        raise RankerError("请指定训练数据：--from-feedback 和/或 --from-qrels 目录")
    progress("training and comparing on held-out queries")
    report = train_and_gate(_combined(sets), engine.rankers)
    engine.reload_ranker()
    return report
