"""Words that customers use for a categorical slot's value without saying it: "a concert" is
the "Music" kind of event, "a small car" the "Compact" type, "the television" the "TV".

The table (`value_cues.json`) is counted on Schema-Guided Dialogue train only, by
`benchmarks/fit_value_cues.py`: a phrase is a cue for a value when, in the customer turns of
services that offer that value, the customer informed the value without saying it in at
least three quarters of the turns with the phrase (and at least 8 times). It is keyed by the
value's lower-cased text, so it helps any service whose slot offers the same value (a new
events service with "Music"), and nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

CUES_FILE = Path(__file__).with_name("value_cues.json")
MARGIN = 0.1  # how much more reliable the best value's cue must be than another value's

# Words too common to be a cue alone (a pair of them is not one either).
STOP_WORDS = frozenset({
    "i", "a", "an", "the", "to", "of", "in", "on", "at", "for", "and", "or", "is", "are", "be",
    "it", "me", "my", "we", "you", "your", "please", "want", "would", "like", "need", "can",
    "could", "some", "find", "get", "have", "has", "with", "that", "this", "there", "what",
    "about", "any", "from", "just", "also", "do", "does", "so", "book", "look", "looking", "one",
    "am", "will", "which", "not", "no",
})  # fmt: skip
_WORD = re.compile(r"[a-z][a-z'-]*")


def cue_grams(text: str) -> set[str]:
    """The words (three letters or more, stop words left out) and word pairs of `text`."""
    words = _WORD.findall(text.lower())
    grams = {w for w in words if w not in STOP_WORDS and len(w) > 2}
    grams |= {f"{a} {b}" for a, b in pairwise(words) if not {a, b} <= STOP_WORDS}
    return grams


@lru_cache(maxsize=1)
def value_cues() -> dict[str, dict[str, float]]:
    """value (lower-cased) -> {cue phrase: how often the phrase meant that value}."""
    raw = json.loads(CUES_FILE.read_text(encoding="utf-8"))
    return {value: dict(cues) for value, cues in raw["cues"].items()}


def cues_said(value: str, text: str) -> dict[str, float]:
    """The cue phrases of `value` that `text` contains, with how reliable each is."""
    cues = value_cues().get(value.lower(), {})
    return {gram: cues[gram] for gram in cue_grams(text) if gram in cues}


def cued_value(values: Sequence[str], text: str) -> str | None:
    """The value of `values` that a phrase of `text` stands for, when its best phrase is
    clearly more reliable (by MARGIN) than any phrase for another value; None when no phrase
    is a cue or two values' cues are about as reliable ("a concert and some games")."""
    scored = []
    for value in values:
        best = max(cues_said(value, text).values(), default=0.0)
        if best:
            scored.append((best, value))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] - scored[1][0] < MARGIN):
        return None
    return scored[0][1]
