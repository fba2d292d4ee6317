"""`warmline analyze`: one JSON line in (`{"id"?, "text"}`), one analysis line out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import InputError, fail, progress_bar, read_jsonl, write_line

BATCH = 32


@app.command("analyze")
def analyze(
    source: str = typer.Argument("-", help="JSONL file with {id?, text} per line, or - for stdin."),
    model: Path | None = typer.Option(None, "--model", help="Intent model dir (default: shipped)."),
) -> None:
    """Understand each message on its own: intent, calibrated confidence, out of scope,
    frustration, urgency, distress, emotions, signals with evidence, entities."""
    from warmline.understanding.analyzer import DefaultAnalyzer
    from warmline.understanding.serialize import contract_record

    records = _read_messages(source)
    try:
        analyzer = DefaultAnalyzer.load(intent_model_dir=model)
    except (FileNotFoundError, ValueError, KeyError) as error:
        raise fail(f"cannot load intent model {model}: {error}") from None
    with progress_bar(len(records), "analyzing") as advance:
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            analyzer.encoder.encode([text for _, text in chunk])  # one batched forward pass
            for record_id, text in chunk:
                analysis, _ = analyzer.analyze(text, state={})
                write_line(contract_record(analysis, record_id))
                advance()


def _read_messages(source: str) -> list[tuple[Any, str]]:
    """(id, text) pairs; the id defaults to the line's position. Exit 2 if malformed."""
    try:
        records = read_jsonl(source)
        messages: list[tuple[Any, str]] = []
        for number, record in enumerate(records, start=1):
            text = record.get("text")
            if not isinstance(text, str):
                raise InputError(f"{source}: record {number}: 'text' must be a string")
            messages.append((record.get("id", number), text))
    except InputError as error:
        raise fail(str(error)) from None
    return messages
