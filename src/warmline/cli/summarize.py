"""`warmline summarize`: the handoff packet of each conversation, as if handed over now."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import fail, progress_bar, read_conversations, write_line

if TYPE_CHECKING:
    from warmline.handoff.llm import LlmClient


@app.command()
def summarize(
    source: str = typer.Argument("-", help="JSONL file of conversations, or - for stdin."),
    llm: bool = typer.Option(
        False,
        "--llm",
        help="Draft each summary and first line with the language model of WARMLINE_LLM_* "
        "(docs/llm.md); a failure keeps the offline summary and says so.",
    ),
) -> None:
    """Print {"id", "summary", "packet"} per conversation (see docs/cli.md)."""
    from warmline.replay import summarize_conversation
    from warmline.understanding.analyzer import DefaultAnalyzer

    client = _llm_client() if llm else None
    records = read_conversations(source)
    analyzer = DefaultAnalyzer.load()
    with progress_bar(len(records), "summarizing") as advance:
        for record in records:
            result = summarize_conversation(analyzer, record, llm=client)
            notice = result["packet"].get("llm_notice")
            if notice:
                typer.echo(f"warning: conversation {record.get('id')}: {notice}", err=True)
            write_line(result)
            advance()


def _llm_client() -> LlmClient:
    """The configured language model; exit 2 before reading anything when there is none."""
    from warmline.config import get_settings
    from warmline.handoff.llm import LlmClient

    client = LlmClient.from_settings(get_settings())
    if client is None:
        raise fail(
            "--llm needs a language model: set WARMLINE_LLM_BASE_URL and WARMLINE_LLM_MODEL "
            "(docs/llm.md)"
        )
    return client
