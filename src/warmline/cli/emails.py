"""`warmline email outbox|replay`: the email outbox (docs/email.md, "When the relay is down"):
what waits for the relay, what was given up, and sending dead letters again."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import fail

email_app = typer.Typer(
    help="The email outbox: pending and dead-lettered emails, replays.", no_args_is_help=True
)
app.add_typer(email_app, name="email")


@email_app.command("outbox")
def outbox_list(
    status: str | None = typer.Option(
        None, help="Only emails of this status: pending, sent or dead."
    ),
    limit: int = typer.Option(50, min=1, max=10_000, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List the email outbox, newest first, with how many emails are in each status."""
    from warmline.cli.kb import _sessions
    from warmline.storage import email_outbox as outbox

    if status is not None and status not in outbox.STATUSES:
        raise fail(f"--status must be one of {', '.join(outbox.STATUSES)}")
    sessions = _sessions()
    with sessions() as session:
        counts = outbox.counts(session)
        found = [
            _as_json(outbox.describe(row))
            for row in outbox.listing(session, status=status, limit=limit)
        ]
    if as_json:
        for item in found:
            typer.echo(json.dumps(item, ensure_ascii=False))
        return
    typer.echo(", ".join(f"{n} {name}" for name, n in counts.items()))
    for item in found:
        error = f"  {item['last_error']}" if item["last_error"] else ""
        typer.echo(
            f"{item['id']:>6}  {item['status']:<7} {item['attempts']:>3} attempt(s)  "
            f"{item['conversation_id']} event {item['seq']}  queued {item['created_at'][:19]}"
            f"{error}"
        )


@email_app.command("replay")
def outbox_replay(
    ids: list[int] = typer.Argument(None, help="Ids of dead emails (from `email outbox`)."),
    all_dead: bool = typer.Option(False, "--all", help="Every dead email."),
) -> None:
    """Send dead-lettered emails again: they are pending, due now, with a fresh retry window
    (a running server sends them)."""
    from datetime import UTC, datetime

    from warmline.cli.kb import _sessions
    from warmline.storage import email_outbox as outbox

    if bool(ids) == all_dead:
        raise fail("give the ids of dead emails, or --all")
    sessions = _sessions()
    with sessions() as session, session.begin():
        done = outbox.replay(session, ids=None if all_dead else ids, now=datetime.now(UTC))
    typer.echo(f"{done} email(s) queued again")


def _as_json(described: dict[str, Any]) -> dict[str, Any]:
    """Times as ISO 8601 text."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in described.items()}
