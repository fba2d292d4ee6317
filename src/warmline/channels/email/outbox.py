"""The durable email outbox: every email to a customer is queued in the database, sent at once,
and, when the relay is down, retried by the background sender until it is taken or given up.

- `queue` puts event `seq` of an email conversation in the outbox (`storage.email_outbox`),
  in the caller's transaction: for an agent's message and a survey on resolve
  (`queue_latest`) the one that stores the event; for the bot's reply to an email the one
  right after the engine's write (`inbound.py` says why nothing is lost in between).
- `EmailSender.send_now` tries it at once, right after the commit, so the reply still leaves
  immediately when the relay is up. Whoever claims the row sends it: the immediate attempt or
  the background sender, never both at once (a lease, `FOR UPDATE SKIP LOCKED` on
  PostgreSQL).
- The background sender (`EmailSender.start`, one thread in each server process) retries what
  failed: `WARMLINE_EMAIL_RETRY_SECONDS` (30 s), twice as long each time up to
  `WARMLINE_EMAIL_RETRY_MAX_SECONDS` (1 h); an email still not sent
  `WARMLINE_EMAIL_GIVE_UP_HOURS` (24 h) after it was queued, or refused for good (a 5xx
  answer, a conversation that can no longer be emailed), is dead-lettered with an internal
  note in the conversation. When the relay takes an email again, every pending one is made
  due at once, and the senders of every process are woken (`warmline_email` notices).

Every attempt sends the same `Message-ID` (made from the conversation's thread token and the
event's seq, `threads.py`), so a relay that took an email but timed out before answering makes
at worst a duplicate that mail clients recognise as one.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from warmline.actions.mail import MailError
from warmline.api.services import Services
from warmline.background import BackgroundLoop
from warmline.channels.email.outbound import (
    CHANNEL,
    NotDeliverable,
    Postman,
    came_by_email,
    deliver,
)
from warmline.domain.conversation import Conversation
from warmline.domain.events import AgentMessage, BotReply
from warmline.storage import email_outbox as outbox
from warmline.storage.broadcast import EMAIL

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)  # far longer than one SMTP exchange (each step times out at 10 s)
POLL_SECONDS = 5.0  # how often the background sender looks when nothing wakes it


@dataclass(frozen=True)
class Attempt:
    """What became of one attempt: `sent`, `retrying` (it stays in the outbox), `dead`, or
    `elsewhere` (another worker holds the row, or it was no longer pending)."""

    status: Literal["sent", "retrying", "dead", "elsewhere"]
    error: str | None = None
    message_id: str | None = None


def queue(
    session: Session, *, conversation_id: str, seq: int, postscript: str | None = None
) -> bool:
    """Queue event `seq` of the conversation to be emailed, in the caller's transaction;
    False when it was queued already."""
    return outbox.enqueue(
        session,
        conversation_id=conversation_id,
        seq=seq,
        postscript=postscript,
        now=datetime.now(UTC),
    )


def queue_latest(session: Session, conversation: Conversation) -> Conversation:
    """In an email conversation whose newest event the customer reads (an agent's message, a
    survey on resolve), queue that event for email in the caller's transaction, which is the
    one that stored it. Only a conversation an email came in is written to (`outbound`): one
    opened through the API with channel "email" queues nothing."""
    if conversation.channel != CHANNEL or not conversation.events:
        return conversation
    latest = conversation.events[-1]
    if isinstance(latest, AgentMessage | BotReply) and any(
        came_by_email(event) for event in conversation.events
    ):
        queue(session, conversation_id=conversation.id, seq=conversation.seq)
    return conversation


def send_or_note(services: Services, *, conversation_id: str, seq: int) -> Attempt:
    """Send a queued email at once, for a person waiting on it (an agent's message): when the
    first attempt fails, an internal note says so, so the agent knows the customer has not got
    it yet; the email stays queued and is retried (a dead letter leaves its own note)."""
    attempt = EmailSender(services).send_now(conversation_id=conversation_id, seq=seq)
    if attempt.status == "retrying":
        hours = f"{services.settings.email_give_up_hours:g}"
        text = (
            f"This message was not emailed to the customer yet: {attempt.error}. warmline "
            f"keeps trying for {hours} hours and leaves a note if it gives up."
        )
    elif attempt.status == "elsewhere" and not _was_queued(services, conversation_id, seq):
        text = (
            "This message was not emailed to the customer: no email came in this "
            "conversation, so there is no address warmline may write to."
        )
    else:
        return attempt
    from warmline.handoff.service import add_note

    try:
        with services.sessions() as session, session.begin():
            add_note(session, conversation_id=conversation_id, author="warmline", text=text)
    except SQLAlchemyError as failed:
        log.error("no note about the unsent email of %s: %s", conversation_id, failed)
    return attempt


def _was_queued(services: Services, conversation_id: str, seq: int) -> bool:
    try:
        with services.reading() as session, session.begin():
            return outbox.queued(session, conversation_id=conversation_id, seq=seq) is not None
    except SQLAlchemyError:
        return True  # unknown: say nothing rather than something wrong


class EmailSender(BackgroundLoop):
    """Sends queued emails: one at once (`send_now`), and every due one in a background
    thread (`start`). Thread-safe."""

    batch = 20  # emails claimed at once by one round
    interval = POLL_SECONDS
    drain = True
    join_seconds = 30.0

    def __init__(self, services: Services, postman: Postman | None = None) -> None:
        super().__init__("warmline-email-out")
        self.services = services
        self.settings = services.settings
        self.postman = postman or Postman(
            services.settings, services.engine.pipeline.composer.phrasing
        )

    def start(self) -> None:
        """Send what is due in a daemon thread, woken by `warmline_email` notices."""
        self.services.broadcast.subscribe(EMAIL, self.wake)
        super().start()

    def run_once(self, now: datetime | None = None) -> int:
        """One round: claim the due emails and try each; how many were tried."""
        now = now or datetime.now(UTC)
        with self.services.reading() as session, session.begin():
            if not outbox.anything_due(session, now=now):
                return 0  # nothing to do, and SQLite's write lock was never taken
        with self.services.sessions() as session, session.begin():
            due = outbox.claim_due(session, now=now, lease=LEASE, limit=self.batch)
        for held in due:
            self._attempt(held, now)
        return len(due)

    # -- one email -------------------------------------------------------------------------

    def send_now(self, *, conversation_id: str, seq: int) -> Attempt:
        """Try the queued email of event `seq` now (after the commit that queued it)."""
        now = datetime.now(UTC)
        try:
            with self.services.sessions() as session, session.begin():
                held = outbox.claim(
                    session, conversation_id=conversation_id, seq=seq, now=now, lease=LEASE
                )
        except SQLAlchemyError as error:
            # Queued already: the background sender sends it when the database is back.
            log.warning("an email could not be sent at once: %s", type(error).__name__)
            return Attempt("retrying", "the database could not be reached")
        if held is None:
            return Attempt("elsewhere")
        return self._attempt(held, now)

    def _attempt(self, held: outbox.Claimed, now: datetime) -> Attempt:
        message_id: str | None = None
        error: str | None = None
        permanent = False
        try:
            message_id = deliver(
                self.services,
                conversation_id=held.conversation_id,
                seq=held.seq,
                postscript=held.postscript,
                postman=self.postman,
            )
        except NotDeliverable as refused:
            error, permanent = str(refused), True
        except MailError as failed:
            error, permanent = str(failed), refused_for_good(failed)
        except SQLAlchemyError as failed:
            error = f"the database could not be read: {type(failed).__name__}"
        except Exception as failed:  # never lose the row to a surprise: retry it
            log.exception("email %d could not be sent", held.id)
            error = f"unexpected error: {type(failed).__name__}"
        retry_at = None if error is None or permanent else self._retry_at(held, now)
        status: Literal["sent", "retrying", "dead"] = (
            "sent" if error is None else "retrying" if retry_at is not None else "dead"
        )
        try:
            with self.services.sessions() as session, session.begin():
                recorded = outbox.record(
                    session,
                    held=held,
                    now=now,
                    error=error,
                    retry_at=retry_at,
                    message_id=message_id,
                )
                if recorded and status == "dead":
                    self._note_dead(session, held, error or "", gave_up=not permanent)
                if recorded and status == "sent" and outbox.hurry(session, now=now):
                    self.services.broadcast.publish_in(session, EMAIL, "due")
        except SQLAlchemyError as failed:
            # The lease runs out and the email is tried again: at worst a duplicate with the
            # same Message-ID.
            log.error("the outcome of email %d was not recorded: %s", held.id, failed)
            return Attempt(status, error, message_id)
        if not recorded:
            log.warning("email %d was taken over by another worker while being sent", held.id)
            return Attempt("elsewhere", error, message_id)
        if status == "sent":
            log.info("conversation %s event %d emailed", held.conversation_id, held.seq)
        else:
            log.warning(
                "conversation %s event %d not emailed (%s, attempt %d): %s",
                held.conversation_id,
                held.seq,
                status,
                held.attempts + 1,
                error,
            )
        return Attempt(status, error, message_id)

    def _retry_at(self, held: outbox.Claimed, now: datetime) -> datetime | None:
        """When to try again after a failed attempt, or None when it is time to give up."""
        if now >= held.created_at + timedelta(hours=self.settings.email_give_up_hours):
            return None
        delay = min(
            self.settings.email_retry_seconds * 2 ** min(held.attempts, 30),
            self.settings.email_retry_max_seconds,
        )
        return now + timedelta(seconds=delay)

    @staticmethod
    def _note_dead(session: Session, held: outbox.Claimed, error: str, *, gave_up: bool) -> None:
        """An internal note in the conversation, for the agents to see (in the transaction
        that records the dead letter; a conversation that is gone only loses the note)."""
        from warmline.handoff.service import ConversationMissing, add_note

        why = (
            f"warmline gave up after {held.attempts + 1} attempt(s)"
            if gave_up
            else "it was refused for good"
        )
        text = (
            f"Event {held.seq} was not emailed to the customer: {why}. Last error: {error}. "
            f"An administrator can send it again with `warmline email replay {held.id}`."
        )
        try:
            with session.begin_nested():
                add_note(
                    session, conversation_id=held.conversation_id, author="warmline", text=text
                )
        except (ConversationMissing, SQLAlchemyError) as failed:
            log.error("no note about dead email %d: %s", held.id, failed)


def refused_for_good(error: MailError) -> bool:
    """Whether the relay refused the email permanently (an SMTP 5xx answer): retrying cannot
    help. Timeouts, refused connections and 4xx answers are retried."""
    cause = error.__cause__
    if isinstance(cause, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in cause.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(cause, smtplib.SMTPResponseException):
        return 500 <= cause.smtp_code < 600
    return False
