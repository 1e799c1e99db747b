"""Chinese text for matching: normalisation, sentences, word tokens and character n-grams.

Word tokens come from jieba with a user dictionary of technical terms it would otherwise split
(``resources/tech_terms.txt``: 磷石膏, 阳极泥, 钒钛磁铁矿, ...), stop words
(``resources/stopwords.txt``) and punctuation removed. The tokenizer is a private jieba instance,
loaded on first use; its prefix-dictionary cache goes to the system temp folder, and its logging
is silenced. Every position is a character offset into the text as given, so tokens can be
highlighted in the original even when normalisation changed it (full-width letters, ㎡ → m2).
"""

from __future__ import annotations

import itertools
import logging
import re
import statistics
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba  # type: ignore[import-untyped]

__all__ = [
    "add_terms",
    "char_ngrams",
    "general_idf",
    "is_term",
    "lexical_terms",
    "normalise",
    "split_sentences",
    "token_spans",
    "tokens",
]

# CJK punctuation that NFKC leaves alone, mapped one character to one character.
_PUNCTUATION = str.maketrans(
    {
        "。": ".",
        "｡": ".",
        "、": ",",
        "“": '"',
        "”": '"',
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "‘": "'",
        "’": "'",
        "【": "[",
        "】": "]",
        "〔": "[",
        "〕": "]",
        "《": "<",
        "》": ">",
        "〈": "<",
        "〉": ">",
        "—": "-",
        "–": "-",
        "―": "-",
        "‐": "-",
        "‑": "-",
        "〜": "~",
        "・": "·",
        "•": "·",
        "\u3000": " ",
    }
)
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# A unit of character n-grams: one CJK character, or a run of other letters and digits.
_UNIT = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_SEPARATOR = re.compile(rf"[^\w{_CJK}]+|_+")
_WORD_CHAR = re.compile(r"[^\W_]")
# A term may be Latin (so2, fe2o3, amr); a measurement (120mg, 300mpa) is not.
_LATIN_FIRST = re.compile(r"[a-z]")
_NUMBER = re.compile(r"[\d.,%+\-]+")
# Sentence ends. "." ends a sentence only when no letter or digit follows ("99.6%" goes on).
_SENTENCE_END = re.compile(r"[。．｡！？；!?;\n\r]+|\.(?![0-9A-Za-z])")
_CLOSING = "\"'”’」』)）]】"

# jieba frequency of an added term: from 100 up, all 714 dictionary terms stay whole inside
# phrases (含X的, 利用X制备, ...); jieba's own suggestion (often 1) loses them in context.
_TERM_FREQUENCY = 1000

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_stopwords: frozenset[str] = frozenset()


