"""`warmline close-idle`: close the bot's quiet conversations (run it from cron when
`WARMLINE_IDLE_CHECK_SECONDS=0` switches the servers' own loop off)."""

from __future__ import annotations

import json

import typer

from warmline.cli.app import app


@app.command("close-idle")
def close_idle_command(
    as_json: bool = typer.Option(False, "--json", help="Print the closes as one JSON object."),
) -> None:
    """Close every conversation the bot holds that has been quiet for the policy's
    `closing.idle_minutes` (`closing.email_idle_minutes` on email), with how it ended."""
    from warmline.automation.idle import close_idle
    from warmline.cli.writes import policy_and_transaction

    with policy_and_transaction() as (policy, session):
        closed = close_idle(session, config=policy.config.closing)
    rows = [
        {"conversation_id": c.conversation_id, "disposition": c.event.disposition} for c in closed
    ]
    if as_json:
        typer.echo(json.dumps({"closed": rows}))
        return
    for row in rows:
        typer.echo(f"{row['conversation_id']}: {row['disposition']}")
    typer.echo(f"{len(rows)} conversation(s) closed", err=True)
