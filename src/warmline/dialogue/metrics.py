"""Dialogue-state tracking metrics as DSTC8 defines them (google-research `schema_guided_dst`,
`metrics.py` and `evaluate.py`), computed per gold (user turn, service) frame.

For each slot of the service: set in gold and prediction, a categorical slot scores 1 if the
prediction equals the first gold value and a non-categorical one the best fuzzy score (token
sort ratio / 100) against any acceptable gold value; set on one side only 0; on neither 1.
Joint goal accuracy is the product over the service's slots; average goal accuracy the mean over
the slots set in gold (frames with none left out); active-intent accuracy an exact match
("NONE" a normal label); requested-slot F1 over the two lists (1.0 when both are empty). A
missing prediction is intent "NONE" with no slots. Each is reported for all services, the seen
ones (named in the training schema) and the unseen ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, utils

from warmline.dialogue.schema import Service

Key = tuple[str, int, str]  # dialogue id, turn index, service


@dataclass
class Totals:
    frames: int = 0
    joint: list[float] = field(default_factory=list)
    average: list[float] = field(default_factory=list)
    intent: list[float] = field(default_factory=list)
    requested: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "joint_goal_accuracy": _mean(self.joint),
            "average_goal_accuracy": _mean(self.average),
            "active_intent_accuracy": _mean(self.intent),
            "requested_slots_f1": _mean(self.requested),
            "frames": self.frames,
        }


def score(
    gold: Iterable[dict[str, Any]],
    predictions: Mapping[Key, dict[str, Any]],
    services: Mapping[str, Service],
    seen: frozenset[str],
) -> dict[str, dict[str, float | int]]:
    """Metrics over every user frame of the gold dialogues: {"all", "seen", "unseen"}."""
    totals = {"all": Totals(), "seen": Totals(), "unseen": Totals()}
    for dialogue in gold:
        for index, turn in enumerate(dialogue["turns"]):
            if turn.get("speaker") != "USER":
                continue
            for frame in turn.get("frames", []):
                name = frame["service"]
                predicted = predictions.get((dialogue["dialogue_id"], index, name), {})
                group = "seen" if name in seen else "unseen"
                _add(totals["all"], frame["state"], predicted, services[name])
                _add(totals[group], frame["state"], predicted, services[name])
    return {name: total.as_dict() for name, total in totals.items()}


def _add(total: Totals, gold: dict[str, Any], predicted: dict[str, Any], service: Service) -> None:
    total.frames += 1
    values = predicted.get("slot_values") or {}
    scores, active = slot_scores(gold.get("slot_values") or {}, values, service)
    if scores:
        product = 1.0
        for value in scores:
            product *= value
        total.joint.append(product)
    in_gold = [value for value, on in zip(scores, active, strict=True) if on]
    if in_gold:
        total.average.append(sum(in_gold) / len(in_gold))
    total.intent.append(float(gold.get("active_intent") == predicted.get("active_intent", "NONE")))
    total.requested.append(
        f1(gold.get("requested_slots") or [], predicted.get("requested_slots") or [])
    )


def slot_scores(
    gold: Mapping[str, list[str]], predicted: Mapping[str, str], service: Service
) -> tuple[list[float], list[bool]]:
    """Each schema slot's score, and whether gold sets it."""
    scores, active = [], []
    for slot in service.slots:
        in_gold, in_prediction = slot.name in gold, slot.name in predicted
        active.append(in_gold)
        if in_gold and in_prediction:
            hypothesis = str(predicted[slot.name])
            if slot.categorical:
                scores.append(float(hypothesis == gold[slot.name][0]))
            else:
                scores.append(max(_fuzzy(ref, hypothesis) for ref in gold[slot.name]))
        else:
            scores.append(float(in_gold == in_prediction))
    return scores, active


def _fuzzy(reference: str, hypothesis: str) -> float:
    """fuzzywuzzy's token sort ratio (lower case, punctuation dropped), as DSTC8 scores it."""
    return fuzz.token_sort_ratio(reference, hypothesis, processor=utils.default_process) / 100


def f1(reference: list[str], hypothesis: list[str]) -> float:
    """F1 of two lists of slot names (1.0 when both are empty)."""
    ref, hyp = Counter(reference), Counter(hypothesis)
    true_positive = sum((ref & hyp).values())
    precision = true_positive / sum(hyp.values()) if hyp else 1.0
    recall = true_positive / sum(ref.values()) if ref else 1.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")
