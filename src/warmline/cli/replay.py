"""`warmline replay`: conversations (JSONL) through the engine, per-turn decisions out."""

from __future__ import annotations

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import progress_bar, read_conversations, write_line


@app.command()
def replay(
    source: str = typer.Argument("-", help="JSONL file of conversations, or - for stdin."),
) -> None:
    """Replay conversations: customer turns go through the engine in order; agent turns are
    context. Prints one JSON line per conversation (see docs/cli.md)."""
    from warmline.bootstrap import build_pipeline
    from warmline.config import get_settings
    from warmline.replay import replay_conversation

    records = read_conversations(source)
    pipeline = build_pipeline(get_settings())
    with progress_bar(len(records), "replaying") as advance:
        for record in records:
            result, _ = replay_conversation(pipeline, record)
            write_line(result)
            advance()
