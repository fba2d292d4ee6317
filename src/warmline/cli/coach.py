"""`warmline coach`: tips on agents' draft replies, as the console gives them while they type."""

from __future__ import annotations

from typing import Any

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import InputError, fail, progress_bar, read_jsonl, write_line


@app.command()
def coach(
    source: str = typer.Argument("-", help="JSONL file of drafts, or - for stdin."),
    knowledge: bool = typer.Option(
        True, "--knowledge/--no-knowledge", help="Suggest help-centre sections (the database's)."
    ),
) -> None:
    """In: {"id"?, "draft", "turns"?: [...], "customer"?: {"name"}} per line (`turns` as in
    `replay`). Out: {"id", "tone", "tips", "replies"} per line (see docs/cli.md)."""
    from warmline.handoff.coaching import Situation, coach, knowledge_replies, situation
    from warmline.replay import ReplayInputError, transcript_conversation
    from warmline.understanding.analyzer import DefaultAnalyzer

    try:
        records = read_jsonl(source)
        for line, record in enumerate(records, start=1):
            _check(record, f"{source}: record {line}")
    except InputError as error:
        raise fail(str(error)) from None
    analyzer = DefaultAnalyzer.load() if any(r.get("turns") for r in records) else None
    base = _knowledge_base() if knowledge else None
    with progress_bar(len(records), "coaching") as advance:
        for line, record in enumerate(records, start=1):
            where = Situation()
            if record.get("turns") and analyzer is not None:
                try:
                    conversation = transcript_conversation(analyzer, record)
                except ReplayInputError as error:
                    raise fail(f"{source}: record {line}: {error}") from None
                where = situation(conversation, _customer(record))
            replies = knowledge_replies(base, where.last_customer)
            result = coach(record["draft"], where, replies).as_dict()
            write_line({"id": record.get("id"), **result})
            advance()


def _check(record: dict[str, Any], where: str) -> None:
    if not isinstance(record.get("draft"), str):
        raise InputError(f'{where}: "draft" must be a string')
    customer = record.get("customer")
    if customer is not None and not isinstance(customer, dict):
        raise InputError(f'{where}: "customer" must be an object such as {{"name": "Ana"}}')


def _customer(record: dict[str, Any]) -> Any:
    from warmline.domain.customer import Customer

    name = (record.get("customer") or {}).get("name")
    return Customer(id="cli", name=str(name)) if name else None


def _knowledge_base() -> Any:
    from warmline.automation.knowledge.service import KnowledgeBase, sentence_embedder
    from warmline.cli.kb import _sessions

    embed = sentence_embedder()
    base = KnowledgeBase(readers=_sessions(), embed_query=lambda text: embed([text])[0])
    base.refresh(force=True)
    return base
