"""Reading a policy file: YAML -> validated `PolicyConfig`, or a `PolicyError` listing every
problem with its file, line, column and field.

Why compose before loading: `yaml.safe_load` forgets where each value came from. Composing the
document keeps the node marks, so a pydantic error location such as
`triggers.frustration.level.threshold` can be turned back into "policy.yaml, line 12".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from warmline.policy.config import PolicyConfig

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "default.yaml"
PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class PolicyIssue:
    """One problem in a policy file, located as precisely as the YAML allows."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.field or '(document)'}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as the reload endpoint returns it."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class PolicyError(ValueError):
    """The policy file is not valid; `issues` says where and why (all of them, not the first)."""

    def __init__(self, issues: list[PolicyIssue]) -> None:
        self.issues = sorted(issues, key=lambda issue: (issue.line is None, issue.line or 0))
        super().__init__("\n".join(str(issue) for issue in issues))


def load_config(path: Path | str) -> PolicyConfig:
    """Read and validate a policy file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(
            [PolicyIssue(str(path), None, None, "", f"cannot read: {error}")]
        ) from None
    return parse_config(text, str(path))


@lru_cache(maxsize=1)
def default_config() -> PolicyConfig:
    """The shipped default policy (read once)."""
    return load_config(DEFAULT_POLICY_FILE)


def parse_config(text: str, source: str = "<policy>") -> PolicyConfig:
    """Validate policy YAML text; `source` names it in errors."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) if root is not None else {}
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = f"invalid YAML: {error.problem or error.context}"
        raise PolicyError([PolicyIssue(source, line, column, "", message)]) from None
    except yaml.YAMLError as error:
        raise PolicyError([PolicyIssue(source, None, None, "", f"invalid YAML: {error}")]) from None
    marks: dict[PathKey, tuple[int, int]] = {}
    issues: list[PolicyIssue] = []
    if root is not None:
        _collect_marks(root, (), marks, issues, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError([PolicyIssue(source, 1, 1, "", "the policy must be a mapping of fields")])
    if issues:
        raise PolicyError(issues)
    try:
        config = PolicyConfig.model_validate(data)
    except ValidationError as error:
        raise PolicyError(
            [_issue(source, marks, tuple(e["loc"]), _message(e)) for e in error.errors()]
        ) from None
    problems = [_issue(source, marks, loc, message) for loc, message in semantic_problems(config)]
    if problems:
        raise PolicyError(problems)
    return config


def _collect_marks(
    node: yaml.Node,
    path: PathKey,
    marks: dict[PathKey, tuple[int, int]],
    issues: list[PolicyIssue],
    source: str,
) -> None:
    """Record where every key and list item starts; report duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            position = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if child in marks:
                issues.append(
                    PolicyIssue(source, *position, _dotted(child), f"duplicate key {key!r}")
                )
                continue
            marks[child] = position
            _collect_marks(value_node, child, marks, issues, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            marks[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _collect_marks(item, child, marks, issues, source)


def _issue(
    source: str, marks: dict[PathKey, tuple[int, int]], loc: PathKey, message: str
) -> PolicyIssue:
    """An issue at the deepest part of `loc` that appears in the file."""
    for end in range(len(loc), -1, -1):
        position = marks.get(loc[:end])
        if position is not None:
            return PolicyIssue(source, position[0], position[1], _dotted(loc), message)
    return PolicyIssue(source, None, None, _dotted(loc), message)


def _dotted(loc: PathKey) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


_TRIGGERS = (
    "escape_hatch, sensitive_topic, frustration, loop, low_confidence, action_failed, high_value"
)


def _message(error: Any) -> str:
    """A pydantic error in words a policy author understands."""
    loc = tuple(error["loc"])
    kind = str(error["type"])
    if kind == "extra_forbidden":
        if len(loc) == 2 and loc[0] == "triggers":
            return f"unknown trigger {loc[1]!r} (known triggers: {_TRIGGERS})"
        return f"unknown field {loc[-1]!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in {"less_than_equal", "greater_than_equal"} and error.get("input") is not None:
        message = f"{message} (got {error['input']!r})"
    return message


def semantic_problems(config: PolicyConfig) -> list[tuple[PathKey, str]]:
    """Rules that span fields: every team named exists, overflow has no cycle, patterns
    compile. Returned as (location, message) pairs."""
    problems: list[tuple[PathKey, str]] = []
    teams = set(config.teams)
    known = ", ".join(sorted(teams)) or "none"
    for loc, team in _team_references(config):
        if team not in teams:
            problems.append((loc, f"team {team!r} does not exist (teams: {known})"))
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
