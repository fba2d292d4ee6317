"""Dialogues in the compact Schema-Guided Dialogue format (one JSON object per line, optionally
gzip-compressed), and the view of them a tracker may read.

The view keeps every turn's utterance, the system turns' frames (what the system said and did:
a deployed assistant knows its own actions) and each user frame's service name. A user turn's
`state`, `actions` and `slots` are the answers, so they never reach the tracker."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DialogueError(ValueError):
    """Malformed dialogue input (the message names the file and the line)."""


@dataclass(frozen=True)
class SystemAct:
    act: str
    slot: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    """One turn as the tracker sees it."""

    index: int
    speaker: str  # "USER" or "SYSTEM"
    utterance: str
    services: tuple[str, ...]
    acts: dict[str, tuple[SystemAct, ...]] = field(default_factory=dict)  # system turns only


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[Turn, ...]


def read_dialogues(source: str) -> Iterator[tuple[Dialogue, dict[str, Any]]]:
    """Each dialogue's tracker view, with the raw record (for scoring only)."""
    for number, record in _records(source):
        yield tracker_view(record, f"{'<stdin>' if source == '-' else source}:{number}"), record


def tracker_view(record: dict[str, Any], where: str = "dialogue") -> Dialogue:
    """What a tracker may read of one dialogue."""
    turns_raw = record.get("turns")
    if not isinstance(record.get("dialogue_id"), str) or not isinstance(turns_raw, list):
        raise DialogueError(f'{where}: needs "dialogue_id" (text) and "turns" (a list)')
    turns = []
    for index, raw in enumerate(turns_raw):
        if not isinstance(raw, dict) or raw.get("speaker") not in ("USER", "SYSTEM"):
            raise DialogueError(f"{where}: turn {index}: needs speaker USER or SYSTEM")
        frames = raw.get("frames") or []
        if not isinstance(frames, list) or not all(
            isinstance(f, dict) and isinstance(f.get("service"), str) for f in frames
        ):
            raise DialogueError(f"{where}: turn {index}: frames need a service name")
        services = tuple(str(f["service"]) for f in frames)
        acts: dict[str, tuple[SystemAct, ...]] = {}
        if raw["speaker"] == "SYSTEM":
            acts = {str(f["service"]): _acts(f.get("actions") or []) for f in frames}
        turns.append(
            Turn(index, str(raw["speaker"]), str(raw.get("utterance") or ""), services, acts)
        )
    return Dialogue(str(record["dialogue_id"]), tuple(turns))


def _acts(raw: list[Any]) -> tuple[SystemAct, ...]:
    return tuple(
        SystemAct(
            str(a.get("act", "")), str(a.get("slot", "")), tuple(map(str, a.get("values") or []))
        )
        for a in raw
        if isinstance(a, dict)
    )


def _records(source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    name = _name(source)
    for number, line in enumerate(_lines(source), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise DialogueError(f"{name}:{number}: invalid JSON ({error.msg})") from None
        if not isinstance(value, dict):
            raise DialogueError(f"{name}:{number}: expected a JSON object")
        yield number, value


def _name(source: str) -> str:
    return "<stdin>" if source == "-" else source


def _lines(source: str) -> Iterator[str]:
    if source == "-":
        yield from sys.stdin
        return
    path = Path(source)
    if not path.is_file():
        raise DialogueError(f"{source}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            yield from handle
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise DialogueError(f"{source}: cannot be read ({error})") from None
