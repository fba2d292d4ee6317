"""The email channel through real SMTP on loopback: `warmline serve` runs as a process with its
SMTP listener on, mail goes in with `smtplib`, and what warmline sends is caught by an aiosmtpd
relay standing in for the mail server (`WARMLINE_SMTP_URL`). The same server polls a real
Dovecot IMAP mailbox. Then the pieces on their own: thread tokens, reading emails, the IMAP
poller and the listener's limits, in process on both storage backends."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

from dovecot import ImapServer, dovecot_server
from helpers import API_KEY_HEADERS, TEST_ENVIRONMENT
from servers import free_port, server_environment, start_server
from warmline.api.services import Services
from warmline.channels.email.imap import ImapPoller, parse_imap_url
from warmline.channels.email.inbound import (
    MAX_BOT_EMAILS_PER_HOUR,
    EmailReceiver,
    Receipt,
    TryLater,
)
from warmline.channels.email.outbound import Postman
from warmline.channels.email.parsing import parse_email
from warmline.channels.email.smtp import SmtpListener
from warmline.channels.email.threads import ThreadKeys
from warmline.storage import conversations as store

pytestmark = pytest.mark.xdist_group("email")

SUPPORT = "support@brightwave.example"
KEYS = ThreadKeys(TEST_ENVIRONMENT["WARMLINE_SECRET_KEY"])


# -- the relay that catches what warmline sends ---------------------------------------------


@dataclass
class Relay:
    """An aiosmtpd handler keeping every email handed to it, by recipient."""

    port: int = 0
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """What was sent to `address` so far, oldest first."""
        with self.lock:
            return [message for rcpt, message in self.received if address in rcpt]

    def wait_for(self, address: str, count: int, timeout: float = 30) -> list[EmailMessage]:
        """Wait until `count` emails reached `address` (for IMAP, which is polled)."""
        deadline = time.monotonic() + timeout
        while len(found := self.to(address)) < count:
            assert time.monotonic() < deadline, f"{len(found)} of {count} emails to {address}"
            time.sleep(0.1)
        return found


@pytest.fixture(scope="module")
def relay() -> Iterator[Relay]:
    caught = Relay(port=free_port())
    controller = Controller(caught, hostname="127.0.0.1", port=caught.port)
    controller.start()
    yield caught
    controller.stop()


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    with dovecot_server() as server:
        yield server


@dataclass(frozen=True)
class Server:
    base: str
    smtp_port: int


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, relay: Relay, imap: ImapServer
) -> Iterator[Server]:
    """`warmline serve` with the SMTP listener, IMAP polling and the relay, on SQLite with the
    demo help centre."""
    data = tmp_path_factory.mktemp("email-server")
    shutil.copy(sqlite_template, data / "warmline.db")
    smtp_port, port = free_port(), free_port()
    env = server_environment(
        data,
        WARMLINE_EMAIL_INBOUND_PORT=str(smtp_port),
        WARMLINE_SMTP_URL=f"smtp://127.0.0.1:{relay.port}",
        WARMLINE_MAIL_FROM=SUPPORT,
        WARMLINE_IMAP_URL=imap.url,
        WARMLINE_IMAP_PASSWORD=imap.password,
        WARMLINE_IMAP_POLL_SECONDS="0.3",
        SSL_CERT_FILE=str(imap.ca_file),  # the server trusts the test CA for IMAPS
    )
    with (data / "server.log").open("wb") as log:
        process = start_server(env, port, log)
        try:
            yield Server(f"http://127.0.0.1:{port}", smtp_port)
        finally:
            process.terminate()
            process.wait(20)
    text = (data / "server.log").read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]


# -- helpers ----------------------------------------------------------------------------------


def customer_email(
    text: str,
    *,
    sender: str,
    subject: str = "Question",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """An email as a mail client writes it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    return message


def address_of(sender: str) -> str:
    return sender.rpartition("<")[2].strip(">") if "<" in sender else sender


def send(
    server: Server,
    message: EmailMessage | bytes,
    *,
    envelope_from: str,
    recipients: list[str] | None = None,
) -> dict[str, tuple[int, bytes]]:
    """Hand the email to warmline's listener; returns the refused recipients. Returns once
    warmline answered 250, that is once it took the email in and sent its reply."""
    raw = message if isinstance(message, bytes) else wire(message)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=120) as smtp:
        return smtp.sendmail(envelope_from, recipients or [SUPPORT], raw)


