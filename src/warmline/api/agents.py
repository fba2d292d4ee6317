"""Agent endpoints: the queue, claiming, writing, handing back, resolving; and agent admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from warmline.api.deps import AgentDep, ServicesDep, require_api_key
from warmline.api.problems import Problem
from warmline.api.schemas import AgentIn, AgentOut, AgentStatusIn, AgentTextIn, QueueItem
from warmline.api.services import Services
from warmline.domain.conversation import Conversation
from warmline.domain.events import DecisionMade, HandedOff, SlaBreached
from warmline.handoff import service
from warmline.handoff.queue import RankedItem, ranked_queue
from warmline.handoff.sla import check_breaches
from warmline.policy.config import PolicyConfig
from warmline.storage import conversations as store
from warmline.storage.agents import create_agent, list_agents, set_status
from warmline.storage.models import AgentRow

router = APIRouter(prefix="/api/v1", tags=["agents"])
T = TypeVar("T")


def _state(conversation: Conversation) -> dict[str, object]:
    return {"id": conversation.id, "status": conversation.status.value, "agent": conversation.agent}


def _run(services: ServicesDep, action: Callable[[Session], T]) -> T:
    """Run one agent action in its own transaction, mapping domain errors to problems."""
    try:
        with services.sessions() as session, session.begin():
            return action(session)
    except service.ConversationMissing as missing:
        raise Problem(404, f"No conversation {missing}.") from None
    except service.StateConflict as conflict:
        raise Problem(409, str(conflict), kind="state-conflict") from None


def _policy(services: Services) -> PolicyConfig:
    """The policy the engine runs now (it may have been reloaded)."""
    return services.engine.pipeline.policy.config


@router.get("/queue", response_model=list[QueueItem])
def list_queue(
    services: ServicesDep, agent: AgentDep, limit: int = Query(default=100, ge=1, le=1000)
) -> list[QueueItem]:
    """Escalated conversations waiting for a person, by effective priority (base priority plus
    waiting time against the first-response target). Reading the queue also records any
    service level breach that is due."""
    config = _policy(services)
    with services.sessions() as session, session.begin():
        check_breaches(session, config=config)
    with services.sessions() as session:
        return [
            _queue_item(session, item) for item in ranked_queue(session, config=config, limit=limit)
        ]


def _queue_item(session: Session, item: RankedItem) -> QueueItem:
    conversation = store.load_conversation(session, conversation_id=item.row.id)
    handoffs = conversation.of_type(HandedOff) if conversation else []
    handoff = handoffs[-1] if handoffs else None
    decisions = conversation.of_type(DecisionMade) if conversation else []
    escalation = next((d for d in reversed(decisions) if d.action == "escalate"), None)
    breaches = (
        [e.target for e in conversation.of_type(SlaBreached) if handoff and e.ts >= handoff.ts]
        if conversation
        else []
    )
    return QueueItem(
        id=item.row.id,
        priority=item.row.priority,
        route=item.row.route,
        queued_at=item.entry.queued_at,
        reasons=handoff.reasons if handoff else [],
        packet=handoff.packet if handoff else {},
        effective_priority=round(item.effective_priority, 4),
        waiting_seconds=round(item.waiting_seconds, 1),
        senior=item.entry.senior,
        frustration=item.entry.frustration,
        reason_details=escalation.reasons if escalation else [],
        sla_breaches=breaches,
    )


@router.post("/queue/next", response_model=None)
def claim_next(services: ServicesDep, agent: AgentDep) -> Response | dict[str, object]:
    """Claim the best conversation for this agent (team and skills, seniority, burnout cap,
    waiting time) that no other agent is taking; 204 when there is none."""
    config = _policy(services)
    conversation = _run(services, lambda s: service.claim_next(s, agent=agent.id, policy=config))
    if conversation is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _state(conversation)


@router.put("/agents/me/status", response_model=AgentOut)
def set_my_status(body: AgentStatusIn, services: ServicesDep, agent: AgentDep) -> AgentOut:
    """Set the calling agent's status (online, away, offline). Send it again every few
    minutes while online: agents not seen for `availability.online_timeout_seconds` count
    as offline."""
    with services.sessions() as session, session.begin():
        row = set_status(session, agent_id=agent.id, status=body.status)
        if row is None:
            raise Problem(404, f"No agent {agent.id}: create it first (POST /api/v1/agents).")
        return _agent_out(row)


@router.get("/agents", response_model=list[AgentOut], dependencies=[Depends(require_api_key)])
def agents(services: ServicesDep) -> list[AgentOut]:
    """Every agent with their team, skills, seniority and status."""
    with services.sessions() as session:
        return [_agent_out(row) for row in list_agents(session)]


def _agent_out(row: AgentRow) -> AgentOut:
    return AgentOut(
        id=row.id,
        name=row.name,
        team=row.team,
        skills=[str(skill) for skill in row.skills or ()],
        seniority=row.seniority,
        status=row.status,
        last_seen=row.last_seen,
    )


@router.post("/conversations/{conversation_id}/claim")
def claim(conversation_id: str, services: ServicesDep, agent: AgentDep) -> dict[str, object]:
    """Take a queued conversation; 409 if someone else already has it."""
    return _state(
        _run(services, lambda s: service.claim(s, conversation_id=conversation_id, agent=agent.id))
    )


@router.post("/conversations/{conversation_id}/agent-messages")
def agent_message(
    conversation_id: str, body: AgentTextIn, services: ServicesDep, agent: AgentDep
) -> dict[str, object]:
    """Write to the customer as the assigned agent."""
    return _state(
        _run(
            services,
            lambda s: service.send_agent_message(
                s, conversation_id=conversation_id, agent=agent.id, text=body.text
            ),
        )
    )


@router.post("/conversations/{conversation_id}/notes")
def note(
    conversation_id: str, body: AgentTextIn, services: ServicesDep, agent: AgentDep
) -> dict[str, object]:
    """Add an internal note."""
    return _state(
        _run(
            services,
            lambda s: service.add_note(
                s, conversation_id=conversation_id, author=agent.id, text=body.text
            ),
        )
    )


@router.post("/conversations/{conversation_id}/handback")
def hand_back(conversation_id: str, services: ServicesDep, agent: AgentDep) -> dict[str, object]:
    """Give the conversation back to the bot."""
    return _state(
        _run(
            services,
            lambda s: service.hand_back(s, conversation_id=conversation_id, agent=agent.id),
        )
    )


@router.post("/conversations/{conversation_id}/resolve")
def resolve(conversation_id: str, services: ServicesDep, agent: AgentDep) -> dict[str, object]:
    """Mark the conversation resolved."""
    return _state(
        _run(services, lambda s: service.resolve(s, conversation_id=conversation_id, by=agent.id))
    )


@router.post(
    "/agents", status_code=status.HTTP_201_CREATED, dependencies=[Depends(require_api_key)]
)
def add_agent(body: AgentIn, services: ServicesDep) -> dict[str, object]:
    """Create an agent; the token is shown once. `team` must be a team of the policy."""
    if body.team is not None and body.team not in _policy(services).teams:
        known = ", ".join(sorted(_policy(services).teams))
        raise Problem(422, f"Team {body.team!r} is not in the policy (teams: {known}).")
    try:
        with services.sessions() as session, session.begin():
            token = create_agent(
                session,
                agent_id=body.id,
                name=body.name,
                skills=body.skills,
                seniority=body.seniority,
                team=body.team,
            )
    except IntegrityError:
        raise Problem(409, f"An agent {body.id} already exists.", kind="agent-exists") from None
    return {"id": body.id, "token": token}
