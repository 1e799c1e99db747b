"""Vector index speed, recall and memory on synthetic unit vectors (``python -m`` this module).

``data="random"``: uniform on the sphere. In 384 dimensions that is the worst case for HNSW:
nearest neighbours are barely nearer than anything else, so recall there is a floor.
``data="latent"``: vectors near a random 32-dimensional subspace (8 % isotropic noise), closer
to sentence embeddings, whose intrinsic dimension is a few dozen.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from matching.config import Settings
from matching.index import VectorIndex, create_index

__all__ = ["index_speed", "markdown"]

_CHUNK = 50_000
_K = 10
_LATENT = 32
_NOISE = 0.3


def index_speed(
    sizes: Sequence[int],
    dimension: int = 384,
    settings: Settings | None = None,
    *,
    queries: int = 100,
    ef_search_sweep: Sequence[int] = (),
    data: Literal["random", "latent"] = "random",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per size (and per extra ``efSearch`` in ``ef_search_sweep`` for HNSW).

    Columns: ``build_s`` (seconds to add every vector in chunks of 50,000), ``adds_per_s``,
    ``p50_ms`` / ``p95_ms`` (one query, k=10), ``p95_ms_k<candidates>`` (k =
    ``settings.candidates``), ``filtered_p95_ms`` (k=10 among a random 10 % of the ids),
    ``recall_at_10`` and ``filtered_recall_at_10`` (against numpy brute force, ``queries`` and
    20 queries), ``rss_mb`` (resident memory added by the index, MiB) and ``peak_mb`` (the most
    added at any moment of the build: vectors being added, storage regrowth).
    """
    settings = settings or Settings()
    source = _Source(seed, dimension, data)
    rows: list[dict[str, Any]] = []
    for size in sizes:
        _reset_peak()
        before = _rss_mb()
        index = create_index(dimension, size, settings)
        started = time.perf_counter()
        for first in range(0, size, _CHUNK):
            count = min(_CHUNK, size - first)
            index.upsert(np.arange(first, first + count), source.chunk(first, count))
        build = time.perf_counter() - started
        rss, peak = _rss_mb() - before, _rss_mb("VmHWM:") - before
        probes = source.probes(queries)
        allowed = np.random.default_rng([seed, 2, size]).choice(size, size // 10, replace=False)
        truth = _exact_top(probes, source, size, None)
        filtered_truth = _exact_top(probes[:20], source, size, np.sort(allowed))
        params: dict[str, int] = dict(getattr(index, "params", {}))
        sweep = [params["ef_search"], *ef_search_sweep] if "ef_search" in params else [0]
        for breadth in dict.fromkeys(sweep):
            row: dict[str, Any] = {"size": size, "data": data, "kind": index.kind, **params}
            if breadth:
                index.params["ef_search"] = row["ef_search"] = breadth  # type: ignore[attr-defined]
            row |= {"build_s": round(build, 2), "adds_per_s": round(size / build)}
            row |= _latencies(index, probes, truth, None, settings.candidates)
            filtered = _latencies(index, probes[:20], filtered_truth, set(allowed.tolist()))
            row |= {"filtered_p95_ms": filtered["p95_ms"]}
            row |= {"filtered_recall_at_10": filtered["recall_at_10"], "rss_mb": round(rss)}
            row |= {"peak_mb": round(peak)}
            rows.append(row)
        del index
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(key, "")) for key in columns) + " |" for row in rows]
    return "\n".join(lines)


def _latencies(
    index: VectorIndex,
    probes: NDArray[np.float32],
    truth: NDArray[np.int64],
    allowed: set[int] | None,
    wide_k: int | None = None,
) -> dict[str, float]:
    times, hits = [], 0
    for probe, expected in zip(probes, truth, strict=True):
        started = time.perf_counter()
        found = index.search(probe, _K, allowed)
        times.append((time.perf_counter() - started) * 1000)
        hits += len({key for key, _ in found} & set(expected.tolist()))
    result = {
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "recall_at_10": round(hits / truth.size, 4),
    }
    if wide_k:
        wide = []
        for probe in probes:
            started = time.perf_counter()
            index.search(probe, wide_k, allowed)
            wide.append((time.perf_counter() - started) * 1000)
        result[f"p95_ms_k{wide_k}"] = round(float(np.percentile(wide, 95)), 3)
    return result


def _exact_top(
    probes: NDArray[np.float32], source: _Source, size: int, allowed: NDArray[np.int64] | None
) -> NDArray[np.int64]:
    """Brute-force top 10 ids per probe, regenerating the vectors chunk by chunk."""
    best_ids = np.full((len(probes), 0), -1, dtype=np.int64)
    best_scores = np.full((len(probes), 0), -np.inf, dtype=np.float32)
    for first in range(0, size, _CHUNK):
        count = min(_CHUNK, size - first)
        ids = np.arange(first, first + count)
        scores = probes @ source.chunk(first, count).T
        if allowed is not None:
            scores[:, ~np.isin(ids, allowed)] = -np.inf
        all_ids = np.hstack([best_ids, np.broadcast_to(ids, scores.shape)])
        all_scores = np.hstack([best_scores, scores])
        top = np.argsort(-all_scores, axis=1)[:, :_K]
        best_ids = np.take_along_axis(all_ids, top, axis=1)
        best_scores = np.take_along_axis(all_scores, top, axis=1)
    return best_ids


@dataclass(frozen=True)
class _Source:
    """Reproducible unit vectors: chunk ``first`` is the same whenever it is asked for."""

    seed: int
    dimension: int
    data: str

    def chunk(self, first: int, count: int) -> NDArray[np.float32]:
        return self._draw(np.random.default_rng([self.seed, 0, first]), count)

    def probes(self, count: int) -> NDArray[np.float32]:
        return self._draw(np.random.default_rng([self.seed, 1]), count)

    def _draw(self, rng: np.random.Generator, count: int) -> NDArray[np.float32]:
        if self.data == "latent":
            basis = np.random.default_rng([self.seed, 3]).standard_normal(
                (_LATENT, self.dimension), dtype=np.float32
            )
            latent = rng.standard_normal((count, _LATENT), dtype=np.float32)
            noise = rng.standard_normal((count, self.dimension), dtype=np.float32)
            vectors: NDArray[np.float32] = latent @ basis / np.float32(np.sqrt(_LATENT))
            vectors += np.float32(_NOISE) * noise
        else:
            vectors = rng.standard_normal((count, self.dimension), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors


def _rss_mb(field: str = "VmRSS:") -> float:
    """Resident memory of this process now (or its peak, ``VmHWM:``), MiB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    """Restart the peak (VmHWM) from the current resident size, where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", nargs="+", type=int, help="index sizes (vectors)")
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--data", choices=["random", "latent"], default="random")
    parser.add_argument("--ef-search", type=int, nargs="*", default=[], help="extra efSearch")
    parser.add_argument("--m", type=int, help="HNSW links per node (default: settings)")
    parser.add_argument("--ef-construction", type=int, help="HNSW build breadth")
    parser.add_argument("--exact-limit", type=int, help="largest flat index (default: settings)")
    arguments = parser.parse_args()
    overrides = {
        "hnsw_m": arguments.m,
        "hnsw_ef_construction": arguments.ef_construction,
        "exact_index_limit": arguments.exact_limit,
    }
    settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    rows = index_speed(
        arguments.sizes,
        arguments.dimension,
        settings,
        ef_search_sweep=arguments.ef_search,
        data=arguments.data,
    )
    print(markdown(rows))


if __name__ == "__main__":
    main()
