"""Agents and their API tokens (random, stored as SHA-256 digests, never in clear)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
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


# Argon2id with the library's defaults (RFC 9106's second recommended profile): slow enough
# that a stolen table is expensive to guess, fast enough (~50 ms) for a login.
_passwords = PasswordHasher()
# Checked when the agent does not exist, so a login takes as long for a name nobody has.
_UNUSED_HASH = _passwords.hash("warmline-no-such-agent")
MIN_PASSWORD_CHARS = 10


def set_password(session: Session, *, agent_id: str, password: str) -> bool:
    """Store the Argon2 hash of the agent's console password; False if no such agent."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    agent = session.get(AgentRow, agent_id)
    if agent is None:
        return False
    agent.password_hash = _passwords.hash(password)
    session.flush()
    return True


def agent_for_password(session: Session, *, agent_id: str, password: str) -> AgentRow | None:
    """The agent if the password is theirs (a hash from older parameters is renewed)."""
    agent = session.get(AgentRow, agent_id)
    stored = agent.password_hash if agent is not None else None
    try:
        _passwords.verify(stored or _UNUSED_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if agent is None or stored is None:
        return None
    if _passwords.check_needs_rehash(stored):
        agent.password_hash = _passwords.hash(password)
    return agent


def agent_names(session: Session, *, agent_ids: set[str]) -> dict[str, str]:
    """Display names of the given agents (ids of no agent are left out)."""
    query = select(AgentRow.id, AgentRow.name).where(AgentRow.id.in_(sorted(agent_ids)))
    return {agent_id: name for agent_id, name in session.execute(query)}
