"""`warmline report`: the metrics of a period, from the event log (docs/analytics.md)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import fail


@app.command()
def report(
    since: str | None = typer.Option(None, "--since", help="Start (ISO date or time, UTC)."),
    until: str | None = typer.Option(None, "--until", help="End, excluded (ISO date or time)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    as_csv: bool = typer.Option(False, "--csv", help="Print metric,value rows."),
    charts: Path | None = typer.Option(
        None, "--charts", help="Also write the charts as PNG and SVG files into this folder."
    ),
) -> None:
    """Speed, automation and escalation quality, surveys, estimated satisfaction, churn
    signals, agent load and corrections for conversations started in [--since, --until)."""
    from warmline.analytics.metrics import period_report
    from warmline.cli.kb import _sessions

    start, end = _moment(since, "--since"), _moment(until, "--until")
    if start and end and start >= end:
        raise fail("--since must be before --until")
    if as_json and as_csv:
        raise fail("choose one of --json and --csv")
    with _sessions()() as session:
        found = period_report(session, since=start, until=end)
    data = found.as_dict()
    if charts is not None:
        from warmline.analytics.charts import write_charts

        try:
            written = write_charts(found.daily, charts)
        except OSError as error:
            raise fail(f"--charts {charts}: {error.strerror or error}") from None
        typer.echo(f"{len(written)} chart files written to {charts}", err=True)
    if as_json:
        typer.echo(json.dumps(data))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["metric", "value"])
        writer.writerows(_flat(data["numbers"]))
    else:
        _tables(data)


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"{option}: {value!r} is not an ISO date or time (2026-11-01)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flat(numbers: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in numbers.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flat(value, f"{name}.")
        else:
            rows.append((name, "" if value is None else value))
    return rows


def _tables(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    numbers = data["numbers"]
    period = data["period"]
    title = f"{numbers['conversations']} conversations, {period['since'] or 'start'} to " + (
        period["until"] or "now"
    )
    main = Table(title=title, show_header=True)
    main.add_column("metric")
    main.add_column("value", justify="right")
    for name, value in _flat(numbers):
        if name.startswith(("escalations_by_reason.", "agent_load.", "surveys.")):
            continue
        main.add_row(name, str(value) if value != "" else "-")
    console.print(main)
    for heading, key in (
        ("Escalations by reason", "escalations_by_reason"),
        ("Surveys (AI-only vs human-handled)", "surveys"),
        ("Agent load (upset conversations)", "agent_load"),
    ):
        rows = _flat(numbers[key])
        if not rows:
            continue
        table = Table(title=heading)
        table.add_column("")
        table.add_column("value", justify="right")
        for name, value in rows:
            table.add_row(name, str(value) if value != "" else "-")
        console.print(table)
