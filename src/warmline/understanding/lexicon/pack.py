"""The rule pack in force: the shipped rules, changed by a business's file when one is set.

`active()` is what every matcher reads. It is built on first use from the shipped files and the
file named by `WARMLINE_LEXICON_FILE`; `install(path)` validates another file and swaps it in
only when it is valid, so an invalid file leaves the running rules as they were.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from warmline.understanding.lexicon.matching import Index
from warmline.understanding.lexicon.rules import Rule
from warmline.understanding.lexicon.text import Cue


class Pack:
    """Validated rules by concern, in order, with the cues and word lists they use."""

    def __init__(
        self,
        rules: Mapping[str, Sequence[Rule]],
        cues: Mapping[str, Cue],
        lists: Mapping[str, frozenset[str]],
        sources: Sequence[str],
    ) -> None:
        self.rules: dict[str, tuple[Rule, ...]] = {c: tuple(r) for c, r in rules.items()}
        self.cues = dict(cues)
        self.lists = dict(lists)
        self.sources = tuple(sources)
        emotion = self.rules.get("emotion", ())
        self.emotion_index = Index(
            [rule.pattern for rule in emotion if rule.pattern is not None],
            [rule.plan for rule in emotion if rule.pattern is not None],
        )
        self.by_use: dict[str, tuple[int, ...]] = {}
        self.by_signal: dict[str, tuple[int, ...]] = {}
        for number, rule in enumerate(emotion):
            self.by_use[rule.use] = (*self.by_use.get(rule.use, ()), number)
            if rule.use == "signal":
                self.by_signal[rule.signal] = (*self.by_signal.get(rule.signal, ()), number)

    def of(self, concern: str, signal: str | None = None) -> tuple[Rule, ...]:
        """The rules of a concern (of one signal when given), in order."""
        return tuple(
            rule for rule in self.rules.get(concern, ()) if signal is None or rule.signal == signal
        )

    def emotion(self, use: str) -> tuple[Rule, ...]:
        """The emotion rules of one `use`, in order."""
        rules = self.rules.get("emotion", ())
        return tuple(rules[number] for number in self.by_use.get(use, ()))

    def topic_markers(self) -> dict[str, tuple[list[str], list[str]]]:
        """Each sensitive topic's phrases and patterns (the policy's default topics)."""
        markers: dict[str, tuple[list[str], list[str]]] = {}
        for rule in self.rules.get("sensitive_topic", ()):
            phrases, patterns = markers.setdefault(rule.signal, ([], []))
            if rule.pattern is None:
                phrases.extend(rule.phrases)
            else:
                patterns.append(rule.regex)
        return markers

    def __len__(self) -> int:
        return sum(len(rules) for rules in self.rules.values())


_lock = threading.Lock()
_active: Pack | None = None


def active() -> Pack:
    """The pack in force; on first use, the shipped rules and `WARMLINE_LEXICON_FILE`."""
    pack = _active
    if pack is not None:
        return pack
    from warmline.config import get_settings

    with _lock:
        if _active is None:
            _swap(_load(get_settings().lexicon_file))
        assert _active is not None
        return _active


def install(path: Path | str | None) -> Pack:
    """Validate the shipped rules with the business file at `path` (None: none) and put them
    in force. Raises `LexiconError` naming file, line and field, and then changes nothing."""
    pack = _load(Path(path) if path is not None else None)
    with _lock:
        _swap(pack)
    return pack


def _swap(pack: Pack) -> None:
    global _active
    _active = pack


def _load(path: Path | None) -> Pack:
    from warmline.understanding.lexicon.loader import load_pack, shipped_pack

    return shipped_pack() if path is None else load_pack(path)
