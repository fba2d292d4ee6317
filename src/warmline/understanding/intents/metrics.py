"""Evaluation metrics for intent classification with out-of-scope detection.

- `accuracy`: share of in-scope examples whose top intent is right (closed-set classification,
  the number BANKING77 papers report; rejections are measured separately below).
- `in_scope_accuracy` (Larson et al., 2019): share of in-scope examples accepted AND classified
  correctly (a rejection counts as wrong).
- `overall_accuracy`: share of all examples whose final label (`oos` when rejected) is right.
- `oos_recall`: share of `oos` examples rejected; `oos_precision`: share of rejections that were
  `oos`; `oos_auroc`: how well the out-of-scope score ranks `oos` above in-scope examples.
- `ece`: expected calibration error of the stated confidence of the top in-scope intent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.intents.data import OOS_LABEL


def evaluate(
    gold: Sequence[str],
    predicted: Sequence[str],
    confidence: Sequence[float],
    oos_score: Sequence[float],
    top_intent: Sequence[str] | None = None,
    bins: int = 10,
) -> dict[str, Any]:
    """All metrics as one JSON-ready dict.

    `predicted` is the final label (`oos` when rejected); `confidence` the stated probability
    that the best in-scope intent (`top_intent`, defaulting to `predicted`) is right;
    `oos_score` grows with the belief that the message is out of scope (for AUROC).
    """
    gold_a = np.array(gold, dtype=object)
    pred_a = np.array(predicted, dtype=object)
    top_a = np.array(top_intent if top_intent is not None else predicted, dtype=object)
    conf = np.asarray(confidence, dtype=np.float64)
    is_oos = gold_a == OOS_LABEL
    rejected = pred_a == OOS_LABEL
    labels = sorted(set(gold_a.tolist()) | set(pred_a.tolist()))
    per_intent = _per_intent(gold_a, pred_a, labels)
    in_scope_f1 = [v["f1"] for k, v in per_intent.items() if k != OOS_LABEL and v["support"] > 0]
    result: dict[str, Any] = {
        "examples": len(gold_a),
        "accuracy": _mean((top_a == gold_a)[~is_oos]),
        "in_scope_accuracy": _mean((pred_a == gold_a)[~is_oos]),
        "overall_accuracy": _mean(pred_a == gold_a),
        "macro_f1": float(np.mean(in_scope_f1)) if in_scope_f1 else 0.0,
        "oos_examples": int(is_oos.sum()),
        "oos_recall": _mean(rejected[is_oos]) if is_oos.any() else None,
        "oos_precision": _mean(is_oos[rejected]) if rejected.any() else None,
        "in_scope_rejection_rate": _mean(rejected[~is_oos]),
        "oos_auroc": auroc(is_oos, np.asarray(oos_score, dtype=np.float64))
        if is_oos.any()
        else None,
        "ece": expected_calibration_error(conf, top_a == gold_a, bins),
        "per_intent": per_intent,
        "worst_confusions": worst_confusions(gold_a, pred_a, 10),
    }
    return result


def auroc(positive: NDArray[np.bool_], score: NDArray[np.float64]) -> float | None:
    """Area under the ROC curve (rank statistic, ties averaged); None if one class is missing."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    ranks[order] = np.arange(1, len(score) + 1)
    # average ranks of ties
    unique, inverse, counts = np.unique(sorted_scores, return_inverse=True, return_counts=True)
    if len(unique) < len(score):
        sums = np.bincount(inverse, weights=np.arange(1, len(score) + 1))
        ranks[order] = (sums / counts)[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(
    confidence: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = 10
) -> float:
    """ECE with equal-width bins: sum over bins of |accuracy - mean confidence| x share."""
    if not len(confidence):
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            gap = abs(float(np.mean(correct[members])) - float(np.mean(confidence[members])))
            total += gap * members.mean()
    return float(total)


def reliability(
    confidence: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> list[dict[str, float]]:
    """Per-bin mean confidence, accuracy and count (for a reliability table)."""
    conf = np.asarray(confidence, dtype=np.float64)
    good = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        members = index == b
        if members.any():
            rows.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "confidence": float(conf[members].mean()),
                    "accuracy": float(good[members].mean()),
                    "count": int(members.sum()),
                }
            )
    return rows


def worst_confusions(
    gold: NDArray[Any], predicted: NDArray[Any], limit: int = 10
) -> list[dict[str, Any]]:
    """The most frequent (gold, predicted) mistakes."""
    pairs = Counter(
        (str(g), str(p)) for g, p in zip(gold.tolist(), predicted.tolist(), strict=True) if g != p
    )
    return [{"gold": g, "predicted": p, "count": n} for (g, p), n in pairs.most_common(limit)]


def _per_intent(gold: NDArray[Any], predicted: NDArray[Any], labels: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label in labels:
        tp = int(np.sum((gold == label) & (predicted == label)))
        fp = int(np.sum((gold != label) & (predicted == label)))
        fn = int(np.sum((gold == label) & (predicted != label)))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    return out


def _mean(values: NDArray[np.bool_]) -> float:
    return float(np.mean(values)) if len(values) else 0.0
