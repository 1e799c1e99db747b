"""Retrieval quality on BEIR-layout data: loading corpus, queries and graded qrels, and the
metrics NDCG@k, MRR@k and Recall@k."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BeirData",
    "Metrics",
    "load_beir",
    "mrr_at",
    "ndcg_at",
    "recall_at",
    "score_run",
]


@dataclass
class BeirData:
    """A corpus (id → (title, text)), queries (id → text), query types, graded qrels and each
    document's ``metadata`` object (empty when the corpus has none)."""

    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    query_types: dict[str, str]
    qrels: dict[str, dict[str, int]]
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)


def _jsonl(path: Path) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_beir(corpus: Path, queries: Path, qrels: Path) -> BeirData:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and a qrels TSV with a header row. Only queries
    with at least one positive judgement are kept."""
    rows = _jsonl(corpus)
    documents = {
        str(row["_id"]): (str(row.get("title") or ""), str(row.get("text") or "")) for row in rows
    }
    metadata = {
        str(row["_id"]): dict(found)
        for row in rows
        if isinstance(found := row.get("metadata"), dict)
    }
    judged: dict[str, dict[str, int]] = {}
    with open(qrels, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader, None)
        for row in reader:
            if len(row) >= 3 and int(row[2]) > 0:
                judged.setdefault(row[0], {})[row[1]] = int(row[2])
    texts: dict[str, str] = {}
    types: dict[str, str] = {}
    for item in _jsonl(queries):
        query_id = str(item["_id"])
        if query_id in judged:
            texts[query_id] = str(item["text"])
            about = item.get("metadata")
            kind = about.get("type") if isinstance(about, dict) else None
            types[query_id] = str(kind or "all")
    return BeirData(documents, texts, types, {q: judged[q] for q in texts}, metadata)


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """NDCG@k with graded gains (2^rel - 1) / log2(rank + 1); the ideal uses all judged docs."""
    gain = sum(
        (2 ** relevant.get(doc, 0) - 1) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k])
    )
    ideal_grades = sorted(relevant.values(), reverse=True)[:k]
    ideal = sum((2**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(ideal_grades))
    return gain / ideal if ideal > 0 else 0.0


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the top k (0 if none)."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents found within the top k."""
    positives = {doc for doc, grade in relevant.items() if grade > 0}
    if not positives:
        return 0.0
    return len(positives.intersection(ranked[:k])) / len(positives)


@dataclass
class Metrics:
    """Mean NDCG@10, MRR@10 and Recall@100 over a set of queries."""

    n_queries: int
    ndcg_at_10: float
    mrr_at_10: float
    recall_at_100: float
    by_type: dict[str, Metrics] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "n_queries": self.n_queries,
            "ndcg@10": round(self.ndcg_at_10, 4),
            "mrr@10": round(self.mrr_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
        }
        if self.by_type:
            data["by_type"] = {kind: m.as_dict() for kind, m in sorted(self.by_type.items())}
        return data


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score_run(run: Mapping[str, Sequence[str]], data: BeirData) -> Metrics:
    """Metrics of a run (query id → ranked document ids), overall and per query type."""

    def metrics(query_ids: list[str]) -> Metrics:
        return Metrics(
            n_queries=len(query_ids),
            ndcg_at_10=_mean([ndcg_at(run.get(q, []), data.qrels[q]) for q in query_ids]),
            mrr_at_10=_mean([mrr_at(run.get(q, []), data.qrels[q]) for q in query_ids]),
            recall_at_100=_mean([recall_at(run.get(q, []), data.qrels[q]) for q in query_ids]),
        )

    everything = metrics(list(data.queries))
    kinds = sorted(set(data.query_types.values()))
    if len(kinds) > 1:
        everything.by_type = {
            kind: metrics([q for q in data.queries if data.query_types[q] == kind])
            for kind in kinds
        }
    return everything
