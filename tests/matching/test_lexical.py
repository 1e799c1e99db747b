"""Lexical index: BM25 over words and character n-grams, filters, updates, key terms."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from matching.errors import NotFound
from matching.lexical import GRAM_WEIGHT, K1, B, LexicalIndex
from matching.text import lexical_terms

RESULTS = {
    1: "磷石膏预处理与建筑石膏制备技术：水洗除去可溶磷、氟杂质后煅烧，产品达到建筑石膏标准",
    2: "铜阳极泥中金银的湿法回收工艺，采用加压浸出脱铜后氯化分金",
    3: "奶牛隐性乳房炎的体细胞快速检测试纸，十分钟出结果，适合牧场现场使用",
    4: "钒钛磁铁矿钠化焙烧提钒的废水零排放工艺，回收硫酸钠",
    5: "冶炼烟气制酸系统的低温铯钒催化剂，起燃温度低，适应二氧化硫浓度波动",
    6: "电解铜箔添加剂与高抗拉强度锂电铜箔的制备方法",
    7: "马铃薯晚疫病的早期预警模型与绿色防控技术",
    8: "石膏基自流平砂浆的配方设计，以脱硫石膏为主要原料",
}


@pytest.fixture
def index() -> LexicalIndex:
    built = LexicalIndex()
    built.build(list(RESULTS), list(RESULTS.values()))
    return built


def ids_of(found: list[tuple[int, float]]) -> list[int]:
    return [doc_id for doc_id, _ in found]


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "best"),
    [
        ("我公司每年产生磷石膏二十万吨，希望做成建筑石膏", 1),
        ("阳极泥里的金银怎么回收", 2),
        ("牧场奶牛乳房炎发病多，想在现场快速查体细胞数", 3),
        ("转炉烟气SO2浓度波动大，制酸转化率偏低", 5),
        ("锂电铜箔抗拉强度不够", 6),
    ],
)
def test_search_ranks_the_matching_result_first(index: LexicalIndex, need: str, best: int) -> None:
    found = index.search(need, 3)
    assert ids_of(found)[0] == best
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)


def test_search_returns_only_documents_that_match(index: LexicalIndex) -> None:
    assert index.search("量子通信卫星", 5) == []
    assert index.search("", 5) == []
    assert index.search("磷石膏", 0) == []
    assert len(index.search("石膏", 100)) == len({1, 8})


def test_scores_are_bm25s_lucene_scores_fused(index: LexicalIndex) -> None:
    query = "以脱硫石膏和磷石膏为原料制备建筑石膏"
    found = dict(index.search(query, len(RESULTS)))
    texts = list(RESULTS.values())
    sides = []
    for part in (0, 1):
        model = bm25s.BM25(k1=K1, b=B, method="lucene")
        model.index([lexical_terms(text)[part] or [""] for text in texts], show_progress=False)
        scores = model.get_scores(lexical_terms(query)[part])
        sides.append(scores / scores.max())
    expected = (sides[0] + GRAM_WEIGHT * sides[1]) / (1 + GRAM_WEIGHT)
    for row, doc_id in enumerate(RESULTS):
        assert found.get(doc_id, 0.0) == pytest.approx(expected[row], abs=1e-6)


def test_ties_are_ordered_by_id() -> None:
    index = LexicalIndex()
    index.build([30, 10, 20], ["磷石膏制砖", "磷石膏制砖", "磷石膏制砖"])
    assert ids_of(index.search("磷石膏", 3)) == [10, 20, 30]
    assert ids_of(index.search("磷石膏", 2)) == [10, 20]


def test_allowed_filter_is_applied_before_the_cut() -> None:
    # 30 documents match the query strongly, 3 weakly; only the weak ones are allowed.
    strong = {i: f"磷石膏制备建筑石膏 第{i}号" for i in range(100, 130)}
    weak = {i: f"建筑材料 第{i}号 石膏" for i in range(1, 4)}
    index = LexicalIndex()
    index.build([*strong, *weak, 999], [*strong.values(), *weak.values(), "马铃薯晚疫病"])
    assert set(ids_of(index.search("磷石膏建筑石膏", 3))) <= set(strong)

    allowed = {1, 2, 3, 999, 12345}
    found = index.search("磷石膏建筑石膏", 10, allowed=allowed)
    assert sorted(ids_of(found)) == [1, 2, 3]  # 999 scores 0, 12345 is not indexed
    assert len(index.search("磷石膏建筑石膏", 2, allowed=allowed)) == 2
    assert index.search("磷石膏建筑石膏", 5, allowed=set()) == []
    unfiltered = dict(index.search("磷石膏建筑石膏", 100))
    assert all(score == unfiltered[doc_id] for doc_id, score in found)


# --- updates -------------------------------------------------------------------------------


def test_upsert_adds_and_replaces(index: LexicalIndex) -> None:
    index.upsert([9], ["赤泥脱碱制备路基材料"])
    assert len(index) == 9
    assert ids_of(index.search("赤泥脱碱", 1)) == [9]

    index.upsert([1], ["马铃薯脱毒种薯快繁技术"])
    assert len(index) == 9
    assert 1 not in ids_of(index.search("磷石膏", 10))
    assert ids_of(index.search("脱毒种薯", 1)) == [1]


def test_remove_drops_documents(index: LexicalIndex) -> None:
    index.remove([1, 8, 404])
    assert len(index) == 6
    assert index.search("石膏", 10) == []
    assert ids_of(index.search("阳极泥", 1)) == [2]
    index.remove([])
    assert len(index) == 6


def test_updates_give_the_same_index_as_a_fresh_build(index: LexicalIndex) -> None:
    index.remove([2, 5])
    index.upsert([3, 11], ["奶牛乳房炎中药制剂", "铜阳极泥处理"])
    texts = {**RESULTS, 3: "奶牛乳房炎中药制剂", 11: "铜阳极泥处理"}
    del texts[2], texts[5]
    fresh = LexicalIndex()
    fresh.build(list(texts), list(texts.values()))
    for query in ("乳房炎", "阳极泥", "石膏", "铜箔 抗拉强度"):
        updated, rebuilt = index.search(query, 10), fresh.search(query, 10)
        assert ids_of(updated) == ids_of(rebuilt)
        assert [score for _, score in updated] == pytest.approx([score for _, score in rebuilt])


def test_build_replaces_contents(index: LexicalIndex) -> None:
    index.build([7, 7], ["旧文本", "马铃薯晚疫病"])
    assert len(index) == 1
    assert ids_of(index.search("晚疫病", 5)) == [7]
    assert index.search("磷石膏", 5) == []
    with pytest.raises(ValueError):
        index.build([1, 2], ["只有一个文本"])


def test_empty_index() -> None:
    index = LexicalIndex()
    assert len(index) == 0
    assert index.search("磷石膏", 5) == []
    assert index.search("磷石膏", 5, allowed={1}) == []
    found = index.key_terms("磷石膏和钛石膏", 5)
    assert {term for term, _ in found} == {"磷石膏", "钛石膏"}
    assert all(score > 0 for _, score in found)


# --- key terms and shared terms --------------------------------------------------------------


def test_key_terms_prefer_distinctive_words(index: LexicalIndex) -> None:
    need = "我们担心磷石膏堆场不够用，回来的建筑石膏也卖不出去。磷石膏能不能用？"
    found = index.key_terms(need, top=3)
    terms = [term for term, _ in found]
    assert terms[0] == "磷石膏"  # rare in the corpus, rare in Chinese, said twice
    assert "担心" not in terms and "回来" not in terms  # everyday words
    assert "石膏" not in terms  # in two of eight results
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert index.key_terms(need, top=0) == []


def test_shared_terms_most_distinctive_first(index: LexicalIndex) -> None:
    shared = index.shared_terms("攀西钒钛磁铁矿提钒产生的高盐废水", 4)
    assert shared[0] == "钒钛磁铁矿"
    assert "磁铁矿" not in shared  # inside 钒钛磁铁矿
    assert "废水" in shared and "提钒" in shared
    assert index.shared_terms("马铃薯晚疫病", 4) == []
    assert len(index.shared_terms("钒钛磁铁矿 提钒 废水 工艺", 4, top=2)) == 2


def test_shared_terms_of_an_unknown_document(index: LexicalIndex) -> None:
    with pytest.raises(NotFound):
        index.shared_terms("磷石膏", 404)


def test_a_large_corpus_keeps_ids_and_scores_aligned() -> None:
    rng = np.random.default_rng(7)
    words = ["磷石膏", "阳极泥", "乳房炎", "铜箔", "晚疫病", "赤泥", "钛白粉", "沼气"]
    ids = [int(i) for i in rng.permutation(5000)[:600]]
    texts = [" ".join(rng.choice(words, size=3)) for _ in ids]
    index = LexicalIndex()
    index.build(ids, texts)
    found = index.search("沼气", 600)  # no other word has 沼 or 气
    expected = {doc_id for doc_id, text in zip(ids, texts, strict=True) if "沼气" in text}
    assert set(ids_of(found)) == expected
