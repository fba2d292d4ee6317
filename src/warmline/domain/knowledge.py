"""Knowledge-base content as the rest of the engine sees it: a `Section` (a part of an article,
or one question-answer pair) with a stable key, and how keys are made."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A stable id fragment: lower case, every run of other characters a single dash."""
    return _SLUG.sub("-", text.lower()).strip("-") or "section"


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
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
