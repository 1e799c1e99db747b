"""Corpus embedding in worker processes gives the single-process vectors, in order."""

from __future__ import annotations

import numpy as np
import pytest

from matching.config import Settings
from matching.encode import SentenceTransformerEncoder
from matching.parallel_embed import embed_parallel, split_chunks

TEXTS = [
    f"{topic}：第 {number} 项技术需求，涉及{topic}的工艺改进与检测方法。"
    for number in range(8)
    for topic in (
        "锂电池正极材料",
        "污水处理膜",
        "工业机器人视觉",
        "高强度铝合金",
        "农作物病害识别",
    )
]


def test_chunks_keep_every_text_in_order() -> None:
    chunks = split_chunks([str(n) for n in range(10)], 4)
    assert chunks == [["0", "1", "2", "3"], ["4", "5", "6", "7"], ["8", "9"]]
    assert split_chunks([], 4) == []
    with pytest.raises(ValueError, match="chunk_size"):
        split_chunks(["a"], 0)


@pytest.mark.slow  # two processes load the model: 17-40 s measured, with the cores shared
def test_two_workers_give_the_single_process_vectors(
    encoder: SentenceTransformerEncoder, encoder_settings: Settings
) -> None:
    assert len(TEXTS) == 40
    parallel = embed_parallel(TEXTS, encoder_settings, workers=2, chunk_size=7)
    assert parallel.shape == (40, encoder.dimension) and parallel.dtype == np.float32
    assert np.allclose(parallel, encoder.encode_passages(TEXTS), atol=1e-5)


def test_nothing_to_embed_starts_no_worker(encoder_settings: Settings) -> None:
    assert embed_parallel([], encoder_settings).shape == (0, 0)
    with pytest.raises(ValueError, match="workers"):
        embed_parallel(["a"], encoder_settings, workers=0)
