"""Knowledge-base administration over HTTP (admins only): list, import, remove, search.

An import names its source; importing the same name again replaces what it held (updated in
place, what disappeared removed), exactly like `warmline kb import` does for a path."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from starlette.concurrency import run_in_threadpool

from warmline.api.access import ADMIN_ONLY, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import KbImportIn, KbImportOut, KbSearchOut, KbSourceOut
from warmline.api.services import Services
from warmline.automation.knowledge.documents import (
    Problem as ReadProblem,
)
from warmline.automation.knowledge.documents import (
    Reading,
    html_article,
    markdown_article,
)
from warmline.automation.knowledge.service import import_reading, sentence_embedder
from warmline.domain.knowledge import Section, slug
from warmline.storage import knowledge as store
from warmline.storage.timestamps import as_utc

router = APIRouter(prefix="/api/v1/admin/kb", tags=["knowledge"], dependencies=[allow(ADMIN_ONLY)])
SourceName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,200}$")]


@router.get("/sources", response_model=list[KbSourceOut], responses=problems())
def list_sources(services: ServicesDep) -> list[KbSourceOut]:
    """Every source with its number of sections."""
    with services.reading() as session:
        found = store.list_sources(session)
    return [
        KbSourceOut(
            name=s.name, sections=s.sections, imported_at=as_utc(s.imported_at) or s.imported_at
        )
        for s in found
    ]


@router.post("/sources", response_model=KbImportOut, responses=problems())
async def import_source(body: KbImportIn, services: ServicesDep) -> KbImportOut:
    """Import articles (Markdown, HTML or plain text) and question-answer pairs as the source
    `name` ("api:<name>" in listings): the source then holds exactly these (an empty import
    empties it). Items that cannot be read are reported and skipped; when none can be read,
    nothing changes."""
    return await run_in_threadpool(_import, services, body)


def _import(services: Services, body: KbImportIn) -> KbImportOut:
    source = f"api:{body.name}"
    reading = Reading()
    sections: list[Section] = []
    seen: set[str] = set()
    for number, article in enumerate(body.articles, start=1):
        stem = article.id or slug(article.title)
        meta = f"---\nurl: {article.url}\n---\n" if article.url else ""
        if article.html is not None:
            found = html_article(f"<h1>{_escape(article.title)}</h1>{article.html}", stem)
            found = [_with_url(s, article.url) for s in found]
        else:
            found = markdown_article(f"{meta}# {article.title}\n\n{article.markdown or ''}", stem)
        if not found:
            reading.problems.append(ReadProblem(f"articles[{number}]", number, "no text"))
        for section in found:
            if section.key in seen:
                reading.problems.append(
                    ReadProblem(f"articles[{number}]", number, f"duplicate id {section.key!r}")
                )
                continue
            seen.add(section.key)
            sections.append(section)
    for number, pair in enumerate(body.pairs, start=1):
        key = slug(pair.id) if pair.id else slug(pair.question)[:80]
        if f"{key}#answer" in seen:
            reading.problems.append(
                ReadProblem(f"pairs[{number}]", number, f"duplicate id {key!r}")
            )
            continue
        seen.add(f"{key}#answer")
        sections.append(
            Section(
                key=f"{key}#answer",
                article=key,
                title=pair.title or pair.question,
                heading=pair.question,
                text=pair.answer,
                url=pair.url,
                question=pair.question,
            )
        )
    if not sections and reading.problems:  # all of it unreadable: change nothing
        problems = [str(problem) for problem in reading.problems]
        return KbImportOut(
            source=source, added=0, updated=0, removed=0, unchanged=0, problems=problems
        )
    reading.sources[source] = sections
    report = import_reading(services.sessions, reading, sentence_embedder())
    if services.engine.knowledge is not None:
        services.engine.knowledge.refresh(force=True)
    change = report.changes[0]
    return KbImportOut(
        source=source,
        added=change.added,
        updated=change.updated,
        removed=change.removed,
        unchanged=change.unchanged,
        problems=[str(problem) for problem in report.problems],
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _with_url(section: Section, url: str | None) -> Section:
    if url is None:
        return section
    return Section(**{**section.__dict__, "url": url})


@router.delete(
    "/sources/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def remove_source(name: SourceName, services: ServicesDep) -> Response:
    """Remove a source imported over this API ("api:<name>"); sources imported from files
    are removed with `warmline kb remove`."""
    with services.sessions() as session, session.begin():
        removed = store.remove_source(session, source=name)
    if not removed:
        raise Problem(404, f"No knowledge-base source {name}.")
    if services.engine.knowledge is not None:
        services.engine.knowledge.refresh(force=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/search", response_model=KbSearchOut, responses=problems())
def search(
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=10_000, description="A question.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> KbSearchOut:
    """Ranked sections for a question, as the bot would search, with their scores and the
    confidence that the first answers it."""
    knowledge = services.engine.knowledge
    if knowledge is None:
        return KbSearchOut(confidence=0.0, hits=[])
    result = knowledge.search(q, knowledge.embed_query(q), k=limit)
    hits: list[dict[str, Any]] = [
        {
            "key": hit.entry.section.key,
            "title": hit.entry.section.title,
            "heading": hit.entry.section.heading,
            "source": hit.entry.source,
            "url": hit.entry.section.url,
            "text": hit.entry.section.text,
            "score": round(hit.score, 4),
        }
        for hit in result.hits
    ]
    return KbSearchOut(confidence=round(result.confidence, 4), hits=hits)
