"""Reading help-centre content into sections: Markdown and HTML articles (a folder, or a JSON
export), and question-answer pairs (CSV, JSONL). Pure: files in, `Section`s and problems out.

An article is split at its `##` (or `<h2>`) headings; the text before the first one is its
introduction. Each section keeps its article's title, source and URL, so an answer can quote
the section and name where it comes from. Everything becomes plain text: markup is never kept,
so nothing in an article can run where it is shown.

A bad file or row never stops an import: it becomes a `Problem` naming the file and the row,
and the good ones are read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from warmline.domain.knowledge import Section, slug

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_SECTION_CHARS = 20_000
ARTICLE_SUFFIXES = {".md", ".markdown", ".html", ".htm"}
PAIR_SUFFIXES = {".csv", ".jsonl"}
EXPORT_SUFFIXES = {".json"}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
_WEB_LINK = re.compile(r"https?://\S", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Problem:
    """Something that could not be read, and where."""

    file: str
    row: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row is not None else self.file
        return f"{where}: {self.message}"


@dataclass
class Reading:
    """What a set of files gave: sections by source, and problems."""

    sources: dict[str, list[Section]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    seen_keys: dict[str, set[str]] = field(default_factory=dict, repr=False)
    # Articles whose file could not be read this time, by source: what they held is kept.
    unread: dict[str, set[str]] = field(default_factory=dict)

    @property
    def sections(self) -> int:
        return sum(len(sections) for sections in self.sources.values())


def read_paths(paths: Iterable[Path]) -> Reading:
    """Read files and folders; each path given is one source, named by its absolute path (so
    importing it again replaces what it held). A folder's files are read recursively, and an
    article's id is its path in the folder ("billing/refunds.md" is `billing-refunds`)."""
    reading = Reading()
    for path in paths:
        source = str(path.resolve())
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _readable(p))
            if not files:
                reading.problems.append(Problem(str(path), None, "no readable files in it"))
            for file in files:
                stem = str(file.relative_to(path).with_suffix(""))
                _read_into(reading, file, source, stem)
        elif path.is_file():
            _read_into(reading, path, source, path.stem)
        else:
            reading.problems.append(Problem(str(path), None, "no such file or folder"))
    return reading


