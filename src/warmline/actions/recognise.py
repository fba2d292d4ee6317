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
CLEARLY_CLOSER = 0.10  # ... or by this much when it is only close enough to suggest
CORROBORATE = 0.34  # the intent model's action must also be this close in meaning ...
START_ON_INTENT = 0.42  # ... and this close to start at once; between the two it is proposed
OTHER_INTENT_CONFIDENT = 0.9  # a confident intent no action names ...
SUGGEST = 0.45  # close enough to offer the action ("Would you like me to ...?")
OVERRIDE_OTHER = 0.68  # ... gives way only to a message this close to an action
# Intents that frame a request rather than compete with one ("terrible service, I want to
# return this"): a confident one does not raise the bar for an action.
FRAMING_INTENTS = frozenset({"complaint", "greeting", "thanks"})
CUE_BONUS = 0.10  # how much closer a message holding one of an action's cues counts


_HOW_TO = re.compile(
    r"\bhow (do|can|would|should|does|to)\b|"
    r"\bwhat('s|s| is| are) (the |your )?([\w-]+ ){0,2}(process|steps|way|policy|policies)\b"
    r"|\bwhere (do|can) i find\b",
    re.I,
)
# Polite forms that are questions about the business when impersonal ("do you offer student
# discounts?") and requests about the customer's own things ("is it possible to move my
# appointment?", "do you have anything free on Friday?").
_POLITE = re.compile(r"\bis it possible to\b|\bdo you (offer|have|allow)\b", re.I)


_CLAUSE = re.compile(r"(?<=[.!?;,])\s+|\s+(?:and|but|so)\s+", re.I)
MIN_CLAUSE_WORDS = 4  # "all my data?" of "delete my account and all my data" asks for nothing


def clauses(text: str) -> list[str]:
    """The parts of a message worth comparing on their own (those of at least four words, in
    a message of two parts or more), or nothing for a message of one part."""
    pieces = [p.strip() for p in _CLAUSE.split(text) if p and p.strip()]
    if len(pieces) < 2:
        return []
    return [p for p in pieces if len(p.split()) >= MIN_CLAUSE_WORDS]


_QUESTION = re.compile(
    r"\?\s*$|^\W*(what|whats|when|where|which|who|how|why|do|does|is|are|can|could|will|would)\b",
    re.I,
)
_PERSONAL = re.compile(
    r"\b(i|i'?m|i'?ve|i'?d|i'?ll|me|my|mine|we|our|us|this|these)\b|\d|\b(today|tonight|"
    r"tomorrow|weekend|next week|(mon|tues|wednes|thurs|fri|satur|sun)day)\b",
    re.I,
)


def asks_how(text: str) -> bool:
    """The customer asks how something works ("How do I reset my password?") or asks about
    the business in general ("what are your opening hours?", "do you deliver to Ireland?"):
    information, which the knowledge base answers, rather than a request to do something now.
    A question about the customer's own things, a number or a day is a request."""
    if _HOW_TO.search(text):
        return True
    return about_the_business(text)


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
MIN_QUESTION_WORDS = 4


def sentences(text: str) -> list[str]:
    """The message's sentences (and lines)."""
    return [part.strip() for part in _SENTENCE.split(text) if part and part.strip()]


def side_questions(text: str) -> list[str]:
    """The sentences of a message of two or more that ask how something works ("Also, how do
    I change my email?" beside "Where is order 51877?"), each a question of four words or
    more ("That is not how to treat customers!" asks nothing)."""
    found = sentences(text)
    if len(found) < 2:
        return []
    return [
        s
        for s in found
        if len(s.split()) >= MIN_QUESTION_WORDS and _HOW_TO.search(s) and s.rstrip().endswith("?")
    ]


