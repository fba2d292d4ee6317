"""Answers by intent from a small YAML book (to be replaced by knowledge-base retrieval)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_ANSWERS = Path(__file__).resolve().parent / "answers.yaml"


class AnswerBookError(ValueError):
    """The answers file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class AnswerBook:
    """Replies per intent."""

    replies: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path = DEFAULT_ANSWERS) -> AnswerBook:
        """Read and validate an answers YAML file."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise AnswerBookError(f"{path}: invalid YAML: {error}") from None
        if not isinstance(data, dict):
            raise AnswerBookError(f"{path}: expected a mapping of intent -> list of replies")
        replies: dict[str, tuple[str, ...]] = {}
        for intent, texts in data.items():
            if isinstance(texts, str):
                texts = [texts]
            if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
                raise AnswerBookError(f"{path}: field {intent!r}: expected a list of replies")
            replies[str(intent)] = tuple(texts)
        return cls(replies)

    def reply_for(self, intent: str, turn: int = 0) -> str | None:
        """A reply for `intent`, rotating by turn so consecutive replies differ."""
        options = self.replies.get(intent)
        return options[turn % len(options)] if options else None
