"""The policy in force, stored so that every worker runs the same one: a worker that starts
(or restarts) after a reload, or after someone edited the file without reloading, takes the
stored policy, never the file as it happens to be now."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from warmline.domain.events import utc_now
from warmline.storage.models import PolicyStateRow


@dataclass(frozen=True)
class StoredPolicy:
    """The policy in force: its label, the file it came from, its configuration (JSON)."""

    label: str
    source: str
    config: str


def current(session: Session) -> StoredPolicy | None:
    """The policy in force, or None before any was recorded."""
    row = session.get(PolicyStateRow, 1)
    return StoredPolicy(row.label, row.source, row.config) if row is not None else None


def record(session: Session, *, label: str, source: str, config: str) -> None:
    """Make a policy the one in force."""
    row = session.get(PolicyStateRow, 1)
    if row is None:
        session.add(
            PolicyStateRow(id=1, label=label, source=source, config=config, updated_at=utc_now())
        )
    else:
        row.label, row.source, row.config, row.updated_at = label, source, config, utc_now()
    session.flush()