def _readable(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in ARTICLE_SUFFIXES | PAIR_SUFFIXES | EXPORT_SUFFIXES


def _read_into(reading: Reading, path: Path, source: str, stem: str) -> None:
    name = str(path)
    suffix = path.suffix.lower()
    if not _readable(path):
        reading.problems.append(Problem(name, None, f"unsupported file type {suffix or '(none)'}"))
        return
    found = len(reading.problems)
    _read_file(reading, path, source, stem)
    failed = len(reading.problems) > found and not any(
        s.article == slug(stem) for s in reading.sources.get(source, ())
    )
    if failed and suffix in ARTICLE_SUFFIXES:
        reading.unread.setdefault(source, set()).add(slug(stem))


def _read_file(reading: Reading, path: Path, source: str, stem: str) -> None:
    name = str(path)
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // (1024 * 1024)
            reading.problems.append(Problem(name, None, f"larger than {limit} MB ({size} bytes)"))
            return
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        reading.problems.append(
            Problem(name, None, f"not UTF-8 (byte {error.start}); save it as UTF-8")
        )
        return
    except OSError as error:
        reading.problems.append(Problem(name, None, f"cannot be read ({error.strerror})"))
        return
    if not text.strip():
        reading.problems.append(Problem(name, None, "the file is empty"))
        return
    try:
        sections, problems = read_text(text, name=name, suffix=suffix, stem=stem)
    except (ValueError, RecursionError, csv.Error) as error:  # a file no reader could parse
        reading.problems.append(Problem(name, None, f"cannot be read: {error}"[:300]))
        return
    reading.problems.extend(problems)
    sections = [_cleaned(section) for section in sections]
    held = reading.sources.setdefault(source, [])
    keys = reading.seen_keys.setdefault(source, set())
    for section in sections:
        if section.key in keys:
            reading.problems.append(Problem(name, None, f"duplicate id {section.key!r}; skipped"))
            continue
        keys.add(section.key)
        held.append(section)
    if not held:
        del reading.sources[source]


def _cleaned(section: Section) -> Section:
    """A section safe to store and show: no NUL, no lone surrogate (JSON escapes can carry
    both; PostgreSQL refuses them), and a link only if it is http(s)."""
    return replace(
        section,
        key=_printable(section.key),
        article=_printable(section.article),
        title=_printable(section.title),
        heading=_printable(section.heading),
        text=_printable(section.text),
        url=safe_url(_printable(section.url) if section.url else None),
        question=_printable(section.question) if section.question else section.question,
    )


def _printable(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8") if _SURROGATE.search(text) else text


def safe_url(url: str | None) -> str | None:
    """`url` if it is an http(s) link; a `javascript:` or `file:` link from an article is
    dropped, so no reply or console ever offers it."""
    return url if url is not None and _WEB_LINK.match(url.strip()) else None


def read_text(
    text: str, *, name: str, suffix: str, stem: str
) -> tuple[list[Section], list[Problem]]:
    """The sections of one file's text, by its kind."""
    if suffix in (".md", ".markdown"):
        return _one_article(markdown_article(text, stem), name)
    if suffix in (".html", ".htm"):
        return _one_article(html_article(text, stem), name)
    if suffix == ".csv":
        return read_csv_pairs(text, name)
    if suffix == ".jsonl":
        return read_jsonl_pairs(text, name)
    return read_export(text, name)


def _one_article(sections: list[Section], name: str) -> tuple[list[Section], list[Problem]]:
    if not sections:
        return [], [Problem(name, None, "the article has no text")]
    return sections, []


# --- articles ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _markdown_parser() -> Any:
    """One CommonMark parser, built once (building it costs more than parsing an article)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def markdown_article(text: str, stem: str) -> list[Section]:
    """Sections of a Markdown article (optional YAML front matter with `url` and `title`)."""
    meta: dict[str, Any] = {}
    found = _FRONT_MATTER.match(text)
    if found:
        try:
            loaded = yaml.safe_load(found.group(1))
            meta = loaded if isinstance(loaded, dict) else {}
        except (yaml.YAMLError, ValueError, TypeError):  # e.g. a date that does not exist
            meta = {}
        text = text[found.end() :]
    tokens = _markdown_parser().parse(text)
    title = str(meta.get("title") or "")
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and index + 1 < len(tokens):
            words = _inline_text(tokens[index + 1])
            if token.tag == "h1" and not title:
                title = words
            elif token.tag in ("h2", "h1"):
                blocks.append((words, []))
            else:  # deeper headings stay inside their section, as a line
                blocks[-1][1].append(words)
            index += 3
            continue
        if token.type == "inline":
            blocks[-1][1].append(_inline_text(token))
        elif token.type in ("fence", "code_block"):
            blocks[-1][1].append(token.content.strip())
        index += 1
    return _sections(stem, title or stem.replace("-", " ").title(), _url(meta), blocks)


def _inline_text(token: Any) -> str:
    """The words of an inline token: link and emphasis markup dropped, their text kept."""
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return _clean("".join(parts))


def html_article(text: str, stem: str) -> list[Section]:
    """Sections of an HTML article: split at `<h2>`, scripts and styles dropped, text only."""
    from bs4 import BeautifulSoup

    # lxml's parser closes what HTML leaves open (a <p> before the next heading), as browsers do.
    soup = BeautifulSoup(text, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "nav", "form"]):
        tag.decompose()
    url = None
    canonical = soup.find("link", rel="canonical")
    if canonical is not None and canonical.get("href"):
        url = str(canonical.get("href"))
    heading = soup.find("h1")
    title_tag = soup.find("title")
    title = ""
    if heading is not None:
        # Only the heading's own words: an unclosed <h1> may hold the rest of the article.
        own = heading.find(string=True, recursive=False)
        title = _clean(str(own)) if own else _clean(heading.get_text(" "))
        if own is not None:
            own.extract()
        heading.unwrap()
    if not title and title_tag is not None:
        title = _clean(title_tag.get_text(" "))
    if title_tag is not None:
        title_tag.decompose()
    body = soup.body or soup
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for element in body.find_all(["h2", "h3", "p", "li", "td", "pre", "blockquote", "dd", "dt"]):
        if element.find_parent(["li", "td", "blockquote", "pre", "dd"]) is not None:
            continue  # counted with its container
        words = _clean(element.get_text(" "))
        if not words:
            continue
        if element.name == "h2":
            blocks.append((words, []))
        else:
            blocks[-1][1].append(words)
    if all(not lines for _, lines in blocks):  # no block elements: take the text as it is
        blocks = [(None, [_clean(body.get_text(" "))])]
    return _sections(stem, title or stem.replace("-", " ").title(), url, blocks)


def _url(meta: dict[str, Any]) -> str | None:
    url = meta.get("url")
    return str(url) if isinstance(url, str) and url.strip() else None


def _sections(
    article: str, title: str, url: str | None, blocks: list[tuple[str | None, list[str]]]
) -> list[Section]:
    sections: list[Section] = []
    used: set[str] = set()
    headed = any(heading is not None and lines for heading, lines in blocks)
    for heading, lines in blocks:
        if heading is None and headed:
            continue  # an introduction answers nothing its sections do not: they are the units
        body = _BLANK_LINES.sub("\n\n", "\n".join(line for line in lines if line)).strip()
        if not body:
            continue
        heading = heading or title
        key = slug(heading) if heading != title else "introduction"
        unique, number = key, 2
        while unique in used:
            unique, number = f"{key}-{number}", number + 1
        used.add(unique)
        sections.append(
            Section(
                key=f"{slug(article)}#{unique}",
                article=slug(article),
                title=title,
                heading=heading,
                text=body[:MAX_SECTION_CHARS],
                url=url,
                position=len(sections),
            )
        )
    return sections


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace("\u00a0", " ")).strip()


# --- question-answer pairs and exports ---------------------------------------------------------


def _pair(
    record: dict[str, Any], name: str, row: int, seen: set[str]
) -> tuple[Section | None, Problem | None]:
    question = record.get("question")
    answer = record.get("answer")
    if not isinstance(question, str) or not question.strip():
        return None, Problem(name, row, "no question")
    if not isinstance(answer, str) or not answer.strip():
        return None, Problem(name, row, "no answer")
    raw_id = record.get("id")
    key = slug(str(raw_id)) if raw_id not in (None, "") else slug(question)[:80]
    if key in seen:
        return None, Problem(name, row, f"duplicate id {raw_id if raw_id else key!r}")
    seen.add(key)
    url = record.get("url")
    title = record.get("title")
    question = _clean(question)
    return (
        Section(
            key=f"{key}#answer",
            article=key,
            title=_clean(title) if isinstance(title, str) and title.strip() else question,
            heading=question,
            text=answer.strip()[:MAX_SECTION_CHARS],
            url=url if isinstance(url, str) and url.strip() else None,
            question=question,
        ),
        None,
    )


def read_csv_pairs(text: str, name: str) -> tuple[list[Section], list[Problem]]:
    """Question-answer pairs from a CSV with `question` and `answer` columns (and optional
    `id`, `title`, `url`); row numbers count the header as row 1."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or ()}
    missing = {"question", "answer"} - columns
    if missing:
        return [], [Problem(name, 1, f"missing column(s): {', '.join(sorted(missing))}")]
    rows = (
        (row, {str(k).strip().lower(): v for k, v in record.items() if k is not None})
        for row, record in enumerate(reader, start=2)
    )
    return _collect_pairs(rows, name)


def read_jsonl_pairs(text: str, name: str) -> tuple[list[Section], list[Problem]]:
    """Question-answer pairs from JSON lines `{"id"?, "question", "answer", "title"?, "url"?}`."""
    return _collect_pairs(_json_lines(text, name), name)


def _json_lines(text: str, name: str) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """Each non-blank line's object, or the problem with it, by line number."""
    # Lines end at "\n" only: JSON strings may hold U+2028 and friends, which splitlines() splits.
    for row, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield row, Problem(name, row, f"invalid JSON ({error.msg})")
            continue
        yield (
            row,
            record if isinstance(record, dict) else Problem(name, row, "expected a JSON object"),
        )


def _collect_pairs(
    rows: Iterable[tuple[int, dict[str, Any] | Problem]], name: str
) -> tuple[list[Section], list[Problem]]:
    """Sections from question-answer records, and the problems of the bad ones."""
    sections: list[Section] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for row, record in rows:
        if isinstance(record, Problem):
            problems.append(record)
            continue
        section, problem = _pair(record, name, row, seen)
        if section is not None:
            sections.append(section)
        if problem is not None:
            problems.append(problem)
    return sections, problems


def read_export(text: str, name: str) -> tuple[list[Section], list[Problem]]:
    """A help-centre export: `{"articles": [{"id"?, "title", "body" (HTML), "html_url"?}]}`
    (the shape Zendesk's Help Center API returns) or a bare list of such articles."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return [], [Problem(name, error.lineno, f"invalid JSON ({error.msg})")]
    articles = data.get("articles") if isinstance(data, dict) else data
    if not isinstance(articles, list):
        return [], [Problem(name, None, 'expected {"articles": [...]} or a list of articles')]
    sections: list[Section] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for row, article in enumerate(articles, start=1):
        if not isinstance(article, dict):
            problems.append(Problem(name, row, "an article must be an object"))
            continue
        title = article.get("title")
        body = article.get("body")
        if not isinstance(title, str) or not title.strip():
            problems.append(Problem(name, row, "article without a title"))
            continue
        if not isinstance(body, str) or not body.strip():
            problems.append(Problem(name, row, f"article {title!r} has no text"))
            continue
        stem = str(article.get("id") or slug(title))
        if slug(stem) in seen:
            problems.append(Problem(name, row, f"duplicate article id {stem!r}"))
            continue
        seen.add(slug(stem))
        url = article.get("html_url") or article.get("url")
        found = html_article(f"<h1>{_escape(title)}</h1>{body}", stem)
        sections.extend(
            Section(**{**s.__dict__, "url": url if isinstance(url, str) else s.url}) for s in found
        )
        if not found:
            problems.append(Problem(name, row, f"article {title!r} has no text"))
    return sections, problems


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def iter_sections(reading: Reading) -> Iterator[tuple[str, Section]]:
    """Every (source, section) read."""
    for source, sections in reading.sources.items():
        for section in sections:
            yield source, section
