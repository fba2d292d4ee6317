"""Sensitive topics: bereavement, medical, fraud or security, legal threats, vulnerability.

The message is lower-cased and its spaces collapsed once; phrases then match as whole words (an
optional plural `s` included) and patterns as regular expressions on that text
(`understanding/lexicon/topics.py`). A match is ignored when one of the few words just before
it, in the same clause, negates it ("this is not a scam", "I'm not going to sue"): the negation
words are the rule pack's (`sensitive_topics.yaml`), the window the policy's `negation_words`.
Topics can also be marked by intents. The shipped topics' phrases and patterns are rules of the
pack too; a policy's `topics` replace them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from warmline.policy.config import SensitiveTopicConfig, TopicConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.triggers.base import Trigger
from warmline.understanding.lexicon import active
from warmline.understanding.lexicon.text import Cue
from warmline.understanding.lexicon.topics import Phrase, find, normalise

_EDGE_CHARS = 5000

__all__ = ["SensitiveTopic", "normalise"]


@dataclass(frozen=True)
class _Topic:
    name: str
    config: TopicConfig
    phrases: tuple[Phrase, ...]
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
        tuple(Phrase.of(p) for p in topic.phrases if p.strip()),
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
    _negation: Cue | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._topics = [_compile(name, topic) for name, topic in self.config.topics.items()]
        window = self.config.negation_words
        cue = active().cues["sensitive_topic.negation"]
        self._negation = cue.with_after(window - 1) if window > 0 else None

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
        return find(topic.phrases, topic.patterns, text, self._negation)
