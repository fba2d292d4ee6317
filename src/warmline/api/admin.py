"""Administration: the policy in force, reloading it, service level checks, closing the bot's
quiet conversations, and importing past conversations (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from warmline.api.access import ADMIN_ONLY, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import ImportIn, ImportOut
from warmline.automation.idle import close_idle
from warmline.bootstrap import reload_everywhere
from warmline.channels.imports import ImportRefused, PastTurn, import_conversation
from warmline.channels.service import CustomerDetails
from warmline.domain.events import HandedOff
from warmline.handoff.sla import check_breaches
from warmline.policy.loader import PolicyError
from warmline.policy.policy import Policy

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[allow(ADMIN_ONLY)])


def _describe(policy: Policy) -> dict[str, Any]:
    return {"name": policy.config.name, "label": policy.label, "source": policy.source}


@router.get("/policy", responses=problems())
def current_policy(services: ServicesDep) -> dict[str, Any]:
    """Which policy decides now: its name, version label (name@hash) and file."""
    return _describe(services.engine.pipeline.policy)


@router.post("/policy/reload", responses=problems(422))
async def reload(services: ServicesDep) -> dict[str, Any]:
    """Read the policy file again (WARMLINE_POLICY_FILE, or the shipped default) in every
    worker. If it is not valid, the previous policy stays in force and the answer is 422 naming
    file, line and field of every problem."""
    try:
        policy = await run_in_threadpool(reload_everywhere, services)
    except PolicyError as error:
        raise Problem(
            422,
            "The policy file is not valid; the previous policy stays in force. "
            + "; ".join(str(issue) for issue in error.issues[:5]),
            kind="invalid-policy",
            errors=[issue.as_dict() for issue in error.issues],
        ) from None
    return _describe(policy)


@router.post("/sla/check", responses=problems())
def sla_check(services: ServicesDep) -> dict[str, Any]:
    """Record every service level breach that is due now; list them."""
    config = services.engine.pipeline.policy.config
    with services.sessions() as session, session.begin():
        breaches = check_breaches(session, config=config)
    return {
        "breaches": [
            {
                "conversation_id": breach.conversation_id,
                "target": breach.event.target,
                "target_seconds": breach.event.target_seconds,
                "elapsed_seconds": breach.event.elapsed_seconds,
            }
            for breach in breaches
        ]
    }


@router.post("/conversations/close-idle", responses=problems())
def close_idle_conversations(services: ServicesDep) -> dict[str, Any]:
    """Close every conversation the bot holds that has gone quiet (policy `closing`); list
    them with how each ended. Each server process also does this on its own."""
    config = services.engine.pipeline.policy.config.closing
    with services.sessions() as session, session.begin():
        closed = close_idle(session, config=config)
    return {
        "closed": [
            {"conversation_id": c.conversation_id, "disposition": c.event.disposition}
            for c in closed
        ]
    }


@router.post(
    "/conversations/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportOut,
    responses=problems(),
)
async def import_past_conversation(body: ImportIn, services: ServicesDep) -> ImportOut:
    """Store a conversation that happened elsewhere, at the times it happened: the only path
    where client timestamps are trusted. Turns must be in time order and not in the future."""
    limit = services.settings.max_message_chars
    for number, turn in enumerate(body.turns, start=1):
        if len(turn.text) > limit:
            raise Problem(
                422, f"Turn {number} is longer than {limit} characters.", kind="message-too-long"
            )
    details = CustomerDetails(**body.customer.model_dump()) if body.customer else None
    turns = [PastTurn(turn.speaker, turn.text, turn.ts) for turn in body.turns]
    try:
        conversation = await run_in_threadpool(
            lambda: import_conversation(
                services.engine,
                channel=body.channel,
                details=details,
                turns=turns,
                resolved=body.resolved,
            )
        )
    except ImportRefused as refused:
        raise Problem(422, str(refused), kind="import-refused") from None
    return ImportOut(
        id=conversation.id,
        status=conversation.status.value,
        customer_turns=conversation.customer_turns,
        escalated=bool(conversation.of_type(HandedOff)),
    )
