"""Typo repair for recognising which action a message asks for.

The encoder reads "i wnat to retrun my ordr" as unrelated word pieces, so a misspelt request
falls below every threshold. A word that is neither in the actions' own phrases nor a whole
word of the encoder's vocabulary is replaced by the phrase word nearest to it (one edit for a
short word, two for a longer one, same first letter), and only for recognising the action:
values are still read from what the customer wrote.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from rapidfuzz.distance import OSA

from warmline.actions.spec import ActionsFile

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
MIN_LENGTH = 4  # shorter words are too ambiguous to repair ("bil": bill? bit?)
LONG = 6  # from this length two edits are allowed


def phrase_words(actions: ActionsFile) -> set[str]:
    """Every word of the actions' descriptions, titles, examples and cues, lower-cased."""
    texts: list[str] = []
    for action in actions.actions:
        texts += [action.description, action.title or ""]
        for intent in action.intents:
            texts += [intent.description, *intent.examples, *intent.cues]
    return {word.lower() for text in texts for word in _WORD.findall(text)}


class Speller:
    """Repairs words it does not know against the words it was given."""

    def __init__(self, vocabulary: Iterable[str], known: Callable[[str], bool]) -> None:
        self.vocabulary = {word for word in vocabulary if len(word) >= MIN_LENGTH}
        self.by_initial: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.vocabulary):
            self.by_initial[word[0]].append(word)
        self.known = known

    def repair(self, text: str) -> str:
        """`text` with its unknown words replaced by their nearest phrase words."""
        return _WORD.sub(lambda found: self._word(found.group()), text.replace("\u2019", "'"))

    def _word(self, word: str) -> str:
        lowered = word.lower()
        if (
            len(lowered) < MIN_LENGTH
            or lowered in self.vocabulary
            or "'" in lowered  # "can't": the encoder reads it in pieces, correctly
            or self.known(lowered)
        ):
            return word
        allowed = 2 if len(lowered) >= LONG else 1
        best, distance = None, allowed + 1
        for candidate in self.by_initial.get(lowered[0], ()):
            found = OSA.distance(lowered, candidate, score_cutoff=allowed)
            if found < distance:
                best, distance = candidate, found
        return best if best is not None else word
