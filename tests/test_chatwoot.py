"""warmline as Chatwoot's agent bot, against a fake Chatwoot on loopback: routine questions
answered through Chatwoot's API, an upset customer handed over with the packet as a private
note, signatures and replays refused, repeats stored once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fake_chatwoot import FakeChatwoot
from helpers import API_KEY_HEADERS, assert_problem, make_test_settings
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.channels.chatwoot.protocol import conversation_key, sign
from warmline.config import Settings

SECRET = "chatwoot-webhook-secret-0123456789"
TOKEN = "bot-access-token-abc"


@pytest.fixture
def chatwoot() -> Iterator[FakeChatwoot]:
    fake = FakeChatwoot(TOKEN)
    yield fake
    fake.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, chatwoot: FakeChatwoot) -> Settings:
    return make_test_settings(
        database_url,
        tmp_path,
        chatwoot_url=chatwoot.url,
        chatwoot_bot_token=TOKEN,
        chatwoot_webhook_secret=SECRET,
    )


def _payload(text: str, message_id: int, conversation: int = 7, **extra: Any) -> dict[str, Any]:
    """A message_created webhook as Chatwoot sends it to an agent bot."""
    return {
        "event": "message_created",
        "id": message_id,
        "content": text,
        "message_type": "incoming",
        "private": False,
        "account": {"id": 3, "name": "Brightwave"},
        "conversation": {"id": conversation, "status": "pending", "inbox_id": 1},
        "sender": {"id": 42, "name": "Dana Reyes", "email": "dana@example.com", "type": "contact"},
        **extra,
    }


def _post(
    client: TestClient,
    payload: dict[str, Any],
    *,
    secret: str = SECRET,
    age: float = 0.0,
    signed: bool = True,
) -> Any:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time() - age))
    headers = {"content-type": "application/json"}
    if signed:
        headers |= {
            "X-Chatwoot-Timestamp": timestamp,
            "X-Chatwoot-Signature": sign(secret, timestamp, body),
        }
    return client.post("/api/v1/channels/chatwoot/webhook", content=body, headers=headers)


def test_a_routine_question_is_answered_through_chatwoot(
    client: TestClient, chatwoot: FakeChatwoot
) -> None:
    answered = _post(client, _payload("How do I reset my password?", 100))
    assert answered.status_code == 200, answered.text
    assert answered.json()["handled"] is True and answered.json()["escalated"] is False
    assert [call["action"] for call in chatwoot.calls] == ["messages"]
    reply = chatwoot.calls[0]
    assert (reply["account"], reply["conversation"]) == (3, 7)
    assert reply["body"]["message_type"] == "outgoing" and reply["body"]["private"] is False
    assert "password" in reply["body"]["content"].lower()
    conversation = client.get(
        f"/api/v1/conversations/{answered.json()['conversation_id']}", headers=API_KEY_HEADERS
    ).json()
    assert conversation["channel"] == "chatwoot"
    assert [e["text"] for e in conversation["events"] if e["type"] == "customer_message"] == [
        "How do I reset my password?"
    ]


def test_a_goodbye_the_bot_closes_is_resolved_in_chatwoot_too(
    client: TestClient, chatwoot: FakeChatwoot
) -> None:
    _post(client, _payload("How do I reset my password?", 150, conversation=8))
    bye = _post(client, _payload("ok thanks, bye", 151, conversation=8))
    assert bye.status_code == 200, bye.text
    actions = [call["action"] for call in chatwoot.calls]
    assert actions == ["messages", "messages", "toggle_status"]
    assert chatwoot.calls[-1]["body"] == {"status": "resolved"}


def test_an_upset_customer_is_handed_to_chatwoots_agents_with_the_packet(
    client: TestClient, chatwoot: FakeChatwoot
) -> None:
    _post(client, _payload("where is my order 51877?", 200, conversation=9))
    upset = _post(
        client,
        _payload("This is ridiculous, third time I ask, get me a human NOW", 201, conversation=9),
    )
    assert upset.status_code == 200 and upset.json()["escalated"] is True
    actions = [(call["action"], call["body"].get("private")) for call in chatwoot.calls]
    assert actions[-3:] == [("messages", False), ("messages", True), ("toggle_status", None)]
    note = chatwoot.calls[-2]["body"]["content"]
    assert note.startswith("**Handed over by warmline**") and "Why:" in note and "order" in note
    assert chatwoot.calls[-1]["body"] == {"status": "open"}
    # Once people handle it, the bot stays out of the conversation.
    later = _payload("hello? anyone?", 202, conversation=9)
    later["conversation"]["status"] = "open"
    ignored = _post(client, later)
    assert ignored.json() == {"handled": False, "why": "people handle this conversation"}
    assert len(chatwoot.calls) == len(actions)


def test_a_repeated_webhook_stores_the_message_once(
    client: TestClient, chatwoot: FakeChatwoot
) -> None:
    first = _post(client, _payload("How do I return an item?", 300, conversation=11))
    again = _post(client, _payload("How do I return an item?", 300, conversation=11))
    assert first.json()["replayed"] is False and again.json()["replayed"] is True
    key = conversation_key(chatwoot.url, 3, 11)
    events = client.get(f"/api/v1/conversations/{key}", headers=API_KEY_HEADERS).json()["events"]
    assert sum(e["type"] == "customer_message" for e in events) == 1


def test_unsigned_forged_and_old_webhooks_are_refused(
    client: TestClient, chatwoot: FakeChatwoot
) -> None:
    payload = _payload("How do I reset my password?", 400)
    for response, words in (
        (_post(client, payload, signed=False), "not signed"),
        (_post(client, payload, secret="someone-elses-secret"), "does not match"),
        (_post(client, payload, age=3600), "too old"),
    ):
        assert words in assert_problem(response, 401)["detail"]
    body = json.dumps(payload).encode()
    tampered = client.post(
        "/api/v1/channels/chatwoot/webhook",
        content=body.replace(b"password", b"passw0rd"),
        headers={
            "X-Chatwoot-Timestamp": (ts := str(int(time.time()))),
            "X-Chatwoot-Signature": sign(SECRET, ts, body),
        },
    )
    assert_problem(tampered, 401)
    assert chatwoot.calls == []


def test_what_the_bot_does_not_answer_is_acknowledged_and_left_alone(
    client: TestClient, chatwoot: FakeChatwoot
) -> None:
    for payload, why in (
        (_payload("our reply", 500, message_type="outgoing"), "not a customer's message"),
        (_payload("a note", 501, private=True), "not a customer's message"),
        ({**_payload("x", 502), "event": "conversation_created"}, "is not a new message"),
        (_payload("   ", 503), "the message has no text"),
        ({**_payload("hi", 504), "account": {}}, "names no account"),
    ):
        answered = _post(client, payload)
        assert answered.status_code == 200 and why in answered.json()["why"], answered.text
    not_json = b"{not json"
    ts = str(int(time.time()))
    refused = client.post(
        "/api/v1/channels/chatwoot/webhook",
        content=not_json,
        headers={"X-Chatwoot-Timestamp": ts, "X-Chatwoot-Signature": sign(SECRET, ts, not_json)},
    )
    assert_problem(refused, 422)
    assert chatwoot.calls == []


def test_chatwoot_down_is_a_502_and_chatwoots_retry_answers(
    client: TestClient, chatwoot: FakeChatwoot
) -> None:
    chatwoot.failures = 10
    down = _post(client, _payload("How do I reset my password?", 600, conversation=13))
    assert_problem(down, 502)
    chatwoot.failures = 0
    retried = _post(client, _payload("How do I reset my password?", 600, conversation=13))
    assert retried.status_code == 200 and retried.json()["replayed"] is True
    assert [call["action"] for call in chatwoot.calls] == ["messages"]


def test_the_integration_is_off_until_configured(
    database_url: str, tmp_path: Path, services: Services
) -> None:
    plain = make_test_settings(database_url, tmp_path)
    services.settings = plain
    with TestClient(create_app(plain, services)) as client:
        assert_problem(_post(client, _payload("hi", 1)), 404)
