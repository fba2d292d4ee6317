"""Knowledge-base content as the rest of the engine sees it: a `Section` (a part of an article,
or one question-answer pair) with a stable key, and how keys are made."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SLUG = re.compile(r"[\W_]+")
SLUG_CHARS = 120  # keys stay well inside the database's column lengths (article 400, key 500)


def slug(text: str) -> str:
    """A stable id fragment: letters and digits of any script in lower case, every run of
    other characters a single dash. A long one is cut and given a hash of the whole, so two
    long titles that share a beginning stay apart."""
    made = _SLUG.sub("-", text.casefold()).strip("-")
    if not made:
        return "section"
    if len(made) > SLUG_CHARS:
        digest = hashlib.sha256(made.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        made = f"{made[: SLUG_CHARS - 9].rstrip('-')}-{digest}"
    return made


@dataclass(frozen=True)
class Section:
    """One answerable piece: a section of an article, or one question-answer pair."""

    key: str  # "<article>#<section>", unique within its source
    article: str
    title: str
    heading: str
    text: str
    url: str | None = None
    question: str | None = None  # for question-answer pairs
    position: int = 0

    @property
    def checksum(self) -> str:
        """What identifies this content (an unchanged section is not embedded again)."""
        parts = (self.title, self.heading, self.text, self.url or "", self.question or "")
        return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
