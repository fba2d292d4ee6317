"""Agent endpoints: the queue, claiming, writing, handing back, resolving, reassigning; and
agent administration. Each route names the roles it allows (`access.allow`); who owns a
conversation is checked by the handoff service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response, status
from fastapi import Path as FastApiPath
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from warmline.analytics import metrics
from warmline.api.access import ADMIN_ONLY, OVERSIGHT, STAFF, Caller, allow
from warmline.api.deps import ConversationId, ServicesDep, Since, Until, period
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import (
    ID_PATTERN,
    AgentCreated,
    AgentIn,
    AgentOut,
    AgentStatusIn,
    AgentTextIn,
    AnswerFlagIn,
    AssignIn,
    CoachingOut,
    ConversationState,
    DraftIn,
    EscalationVerdictIn,
    IntentCorrectionIn,
    MineItem,
    MyPasswordIn,
    PasswordIn,
    QueueItem,
    ResolveIn,
)
from warmline.api.services import Services
from warmline.channels.email.outbox import EmailSender, queue_latest, send_or_note
from warmline.domain.conversation import Conversation
from warmline.domain.events import DecisionMade, HandedOff, SlaBreached, utc_now
from warmline.handoff import learning, service
from warmline.handoff.coaching import coach, situation
from warmline.handoff.llm import LlmClient, suggested_reply
from warmline.handoff.queue import RankedItem, ranked_queue
from warmline.handoff.sla import breaches_due
from warmline.policy.config import PolicyConfig
from warmline.policy.names import unknown
from warmline.storage import conversations as store
from warmline.storage.agents import (
    agent_for_password,
    create_agent,
    get_agent,
    list_agents,
    set_password,
    set_status,
)
from warmline.storage.broadcast import EVENTS
from warmline.storage.models import AgentRow
from warmline.storage.timestamps import as_utc

router = APIRouter(prefix="/api/v1", tags=["agents"])
T = TypeVar("T")
Staff = Annotated[Caller, allow(STAFF)]
Overseer = Annotated[Caller, allow(OVERSIGHT)]
ACTION_PROBLEMS = problems(404, 409)
AGENTS_CHANGED = "agents:0"  # an EVENTS notice that wakes the live views of the queue


def _state(conversation: Conversation) -> ConversationState:
    return ConversationState(
        id=conversation.id, status=conversation.status.value, agent=conversation.agent
    )


def _run(services: ServicesDep, action: Callable[[Session], T]) -> T:
    """Run one agent action in its own transaction, mapping domain errors to problems."""
    try:
        with services.sessions() as session, session.begin():
            return action(session)
    except service.ConversationMissing as missing:
        raise Problem(404, f"No conversation {missing}.") from None
    except service.StateConflict as conflict:
        raise Problem(409, str(conflict), kind="state-conflict") from None
    except service.NotYours as not_yours:
        raise Problem(403, str(not_yours), kind="not-yours") from None
    except learning.NotFound as missing:
        raise Problem(404, f"Not found: {missing}.", kind="not-found") from None
    except learning.Invalid as invalid:
        raise Problem(422, f"{str(invalid).capitalize()}.") from None


def _policy(services: Services) -> PolicyConfig:
    """The policy the engine runs now (it may have been reloaded)."""
    return services.engine.pipeline.policy.config


def _survey(services: Services) -> Callable[[str], str] | None:
    """The survey text for a channel, or None when surveys are off (WARMLINE_SURVEY)."""
    questions = services.settings.survey_questions
    if not questions:
        return None
    composer = services.engine.pipeline.composer
    return lambda channel: composer.survey(questions, channel)


def _agent_id(caller: Caller) -> str:
    if caller.agent_id is None:  # allow(STAFF) admits only callers acting as an agent
        raise Problem(403, "This needs an agent identity.", kind="forbidden")
    return caller.agent_id


@router.get("/queue", response_model=list[QueueItem], responses=problems())
def list_queue(
    services: ServicesDep, caller: Staff, limit: int = Query(default=100, ge=1, le=1000)
) -> list[QueueItem]:
    """Escalated conversations waiting for a person, by effective priority (base priority plus
    waiting time against the first-response target), with the service level targets each has
    missed (recorded, or due now and about to be recorded by the server's SLA watch)."""
    return queue_now(services, limit=limit)


def queue_now(services: Services, *, limit: int = 100) -> list[QueueItem]:
    """The queue as it stands, by effective priority (reads only)."""
    config = _policy(services)
    now = utc_now()
    with services.reading() as session:
        return [
            _queue_item(session, item, config, now)
            for item in ranked_queue(session, config=config, limit=limit, now=now)
        ]


def _queue_item(
    session: Session, item: RankedItem, config: PolicyConfig, now: datetime
) -> QueueItem:
    conversation = store.load_conversation(session, conversation_id=item.row.id)
    handoffs = conversation.of_type(HandedOff) if conversation else []
    handoff = handoffs[-1] if handoffs else None
    decisions = conversation.of_type(DecisionMade) if conversation else []
    escalation = next((d for d in reversed(decisions) if d.action == "escalate"), None)
    breaches = (
        [e.target for e in conversation.of_type(SlaBreached) if handoff and e.ts >= handoff.ts]
        + [e.target for e in breaches_due(conversation, config, now)]
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


@router.post(
    "/queue/next",
    response_model=ConversationState,
    responses={204: {"description": "Nothing is waiting for this agent."}, **problems()},
)
def claim_next(services: ServicesDep, caller: Staff) -> Response | ConversationState:
    """Claim the best conversation for this agent (team and skills, seniority, burnout cap,
    waiting time) that no other agent is taking; 204 when there is none."""
    config = _policy(services)
    agent = _agent_id(caller)
    conversation = _run(services, lambda s: service.claim_next(s, agent=agent, policy=config))
    if conversation is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _state(conversation)


@router.put("/agents/me/status", response_model=AgentOut, responses=problems(404))
def set_my_status(body: AgentStatusIn, services: ServicesDep, caller: Staff) -> AgentOut:
    """Set the calling agent's status (online, away, offline). Send it again every few
    minutes while online: agents not seen for `availability.online_timeout_seconds` count
    as offline."""
    agent = _agent_id(caller)
    with services.sessions() as session, session.begin():
        before = get_agent(session, agent_id=agent)
        was = before.status if before else None
        row = set_status(session, agent_id=agent, status=body.status)
        if row is None:
            raise Problem(404, f"No agent {agent}: create it first (POST /api/v1/agents).")
        if was != body.status:  # live views of the agents refresh (not at every heartbeat)
            services.broadcast.publish_in(session, EVENTS, AGENTS_CHANGED)
        return _agent_out(row)


@router.get("/agents", response_model=list[AgentOut], responses=problems())
def agents(services: ServicesDep, caller: Overseer) -> list[AgentOut]:
    """Every agent with their team, skills, seniority, role and status."""
    return agents_now(services)


def agents_now(services: Services) -> list[AgentOut]:
    """Every agent and how many open conversations each has."""
    with services.reading() as session:
        load = store.open_per_agent(session)
        return [_agent_out(row, load.get(row.id, 0)) for row in list_agents(session)]


@router.get("/agents/me/conversations", response_model=list[MineItem], responses=problems())
def my_conversations(services: ServicesDep, caller: Staff) -> list[MineItem]:
    """The open conversations assigned to the calling agent, most recently active first."""
    return mine_now(services, _agent_id(caller))


def mine_now(services: Services, agent_id: str) -> list[MineItem]:
    """An agent's open conversations with the customer's name and the last thing said."""
    with services.reading() as session:
        return [MineItem(**item) for item in store.assigned_to(session, agent_id=agent_id)]


def _agent_out(row: AgentRow, open_conversations: int = 0) -> AgentOut:
    return AgentOut(
        id=row.id,
        name=row.name,
        team=row.team,
        skills=[str(skill) for skill in row.skills or ()],
        seniority=row.seniority,
        role=row.role,
        status=row.status,
        last_seen=as_utc(row.last_seen),
        open_conversations=open_conversations,
    )


@router.post(
    "/conversations/{conversation_id}/claim",
    response_model=ConversationState,
    responses=ACTION_PROBLEMS,
)
def claim(
    conversation_id: ConversationId, services: ServicesDep, caller: Staff
) -> ConversationState:
    """Take a queued conversation; 409 if someone else already has it."""
    agent = _agent_id(caller)
    return _state(
        _run(services, lambda s: service.claim(s, conversation_id=conversation_id, agent=agent))
    )


@router.post(
    "/conversations/{conversation_id}/assign",
    response_model=ConversationState,
    responses=ACTION_PROBLEMS,
)
def assign(
    conversation_id: ConversationId, body: AssignIn, services: ServicesDep, caller: Overseer
) -> ConversationState:
    """Give a queued or assigned conversation to another agent (supervisors and admins); 404
    if the conversation or the agent does not exist."""
    with services.reading() as session:
        if get_agent(session, agent_id=body.agent) is None:
            raise Problem(404, f"No agent {body.agent}.", kind="no-agent")
    by = _agent_id(caller)
    return _state(
        _run(
            services,
            lambda s: service.assign(s, conversation_id=conversation_id, agent=body.agent, by=by),
        )
    )


@router.post(
    "/conversations/{conversation_id}/agent-messages",
    response_model=ConversationState,
    responses=ACTION_PROBLEMS,
)
def agent_message(
    conversation_id: ConversationId, body: AgentTextIn, services: ServicesDep, caller: Staff
) -> ConversationState:
    """Write to the customer as the assigned agent (by email too, in an email
    conversation)."""
    agent = _agent_id(caller)
    conversation = _run(
        services,
        lambda s: queue_latest(  # in an email conversation, queued with the message
            s,
            service.send_agent_message(
                s, conversation_id=conversation_id, agent=agent, text=body.text
            ),
        ),
    )
    if conversation.channel == "email":  # sent at once after the commit, retried if need be
        send_or_note(services, conversation_id=conversation.id, seq=conversation.seq)
    return _state(conversation)


@router.post(
    "/conversations/{conversation_id}/notes",
    response_model=ConversationState,
    responses=problems(404),
)
def note(
    conversation_id: ConversationId, body: AgentTextIn, services: ServicesDep, caller: Staff
) -> ConversationState:
    """Add an internal note (never shown to the customer)."""
    author = _agent_id(caller)
    return _state(
        _run(
            services,
            lambda s: service.add_note(
                s, conversation_id=conversation_id, author=author, text=body.text
            ),
        )
    )


@router.get("/report", responses=problems(422))
def period_report(
    services: ServicesDep,
    caller: Overseer,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """The metrics of the conversations started in [since, until) (supervisors and admins):
    speed, automation and escalation quality, surveys, estimated satisfaction, churn signals,
    agent load and corrections (docs/analytics.md)."""
    start, end = period(since, until)
    with services.reading() as session:
        return metrics.period_report(session, since=start, until=end).as_dict()


@router.post(
    "/conversations/{conversation_id}/coach",
    response_model=CoachingOut,
    responses=problems(404),
)
def coach_draft(
    conversation_id: ConversationId,
    body: DraftIn,
    services: ServicesDep,
    caller: Staff,
    llm: Annotated[
        bool,
        Query(
            description="Also ask the configured language model for a suggested reply (a "
            "second or more: ask on demand, not on every keystroke)."
        ),
    ] = False,
) -> CoachingOut:
    """Tips on a draft reply as the agent types, a tone score, and suggested replies from the
    knowledge base and from colleagues' replies that resolved the same intent (and from the
    language model with `llm=true`; when it fails, `llm_notice` says why)."""
    try:
        with services.reading() as session:  # reads only: never the SQLite write lock
            conversation, customer = service.read_conversation(
                session, conversation_id=conversation_id
            )
    except service.ConversationMissing:
        raise Problem(404, f"No conversation {conversation_id}.") from None
    where = situation(conversation, customer)
    replies = services.reply_book.suggestions(where, services.engine.knowledge)
    coaching = coach(body.draft, where, replies).as_dict()
    if llm:
        client = LlmClient.from_settings(services.settings)
        suggested, notice = asyncio.run(suggested_reply(conversation, body.draft, client))
        if suggested:
            coaching["replies"].insert(0, {"source": "llm", "text": suggested})
        coaching["llm_notice"] = notice
    return CoachingOut.model_validate(coaching)


CORRECTION_PROBLEMS = problems(403, 404, 409, 422)


@router.post(
    "/conversations/{conversation_id}/corrections/intent",
    response_model=ConversationState,
    responses=CORRECTION_PROBLEMS,
)
def correct_intent(
    conversation_id: ConversationId, body: IntentCorrectionIn, services: ServicesDep, caller: Staff
) -> ConversationState:
    """Correct the intent of a customer message (agents who handled the conversation, and
    supervisors); `warmline train intents --include-corrections` learns from it."""
    by = _agent_id(caller)
    known = services.engine.pipeline.analyzer.intents.intents  # type: ignore[attr-defined]
    return _state(
        _run(
            services,
            lambda s: learning.correct_intent(
                s,
                conversation_id=conversation_id,
                seq=body.seq,
                intent=body.intent,
                by=by,
                oversees=caller.oversees,
                known_intents=known,
            ),
        )
    )


@router.post(
    "/conversations/{conversation_id}/corrections/answer",
    response_model=ConversationState,
    responses=CORRECTION_PROBLEMS,
)
def flag_answer(
    conversation_id: ConversationId, body: AnswerFlagIn, services: ServicesDep, caller: Staff
) -> ConversationState:
    """Mark a bot answer as wrong, with the section that answers the question if there is
    one; the knowledge base ranks by it from then on."""
    by = _agent_id(caller)
    state = _state(
        _run(
            services,
            lambda s: learning.flag_answer(
                s,
                conversation_id=conversation_id,
                seq=body.seq,
                right=body.right,
                by=by,
                oversees=caller.oversees,
            ),
        )
    )
    if services.engine.knowledge is not None:  # this process at once; others within seconds
        services.engine.knowledge.refresh(force=True)
    return state


@router.post(
    "/conversations/{conversation_id}/corrections/escalation",
    response_model=ConversationState,
    responses=CORRECTION_PROBLEMS,
)
def mark_escalation(
    conversation_id: ConversationId, body: EscalationVerdictIn, services: ServicesDep, caller: Staff
) -> ConversationState:
    """Mark the handoff as unnecessary or late (the analytics report counts them)."""
    by = _agent_id(caller)
    return _state(
        _run(
            services,
            lambda s: learning.mark_escalation(
                s,
                conversation_id=conversation_id,
                verdict=body.verdict,
                note=body.note,
                by=by,
                oversees=caller.oversees,
            ),
        )
    )


@router.post(
    "/conversations/{conversation_id}/handback",
    response_model=ConversationState,
    responses=ACTION_PROBLEMS,
)
def hand_back(
    conversation_id: ConversationId, services: ServicesDep, caller: Staff
) -> ConversationState:
    """Give the conversation back to the bot (its agent; supervisors for anyone's)."""
    agent = _agent_id(caller)
    return _state(
        _run(
            services,
            lambda s: service.hand_back(
                s, conversation_id=conversation_id, agent=agent, override=caller.oversees
            ),
        )
    )


@router.post(
    "/conversations/{conversation_id}/resolve",
    response_model=ConversationState,
    responses=ACTION_PROBLEMS,
)
def resolve(
    conversation_id: ConversationId,
    services: ServicesDep,
    caller: Staff,
    body: ResolveIn | None = None,
) -> ConversationState:
    """Mark the conversation resolved (its agent; supervisors for anyone's), with how it
    ended (`disposition`, default solved) and an internal note; the survey goes out."""
    by = _agent_id(caller)
    how = body or ResolveIn()
    conversation = _run(
        services,
        lambda s: queue_latest(  # an email conversation's survey is queued with it
            s,
            service.resolve(
                s,
                conversation_id=conversation_id,
                by=by,
                override=caller.oversees,
                survey=_survey(services),
                disposition=how.disposition,
                note=how.note or None,
            ),
        ),
    )
    if conversation.channel == "email":
        EmailSender(services).send_now(conversation_id=conversation.id, seq=conversation.seq)
    return _state(conversation)


@router.post(
    "/agents",
    status_code=status.HTTP_201_CREATED,
    response_model=AgentCreated,
    responses=problems(409),
    dependencies=[allow(ADMIN_ONLY)],
)
def add_agent(body: AgentIn, services: ServicesDep) -> AgentCreated:
    """Create an agent; the token is shown once. `team` must be a team of the policy."""
    config = _policy(services)
    if body.team is not None and body.team not in config.teams:
        raise Problem(422, f"{unknown('team', body.team, config.teams).capitalize()}.")
    skills = {skill for team in config.teams.values() for skill in team.skills}
    for skill in body.skills:
        if skill not in skills:
            raise Problem(
                422,
                f"{unknown('skill', skill, skills).capitalize()} (the policy's teams list the "
                "skills that route conversations).",
            )
    try:
        with services.sessions() as session, session.begin():
            token = create_agent(
                session,
                agent_id=body.id,
                name=body.name,
                skills=body.skills,
                seniority=body.seniority,
                team=body.team,
                role=body.role,
            )
            if body.password is not None:
                set_password(session, agent_id=body.id, password=body.password)
    except IntegrityError:
        raise Problem(409, f"An agent {body.id} already exists.", kind="agent-exists") from None
    return AgentCreated(id=body.id, token=token)


@router.put(
    "/agents/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def change_my_password(body: MyPasswordIn, services: ServicesDep, caller: Staff) -> Response:
    """Change one's own console password, given the current one; other sessions end."""
    agent = _agent_id(caller)
    with services.sessions() as session, session.begin():
        if agent_for_password(session, agent_id=agent, password=body.current) is None:
            raise Problem(403, "The current password is not right.", kind="wrong-password")
        set_password(session, agent_id=agent, password=body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/agents/{agent_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
    dependencies=[allow(ADMIN_ONLY)],
)
def set_agent_password(
    agent_id: Annotated[str, FastApiPath(pattern=ID_PATTERN)],
    body: PasswordIn,
    services: ServicesDep,
) -> Response:
    """Set an agent's console password (admins); their open sessions end."""
    with services.sessions() as session, session.begin():
        if not set_password(session, agent_id=agent_id, password=body.password):
            raise Problem(404, f"No agent {agent_id}.", kind="no-agent")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
