"""Evaluation of the emotion model on labelled files (`warmline eval emotion`).

Three formats are recognised (docs/emotion.md):

* GoEmotions TSV: no header; text, comma-separated label ids, optional comment id. The ids index
  the 28 GoEmotions labels, or Ekman's 7 when a `labels.txt` with 7 names sits next to the file
  (or `label_set="ekman"`). Scored as multi-label macro-F1 with the model's tuned thresholds.
* Plain CSV/TSV with a header holding `text` and a label column (`label`, `labels`, `emotion`,
  `category` or `upset`), with binary labels (upset/not_upset, negative/positive, 1/0...):
  scored as "frustration >= 0.5 means upset", with precision, recall and F1 of the upset class
  and VADER's score on the same rows for comparison.
* The same plain file with warmline emotion names (several per row separated by `,`, `;` or
  `|`; GoEmotions names are mapped): each emotion is predicted present when its score >= 0.5.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.emotion.labels import (
    EKMAN,
    GOEMOTIONS,
    LABEL_ALIASES,
    NOT_UPSET_LABELS,
    UPSET_LABELS,
    WARMLINE_MAPPING,
)

LABEL_COLUMNS = ("label", "labels", "emotion", "emotions", "category", "upset", "class")
_SPLIT = re.compile(r"[,;|]")


class EvalDataError(ValueError):
    """The file is not in a format `eval emotion` understands."""


@dataclass
class EvalSet:
    """Texts and gold labels of one evaluation file."""

    kind: str  # "go", "ekman", "binary" or "warmline"
    texts: list[str]
    labels: list[list[str]] = field(default_factory=list)
    names: tuple[str, ...] = ()


def load_eval_file(path: Path, label_set: str = "auto") -> EvalSet:
    """Read an evaluation file in any supported format; raise EvalDataError when unreadable."""
    if not path.is_file():
        raise EvalDataError(f"{path}: no such file")
    raw = path.read_text(encoding="utf-8", errors="replace")
    if not raw.strip():
        raise EvalDataError(f"{path}: empty file")
    first = raw.splitlines()[0]
    if path.suffix.lower() == ".tsv" and _looks_like_goemotions(first):
        return _load_goemotions(path, raw, label_set)
    return _load_plain(path, raw)


def _looks_like_goemotions(line: str) -> bool:
    parts = line.split("\t")
    return len(parts) in (2, 3) and re.fullmatch(r"\d+(?:,\d+)*", parts[1].strip()) is not None


def _load_goemotions(path: Path, raw: str, label_set: str) -> EvalSet:
    names: tuple[str, ...]
    if label_set == "auto":
        labels_file = path.parent / "labels.txt"
        listed = labels_file.read_text(encoding="utf-8").split() if labels_file.is_file() else []
        label_set = "ekman" if tuple(listed) == EKMAN else "go"
    names = EKMAN if label_set == "ekman" else GOEMOTIONS
    texts: list[str] = []
    labels: list[list[str]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            ids = [int(item) for item in parts[1].split(",")]
            labels.append([names[i] for i in ids])
        except (IndexError, ValueError):
            raise EvalDataError(f"{path}:{number}: expected text<TAB>label ids") from None
        texts.append(parts[0])
    return EvalSet(kind=label_set, texts=texts, labels=labels, names=names)


def _load_plain(path: Path, raw: str) -> EvalSet:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(raw), delimiter=delimiter)
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    if "text" not in columns:
        raise EvalDataError(f"{path}: needs a header with a 'text' column")
    label_column = next((columns[c] for c in LABEL_COLUMNS if c in columns), None)
    if label_column is None:
        raise EvalDataError(f"{path}: needs a label column ({', '.join(LABEL_COLUMNS)})")
    texts: list[str] = []
    labels: list[list[str]] = []
    for row in reader:
        text = row.get(columns["text"])
        value = row.get(label_column)
        if text is None or value is None or not value.strip():
            raise EvalDataError(f"{path}:{reader.line_num}: missing text or label")
        texts.append(text)
        labels.append([item.strip().lower() for item in _SPLIT.split(value) if item.strip()])
    if not texts:
        raise EvalDataError(f"{path}: no rows")
    flat = {label for row in labels for label in row}
    if flat <= UPSET_LABELS | NOT_UPSET_LABELS and all(len(row) == 1 for row in labels):
        binary = [["upset" if row[0] in UPSET_LABELS else "not_upset"] for row in labels]
        return EvalSet(kind="binary", texts=texts, labels=binary, names=("upset", "not_upset"))
    mapped = [[_warmline_name(label, path) for label in row] for row in labels]
    names = tuple(name for name in WARMLINE_MAPPING if any(name in row for row in mapped))
    return EvalSet(kind="warmline", texts=texts, labels=mapped, names=names)


def _warmline_name(label: str, path: Path) -> str:
    if label in WARMLINE_MAPPING:
        return label
    if label in LABEL_ALIASES:
        return LABEL_ALIASES[label]
    for name, sources in WARMLINE_MAPPING.items():
        if label in sources:
            return name
    known = ", ".join(WARMLINE_MAPPING)
    raise EvalDataError(f"{path}: unknown label {label!r} (warmline emotions: {known})")


def _prf(gold: NDArray[np.bool_], pred: NDArray[np.bool_]) -> dict[str, float]:
    tp = int(np.sum(gold & pred))
    fp = int(np.sum(~gold & pred))
    fn = int(np.sum(gold & ~pred))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": int(gold.sum()),
    }


def multilabel_report(
    names: Sequence[str], gold: NDArray[np.bool_], pred: NDArray[np.bool_]
) -> dict[str, Any]:
    """Macro-F1 and per-label precision/recall/F1 of a multi-label prediction."""
    per_label = {name: _prf(gold[:, j], pred[:, j]) for j, name in enumerate(names)}
    macro = float(np.mean([scores["f1"] for scores in per_label.values()])) if names else 0.0
    return {"macro_f1": round(macro, 4), "per_label": per_label}


def to_matrix(names: Sequence[str], labels: Sequence[Sequence[str]]) -> NDArray[np.bool_]:
    index = {name: j for j, name in enumerate(names)}
    out = np.zeros((len(labels), len(names)), dtype=bool)
    for row, items in enumerate(labels):
        for item in items:
            if item in index:
                out[row, index[item]] = True
    return out


def evaluate(
    data: EvalSet,
    model: Any,
    embed: Callable[[list[str]], NDArray[np.float32]],
    advance: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Score `model` (an EmotionModel) on `data`; `embed` encodes all texts in one call."""
    embeddings = embed(data.texts)
    gold = to_matrix(data.names, data.labels)
    result: dict[str, Any] = {"task": data.kind, "n": len(data.texts)}
    if data.kind in ("go", "ekman"):
        pred = model.predict_labels(data.texts, embeddings, label_set=data.kind)
        if advance is not None:
            for _ in data.texts:
                advance()
        result["labels"] = len(data.names)
        result.update(multilabel_report(data.names, gold, pred))
        return result
    readings = []
    for text, embedding in zip(data.texts, embeddings, strict=True):
        readings.append(model.read(text, embedding))
        if advance is not None:
            advance()
    if data.kind == "binary":
        return _binary_report(data, gold[:, 0], readings, result)
    pred = np.array(
        [[reading.emotions.get(name, 0.0) >= 0.5 for name in data.names] for reading in readings],
        dtype=bool,
    ).reshape(len(readings), len(data.names))
    result["labels"] = len(data.names)
    result.update(multilabel_report(data.names, gold, pred))
    return result


def _binary_report(
    data: EvalSet, gold: NDArray[np.bool_], readings: Sequence[Any], result: dict[str, Any]
) -> dict[str, Any]:
    from warmline.understanding.emotion.signals import plain_vader_compound

    scores = np.array([reading.frustration for reading in readings], dtype=np.float32)
    pred = scores >= 0.5
    vader = np.array([plain_vader_compound(text) <= -0.05 for text in data.texts], dtype=bool)
    upset = _prf(gold, pred)
    calm = _prf(~gold, ~pred)
    result.update(
        {
            "labels": 2,
            "accuracy": round(float(np.mean(gold == pred)), 4),
            "macro_f1": round((upset["f1"] + calm["f1"]) / 2, 4),
            "f1_upset": upset["f1"],
            "per_label": {"upset": upset, "not_upset": calm},
            "vader_baseline": {
                "f1_upset": _prf(gold, vader)["f1"],
                "recall_upset": _prf(gold, vader)["recall"],
            },
        }
    )
    return result
