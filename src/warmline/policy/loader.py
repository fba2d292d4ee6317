"""Reading a policy file: YAML -> validated `PolicyConfig`, or a `PolicyError` listing every
problem with its file, line, column and field (`warmline.yamlfile` keeps the locations).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from warmline.policy.config import PolicyConfig
from warmline.policy.names import name_problems, unknown
from warmline.yamlfile import (
    ConfigFileError,
    ConfigIssue,
    PathKey,
    default_message,
    parse_model,
    read_text,
)

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "default.yaml"
PolicyIssue = ConfigIssue


class PolicyError(ConfigFileError):
    """The policy file is not valid; `issues` says where and why (all of them, not the first)."""


def load_config(path: Path | str, intents: Collection[str] | None = None) -> PolicyConfig:
    """Read and validate a policy file; with `intents` (what the intent model knows), every
    intent it names must be one of them."""
    path = Path(path)
    return parse_config(read_text(path, PolicyError), str(path), intents)


@lru_cache(maxsize=1)
def default_config() -> PolicyConfig:
    """The shipped default policy (read once)."""
    return load_config(DEFAULT_POLICY_FILE)


def parse_config(
    text: str, source: str = "<policy>", intents: Collection[str] | None = None
) -> PolicyConfig:
    """Validate policy YAML text; `source` names it in errors."""
    return parse_model(
        text,
        source,
        PolicyConfig,
        error=PolicyError,
        what="the policy",
        semantic=lambda config: semantic_problems(config) + name_problems(config, intents),
        message=_message,
    )


_TRIGGERS = (
    "escape_hatch, sensitive_topic, frustration, loop, low_confidence, action_failed, high_value"
)


def _message(error: Any) -> str:
    """A pydantic error in words a policy author understands."""
    loc = tuple(error["loc"])
    if str(error["type"]) == "extra_forbidden" and len(loc) == 2 and loc[0] == "triggers":
        return f"unknown trigger {loc[1]!r} (known triggers: {_TRIGGERS})"
    return default_message(error)


def semantic_problems(config: PolicyConfig) -> list[tuple[PathKey, str]]:
    """Rules that span fields: every team named exists, overflow has no cycle, patterns
    compile. Returned as (location, message) pairs."""
    problems: list[tuple[PathKey, str]] = []
    teams = set(config.teams)
    for loc, team in _team_references(config):
        if team not in teams:
            problems.append((loc, unknown("team", team, teams)))
    problems.extend(_overflow_cycles(config))
    for field in ("accept_patterns", "decline_patterns"):
        for index, pattern in enumerate(getattr(config.offers, field)):
            try:
                re.compile(pattern)
            except re.error as error:
                problems.append((("offers", field, index), f"not a valid regex: {error}"))
    return problems


def _team_references(config: PolicyConfig) -> Iterator[tuple[PathKey, str]]:
    yield ("routing", "default_team"), config.routing.default_team
    for intent, team in config.routing.intents.items():
        yield ("routing", "intents", intent), team
    for name in type(config.triggers).model_fields:
        trigger = getattr(config.triggers, name)
        if trigger.route is not None:
            yield ("triggers", name, "route"), trigger.route
    for topic, settings in config.triggers.sensitive_topic.topics.items():
        if settings.route is not None:
            yield ("triggers", "sensitive_topic", "topics", topic, "route"), settings.route
    for name, settings_ in config.teams.items():
        if settings_.overflow_to is not None:
            yield ("teams", name, "overflow_to"), settings_.overflow_to


def _overflow_cycles(config: PolicyConfig) -> list[tuple[PathKey, str]]:
    """Each overflow chain must end; a cycle is reported once, at its first team."""
    problems: list[tuple[PathKey, str]] = []
    reported: set[frozenset[str]] = set()
    for start in config.teams:
        chain = [start]
        current = config.teams[start].overflow_to
        while current is not None and current in config.teams:
            if current in chain:
                cycle = chain[chain.index(current) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    path = " -> ".join([*cycle, current])
                    problems.append((("teams", cycle[0], "overflow_to"), f"routing cycle: {path}"))
                break
            chain.append(current)
            current = config.teams[current].overflow_to
    return problems
