"""Lexical retrieval: BM25 over word tokens fused with BM25 over character 1-2-grams.

Words (jieba tokens with their dictionary sub-words, see ``text.lexical_terms``) match whole
terms; character n-grams catch what the tokenizer cuts differently in query and document
(磷石膏 vs 磷/石膏, a new alloy name). Each side is one bm25s index (Lucene BM25, k1 1.2,
b 0.75); per query each side's scores are divided by their maximum and fused as
``(words + 2 · grams) / 3``, so a score of 1 means the best document on both sides. On
csl-bench dev (545 queries) NDCG@10 is 0.709 for words alone, 0.723 for n-grams alone and 0.722
fused (char 1-2-gram TF-IDF: 0.718); the n-gram weight is flat from 2 to 4. Words carry the
explanations (``shared_terms``) and gain on needs written in business language.

bm25s cannot add documents to an index, so ``upsert`` and ``remove`` only record the change
and the next read rebuilds both sides from the stored term ids, without tokenizing again:
0.02 s for 1,000 documents of 240 characters, 2.4 s for 100,000 (reads wait meanwhile).
Tokenizing is the slow part of ``build`` (jieba: about 1.5 ms a document). Memory: about 4 KB
a document, twice that while rebuilding.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence

import bm25s  # type: ignore[import-untyped]
import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped]

from matching.errors import NotFound
from matching.text import general_idf, is_term, lexical_terms, tokens

__all__ = ["LexicalIndex"]

# bm25s sets its logger to DEBUG and logs every build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

K1 = 1.2
B = 0.75
GRAM_WEIGHT = 2.0
# Documents tokenized per lock hold in upsert (searches wait at most one chunk).
_CHUNK = 256

_Scores = NDArray[np.float64]


class _Bm25(bm25s.BM25):  # type: ignore[misc]
    """bm25s's BM25 with a vectorised build: bm25s builds in Python loops (100,000 documents:
    minutes and gigabytes). Its documented hook ``build_index_from_ids`` is replaced; each
    document comes as ``(term ids, counts)``. Scores equal bm25s's Lucene variant."""

    def build_index_from_ids(
        self,
        unique_token_ids: list[int],
        corpus_token_ids: list[tuple[NDArray[np.int32], NDArray[np.uint16]]],
        show_progress: bool = False,
        leave_progress: bool = False,
    ) -> dict[str, object]:
        # float32 and int32 throughout, temporaries freed early: the peak is about 24 bytes per
        # (document, distinct term) pair.
        self.nonoccurrence_array = None
        size, width = len(corpus_token_ids), len(unique_token_ids)
        distinct = np.fromiter((len(ids) for ids, _ in corpus_token_ids), np.int64, size)
        starts = np.concatenate(([0], np.cumsum(distinct)))
        terms = np.concatenate([ids for ids, _ in corpus_token_ids])
        counts = np.concatenate([tf for _, tf in corpus_token_ids]).astype(np.float32)
        rows = np.repeat(np.arange(size, dtype=np.int32), distinct)
        lengths = np.bincount(rows, weights=counts, minlength=size)
        frequency = np.bincount(terms, minlength=width)
        idf = np.log1p((size - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        norm = self.k1 * (1 - self.b + self.b * lengths / max(float(lengths.mean()), 1e-9))
        data = counts / (counts + norm.astype(np.float32)[rows])
        del counts, rows
        data *= idf[terms]
        by_term = sparse.csr_matrix((data, terms, starts), shape=(size, width)).tocsc()
        return {
            "data": by_term.data.astype(self.dtype, copy=False),
            "indices": by_term.indices.astype(self.int_dtype, copy=False),
            "indptr": by_term.indptr,
            "num_docs": size,
        }


class _Side:
    """One BM25 index over one kind of term: a growing vocabulary and, per document, its
    distinct term ids (sorted) with their counts (6 bytes a pair). Id 0 is the empty term, so
    the vocabulary is never empty (bm25s needs one term)."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {"": 0}
        self.terms: list[str] = [""]
        self.docs: list[tuple[NDArray[np.int32], NDArray[np.uint16]]] = []
        self.model: _Bm25 | None = None
        self.df: NDArray[np.int64] = np.zeros(1, dtype=np.int64)

    def encode(self, terms: Iterable[str]) -> tuple[NDArray[np.int32], NDArray[np.uint16]]:
        ids = []
        for term in terms:
            found = self.vocabulary.get(term)
            if found is None:
                found = self.vocabulary[term] = len(self.terms)
                self.terms.append(term)
            ids.append(found)
        distinct, counts = np.unique(np.asarray(ids, dtype=np.int32), return_counts=True)
        return distinct, np.minimum(counts, np.iinfo(np.uint16).max).astype(np.uint16)

    def lookup(self, terms: Iterable[str]) -> list[int]:
        """Ids of the terms the vocabulary knows, repeats kept (BM25 sums them)."""
        return [found for term in terms if (found := self.vocabulary.get(term))]

    def rebuild(self) -> None:
        if not self.docs:
            self.model, self.df = None, np.zeros(len(self.terms), dtype=np.int64)
            return
        model = _Bm25(k1=K1, b=B, method="lucene")
        model.index((self.docs, dict(self.vocabulary)), show_progress=False)
        self.df = np.diff(model.scores["indptr"]).astype(np.int64)
        self.model = model

    def scores(self, ids: list[int], size: int) -> _Scores:
        """Each document's BM25 score divided by the best one (0-1; all 0 without a match)."""
        if self.model is None or not ids:
            return np.zeros(size)
        scores = np.asarray(self.model.get_scores_from_ids(ids), dtype=np.float64)
        best = scores.max(initial=0.0)
        return scores / best if best > 0 else scores

    def contains(self, row: int, term: str) -> bool:
        found = self.vocabulary.get(term)
        ids = self.docs[row][0]
        place = int(np.searchsorted(ids, found)) if found else len(ids)
        return place < len(ids) and ids[place] == found

    def idf(self, term: str, size: int) -> float:
        """Lucene BM25 idf of a term among ``size`` documents (unknown terms: document count 0)."""
        found = self.vocabulary.get(term)
        count = int(self.df[found]) if found is not None and found < len(self.df) else 0
        return math.log(1 + (size - count + 0.5) / (count + 0.5))


class LexicalIndex:
    """BM25 (words + character n-grams) over documents identified by integer ids."""

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}
        self._words = _Side()
        self._grams = _Side()
        self._stale = False
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._ids)

    def build(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Index exactly these documents, replacing the contents (a repeated id: last text wins).

        Searches keep answering from the old contents until the new index is ready.
        """
        fresh = LexicalIndex()
        fresh._add(_analysed(ids, texts))
        fresh._rebuild()
        with self._lock:
            self._ids, self._rows = fresh._ids, fresh._rows
            self._words, self._grams = fresh._words, fresh._grams
            self._stale = False

    def upsert(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Add documents or replace their text; the next read rebuilds the index."""
        analysed = _analysed(ids, texts)
        while chunk := list(itertools.islice(analysed, _CHUNK)):
            with self._lock:
                self._add(chunk)
                self._stale = True

    def remove(self, ids: Iterable[int]) -> None:
        """Drop documents (unknown ids are ignored); the next read rebuilds the index."""
        with self._lock:
            dropped = {self._rows[i] for i in ids if i in self._rows}
            if not dropped:
                return
            keep = [row for row in range(len(self._ids)) if row not in dropped]
            self._ids = [self._ids[row] for row in keep]
            self._rows = {doc_id: row for row, doc_id in enumerate(self._ids)}
            for side in (self._words, self._grams):
                side.docs = [side.docs[row] for row in keep]
            self._stale = True

    def search(
        self, query: str, k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best documents with a score above 0 (0-1, relative to this query's best
        document), best first, ties by id. With ``allowed``, only those ids: the filter is applied
        before the cut, so it returns min(k, allowed documents that match) results."""
        if k <= 0:
            return []
        words, grams = lexical_terms(query)
        with self._lock:
            self._fresh()
            size = len(self._ids)
            fused = self._words.scores(self._words.lookup(words), size)
            fused += GRAM_WEIGHT * self._grams.scores(self._grams.lookup(grams), size)
            fused /= 1 + GRAM_WEIGHT
            if allowed is None:
                rows = np.flatnonzero(fused > 0)
            else:
                wanted = [row for i in allowed if (row := self._rows.get(i)) is not None]
                rows = np.asarray(wanted, dtype=np.int64)
                rows = rows[fused[rows] > 0]
            if len(rows) > k:
                # Keep every row tied with the k-th score, then order by score and id and cut.
                kth = np.partition(fused[rows], len(rows) - k)[len(rows) - k]
                rows = rows[fused[rows] >= kth]
            ranked = sorted((-fused[row], self._ids[row]) for row in rows)[:k]
        return [(doc_id, float(-negative)) for negative, doc_id in ranked]

    def key_terms(self, text: str, top: int = 10) -> list[tuple[str, float]]:
        """The text's most distinctive terms (``text.is_term``), best first, ties in text order.

        Score: BM25 idf in this corpus × idf in general Chinese (``text.general_idf``) × (1 + ln
        of the count in the text). The corpus idf alone ranks every word the corpus lacks
        first, and a need's everyday words (担心, 回来) are rare among research results; the
        general idf puts them back below the technical words.
        """
        counts = Counter(word for word in tokens(text) if is_term(word))
        with self._lock:
            self._fresh()
            size = len(self._ids)
            weighted = [
                (term, self._words.idf(term, size) * general_idf(term) * (1 + math.log(count)))
                for term, count in counts.items()
            ]
        weighted.sort(key=lambda pair: -pair[1])
        return weighted[:top]

    def term_coverage(
        self, terms: Sequence[tuple[str, float]], doc_ids: Sequence[int]
    ) -> NDArray[np.float64]:
        """For each document, the weighted share of ``terms`` (e.g. ``key_terms`` of a query)
        that it contains; 0 for a document not in the index."""
        total = sum(weight for _, weight in terms)
        coverage = np.zeros(len(doc_ids))
        if total <= 0:
            return coverage
        with self._lock:
            for place, doc_id in enumerate(doc_ids):
                row = self._rows.get(doc_id)
                if row is not None:
                    coverage[place] = sum(
                        weight for term, weight in terms if self._words.contains(row, term)
                    )
        return coverage / total

    def shared_terms(self, query: str, doc_id: int, top: int = 8) -> list[str]:
        """Words of two or more characters that the query and the document both contain, most
        distinctive (highest idf, then longest) first; a word inside an already listed one
        (磁铁矿 in 钒钛磁铁矿) is left out. Raises NotFound for an unknown document."""
        words, _ = lexical_terms(query)
        with self._lock:
            row = self._rows.get(doc_id)
            if row is None:
                raise NotFound(f"检索索引中没有编号为 {doc_id} 的文档")
            self._fresh()
            size = len(self._ids)
            shared = [
                word
                for word in dict.fromkeys(words)
                if len(word) > 1 and self._words.contains(row, word)
            ]
            shared.sort(key=lambda word: (-self._words.idf(word, size), -len(word)))
        chosen: list[str] = []
        for word in shared:
            if not any(word in longer for longer in chosen):
                chosen.append(word)
        return chosen[:top]

    def _add(self, analysed: Iterable[tuple[int, list[str], list[str]]]) -> None:
        for doc_id, words, grams in analysed:
            row = self._rows.get(doc_id)
            if row is None:
                row = self._rows[doc_id] = len(self._ids)
                self._ids.append(doc_id)
                self._words.docs.append(self._words.encode(words))
                self._grams.docs.append(self._grams.encode(grams))
            else:
                self._words.docs[row] = self._words.encode(words)
                self._grams.docs[row] = self._grams.encode(grams)

    def _fresh(self) -> None:
        if self._stale:
            self._rebuild()

    def _rebuild(self) -> None:
        self._words.rebuild()
        self._grams.rebuild()
        self._stale = False


def _analysed(
    ids: Sequence[int], texts: Sequence[str]
) -> Iterator[tuple[int, list[str], list[str]]]:
    """Each document's id with its words and character n-grams, one at a time (the term lists
    of 100,000 documents would take gigabytes)."""
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
    return ((int(doc_id), *lexical_terms(text)) for doc_id, text in zip(ids, texts, strict=True))
