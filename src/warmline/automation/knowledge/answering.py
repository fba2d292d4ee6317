"""Which knowledge-base answers are still worth giving in a conversation.

The search ranks sections for the customer's message; this keeps those close enough to the
best (`CLOSE`) that were not already quoted in the conversation, so the bot never says the same
thing twice and a customer who pushes back gets the next-best answer, or a person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from warmline.automation.knowledge.index import Hit, Ranking, SearchResult

CLOSE = 0.08  # a fused-score gap within which a lower hit is still a fair answer
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class KnowledgeAnswer:
    """The answers left to give, best first, and the chance that the first one answers."""

    candidates: tuple[Hit, ...]
    confidence: float
    best_already_sent: bool

    @property
    def first(self) -> Hit | None:
        return self.candidates[0] if self.candidates else None


def answers_left(result: SearchResult, sent: Iterable[str], ranking: Ranking) -> KnowledgeAnswer:
    """The hits close to the best that the conversation has not seen yet."""
    already = set(sent)
    if not result.hits:
        return KnowledgeAnswer((), 0.0, False)
    top = result.hits[0]
    close = [hit for hit in result.hits if hit.score >= top.score - CLOSE]
    fresh = tuple(h for h in close if h.entry.section.key not in already)[:MAX_CANDIDATES]
    best_sent = top.entry.section.key in already
    if not fresh:
        return KnowledgeAnswer((), 0.0, best_sent)
    if fresh[0] is top:
        confidence = result.confidence
    else:  # the next-best: its own score against whatever ranks after it
        position = result.hits.index(fresh[0])
        after = result.hits[position + 1].score if position + 1 < len(result.hits) else 0.0
        confidence = min(result.confidence, ranking.confidence(fresh[0].score, after))
    return KnowledgeAnswer(fresh, confidence, best_sent)
