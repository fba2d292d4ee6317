"""Email to the customer: the bot's replies, the agents' messages, and notices about an email
that could not be taken as it was.

Each email has a text part and an HTML part, comes from `WARMLINE_MAIL_FROM` and goes through
the mailer of `WARMLINE_SMTP_URL` (`actions.mail`: the relay, or `.eml` files in the outbox
directory when unset). It is threaded so that any mail client shows the conversation as one
thread and answers into it: its `Message-ID` carries the conversation's thread token
(`threads.py`), `In-Reply-To` names the customer's latest email, `References` the thread so
far. The bot's emails say they are automatic (`Auto-Submitted: auto-replied`, RFC 3834), so
well-behaved robots never answer them.

`deliver` sends one stored event of a conversation (a bot reply, a survey, an agent's message);
it is the one function any delivery path calls: the durable outbox (`outbox.py`) calls it for
the first attempt right after the commit and for every retry, and the same event always makes
the same `Message-ID`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formatdate

from sqlalchemy.orm import Session, sessionmaker

from warmline.actions.mail import MailError, OutboxMailer, SmtpMailer, mailer_from_url
from warmline.api.services import Services
from warmline.automation.phrasing import Phrasing
from warmline.channels.email.parsing import Attachment, megabytes
from warmline.channels.email.threads import ThreadKeys, domain_of
from warmline.config import Settings
from warmline.customers.store import reply_to
from warmline.domain.customer import Customer
from warmline.domain.events import AgentMessage, AnyEvent, BotReply, CustomerMessage
from warmline.storage import conversations as store
from warmline.storage.agents import agent_names
from warmline.storage.customers import get_customer

log = logging.getLogger(__name__)
CHANNEL = "email"
# Bot replies the composer already shaped as a letter (`reply.email.j2`: greeting, sign-off).
# Every other bot reply (a handoff notice, a queue reminder, an action's words, a survey) is
# put in `letter.email.j2` here.
COMPOSED_AS_LETTERS = frozenset({"answer", "clarify", "small_talk", "no_answer", "offer_handoff"})
MAX_REFERENCES = 20  # the first Message-ID of the thread and the latest ones (RFC 5322 3.6.4)
_PREFIXES = re.compile(r"^\s*((re|fw|fwd|aw|sv|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b", re.I)
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


class NotDeliverable(ValueError):
    """The event is not something the customer reads by email, or there is nobody to send
    it to (the conversation is not an email one, or its customer has no address)."""


@dataclass(frozen=True)
class Letter:
    """One email about to leave."""

    to: str
    subject: str
    text: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    automatic: bool


class Postman:
    """Composes and sends the channel's emails (settings, templates, the mailer, the keys)."""

    def __init__(
        self,
        settings: Settings,
        phrasing: Phrasing,
        mailer: SmtpMailer | OutboxMailer | None = None,
    ) -> None:
        self.sender = settings.mail_from
        self.domain = domain_of(settings.mail_from)
        self.keys = ThreadKeys(settings.secret_key)
        self.phrasing = phrasing
        self.attachment_limit = settings.email_max_attachment_bytes
        self.message_limit = settings.email_max_message_bytes
        self.mailer = mailer or mailer_from_url(
            settings.smtp_url,
            sender=settings.mail_from,
            outbox=settings.data_dir / "outbox",
            password=settings.smtp_password,
        )

    def send(self, letter: Letter) -> None:
        """Hand the email to the relay (or the outbox), or raise `MailError` (whatever went
        wrong: the caller has stored the message and must not fail because of its reply)."""
        try:
            self.mailer.send_message(self.compose(letter))
        except MailError:
            raise
        except Exception as exc:  # e.g. text the email package cannot encode
            raise MailError(f"the email could not be written: {type(exc).__name__}") from exc

    def compose(self, letter: Letter) -> EmailMessage:
        """The email with its threading headers and its text and HTML parts."""
        message = EmailMessage()
        try:
            message["From"] = self.sender
            message["To"] = letter.to
            message["Subject"] = letter.subject
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = letter.message_id
            if letter.in_reply_to:
                message["In-Reply-To"] = letter.in_reply_to
            if letter.references:
                message["References"] = " ".join(letter.references)
            if letter.automatic:
                message["Auto-Submitted"] = "auto-replied"
            # Asks Exchange and Outlook not to send out-of-office replies to this email.
            message["X-Auto-Response-Suppress"] = "All"
        except (ValueError, IndexError) as exc:
            raise MailError(f"the email has an invalid header: {exc}") from exc
        message.set_content(letter.text, cte="quoted-printable")
        message.add_alternative(as_html(letter.text), subtype="html", cte="quoted-printable")
        return message

    # -- what the emails say ----------------------------------------------------------------

    def letter_text(self, body: str, *, name: str | None, signer: str | None = None) -> str:
        """`body` as a letter: a greeting (unless it opens with one) and a sign-off."""
        return self.phrasing.render(
            "letter.email.j2",
            body=body,
            name=name,
            signer=signer,
            greet=not _GREETING.match(body),
        )

    def notice(
        self,
        problem: str,
        *,
        refused: Sequence[Attachment] = (),
        postscript: bool = False,
        limit: int | None = None,
    ) -> str:
        """What the customer is told about an email that could not be taken as it was
        (`limit`: the size limit that refused it, if not the configured one)."""
        if limit is None:
            limit = self.message_limit if problem == "too_large" else self.attachment_limit
        return self.phrasing.render(
            "notice.email.j2",
            problem=problem,
            refused=[{"label": a.label} for a in refused],
            limit=_round_megabytes(limit),
            postscript=postscript,
        )

    def subject(self, subject: str | None) -> str:
        """The reply's subject: "Re: " and the customer's, without its own Re:/Fwd:."""
        # Text that looks like an encoded word ("=?charset?q?...?=") would be decoded again
        # when set as a header; a space keeps it the text the customer sees.
        bare = _PREFIXES.sub("", subject or "").replace("=?", "= ?").strip()
        return f"Re: {bare}" if bare else self.phrasing.phrase("email", "subject")


