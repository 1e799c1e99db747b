"""Near-duplicates: shingling, Jaccard similarity, and prefix filtering that loses no pair."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.duplicates import earlier_near_duplicates, shingles, similarity


def brute_force_best_scores(docs: Sequence[frozenset[str]], threshold: float) -> list[float | None]:
    """For each set, the best similarity ≥ threshold to any earlier set, by comparing all pairs."""
    best: list[float | None] = []
    for position, doc in enumerate(docs):
        scores = [similarity(doc, docs[earlier]) for earlier in range(position)]
        qualifying = [score for score in scores if score >= threshold]
        best.append(max(qualifying) if qualifying else None)
    return best


def assert_same_as_brute_force(docs: Sequence[frozenset[str]], threshold: float) -> None:
    found = earlier_near_duplicates(docs, threshold)
    expected = brute_force_best_scores(docs, threshold)
    assert len(found) == len(docs)
    for position, (match, best) in enumerate(zip(found, expected, strict=True)):
        if best is None:
            assert match is None, (position, match)
            continue
        assert match is not None, (position, best)
        earlier, score = match
        assert 0 <= earlier < position
        assert score == best
        # With ties any earlier set with the best score will do, but it must really score that.
        assert similarity(docs[position], docs[earlier]) == best


# --- shingles ------------------------------------------------------------------------------


def test_shingles_are_overlapping_character_trigrams() -> None:
    assert shingles("铜带退火") == frozenset({"铜带退", "带退火"})
    assert shingles("abcde") == frozenset({"abc", "bcd", "cde"})


def test_shingles_of_repeated_text_are_a_set() -> None:
    assert shingles("aaaaaa") == frozenset({"aaa"})


def test_shingles_ignore_spaces_punctuation_and_underscores() -> None:
    plain = shingles("铜带表面氧化色差")
    assert shingles("铜带，表面！氧化 色差。") == plain
    assert shingles("铜带、表面；“氧化”\n色差") == plain
    assert shingles("铜带_表面-氧化(色差)") == plain


def test_shingles_fold_full_width_characters_and_case() -> None:
    assert shingles("ＰＬＣ控制２０２７") == shingles("plc控制2027")
    assert shingles("PLC控制") == shingles("plc控制")
    assert shingles("ＡＢＣ，ｄｅｆ") == shingles("abcdef")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", {"abc"}),
        ("ab", {"ab"}),
        ("a", {"a"}),
        ("a, b", {"ab"}),
        ("", set()),
        ("，。！ ", set()),
    ],
)
def test_shingles_of_short_text_are_the_whole_text(text: str, expected: set[str]) -> None:
    assert shingles(text) == frozenset(expected)


def test_shingles_take_another_size() -> None:
    assert shingles("abcd", size=2) == frozenset({"ab", "bc", "cd"})
    assert shingles("abcd", size=4) == frozenset({"abcd"})


# --- similarity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"x", "y"}, {"x", "y"}, 1.0),
        ({"x"}, {"y"}, 0.0),
        ({"x", "y"}, {"y", "z"}, 1 / 3),
        ({"w", "x", "y", "z"}, {"x", "y"}, 0.5),
        (set(), {"x"}, 0.0),
        (set(), set(), 0.0),
    ],
)
def test_similarity_is_jaccard(a: set[str], b: set[str], expected: float) -> None:
    assert similarity(frozenset(a), frozenset(b)) == pytest.approx(expected)
    assert similarity(frozenset(b), frozenset(a)) == pytest.approx(expected)


def test_near_identical_needs_are_similar_and_different_needs_are_not() -> None:
    first = shingles("铜带退火后表面出现氧化色差，希望找到在线检测和控制的办法")
    again = shingles("铜带退火后表面出现氧化色差，希望找到在线检测与控制的方法。")
    other = shingles("污水处理厂污泥脱水效率低，需要新型絮凝剂")
    assert similarity(first, again) > 0.6
    assert similarity(first, other) < 0.05


# --- earlier_near_duplicates ---------------------------------------------------------------


def test_the_first_set_never_has_an_earlier_duplicate() -> None:
    assert earlier_near_duplicates([frozenset({"a"})], 0.5) == [None]
    assert earlier_near_duplicates([], 0.5) == []


def test_finds_the_most_similar_earlier_set_above_the_threshold() -> None:
    docs = [
        frozenset("abcdefghij"),  # 0
        frozenset("abcdefghxy"),  # 1: 8/12 with 0
        frozenset("klmnopqrst"),  # 2: nothing in common
        frozenset("abcdefghiz"),  # 3: 9/11 with 0, 8/12 with 1
    ]
    assert earlier_near_duplicates(docs, 0.6) == [None, (0, 8 / 12), None, (0, 9 / 11)]


def test_a_pair_below_the_threshold_is_not_reported() -> None:
    docs = [frozenset("abcdefghij"), frozenset("abcdefghxy")]
    assert earlier_near_duplicates(docs, 0.7) == [None, None]


def test_a_pair_exactly_at_the_threshold_is_reported() -> None:
    docs = [frozenset("abcd"), frozenset("ab")]
    assert earlier_near_duplicates(docs, 0.5) == [None, (0, 0.5)]


def test_empty_sets_are_never_duplicates() -> None:
    assert earlier_near_duplicates([frozenset(), frozenset(), frozenset("ab")], 0.3) == [
        None,
        None,
        None,
    ]


def test_float_rounding_of_threshold_times_size_loses_no_pair() -> None:
    # 0.56 * 25 is 14.000000000000002 in floating point; a later set of 25 tokens holding an
    # earlier set of 14 has Jaccard exactly 0.56 and must be found.
    small = frozenset(f"t{i}" for i in range(14))
    large = frozenset(f"t{i}" for i in range(25))
    assert similarity(small, large) == 0.56
    assert earlier_near_duplicates([small, large], 0.56) == [None, (0, 0.56)]
    assert_same_as_brute_force([small, large], 0.56)


def test_a_subset_exactly_at_the_threshold_is_found_for_every_size_up_to_60() -> None:
    # Jaccard of k tokens inside n tokens is k/n; with threshold k/n the pair sits exactly on the
    # boundary, where rounding of threshold * size decides whether the prefix filter keeps it.
    for size in range(1, 61):
        tokens = [f"t{i}" for i in range(size)]
        for shared in range(1, size + 1):
            threshold = shared / size
            if not 0.3 <= threshold <= 0.95:
                continue
            small, large = frozenset(tokens[:shared]), frozenset(tokens)
            assert_same_as_brute_force([small, large], threshold)
            assert_same_as_brute_force([large, small], threshold)


def test_finds_what_brute_force_finds_on_real_shingles() -> None:
    texts = [
        "铜带退火后表面出现氧化色差",
        "铜带退火后表面出现氧化色斑",
        "污泥脱水效率低",
        "铜带退火后表面氧化色差问题",
        "污泥脱水效率偏低",
        "",
        "铜带",
    ]
    docs = [shingles(text) for text in texts]
    for threshold in (0.3, 0.5, 0.56, 0.7, 0.9):
        assert_same_as_brute_force(docs, threshold)


THRESHOLDS = st.one_of(
    st.floats(min_value=0.3, max_value=0.95),
    # Round thresholds are where threshold * size lands on (or next to) a whole number.
    st.integers(min_value=30, max_value=95).map(lambda percent: percent / 100),
)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="abc", max_size=8), max_size=10),
    threshold=THRESHOLDS,
)
def test_finds_exactly_what_an_all_pairs_search_finds(texts: list[str], threshold: float) -> None:
    assert_same_as_brute_force([shingles(text) for text in texts], threshold)


@settings(max_examples=300, deadline=None)
@given(
    docs=st.lists(
        st.frozensets(st.integers(min_value=0, max_value=40).map(str), max_size=30), max_size=8
    ),
    threshold=THRESHOLDS,
)
def test_finds_exactly_what_an_all_pairs_search_finds_on_larger_sets(
    docs: list[frozenset[str]], threshold: float
) -> None:
    assert_same_as_brute_force(docs, threshold)
