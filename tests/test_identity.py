"""One customer across channels (docs/customers.md), on both storage backends: the widget's
signed id and a confirmed email recognise the same customer and the packet's history shows the
chat and the email; an unverified email never links; administrators merge with an audit event;
every bad request is refused with a problem (HTTP) or exit 2 (CLI), and nothing changes."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, TEST_ENVIRONMENT, add_agent, assert_problem, say
from pg import fresh_database
from warmline.api.services import Services
from warmline.channels.email.inbound import EmailReceiver
from warmline.channels.email.outbound import Postman
from warmline.channels.service import identity_signature
from warmline.config import Settings
from warmline.storage import conversations as store
from warmline.storage.db import make_engine
from warmline.storage.migrate import upgrade

IDENTITY_SECRET = "site-identity-secret-0123456789abcdef"
SUPPORT = "support@brightwave.example"
ANA = "ana.lopez@example.com"

pytestmark = pytest.mark.xdist_group("identity")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    from helpers import make_test_settings

    return make_test_settings(
        database_url, tmp_path, identity_secret=IDENTITY_SECRET, mail_from=SUPPORT
    )


@pytest.fixture
def receiver(services: Services) -> EmailReceiver:
    """The email channel in process, sending into an outbox directory."""
    return EmailReceiver(
        services, Postman(services.settings, services.engine.pipeline.composer.phrasing)
    )


# -- helpers ----------------------------------------------------------------------------------


def user_hash(user_id: str) -> str:
    return hmac.new(IDENTITY_SECRET.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def widget(
    client: TestClient, user_id: str, email: str | None = None
) -> tuple[str, dict[str, str]]:
    """A signed-in widget customer; with `email`, the site signs it too."""
    body: dict[str, Any] = {"user_id": user_id, "user_hash": user_hash(user_id), "name": "Ana"}
    if email:
        body |= {"email": email, "email_signature": identity_signature(email, IDENTITY_SECRET)}
    response = client.post("/api/v1/widget/session", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    return data["conversation_id"], {"Authorization": f"Bearer {data['token']}"}


def email_from(
    sender: str, text: str, *, answers: EmailMessage | None = None, message_id: str | None = None
) -> bytes:
    """An email as a mail client sends it; `answers`: the email of ours it replies to."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = "Re: My order" if answers else "My order"
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    if answers is not None:
        message["In-Reply-To"] = str(answers["Message-ID"])
        message["References"] = str(answers["Message-ID"])
    message.set_content(text)
    return message.as_bytes(policy=default_policy.clone(linesep="\r\n"))


def outbox(receiver: EmailReceiver) -> list[EmailMessage]:
    mailer = receiver.postman.mailer
    assert hasattr(mailer, "messages")
    found: list[EmailMessage] = mailer.messages()
    return found


def customer_of(services: Services, conversation_id: str) -> str:
    with services.reading() as session, session.begin():
        head = store.head(session, conversation_id=conversation_id)
    assert head is not None and head.customer_id is not None
    return head.customer_id