def deliver(
    services: Services,
    *,
    conversation_id: str,
    seq: int,
    postscript: str | None = None,
    postman: Postman | None = None,
) -> str:
    """Email event `seq` of an email conversation (a bot reply, a survey or an agent's
    message) to its customer, threaded; returns the email's `Message-ID`.

    `services` is the running system's `Services` (settings, sessions, the composer's
    templates); `postscript` is added after the sign-off (a notice about refused
    attachments). Raises `NotDeliverable` for an event the customer does not read by email
    and `MailError` when the relay refuses or fails. Reads only: call it after the commit that
    stored the event."""
    postman = postman or Postman(services.settings, services.engine.pipeline.composer.phrasing)
    letter = _letter(services.reading, postman, conversation_id, seq)
    if postscript:
        letter = replace(letter, text=f"{letter.text}\n\n{postscript}")
    postman.send(letter)
    return letter.message_id


def _letter(
    readers: sessionmaker[Session], postman: Postman, conversation_id: str, seq: int
) -> Letter:
    with readers() as session, session.begin():
        head = store.head(session, conversation_id=conversation_id)
        if head is None or head.channel != CHANNEL:
            raise NotDeliverable(f"conversation {conversation_id} is not an email conversation")
        events = store.load_events(session, conversation_id=conversation_id)
        if not 1 <= seq <= len(events):
            raise NotDeliverable(f"conversation {conversation_id} has no event {seq}")
        if not any(came_by_email(e) for e in events):
            # Only an address an email came from is written to: a conversation opened through
            # the API with channel "email" must not make warmline mail whatever address a
            # visitor typed.
            raise NotDeliverable(f"no email came in conversation {conversation_id}")
        customer = get_customer(session, customer_id=head.customer_id) if head.customer_id else None
        own = reply_to(session, conversation_id=conversation_id)
        event = events[seq - 1]
        signer = None
        if isinstance(event, AgentMessage):
            names = agent_names(session, agent_ids={event.agent})
            signer = names.get(event.agent, event.agent)
    address = own or customer_address(customer)
    if address is None:
        raise NotDeliverable(f"conversation {conversation_id} has no email address to write to")
    name = customer.name if customer is not None else None
    if isinstance(event, BotReply):
        shaped = event.kind in COMPOSED_AS_LETTERS
        text = event.text if shaped else postman.letter_text(event.text, name=name)
    elif isinstance(event, AgentMessage):
        text = postman.letter_text(event.text, name=name, signer=signer)
    else:
        raise NotDeliverable(f"a {event.type} event is not emailed to the customer")
    in_reply_to, references = thread_of(postman, conversation_id, events[: seq - 1])
    return Letter(
        to=address,
        subject=postman.subject(subject_of(events)),
        text=text,
        message_id=postman.keys.message_id(conversation_id, seq, postman.domain),
        in_reply_to=in_reply_to,
        references=references,
        automatic=isinstance(event, BotReply),
    )


def came_by_email(event: AnyEvent) -> bool:
    """Whether the event is a customer message the email channel took in."""
    return (
        isinstance(event, CustomerMessage) and event.channel == CHANNEL and event.meta is not None
    )


def customer_address(customer: Customer | None) -> str | None:
    """Where the customer's emails go: the address their email came from (kept, unverified,
    as a contact detail), else a verified email identity."""
    if customer is None:
        return None
    contact = customer.attributes.get("unverified_contact")
    if isinstance(contact, dict) and isinstance(contact.get("email"), str):
        return str(contact["email"])
    for identity in customer.identities:
        if identity.kind == "email":
            return identity.value
    return None


def thread_of(
    postman: Postman, conversation_id: str, earlier: Sequence[AnyEvent]
) -> tuple[str | None, tuple[str, ...]]:
    """`In-Reply-To` and `References` for an email after the `earlier` events: the customer's
    emails (their Message-IDs as stored) and ours (made again from their seq)."""
    ids: list[str] = []
    latest_customer: str | None = None
    for seq, event in enumerate(earlier, start=1):
        if isinstance(event, CustomerMessage) and event.message_id:
            ids.append(event.message_id)
            latest_customer = event.message_id
        elif isinstance(event, BotReply | AgentMessage):
            ids.append(postman.keys.message_id(conversation_id, seq, postman.domain))
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return latest_customer or (ids[-1] if ids else None), tuple(ids)


def subject_of(events: Sequence[AnyEvent]) -> str | None:
    """The subject of the conversation: that of the customer's first email."""
    for event in events:
        if isinstance(event, CustomerMessage) and event.meta and event.meta.get("subject"):
            return str(event.meta["subject"])
    return None


def as_html(text: str) -> str:
    """The text as simple HTML: paragraphs, line breaks, links."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "\n".join(f"<p>{_linked(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif; line-height: 1.5">\n{body}\n</body></html>\n'
    )


def _linked(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _round_megabytes(size: int) -> str:
    shown = megabytes(size)
    return shown.replace(".0 MB", " MB")
