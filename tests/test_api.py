"""The HTTP API end to end, on every storage backend, with the real pipeline."""

from __future__ import annotations

from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, add_agent, assert_problem, open_conversation, say
from warmline.api.services import Services


def _events(client: TestClient, conversation_id: str) -> list[dict]:
    """The full event log, as staff see it."""
    response = client.get(f"/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def test_a_routine_question_gets_an_answer(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    answer = say(client, conversation_id, headers, "How do I reset my password?")
    assert answer["decision"] == "answer"
    assert not answer["escalated"]
    assert "password" in answer["reply"].lower()
    assert "person" in answer["reply"]  # a visible way to reach a human
    # The steps, then the offer to do it: the reset is one of the bot's actions.
    assert "Would you like me to send you a password reset link?" in answer["reply"]
    types = [e["type"] for e in _events(client, conversation_id)]
    assert types == ["customer_message", "analysis", "decision", "action_step", "bot_reply"]


def test_asking_for_a_real_person_escalates_with_the_reason_logged(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    answer = say(client, conversation_id, headers, "I want to talk to a real person")
    assert answer["decision"] == "escalate" and answer["escalated"]
    assert answer["reasons"][0]["trigger"] == "escape_hatch"
    events = _events(client, conversation_id)
    decision = next(e for e in events if e["type"] == "decision")
    assert [r["trigger"] for r in decision["reasons"]] == ["escape_hatch"]
    handoff = next(e for e in events if e["type"] == "handoff")
    assert handoff["reasons"] == ["escape_hatch"]
    assert handoff["packet"]["suggested_first_line"]
    queue = client.get("/api/v1/queue", headers=API_KEY_HEADERS).json()
    assert [item["id"] for item in queue] == [conversation_id]


def test_a_negated_request_for_a_human_is_not_an_escalation(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    answer = say(client, conversation_id, headers, "I don't need a human, just tell me my balance")
    assert answer["decision"] != "escalate"
    assert all(r["trigger"] != "escape_hatch" for r in answer["reasons"])
    assert client.get("/api/v1/queue", headers=API_KEY_HEADERS).json() == []


def test_an_unknown_request_gets_one_clarifying_question_then_a_person(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    first = say(client, conversation_id, headers, "the purple elephant sings at midnight")
    assert first["decision"] == "clarify"
    second = say(client, conversation_id, headers, "quantum banana telescope recipe")
    assert second["decision"] == "offer_handoff"
    assert [r["trigger"] for r in second["reasons"]] == ["low_confidence"]
    assert "person" in second["reply"]
    accepted = say(client, conversation_id, headers, "yes please")
    assert accepted["decision"] == "escalate" and accepted["escalated"]


def test_agent_lifecycle_claim_write_hand_back_resolve(client: TestClient) -> None:
    alex = add_agent(client, "alex", "senior")
    conversation_id, headers = open_conversation(
        client, customer={"name": "Ana García", "email": "ana@example.com", "tier": "vip"}
    )
    say(client, conversation_id, headers, "Can I speak to someone please")
    claimed = client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=alex)
    assert claimed.json() == {"id": conversation_id, "status": "assigned", "agent": "alex"}
    quiet = say(client, conversation_id, headers, "hello? are you there?")
    assert quiet["decision"] == "stay_quiet" and quiet["reply"] is None
    wrote = client.post(
        f"/api/v1/conversations/{conversation_id}/agent-messages",
        json={"text": "Hi Ana, I have your account open."},
        headers=alex,
    )
    assert wrote.status_code == 200
    back = client.post(f"/api/v1/conversations/{conversation_id}/handback", headers=alex)
    assert back.json()["status"] == "bot"
    assert say(client, conversation_id, headers, "thanks!")["decision"] != "stay_quiet"
    # Handed back, it is the bot's again: alex may not close it; a supervisor may.
    assert_problem(
        client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=alex), 403
    )
    sue = add_agent(client, "sue", role="supervisor")
    done = client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=sue)
    assert done.json()["status"] == "resolved"
    types = [e["type"] for e in _events(client, conversation_id)]
    assert [
        t for t in types if t in {"agent_assigned", "agent_message", "handed_back", "resolved"}
    ] == ["agent_assigned", "agent_message", "handed_back", "resolved"]


def test_a_second_claim_is_a_conflict(client: TestClient) -> None:
    alex, sam = add_agent(client, "alex"), add_agent(client, "sam")
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "agent")
    assert client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=alex).is_success
    conflict = client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=sam)
    assert_problem(conflict, 409)
    not_owner = client.post(
        f"/api/v1/conversations/{conversation_id}/agent-messages", json={"text": "hi"}, headers=sam
    )
    assert_problem(not_owner, 403)


