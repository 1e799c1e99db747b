"""Why a candidate matched: the key terms both texts share, the candidate's sentence that best
answers the query (with the matching spans marked), and each component score."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from matching.fusion import FusedCandidate
from matching.lexical import LexicalIndex
from matching.text import char_ngrams, split_sentences, token_spans

__all__ = ["Evidence", "Explanation", "explain", "query_weights"]

MARK_OPEN, MARK_CLOSE = "【", "】"


@dataclass
class Evidence:
    """A sentence of the matched text; ``spans`` are (start, end) offsets of matching terms
    within ``sentence``; ``marked`` wraps them in 【】."""

    sentence: str
    start: int
    spans: list[tuple[int, int]]
    marked: str


@dataclass
class Explanation:
    shared_terms: list[str]
    evidence: Evidence | None
    components: dict[str, float | int | None] = field(default_factory=dict)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _marked(sentence: str, spans: list[tuple[int, int]]) -> str:
    out, position = [], 0
    for start, end in spans:
        out += [sentence[position:start], MARK_OPEN, sentence[start:end], MARK_CLOSE]
        position = end
    out.append(sentence[position:])
    return "".join(out)


@lru_cache(maxsize=8192)
def _analysed_sentences(
    text: str,
) -> tuple[tuple[int, int, tuple[tuple[str, int, int], ...], frozenset[str]], ...]:
    """Each sentence's span, its terms with spans, and its character bigrams; memoised because
    the same candidates recur across requests."""
    analysed = []
    for start, end in split_sentences(text):
        sentence = text[start:end]
        analysed.append(
            (start, end, tuple(token_spans(sentence)), frozenset(char_ngrams(sentence, (2,))))
        )
    return tuple(analysed)


@lru_cache(maxsize=256)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(char_ngrams(text, (2,)))


def best_sentence(query: str, text: str, weights: dict[str, float]) -> Evidence | None:
    """The sentence of ``text`` sharing the most weighted query terms; ties and sentences with
    no shared term fall back to shared character bigrams (vocabularies of needs and results
    differ, characters less so)."""
    query_bigrams = _bigrams(query)
    best: tuple[float, float, int, int, list[tuple[int, int]]] | None = None
    for start, end, terms, bigrams in _analysed_sentences(text):
        sentence = text[start:end]
        spans, score = [], 0.0
        seen: set[str] = set()
        for term, term_start, term_end in terms:
            if term in weights:
                spans.append((term_start, term_end))
                if term not in seen:
                    score += weights[term]
                    seen.add(term)
        overlap = len(query_bigrams & bigrams)
        key = (score, overlap / (1 + len(sentence) ** 0.5), start, end, spans)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    _score, _overlap, start, end, spans = best
    sentence = text[start:end]
    merged = _merge(spans)
    return Evidence(sentence=sentence, start=start, spans=merged, marked=_marked(sentence, merged))


def query_weights(query: str, lexical: LexicalIndex) -> dict[str, float]:
    """The query's key terms with their weights, as ``explain`` uses them (compute once per
    list and pass to ``explain``)."""
    return dict(lexical.key_terms(query, top=40))


def explain(
    query: str,
    text: str,
    doc_id: int,
    lexical: LexicalIndex,
    candidate: FusedCandidate,
    weights: dict[str, float] | None = None,
) -> Explanation:
    """The explanation of one match of ``query`` to the indexed document ``doc_id``."""
    if weights is None:
        weights = query_weights(query, lexical)
    return Explanation(
        shared_terms=lexical.shared_terms(query, doc_id),
        evidence=best_sentence(query, text, weights),
        components={
            "fused": round(candidate.fused, 6),
            "cosine": None if candidate.cosine is None else round(candidate.cosine, 4),
            "dense": None if candidate.dense_score is None else round(candidate.dense_score, 4),
            "dense_rank": candidate.dense_rank,
            "lexical": None
            if candidate.lexical_score is None
            else round(candidate.lexical_score, 4),
            "lexical_rank": candidate.lexical_rank,
        },
    )
