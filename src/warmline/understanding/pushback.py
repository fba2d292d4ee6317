"""Pushback: the customer says the last answer did not help ("I already tried that", "that
didn't help", "I told you"). The composer then tries the next-best answer or a person, and the
loop trigger counts it. The phrases live in `pushback.yaml`, checked against their examples
when loaded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from warmline.understanding.lexicon.text import normalise

PATTERNS_FILE = Path(__file__).resolve().parent / "pushback.yaml"


class PushbackPatternError(ValueError):
    """The patterns file is malformed (the message names the file and the pattern)."""


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]


@lru_cache(maxsize=1)
def patterns(path: Path = PATTERNS_FILE) -> tuple[Pattern, ...]:
    """The pushback patterns, each proven against its examples."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for number, item in enumerate(data.get("patterns") or [], start=1):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise PushbackPatternError(f"{path}: pattern {number}: needs a name")
        try:
            regex = re.compile(str(item["regex"]), re.IGNORECASE)
        except (KeyError, re.error) as error:
            raise PushbackPatternError(f"{path}: pattern {name}: bad regex ({error})") from None
        for example in item.get("examples") or []:
            if not regex.search(normalise(example)):
                raise PushbackPatternError(f"{path}: pattern {name}: misses {example!r}")
        found.append(Pattern(name, regex))
    return tuple(found)


def detect_pushback(text: str) -> str | None:
    """The words with which the customer pushes back, or None."""
    found = _first(text)
    return found[1].group(0) if found else None


def pushback_kind(text: str) -> str | None:
    """The name of the push-back pattern the text matches ("already_tried", "told_you"...),
    or None: what kind of push-back it is, for those who treat kinds differently."""
    found = _first(text)
    return found[0].name if found else None


def _first(text: str) -> tuple[Pattern, re.Match[str]] | None:
    normalised = normalise(text, 2000)
    for pattern in patterns():
        found = pattern.regex.search(normalised)
        if found:
            return pattern, found
    return None