def customer(client: TestClient, customer_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/customers/{customer_id}", headers=API_KEY_HEADERS)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def verified(data: dict[str, Any]) -> dict[str, str]:
    """kind:value -> how it was verified, for the verified identities."""
    return {f"{i['kind']}:{i['value']}": i["source"] for i in data["identities"] if i["verified"]}


def email_thread(receiver: EmailReceiver, sender: str, first: str, second: str) -> str:
    """An email, the bot's answer, and the customer's answer to it in the thread."""
    opened = receiver.receive(email_from(sender, first), envelope_sender=sender)
    assert opened.status == "answered", opened
    ours = [m for m in outbox(receiver) if sender.lower() in str(m["To"]).lower()][-1]
    answer = receiver.receive(email_from(sender, second, answers=ours), envelope_sender=sender)
    assert answer.conversation_id == opened.conversation_id, answer
    assert opened.conversation_id is not None
    return opened.conversation_id


# -- the same person on the widget and by email -----------------------------------------------


def test_the_same_customers_chat_and_email_are_linked_and_the_packet_shows_both(
    client: TestClient, services: Services, receiver: EmailReceiver
) -> None:
    chat, token = widget(client, "u-7", email=ANA)
    say(client, chat, token, "where is my order 51877?")
    ana = customer_of(services, chat)
    assert verified(customer(client, ana)) == {
        "external_id:u-7": "signed_id",
        f"email:{ANA}": "signed_email",
    }

    # Her first email: the From header proves nothing, so it is a customer of its own ...
    first = receiver.receive(
        email_from(f"Ana <{ANA.upper()}>", "Where is my order 51877? I asked in the chat too."),
        envelope_sender=ANA,
    )
    assert first.status == "answered" and first.conversation_id
    placeholder = customer_of(services, first.conversation_id)
    assert placeholder != ana
    # ... until she answers our email in its thread: she reads mail at that address.
    ours = outbox(receiver)[-1]
    assert ANA in str(ours["To"]).lower()
    again = receiver.receive(
        email_from(ANA, "Thanks, and can you also check invoice 4410?", answers=ours),
        envelope_sender=ANA,
    )
    assert again.conversation_id == first.conversation_id
    assert customer_of(services, first.conversation_id) == ana
    assert ANA in str(outbox(receiver)[-1]["To"]).lower()  # the thread still goes to her

    profile = customer(client, ana)
    channels = {c["id"]: c["channel"] for c in profile["conversations"]}
    assert channels == {chat: "web", first.conversation_id: "email"}
    for item in profile["conversations"]:
        assert set(item) >= {"channel", "started", "intent", "outcome"}
    linked = [e for e in profile["events"] if e["kind"] == "linked"]
    assert len(linked) == 1 and linked[0]["detail"]["from"] == placeholder
    assert linked[0]["detail"]["conversations"] == [first.conversation_id]
    assert customer(client, placeholder)["merged_into"] == ana

    # The packet of either conversation lists the other one, with its channel.
    for here, there, channel in (
        (chat, first.conversation_id, "email"),
        (first.conversation_id, chat, "web"),
    ):
        packet = client.get(f"/api/v1/conversations/{here}/packet", headers=API_KEY_HEADERS)
        assert packet.status_code == 200, packet.text
        found = {h["id"]: h for h in packet.json()["history"]}
        assert there in found and found[there]["channel"] == channel
        assert {"intent", "outcome", "started"} <= set(found[there])

    # The widget on another device still opens the chat, never the email conversation.
    resumed = client.post(
        "/api/v1/widget/session", json={"user_id": "u-7", "user_hash": user_hash("u-7")}
    ).json()
    assert resumed["conversation_id"] == chat and resumed["resumed"] is True


def test_an_unverified_email_never_links(
    client: TestClient, services: Services, receiver: EmailReceiver
) -> None:
    chat, _token = widget(client, "u-8", email=ANA)
    ana = customer_of(services, chat)

    # Anyone can write From: Ana; the email gets a customer of its own, her address unverified.
    forged = receiver.receive(email_from(ANA, "Please send my invoices to me"), envelope_sender=ANA)
    assert forged.conversation_id is not None
    stranger = customer_of(services, forged.conversation_id)
    assert stranger != ana
    shown = customer(client, stranger)
    assert verified(shown) == {}
    assert {"kind": "email", "value": ANA, "verified": False} in [
        {k: i[k] for k in ("kind", "value", "verified")} for i in shown["identities"]
    ]
    # A forged thread token does not make it an answer in her thread.
    fake = EmailMessage()
    fake["Message-ID"] = f"<wl.{forged.conversation_id}.2.{'0' * 32}@brightwave.example>"
    other = receiver.receive(
        email_from(ANA, "Here is more about my order", answers=fake), envelope_sender=ANA
    )
    assert other.conversation_id not in (None, forged.conversation_id)
    assert customer_of(services, str(other.conversation_id)) not in (ana, stranger)
    # Our real email answered from another address (forwarded to someone): not her thread.
    ours = outbox(receiver)[0]
    forwarded = receiver.receive(
        email_from("eve@example.net", "what is this about?", answers=ours),
        envelope_sender="eve@example.net",
    )
    assert forwarded.conversation_id != forged.conversation_id
    assert customer_of(services, str(forwarded.conversation_id)) != ana

    # A visitor typing her email (no signature) in the public API: a customer of their own.
    opened = client.post(
        "/api/v1/conversations", json={"channel": "web", "customer": {"email": ANA}}
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["customer_id"] not in (ana, stranger)
    # A site signature covers the email only: a phone typed beside it is unverified.
    signed = client.post(
        "/api/v1/conversations",
        json={
            "customer": {"email": "noor@example.com", "phone": "+44 20 7946 0001"},
            "identity_signature": identity_signature("noor@example.com", IDENTITY_SECRET),
        },
    )
    assert signed.status_code == 201, signed.text
    noor = customer(client, signed.json()["customer_id"])
    assert verified(noor) == {"email:noor@example.com": "signed_email"}
    assert any(i["kind"] == "phone" and not i["verified"] for i in noor["identities"])
    # Ana's record never gained anything from all this.
    assert verified(customer(client, ana)) == {
        "external_id:u-8": "signed_id",
        f"email:{ANA}": "signed_email",
    }
    assert [c["id"] for c in customer(client, ana)["conversations"]] == [chat]


def test_a_conflict_between_two_verified_customers_waits_for_an_admin_merge(
    client: TestClient, services: Services, receiver: EmailReceiver
) -> None:
    # Ana confirms her address by email first: it becomes a verified identity of that record.
    thread = email_thread(receiver, ANA, "Where is my order 51877?", "Thanks, any news?")
    by_email = customer_of(services, thread)
    assert verified(customer(client, by_email)) == {f"email:{ANA}": "email_reply"}

    # Then she signs in on the site, which vouches for the same address: two verified records.
    chat, _token = widget(client, "u-9", email=ANA)
    by_site = customer_of(services, chat)
    assert by_site != by_email  # never merged behind anyone's back
    conflicts = [e for e in customer(client, by_site)["events"] if e["kind"] == "identity_conflict"]
    assert len(conflicts) == 1 and conflicts[0]["detail"]["held_by"] == by_email
    widget(client, "u-9", email=ANA)  # signing in again does not log it twice
    events = customer(client, by_site)["events"]
    assert sum(e["kind"] == "identity_conflict" for e in events) == 1

    # An administrator merges them, with a reason; both records say who, when, what and why.
    merged = client.post(
        f"/api/v1/customers/{by_site}/merge",
        json={"from": by_email, "reason": "Ana confirmed both on the phone"},
        headers={**API_KEY_HEADERS, "X-Agent-Id": "admin"},
    )
    assert merged.status_code == 200, merged.text
    result = merged.json()
    assert result["merged_from"] == by_email
    assert result["conversations_moved"] == [thread]
    assert [i["kind"] for i in result["identities_moved"]] == ["email"]
    assert ANA not in str(result["identities_moved"])  # the audit log keeps it masked
    after = customer(client, by_site)
    assert verified(after) == {"external_id:u-9": "signed_id", f"email:{ANA}": "email_reply"}
    assert {c["id"] for c in after["conversations"]} == {chat, thread}
    audit = [e for e in after["events"] if e["kind"] == "merged"]
    assert len(audit) == 1
    assert (
        audit[0]["actor"] == "admin:admin"
        and audit[0]["reason"] == "Ana confirmed both on the phone"
    )
    assert audit[0]["detail"]["from"] == by_email and audit[0]["at"]
    old = customer(client, by_email)
    assert old["merged_into"] == by_site and old["conversations"] == [] and verified(old) == {}
    assert [e["kind"] for e in old["events"]][-1] == "merged_into"
    # Her next email in the old thread now lands on the merged customer, still threaded.
    ours = [m for m in outbox(receiver) if ANA in str(m["To"]).lower()][-1]
    later = receiver.receive(email_from(ANA, "One more thing", answers=ours), envelope_sender=ANA)
    assert later.conversation_id == thread and customer_of(services, thread) == by_site


def test_every_bad_merge_or_identity_request_is_refused_and_changes_nothing(
    client: TestClient, services: Services
) -> None:
    one, _ = widget(client, "u-1")
    two, _ = widget(client, "u-2")
    three, _ = widget(client, "u-3")
    first, second, third = (customer_of(services, c) for c in (one, two, three))
    before = {c: customer(client, c) for c in (first, second, third)}
    agent = add_agent(client, "ada")
    supervisor = add_agent(client, "sue", role="supervisor")

    def merge(into: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return client.post(
            f"/api/v1/customers/{into}/merge", json=body, headers=headers or API_KEY_HEADERS
        )

    reason = {"reason": "same person"}
    assert_problem(merge(first, {"from": first, **reason}), 409)["type"].endswith(
        "/merge-into-itself"
    )
    assert assert_problem(merge(first, {"from": "nobody", **reason}), 404)["type"].endswith(
        "/customer-not-found"
    )
    assert_problem(merge("nobody", {"from": first, **reason}), 404)
    conflicting = assert_problem(merge(first, {"from": second, **reason}), 409)
    assert conflicting["type"].endswith("/conflicting-identities")  # two accounts on the site
    assert_problem(merge(first, {"from": second, **reason}, agent), 403)
    assert_problem(merge(first, {"from": second, **reason}, supervisor), 403)
    assert_problem(client.post(f"/api/v1/customers/{first}/merge", json={"from": second}), 401)
    for body in (
        {"from": second},  # no reason
        {"from": second, "reason": "   "},
        {"from": second, "reason": "x\u0000"},
        {"from": "../../etc", **reason},
        {"from": "x" * 37, **reason},
        {"from": second, "reason": "ok", "force": True},
        {"into": second, **reason},
        [],
    ):
        assert_problem(merge(first, body), 422)
    for path in ("x" * 37, "a%00b", "a b"):
        assert_problem(client.get(f"/api/v1/customers/{path}", headers=API_KEY_HEADERS), 422)
    assert_problem(client.get("/api/v1/customers/nobody", headers=API_KEY_HEADERS), 404)
    assert_problem(client.get(f"/api/v1/customers/{first}"), 401)
    # not JSON at all
    raw = client.post(
        f"/api/v1/customers/{first}/merge",
        content=b"{not json",
        headers={**API_KEY_HEADERS, "Content-Type": "application/json"},
    )
    assert raw.status_code in (400, 422) and "Traceback" not in raw.text

    # Identities: only verified ones, valid ones, held by nobody else, on a live record.
    def identify(into: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return client.post(
            f"/api/v1/customers/{into}/identities", json=body, headers=headers or API_KEY_HEADERS
        )

    email = {"kind": "email", "value": "mia@example.com", "verified": True}
    assert_problem(identify(first, {**email, "verified": False}), 422)
    assert_problem(identify(first, {**email, "kind": "fax"}), 422)
    assert_problem(identify(first, {**email, "value": "not-an-address"}), 422)
    assert_problem(identify(first, {**email, "kind": "phone", "value": "12"}), 422)
    assert_problem(identify("nobody", email), 404)
    assert_problem(identify(first, email, agent), 403)
    assert_problem(identify(first, {**email, "kind": "external_id", "value": "u-2"}), 409)

    assert {c: customer(client, c) for c in (first, second, third)} == before  # nothing changed

    added = identify(first, {**email, "value": "Mia@Example.com", "reason": "checked by phone"})
    assert added.status_code == 200 and added.json()["added"] is True
    assert verified(added.json()["customer"])["email:mia@example.com"] == "admin"
    assert identify(first, email).json()["added"] is False  # the same again: nothing new
    held = assert_problem(identify(third, email), 409)
    assert held["type"].endswith("/identity-held") and held["held_by"] == first

    # A customer without a site id merges; after that, it is merged and refused as such.
    anonymous = client.post("/api/v1/conversations", json={"customer": {"name": "Mia"}})
    mia = anonymous.json()["customer_id"]
    assert merge(first, {"from": mia, **reason}).status_code == 200
    assert_problem(merge(first, {"from": mia, **reason}), 409)["type"].endswith("/already-merged")
    assert_problem(merge(mia, {"from": third, **reason}), 409)
    assert_problem(identify(mia, {**email, "value": "x@example.com"}), 409)
    assert customer(client, first)["name"] == "Ana"


def test_a_wrong_email_signature_on_the_widget_is_refused_and_creates_nothing(
    client: TestClient, services: Services
) -> None:
    body = {
        "user_id": "u-5",
        "user_hash": user_hash("u-5"),
        "email": ANA,
        "email_signature": identity_signature("eve@example.net", IDENTITY_SECRET),
    }
    refused = client.post("/api/v1/widget/session", json=body)
    assert assert_problem(refused, 403)["type"].endswith("/identity-not-verified")
    without_email = {k: v for k, v in body.items() if k != "email"}
    assert_problem(client.post("/api/v1/widget/session", json=without_email), 403)
    with services.reading() as session, session.begin():
        count = session.execute(sa.text("SELECT count(*) FROM customers")).scalar()
    assert count == 0


def test_two_opposite_merges_at_once_one_wins_the_other_is_refused(
    client: TestClient, services: Services
) -> None:
    from warmline.customers.service import CustomerRefused, merge

    made = [
        client.post("/api/v1/conversations", json={"customer": {"name": name}}).json()
        for name in ("Ana", "Ana L")
    ]
    first, second = (m["customer_id"] for m in made)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def run(into: str, source: str) -> None:
        barrier.wait()
        try:
            with services.sessions() as session, session.begin():
                merge(session, into=into, source=source, actor="test", reason="race")
            results.append("merged")
        except CustomerRefused as refused:
            results.append(refused.kind)

    threads = [
        threading.Thread(target=run, args=(first, second)),
        threading.Thread(target=run, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["already-merged", "merged"]
    merged = [customer(client, c)["merged_into"] for c in (first, second)]
    assert merged.count(None) == 1  # exactly one record was merged, into the other


# -- the command line -------------------------------------------------------------------------


def warmline(
    args: list[str], database_url: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **TEST_ENVIRONMENT,
        "WARMLINE_DATABASE_URL": database_url,
        "WARMLINE_DATA_DIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "warmline", "customers", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_the_cli_merges_with_an_audit_event_and_refuses_with_exit_2(
    client: TestClient, services: Services, database_url: str, tmp_path: Path
) -> None:
    one, _ = widget(client, "u-1")
    first = customer_of(services, one)
    other = client.post("/api/v1/conversations", json={"customer": {"name": "Ana L"}})
    second = other.json()["customer_id"]

    for args in (
        ["merge", first, first, "--reason", "same"],
        ["merge", first, "nobody", "--reason", "same"],
        ["merge", first, second],  # no reason
        ["merge", first, second, "--reason", " "],
        ["show", "nobody"],
        ["verify", first, "fax", "123"],
        ["verify", first, "email", "not-an-address"],
    ):
        result = warmline(args, database_url, tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip()

    merged = warmline(
        ["merge", first, second, "--reason", "called in", "--by", "sam", "--json"],
        database_url,
        tmp_path,
    )
    assert merged.returncode == 0, merged.stderr
    assert '"merged_from": "' + second in merged.stdout
    after = customer(client, first)
    audit = [e for e in after["events"] if e["kind"] == "merged"]
    assert audit and audit[0]["actor"] == "cli:sam" and audit[0]["reason"] == "called in"
    shown = warmline(["show", second], database_url, tmp_path)
    assert shown.returncode == 0 and f"merged into {first}" in shown.stdout
    again = warmline(["merge", first, second, "--reason", "twice"], database_url, tmp_path)
    assert again.returncode == 2 and "already merged" in again.stderr


# -- the migration ----------------------------------------------------------------------------


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_server")) as url:
        yield url


def test_0010_keeps_every_identity_as_verified_by_a_trusted_source(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0009")
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO customers (id, name, lifetime_value, attributes, created_at)"
                " VALUES ('c1', 'Ana', 0, '{}', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            sa.text("INSERT INTO identities (customer_id, kind, value) VALUES ('c1', 'email', :v)"),
            {"v": ANA},
        )
    engine.dispose()
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT source, verified_at FROM identities")).one()
        merged = connection.execute(sa.text("SELECT merged_into FROM customers")).scalar()
        audit = connection.execute(sa.text("SELECT count(*) FROM customer_events")).scalar()
    engine.dispose()
    assert tuple(row) == ("trusted", None) and merged is None and audit == 0
