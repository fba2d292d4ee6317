"""A compiled rule, and what it means for a rule to fire on a text (the same test the engine
applies and the `examples` / `not` lists are checked with)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from warmline.understanding.lexicon import topics
from warmline.understanding.lexicon.regexplan import SCAN, Plan
from warmline.understanding.lexicon.text import Cue, normalise, preceded

# Emotion rules read at most this many characters: enough for a long email, and it bounds the
# time spent on a pasted log or a 100,000-character message.
MAX_CHARS = 20_000
# The escape hatch reads this many characters at each end of a long message (requests sit at
# the start or the end), and an offer's answer its first `OFFER_HEAD_CHARS`.
EDGE_CHARS = 2000
OFFER_HEAD_CHARS = 200
_SENTENCE_END = re.compile(r"[.!?\n]")
_QUESTION_REACH = 120


@dataclass(frozen=True)
class Rule:
    """One rule of the pack, compiled. `pattern` is None for a phrase rule (sensitive topics),
    whose `phrases` match as whole words instead; `regex` is the expanded pattern text."""

    id: str
    concern: str
    signal: str
    use: str
    pattern: re.Pattern[str] | None
    regex: str
    phrases: tuple[str, ...]
    strength: float
    negatable: bool
    factual: bool
    examples: tuple[str, ...]
    not_examples: tuple[str, ...]
    source: str
    line: int | None
    plan: Plan = SCAN

    @property
    def where(self) -> str:
        """`file:line` of the rule, for messages."""
        return f"{self.source}:{self.line}" if self.line else self.source


def wished(text: str, start: int, end: int, wish: Cue) -> bool:
    """A wish before the match ("I need this fixed now", "that would be great"), or a
    question around it ("when will it be back up and running?")."""
    if preceded(text, start, wish):
        return True
    stop = _SENTENCE_END.search(text, end, end + _QUESTION_REACH)
    return stop is not None and stop.group(0) == "?"


def counted(rule: Rule, text: str, match: re.Match[str], cues: Mapping[str, Cue]) -> bool:
    """Whether an emotion rule's match counts: not negated when the rule is `negatable`, not
    a wish or a question when it is `factual`."""
    if rule.negatable and preceded(text, match.start(), cues["emotion.negation"]):
        return False
    return not (rule.factual and wished(text, match.start(), match.end(), cues["emotion.wish"]))


def escape_sample(text: str) -> str:
    """What the escape hatch reads: the whole message, or its two ends when it is long."""
    if len(text) <= 2 * EDGE_CHARS:
        return normalise(text)
    return normalise(f"{text[:EDGE_CHARS]}\n{text[-EDGE_CHARS:]}")


def offer_head(text: str) -> str:
    """What an answer to an offer is read from: its start."""
    return normalise(text, MAX_CHARS).strip()[:OFFER_HEAD_CHARS]


def fires(rule: Rule, text: str, cues: Mapping[str, Cue]) -> bool:
    """Whether `rule` fires on `text` as the engine reads it (for its examples)."""
    if rule.concern == "sensitive_topic":
        compiled = (rule.pattern,) if rule.pattern is not None else ()
        phrases = tuple(topics.Phrase.of(p) for p in rule.phrases if p.strip())
        found = topics.find(
            phrases, compiled, topics.normalise(text), cues["sensitive_topic.negation"]
        )
        return found is not None
    assert rule.pattern is not None
    if rule.concern == "escape_hatch":
        sample = escape_sample(text)
        negation = cues["escape_hatch.negation"]
        return any(not preceded(sample, m.start(), negation) for m in rule.pattern.finditer(sample))
    if rule.concern == "offer":
        return rule.pattern.search(offer_head(text)) is not None
    normalised = normalise(text, MAX_CHARS)
    if rule.use == "answer_start":
        return rule.pattern.match(normalised) is not None
    if rule.use in ("signal", "sarcasm_marker", "sarcastic_praise", "polite_regret"):
        return any(counted(rule, normalised, m, cues) for m in rule.pattern.finditer(normalised))
    return rule.pattern.search(normalised) is not None
