"""`warmline sla check`: record service level breaches (run it every minute, e.g. from cron)."""

from __future__ import annotations

import json

import typer

from warmline.cli.app import app

sla_app = typer.Typer(help="Service level targets of the human queue.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")


@sla_app.command("check")
def check(
    as_json: bool = typer.Option(False, "--json", help="Print the breaches as one JSON object."),
) -> None:
    """Append an `sla_breached` event to every handed-over conversation that missed its
    first-response or resolution target (policy `sla`), once per target and handoff."""
    from warmline.cli.writes import policy_and_transaction
    from warmline.handoff.sla import check_breaches

    with policy_and_transaction() as (policy, session):
        breaches = check_breaches(session, config=policy.config)
    rows = [
        {
            "conversation_id": b.conversation_id,
            "target": b.event.target,
            "target_seconds": b.event.target_seconds,
            "elapsed_seconds": b.event.elapsed_seconds,
        }
        for b in breaches
    ]
    if as_json:
        typer.echo(json.dumps({"breaches": rows}))
        return
    for row in rows:
        typer.echo(
            f"{row['conversation_id']}: {row['target']} target {row['target_seconds']} s missed "
            f"({row['elapsed_seconds']:.0f} s)"
        )
    typer.echo(f"{len(rows)} breach(es) recorded", err=True)
