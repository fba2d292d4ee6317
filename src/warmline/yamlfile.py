"""Configuration files in YAML validated by pydantic, with every problem located by file, line,
column and field (the policy file and the actions file share it).

Why compose before loading: `yaml.safe_load` forgets where each value came from. Composing the
document keeps the node marks, so a pydantic error location such as
`triggers.frustration.level.threshold` can be turned back into "policy.yaml, line 12".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

PathKey = tuple[str | int, ...]
Marks = dict[PathKey, tuple[int, int]]
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration file, located as precisely as the YAML allows."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.field or '(document)'}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as the reload endpoints return it."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class ConfigFileError(ValueError):
    """A configuration file is not valid; `issues` says where and why (all of them)."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda issue: (issue.line is None, issue.line or 0))
        super().__init__("\n".join(str(issue) for issue in self.issues))


def read_text(path: Path, error: Callable[[list[ConfigIssue]], ConfigFileError]) -> str:
    """The file's text, or `error` naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise error([ConfigIssue(str(path), None, None, "", f"cannot read: {problem}")]) from None


def load_marked(
    text: str,
    source: str,
    error: Callable[[list[ConfigIssue]], ConfigFileError],
    what: str,
    *,
    fast: bool = False,
) -> tuple[dict[str, Any], Marks]:
    """The document as a mapping and where each key and list item starts. Invalid YAML,
    duplicate keys and a document that is not a mapping (`what` names it) raise `error`.
    `fast` parses once, with libyaml when it is installed (the rule pack's long files)."""
    try:
        if fast:
            loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            root = yaml.compose(text, Loader=loader)
            data = yaml.SafeLoader("").construct_document(root) if root is not None else {}
        else:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text) if root is not None else {}
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = f"invalid YAML: {problem.problem or problem.context}"
        raise error([ConfigIssue(source, line, column, "", message)]) from None
    except yaml.YAMLError as problem:
        raise error([ConfigIssue(source, None, None, "", f"invalid YAML: {problem}")]) from None
    marks: Marks = {}
    issues: list[ConfigIssue] = []
    if root is not None:
        _collect_marks(root, (), marks, issues, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error([ConfigIssue(source, 1, 1, "", f"{what} must be a mapping of fields")])
    if issues:
        raise error(issues)
    return data, marks


def validate(
    model: type[Model],
    data: dict[str, Any],
    source: str,
    marks: Marks,
    error: Callable[[list[ConfigIssue]], ConfigFileError],
    message: Callable[[Any], str],
) -> Model:
    """`data` validated as `model`; every pydantic error becomes a located issue in words
    (`message` turns one pydantic error into them)."""
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        raise error(
            [locate(source, marks, tuple(e["loc"]), message(e)) for e in problem.errors()]
        ) from None


def parse_model(
    text: str,
    source: str,
    model: type[Model],
    *,
    error: Callable[[list[ConfigIssue]], ConfigFileError],
    what: str,
    semantic: Callable[[Model], list[tuple[PathKey, str]]],
    message: Callable[[Any], str] | None = None,
) -> Model:
    """YAML text validated as `model`, then by `semantic` (rules that span fields, returned
    as (location, message) pairs); every problem located in `source`, raised as `error`."""
    data, marks = load_marked(text, source, error, what)
    parsed = validate(model, data, source, marks, error, message or default_message)
    problems = [locate(source, marks, loc, words) for loc, words in semantic(parsed)]
    if problems:
        raise error(problems)
    return parsed


def default_message(error: Any) -> str:
    """A pydantic error in words a configuration author understands."""
    kind = str(error["type"])
    if kind == "extra_forbidden":
        return f"unknown field {tuple(error['loc'])[-1]!r}"
    text = str(error["msg"]).removeprefix("Value error, ")
    if kind in {"less_than_equal", "greater_than_equal"} and error.get("input") is not None:
        text = f"{text} (got {error['input']!r})"
    return text


def locate(source: str, marks: Marks, loc: PathKey, message: str) -> ConfigIssue:
    """An issue at the deepest part of `loc` that appears in the file."""
    for end in range(len(loc), -1, -1):
        position = marks.get(loc[:end])
        if position is not None:
            return ConfigIssue(source, position[0], position[1], dotted(loc), message)
    return ConfigIssue(source, None, None, dotted(loc), message)


def dotted(loc: PathKey) -> str:
    """`("triggers", "loop", 0)` -> `triggers.loop[0]`."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _collect_marks(
    node: yaml.Node, path: PathKey, marks: Marks, issues: list[ConfigIssue], source: str
) -> None:
    """Record where every key and list item starts; report duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            position = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if child in marks:
                issues.append(
                    ConfigIssue(source, *position, dotted(child), f"duplicate key {key!r}")
                )
                continue
            marks[child] = position
            _collect_marks(value_node, child, marks, issues, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            marks[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _collect_marks(item, child, marks, issues, source)
