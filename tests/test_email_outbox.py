"""The durable email outbox: replies, agents' messages and surveys wait in the database while the
relay is down and go out, once, with the same `Message-ID`, when it is back; an email the relay
never takes is dead-lettered with a note in the conversation. The relay is an aiosmtpd server on
a loopback port that the tests stop, start, slow down or make refuse; both storage backends."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from helpers import (
    API_KEY_HEADERS,
    TEST_ENVIRONMENT,
    add_agent,
    assert_problem,
    make_test_settings,
    open_conversation,
    say,
    wait_until,
)
from servers import free_port
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.bootstrap import build_services
from warmline.channels.email.inbound import EmailReceiver, Receipt
from warmline.channels.email.outbox import EmailSender, queue
from warmline.channels.email.threads import ThreadKeys
from warmline.config import Settings
from warmline.domain.events import AgentMessage, BotReply, CustomerMessage, NoteAdded
from warmline.engine import Pipeline
from warmline.storage import conversations as store
from warmline.storage import email_outbox as outbox
from warmline.storage.broadcast import EMAIL
from warmline.storage.models import EmailOutboxRow

pytestmark = pytest.mark.xdist_group("email")

SUPPORT = "support@brightwave.example"
KEYS = ThreadKeys(TEST_ENVIRONMENT["WARMLINE_SECRET_KEY"])
LATER = timedelta(hours=2)  # well past any backoff of a first failure
UPSET = (
    "This is ridiculous!!! I have written THREE times and nobody answers. I am so angry "
    "and fed up with your useless service. Absolutely unacceptable!!!"
)


# -- a relay that can be down ------------------------------------------------------------------


@dataclass
class Relay:
    """An aiosmtpd relay on a fixed loopback port: `up()`, `down()`, `answer` another code,
    `delay` each email."""

    port: int
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    seen: list[EmailMessage] = field(default_factory=list)  # refused ones too
    lock: threading.Lock = field(default_factory=threading.Lock)
    answer: str = "250 OK"
    delay: float = 0.0
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.seen.append(parsed)
        if not self.answer.startswith("250"):
            return self.answer
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), parsed))
        return self.answer

    def up(self) -> None:
        if self.controller is None:
            self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for rcpt, message in self.received if address in rcpt]


@pytest.fixture
def relay() -> Iterator[Relay]:
    caught = Relay(port=free_port())  # down until a test brings it up
    yield caught
    caught.down()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, relay: Relay) -> Settings:
    """Test settings sending through the relay."""
    return make_test_settings(
        database_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{relay.port}",
        mail_from=SUPPORT,
        survey="csat",
    )


@pytest.fixture
def receiver(services: Services) -> EmailReceiver:
    return EmailReceiver(services)


@pytest.fixture
def sender(services: Services) -> EmailSender:
    """A background sender, driven round by round by the test."""
    return EmailSender(services)


# -- helpers ---------------------------------------------------------------------------------


def customer_email(
    text: str,
    *,
    sender: str,
    subject: str = "Question",
    message_id: str | None = None,
    in_reply_to: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(text)
    return message.as_bytes(policy=default_policy.clone(linesep="\r\n"))


def rows(services: Services) -> list[EmailOutboxRow]:
    with services.reading() as session:
        found = list(session.scalars(select(EmailOutboxRow).order_by(EmailOutboxRow.id)))
        session.expunge_all()
    return found


def events(services: Services, conversation_id: str) -> list[Any]:
    with services.reading() as session:
        return list(store.load_events(session, conversation_id=conversation_id))


def notes(services: Services, conversation_id: str) -> list[str]:
    return [e.text for e in events(services, conversation_id) if isinstance(e, NoteAdded)]


def ask(receiver: EmailReceiver, sender: str, text: str, message_id: str) -> Receipt:
    raw = customer_email(text, sender=sender, message_id=message_id)
    return receiver.receive(raw, envelope_sender=sender)


def cli(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`warmline ...` on the test's database (the admin's view of the outbox)."""
    env = {
        **os.environ,
        **TEST_ENVIRONMENT,
        "WARMLINE_DATABASE_URL": database_url,
        "WARMLINE_DATA_DIR": str(data_dir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "warmline", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def later(moment: timedelta = LATER) -> datetime:
    return datetime.now(UTC) + moment


# -- the relay down, then back ---------------------------------------------------------------


def test_a_reply_waits_while_the_relay_is_down_and_goes_out_once_when_it_is_back(
    services: Services, receiver: EmailReceiver, sender: EmailSender, relay: Relay
) -> None:
    ana = "ana@example.com"
    first = ask(receiver, ana, "How do I reset my password?", "<q1.ana@mail.example.com>")
    assert first.status == "stored" and first.detail.startswith("reply queued")
    conversation_id = str(first.conversation_id)
    [row] = rows(services)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and "refused or failed" in row.last_error
    assert row.sent_at is None and row.locked_until is None
    stored = events(services, conversation_id)
    assert isinstance(stored[row.seq - 1], BotReply)

    assert sender.run_once() == 0  # the retry is not due yet (30 s)
    relay.up()
    assert sender.run_once(later()) == 1
    [reply] = relay.to(ana)
    assert reply["Message-ID"] == KEYS.message_id(conversation_id, row.seq, "brightwave.example")
    assert reply["In-Reply-To"] == "<q1.ana@mail.example.com>"
    assert reply["Auto-Submitted"] == "auto-replied"
    [row] = rows(services)
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.message_id == reply["Message-ID"] and row.sent_at is not None

    # Nothing goes twice: not on later rounds, not when the email is delivered again.
    assert sender.run_once(later(timedelta(days=3))) == 0
    again = ask(receiver, ana, "How do I reset my password?", "<q1.ana@mail.example.com>")
    assert again.status == "stored" and again.detail.startswith("a redelivery")
    assert len(relay.to(ana)) == 1 and len(rows(services)) == 1

    # The relay is up: the next email is answered at once, in the same thread.
    second = customer_email(
        "And how do I change my email address?",
        sender=ana,
        message_id="<q2.ana@mail.example.com>",
        in_reply_to=str(reply["Message-ID"]),
    )
    assert receiver.receive(second, envelope_sender=ana).status == "answered"
    assert len(relay.to(ana)) == 2
    assert relay.to(ana)[1]["In-Reply-To"] == "<q2.ana@mail.example.com>"
    assert not notes(services, conversation_id)


def test_the_same_message_id_on_every_attempt(
    services: Services, receiver: EmailReceiver, sender: EmailSender, relay: Relay
) -> None:
    """A relay that took the email but answered too late (here: a 451 after reading it) gets
    it again with the same Message-ID, so mail clients show one email."""
    bea = "bea@example.com"
    relay.up()
    relay.answer = "451 4.3.0 try again later"
    receipt = ask(receiver, bea, "How do I reset my password?", "<q1.bea@mail.example.com>")
    assert receipt.status == "stored"
    relay.answer = "250 OK"
    assert sender.run_once(later()) == 1
    [reply] = relay.to(bea)
    [row] = rows(services)
    assert [m["Message-ID"] for m in relay.seen] == [row.message_id, row.message_id]
    assert reply["Message-ID"] == row.message_id
    assert row.message_id == KEYS.message_id(
        str(receipt.conversation_id), row.seq, "brightwave.example"
    )


def test_the_backoff_doubles_and_a_success_brings_the_waiting_emails_forward(
    services: Services, receiver: EmailReceiver, sender: EmailSender, relay: Relay
) -> None:
    ask(receiver, "cy@example.com", "How do I reset my password?", "<q1.cy@mail.example.com>")
    start = datetime.now(UTC)
    waits: list[int] = []
    for n in range(1, 9):
        [row] = rows(services)
        due = row.next_attempt_at.replace(tzinfo=UTC)
        waits.append(round((due - start).total_seconds()))
        start = due
        assert sender.run_once(due) == 1
        assert rows(services)[0].attempts == n + 1
    assert 0 < waits[0] <= 30
    assert waits[1:7] == [60, 120, 240, 480, 960, 1920]
    assert waits[7] == 3600  # at most an hour
    # A second customer's email goes out at once when the relay is back, and the first one,
    # waiting for its next attempt an hour away, is made due at once.
    relay.up()
    assert ask(
        receiver, "dee@example.com", "How do I reset my password?", "<q1.dee@x.ex>"
    ).status in (
        "answered",
        "stored",
    )
    assert all(r.next_attempt_at.replace(tzinfo=UTC) <= datetime.now(UTC) for r in rows(services))
    assert sender.run_once() >= 1
    assert len(relay.to("cy@example.com")) == 1


# -- the relay down for good -----------------------------------------------------------------


def test_a_relay_down_for_good_leaves_a_dead_letter_and_a_note_and_a_replay_sends_it(
    database_url: str,
    tmp_path: Path,
    services: Services,
    receiver: EmailReceiver,
    sender: EmailSender,
    relay: Relay,
) -> None:
    eli = "eli@example.com"
    receipt = ask(receiver, eli, "How do I reset my password?", "<q1.eli@mail.example.com>")
    conversation_id = str(receipt.conversation_id)
    assert sender.run_once(later(timedelta(hours=23))) == 1
    assert rows(services)[0].status == "pending"
    assert not notes(services, conversation_id)
    assert sender.run_once(later(timedelta(hours=25))) == 1
    [row] = rows(services)
    assert (row.status, row.attempts) == ("dead", 3)
    [note] = notes(services, conversation_id)
    assert "was not emailed" in note and "gave up after 3 attempt(s)" in note
    assert sender.run_once(later(timedelta(days=30))) == 0  # dead stays dead

    listed = cli(database_url, tmp_path, "email", "outbox", "--status", "dead", "--json")
    [dead] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (dead["id"], dead["seq"], dead["attempts"]) == (row.id, row.seq, 3)
    assert "refused or failed" in dead["last_error"]
    assert cli(database_url, tmp_path, "email", "outbox").stdout.startswith(
        "0 pending, 0 sent, 1 dead"
    )
    relay.up()
    replayed = cli(database_url, tmp_path, "email", "replay", str(row.id))
    assert replayed.stdout.strip() == "1 email(s) queued again"
    assert sender.run_once() == 1
    assert len(relay.to(eli)) == 1
    assert rows(services)[0].status == "sent"


def test_administrators_see_and_replay_the_outbox_over_http(
    client: TestClient,
    services: Services,
    receiver: EmailReceiver,
    sender: EmailSender,
    relay: Relay,
) -> None:
    fay = "fay@example.com"
    ask(receiver, fay, "How do I reset my password?", "<q1.fay@mail.example.com>")
    assert sender.run_once(later(timedelta(hours=25))) == 1  # down for good: dead
    [row] = rows(services)
    admin = API_KEY_HEADERS
    listed = client.get("/api/v1/admin/email/outbox?status=dead", headers=admin)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["counts"] == {"pending": 0, "sent": 0, "dead": 1}
    [dead] = body["emails"]
    assert (dead["id"], dead["seq"], dead["status"]) == (row.id, row.seq, "dead")
    assert dead["attempts"] == row.attempts >= 1
    assert "refused or failed" in dead["last_error"] and fay not in json.dumps(body)
    assert (
        client.get("/api/v1/admin/email/outbox?status=sent", headers=admin).json()["emails"] == []
    )

    agent = add_agent(client, "ada")
    assert_problem(client.get("/api/v1/admin/email/outbox", headers=agent), 403)
    assert_problem(
        client.post("/api/v1/admin/email/outbox/replay", json={"all": True}, headers=agent), 403
    )
    for bad in ("status=lost", "limit=0", "limit=10001"):
        assert_problem(client.get(f"/api/v1/admin/email/outbox?{bad}", headers=admin), 422)
    for bad_body in ({}, {"ids": [row.id], "all": True}, {"ids": []}, {"ids": ["x"]}, {"every": 1}):
        response = client.post("/api/v1/admin/email/outbox/replay", json=bad_body, headers=admin)
        assert_problem(response, 422)
    assert rows(services)[0].status == "dead"  # nothing changed by the refused requests

    woken = threading.Event()
    services.broadcast.subscribe(EMAIL, lambda _payload: woken.set())

    def listening() -> bool:  # PostgreSQL's LISTEN starts in the listener's next round
        services.broadcast.publish(EMAIL, "probe")
        return woken.wait(0.2)

    assert wait_until(listening, 10)
    woken.clear()
    relay.up()
    replayed = client.post(
        "/api/v1/admin/email/outbox/replay", json={"ids": [row.id]}, headers=admin
    )
    assert replayed.status_code == 200 and replayed.json() == {"replayed": 1}
    assert woken.wait(10), "the replay did not wake the senders"
    again = client.post("/api/v1/admin/email/outbox/replay", json={"all": True}, headers=admin)
    assert again.json() == {"replayed": 0}  # nothing dead any more
    assert sender.run_once() == 1
    assert len(relay.to(fay)) == 1 and rows(services)[0].status == "sent"


def test_a_relay_refusing_for_good_dead_letters_at_once(
    services: Services, receiver: EmailReceiver, relay: Relay
) -> None:
    relay.up()
    relay.answer = "550 5.1.1 no such user"
    receipt = ask(
        receiver, "gus@example.com", "How do I reset my password?", "<q1.gus@mail.example.com>"
    )
    assert receipt.status == "stored" and receipt.detail.startswith("reply not sent")
    [row] = rows(services)
    assert (row.status, row.attempts) == ("dead", 1)
    assert len(notes(services, str(receipt.conversation_id))) == 1


# -- agents' messages and surveys ------------------------------------------------------------


def test_an_agents_message_keeps_its_note_and_is_retried_and_the_survey_is_emailed(
    settings: Settings,
    services: Services,
    receiver: EmailReceiver,
    sender: EmailSender,
    relay: Relay,
) -> None:
    ben = "ben@example.com"
    relay.up()
    receipt = ask(receiver, ben, UPSET, "<upset.ben@mail.example.com>")
    conversation_id = str(receipt.conversation_id)
    assert len(relay.to(ben)) == 1  # the handoff notice
    with TestClient(create_app(settings, services), raise_server_exceptions=False) as client:
        sam = add_agent(client, "sam", seniority="senior")
        claimed = client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=sam)
        assert claimed.status_code == 200, claimed.text
        relay.down()
        written = client.post(
            f"/api/v1/conversations/{conversation_id}/agent-messages",
            json={"text": "Hi Ben, I have refunded the second charge."},
            headers=sam,
        )
        assert written.status_code == 200, written.text
        [note] = notes(services, conversation_id)
        assert note.startswith("This message was not emailed to the customer yet")
        stored = events(services, conversation_id)
        seq = next(n for n, e in enumerate(stored, 1) if isinstance(e, AgentMessage))
        assert [r.seq for r in rows(services) if r.status == "pending"] == [seq]

        relay.up()
        assert sender.run_once(later()) == 1
        emails = relay.to(ben)
        assert len(emails) == 2
        assert emails[1]["Message-ID"] == KEYS.message_id(
            conversation_id, seq, "brightwave.example"
        )
        assert emails[1]["In-Reply-To"] == "<upset.ben@mail.example.com>"

        resolved = client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=sam)
        assert resolved.status_code == 200, resolved.text
        survey = relay.to(ben)[2]
        assert survey["In-Reply-To"] == "<upset.ben@mail.example.com>"
        assert [r.status for r in rows(services)] == ["sent", "sent", "sent"]
        assert len(notes(services, conversation_id)) == 1
        assert isinstance(events(services, conversation_id)[-1], BotReply)


