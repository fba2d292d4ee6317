"""Services described as data, in the Schema-Guided Dialogue format: each service's slots (with
a description, and the allowed values of categorical ones) and intents (with their required and
optional slots). A tracker reads only these descriptions, so a service it never saw in training
works from its schema alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SchemaError(ValueError):
    """A schema file that cannot be used (the message names the file and the entry)."""


@dataclass(frozen=True)
class Slot:
    name: str
    description: str
    categorical: bool = False
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intent:
    name: str
    description: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    transactional: bool = False


@dataclass(frozen=True)
class Service:
    name: str
    description: str
    slots: tuple[Slot, ...]
    intents: tuple[Intent, ...]

    def slot(self, name: str) -> Slot | None:
        return next((slot for slot in self.slots if slot.name == name), None)

    def intent(self, name: str) -> Intent | None:
        return next((intent for intent in self.intents if intent.name == name), None)


def load_schema(path: Path) -> dict[str, Service]:
    """The services of a schema file (a JSON list of services), by name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SchemaError(f"{path}: cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SchemaError(f"{path}: not a JSON schema ({error})") from None
    if not isinstance(data, list):
        raise SchemaError(f"{path}: expected a JSON list of services")
    return parse_services(data, str(path))


def parse_services(data: list[Any], name: str) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for number, raw in enumerate(data, start=1):
        where = f"{name}: service {number}"
        if not isinstance(raw, dict) or not isinstance(raw.get("service_name"), str):
            raise SchemaError(f"{where}: needs a service_name")
        try:
            service = Service(
                name=raw["service_name"],
                description=str(raw.get("description", "")),
                slots=tuple(_slot(s) for s in raw.get("slots", [])),
                intents=tuple(_intent(i) for i in raw.get("intents", [])),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise SchemaError(f"{where} ({raw['service_name']}): malformed ({error!r})") from None
        services[service.name] = service
    return services


def _slot(raw: dict[str, Any]) -> Slot:
    return Slot(
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        categorical=bool(raw.get("is_categorical", False)),
        values=tuple(str(v) for v in raw.get("possible_values", [])),
    )


def _intent(raw: dict[str, Any]) -> Intent:
    return Intent(
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        required=tuple(str(s) for s in raw.get("required_slots", [])),
        optional=tuple(str(s) for s in dict(raw.get("optional_slots", {}))),
        transactional=bool(raw.get("is_transactional", False)),
    )
