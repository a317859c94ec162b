"""Unicode-aware tokenization for every script, including those written without spaces.

Scripts written without spaces between words (Chinese, Japanese kana, Thai, Lao, Khmer,
Myanmar, Tibetan) are split into characters, each with the combining marks that follow it
(a Thai vowel sign stays on its consonant). Everything else is split into words (runs of
letters, digits and combining marks: Devanagari vowel signs and Arabic harakat stay inside
their word, which Python's ``\\w`` alone would break) and single punctuation marks;
whitespace separates tokens and is dropped.

Characters instead of a dictionary segmenter (jieba, MeCab, PyThaiNLP): they need no
model or dictionary download, work for every such script at once, never produce an
out-of-vocabulary word at test time, and are what character-level Chinese NER and
sacreBLEU's ``zh`` tokenizer already use. Standard library only.

>>> segment("Привет, мир! 我爱北京。")
['Привет', ',', 'мир', '!', '我', '爱', '北', '京', '。']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache

#: code-point ranges of scripts written without spaces between words.
NO_SPACE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # CJK extensions B-G
)


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    return "".join(re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
                   for low, high in ranges)


#: planes 0-2 hold every combining mark but the variation selectors supplement.
_SCANNED_UP_TO = 0x30000
_VARIATION_SELECTORS_SUPPLEMENT = (0xE0100, 0xE01EF)


@cache
def _mark_ranges() -> tuple[tuple[int, int], ...]:
    """Ranges of combining marks (categories Mn, Mc, Me), found once from ``unicodedata``."""
    ranges: list[tuple[int, int]] = []
    start = None
    for code in range(_SCANNED_UP_TO):
        is_mark = unicodedata.category(chr(code))[0] == "M"
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append((start, code - 1))
            start = None
    if start is not None:
        ranges.append((start, _SCANNED_UP_TO - 1))
    ranges.append(_VARIATION_SELECTORS_SUPPLEMENT)  # the only marks above the scanned planes
    return tuple(ranges)


@cache
def _pattern() -> re.Pattern[str]:
    no_space = _char_class(NO_SPACE_RANGES)
    marks = _char_class(_mark_ranges())
    character = f"[{no_space}](?<![{marks}])[{marks}]*"  # one character of a no-space script + its marks
    word = f"(?:[^\\W{no_space}]|[{marks}])+"  # letters, digits, _ and marks, outside no-space scripts
    punctuation = r"[^\w\s]"
    return re.compile(f"{character}|{word}|{punctuation}")


@cache
def _no_space_search() -> re.Pattern[str]:
    return re.compile(f"[{_char_class(NO_SPACE_RANGES)}]")


def segment(text: str) -> list[str]:
    """Tokens of ``text``: characters in scripts without spaces, words and single
    punctuation marks elsewhere, in order; whitespace dropped. Case is kept."""
    return _pattern().findall(text)


def word_tokens(text: str, *, lowercase: bool = True, punctuation: bool = True) -> list[str]:
    """:func:`segment`, lower-cased by default, without punctuation tokens when
    ``punctuation=False``. The tokenizer of TextCNN and of the multilingual metrics."""
    tokens = segment(text.lower() if lowercase else text)
    if not punctuation:
        tokens = [token for token in tokens if not _is_punctuation(token)]
    return tokens


def _is_punctuation(token: str) -> bool:
    return len(token) == 1 and not token.isalnum() and unicodedata.category(token)[0] in "PS"


def has_no_space_script(text: str) -> bool:
    """True when ``text`` holds a character of a script written without spaces."""
    return _no_space_search().search(text) is not None


def segment_all(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """:func:`segment` of each text, as tuples (the token form a ``TaggingDataset`` holds)."""
    return [tuple(segment(text)) for text in texts]


def tagging_pool(texts: Sequence[str]):
    """An unlabeled :class:`~labelwise.data.TaggingDataset` of raw ``texts`` in any script,
    tokenized by :func:`segment`: the pool a tagger (BiLSTM-CRF, a token classifier) reads
    when the text comes without tokens."""
    from labelwise.data.datasets import TaggingDataset

    return TaggingDataset(segment_all(texts), None)


__all__ = ["NO_SPACE_RANGES", "has_no_space_script", "segment", "segment_all", "tagging_pool", "word_tokens"]
