"""Names a policy refers to must exist: emotion signals, conversation signals and intents. A
typo ("anoyance", "ordr_status") is an error naming the closest known name, never a rule that
silently never fires."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator

from warmline.policy.config import PolicyConfig
from warmline.understanding.emotion.signals import SIGNAL_NAMES
from warmline.understanding.emotion.trajectory import CUE_WEIGHTS
from warmline.yamlfile import PathKey

MESSAGE_SIGNALS = frozenset(SIGNAL_NAMES)
CONVERSATION_SIGNALS = frozenset(CUE_WEIGHTS)


def unknown(kind: str, name: str, known: Collection[str]) -> str:
    """The message for a name that is not among `known`: the closest one, or the list."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"unknown {kind} {name!r}; did you mean {close[0]!r}?"
    return f"unknown {kind} {name!r} (known: {', '.join(sorted(known))})"


def name_problems(
    config: PolicyConfig, intents: Collection[str] | None = None
) -> list[tuple[PathKey, str]]:
    """Every signal (and, when `intents` is given, every intent) named but unknown."""
    problems = [
        (loc, unknown("signal", name, MESSAGE_SIGNALS))
        for loc, name in _message_signals(config)
        if name not in MESSAGE_SIGNALS
    ]
    problems += [
        (loc, unknown("conversation signal", name, CONVERSATION_SIGNALS))
        for loc, name in _conversation_signals(config)
        if name not in CONVERSATION_SIGNALS
    ]
    if intents is not None:
        known = frozenset(intents)
        problems += [
            (loc, unknown("intent", name, known))
            for loc, name in _intents(config)
            if name not in known
        ]
    return problems


def _message_signals(config: PolicyConfig) -> Iterator[tuple[PathKey, str]]:
    frustration = config.triggers.frustration
    for condition in type(frustration).model_fields:
        names = getattr(getattr(frustration, condition), "signals", None)
        for index, name in enumerate(names or ()):
            yield ("triggers", "frustration", condition, "signals", index), name


def _conversation_signals(config: PolicyConfig) -> Iterator[tuple[PathKey, str]]:
    for index, name in enumerate(config.triggers.loop.repetition.signals):
        yield ("triggers", "loop", "repetition", "signals", index), name


def _intents(config: PolicyConfig) -> Iterator[tuple[PathKey, str]]:
    for intent in config.routing.intents:
        yield ("routing", "intents", intent), intent
    for index, intent in enumerate(config.act_intents):
        yield ("act_intents", index), intent
    for index, intent in enumerate(config.triggers.loop.ignore_intents):
        yield ("triggers", "loop", "ignore_intents", index), intent
    for topic, settings in config.triggers.sensitive_topic.topics.items():
        for index, intent in enumerate(settings.intents):
            yield ("triggers", "sensitive_topic", "topics", topic, "intents", index), intent
