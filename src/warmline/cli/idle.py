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
    from warmline.config import get_settings
    from warmline.policy.loader import PolicyError
    from warmline.policy.policy import load_policy
    from warmline.storage.db import make_engine, make_session_factory

    settings = get_settings()
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as error:
        typer.echo(f"error: invalid policy:\n{error}", err=True)
        raise typer.Exit(code=2) from None
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session, session.begin():
        closed = close_idle(session, config=policy.config.closing)
    engine.dispose()
    rows = [
        {"conversation_id": c.conversation_id, "disposition": c.event.disposition} for c in closed
    ]
    if as_json:
        typer.echo(json.dumps({"closed": rows}))
        return
    for row in rows:
        typer.echo(f"{row['conversation_id']}: {row['disposition']}")
    typer.echo(f"{len(rows)} conversation(s) closed", err=True)
