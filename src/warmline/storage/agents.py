"""Agents and their API tokens (random, stored as SHA-256 digests, never in clear)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warmline.domain.events import utc_now
from warmline.storage.models import AgentRow, AssignmentRow

AGENT_STATUSES = ("online", "away", "offline")
AGENT_ROLES = ("agent", "supervisor", "admin")


def hash_token(token: str) -> str:
    """Digest of a high-entropy token (a password hash is not needed for random tokens)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_agent(
    session: Session,
    *,
    agent_id: str,
    name: str,
    skills: Sequence[str] = (),
    seniority: str = "regular",
    token: str | None = None,
    team: str | None = None,
    role: str = "agent",
) -> str:
    """Create an agent and return its token (shown once)."""
    if role not in AGENT_ROLES:
        raise ValueError(f"role must be one of {', '.join(AGENT_ROLES)}")
    token = token or secrets.token_urlsafe(32)
    session.add(
        AgentRow(
            id=agent_id,
            name=name,
            token_hash=hash_token(token),
            skills=list(skills),
            seniority=seniority,
            team=team,
            role=role,
            status="offline",
            created_at=utc_now(),
        )
    )
    session.flush()
    return token


def agent_for_token(session: Session, *, token: str) -> AgentRow | None:
    """The agent holding this token, if any."""
    return session.scalars(select(AgentRow).where(AgentRow.token_hash == hash_token(token))).first()


def get_agent(session: Session, *, agent_id: str) -> AgentRow | None:
    """An agent by id."""
    return session.get(AgentRow, agent_id)


def list_agents(session: Session) -> list[AgentRow]:
    """Every agent, by id."""
    return list(session.scalars(select(AgentRow).order_by(AgentRow.id)))


def set_status(
    session: Session, *, agent_id: str, status: str, now: datetime | None = None
) -> AgentRow | None:
    """Set an agent's status (`online`, `away`, `offline`) and refresh `last_seen`; calling it
    again is the heartbeat that keeps an agent online."""
    if status not in AGENT_STATUSES:
        raise ValueError(f"status must be one of {', '.join(AGENT_STATUSES)}")
    agent = session.get(AgentRow, agent_id)
    if agent is None:
        return None
    agent.status = status
    agent.last_seen = now or utc_now()
    session.flush()
    return agent


def touch(session: Session, *, agent_id: str, now: datetime | None = None) -> None:
    """Refresh `last_seen` of a known agent (claiming counts as being there)."""
    agent = session.get(AgentRow, agent_id)
    if agent is not None:
        agent.last_seen = now or utc_now()


def online_agents(session: Session, *, seen_since: datetime | None) -> list[AgentRow]:
    """Agents whose status is online and (unless `seen_since` is None) seen since then."""
    query = select(AgentRow).where(AgentRow.status == "online")
    if seen_since is not None:
        query = query.where(AgentRow.last_seen >= seen_since)
    return list(session.scalars(query))


def record_assignment(
    session: Session,
    *,
    agent_id: str,
    conversation_id: str,
    frustration: float,
    at: datetime | None = None,
) -> None:
    """Remember that `agent_id` took a conversation this upset (for the burnout cap)."""
    session.add(
        AssignmentRow(
            agent_id=agent_id,
            conversation_id=conversation_id,
            assigned_at=at or utc_now(),
            frustration=frustration,
        )
    )


def recent_frustrations(session: Session, *, agent_id: str, last: int) -> list[float]:
    """The frustration of the agent's `last` assignments, newest first."""
    query = (
        select(AssignmentRow.frustration)
        .where(AssignmentRow.agent_id == agent_id)
        .order_by(AssignmentRow.assigned_at.desc(), AssignmentRow.id.desc())
        .limit(last)
    )
    return [float(value) for value in session.scalars(query)]


def upset_assignments_since(
    session: Session, *, agent_id: str, since: datetime, threshold: float
) -> int:
    """How many conversations at or above `threshold` the agent took since `since`."""
    query = select(func.count(AssignmentRow.id)).where(
        AssignmentRow.agent_id == agent_id,
        AssignmentRow.assigned_at >= since,
        AssignmentRow.frustration >= threshold,
    )
    return int(session.scalar(query) or 0)
