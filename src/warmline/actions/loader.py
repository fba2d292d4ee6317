"""Reading an actions file: YAML -> validated `ActionsFile`, or an `ActionsError` listing every
problem with its file, line, column and field (as the policy loader does)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2 import meta
from pydantic import ValidationError

from warmline.actions.phrasing import environment
from warmline.actions.spec import ActionsFile, ActionSpec
from warmline.yamlfile import (
    ConfigFileError,
    PathKey,
    default_message,
    parse_model,
    read_text,
)

DEFAULT_ACTIONS_FILE = Path(__file__).resolve().parent / "default.yaml"
BUILT_IN_CONNECTORS = frozenset({"demo"})
TEMPLATE_NAMES = frozenset({"result", "customer"})


class ActionsError(ConfigFileError):
    """The actions file is not valid; `issues` says where and why (all of them)."""


def load_actions(path: Path | str) -> ActionsFile:
    """Read and validate an actions file."""
    path = Path(path)
    return parse_actions(read_text(path, ActionsError), str(path))


@lru_cache(maxsize=1)
def default_actions() -> ActionsFile:
    """The shipped default pack (read once)."""
    return load_actions(DEFAULT_ACTIONS_FILE)


def parse_actions(text: str, source: str = "<actions>") -> ActionsFile:
    """Validate actions YAML text; `source` names it in errors."""
    return parse_model(
        text,
        source,
        ActionsFile,
        error=ActionsError,
        what="the actions file",
        semantic=semantic_problems,
    )


def semantic_problems(file: ActionsFile) -> list[tuple[PathKey, str]]:
    """Rules that span fields: unique names, every slot used is defined, templates compile,
    connectors exist and are valid."""
    problems = list(_connector_problems(file))
    seen_actions: set[str] = set()
    seen_intents: dict[str, int] = {}
    for index, action in enumerate(file.actions):
        at: PathKey = ("actions", index)
        if action.name in seen_actions:
            problems.append(((*at, "name"), f"duplicate action {action.name!r}"))
        seen_actions.add(action.name)
        for number, intent in enumerate(action.intents):
            owner = seen_intents.setdefault(intent.name, index)
            if owner != index:
                first = file.actions[owner].name
                problems.append(
                    (
                        (*at, "intents", number, "name"),
                        f"intent {intent.name!r} already starts {first!r}",
                    )
                )
        problems.extend(_action_problems(file, action, at))
    return problems


def _action_problems(
    file: ActionsFile, action: ActionSpec, at: PathKey
) -> Iterator[tuple[PathKey, str]]:
    names = [slot.name for slot in action.slots]
    defined = set(names)
    for number, name in enumerate(names):
        if names.index(name) != number:
            yield (*at, "slots", number, "name"), f"duplicate slot {name!r}"
    for param, name in action.call.params.items():
        if name not in defined:
            yield (*at, "call", "params", param), _undefined(name, defined)
    for field, connector in (
        ("call", action.call.connector),
        ("offer", action.offer and action.offer.connector),
    ):
        if connector and connector not in BUILT_IN_CONNECTORS | set(file.connectors):
            known = ", ".join(sorted(BUILT_IN_CONNECTORS | set(file.connectors)))
            yield (*at, field, "connector"), f"unknown connector {connector!r} (known: {known})"
    if action.offer is not None:
        for field, name in [
            ("slot", action.offer.slot),
            *(("needs", s) for s in action.offer.needs),
        ]:
            if name not in defined:
                yield (*at, "offer", field), _undefined(name, defined)
    for field in ("reply", "confirm"):
        template = getattr(action, field)
        if template is not None:
            for message in _template_problems(template, defined):
                yield (*at, field), message
    for number, slot in enumerate(action.slots):
        if slot.ask is not None:
            for message in _template_problems(slot.ask, defined):
                yield (*at, "slots", number, "ask"), message


def _template_problems(template: str, slots: set[str]) -> Iterator[str]:
    try:
        used = meta.find_undeclared_variables(environment().parse(template))
    except jinja2.TemplateSyntaxError as error:  # unknown filters too
        yield f"template error on its line {error.lineno}: {error.message}"
        return
    for name in sorted(used - TEMPLATE_NAMES):
        if name not in slots:
            yield f"slot {name!r} is used but not defined" + (
                f" (slots: {', '.join(sorted(slots))})" if slots else " (the action has no slots)"
            )


def _undefined(slot: str, defined: set[str]) -> str:
    known = ", ".join(sorted(defined)) or "none"
    return f"slot {slot!r} is used but not defined (slots: {known})"


def _connector_problems(file: ActionsFile) -> Iterator[tuple[PathKey, str]]:
    """Each HTTP connector validated by its own schema, located in this file."""
    if not file.connectors:
        return
    from warmline.actions.connectors.http import HttpConnectorConfig

    for name, raw in file.raw_connectors().items():
        if name in BUILT_IN_CONNECTORS:
            yield ("connectors", name), f"{name!r} is the built-in connector's name"
            continue
        try:
            HttpConnectorConfig.model_validate(raw)
        except ValidationError as error:
            for problem in error.errors():
                yield ("connectors", name, *problem["loc"]), default_message(problem)
