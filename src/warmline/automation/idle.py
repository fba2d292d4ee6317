"""Closing the conversations the bot holds once the customer has gone quiet (policy
`closing`; the rule itself is `policy.closing.idle_close`). `IdleCloser` runs it in each server
process every `WARMLINE_IDLE_CHECK_SECONDS`; `warmline close-idle` runs it from cron for
deployments that switch the loop off. Each conversation is locked with SKIP LOCKED, so one
being changed right now is simply looked at next time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from warmline.background import ReadThenWrite
from warmline.domain.events import Resolved, utc_now
from warmline.policy.closing import idle_close
from warmline.policy.config import ClosingConfig
from warmline.storage import conversations as store

BATCH = 500  # conversations looked at per call of `close_idle` and per channel
ROUND = 50  # ... per background round: one short write transaction each (SQLite has one writer)


@dataclass(frozen=True)
class Closed:
    """One conversation the bot closed."""

    conversation_id: str
    event: Resolved


def close_idle(
    session: Session, *, config: ClosingConfig, now: datetime | None = None, limit: int = BATCH
) -> list[Closed]:
    """Close every conversation the bot holds that has been quiet for its channel's time."""
    now = now or utc_now()
    closed: list[Closed] = []
    for conversation in store.locked_each(session, _candidates(session, config, now, limit)):
        event = idle_close(conversation, config, now)
        if event is not None:
            store.append_events(session, conversation=conversation, events=[event])
            closed.append(Closed(conversation.id, event))
    return closed


def any_idle(session: Session, *, config: ClosingConfig, now: datetime) -> bool:
    """Whether some conversation is due to be closed now (reads only)."""
    for conversation_id in _candidates(session, config, now, BATCH):
        conversation = store.load_conversation(session, conversation_id=conversation_id)
        if conversation is not None and idle_close(conversation, config, now) is not None:
            return True
    return False


def _candidates(session: Session, config: ClosingConfig, now: datetime, limit: int) -> list[str]:
    """The bot's conversations untouched for at least their channel's idle time."""
    found: list[str] = []
    for email, minutes in ((False, config.idle_minutes), (True, config.email_idle_minutes)):
        if minutes:
            before = now - timedelta(minutes=minutes)
            found += store.quiet_bot_conversations(session, before=before, email=email, limit=limit)
    return found


class IdleCloser(ReadThenWrite[ClosingConfig]):
    """Closes quiet conversations in a daemon thread of each server process."""

    drain = True  # a backlog (the first start) goes in short rounds back to back

    thread_name = "warmline-idle"

    def due(self, session: Session, config: ClosingConfig, now: datetime) -> bool:
        return any_idle(session, config=config, now=now)

    def write(self, session: Session, config: ClosingConfig, now: datetime) -> int:
        return len(close_idle(session, config=config, now=now, limit=ROUND))
