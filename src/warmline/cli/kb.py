"""`warmline kb import|search|list|remove` and `warmline eval kb`: the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from warmline.cli.app import app, eval_app
from warmline.cli.jsonl import InputError, fail, read_jsonl

kb_app = typer.Typer(help="The knowledge base the bot answers from.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


def _sessions() -> Any:
    from warmline.config import get_settings
    from warmline.storage.db import make_engine, make_session_factory
    from warmline.storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url)
    return make_session_factory(
        make_engine(settings.resolved_database_url),
        keep_contact_details=settings.keep_contact_details,
    )


@kb_app.command("import")
def kb_import(
    paths: list[Path] = typer.Argument(
        ..., help="Files or folders: .md, .html, .json (export), .csv, .jsonl."
    ),
) -> None:
    """Import help-centre articles and question-answer pairs. Each path is one source:
    importing it again updates what changed and removes what disappeared. Bad files and rows
    are reported (file and row) and skipped; the rest is imported."""
    from warmline.automation.knowledge.service import import_paths, sentence_embedder

    report = import_paths(_sessions(), paths, sentence_embedder())
    for change in report.changes:
        typer.echo(
            f"{change.source}: {change.added} added, {change.updated} updated, "
            f"{change.removed} removed, {change.unchanged} unchanged",
            err=True,
        )
    for problem in report.problems:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(f"{report.sections} sections in {report.seconds:.1f} s", err=True)
    if not report.changes:
        raise typer.Exit(code=2)


@kb_app.command("search")
def kb_search(
    query: str = typer.Argument(..., help="A customer's question."),
    limit: int = typer.Option(5, "--limit", min=1, max=50),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of lines."),
) -> None:
    """Ranked sections for a question, with their scores and the confidence that the first
    one answers it."""
    from warmline.automation.knowledge.service import load_index, sentence_embedder

    with _sessions()() as session:
        index = load_index(session)
    embedding = sentence_embedder()([query[:10_000]])[0]
    result = index.search(query[:10_000], embedding, k=limit)
    hits = [
        {
            "key": hit.entry.section.key,
            "title": hit.entry.section.title,
            "heading": hit.entry.section.heading,
            "source": hit.entry.source,
            "url": hit.entry.section.url,
            "score": round(hit.score, 4),
            "heading_similarity": round(hit.head, 4),
            "body_similarity": round(hit.body, 4),
            "lexical": round(hit.lexical, 4),
        }
        for hit in result.hits
    ]
    if as_json:
        typer.echo(json.dumps({"confidence": round(result.confidence, 4), "hits": hits}))
        return
    typer.echo(f"confidence {result.confidence:.2f} that the first answers it")
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"{rank}. {hit['score']:.3f}  {hit['key']}  ({hit['title']})")


@kb_app.command("list")
def kb_list() -> None:
    """Every source with its number of sections."""
    from warmline.storage.knowledge import list_sources

    with _sessions()() as session:
        for source in list_sources(session):
            typer.echo(
                f"{source.sections:6d}  {source.name}  ({source.imported_at:%Y-%m-%d %H:%M})"
            )


@kb_app.command("remove")
def kb_remove(source: str = typer.Argument(..., help="A source as `kb list` shows it.")) -> None:
    """Remove a source and its sections."""
    from warmline.storage.knowledge import remove_source

    sessions = _sessions()
    name = str(Path(source).resolve()) if Path(source).exists() else source
    with sessions() as session, session.begin():
        removed = remove_source(session, source=name) or remove_source(session, source=source)
    if not removed:
        raise fail(f"no source {source!r} (see `warmline kb list`)")
    typer.echo(f"removed {source}", err=True)


@eval_app.command("kb")
def eval_kb(
    faq: Path = typer.Option(..., "--faq", help='JSONL of {"id", "question", "answer"}.'),
    queries: Path = typer.Option(..., "--queries", help='JSONL of {"query", "answer_ids"}.'),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Retrieval quality on an FAQ: a throwaway index is built from `--faq` (nothing is
    stored); prints precision at 1, mean reciprocal rank and recall at 5."""
    from warmline.automation.knowledge.documents import read_jsonl_pairs
    from warmline.automation.knowledge.evaluation import Query, evaluate
    from warmline.automation.knowledge.index import Entry, KnowledgeIndex
    from warmline.automation.knowledge.service import sentence_embedder
    from warmline.domain.knowledge import slug

    if not faq.is_file():
        raise fail(f"{faq}: no such file")
    sections, problems = read_jsonl_pairs(
        faq.read_text(encoding="utf-8", errors="replace"), str(faq)
    )
    if problems:
        raise fail("\n".join(str(problem) for problem in problems[:20]))
    if not sections:
        raise fail(f"{faq}: no FAQ entries")
    try:
        records = read_jsonl(str(queries))
    except InputError as error:
        raise fail(str(error)) from None
    parsed = []
    for number, record in enumerate(records, start=1):
        text, ids = record.get("query"), record.get("answer_ids")
        if not isinstance(text, str) or not isinstance(ids, list):
            raise fail(f'{queries}:{number}: needs "query" (text) and "answer_ids" (a list)')
        parsed.append(Query(text, frozenset(slug(str(i)) for i in ids)))
    embed = sentence_embedder()
    index = KnowledgeIndex.build([Entry(str(faq), s) for s in sections], embed)
    scores, _ = evaluate(index, parsed, embed([q.text[:10_000] for q in parsed]))
    if as_json:
        typer.echo(json.dumps(scores.as_dict()))
        return
    typer.echo(
        f"P@1 {scores.p_at_1:.4f}  MRR {scores.mrr:.4f}  recall@5 {scores.recall_at_5:.4f}  "
        f"({scores.queries} queries)"
    )