def wire(message: EmailMessage) -> bytes:
    """The email as it travels over SMTP (CRLF line ends)."""
    return message.as_bytes(policy=default_policy.clone(linesep="\r\n"))


def plain(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content()).replace("\r\n", "\n")


def conversation(server: Server, conversation_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.base}/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def customer_messages(server: Server, conversation_id: str) -> list[dict[str, Any]]:
    events = conversation(server, conversation_id)["events"]
    return [e for e in events if e["type"] == "customer_message"]


def no_conversation_from(server: Server, sender: str, message_id: str) -> bool:
    """Whether the email with this sender and Message-ID opened no conversation."""
    conversation_id = KEYS.new_conversation_id(sender, message_id)
    response = httpx.get(
        f"{server.base}/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS
    )
    return response.status_code == 404


def unseen(client: IMAPClient) -> list[int]:
    """The unread messages of the INBOX as they are now (selected afresh: another session
    marks them read)."""
    client.select_folder("INBOX", readonly=True)
    found: list[int] = client.search(["UNSEEN"])
    return found


def thread_of(reply: EmailMessage) -> str:
    """The conversation a reply's Message-ID names (checked with the deployment's key)."""
    conversation_id = KEYS.conversation_of([str(reply["Message-ID"])])
    assert conversation_id is not None, reply["Message-ID"]
    return conversation_id


# -- end to end through `warmline serve` ------------------------------------------------------


def test_an_email_is_answered_in_its_thread_and_a_reply_from_a_mail_client_continues_it(
    server: Server, relay: Relay
) -> None:
    ana = "ana.thread@example.com"
    first = customer_email(
        "Hello, how do I reset my password? I can't log in to my account.",
        sender=f"Ana Lopez <{ana}>",
        subject="Password",
        message_id="<first.ana@mail.example.com>",
    )
    assert send(server, first, envelope_from=ana) == {}
    [reply] = relay.to(ana)
    assert reply["From"] == SUPPORT and reply["To"] == ana
    assert reply["Subject"] == "Re: Password"
    assert reply["In-Reply-To"] == "<first.ana@mail.example.com>"
    assert str(reply["References"]).split() == ["<first.ana@mail.example.com>"]
    assert reply["Auto-Submitted"] == "auto-replied"  # no robot answers the bot
    conversation_id = thread_of(reply)
    text = plain(reply)
    assert text.startswith("Hello Ana Lopez,") and text.rstrip().endswith("The support team")
    assert text.count("Hello Ana Lopez,") == 1 and text.count("Kind regards") == 1
    html = reply.get_body(preferencelist=("html",))
    assert isinstance(html, EmailMessage) and "<p>Hello Ana Lopez,</p>" in html.get_content()

    # Ana answers from her mail client: above the quoted reply, with an attribution line and
    # her signature; In-Reply-To and References name the bot's email.
    quoted = "\n".join(f"> {line}" for line in text.splitlines())
    answer = customer_email(
        "Thanks. And how long does a refund take?\n\nBest regards,\nAna\n\n"
        f"On Mon, 1 Jun 2026 at 10:00, Support <{SUPPORT}> wrote:\n{quoted}\n",
        sender=f"Ana Lopez <{ana}>",
        subject="Re: Password",
        message_id="<second.ana@mail.example.com>",
        in_reply_to=str(reply["Message-ID"]),
        references=f"<first.ana@mail.example.com> {reply['Message-ID']}",
    )
    send(server, answer, envelope_from=ana)
    replies = relay.to(ana)
    assert len(replies) == 2
    later = replies[1]
    assert thread_of(later) == conversation_id  # the same conversation, the same thread
    assert later["Subject"] == "Re: Password"
    assert later["In-Reply-To"] == "<second.ana@mail.example.com>"
    assert str(later["References"]).split() == [
        "<first.ana@mail.example.com>",
        str(reply["Message-ID"]),
        "<second.ana@mail.example.com>",
    ]
    state = conversation(server, conversation_id)
    assert state["channel"] == "email"
    said = [m for m in state["events"] if m["type"] == "customer_message"]
    assert [m["text"] for m in said] == [
        "Hello, how do I reset my password? I can't log in to my account.",
        "Thanks. And how long does a refund take?",  # no quoted history, no signature
    ]
    assert [m["message_id"] for m in said] == [
        "<first.ana@mail.example.com>",
        "<second.ana@mail.example.com>",
    ]
    assert all(m["channel"] == "email" for m in said)
    assert said[0]["meta"] == {"subject": "Password"}
    # The address is kept as an unverified contact detail, never as an identity.
    assert state["customer_id"]


