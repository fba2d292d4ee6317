"""Agents and their API tokens (random, stored as SHA-256 digests, never in clear)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from warmline.domain.events import utc_now
from warmline.storage.models import AgentRow


def hash_token(token: str) -> str:
    """Digest of a high-entropy token (a password hash is not needed for random tokens)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_agent(
    session: Session,
    *,
    agent_id: str,
    name: str,
    skills: Sequence[str] = (),
    seniority: str = "regular",
    token: str | None = None,
) -> str:
    """Create an agent and return its token (shown once)."""
    token = token or secrets.token_urlsafe(32)
    session.add(
        AgentRow(
            id=agent_id,
            name=name,
            token_hash=hash_token(token),
            skills=list(skills),
            seniority=seniority,
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
