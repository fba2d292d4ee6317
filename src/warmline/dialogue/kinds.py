"""The kinds of thing customers ask for by name: music genres, sports, film genres, cuisines.

A free-text "kind" slot (a genre, a cuisine, an event's subcategory) is often answered with
the kind alone: "I like christian", "can you find something that's rock", "I love Hip Hop".
No head noun ("music", "food") marks it, so the tracker needs to know the words.

The table (`kind_words.json`) is counted on Schema-Guided Dialogue train only, by
`benchmarks/fit_kind_words.py`: for each free-text kind slot, the values customers informed in
their own words (at least twice), kept when at least half the customer turns of that service
that say the word inform it. A slot of another service (a new one included) reads the
vocabularies of the slots whose description is closest to its own (`sources_for`): a new
restaurant service's "category of food" reads the cuisines, a films service's "main genre"
the film genres, and not the music genres."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

KINDS_FILE = Path(__file__).with_name("kind_words.json")
CLOSEST = 0.6  # a slot this close (cosine of descriptions) to a counted one shares its words
WITHIN = 0.1  # ... and so do the counted slots as close as the closest one, less this


@dataclass(frozen=True)
class Vocabulary:
    """The kind words one counted slot's customers used, and how to describe that slot."""

    service: str
    slot: str
    description: str
    words: frozenset[str]

    @property
    def text(self) -> str:
        """What is embedded to compare it with another slot (the tracker's slot text)."""
        return f"what is the {self.slot.replace('_', ' ')}? {self.description}"


@lru_cache(maxsize=1)
def vocabularies() -> tuple[Vocabulary, ...]:
    """Every counted slot's vocabulary, from `kind_words.json`."""
    raw = json.loads(KINDS_FILE.read_text(encoding="utf-8"))
    return tuple(
        Vocabulary(entry["service"], entry["slot"], entry["description"], frozenset(entry["words"]))
        for entry in raw["vocabularies"]
    )


def sources_for(closeness: Sequence[float]) -> list[int]:
    """Which vocabularies a slot reads, given its closeness to each: the closest one if it is
    close enough, and any others about as close."""
    if not closeness:
        return []
    best = max(closeness)
    if best < CLOSEST:
        return []
    return [i for i, value in enumerate(closeness) if value >= best - WITHIN]


def words_for(slot_vector: np.ndarray, vectors: np.ndarray) -> frozenset[str]:
    """The kind words of the vocabularies close to a slot (its text's unit embedding against
    the vocabularies' embeddings, in `vocabularies()` order)."""
    if not len(vectors):
        return frozenset()
    closeness = [float(value) for value in vectors @ slot_vector]
    table = vocabularies()
    return frozenset().union(*(table[i].words for i in sources_for(closeness)))


def kind_said(words: frozenset[str], text: str) -> str | None:
    """The longest kind word said in `text` as a whole word or phrase, in the customer's own
    spelling ("American football" rather than "football")."""
    lowered = text.lower()
    best: tuple[int, int] | None = None
    for word in words:
        if word not in lowered:
            continue  # most words are not in the text: skip the regex
        for match in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered):
            if best is None or match.end() - match.start() > best[1] - best[0]:
                best = (match.start(), match.end())
    return text[best[0] : best[1]] if best else None