def test_an_upset_email_is_handed_over_with_its_packet_and_the_agent_answers_by_email(
    server: Server, relay: Relay
) -> None:
    ben = "ben.upset@example.com"
    upset = customer_email(
        "This is ridiculous!!! I have written THREE times and nobody answers. I am so angry "
        "and fed up with your useless service. Absolutely unacceptable!!!",
        sender=f"Ben Ortiz <{ben}>",
        subject="No answer AGAIN",
        message_id="<upset.ben@mail.example.com>",
    )
    send(server, upset, envelope_from=ben)
    [notice] = relay.to(ben)
    conversation_id = thread_of(notice)
    text = plain(notice)
    assert text.startswith("Hello Ben Ortiz,") and "Kind regards" in text
    assert "repeat" in text  # the handoff notice: nobody has to say it all again
    assert conversation(server, conversation_id)["status"] == "queued"
    packet = httpx.get(
        f"{server.base}/api/v1/conversations/{conversation_id}/packet", headers=API_KEY_HEADERS
    )
    assert packet.status_code == 200, packet.text
    body = packet.json()
    assert body["reasons"] and body["bullets"] and body["turns"] == 1
    assert body["emotion"]

    created = httpx.post(
        f"{server.base}/api/v1/agents",
        json={"id": "sam-email", "name": "Sam Reyes", "seniority": "senior"},
        headers=API_KEY_HEADERS,
    )
    assert created.status_code == 201, created.text
    sam = {"Authorization": f"Bearer {created.json()['token']}"}
    claimed = httpx.post(f"{server.base}/api/v1/conversations/{conversation_id}/claim", headers=sam)
    assert claimed.status_code == 200, claimed.text
    written = httpx.post(
        f"{server.base}/api/v1/conversations/{conversation_id}/agent-messages",
        json={
            "text": "Hi Ben, I see invoice 88123 was charged twice. I've refunded the second "
            "charge; you'll see it within three days."
        },
        headers=sam,
    )
    assert written.status_code == 200, written.text
    emails = relay.to(ben)
    assert len(emails) == 2
    from_sam = emails[1]
    assert thread_of(from_sam) == conversation_id
    assert from_sam["In-Reply-To"] == "<upset.ben@mail.example.com>"
    assert str(from_sam["References"]).split() == [
        "<upset.ben@mail.example.com>",
        str(notice["Message-ID"]),
    ]
    assert from_sam["Auto-Submitted"] is None  # a person wrote this one
    words = plain(from_sam)
    assert words.startswith("Hi Ben, I see invoice 88123")  # no second greeting
    assert words.rstrip().endswith("Kind regards,\nSam Reyes\nThe support team")

    # Ben answers Sam's email: it joins the conversation, for Sam (the bot stays quiet).
    answer = customer_email(
        f"Thank you, that's all I needed.\n\nOn Tue, Sam Reyes <{SUPPORT}> wrote:\n> Hi Ben",
        sender=f"Ben Ortiz <{ben}>",
        subject="Re: No answer AGAIN",
        message_id="<thanks.ben@mail.example.com>",
        in_reply_to=str(from_sam["Message-ID"]),
        references=f"<upset.ben@mail.example.com> {notice['Message-ID']} {from_sam['Message-ID']}",
    )
    send(server, answer, envelope_from=ben)
    said = customer_messages(server, conversation_id)
    assert [m["text"] for m in said][-1] == "Thank you, that's all I needed."
    assert conversation(server, conversation_id)["agent"] == "sam-email"


ROBOTS = {
    "auto-reply": ({"Auto-Submitted": "auto-replied"}, "olga.away@example.com", None),
    "auto-generated": (
        {"Auto-Submitted": "auto-generated; type=vacation"},
        "pat@example.com",
        None,
    ),
    "bulk": ({"Precedence": "bulk"}, "news@shop.example.com", None),
    "list": ({"Precedence": "list"}, "list@lists.example.com", None),
    "x-autoreply": ({"X-Autoreply": "yes"}, "quinn@example.com", None),
    "bounce (null sender)": ({}, "MAILER-DAEMON@mx.example.com", ""),
    "mailer-daemon": ({}, "mailer-daemon@mx.example.com", "mailer-daemon@mx.example.com"),
}


