"""Agent endpoints: the queue, claiming, writing, handing back, resolving; and agent admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from warmline.api.deps import AgentDep, ServicesDep, require_api_key
from warmline.api.problems import Problem
from warmline.api.schemas import AgentIn, AgentTextIn, QueueItem
from warmline.domain.conversation import Conversation
from warmline.domain.events import HandedOff
from warmline.handoff import service
from warmline.storage import conversations as store
from warmline.storage.agents import create_agent

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


@router.get("/queue", response_model=list[QueueItem])
def list_queue(
    services: ServicesDep, agent: AgentDep, limit: int = Query(default=100, ge=1, le=1000)
) -> list[QueueItem]:
    """Escalated conversations waiting for a person, most urgent first."""
    items: list[QueueItem] = []
    with services.sessions() as session:
        for row in store.list_queue(session, limit=limit):
            conversation = store.load_conversation(session, conversation_id=row.id)
            handoffs = conversation.of_type(HandedOff) if conversation else []
            packet = handoffs[-1].packet if handoffs else {}
            reasons = handoffs[-1].reasons if handoffs else []
            items.append(
                QueueItem(
                    id=row.id,
                    priority=row.priority,
                    route=row.route,
                    queued_at=row.queued_at,
                    reasons=reasons,
                    packet=packet,
                )
            )
    return items


@router.post("/queue/next")
def claim_next(services: ServicesDep, agent: AgentDep) -> Response | dict[str, object]:
    """Claim the most urgent conversation no other agent is taking; 204 when the queue is empty."""
    conversation = _run(services, lambda s: service.claim_next(s, agent=agent.id))
    if conversation is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _state(conversation)


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
    """Create an agent; the token is shown once."""
    try:
        with services.sessions() as session, session.begin():
            token = create_agent(
                session,
                agent_id=body.id,
                name=body.name,
                skills=body.skills,
                seniority=body.seniority,
            )
    except IntegrityError:
        raise Problem(409, f"An agent {body.id} already exists.", kind="agent-exists") from None
    return {"id": body.id, "token": token}
