"""Service level targets: a first response and a resolution within the policy's targets.

A breach appends one `SlaBreached` event per target and handoff episode, so that webhooks and
reports see it when it happens. `SlaWatch` runs `check_breaches` in each server process (every
`WARMLINE_SLA_CHECK_SECONDS`), and `warmline sla check` runs it from cron for deployments that
switch the watch off. It locks each conversation with SKIP LOCKED, so a conversation being
changed right now is simply checked next time. Listing the queue only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from warmline.background import ReadThenWrite
from warmline.domain.conversation import Conversation
from warmline.domain.events import (
    AgentMessage,
    HandedBack,
    HandedOff,
    Resolved,
    SlaBreached,
    utc_now,
)
from warmline.policy.config import PolicyConfig
from warmline.storage import conversations as store


@dataclass(frozen=True)
class Breach:
    """One target missed by one conversation."""

    conversation_id: str
    event: SlaBreached


def breaches_due(
    conversation: Conversation, config: PolicyConfig, now: datetime
) -> list[SlaBreached]:
    """The breach events this conversation should get now (pure: reads its events only)."""
    handoffs = conversation.of_type(HandedOff)
    if not handoffs:
        return []
    handoff = handoffs[-1]
    start = handoff.ts
    episode = [e for e in conversation.events if e.ts >= start]
    if any(isinstance(e, HandedBack | Resolved) and e.ts >= start for e in episode):
        return []
    already = {e.target for e in episode if isinstance(e, SlaBreached)}
    targets = config.sla.targets_for(handoff.priority)
    first_reply = next((e.ts for e in episode if isinstance(e, AgentMessage)), None)
    due: list[SlaBreached] = []
    responded_by = first_reply or now
    elapsed = (responded_by - start).total_seconds()
    if "first_response" not in already and elapsed > targets.first_response_seconds:
        due.append(
            SlaBreached(
                target="first_response",
                target_seconds=targets.first_response_seconds,
                elapsed_seconds=round(elapsed, 1),
                priority=handoff.priority,
                ts=now,
            )
        )
    open_for = (now - start).total_seconds()
    if "resolution" not in already and open_for > targets.resolution_seconds:
        due.append(
            SlaBreached(
                target="resolution",
                target_seconds=targets.resolution_seconds,
                elapsed_seconds=round(open_for, 1),
                priority=handoff.priority,
                ts=now,
            )
        )
    return due


def check_breaches(
    session: Session, *, config: PolicyConfig, now: datetime | None = None
) -> list[Breach]:
    """Append the breach events due now to every open handed-over conversation."""
    now = now or utc_now()
    found: list[Breach] = []
    for conversation in store.locked_each(session, _candidates(session, config, now)):
        due = breaches_due(conversation, config, now)
        if due:
            store.append_events(session, conversation=conversation, events=due)
            found.extend(Breach(conversation.id, event) for event in due)
    return found


def any_due(session: Session, *, config: PolicyConfig, now: datetime) -> bool:
    """Whether some conversation has a breach to record now (reads only)."""
    for conversation_id in _candidates(session, config, now):
        conversation = store.load_conversation(session, conversation_id=conversation_id)
        if conversation is not None and breaches_due(conversation, config, now):
            return True
    return False


def _candidates(session: Session, config: PolicyConfig, now: datetime) -> list[str]:
    """The open handoffs old enough to have missed the shortest target."""
    shortest = min(
        config.sla.first_response_seconds,
        config.sla.urgent.first_response_seconds,
        config.sla.resolution_seconds,
        config.sla.urgent.resolution_seconds,
    )
    return list(store.open_handoffs(session, queued_before=now - timedelta(seconds=shortest)))


class SlaWatch(ReadThenWrite[PolicyConfig]):
    """Records breaches as they fall due, in a daemon thread of each server process."""

    thread_name = "warmline-sla"

    def due(self, session: Session, config: PolicyConfig, now: datetime) -> bool:
        return any_due(session, config=config, now=now)

    def write(self, session: Session, config: PolicyConfig, now: datetime) -> int:
        return len(check_breaches(session, config=config, now=now))
