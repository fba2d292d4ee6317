"""`warmline track` and `warmline eval track`: dialogue-state tracking on Schema-Guided Dialogue
style dialogues (docs/cli.md has the contract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from warmline.cli.app import app, eval_app
from warmline.cli.jsonl import fail, write_line

_SCHEMA = typer.Option(..., "--schema", help="The services' schema (SGD schema.json format).")


@app.command("track")
def track(
    source: str = typer.Argument("-", help="Dialogues as JSON lines (.gz too), or - for stdin."),
    schema: Path = _SCHEMA,
) -> None:
    """One line per user turn per service frame: the active intent, the requested slots and
    every slot's value so far. The tracker sees each dialogue only up to the turn it reports."""
    from warmline.dialogue.sgd import DialogueError, read_dialogues

    tracker = _tracker(schema)
    try:
        for dialogue, _raw in read_dialogues(source):
            _check_services(dialogue.turns, tracker.services, source, dialogue.id)
            for prediction in tracker.track(dialogue):
                write_line(prediction)
    except DialogueError as error:
        raise fail(str(error)) from None


@eval_app.command("track")
def eval_track(
    source: str = typer.Argument(..., help="Dialogues with their gold states (.jsonl or .gz)."),
    schema: Path = _SCHEMA,
    train_schema: Path | None = typer.Option(
        None, "--train-schema", help="The training schema: its services count as seen."
    ),
    limit: int = typer.Option(0, "--limit", min=0, help="Only the first N dialogues (0: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Joint goal accuracy, average goal accuracy, active-intent accuracy and requested-slot
    F1 (DSTC8 definitions), over all services and the seen and unseen ones."""
    from warmline.dialogue.metrics import score
    from warmline.dialogue.schema import SchemaError, load_schema
    from warmline.dialogue.sgd import DialogueError, read_dialogues

    tracker = _tracker(schema)
    try:
        seen = frozenset(load_schema(train_schema)) if train_schema else frozenset()
    except SchemaError as error:
        raise fail(str(error)) from None
    gold: list[dict[str, Any]] = []
    predictions: dict[tuple[str, int, str], dict[str, Any]] = {}
    try:
        for dialogue, raw in read_dialogues(source):
            _check_services(dialogue.turns, tracker.services, source, dialogue.id)
            gold.append(raw)
            for found in tracker.track(dialogue):
                predictions[(found["dialogue_id"], found["turn_index"], found["service"])] = found
            if limit and len(gold) >= limit:
                break
        results = score(gold, predictions, tracker.services, seen)
    except (DialogueError, KeyError, TypeError) as error:
        raise fail(f"{source}: {error}") from None
    if as_json:
        typer.echo(json.dumps(results))
        return
    for group, values in results.items():
        typer.echo(
            f"{group:7s} JGA {values['joint_goal_accuracy']:.4f}  "
            f"avg GA {values['average_goal_accuracy']:.4f}  "
            f"intent {values['active_intent_accuracy']:.4f}  "
            f"requested F1 {values['requested_slots_f1']:.4f}  ({values['frames']} frames)"
        )


def _tracker(schema: Path) -> Any:
    from warmline.dialogue.schema import SchemaError, load_schema
    from warmline.dialogue.tracker import SchemaTracker
    from warmline.understanding.encoder import get_encoder

    try:
        services = load_schema(schema)
    except SchemaError as error:
        raise fail(str(error)) from None
    encoder = get_encoder()
    return SchemaTracker(services, lambda texts: encoder.encode(list(texts)))


def _check_services(turns: Any, services: Any, source: str, dialogue_id: str) -> None:
    unknown = sorted({s for t in turns for s in t.services} - set(services))
    if unknown:
        raise fail(f"{source}: dialogue {dialogue_id}: service(s) not in the schema: {unknown}")
