"""Knowledge-base work that touches the database: importing sources (embedding only what is
new or changed, outside any transaction), listing and removing them, and building the search
index from what is stored. `KnowledgeBase` holds the index a process searches, and rebuilds it
when the stored version moves (another process imported or removed something)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from warmline.automation.knowledge.documents import Problem, Reading, read_paths
from warmline.automation.knowledge.index import (
    Embed,
    Entry,
    FloatArray,
    KnowledgeIndex,
    Learned,
    SearchResult,
    body_text,
    head_text,
)
from warmline.domain.knowledge import Section
from warmline.storage import knowledge as store
from warmline.storage.corrections import answer_corrections

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class ImportReport:
    """What an import did, per source, and what it could not read."""

    changes: tuple[store.Change, ...]
    problems: tuple[Problem, ...]
    seconds: float

    @property
    def sections(self) -> int:
        return sum(c.added + c.updated + c.unchanged for c in self.changes)


IMPORT_TOKENS_PER_BATCH = 1024  # measured: 5-10% faster than serving's batches on 2 threads


@lru_cache(maxsize=1)
def _sentence_encoder() -> Any:
    """Importing is a batch job, so it may use every core (serving keeps one thread per
    worker)."""
    from warmline.understanding.encoder import Encoder

    return Encoder(branch=None, threads=min(4, os.cpu_count() or 1))


def sentence_embedder() -> Embed:
    """Sentence embeddings for importing: the shared encoder's, without the emotion branch
    (the same vectors, a third faster; the branch only serves emotion)."""
    encoder = _sentence_encoder()
    return lambda texts: encoder.encode_uncached(list(texts), 64, IMPORT_TOKENS_PER_BATCH)


def embed_sections(sections: Sequence[Section], embed: Embed) -> dict[str, bytes]:
    """Both embeddings of each section, packed, by key."""
    if not sections:
        return {}
    heads = _embed_distinct([head_text(s) for s in sections], embed)
    bodies = _embed_distinct([body_text(s) for s in sections], embed)
    return {
        section.key: store.pack(head, body)
        for section, head, body in zip(sections, heads, bodies, strict=True)
    }


def _embed_distinct(texts: list[str], embed: Embed) -> FloatArray:
    """Embeddings of `texts`, each distinct text computed once (help centres repeat headings
    such as "Contact us" and boilerplate openings)."""
    distinct = list(dict.fromkeys(texts))
    vectors = embed(distinct)
    row = {text: number for number, text in enumerate(distinct)}
    return vectors[[row[text] for text in texts]]


def import_reading(sessions: sessionmaker[Session], reading: Reading, embed: Embed) -> ImportReport:
    """Store what was read, one source per transaction; embeddings are computed before each
    transaction opens, for new and changed sections only."""
    started = time.perf_counter()
    changes = []
    for source, sections in reading.sources.items():
        keep = frozenset(reading.unread.get(source, ()))
        changes.append(_import_source(sessions, source, sections, embed, keep))
    return ImportReport(tuple(changes), tuple(reading.problems), time.perf_counter() - started)


def _import_source(
    sessions: sessionmaker[Session],
    source: str,
    sections: list[Section],
    embed: Embed,
    keep: frozenset[str],
    attempts: int = 3,
) -> store.Change:
    """One source, embedded outside the write transaction. If another import of the same
    source changed it in between (a section's vector is missing, or both created the source),
    it is read and written again."""
    vectors: dict[str, bytes] = {}
    for attempt in range(attempts):
        with sessions() as session, session.begin():
            known = store.checksums(session, source=source)
        fresh = [s for s in sections if known.get(s.key) != s.checksum and s.key not in vectors]
        vectors.update(embed_sections(fresh, embed))
        try:
            with sessions() as session, session.begin():
                return store.replace_source(
                    session, source=source, sections=sections, vectors=vectors, keep_articles=keep
                )
        except (IntegrityError, KeyError):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def import_paths(
    sessions: sessionmaker[Session], paths: Iterable[Path], embed: Embed
) -> ImportReport:
    """Import files and folders (see `documents.read_paths`)."""
    return import_reading(sessions, read_paths(paths), embed)


def load_index(
    session: Session, embed_query: Callable[[str], np.ndarray | None] | None = None
) -> KnowledgeIndex:
    """The search index over everything stored (embeddings come from the database), with the
    agents' corrections of wrong answers when `embed_query` can embed their questions."""
    version = store.version(session)  # first: a later import then shows as a newer version
    stored = store.all_sections(session)
    if not stored:
        return KnowledgeIndex(version=str(version))
    return KnowledgeIndex(
        entries=tuple(Entry(found.source, found.section) for found in stored),
        heads=np.vstack([found.head for found in stored]).astype(np.float32),
        bodies=np.vstack([found.body for found in stored]).astype(np.float32),
        version=str(version),
        learned=_learned(session, embed_query) if embed_query else None,
    )


def _learned(session: Session, embed_query: Callable[[str], np.ndarray | None]) -> Learned | None:
    """The flagged answers whose questions can be embedded."""
    found = [c for c in answer_corrections(session) if c.question.strip()]
    vectors = [embed_query(c.question) for c in found]
    kept = [(c, v) for c, v in zip(found, vectors, strict=True) if v is not None]
    if not kept:
        return None
    return Learned(
        vectors=np.vstack([np.asarray(v, dtype=np.float32).reshape(1, -1) for _, v in kept]),
        wrong=tuple(c.wrong for c, _ in kept),
        right=tuple(c.right for c, _ in kept),
    )


@dataclass
class KnowledgeBase:
    """The index this process searches, rebuilt when the stored knowledge base changes (seen
    at most every `REFRESH_SECONDS`, or at once when told)."""

    index: KnowledgeIndex = field(default_factory=KnowledgeIndex)
    readers: sessionmaker[Session] | None = None
    embed_query: Callable[[str], np.ndarray | None] = lambda _text: None
    checked_at: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def search(self, query: str, embedding: np.ndarray | None, *, k: int = 5) -> SearchResult:
        """Search the current index (refreshing it first if it may be stale)."""
        self.refresh()
        return self.index.search(query, embedding, k=k)

    def refresh(self, *, force: bool = False) -> None:
        """Rebuild the index if the stored version moved (no-op without a database)."""
        if self.readers is None:
            return
        now = time.monotonic()
        if not force and now - self.checked_at < REFRESH_SECONDS:
            return
        if not self._lock.acquire(blocking=False):
            return  # another thread is refreshing; search the index as it is
        try:
            self.checked_at = now
            with self.readers() as session:
                stored = str(store.version(session))
                if stored != self.index.version:
                    self.index = load_index(session, self.embed_query)
                    log.info("knowledge base loaded: %d sections (v%s)", len(self.index), stored)
        except Exception:  # a knowledge base that cannot be read leaves the old index
            log.warning("could not refresh the knowledge base", exc_info=True)
        finally:
            self._lock.release()
