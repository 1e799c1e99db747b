"""Domain errors. Messages are Chinese because people read them; the service maps them to HTTP."""

from __future__ import annotations

__all__ = [
    "EncoderError",
    "IndexCorrupt",
    "IndexMissing",
    "IndexStale",
    "InvalidFile",
    "NotFound",
    "TechMatchError",
]


class TechMatchError(Exception):
    """Base of every error the library raises on purpose."""


class InvalidFile(TechMatchError):
    """A file cannot be read as a table at all (empty, wrong format, no header, bad encoding)."""


class NotFound(TechMatchError):
    """No entity with the given identifier."""


class IndexCorrupt(TechMatchError):
    """A saved vector index cannot be trusted (truncated, checksum differs, unreadable): rebuild."""


class IndexMissing(IndexCorrupt):
    """No saved vector index in the folder (first start or deleted): build one."""


class IndexStale(TechMatchError):
    """A saved vector index was built for another model or dimension: rebuild."""


class EncoderError(TechMatchError):
    """The configured text encoder cannot be loaded, or its converted model failed the check."""
