"""How sensitive-topic phrases and patterns match (the trigger and the rule pack's example
checks share it).

The message is lower-cased and its spaces collapsed once; phrases then match as whole words
(an optional plural `s` or possessive `'s` included) and patterns as regular expressions on
that text, each match starting at the start of a word. Phrases are found with a plain
substring test before any regular expression runs: most messages mention no sensitive topic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from warmline.understanding.lexicon.text import Cue, preceded
from warmline.understanding.lexicon.text import normalise as normalise_text

EVIDENCE_CHARS = 60


def normalise(text: str) -> str:
    """Normalised (`lexicon.text.normalise`), lower case, single spaces: what phrases and
    patterns match."""
    return " ".join(normalise_text(text).lower().split())


@dataclass(frozen=True)
class Phrase:
    """One phrase: a plain substring test first (fast), then the whole-word check."""

    text: str
    regex: re.Pattern[str]

    @classmethod
    def of(cls, phrase: str) -> Phrase:
        text = normalise(phrase)
        # a plural, a possessive ("my late father's account") or both ("my parents' house")
        ending = "(?:s'|'s|s)?" if text[-1:].isalpha() else ""
        return cls(text, re.compile(rf"{re.escape(text)}{ending}(?![\w'])"))

    def matches(self, text: str) -> list[re.Match[str]]:
        if self.text not in text:
            return []
        return [m for m in self.regex.finditer(text) if not glued(text, m.start())]


def glued(text: str, start: int) -> bool:
    """True when the match starts inside a word ("court" in "racquetcourt")."""
    return start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_'")


def find(
    phrases: Sequence[Phrase],
    patterns: Sequence[re.Pattern[str]],
    text: str,
    negation: Cue | None,
) -> str | None:
    """The first phrase, else the first pattern, found in the normalised `text` and not
    negated just before: its words (at most `EVIDENCE_CHARS`), or None."""
    for phrase in phrases:
        for match in phrase.matches(text):
            if negation is None or not preceded(text, match.start(), negation):
                return match.group(0).strip()[:EVIDENCE_CHARS]
    for pattern in patterns:
        for match in pattern.finditer(text):
            if glued(text, match.start()):
                continue
            if negation is None or not preceded(text, match.start(), negation):
                return match.group(0).strip()[:EVIDENCE_CHARS]
    return None