def normalise(text: str) -> str:
    """NFKC, lower-case, CJK punctuation mapped to ASCII (。→. 、→, “”→")."""
    return _normalise_with_origin(text)[0]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` in ``text``: split after 。！？；!?; and newlines, and after
    a "." not followed by a letter or digit. Spans keep their end mark and closing quotes, drop
    surrounding white space, and are never empty."""
    spans: list[tuple[int, int]] = []
    start = 0
    for mark in _SENTENCE_END.finditer(text):
        end = mark.end()
        while end < len(text) and text[end] in _CLOSING:
            end += 1
        _append_trimmed(spans, text, start, end)
        start = end
    _append_trimmed(spans, text, start, len(text))
    return spans


def tokens(text: str) -> list[str]:
    """Word tokens of the normalised text, without stop words, punctuation and bare numbers."""
    return [word for word, _, _ in _analyse(text)[2]]


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Word tokens (normalised) with their ``(start, end)`` character span in ``text``."""
    _, origin, kept = _analyse(text)
    if origin is None:
        return list(kept)
    return [(word, origin[start], origin[end - 1] + 1) for word, start, end in kept]


def lexical_terms(text: str) -> tuple[list[str], list[str]]:
    """The terms a lexical index scores, from one tokenizer pass: ``(words, grams)``.

    ``words`` are the tokens plus the dictionary words inside tokens longer than two characters
    (jieba's search mode: 钒钛磁铁矿 also gives 磁铁矿), so a whole term and its parts both
    match. ``grams`` are the character 1- and 2-grams of runs of kept tokens: stop words,
    punctuation and numbers break runs, so need boilerplate (我公司目前希望) adds no n-grams.
    """
    tokenizer = _load()
    normal, _, kept = _analyse(text)
    words: list[str] = []
    for word, _, _ in kept:
        for size in (2, 3):
            if len(word) > size:
                words.extend(
                    part
                    for i in range(len(word) - size + 1)
                    if tokenizer.FREQ.get(part := word[i : i + size])
                )
        words.append(word)
    grams: list[str] = []
    run_start = run_end = 0
    for _, start, end in [*kept, ("", -1, -1)]:
        if start != run_end:
            units = _UNIT.findall(normal[run_start:run_end])
            grams.extend(units)
            grams.extend(a + b for a, b in itertools.pairwise(units))
            run_start = start
        run_end = end
    return words, grams


def char_ngrams(text: str, sizes: tuple[int, ...] = (1, 2)) -> list[str]:
    """Character n-grams of the normalised text for each size in ``sizes``.

    A unit is one CJK character or a run of other letters and digits ("so2"); n-grams never
    cross punctuation or white space.
    """
    grams: list[str] = []
    for segment in _SEPARATOR.split(normalise(text)):
        units = _UNIT.findall(segment)
        for size in sizes:
            grams.extend("".join(units[i : i + size]) for i in range(len(units) - size + 1))
    return grams


def is_term(word: str) -> bool:
    """Whether a token reads as a term on its own (for key terms and explanations): two or more
    characters, and a dictionary word (jieba's, the technical terms, added terms) or starting
    with a Latin letter (so2, amr). Single characters, measurements (120mg) and jieba's guesses
    at unknown words (区想) are not."""
    if len(word) < 2:
        return False
    return bool(_load().FREQ.get(word) or _LATIN_FIRST.match(word))


def general_idf(word: str) -> float:
    """The word's idf in a general Chinese corpus (jieba's ``analyse/idf.txt``, natural log;
    common words 3-7, technical words 10-14); words the list lacks get its median (about 12).
    The list (270,000 words) is loaded on first use."""
    table, median = _general_table()
    return table.get(word, median)


def add_terms(terms: Iterable[str]) -> None:
    """Teach the tokenizer domain terms (e.g. the store's keywords) so they stay whole.

    Texts tokenized before keep their tokens: add terms before building an index from them.
    """
    tokenizer = _load()
    with _lock:
        for term in terms:
            word = normalise(term).strip()
            if len(word) > 1 and _WORD_CHAR.search(word) and not tokenizer.FREQ.get(word):
                tokenizer.add_word(word, _TERM_FREQUENCY)
        _analyse.cache_clear()


def _normalise_with_origin(text: str) -> tuple[str, list[int] | None]:
    """The normalised text and, for each of its characters, its offset in ``text`` (None when
    normalisation kept every character in place)."""
    if unicodedata.is_normalized("NFKC", text):
        lowered = text.lower()
        if len(lowered) == len(text):
            return lowered.translate(_PUNCTUATION), None
    pieces: list[str] = []
    origin: list[int] = []
    for offset, char in enumerate(text):
        piece = _normal_char(char)
        pieces.append(piece)
        origin.extend([offset] * len(piece))
    return "".join(pieces), origin


@lru_cache(maxsize=16384)
def _analyse(
    text: str,
) -> tuple[str, tuple[int, ...] | None, tuple[tuple[str, int, int], ...]]:
    """Normalised text, its origin offsets, and the kept tokens with spans in the normalised
    text. Memoised (requests analyse the same queries and candidates again); ``add_terms``
    clears the memo."""
    tokenizer = _load()
    normal, origin = _normalise_with_origin(text)
    kept = tuple(
        (word, start, end)
        for word, start, end in tokenizer.tokenize(normal)
        if word not in _stopwords and _WORD_CHAR.search(word) and not _NUMBER.fullmatch(word)
    )
    return normal, None if origin is None else tuple(origin), kept


@lru_cache(maxsize=4096)
def _normal_char(char: str) -> str:
    return unicodedata.normalize("NFKC", char).lower().translate(_PUNCTUATION)


def _append_trimmed(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


def _load() -> jieba.Tokenizer:
    """The shared tokenizer with the user dictionary and stop words loaded (once)."""
    global _tokenizer, _stopwords
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            logging.getLogger("jieba").setLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.tmp_dir = tempfile.gettempdir()
            tokenizer.initialize()
            for line in _resource_lines("tech_terms.txt"):
                word, freq, tag = [*line.split(), "", ""][:3]
                tokenizer.add_word(normalise(word), int(freq or _TERM_FREQUENCY), tag or None)
            stopwords = frozenset(normalise(line) for line in _resource_lines("stopwords.txt"))
            # A stop phrase jieba does not know (我公司) is taught so it comes out whole.
            for word in stopwords:
                if len(word) > 1 and not tokenizer.FREQ.get(word):
                    tokenizer.add_word(word, _TERM_FREQUENCY)
            _stopwords = stopwords
            _tokenizer = tokenizer
    return _tokenizer


@lru_cache(maxsize=1)
def _general_table() -> tuple[dict[str, float], float]:
    table: dict[str, float] = {}
    path = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, value = line.rstrip("\n").rpartition(" ")
            table[word] = float(value)
    return table, statistics.median(table.values())


def _resource_lines(name: str) -> list[str]:
    """Non-empty lines of a packaged resource file, without ``#`` comments."""
    text = resources.files("matching").joinpath(f"resources/{name}").read_text("utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]
