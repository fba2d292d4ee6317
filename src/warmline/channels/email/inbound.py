"""One inbound email through the engine, whichever way it came (the SMTP listener or IMAP).

1. Read it (`parsing.parse_email`). Automatic mail is dropped here: it never starts a
   conversation and is never answered.
2. Find its conversation: only through a valid thread token in `In-Reply-To` / `References`
   (`threads.py`) of an email conversation whose customer's address is the sender's. Anything
   else (no token, a forged one, someone else's thread) starts a new conversation, whose id is
   derived from the sender and `Message-ID` so that a redelivered email finds it again.
   The sender's address is kept as an unverified contact detail, never as an identity:
   anyone can put anyone's address in `From`. An email that does continue a thread from the
   conversation's own address confirms it: its sender reads the mail warmline sent there
   (`customers.service.confirm`, docs/customers.md).
3. The newest text goes through the engine as a customer message on channel "email", with the
   `Message-ID` and what else is kept (subject; attachments' names, types and sizes); the
   `Message-ID` is also its idempotency key, so a redelivery stores nothing twice.
4. The bot's reply, if any, is queued in the email outbox with a P.S. when attachments over
   the limit were refused, and sent at once, threaded (`outbox.py`); when the relay is down it
   stays queued and the background sender retries it. It is queued right after the commit that
   stored the message (the engine's write is one statement on PostgreSQL); the email is
   acknowledged (SMTP 250, IMAP `\\Seen`) only after that, and a redelivery of an email whose
   reply was never queued queues it then. An email with no readable text is not stored: the
   customer is told so.

`receive` raises `TryLater` when the email could not be stored now (the sender's server retries:
SMTP 451, or the IMAP message stays unread) and `Unreadable` when there is nobody to answer
(SMTP 550).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from warmline.actions.mail import MailError
from warmline.api.services import Services
from warmline.channels.email.errors import TryLater, Unreadable
from warmline.channels.email.outbound import (
    CHANNEL,
    MAX_REFERENCES,
    Letter,
    NotDeliverable,
    Postman,
    customer_address,
)
from warmline.channels.email.outbox import EmailSender, queue
from warmline.channels.email.parsing import Attachment, InboundEmail, parse_email
from warmline.channels.service import CustomerDetails, start_conversation
from warmline.customers import service as identity
from warmline.customers import store as customer_records
from warmline.domain.customer import Identity
from warmline.domain.events import AnyEvent, BotReply, CustomerMessage
from warmline.engine import ConversationBusy, InboundMessage, Outcome
from warmline.storage import conversations as store
from warmline.storage.customers import get_customer
from warmline.storage.idempotency import IdempotencyConflict

log = logging.getLogger(__name__)
# The bot's emails to one conversation in an hour, at most: a robot that answers every email
# without saying it is one (no Auto-Submitted) cannot keep a loop going.
MAX_BOT_EMAILS_PER_HOUR = 10
__all__ = ["EmailReceiver", "Receipt", "TryLater", "Unreadable"]


@dataclass(frozen=True)
class Receipt:
    """What became of one email: `answered` (stored, and the bot's reply sent), `stored` (no
    reply: a person has the conversation, the reply is queued because the relay failed, or it
    was a redelivery), `ignored` (automatic mail) or `refused` (the customer was told why)."""

    status: Literal["answered", "stored", "ignored", "refused"]
    detail: str
    conversation_id: str | None = None


class EmailReceiver:
    """Takes inbound emails into conversations. Thread-safe: one per process."""

    def __init__(
        self,
        services: Services,
        postman: Postman | None = None,
        sender: EmailSender | None = None,
    ) -> None:
        settings = services.settings
        self.services = services
        self.postman = postman or Postman(settings, services.engine.pipeline.composer.phrasing)
        # Sends the queued reply at once; the background sender (`warmline serve`) retries.
        self.sender = sender or EmailSender(services, self.postman)
        self.max_chars = settings.max_message_chars
        self.max_attachment_bytes = settings.email_max_attachment_bytes
        self.own_addresses = frozenset({settings.mail_from.strip().casefold()})

    def receive(self, raw: bytes, *, envelope_sender: str | None = None) -> Receipt:
        """Take one email (as received) into its conversation and answer it."""
        email = parse_email(
            raw,
            envelope_sender=envelope_sender,
            max_chars=self.max_chars,
            max_attachment_bytes=self.max_attachment_bytes,
            own_addresses=self.own_addresses,
        )
        if email.robot is not None:
            log.info("automatic email ignored (%s)", email.robot)
            return Receipt("ignored", email.robot)
        if email.sender is None:
            raise Unreadable("no sender address could be read from the email")
        if not email.text:
            self._notify(email, "no_text", email.refused_attachments)
            log.info("email without readable text refused (%d MIME defects)", email.defects)
            return Receipt("refused", "no readable text")
        conversation_id = self._thread(email) or self._start(email)
        outcome = self._handle(conversation_id, email)
        if outcome.replayed:
            self._requeue(conversation_id, email)
            return Receipt("stored", "a redelivery; nothing new stored", conversation_id)
        refused = email.refused_attachments
        reply = next((e for e in outcome.events if isinstance(e, BotReply)), None)
        if reply is None:
            if refused:
                self._notify(email, "attachments", refused)
            return Receipt("stored", "no reply", conversation_id)
        # From here on the message is stored: a redelivery stores nothing twice, and queues
        # the reply if this did not get that far (the database went away meanwhile).
        try:
            seq, recent = self._seq_of(conversation_id, reply)
            if recent > MAX_BOT_EMAILS_PER_HOUR:
                # A robot that does not say it is one, answering every email: stop the loop.
                log.warning("conversation %s: too many automatic emails this hour", conversation_id)
                return Receipt("stored", "reply not sent: too many this hour", conversation_id)
            self._queue(conversation_id, seq, refused)
        except SQLAlchemyError as error:
            raise TryLater("the reply could not be queued") from error
        except NotDeliverable as error:
            log.error("the reply to an email could not be sent: %s", error)
            return Receipt("stored", f"reply not sent: {error}", conversation_id)
        except Exception:  # e.g. the P.S. could not be written: the message stays stored
            log.exception("the reply to an email could not be queued")
            return Receipt("stored", "reply not sent", conversation_id)
        attempt = self.sender.send_now(conversation_id=conversation_id, seq=seq)
        if attempt.status == "retrying":
            return Receipt("stored", f"reply queued: {attempt.error}", conversation_id)
        if attempt.status == "dead":
            return Receipt("stored", f"reply not sent: {attempt.error}", conversation_id)
        return Receipt("answered", "answered", conversation_id)

    def _queue(self, conversation_id: str, seq: int, refused: Sequence[Attachment]) -> bool:
        """Put the reply (event `seq`) in the email outbox, with a P.S. about `refused`
        attachments; False when it was there already."""
        postscript = (
            self.postman.notice("attachments", refused=refused, postscript=True)
            if refused
            else None
        )
        with self.services.sessions() as session, session.begin():
            return queue(session, conversation_id=conversation_id, seq=seq, postscript=postscript)

    def _requeue(self, conversation_id: str, email: InboundEmail) -> None:
        """A redelivered email: queue its reply if the first delivery stored the message but
        never queued the reply (it went away in between, so its sender was never told the
        email was taken). A reply older than the outbox's retry window is left alone (it was
        sent, or given up, before the outbox existed)."""
        if not email.message_id:
            return
        try:
            with self.services.reading() as session, session.begin():
                events = store.load_events(session, conversation_id=conversation_id)
            seq = reply_to_email(events, email.message_id)
            if seq is None:
                return
            reply = events[seq - 1]
            window = timedelta(hours=self.services.settings.email_give_up_hours)
            if reply.ts < _now_like(reply.ts) - window:
                return
            since = reply.ts - timedelta(hours=1)
            recent = sum(isinstance(e, BotReply) and e.ts > since for e in events[:seq])
            if recent > MAX_BOT_EMAILS_PER_HOUR:
                return
            if not self._queue(conversation_id, seq, email.refused_attachments):
                return
        except SQLAlchemyError as error:
            raise TryLater("the reply could not be queued") from error
        except Exception:  # never make a redelivery fail for its reply
            log.exception("the reply to a redelivered email could not be queued")
            return
        log.warning("conversation %s: the reply to a redelivered email was queued", conversation_id)
        self.sender.send_now(conversation_id=conversation_id, seq=seq)

    def refuse_too_large(self, header: bytes, size: int, limit: int) -> Receipt:
        """An email of `size` bytes, over the `limit`, of which only the header was read
        (IMAP): its sender is told it could not be received."""
        email = parse_email(header, own_addresses=self.own_addresses)
        if email.robot is not None:
            log.info("automatic email ignored (%s)", email.robot)
            return Receipt("ignored", email.robot)
        if email.sender is None:
            raise Unreadable("no sender address could be read from the email")
        self._notify(email, "too_large", (), limit=limit)
        log.info("email of %d bytes refused: over the size limit", size)
        return Receipt("refused", "too large")

    # -- steps ------------------------------------------------------------------------------

    def _thread(self, email: InboundEmail) -> str | None:
        """The email conversation this email continues, if it carries a valid thread token
        and comes from that conversation's customer."""
        conversation_id = self.postman.keys.conversation_of(email.answers)
        if conversation_id is None:
            if any("<wl." in value for value in email.answers):
                log.warning("an email names a thread token that is not valid: new conversation")
            return None
        try:
            with self.services.reading() as session, session.begin():
                head = store.head(session, conversation_id=conversation_id)
                customer = (
                    get_customer(session, customer_id=head.customer_id)
                    if head is not None and head.customer_id
                    else None
                )
                own = customer_records.reply_to(session, conversation_id=conversation_id)
        except SQLAlchemyError as error:
            raise TryLater("the database could not be read") from error
        if head is None or head.channel != CHANNEL:
            return None
        address = own or customer_address(customer)
        if address is None or email.sender is None or address.casefold() != email.sender.casefold():
            log.warning(
                "an email answers conversation %s from another address: new conversation",
                conversation_id,
            )
            return None
        if head.customer_id is not None:
            self._confirm(conversation_id, head.customer_id, email.sender, remember=own is None)
        return conversation_id

    def _confirm(
        self, conversation_id: str, customer_id: str, address: str, *, remember: bool
    ) -> None:
        """The sender answered, from the conversation's own address, a thread only warmline
        could have started: they read the mail sent there, so the address is confirmed (and a
        customer who already holds it gets this conversation; `remember`: the conversation,
        older than its own reply address, keeps this one). A failure here loses nothing: the
        next answer confirms it."""
        try:
            with self.services.sessions() as session, session.begin():
                if remember:
                    customer_records.set_reply_to(
                        session, conversation_id=conversation_id, address=address
                    )
                identity.confirm(
                    session,
                    customer_id=customer_id,
                    identity=Identity("email", address),
                    source=identity.EMAIL_REPLY,
                )
        except SQLAlchemyError as error:
            log.warning("the sender's address could not be confirmed now: %s", error)

    def _start(self, email: InboundEmail) -> str:
        """A new email conversation for this email (or the one a first delivery opened)."""
        assert email.sender is not None
        chosen = (
            self.postman.keys.new_conversation_id(email.sender, email.message_id)
            if email.message_id
            else None
        )
        try:
            with self.services.sessions() as session, session.begin():
                if chosen and store.head(session, conversation_id=chosen) is not None:
                    return chosen
                conversation = start_conversation(
                    session,
                    channel=CHANNEL,
                    details=CustomerDetails(name=email.sender_name, email=email.sender),
                    verified=False,  # an address in From proves nothing
                    conversation_id=chosen,
                )
                customer_records.set_reply_to(
                    session, conversation_id=conversation.id, address=email.sender
                )
                return conversation.id
        except SQLAlchemyError as error:  # the database, or the same email delivered twice
            raise TryLater("the conversation could not be opened") from error

    def _handle(self, conversation_id: str, email: InboundEmail) -> Outcome:
        key = (
            "email:" + hashlib.sha256(email.message_id.encode()).hexdigest()
            if email.message_id
            else None
        )
        message = InboundMessage(
            conversation_id=conversation_id,
            text=email.text,
            channel=CHANNEL,
            idempotency_key=key,
            message_id=email.message_id,
            meta=email.meta(),
        )
        engine = self.services.engine
        try:
            try:
                return engine.handle(message)
            except IdempotencyConflict:
                # The same Message-ID with other content: a different email after all.
                return engine.handle(replace(message, idempotency_key=None))
        except (ConversationBusy, SQLAlchemyError) as error:
            raise TryLater("the message could not be stored") from error

    def _seq_of(self, conversation_id: str, reply: BotReply) -> tuple[int, int]:
        """The sequence number the store gave the bot's reply, and how many bot replies the
        conversation had in the hour up to it."""
        with self.services.reading() as session, session.begin():
            events = store.load_events(session, conversation_id=conversation_id)
        for seq in range(len(events), 0, -1):
            event = events[seq - 1]
            if isinstance(event, BotReply) and event.ts == reply.ts and event.kind == reply.kind:
                since = event.ts - timedelta(hours=1)
                recent = sum(isinstance(e, BotReply) and e.ts > since for e in events[:seq])
                return seq, recent
        raise NotDeliverable("the reply is not in the conversation")

    def _notify(
        self,
        email: InboundEmail,
        problem: str,
        refused: tuple[Attachment, ...] | list[Attachment],
        limit: int | None = None,
    ) -> None:
        """Tell the sender what happened to an email that was not taken as it was."""
        assert email.sender is not None
        text = self.postman.letter_text(
            self.postman.notice(problem, refused=refused, limit=limit), name=email.sender_name
        )
        references = [*email.references, *([email.message_id] if email.message_id else [])]
        letter = Letter(
            to=email.sender,
            subject=self.postman.subject(email.subject),
            text=text,
            message_id=make_msgid(domain=self.postman.domain),
            in_reply_to=email.message_id,
            references=tuple(references[-MAX_REFERENCES:]),
            automatic=True,
        )
        try:
            self.postman.send(letter)
        except MailError as error:
            log.error("a notice about an email could not be sent: %s", error)


def reply_to_email(events: list[AnyEvent], message_id: str) -> int | None:
    """The seq of the bot's reply to the customer's email `message_id` (the first bot reply
    after it, before the customer wrote again), if there is one."""
    found = False
    for seq, event in enumerate(events, start=1):
        if isinstance(event, CustomerMessage):
            if found:
                return None
            found = event.message_id == message_id
        elif found and isinstance(event, BotReply):
            return seq
    return None


def _now_like(moment: datetime) -> datetime:
    """Now, aware or naive as `moment` is (UTC either way)."""
    now = datetime.now(UTC)
    return now if moment.tzinfo else now.replace(tzinfo=None)