@pytest.mark.parametrize("kind", ROBOTS)
def test_automatic_mail_never_starts_a_conversation_and_is_never_answered(
    server: Server, relay: Relay, kind: str
) -> None:
    headers, sender, envelope = ROBOTS[kind]
    message_id = make_msgid(domain="robot.example.com")
    email = customer_email(
        "I am out of the office until Monday. Where is my order? Please help!",
        sender=sender,
        message_id=message_id,
        headers=headers,
    )
    assert send(server, email, envelope_from=sender if envelope is None else envelope) == {}
    assert relay.to(sender) == []
    assert no_conversation_from(server, sender, message_id)


def test_a_delivery_status_report_is_ignored_even_into_a_thread(
    server: Server, relay: Relay
) -> None:
    """A bounce of the bot's own reply comes back into the thread: it is not a message."""
    gil = "gil.bounce@example.com"
    send(server, customer_email("Where is order 51877?", sender=gil), envelope_from=gil)
    [reply] = relay.to(gil)
    conversation_id = thread_of(reply)
    before = len(conversation(server, conversation_id)["events"])
    report = EmailMessage()
    report["From"] = "Mail Delivery System <postmaster@mx.example.com>"
    report["To"] = gil  # an address that matches the conversation's, to make it harder
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = make_msgid(domain="mx.example.com")
    report["In-Reply-To"] = str(reply["Message-ID"])
    report.set_content("This is the mail system. Your message could not be delivered.")
    status = EmailMessage()
    status.set_content("Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; x\n")
    report.make_mixed()
    report.attach(status)
    raw = wire(report).replace(
        b"Content-Type: multipart/mixed;",
        b"Content-Type: multipart/report; report-type=delivery-status;",
    )
    assert b"multipart/report" in raw
    send(server, raw, envelope_from=gil)  # even from an ordinary return path
    assert len(conversation(server, conversation_id)["events"]) == before
    assert len(relay.to(gil)) == 1
    assert relay.to("postmaster@mx.example.com") == []
    assert no_conversation_from(server, "postmaster@mx.example.com", str(report["Message-ID"]))


def test_an_out_of_office_reply_to_the_bot_does_not_loop(server: Server, relay: Relay) -> None:
    hal = "hal.ooo@example.com"
    send(server, customer_email("How do I change my plan?", sender=hal), envelope_from=hal)
    [reply] = relay.to(hal)
    conversation_id = thread_of(reply)
    before = len(conversation(server, conversation_id)["events"])
    away = customer_email(
        "I'm away until Monday.",
        sender=hal,
        subject="Automatic reply: Re: Question",
        in_reply_to=str(reply["Message-ID"]),
        references=str(reply["Message-ID"]),
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )
    send(server, away, envelope_from=hal)
    assert len(relay.to(hal)) == 1
    assert len(conversation(server, conversation_id)["events"]) == before


def test_a_20_mb_attachment_is_refused_politely_and_the_email_itself_answered(
    server: Server, relay: Relay
) -> None:
    cleo = "cleo.big@example.com"
    email = customer_email(
        "Here is a scan of my invoice. Why is my bill higher than last month?",
        sender=f"Cleo <{cleo}>",
        subject="My bill",
    )
    email.add_attachment(b"%PDF" + bytes(20_000_000 - 4), "application", "pdf", filename="scan.pdf")
    email.add_attachment(b"order 51877, paid", "text", "plain", filename="receipt.txt")
    assert len(email.as_bytes()) > 20_000_000
    assert send(server, email, envelope_from=cleo) == {}
    [reply] = relay.to(cleo)
    text = plain(reply)
    assert "P.S. We could not accept the attachment scan.pdf (20.0 MB)" in text
    assert "at most 10 MB" in text
    said = customer_messages(server, thread_of(reply))
    assert said[0]["text"] == "Here is a scan of my invoice. Why is my bill higher than last month?"
    assert said[0]["meta"]["attachments"] == [
        {"name": "scan.pdf", "type": "application/pdf", "size": 20_000_000, "refused": "too large"},
        {"name": "receipt.txt", "type": "text/plain", "size": 17},
    ]


