"""200 scripted conversations of known shape through the API, and every metric of the report
checked against values worked out by hand from the shapes.

| shape | n | what happens |
|---|---|---|
| routine | 60 | a password question, answered by the bot |
| escape | 40 | asks for a person; alex replies once and resolves; CSAT 5, felt heard |
| upset | 30 | a furious message (frustration); alex replies twice, resolves; CSAT 2, not heard |
| unsure | 30 | two unreadable messages, then yes to a person; alex replies once, resolves; |
| | | 10 of them marked unnecessary by alex |
| abandoned | 20 | asks for a person; nobody takes it |
| reopened | 20 | asks for a person; alex resolves; the customer writes again |

Metrics that depend on the models' numbers (mean frustration, estimated satisfaction) are
checked for range only; the rest exactly. Times are checked for counts (every reply is
within the test's run, so their values are only bounded).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, add_agent, open_conversation, say

ESCAPE = "I want to talk to a person"
FURIOUS = (
    "This is absolutely ridiculous!!! I am FURIOUS, worst service ever, third time I write "
    "and nobody helps"
)


def _agent_does(client: TestClient, alex: dict[str, str], cid: str, replies: int) -> None:
    client.post(f"/api/v1/conversations/{cid}/claim", headers=alex).raise_for_status()
    for number in range(replies):
        client.post(
            f"/api/v1/conversations/{cid}/agent-messages",
            json={"text": f"Here is what I found ({number})."},
            headers=alex,
        ).raise_for_status()
    client.post(f"/api/v1/conversations/{cid}/resolve", headers=alex).raise_for_status()


def _feedback(client: TestClient, cid: str, headers: dict[str, str], **answer: Any) -> None:
    client.post(
        f"/api/v1/conversations/{cid}/feedback", json=answer, headers=headers
    ).raise_for_status()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_hundred_scripted_conversations_give_the_hand_worked_metrics(
    client: TestClient, backend: str
) -> None:
    alex = add_agent(client, "alex")
    for _ in range(60):
        cid, headers = open_conversation(client)
        assert say(client, cid, headers, "How do I reset my password?")["decision"] == "answer"
    for _ in range(40):
        cid, headers = open_conversation(client)
        say(client, cid, headers, ESCAPE)
        _agent_does(client, alex, cid, replies=1)
        _feedback(client, cid, headers, csat=5, felt_heard=True)
    for _ in range(30):
        cid, headers = open_conversation(client)
        assert say(client, cid, headers, FURIOUS)["reasons"][0]["trigger"] == "frustration"
        _agent_does(client, alex, cid, replies=2)
        _feedback(client, cid, headers, csat=2, felt_heard=False)
    for number in range(30):
        cid, headers = open_conversation(client)
        say(client, cid, headers, "the purple elephant sings at midnight")
        say(client, cid, headers, "quantum banana telescope recipe")
        assert say(client, cid, headers, "yes please")["escalated"]
        _agent_does(client, alex, cid, replies=1)
        if number < 10:
            client.post(
                f"/api/v1/conversations/{cid}/corrections/escalation",
                json={"verdict": "unnecessary"},
                headers=alex,
            ).raise_for_status()
    for _ in range(20):
        cid, headers = open_conversation(client)
        say(client, cid, headers, ESCAPE)
    for _ in range(20):
        cid, headers = open_conversation(client)
        say(client, cid, headers, ESCAPE)
        _agent_does(client, alex, cid, replies=1)
        say(client, cid, headers, "one more thing, can you also send me the invoice?")

    response = client.get("/api/v1/report", headers=API_KEY_HEADERS)
    assert response.status_code == 200, response.text
    n = response.json()["numbers"]
    assert n["conversations"] == 200
    handed = 40 + 30 + 30 + 20 + 20
    assert n["escalation_rate"] == handed / 200
    assert n["escalations_by_reason"] == {
        "escape_hatch": 40 + 20 + 20,
        "frustration": 30,
        "offer_accepted": 30,
    }
    assert n["resolved"] == 40 + 30 + 30  # the reopened ones are open again
    assert n["first_contact_resolution"] == (40 + 30 + 30) / 200
    assert n["containment"] == 60 / 200
    assert n["unnecessary_escalations"] == 30  # one reply after the bot could not read it
    assert n["late_escalations"] == 0  # the furious ones escalated on their first turn
    assert n["time_to_escalate_s"]["count"] == 30  # only the furious ones were upset
    assert n["surveys"]["human"] == {
        "answers": 70,
        "csat": round((40 * 5 + 30 * 2) / 70, 4),
        "nps": None,
        "felt_heard": round(40 / 70, 4),
    }
    assert n["surveys"]["ai_only"]["answers"] == 0
    assert n["satisfaction_agreement"]["pairs"] == 70
    assert n["satisfaction_agreement"]["spearman"] > 0  # the furious ones are estimated lower
    assert n["churn_signals"] == {"threats_to_leave": 0, "repeat_contacts": 0, "sla_breaches": 0}
    assert n["agent_load"] == {"alex": {"upset_conversations": 30, "most_in_an_hour": 30}}
    assert n["corrections"] == {"escalation_marked": 10}
    # Every conversation got a first reply; 140 were handed over, 120 taken by alex.
    assert n["first_response_s"]["count"] == 200
    assert n["queue_wait_s"]["count"] == 120
    # Handling and resolution times exist for every conversation ever resolved (reopened too).
    assert n["handling_s"]["count"] == 120 and n["resolution_s"]["count"] == 120
    assert 0 <= n["frustration_start"] <= 1 and 0 <= n["frustration_end"] <= 1
    assert 1 <= n["satisfaction_estimated"] <= 5
