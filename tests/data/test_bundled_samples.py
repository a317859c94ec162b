"""The bundled AG News sample reads as plain text: AG News's HTML entities, its broken
forms of them ("company #39;s", " quot;", " amp;"), escaped dollars and markup are gone."""

from __future__ import annotations

import re

import pytest

from labelwise.data import load_ag_news_sample

LEFTOVERS = re.compile(r"#\d+;|\bquot;|\bamp;|\blt;|\bgt;|&\w+;|&#\d+;|\\|</?[A-Za-z][^<>]*>")


@pytest.fixture(scope="module")
def ag_news_texts():
    train, test = load_ag_news_sample()
    return {"train": train.texts, "test": test.texts}


@pytest.mark.parametrize("split", ["train", "test"])
def test_ag_news_sample_has_no_html_entities_escapes_or_tags(ag_news_texts, split):
    bad = [text for text in ag_news_texts[split] if LEFTOVERS.search(text)]
    assert not bad, f"{len(bad)} {split} texts keep AG News escapes, e.g. {bad[0]!r}"
    assert not [text for text in ag_news_texts[split] if "\\$" in text or text != text.strip()]


def test_ag_news_sample_keeps_its_size_and_the_cleaned_characters(ag_news_texts):
    assert (len(ag_news_texts["train"]), len(ag_news_texts["test"])) == (2000, 1000)
    every = " ".join(ag_news_texts["train"])
    assert "company's share price" in every  # was "company #39;s share price"
    assert "Marsh & McLennan" in every  # was "Marsh  amp; McLennan"
    assert re.search(r"US\$150M", every)  # was "US\\$150M"