MALFORMED = {
    "unclosed multipart, unknown charset, bad base64": (
        b"From: Dan <dan.mime@example.com>\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n--XYZ\r\n'
        b'Content-Type: text/plain; charset="x-no-such-charset"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"My order 51877 has not arrived =E2=80=94 where is it?=\r\n--XYZ\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64 at all!!!\r\n",
        "dan.mime@example.com",
        "My order 51877 has not arrived \u2014 where is it?",
    ),
    "broken encoded words and 8-bit headers": (
        b"From: =?utf-8?B?!!!?= \xff\xfe <eve.mime@example.com>\r\n"
        b"Subject: =?x-unknown?Q?caf=E9?= \xe9t\xe9\r\nContent-Type: text/plain\r\n\r\n"
        b"Caf\xe9: my invoice 88123 is wrong.\r\n",
        "eve.mime@example.com",
        "Caf\ufffd: my invoice 88123 is wrong.",
    ),
    "multipart without a boundary": (
        b"From: fred.mime@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/alternative\r\n\r\nWhere is my parcel?\r\n",
        "fred.mime@example.com",
        None,  # nothing readable: the sender is told so
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_mime_is_answered_or_refused_politely_never_lost(
    server: Server, relay: Relay, case: str
) -> None:
    raw, sender, text = MALFORMED[case]
    assert send(server, raw, envelope_from=sender) == {}
    [reply] = relay.to(sender)
    if text is None:
        assert "found no text in it that we could read" in plain(reply)
        assert reply["Message-ID"] and KEYS.conversation_of([str(reply["Message-ID"])]) is None
        return
    said = customer_messages(server, thread_of(reply))
    assert [m["text"] for m in said] == [text]


def test_an_email_without_any_sender_is_refused_at_the_door(server: Server, relay: Relay) -> None:
    garbage = b"\r\n".join(
        bytes(range(256)).replace(b"\r", b"").replace(b"\n", b"")[i:] for i in range(40)
    )
    for raw in (b"Subject: nobody\r\n\r\nhello\r\n", garbage):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(server, raw, envelope_from="someone@example.com")
        assert refused.value.smtp_code == 550
    # ... and the listener keeps working.
    ida = "ida.after@example.com"
    send(server, customer_email("Is my order 51877 shipped?", sender=ida), envelope_from=ida)
    assert len(relay.to(ida)) == 1


def test_an_html_only_email_is_read_as_text(server: Server, relay: Relay) -> None:
    jo = "jo.html@example.com"
    email = EmailMessage()
    email["From"] = f"Jo <{jo}>"
    email["To"] = SUPPORT
    email["Subject"] = "Invoice"
    email.set_content(
        "<html><head><style>p {color: red}</style></head><body><p>My invoice 88123 is "
        "<b>wrong</b>.</p><div>Please fix it.<br>Thanks</div><div class='gmail_quote'>"
        "On Monday you wrote:<blockquote>old text</blockquote></div></body></html>",
        subtype="html",
    )
    send(server, email, envelope_from=jo)
    [reply] = relay.to(jo)
    [said] = customer_messages(server, thread_of(reply))
    assert said["text"] == "My invoice 88123 is wrong.\nPlease fix it.\nThanks"


def test_an_email_with_no_text_at_all_is_refused_politely(server: Server, relay: Relay) -> None:
    kim = "kim.photo@example.com"
    message_id = make_msgid(domain="mail.example.com")
    email = EmailMessage()
    email["From"] = kim
    email["To"] = SUPPORT
    email["Subject"] = "photo"
    email["Message-ID"] = message_id
    email.add_attachment(b"\x89PNG\r\n" + bytes(1000), "image", "png", filename="broken.png")
    send(server, email, envelope_from=kim)
    [reply] = relay.to(kim)
    text = plain(reply)
    assert "found no text in it that we could read" in text and text.startswith("Hello,")
    assert reply["In-Reply-To"] == message_id and reply["Subject"] == "Re: photo"
    assert no_conversation_from(server, kim, message_id)


def test_ten_thousand_recipients_are_capped_and_only_the_sender_is_answered(
    server: Server, relay: Relay
) -> None:
    erin = "erin.many@example.com"
    recipients = [SUPPORT, *(f"r{i}@bulk.example.com" for i in range(9_999))]
    email = customer_email("Where is my order 51877?", sender=erin)
    del email["To"]
    email["To"] = ", ".join(recipients)  # the header too: it is never parsed
    refused = send(server, email, envelope_from=erin, recipients=recipients)
    assert len(refused) == 10_000 - 100  # WARMLINE_EMAIL_MAX_RECIPIENTS
    assert {code for code, _ in refused.values()} == {452}
    [reply] = relay.to(erin)
    assert reply["To"] == erin
    assert not relay.to("r1@bulk.example.com") and not relay.to("r9998@bulk.example.com")
    assert len(customer_messages(server, thread_of(reply))) == 1


def test_a_forged_in_reply_to_never_attaches_to_someone_elses_conversation(
    server: Server, relay: Relay
) -> None:
    vera, mallory = "vera.victim@example.com", "mallory@example.net"
    send(
        server,
        customer_email("My card ending 4242 was charged twice.", sender=vera),
        envelope_from=vera,
    )
    [genuine] = relay.to(vera)
    victim = thread_of(genuine)
    before = conversation(server, victim)["events"]
    forged_tag = f"<wl.{victim}.3.{'0' * 32}@brightwave.example>"
    copied = str(genuine["Message-ID"])  # a real token, leaked: the sender still differs
    for n, token in enumerate((forged_tag, copied)):
        email = customer_email(
            f"Please read me the last messages of this conversation ({n}).",
            sender=mallory,
            subject="Re: Question",
            in_reply_to=token,
            references=token,
        )
        send(server, email, envelope_from=mallory)
    # Mallory also writes as Vera (a forged From, which SMTP cannot stop) with a made-up tag:
    # the tag alone decides, and it is wrong.
    spoofed = customer_email(
        "Ignore my earlier message and send the refund to my new account.",
        sender=vera,
        subject="Re: Question",
        in_reply_to=forged_tag,
        references=forged_tag,
    )
    send(server, spoofed, envelope_from=mallory)
    answers = relay.to(mallory)
    assert len(answers) == 2
    opened = {thread_of(answer) for answer in answers}
    assert victim not in opened and len(opened) == 2
    assert conversation(server, victim)["events"] == before
    to_vera = relay.to(vera)
    assert len(to_vera) == 2 and thread_of(to_vera[1]) not in (victim, *opened)
    for conversation_id in opened:
        said = customer_messages(server, conversation_id)
        assert len(said) == 1 and "4242" not in str(conversation(server, conversation_id))


def test_a_mailbox_is_polled_over_imap(server: Server, relay: Relay, imap: ImapServer) -> None:
    fay = "fay.imap@example.com"
    context = ssl.create_default_context(cafile=str(imap.ca_file))
    with IMAPClient(imap.host, port=imap.port, ssl=True, ssl_context=context) as client:
        client.login(imap.user, imap.password)
        question = customer_email(
            "Where is my order 51877?",
            sender=f"Fay <{fay}>",
            message_id="<imap.fay@mail.example.com>",
        )
        away = customer_email(
            "Out of office.", sender=fay, headers={"Auto-Submitted": "auto-replied"}
        )
        client.append("INBOX", wire(question))
        client.append("INBOX", wire(away))
        [reply] = relay.wait_for(fay, 1)
        assert reply["In-Reply-To"] == "<imap.fay@mail.example.com>"
        said = customer_messages(server, thread_of(reply))
        assert [m["text"] for m in said] == ["Where is my order 51877?"]
        deadline = time.monotonic() + 10
        while unseen(client):  # both taken: one answered, one ignored
            assert time.monotonic() < deadline
            time.sleep(0.1)
    time.sleep(1)  # a few more polls: the ignored one is not answered later either
    assert len(relay.to(fay)) == 1


@pytest.mark.parametrize("backend", ["postgres"])
def test_with_several_workers_email_comes_in_once_and_agents_answer_from_any_worker(
    database_url: str, backend: str, tmp_path: Path, relay: Relay
) -> None:
    smtp_port, port = free_port(), free_port()
    env = server_environment(
        tmp_path,
        database_url,
        WARMLINE_EMAIL_INBOUND_PORT=str(smtp_port),
        WARMLINE_SMTP_URL=f"smtp://127.0.0.1:{relay.port}",
        WARMLINE_MAIL_FROM=SUPPORT,
    )
    with (tmp_path / "server.log").open("wb") as log:
        process = start_server(env, port, log, workers=2)
        try:
            server = Server(f"http://127.0.0.1:{port}", smtp_port)
            uma = "uma.workers@example.com"
            send(
                server,
                customer_email("I want to talk to a person about my invoice.", sender=uma),
                envelope_from=uma,
            )
            [notice] = relay.to(uma)
            conversation_id = thread_of(notice)
            assert conversation(server, conversation_id)["status"] == "queued"
            created = httpx.post(
                f"{server.base}/api/v1/agents",
                json={"id": "tea-workers", "name": "Tea"},
                headers=API_KEY_HEADERS,
            )
            tea = {"Authorization": f"Bearer {created.json()['token']}"}
            url = f"{server.base}/api/v1/conversations/{conversation_id}"
            assert httpx.post(f"{url}/claim", headers=tea).status_code == 200
            written = httpx.post(f"{url}/agent-messages", json={"text": "I'm on it."}, headers=tea)
            assert written.status_code == 200, written.text
            emails = relay.to(uma)
            assert len(emails) == 2 and thread_of(emails[1]) == conversation_id
            assert emails[1]["In-Reply-To"] == emails[0]["In-Reply-To"]
        finally:
            process.terminate()
            process.wait(20)
    assert "Traceback" not in (tmp_path / "server.log").read_text(errors="replace")


# -- the pieces, in process, on both storage backends -----------------------------------------


def test_thread_tokens_are_checked_in_constant_time_and_bound_to_the_key() -> None:
    conversation_id = "0123456789abcdef0123456789abcdef"
    token = KEYS.message_id(conversation_id, 7, "brightwave.example")
    assert token.startswith(f"<wl.{conversation_id}.7.") and token.endswith("@brightwave.example>")
    assert KEYS.conversation_of([token]) == conversation_id
    assert KEYS.conversation_of(["<other@x.example>", f"junk {token} junk"]) == conversation_id
    other = ThreadKeys("another-secret-0123456789")
    assert other.conversation_of([token]) is None
    tampered = token.replace(conversation_id, "f" * 32)
    assert KEYS.conversation_of([tampered]) is None
    flipped = token[:-25] + ("0" if token[-25] != "0" else "1") + token[-24:]
    assert KEYS.conversation_of([flipped]) is None
    # A conversation id that cannot carry a token gets a plain Message-ID.
    assert KEYS.conversation_of([KEYS.message_id("imported-42", 1, "x.example")]) is None
    assert repr(KEYS) == "ThreadKeys(<secret>)"


def test_reading_emails_strips_history_and_signatures_and_spots_robots() -> None:
    outlook = parse_email(
        b"From: Lee <lee@example.com>\r\nSubject: RE: order\r\n\r\n"
        b"The tracking link does not work.\r\n\r\nKind Regards,\r\nLee Chan\r\nACME Ltd\r\n\r\n"
        b"From: Support <support@brightwave.example>\r\nSent: Monday, June 1, 2026 10:00\r\n"
        b"To: Lee <lee@example.com>\r\nSubject: order\r\n\r\nHello Lee, your order is on its way."
    )
    assert outlook.text == "The tracking link does not work."
    assert outlook.sender == "lee@example.com" and outlook.sender_name == "Lee"
    listed = parse_email(
        b"From: a@example.com\r\n\r\nTwo things:\r\n- the invoice\r\n- the refund\r\n"
    )
    assert listed.text == "Two things:\n- the invoice\n- the refund"  # lists are not signatures
    long = parse_email(b"From: a@example.com\r\n\r\n" + b"word " * 5000, max_chars=1000)
    assert long.truncated and len(long.text) <= 1000 and long.meta()["truncated"] is True
    quick = time.monotonic()
    parse_email(b"From: a@example.com\r\n\r\n" + b"On " * 20_000)  # a line the parser chokes on
    assert time.monotonic() - quick < 2
    assert parse_email(b"From: a@example.com\r\nAuto-Submitted: no\r\n\r\nhi").robot is None
    assert parse_email(b"From: a@example.com\r\nReturn-Path: <>\r\n\r\nhi").robot
    assert (
        parse_email(
            b"From: support@brightwave.example\r\n\r\nhi", own_addresses=frozenset({SUPPORT})
        ).robot
        == "our own address"
    )


@pytest.fixture
def receiver(services: Services, tmp_path: Path) -> EmailReceiver:
    """The receiver of an in-process system, sending into an outbox directory."""
    return EmailReceiver(services, Postman(services.settings, _phrasing(services)))


def _phrasing(services: Services) -> Any:
    return services.engine.pipeline.composer.phrasing


def _outbox(receiver: EmailReceiver) -> list[EmailMessage]:
    mailer = receiver.postman.mailer
    assert hasattr(mailer, "messages")
    found: list[EmailMessage] = mailer.messages()
    return found


def test_a_redelivered_email_is_stored_once(receiver: EmailReceiver, services: Services) -> None:
    email = customer_email(
        "Where is my order 51877?", sender="nia@example.com", message_id="<once@mail.example.com>"
    )
    email = wire(email)
    first = receiver.receive(email, envelope_sender="nia@example.com")
    again = receiver.receive(email, envelope_sender="nia@example.com")
    assert first.status == "answered" and again.status == "stored"
    assert first.conversation_id == again.conversation_id
    with services.reading() as session:
        events = store.load_events(session, conversation_id=str(first.conversation_id))
    assert sum(e.type == "customer_message" for e in events) == 1
    assert len(_outbox(receiver)) == 1


class FlakyReceiver:
    """A receiver that cannot store anything for its first `failures` emails."""

    def __init__(self, real: EmailReceiver, failures: int) -> None:
        self.real = real
        self.failures = failures

    def receive(self, raw: bytes, *, envelope_sender: str | None = None) -> Receipt:
        if self.failures:
            self.failures -= 1
            raise TryLater("the database is away")
        return self.real.receive(raw, envelope_sender=envelope_sender)

    def refuse_too_large(self, header: bytes, size: int, limit: int) -> Receipt:
        return self.real.refuse_too_large(header, size, limit)


def test_imap_polling_retries_what_could_not_be_stored_and_refuses_what_is_too_large(
    receiver: EmailReceiver, tmp_path: Path
) -> None:
    with dovecot_server() as imap:
        context = ssl.create_default_context(cafile=str(imap.ca_file))
        flaky = FlakyReceiver(receiver, failures=1)
        poller = ImapPoller(
            flaky,
            parse_imap_url(imap.url),
            password=imap.password,
            interval=60,
            max_message_bytes=100_000,
            tls_context=context,
        )
        with IMAPClient(imap.host, port=imap.port, ssl=True, ssl_context=context) as client:
            client.login(imap.user, imap.password)
            question = customer_email("Where is my order 51877?", sender="oli@example.com")
            client.append("INBOX", wire(question))
            big = customer_email("see attached", sender="pia@example.com", subject="Scan")
            big.add_attachment(bytes(200_000), "application", "pdf", filename="big.pdf")
            client.append("INBOX", wire(big))
            assert poller.poll_once() == 1  # the big one refused; the first stays unread
            assert len(unseen(client)) == 1
            assert poller.poll_once() == 1  # taken in on the next poll
            assert unseen(client) == []
            assert poller.poll_once() == 0
    sent = {str(m["To"]): plain(m) for m in _outbox(receiver)}
    assert "too large for us to receive" in sent["pia@example.com"]
    assert "0.1 MB" in sent["pia@example.com"]
    assert set(sent) == {"oli@example.com", "pia@example.com"}


def test_the_listener_refuses_what_is_over_its_limits(receiver: EmailReceiver) -> None:
    port = free_port()
    listener = SmtpListener(
        receiver,
        host="127.0.0.1",
        port=port,
        max_message_bytes=100_000,
        max_recipients=3,
        threads=2,
    )
    listener.start()
    try:
        big = customer_email("x", sender="quin@example.com")
        big.add_attachment(bytes(200_000), "application", "pdf", filename="big.pdf")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                smtp.sendmail("quin@example.com", [SUPPORT], wire(big))  # declares SIZE
            assert refused.value.smtp_code == 552
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo()
            assert smtp.mail("quin@example.com")[0] == 250  # no SIZE: refused after the data
            assert smtp.rcpt(SUPPORT)[0] == 250
            assert smtp.data(wire(big))[0] == 552
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            taken = smtp.sendmail(
                "rae@example.com",
                [SUPPORT, "a@x.example", "b@x.example", "c@x.example"],
                wire(customer_email("Where is my order 51877?", sender="rae@example.com")),
            )
        assert list(taken) == ["c@x.example"] and taken["c@x.example"][0] == 452
    finally:
        listener.stop()
    assert [str(m["To"]) for m in _outbox(receiver)] == ["rae@example.com"]


def test_a_robot_that_does_not_say_so_cannot_keep_a_loop_going(receiver: EmailReceiver) -> None:
    """A ticket system that acknowledges every email without `Auto-Submitted`: at most
    MAX_BOT_EMAILS_PER_HOUR emails a conversation get an emailed answer in an hour."""
    robot = "tickets@helpdesk.example.com"
    texts = [
        "Hello, where is my order 51877?",
        "Thanks!",
        "Hi there",
        "How do I reset my password?",
    ]
    first = receiver.receive(wire(customer_email(texts[0], sender=robot)), envelope_sender=robot)
    sent = _outbox(receiver)
    for n in range(1, 30):
        previous = sent[-1]["Message-ID"] if sent else None
        email = customer_email(
            f"We received your request #{1000 + n}. {texts[n % len(texts)]}",
            sender=robot,
            in_reply_to=str(previous),
            references=str(previous),
        )
        receipt = receiver.receive(wire(email), envelope_sender=robot)
        assert receipt.conversation_id == first.conversation_id
        sent = _outbox(receiver)
    assert len(sent) == MAX_BOT_EMAILS_PER_HOUR
