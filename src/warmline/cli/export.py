"""`warmline export conversations`: one CSV row per conversation, with its metrics."""

from __future__ import annotations

import sys

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import fail

export_app = typer.Typer(help="Exports for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("conversations")
def export_conversations(
    since: str | None = typer.Option(None, "--since", help="Start (ISO date or time, UTC)."),
    until: str | None = typer.Option(None, "--until", help="End, excluded (ISO date or time)."),
    personal: bool = typer.Option(
        False, "--personal", help="Keep personal data in the text columns (redacted otherwise)."
    ),
) -> None:
    """Conversations started in [--since, --until) as CSV on standard output."""
    from warmline.analytics.export import csv_lines
    from warmline.cli.kb import _sessions
    from warmline.cli.report import _moment
    from warmline.storage.conversations import conversations_between

    start, end = _moment(since, "--since"), _moment(until, "--until")
    if start and end and start >= end:
        raise fail("--since must be before --until")
    with _sessions()() as session:
        for line in csv_lines(
            conversations_between(session, since=start, until=end), personal=personal
        ):
            sys.stdout.write(line)
