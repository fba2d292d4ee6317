"""`warmline chat`: talk to the engine in the terminal and see every decision and its reasons."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from warmline.cli.app import app

if TYPE_CHECKING:
    from rich.console import Console

    from warmline.engine import Outcome


@app.command()
def chat(
    email: str | None = typer.Option(None, help="Chat as the customer with this email."),
) -> None:
    """A terminal conversation with the engine (stored like any other conversation).
    Type /quit or press Ctrl-D to leave."""
    from rich.console import Console

    from warmline.bootstrap import build_engine
    from warmline.channels.service import CustomerDetails, start_conversation
    from warmline.config import get_settings
    from warmline.engine import InboundMessage
    from warmline.storage.db import make_engine, make_session_factory
    from warmline.storage.migrate import upgrade

    console = Console()
    settings = get_settings()
    upgrade(settings.resolved_database_url)
    sessions = make_session_factory(
        make_engine(settings.resolved_database_url),
        keep_contact_details=settings.keep_contact_details,
    )
    engine = build_engine(settings, sessions)
    details = CustomerDetails(email=email) if email else None
    with sessions() as session, session.begin():
        conversation = start_conversation(session, channel="web", details=details)
    console.print(f"[dim]conversation {conversation.id} - /quit to leave[/dim]")
    interactive = sys.stdin.isatty()
    while True:
        try:
            text = console.input("[bold]you>[/bold] ") if interactive else input()
        except EOFError:
            break
        if text.strip() in {"/quit", "/exit"}:
            break
        if not text.strip():
            continue
        outcome = engine.handle(InboundMessage(conversation.id, text, channel="web"))
        _show(console, outcome)


def _show(console: Console, outcome: Outcome) -> None:
    analysis = outcome.analysis
    decision = outcome.decision
    if outcome.reply:
        console.print(f"[bold green]bot>[/bold green] {outcome.reply}")
    if decision is None or analysis is None:
        return
    intent = analysis.intent
    console.print(
        f"  [cyan]decision[/cyan] {decision.action.value}  "
        f"[cyan]intent[/cyan] {intent.intent} ({intent.confidence:.2f}"
        f"{', out of scope' if intent.out_of_scope else ''})  "
        f"[cyan]frustration[/cyan] {analysis.emotion.frustration:.2f}"
    )
    action = outcome.response.get("action")
    if action:
        asking = f", asking {', '.join(action['asking'])}" if action["asking"] else ""
        console.print(f"  [cyan]action[/cyan] {action['name']} ({action['status']}{asking})")
    if decision.escalates or decision.action.value == "offer_handoff":
        senior = ", senior agent" if decision.senior else ""
        console.print(
            f"  [cyan]priority[/cyan] {decision.priority:.2f}  "
            f"[cyan]route[/cyan] {decision.route or '-'}{senior}  [dim]{decision.policy}[/dim]"
        )
    for reason in decision.reasons:
        mode = "" if reason.mode.value == "immediate" else f" ({reason.mode.value})"
        console.print(f"  [yellow]reason[/yellow] {reason.trigger}{mode}: {reason.detail}")
