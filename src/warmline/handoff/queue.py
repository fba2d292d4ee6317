"""The human queue over the database: ranked listings, who is online, and agents' loads.

Routing decisions themselves are pure (`routing.py`); this module only reads what they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from warmline.domain.events import utc_now
from warmline.handoff.availability import OnlineAgent, Staffing
from warmline.handoff.routing import AgentLoad, QueueEntry, effective_priority, waited_seconds
from warmline.policy.config import PolicyConfig
from warmline.storage import agents as agent_store
from warmline.storage import conversations as store
from warmline.storage.models import AgentRow, ConversationRow
from warmline.storage.timestamps import as_utc


def entry_of(row: ConversationRow) -> QueueEntry:
    """A queue row as routing sees it."""
    return QueueEntry(
        id=row.id,
        priority=float(row.priority),
        route=row.route,
        senior=bool(row.senior),
        frustration=float(row.frustration),
        queued_at=as_utc(row.queued_at),
    )


def profile_of(row: AgentRow | None, agent_id: str) -> OnlineAgent:
    """An agent as routing sees it; unknown ids (API-key callers) are regular generalists."""
    if row is None:
        return OnlineAgent(id=agent_id)
    return OnlineAgent(
        id=row.id,
        team=row.team,
        skills=frozenset(str(skill) for skill in row.skills or ()),
        seniority=row.seniority,
    )


def agent_profile(session: Session, *, agent_id: str) -> OnlineAgent:
    """The routing profile of an agent id."""
    return profile_of(agent_store.get_agent(session, agent_id=agent_id), agent_id)


def agent_load(
    session: Session, *, agent_id: str, config: PolicyConfig, now: datetime
) -> AgentLoad:
    """The agent's recent assignments, as the burnout cap reads them."""
    burnout = config.routing.burnout
    return AgentLoad(
        recent=tuple(
            agent_store.recent_frustrations(session, agent_id=agent_id, last=burnout.max_in_a_row)
        ),
        upset_last_hour=agent_store.upset_assignments_since(
            session,
            agent_id=agent_id,
            since=now - timedelta(hours=1),
            threshold=burnout.high_frustration,
        ),
    )


@dataclass(frozen=True)
class RankedItem:
    """A queued conversation with its effective priority and waiting time."""

    row: ConversationRow
    entry: QueueEntry
    effective_priority: float
    waiting_seconds: float


def ranked_queue(
    session: Session, *, config: PolicyConfig, now: datetime | None = None, limit: int = 100
) -> list[RankedItem]:
    """Queued conversations by effective priority (base + waiting time), longest waiting first
    among equals."""
    now = now or utc_now()
    items = []
    for row in store.queued_rows(session):
        entry = entry_of(row)
        items.append(
            RankedItem(
                row,
                entry,
                effective_priority(entry, config, now),
                waited_seconds(entry, now),
            )
        )
    items.sort(key=lambda item: (-item.effective_priority, -item.waiting_seconds))
    return items[:limit]


def staffing(session: Session, *, config: PolicyConfig, now: datetime | None = None) -> Staffing:
    """Who is online now (status online and seen within `online_timeout_seconds`) and how many
    conversations already wait."""
    now = now or utc_now()
    timeout = config.availability.online_timeout_seconds
    seen_since = now - timedelta(seconds=timeout) if timeout > 0 else None
    online = tuple(
        profile_of(row, row.id) for row in agent_store.online_agents(session, seen_since=seen_since)
    )
    return Staffing(online=online, queued=store.count_queued(session))
