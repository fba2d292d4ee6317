"""Which action a message asks for: the intent model's intent when an action names it, else
the encoder's similarity to each action's intent descriptions and examples, so a business's
own actions work from their descriptions alone, without retraining."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from warmline.actions.spec import ActionsFile
from warmline.understanding.types import IntentPrediction

Embed = Callable[[list[str]], np.ndarray]
SIMILAR = 0.55  # cosine to an example or description that starts an action on its own
STRONG = 0.65  # enough to switch from an action in progress to another one
CLASSIFIER_CONFIDENT = 0.5
SWITCH_CONFIDENT = 0.75
PREFER_MARGIN = 0.03  # another action must beat the intent's action by this much
CORROBORATE = 0.34  # the intent model's action must also be this close in meaning
OTHER_INTENT_CONFIDENT = 0.9  # a confident intent no action names ...
SUGGEST = 0.45  # close enough to offer the action ("Would you like me to ...?")
OVERRIDE_OTHER = 0.8  # ... gives way only to a message this close to an action


_HOW_TO = re.compile(
    r"\bhow (do|can|would|should|does|to)\b|\bwhat('s| is| are) (the )?(process|steps|way|policy)\b"
    r"|\bwhere (do|can) i find\b|\bis it possible to\b|\bdo you (offer|have|allow)\b",
    re.I,
)


_CLAUSE = re.compile(r"(?<=[.!?;,])\s+|\s+(?:and|but|so)\s+", re.I)
MIN_CLAUSE_WORDS = 3


def clauses(text: str) -> list[str]:
    """The parts of a message worth comparing on their own (two or more of at least three
    words), or nothing for a short one."""
    parts = [p.strip() for p in _CLAUSE.split(text) if len(p.split()) >= MIN_CLAUSE_WORDS]
    return parts if len(parts) >= 2 else []


def asks_how(text: str) -> bool:
    """The customer asks how something works ("How do I reset my password?"): information,
    which the knowledge base answers, rather than a request to do it now."""
    return bool(_HOW_TO.search(text))


@dataclass(frozen=True)
class Recognised:
    """An action the message asks for, how sure, and why (for the decision's reasons)."""

    action: str
    score: float
    why: str

    @property
    def strong(self) -> bool:
        """Strong enough to leave an action in progress for this one."""
        return self.score >= STRONG


class ActionRecogniser:
    """Compares a message with every action's intents (embeddings computed once)."""

    def __init__(self, actions: ActionsFile, embed: Embed) -> None:
        self.by_intent = {i.name: a.name for a in actions.actions for i in a.intents}
        texts: list[str] = []
        owners: list[str] = []
        for action in actions.actions:
            for intent in action.intents:
                for text in (intent.description, *intent.examples):
                    texts.append(text)
                    owners.append(action.name)
        self.owners = np.array(owners)
        self.names = list(dict.fromkeys(owners))
        vectors = embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.where(norms == 0, 1, norms)

    def similarities(self, embedding: np.ndarray) -> dict[str, float]:
        """The best cosine of the message to each action's phrases."""
        norm = float(np.linalg.norm(embedding)) or 1.0
        scores = self.vectors @ (embedding / norm)
        return {name: float(scores[self.owners == name].max()) for name in self.names}

    def recognise(
        self,
        intent: IntentPrediction,
        embedding: np.ndarray | None,
        clauses: Sequence[np.ndarray] = (),
    ) -> Recognised | None:
        """The action this message asks for, or None. `clauses` are the embeddings of the
        parts of a long message ("the charger stopped working after two days, so frustrating!
        I want to send it back"): a request is often one clause among others."""
        similar = self.similarities(embedding) if embedding is not None else {}
        for clause in clauses:
            for name, score in self.similarities(clause).items():
                similar[name] = max(similar.get(name, 0.0), score)
        best = max(similar.items(), key=lambda item: item[1]) if similar else None
        named = self.by_intent.get(intent.intent) if not intent.out_of_scope else None
        if named is not None and similar and similar.get(named, 0.0) < CORROBORATE:
            named = None  # the intent model alone, on a message unlike the action's phrases
        if named is not None and intent.confidence >= CLASSIFIER_CONFIDENT:
            if (
                best
                and best[0] != named
                and best[1] >= SIMILAR + PREFER_MARGIN
                and best[1] >= similar.get(named, 0.0) + PREFER_MARGIN
            ):
                return Recognised(best[0], best[1], f"closest to {best[0]} ({best[1]:.2f})")
            score = max(intent.confidence, similar.get(named, 0.0))
            if intent.confidence >= SWITCH_CONFIDENT:
                score = max(score, STRONG)
            return Recognised(named, score, f"intent {intent.intent} ({intent.confidence:.2f})")
        enough = SIMILAR
        if (
            not intent.out_of_scope
            and intent.intent not in self.by_intent
            and intent.confidence >= OTHER_INTENT_CONFIDENT
        ):
            enough = OVERRIDE_OTHER  # "my payment failed" is not "explain a charge"
        if best and best[1] >= enough:
            return Recognised(best[0], best[1], f"closest to {best[0]} ({best[1]:.2f})")
        return None

    def propose(self, intent: IntentPrediction, embedding: np.ndarray | None) -> Recognised | None:
        """An action the message may mean, not clearly enough to start it: close in meaning
        (`SUGGEST`) and not a confident intent of its own ("my payment failed")."""
        if embedding is None:
            return None
        if not intent.out_of_scope and intent.confidence >= OTHER_INTENT_CONFIDENT:
            return None
        similar = self.similarities(embedding)
        name, score = max(similar.items(), key=lambda item: item[1])
        if score < SUGGEST:
            return None
        return Recognised(name, score, f"may mean {name} ({score:.2f})")
