"""Learning from agents: intent corrections, wrong answers and escalation verdicts are events,
refused clearly when they do not fit, and used by training and by the knowledge base."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, add_agent, assert_problem, open_conversation, say


def _events(client: TestClient, conversation_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS)
    return list(response.json()["events"])


def _handled(client: TestClient, agent: dict[str, str], *texts: str) -> str:
    """A conversation the customer had with the bot, then with `agent`."""
    conversation_id, headers = open_conversation(client)
    for text in texts:
        say(client, conversation_id, headers, text)
    say(client, conversation_id, headers, "I want to talk to a person")
    client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=agent).raise_for_status()
    return conversation_id


def test_an_agent_corrects_an_intent_once(client: TestClient) -> None:
    alex = add_agent(client, "alex")
    cid = _handled(client, alex, "the thing I bought is still not here")
    first = next(e for e in _events(client, cid) if e["type"] == "customer_message")
    url = f"/api/v1/conversations/{cid}/corrections/intent"
    done = client.post(url, json={"seq": first["seq"], "intent": "order_status"}, headers=alex)
    assert done.status_code == 200, done.text
    event = next(e for e in _events(client, cid) if e["type"] == "intent_corrected")
    assert event["intent"] == "order_status" and event["by"] == "alex"
    assert event["message_seq"] == first["seq"] and event["previous"]
    again = client.post(url, json={"seq": first["seq"], "intent": "complaint"}, headers=alex)
    assert "already corrected" in assert_problem(again, 409)["detail"]


def test_bad_corrections_are_refused_clearly(client: TestClient) -> None:
    alex, sam = add_agent(client, "alex"), add_agent(client, "sam")
    cid = _handled(client, alex, "where is my parcel?")
    events = _events(client, cid)
    reply = next(e for e in events if e["type"] == "bot_reply")
    message = next(e for e in events if e["type"] == "customer_message")
    url = f"/api/v1/conversations/{cid}/corrections/intent"
    assert_problem(client.post(url, json={"seq": 999, "intent": "order_status"}, headers=alex), 404)
    not_a_message = client.post(
        url, json={"seq": reply["seq"], "intent": "order_status"}, headers=alex
    )
    assert "no customer message" in assert_problem(not_a_message, 404)["detail"]
    unknown = client.post(url, json={"seq": message["seq"], "intent": "teleport"}, headers=alex)
    assert "unknown intent" in assert_problem(unknown, 422)["detail"].lower()
    stranger = client.post(url, json={"seq": message["seq"], "intent": "order_status"}, headers=sam)
    assert assert_problem(stranger, 403)["detail"] == "sam did not handle this conversation"
    assert_problem(client.post(url, json={"seq": 0, "intent": "x"}, headers=alex), 422)
    assert_problem(
        client.post(
            "/api/v1/conversations/nope/corrections/intent",
            json={"seq": 1, "intent": "x"},
            headers=alex,
        ),
        404,
    )
    # A supervisor may correct any conversation.
    sue = add_agent(client, "sue", role="supervisor")
    ok = client.post(url, json={"seq": message["seq"], "intent": "order_status"}, headers=sue)
    assert ok.status_code == 200, ok.text


def test_a_flagged_answer_changes_what_the_bot_answers_next_time(client: TestClient) -> None:
    alex = add_agent(client, "alex")
    question = "How do I reset my password?"
    cid = _handled(client, alex, question)
    reply = next(e for e in _events(client, cid) if e["type"] == "bot_reply")
    assert reply["answer"]
    hits = client.get(
        "/api/v1/admin/kb/search", params={"q": question, "limit": 10}, headers=API_KEY_HEADERS
    ).json()["hits"]
    right = next(h["key"] for h in hits if h["key"] != reply["answer"])
    url = f"/api/v1/conversations/{cid}/corrections/answer"
    assert_problem(
        client.post(url, json={"seq": reply["seq"], "right": "no-such#section"}, headers=alex), 404
    )
    message = next(e for e in _events(client, cid) if e["type"] == "customer_message")
    assert_problem(client.post(url, json={"seq": message["seq"]}, headers=alex), 404)
    same = client.post(url, json={"seq": reply["seq"], "right": reply["answer"]}, headers=alex)
    assert_problem(same, 422)
    flagged = client.post(url, json={"seq": reply["seq"], "right": right}, headers=alex)
    assert flagged.status_code == 200, flagged.text
    event = next(e for e in _events(client, cid) if e["type"] == "answer_flagged")
    assert (event["wrong"], event["right"], event["question"]) == (reply["answer"], right, question)
    assert_problem(client.post(url, json={"seq": reply["seq"], "right": right}, headers=alex), 409)

    # The same question (and a close paraphrase) now gets the section the agent named.
    for asked in (question, "how do i reset my password"):
        later, headers = open_conversation(client)
        say(client, later, headers, asked)
        answer = next(e for e in _events(client, later) if e["type"] == "bot_reply")
        assert answer["answer"] == right, asked
    top = client.get("/api/v1/admin/kb/search", params={"q": question}, headers=API_KEY_HEADERS)
    assert top.json()["hits"][0]["key"] == right


def test_an_escalation_is_marked_unnecessary_or_late_once_each(client: TestClient) -> None:
    alex = add_agent(client, "alex")
    bot_only, _ = open_conversation(client)
    sue = add_agent(client, "sue", role="supervisor")
    never = client.post(
        f"/api/v1/conversations/{bot_only}/corrections/escalation",
        json={"verdict": "late"},
        headers=sue,
    )
    assert "never handed over" in assert_problem(never, 409)["detail"]
    cid = _handled(client, alex, "what's my balance")
    url = f"/api/v1/conversations/{cid}/corrections/escalation"
    ok = client.post(url, json={"verdict": "unnecessary", "note": "the bot knew"}, headers=alex)
    assert ok.status_code == 200, ok.text
    assert_problem(client.post(url, json={"verdict": "unnecessary"}, headers=alex), 409)
    assert client.post(url, json={"verdict": "late"}, headers=alex).status_code == 200
    assert_problem(client.post(url, json={"verdict": "early"}, headers=alex), 422)
    verdicts = [e["verdict"] for e in _events(client, cid) if e["type"] == "escalation_marked"]
    assert verdicts == ["unnecessary", "late"]


def test_training_includes_the_corrections(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    alex = add_agent(client, "alex")
    cid = _handled(client, alex, "the box never turned up at my door")
    message = next(e for e in _events(client, cid) if e["type"] == "customer_message")
    client.post(
        f"/api/v1/conversations/{cid}/corrections/intent",
        json={"seq": message["seq"], "intent": "order_status"},
        headers=alex,
    ).raise_for_status()
    data = tmp_path / "train.csv"
    rows = ["text,label"]
    rows += [f"where is my order number {i}00,order_status" for i in range(6)]
    rows += [f"I forgot my password again {i},password_reset" for i in range(6)]
    data.write_text("\n".join(rows) + "\n")
    env = {**os.environ, "WARMLINE_DATABASE_URL": database_url}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "warmline",
            "train",
            "intents",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "model"),
            "--include-corrections",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "added 1 of 1 agent corrections" in result.stderr
    assert "trained 2 intents on 13 examples" in result.stderr
