"""Knowledge-base repository: sources and their sections (with embeddings), and the version
number that tells every process when to rebuild its index. Services never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from warmline.domain.events import utc_now
from warmline.domain.knowledge import Section
from warmline.storage.models import KbSectionRow, KbSourceRow, KbStateRow

DIM = 384


@dataclass(frozen=True)
class StoredSection:
    """A section as stored, with its source's name and its two embeddings."""

    source: str
    section: Section
    head: np.ndarray
    body: np.ndarray


@dataclass(frozen=True)
class SourceSummary:
    """A source in listings."""

    name: str
    sections: int
    imported_at: datetime


@dataclass(frozen=True)
class Change:
    """What an import did to one source."""

    source: str
    added: int
    updated: int
    removed: int
    unchanged: int


def pack(head: np.ndarray, body: np.ndarray) -> bytes:
    """Both embeddings of a section as float16 bytes."""
    return np.concatenate([head, body]).astype(np.float16).tobytes()


def unpack(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    vector = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
    return vector[:DIM], vector[DIM : 2 * DIM]


def checksums(session: Session, *, source: str) -> dict[str, str]:
    """The sections a source holds now: key -> checksum (to embed only what changed)."""
    query = (
        select(KbSectionRow.key, KbSectionRow.checksum)
        .join(KbSourceRow, KbSourceRow.id == KbSectionRow.source_id)
        .where(KbSourceRow.name == source)
    )
    return {key: checksum for key, checksum in session.execute(query)}


def replace_source(
    session: Session,
    *,
    source: str,
    sections: Sequence[Section],
    vectors: dict[str, bytes],
    keep_articles: frozenset[str] = frozenset(),
) -> Change:
    """Make the source hold exactly `sections`: new ones added, changed ones updated in place,
    the ones that disappeared removed, except those of `keep_articles` (files that could not be
    read this time: a broken file loses nothing). `vectors` has the packed embeddings of every
    new or changed section (by key)."""
    row = session.scalars(select(KbSourceRow).where(KbSourceRow.name == source)).first()
    if row is None:
        row = KbSourceRow(name=source, imported_at=utc_now(), sections=0)
        session.add(row)
        session.flush()
    existing = {
        found.key: found
        for found in session.scalars(select(KbSectionRow).where(KbSectionRow.source_id == row.id))
    }
    added = updated = unchanged = 0
    wanted = set()
    for section in sections:
        wanted.add(section.key)
        stored = existing.get(section.key)
        if stored is not None and stored.checksum == section.checksum:
            if stored.position != section.position:
                stored.position = section.position
            unchanged += 1
            continue
        values = _values(section, vectors[section.key])
        if stored is None:
            session.add(KbSectionRow(source_id=row.id, **values))
            added += 1
        else:
            for name, value in values.items():
                setattr(stored, name, value)
            updated += 1
    kept = {
        k for k, found in existing.items() if k not in wanted and found.article in keep_articles
    }
    gone = [key for key in existing if key not in wanted and key not in kept]
    for start in range(0, len(gone), 500):  # within every database's bound-parameter limit
        chunk = gone[start : start + 500]
        session.execute(
            delete(KbSectionRow).where(
                KbSectionRow.source_id == row.id, KbSectionRow.key.in_(chunk)
            )
        )
    row.sections = len(wanted) + len(kept)
    row.imported_at = utc_now()
    if added or updated or gone:
        bump_version(session)
    session.flush()
    return Change(source, added, updated, len(gone), unchanged)


def _values(section: Section, vectors: bytes) -> dict[str, object]:
    return {
        "key": section.key,
        "article": section.article,
        "title": section.title[:1000],
        "heading": section.heading[:1000],
        "text": section.text,
        "url": section.url[:2000] if section.url else None,
        "question": section.question,
        "position": section.position,
        "checksum": section.checksum,
        "vectors": vectors,
    }


def remove_source(session: Session, *, source: str) -> bool:
    """Remove a source and its sections; False if there is no such source."""
    row = session.scalars(select(KbSourceRow).where(KbSourceRow.name == source)).first()
    if row is None:
        return False
    session.execute(delete(KbSectionRow).where(KbSectionRow.source_id == row.id))
    session.delete(row)
    bump_version(session)
    session.flush()
    return True


def list_sources(session: Session) -> list[SourceSummary]:
    """Every source, by name."""
    rows = session.scalars(select(KbSourceRow).order_by(KbSourceRow.name))
    return [SourceSummary(row.name, row.sections, row.imported_at) for row in rows]


def all_sections(session: Session) -> list[StoredSection]:
    """Every section with its embeddings, in source and article order."""
    query = (
        select(KbSectionRow, KbSourceRow.name)
        .join(KbSourceRow, KbSourceRow.id == KbSectionRow.source_id)
        .order_by(KbSourceRow.name, KbSectionRow.article, KbSectionRow.position)
    )
    found = []
    for row, source in session.execute(query):
        head, body = unpack(row.vectors)
        section = Section(
            key=row.key,
            article=row.article,
            title=row.title,
            heading=row.heading,
            text=row.text,
            url=row.url,
            question=row.question,
            position=row.position,
        )
        found.append(StoredSection(source, section, head, body))
    return found


def version(session: Session) -> int:
    """The knowledge base's version number (0 before any import)."""
    return int(session.scalar(select(func.max(KbStateRow.version))) or 0)


def bump_version(session: Session) -> None:
    """Tell every process that the knowledge base changed."""
    session.execute(
        update(KbStateRow).where(KbStateRow.id == 1).values(version=KbStateRow.version + 1)
    )
