"""Text: normalisation, sentence spans, jieba tokens with the user dictionary, n-grams."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.text import (
    add_terms,
    char_ngrams,
    general_idf,
    is_term,
    lexical_terms,
    normalise,
    split_sentences,
    token_spans,
    tokens,
)


def resource_lines(name: str) -> list[str]:
    text = resources.files("matching").joinpath(f"resources/{name}").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


# --- normalise -----------------------------------------------------------------------------


def test_normalise_folds_width_case_and_cjk_punctuation() -> None:
    assert normalise("ＳＯ２浓度，ＰＭ２.５。“Cu”【注】") == 'so2浓度,pm2.5."cu"[注]'
    assert normalise("１０㎡") == "10m2"


# --- split_sentences -----------------------------------------------------------------------


def test_split_sentences_on_end_marks_and_newlines() -> None:
    text = "烟气浓度波动大。转化率只有99.6%！怎么办？先测数据；再出方案\n第二段.最后一句"
    pieces = [text[start:end] for start, end in split_sentences(text)]
    assert pieces == [
        "烟气浓度波动大。",
        "转化率只有99.6%！",
        "怎么办？",
        "先测数据；",
        "再出方案",
        "第二段.",
        "最后一句",
    ]


def test_split_sentences_keeps_closing_quotes_and_trims_space() -> None:
    text = "  他说：“先中试。”  然后量产。\n\n"
    assert [text[a:b] for a, b in split_sentences(text)] == ["他说：“先中试。”", "然后量产。"]
    assert split_sentences("") == []
    assert split_sentences(" \n。\n") == [(2, 3)]


# --- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("含磷石膏的堆场渗滤液", "磷石膏"),
        ("从铜阳极泥中回收金银", "铜阳极泥"),
        ("处理铅阳极泥", "阳极泥"),
        ("奶牛隐性乳房炎的早期检测", "隐性乳房炎"),
        ("治疗乳房炎的中药", "乳房炎"),
        ("攀西钒钛磁铁矿选矿", "钒钛磁铁矿"),
        ("以臭葱石形式固砷", "臭葱石"),
    ],
)
def test_user_dictionary_terms_stay_whole(text: str, term: str) -> None:
    assert term in tokens(text)


def test_every_dictionary_term_is_one_token() -> None:
    lines = resource_lines("tech_terms.txt")
    assert len(lines) >= 300
    terms = [line.split()[0] for line in lines]
    assert len(set(terms)) == len(terms)
    for line in lines:
        _, frequency, tag = line.split()
        assert int(frequency) > 0 and tag.isalpha()
    split = [term for term in terms if normalise(term) not in tokens(f"利用{term}制备的")]
    assert split == []


def test_stop_words_punctuation_and_numbers_are_dropped() -> None:
    words = tokens("我公司目前希望解决磷石膏的技术问题，研究表明：投资约300万元、转化率99.6%。")
    assert "磷石膏" in words
    for dropped in (
        "我公司",
        "目前",
        "希望",
        "技术",
        "问题",
        "的",
        "研究表明",
        "，",
        "300",
        "99.6%",
    ):
        assert dropped not in words
    assert tokens("。，、！") == []


def test_stop_word_list_is_clean() -> None:
    words = resource_lines("stopwords.txt")
    assert len(set(words)) == len(words)
    assert all(len(word.split()) == 1 for word in words)


def test_latin_tokens_are_normalised() -> None:
    assert tokens("ＳＯ２浓度超标") == ["so2", "浓度", "超标"]


def test_spans_point_into_the_original_text() -> None:
    text = "ＳＯ２浓度在6%到13%之间，含磷石膏约１０㎡"
    spans = token_spans(text)
    assert [(word, text[start:end]) for word, start, end in spans] == [
        ("so2", "ＳＯ２"),
        ("浓度", "浓度"),
        ("含", "含"),
        ("磷石膏", "磷石膏"),
        ("约", "约"),
        ("10m2", "１０㎡"),
    ]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="磷石膏铜阳极泥的和。，ＡＢＣ１２３abc ㎡①\n-．", max_size=40))
def test_spans_cover_their_token(text: str) -> None:
    previous = 0
    for word, start, end in token_spans(text):
        assert 0 <= start < end <= len(text)
        assert start >= previous
        assert word in normalise(text[start:end])
        previous = start


# --- n-grams and index terms ---------------------------------------------------------------


def test_char_ngrams_by_size_without_crossing_punctuation() -> None:
    assert char_ngrams("浓度，SO2高") == ["浓", "度", "浓度", "so2", "高", "so2高"]
    assert char_ngrams("磷石膏", sizes=(3,)) == ["磷石膏"]
    assert char_ngrams("", sizes=(1, 2)) == []


def test_lexical_terms_add_sub_words_and_skip_boilerplate_ngrams() -> None:
    words, grams = lexical_terms("我公司希望处理钒钛磁铁矿")
    assert "钒钛磁铁矿" in words and "磁铁矿" in words
    assert "我公司" not in words
    assert "公" not in grams and "希望" not in grams
    assert "钒钛" in grams and "铁矿" in grams
    assert lexical_terms("") == ([], [])


def test_add_terms_keeps_a_new_term_whole() -> None:
    term = "锌焙砂氨浸渣"
    assert term not in tokens(f"处理{term}的方法")
    add_terms([term, "", "Ｘ"])
    assert term in tokens(f"处理{term}的方法")


def test_is_term_and_general_idf() -> None:
    assert is_term("磷石膏") and is_term("so2") and is_term("浓度")
    assert not is_term("铜") and not is_term("120mg")
    assert general_idf("回来") < 7 < 10 < general_idf("缓凝剂")
    assert general_idf("一个不存在的词语") == general_idf("另一个不存在的词")
