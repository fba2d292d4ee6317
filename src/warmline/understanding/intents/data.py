"""Load labelled intent examples from CSV or YAML, with errors that name the bad row.

CSV: a `text` column and a label column called `label`, `category` or `intent` (first found).
YAML: `intents: {name: {description: ..., examples: [...]}}` or the same mapping at top level.
The label `oos` marks out-of-scope examples.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

OOS_LABEL = "oos"
LABEL_COLUMNS = ("label", "category", "intent")


class IntentDataError(ValueError):
    """Training or test data that cannot be used; the message names the file and row."""


@dataclass
class Examples:
    """Parallel lists of texts and labels, plus warnings found while loading."""

    texts: list[str]
    labels: list[str]
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


def load_examples(path: Path | str) -> Examples:
    """Load a CSV or YAML file of examples (by extension)."""
    path = Path(path)
    if not path.is_file():
        raise IntentDataError(f"{path}: no such file")
    if path.suffix.lower() in {".yaml", ".yml"}:
        return load_yaml(path)
    return load_csv(path)


def load_csv(path: Path | str) -> Examples:
    """Read `text` + label columns; empty texts or labels are errors naming the row."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
        if "text" not in header:
            raise IntentDataError(f"{path}: missing column 'text' (found {header or 'no header'})")
        label_column = next((name for name in LABEL_COLUMNS if name in header), None)
        if label_column is None:
            raise IntentDataError(
                f"{path}: missing label column: expected one of {', '.join(LABEL_COLUMNS)} "
                f"(found {header})"
            )
        original = {name.strip().lower(): name for name in reader.fieldnames or []}
        texts: list[str] = []
        labels: list[str] = []
        for row_number, row in enumerate(reader, start=2):  # row 1 is the header
            text = (row.get(original["text"]) or "").strip()
            label = (row.get(original[label_column]) or "").strip()
            if not label:
                raise IntentDataError(f"{path}: row {row_number}: empty label (text {text[:60]!r})")
            if not text:
                raise IntentDataError(f"{path}: row {row_number}: empty text (label {label!r})")
            texts.append(text)
            labels.append(label)
    if not texts:
        raise IntentDataError(f"{path}: no examples")
    examples = Examples(texts, labels)
    examples.warnings.extend(_rare_label_warnings(path, labels, first_row=2))
    examples.warnings.extend(
        f"{path}: rows {', '.join(str(i + 2) for i in rows)}: the same text with different "
        f"labels ({', '.join(sorted({labels[i] for i in rows}))}); left out of training"
        for rows in conflicting_examples(texts, labels).values()
    )
    return examples


def load_yaml(path: Path | str) -> Examples:
    """Read an intent pack: each intent has `examples` (a list of strings)."""
    import yaml

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise IntentDataError(f"{path}: invalid YAML ({error})") from None
    intents: Any = document.get("intents", document) if isinstance(document, dict) else None
    if not isinstance(intents, dict) or not intents:
        raise IntentDataError(f"{path}: expected a mapping of intents to their examples")
    texts: list[str] = []
    labels: list[str] = []
    where: list[str] = []
    for name, spec in intents.items():
        examples = spec.get("examples") if isinstance(spec, dict) else spec
        if not isinstance(examples, list) or not examples:
            raise IntentDataError(f"{path}: intent {name!r}: no examples")
        if not str(name).strip():
            raise IntentDataError(f"{path}: an intent has an empty name")
        for number, example in enumerate(examples, start=1):
            if not isinstance(example, str) or not example.strip():
                raise IntentDataError(f"{path}: intent {name!r}: example {number} is empty")
            texts.append(example.strip())
            labels.append(str(name).strip())
            where.append(f"{name!r} example {number}")
    result = Examples(texts, labels)
    result.warnings.extend(
        f"{path}: {', '.join(where[i] for i in rows)}: the same text under different intents; "
        "left out of training"
        for rows in conflicting_examples(texts, labels).values()
    )
    counts = Counter(labels)
    result.warnings.extend(
        f"{path}: intent {name!r} has only {count} example(s)"
        for name, count in counts.items()
        if count < 2 and name != OOS_LABEL
    )
    return result


def load_pack_descriptions(path: Path | str) -> dict[str, str]:
    """The `description` of every intent in a YAML pack."""
    import yaml

    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    intents = document.get("intents", document)
    return {
        str(name): str(spec.get("description", ""))
        for name, spec in intents.items()
        if isinstance(spec, dict)
    }


def conflicting_examples(texts: list[str], labels: list[str]) -> dict[str, list[int]]:
    """Texts that occur with more than one label (compared as the model sees them: cleaned
    and lowercased), mapped to the 0-based positions of all their copies. Such examples teach
    nothing but noise, so training leaves every copy out and says which rows they were."""
    from warmline.understanding.encoder import clean_text

    positions: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        positions.setdefault(clean_text(text).lower(), []).append(index)
    return {
        key: rows
        for key, rows in positions.items()
        if len(rows) > 1 and len({labels[i] for i in rows}) > 1
    }


def _rare_label_warnings(path: Path, labels: list[str], first_row: int) -> list[str]:
    counts = Counter(labels)
    warnings = []
    for index, label in enumerate(labels):
        if counts[label] == 1 and label != OOS_LABEL:
            warnings.append(
                f"{path}: row {index + first_row}: label {label!r} has only this one example; "
                "its confidence cannot be calibrated and it is easily confused"
            )
    return warnings
