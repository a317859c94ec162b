"""Conversion between tagging schemes: IOB1, IOB2 (BIO) and BIOES, all normalised to IOB2."""

from __future__ import annotations

from collections.abc import Sequence

from labelwise.errors import DataError


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``, ``"O"`` -> ``("O", "")``; DataError otherwise."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] in "-_":
        return tag[0].upper(), tag[2:]
    raise DataError(
        f"tag {tag!r} is not 'O' nor PREFIX-TYPE.",
        fix=f"use tags such as B-{tag or 'PER'}, I-{tag or 'PER'}, O (a tag without a prefix starts or "
        "continues nothing), or load with scheme='iob2' to keep the tags as they are.",
    )


_split = split_tag


def detect_scheme(tags: Sequence[str]) -> str:
    """Guess the scheme: "bioes" if S-/E- prefixes occur, "iob1" if an I- starts an
    entity, else "iob2"."""
    previous = ("O", "")
    scheme = "iob2"
    for tag in tags:
        prefix, kind = _split(tag)
        if prefix in ("S", "E"):
            return "bioes"
        if prefix == "I" and (previous[0] == "O" or previous[1] != kind):
            scheme = "iob1"
        previous = (prefix, kind)
    return scheme


def to_iob2(tags: Sequence[str], scheme: str = "auto") -> tuple[str, ...]:
    """Convert one tag sequence to IOB2."""
    if scheme == "auto":
        scheme = detect_scheme(tags)
    if scheme == "iob2":
        return tuple(tags)
    result = []
    previous = ("O", "")
    for tag in tags:
        prefix, kind = _split(tag)
        if prefix == "O":
            result.append("O")
        elif scheme == "iob1":
            starts = prefix == "B" or previous[1] != kind or previous[0] == "O"
            result.append(("B-" if starts else "I-") + kind)
        elif scheme == "bioes":
            result.append(("B-" if prefix in ("B", "S") else "I-") + kind)
        else:
            raise DataError(f"unknown tagging scheme {scheme!r}; use iob1, iob2, bioes or auto.")
        previous = (prefix, kind)
    return tuple(result)


def iob2_to_bioes(tags: Sequence[str]) -> tuple[str, ...]:
    """Convert IOB2 tags to BIOES (for models that prefer explicit span ends)."""
    result = []
    for i, tag in enumerate(tags):
        prefix, kind = _split(tag)
        following = _split(tags[i + 1]) if i + 1 < len(tags) else ("O", "")
        continues = following[0] == "I" and following[1] == kind
        if prefix == "O":
            result.append("O")
        elif prefix == "B":
            result.append(("B-" if continues else "S-") + kind)
        else:
            result.append(("I-" if continues else "E-") + kind)
    return tuple(result)


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """IOB2 tags to ``(type, start, end)`` token spans (end exclusive)."""
    spans: list[tuple[str, int, int]] = []
    current: list | None = None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        if current is not None and not (prefix == "I" and kind == current[0]):
            spans.append((current[0], current[1], i))
            current = None
        if prefix in ("B", "I") and current is None:
            current = [kind, i]
    return spans
