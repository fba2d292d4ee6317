"""Sensitive topics: bereavement, medical, fraud or security, legal threats, vulnerability.

The message is lower-cased and its spaces collapsed once; phrases then match as whole words (an
optional plural `s` included) and patterns as regular expressions on that text. A match is
ignored when one of the few words just before it, in the same clause, negates it ("this is not
a scam", "I'm not going to sue"). Topics can also be marked by intents. Phrases are found with
a plain substring test before any regular expression runs: most messages mention no sensitive
topic, and a regex alternation over every phrase costs milliseconds on a long email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from warmline.policy.config import SensitiveTopicConfig, TopicConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.triggers.base import Trigger

_EDGE_CHARS = 5000
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "without",
        "nothing",
        "nor",
        "neither",
        "dont",
        "didnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "wont",
        "cant",
        "cannot",
        "hasnt",
        "havent",
        "doesnt",
    }
)
_CLAUSE = re.compile(r"[.!?;,:\n]")
_WORD = re.compile(r"[\w']+")


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: what phrases and patterns match."""
    return " ".join(text.translate(_QUOTES).lower().split())


@dataclass(frozen=True)
class _Phrase:
    """One phrase: a plain substring test first (fast), then the whole-word check."""

    text: str
    regex: re.Pattern[str]

    @classmethod
    def of(cls, phrase: str) -> _Phrase:
        text = normalise(phrase)
        plural = "s?" if text[-1:].isalpha() else ""
        return cls(text, re.compile(rf"{re.escape(text)}{plural}(?![\w'])"))

    def matches(self, text: str) -> list[re.Match[str]]:
        if self.text not in text:
            return []
        return [m for m in self.regex.finditer(text) if not _glued(text, m.start())]


def _glued(text: str, start: int) -> bool:
    """True when the match starts inside a word ("court" in "racquetcourt")."""
    return start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_'")


@dataclass(frozen=True)
class _Topic:
    name: str
    config: TopicConfig
    phrases: tuple[_Phrase, ...]
    patterns: tuple[re.Pattern[str], ...]
    intents: frozenset[str]


@dataclass(frozen=True)
class _Match:
    topic: _Topic
    evidence: str


def _compile(name: str, topic: TopicConfig) -> _Topic:
    return _Topic(
        name,
        topic,
        tuple(_Phrase.of(p) for p in topic.phrases if p.strip()),
        tuple(re.compile(p) for p in topic.patterns),
        frozenset(topic.intents),
    )


def _sample(text: str) -> str:
    if len(text) <= 2 * _EDGE_CHARS:
        return normalise(text)
    return normalise(f"{text[:_EDGE_CHARS]}\n{text[-_EDGE_CHARS:]}")


@dataclass
class SensitiveTopic(Trigger):
    """Fires for the most serious topic found; the reason lists every topic found."""

    config: SensitiveTopicConfig = field(default_factory=SensitiveTopicConfig)
    name: str = "sensitive_topic"
    _topics: list[_Topic] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._topics = [_compile(name, topic) for name, topic in self.config.topics.items()]

    def evaluate(self, context: PolicyContext) -> Reason | None:
        text = _sample(context.analysis.text)
        intent = context.analysis.intent
        matches: list[_Match] = []
        for topic in self._topics:
            evidence = self._find(topic, text)
            if evidence is None and not intent.out_of_scope and intent.intent in topic.intents:
                evidence = f"intent {intent.intent}"
            if evidence is not None:
                matches.append(_Match(topic, evidence))
        if not matches:
            return None
        matches.sort(key=lambda m: (m.topic.config.mode != "immediate", -m.topic.config.priority))
        top = matches[0].topic.config
        detail = "; ".join(f'sensitive topic {m.topic.name}: "{m.evidence}"' for m in matches)
        return Reason(
            trigger=self.name,
            detail=detail,
            mode=Mode(top.mode),
            priority=top.priority,
            route=top.route or self.config.route,
            numbers={"topics": float(len(matches))},
            condition=matches[0].topic.name,
            senior=top.senior or self.config.senior,
        )

    def _find(self, topic: _Topic, text: str) -> str | None:
        for phrase in topic.phrases:
            for match in phrase.matches(text):
                if not self._negated(text, match.start()):
                    return match.group(0).strip()[:60]
        for pattern in topic.patterns:
            for match in pattern.finditer(text):
                if not _glued(text, match.start()) and not self._negated(text, match.start()):
                    return match.group(0).strip()[:60]
        return None

    def _negated(self, text: str, start: int) -> bool:
        window = self.config.negation_words
        if window == 0:
            return False
        before = text[max(0, start - 200) : start]
        clause = _CLAUSE.split(before)[-1].lower()
        words = _WORD.findall(clause)[-window:]
        return any(w.endswith("n't") or w.replace("'", "") in _NEGATORS for w in words)