# -- several senders -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgres"])  # several workers need PostgreSQL
def test_two_senders_at_once_never_send_one_email_twice(
    backend: str, services: Services, receiver: EmailReceiver, relay: Relay
) -> None:
    customers = [f"c{n}@example.com" for n in range(8)]
    for n, address in enumerate(customers):
        ask(receiver, address, "How do I reset my password?", f"<q{n}@mail.example.com>")
    assert [r.status for r in rows(services)] == ["pending"] * len(customers)
    relay.up()
    relay.delay = 0.2  # each email takes a while: the senders overlap
    senders = [EmailSender(services), EmailSender(services)]
    for one in senders:
        one.batch = 1  # one email a claim: the two senders take turns
    moment = later()
    tried: list[int] = []
    barrier = threading.Barrier(len(senders))

    def work(one: EmailSender) -> None:
        barrier.wait()
        while done := one.run_once(moment):
            tried.append(done)

    threads = [threading.Thread(target=work, args=(one,)) for one in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [str(message["Message-ID"]) for _rcpt, message in relay.received]
    assert len(ids) == len(set(ids)) == len(customers)
    assert sum(tried) == len(customers)
    assert [r.status for r in rows(services)] == ["sent"] * len(customers)
    assert [r.attempts for r in rows(services)] == [2] * len(customers)


def test_a_sending_in_progress_is_not_taken_and_a_stale_holder_records_nothing(
    services: Services, receiver: EmailReceiver, sender: EmailSender, relay: Relay
) -> None:
    ask(receiver, "hal@example.com", "How do I reset my password?", "<q1.hal@mail.example.com>")
    now = later()
    with services.sessions() as session, session.begin():
        [held] = outbox.claim_due(session, now=now, lease=timedelta(minutes=5))
    with services.sessions() as session, session.begin():
        assert outbox.claim_due(session, now=now, lease=timedelta(minutes=5)) == []
    relay.up()
    assert sender.run_once(now) == 0  # held by someone else
    # The holder's lease ran out: another sender takes it; the old holder records nothing.
    assert sender.run_once(now + timedelta(minutes=6)) == 1
    with services.sessions() as session, session.begin():
        assert not outbox.record(session, held=held, now=now, error="late", retry_at=now)
    [row] = rows(services)
    assert (row.status, row.last_error) == ("sent", None)
    assert len(relay.to("hal@example.com")) == 1


# -- bad states ------------------------------------------------------------------------------


def test_bad_rows_are_dead_lettered_safely(
    services: Services, receiver: EmailReceiver, sender: EmailSender, relay: Relay
) -> None:
    relay.up()
    receipt = ask(
        receiver, "ivy@example.com", "How do I reset my password?", "<q1.ivy@mail.example.com>"
    )
    conversation_id = str(receipt.conversation_id)
    sent = len(relay.received)
    customer_seq = next(
        n
        for n, e in enumerate(events(services, conversation_id), 1)
        if isinstance(e, CustomerMessage)
    )
    with services.sessions() as session, session.begin():
        assert queue(session, conversation_id=conversation_id, seq=customer_seq)  # not emailed
        assert queue(session, conversation_id=conversation_id, seq=999)  # no such event
        assert not queue(session, conversation_id=conversation_id, seq=999)  # queued once
        # A row that was already sent is never sent again, even if it looks due.
        session.execute(
            update(EmailOutboxRow)
            .where(EmailOutboxRow.status == "sent")
            .values(next_attempt_at=datetime.now(UTC) - timedelta(days=1))
        )
    assert sender.run_once() == 2
    assert len(relay.received) == sent
    states = {r.seq: r.status for r in rows(services)}
    assert states[customer_seq] == "dead" and states[999] == "dead"
    assert [s for s in states.values() if s == "sent"] == ["sent"]
    assert len(notes(services, conversation_id)) == 2
    assert sender.run_once(later(timedelta(days=2))) == 0


def test_the_background_sender_runs_in_the_server(
    database_url: str, tmp_path: Path, pipeline: Pipeline, relay: Relay
) -> None:
    """`warmline serve` (the app's lifespan) starts the sender when the email channel is on;
    a due email goes out without anyone asking."""
    on = make_test_settings(
        database_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{relay.port}",
        mail_from=SUPPORT,
        email_inbound_port=free_port(),  # the channel is on (its listener is `serve`'s)
    )
    services = build_services(on, pipeline)
    try:
        receipt = ask(
            EmailReceiver(services), "jo@example.com", "How do I reset my password?", "<q@x.ex>"
        )
        assert receipt.status == "stored"
        with services.sessions() as session, session.begin():
            session.execute(update(EmailOutboxRow).values(next_attempt_at=datetime.now(UTC)))
        relay.up()
        with TestClient(create_app(on, services), raise_server_exceptions=False):
            deadline = time.monotonic() + 30
            while not relay.to("jo@example.com"):
                assert time.monotonic() < deadline, "the background sender sent nothing"
                time.sleep(0.1)
        assert [r.status for r in rows(services)] == ["sent"]
    finally:
        services.broadcast.close()
        services.sessions.kw["bind"].dispose()


def test_a_conversation_no_email_came_in_is_never_emailed(
    client: TestClient, services: Services, relay: Relay
) -> None:
    """Opened through the API with channel "email": nothing is queued, and the agent is told
    their message was not emailed."""
    relay.up()
    conversation_id, customer = open_conversation(client, channel="email")
    say(client, conversation_id, customer, UPSET)
    sam = add_agent(client, "sam", seniority="senior")
    claimed = client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=sam)
    assert claimed.status_code == 200, claimed.text
    written = client.post(
        f"/api/v1/conversations/{conversation_id}/agent-messages",
        json={"text": "Hello from Sam."},
        headers=sam,
    )
    assert written.status_code == 200, written.text
    resolved = client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=sam)
    assert resolved.status_code == 200, resolved.text
    assert relay.received == [] and rows(services) == []
    [note] = notes(services, conversation_id)
    assert "no email came in this conversation" in note
