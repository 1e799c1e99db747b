"""Embedding cache: each vector stored once per (model id, SHA-256 of the exact text the model
saw, prefix included), in SQLite, so an unchanged text is never embedded twice, across restarts."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from matching.encode import Encoder

__all__ = ["CachedEncoder", "EmbeddingCache", "text_key"]

_CHUNK = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit
_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_sha256)
) WITHOUT ROWID
"""


def text_key(text: str) -> bytes:
    """The cache key of a text: SHA-256 (32 bytes) of its UTF-8 form."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Float32 vectors in a SQLite file in WAL mode.

    Safe for several threads (one connection behind a lock) and several processes (SQLite's
    locking; a writer waits up to ``timeout`` seconds for another one).
    """

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get_many(
        self, model_id: str, keys: Sequence[bytes], dimension: int
    ) -> dict[bytes, NDArray[np.float32]]:
        """The stored vectors of those ``keys`` that have one of ``dimension`` floats."""
        found: dict[bytes, NDArray[np.float32]] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for first in range(0, len(unique), _CHUNK):
                chunk = unique[first : first + _CHUNK]
                rows = self._db.execute(
                    "SELECT text_sha256, vector FROM embeddings WHERE model_id = ? "
                    f"AND text_sha256 IN ({', '.join('?' * len(chunk))})",
                    [model_id, *chunk],
                ).fetchall()
                for key, blob in rows:
                    if len(blob) == 4 * dimension:
                        found[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model_id: str, keys: Sequence[bytes], vectors: NDArray[np.float32]) -> None:
        """Store ``vectors`` (one row per key) in one transaction."""
        rows = [
            (model_id, key, np.ascontiguousarray(vector, dtype=np.float32).tobytes())
            for key, vector in zip(keys, vectors, strict=True)
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def count(self, model_id: str) -> int:
        """Number of vectors stored for ``model_id``."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM embeddings WHERE model_id = ?", (model_id,)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()


class CachedEncoder:
    """An :class:`~matching.encode.Encoder` that asks ``encoder`` only for texts not in ``cache``.

    Keys are ``prefix + text`` with the prefix the wrapped encoder puts before queries and
    passages. ``hits`` and ``misses`` count texts served from the cache and texts embedded.
    """

    def __init__(
        self,
        encoder: Encoder,
        cache: EmbeddingCache,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        self.encoder = encoder
        self.cache = cache
        self.model_id = encoder.model_id
        self.dimension = encoder.dimension
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.hits = 0
        self.misses = 0

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts, self.query_prefix, self.encoder.encode_queries)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts, self.passage_prefix, self.encoder.encode_passages)

    def _encode(
        self,
        texts: Sequence[str],
        prefix: str,
        embed: Callable[[Sequence[str]], NDArray[np.float32]],
    ) -> NDArray[np.float32]:
        keys = [text_key(prefix + text) for text in texts]
        found = self.cache.get_many(self.model_id, keys, self.dimension)
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            vectors = embed(list(missing.values()))
            self.cache.put_many(self.model_id, list(missing), vectors)
            found.update(zip(missing, vectors, strict=True))
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out