def test_idempotency_key_stores_the_message_once(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    keyed = {**headers, "Idempotency-Key": "abc-123"}
    first = client.post(url, json={"text": "where is my order?"}, headers=keyed)
    again = client.post(url, json={"text": "where is my order?"}, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["reply"] == first.json()["reply"]
    messages = [e for e in _events(client, conversation_id) if e["type"] == "customer_message"]
    assert len(messages) == 1


# --- bad input: a 4xx problem+json, and nothing stored wrongly -------------------------------


def _message_count(client: TestClient, conversation_id: str, headers: dict[str, str]) -> int:
    return sum(e["type"] == "customer_message" for e in _events(client, conversation_id))


def test_an_empty_message_is_refused(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    for text in ("", "   \n\t"):
        response = client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"text": text},
            headers=headers,
        )
        assert_problem(response, 422)
    assert _message_count(client, conversation_id, headers) == 0


def test_a_one_megabyte_message_is_refused(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    response = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "x" * 1_000_000},
        headers=headers,
    )
    assert_problem(response, 413)
    over_limit = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "y" * 20_000},
        headers=headers,
    )
    assert_problem(over_limit, 422)
    assert _message_count(client, conversation_id, headers) == 0


def test_invalid_json_is_a_bad_request(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    response = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        content=b'{"text": "hello"',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)
    wrong_shape = client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=["text"], headers=headers
    )
    assert_problem(wrong_shape, 422)
    assert _message_count(client, conversation_id, headers) == 0


def test_an_unknown_conversation_is_not_found(client: TestClient, services: Services) -> None:
    token = {"Authorization": f"Bearer {services.conversation_token('nope')}"}
    response = client.post(
        "/api/v1/conversations/nope/messages", json={"text": "hi"}, headers=token
    )
    assert_problem(response, 404)
    assert_problem(client.get("/api/v1/conversations/nope", headers=API_KEY_HEADERS), 404)
    assert_problem(client.post("/api/v1/conversations/nope/claim", headers=API_KEY_HEADERS), 404)


def test_wrong_or_missing_keys_are_unauthorized(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    other_id, _ = open_conversation(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    assert_problem(client.post(url, json={"text": "hi"}), 401)
    assert_problem(
        client.post(url, json={"text": "hi"}, headers={"Authorization": "Bearer x"}), 401
    )
    other_token = client.post(
        f"/api/v1/conversations/{other_id}/messages", json={"text": "hi"}, headers=headers
    )
    assert_problem(other_token, 401)
    assert_problem(client.get("/api/v1/queue"), 401)
    assert_problem(client.get("/api/v1/queue", headers={"X-API-Key": "wrong"}), 401)
    assert_problem(client.get("/api/v1/queue", headers=headers), 401)  # customer token
    assert_problem(client.post("/api/v1/agents", json={"id": "x", "name": "X"}), 401)
    assert _message_count(client, conversation_id, headers) == 0


def test_a_reused_idempotency_key_with_another_body_is_refused(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    keyed = {**headers, "Idempotency-Key": "key-1"}
    assert client.post(url, json={"text": "where is my order?"}, headers=keyed).status_code == 200
    reused = client.post(url, json={"text": "cancel my subscription"}, headers=keyed)
    body = assert_problem(reused, 422)
    assert "Idempotency-Key" in body["detail"]
    texts = [e["text"] for e in _events(client, conversation_id) if e["type"] == "customer_message"]
    assert texts == ["where is my order?"]


def test_bad_conversation_and_agent_bodies_are_refused(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/conversations", json={"channel": "fax"}), 422)
    assert_problem(
        client.post("/api/v1/conversations", json={"customer": {"email": "not-an-email"}}), 422
    )
    assert_problem(client.post("/api/v1/conversations", json={"surprise": 1}), 422)
    bad_agent = client.post(
        "/api/v1/agents", json={"id": "a b", "name": "A"}, headers=API_KEY_HEADERS
    )
    assert_problem(bad_agent, 422)
    add_agent(client, "dup")
    duplicate = client.post(
        "/api/v1/agents", json={"id": "dup", "name": "D"}, headers=API_KEY_HEADERS
    )
    assert_problem(duplicate, 409)


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/conversations/{conversation_id}/messages" in paths
    assert client.get("/healthz").json()["status"] == "ok"


def test_the_constant_analyzer_still_answers_and_honours_a_request_for_a_person() -> None:
    """`WARMLINE_ANALYZER=constant` (load tests) reads nothing but a request for a person."""
    from warmline.bootstrap import build_pipeline
    from warmline.config import Settings
    from warmline.domain.conversation import Conversation
    from warmline.engine import InboundMessage

    pipeline = build_pipeline(Settings(analyzer="constant", _env_file=None))
    routine = pipeline.process(
        Conversation(id="c"), InboundMessage("c", "where is my order?"), None
    )
    assert routine.analysis is not None and routine.analysis.intent.intent == "order_status"
    assert not routine.escalated and routine.reply
    human = pipeline.process(Conversation(id="c"), InboundMessage("c", "get me a human"), None)
    assert human.escalated