def about_the_business(text: str) -> bool:
    """A question that names nothing of the customer's ("what's your returns policy?", "do
    you offer student discounts?"): information even when it is about an action's subject."""
    return bool(_QUESTION.search(text) or _POLITE.search(text)) and not _PERSONAL.search(text)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: np.ndarray = vectors / np.where(norms == 0, 1, norms)
    return result


def _closest(
    vectors: np.ndarray, owners: np.ndarray, names: list[str], embedding: np.ndarray
) -> dict[str, float]:
    """The best cosine of `embedding` to each name's rows of `vectors` (unit rows)."""
    norm = float(np.linalg.norm(embedding)) or 1.0
    scores = vectors @ (embedding / norm)
    return {name: float(scores[owners == name].max()) for name in names}


def _cue_pattern(cues: Sequence[str]) -> re.Pattern[str]:
    """One case-insensitive pattern for whole-word cues; a space in a cue matches any run of
    spaces."""
    words = sorted({cue.strip().replace("\u2019", "'") for cue in cues}, key=len, reverse=True)
    alternatives = (r"\s+".join(re.escape(part) for part in cue.split()) for cue in words)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.I)


def _other_confident(intent: IntentPrediction, by_intent: dict[str, str]) -> bool:
    """A confident intent that no action names and that competes with a request ("my payment
    failed" is not "explain a charge"); framing intents such as a complaint do not."""
    return (
        not intent.out_of_scope
        and intent.intent not in by_intent
        and intent.intent not in FRAMING_INTENTS
        and intent.confidence >= OTHER_INTENT_CONFIDENT
    )


def _closer_than(best: tuple[str, float], named: str, similar: dict[str, float]) -> bool:
    """Whether another action is nearer in meaning than the intent model's one: an intent can
    cover several actions ("appointment" is booking and moving one), and the phrases tell
    them apart: "I can't make it on Wednesday, can we rearrange" is moving."""
    name, score = best
    if name == named:
        return False
    gap = score - similar.get(named, 0.0)
    return (score >= SIMILAR + PREFER_MARGIN and gap >= PREFER_MARGIN) or (
        score >= SUGGEST and gap >= CLEARLY_CLOSER
    )


