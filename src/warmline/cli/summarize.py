"""`warmline summarize`: the handoff packet of each conversation, as if handed over now."""

from __future__ import annotations

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import progress_bar, read_conversations, write_line


@app.command()
def summarize(
    source: str = typer.Argument("-", help="JSONL file of conversations, or - for stdin."),
) -> None:
    """Print {"id", "summary", "packet"} per conversation (see docs/cli.md)."""
    from warmline.replay import summarize_conversation
    from warmline.understanding.analyzer import DefaultAnalyzer

    records = read_conversations(source)
    analyzer = DefaultAnalyzer.load()
    with progress_bar(len(records), "summarizing") as advance:
        for record in records:
            write_line(summarize_conversation(analyzer, record))
            advance()
