"""Corpus embedding across worker processes: one encoder per process, one torch thread each.

Texts are cut into chunks in order; a pool of ``workers`` processes (started with "spawn", so no
torch or OpenMP state is inherited from the parent) each load the configured encoder once
(:func:`matching.encode.load_uncached_encoder`, with one torch thread) and embed whole chunks;
the chunks come back in order and are stacked. The vectors equal single-process ones up to float
rounding (the model is the same; only the thread count differs).

On one machine, N processes × 1 thread scale better than 1 process × N threads for short texts,
at the price of one model copy per process (~0.5 GB resident for e5-small). On a cluster the same
split maps onto Ray tasks (see ``docs/scaling.md``): :func:`embed_chunk_with` is the task body,
and a Ray actor per worker holds the encoder as the pool's initializer does here.

The model must be converted before the workers start (``techmatch setup`` does it): two workers
converting it at once would race. As with any "spawn" pool, a script that calls
:func:`embed_parallel` at import time must do so under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from matching.config import Settings
from matching.encode import Encoder, load_uncached_encoder

__all__ = ["TextKind", "embed_chunk_with", "embed_parallel", "split_chunks"]

TextKind = Literal["passages", "queries"]

_encoder: Encoder | None = None  # the worker's own encoder, loaded by _start_worker


def split_chunks(texts: Sequence[str], chunk_size: int) -> list[list[str]]:
    """``texts`` in consecutive chunks of ``chunk_size`` (the last may be shorter)."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    return [list(texts[start : start + chunk_size]) for start in range(0, len(texts), chunk_size)]


def embed_chunk_with(encoder: Encoder, kind: TextKind, chunk: Sequence[str]) -> NDArray[np.float32]:
    """One chunk's vectors (rows, L2-normalised): the unit of work of a worker or a Ray task."""
    if kind == "queries":
        return encoder.encode_queries(chunk)
    return encoder.encode_passages(chunk)


def embed_parallel(
    texts: Sequence[str],
    settings: Settings,
    *,
    workers: int = 2,
    chunk_size: int = 64,
    kind: TextKind = "passages",
    start_method: Literal["spawn", "forkserver"] = "spawn",
) -> NDArray[np.float32]:
    """The vectors of ``texts`` (one row each, in order), embedded by ``workers`` processes.

    Each worker loads ``settings.encoder`` once, with one torch thread; chunks of
    ``chunk_size`` texts are handed out as workers become free. No texts: a (0, 0) array.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    chunks = split_chunks(texts, chunk_size)
    if not chunks:
        return np.empty((0, 0), dtype=np.float32)
    context = multiprocessing.get_context(start_method)
    one_thread = settings.model_copy(update={"encoder_threads": 1})
    with context.Pool(
        min(workers, len(chunks)), initializer=_start_worker, initargs=(one_thread,)
    ) as pool:
        parts = pool.map(_embed_chunk, [(kind, chunk) for chunk in chunks], chunksize=1)
    return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


def _start_worker(settings: Settings) -> None:
    import torch

    global _encoder
    torch.set_num_threads(1)
    _encoder = load_uncached_encoder(settings)


def _embed_chunk(task: tuple[TextKind, list[str]]) -> NDArray[np.float32]:
    assert _encoder is not None, "worker started without its encoder"
    kind, chunk = task
    return embed_chunk_with(_encoder, kind, chunk)