@dataclass(frozen=True)
class Recognised:
    """An action the message asks for, how sure, and why (for the decision's reasons)."""

    action: str
    score: float
    why: str
    tentative: bool = False  # the intent model's action on a message little like its phrases
    close: float | None = None  # how close in meaning to the action's phrases (None: `score`)

    @property
    def closeness(self) -> float:
        return self.score if self.close is None else self.close

    @property
    def strong(self) -> bool:
        """Strong enough to leave an action in progress for this one."""
        return self.score >= STRONG and not self.tentative


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
        self.cues = {
            action.name: _cue_pattern([cue for intent in action.intents for cue in intent.cues])
            for action in actions.actions
            if any(intent.cues for intent in action.intents)
        }
        self.vectors = _unit(embed(texts) if texts else np.zeros((0, 1), dtype=np.float32))
        unlike = [(a.name, text) for a in actions.actions for i in a.intents for text in i.unlike]
        self.unlike_owners = np.array([name for name, _ in unlike])
        self.unlike_names = list(dict.fromkeys(name for name, _ in unlike))
        self.unlike_vectors = _unit(
            embed([text for _, text in unlike]) if unlike else np.zeros((0, 1), dtype=np.float32)
        )

    def similarities(self, embedding: np.ndarray) -> dict[str, float]:
        """The best cosine of the message to each action's phrases."""
        return _closest(self.vectors, self.owners, self.names, embedding)

    def without_ruled_out(
        self, similar: dict[str, float], embeddings: Sequence[np.ndarray]
    ) -> tuple[dict[str, float], set[str]]:
        """`similar` (before cues) with the actions ruled out set to 0, and those actions: the
        ones whose `not` phrases are at least as close to the message (or one of its clauses)
        as their own phrases are, and close enough to start an action on their own
        (`SIMILAR`), so that a vague message keeps the intent's action."""
        closest: dict[str, float] = {}
        for embedding in embeddings if self.unlike_names else ():
            found = _closest(self.unlike_vectors, self.unlike_owners, self.unlike_names, embedding)
            for name, best in found.items():
                closest[name] = max(closest.get(name, -1.0), best)
        out = {n for n, best in closest.items() if best >= SIMILAR and best >= similar.get(n, 0.0)}
        return {name: 0.0 if name in out else score for name, score in similar.items()}, out

    def cued(self, similar: dict[str, float], text: str) -> dict[str, float]:
        """`similar` with the actions whose cues the text holds counted `CUE_BONUS` closer."""
        if not text:
            return similar
        text = text.replace("\u2019", "'")
        return {
            name: min(1.0, score + CUE_BONUS)
            if name in self.cues and self.cues[name].search(text)
            else score
            for name, score in similar.items()
        }

    def recognise(
        self,
        intent: IntentPrediction,
        embedding: np.ndarray | None,
        clauses: Sequence[np.ndarray] = (),
        text: str = "",
    ) -> Recognised | None:
        """The action this message asks for, or None. `clauses` are the embeddings of the
        parts of a long message ("the charger stopped working after two days, so frustrating!
        I want to send it back"): a request is often one clause among others. `text` is the
        message, read for the actions' cues."""
        similar = self.similarities(embedding) if embedding is not None else {}
        for clause in clauses:
            for name, score in self.similarities(clause).items():
                similar[name] = max(similar.get(name, 0.0), score)
        seen = [e for e in (embedding, *clauses) if e is not None]
        raw, ruled_out = self.without_ruled_out(similar, seen)
        similar = self.cued(raw, text)
        best = max(similar.items(), key=lambda item: item[1]) if similar else None
        named = self.by_intent.get(intent.intent) if not intent.out_of_scope else None
        if named in ruled_out:
            named = None  # "I never received my refund": the intent's action, but not meant
        if named is not None and similar and similar.get(named, 0.0) < CORROBORATE:
            named = None  # the intent model alone, on a message unlike the action's phrases
        if named is not None and intent.confidence >= CLASSIFIER_CONFIDENT:
            if best and _closer_than(best, named, similar):
                return Recognised(best[0], best[1], f"closest to {best[0]} ({best[1]:.2f})")
            score = max(intent.confidence, similar.get(named, 0.0))
            if intent.confidence >= SWITCH_CONFIDENT:
                score = max(score, STRONG)
            tentative = similar.get(named, 1.0) < START_ON_INTENT
            why = f"intent {intent.intent} ({intent.confidence:.2f})"
            return Recognised(named, score, why, tentative=tentative, close=similar.get(named, 0.0))
        if _other_confident(intent, self.by_intent):
            # "my payment failed" is not "explain a charge", and a cue is no reason to think
            # so: only closeness in meaning overrides another confident intent.
            best = max(raw.items(), key=lambda item: item[1]) if raw else None
            if best and best[1] >= OVERRIDE_OTHER:
                return Recognised(best[0], best[1], f"closest to {best[0]} ({best[1]:.2f})")
            return None
        if best and best[1] >= SIMILAR:
            return Recognised(best[0], best[1], f"closest to {best[0]} ({best[1]:.2f})")
        return None

    def propose(
        self, intent: IntentPrediction, embedding: np.ndarray | None, text: str = ""
    ) -> Recognised | None:
        """An action the message may mean, not clearly enough to start it: close in meaning
        (`SUGGEST`) and not a confident intent of its own ("my payment failed")."""
        if embedding is None:
            return None
        if _other_confident(intent, self.by_intent):
            return None
        raw, _ = self.without_ruled_out(self.similarities(embedding), [embedding])
        similar = self.cued(raw, text)
        name, score = max(similar.items(), key=lambda item: item[1])
        if score < SUGGEST:
            return None
        return Recognised(name, score, f"may mean {name} ({score:.2f})")
