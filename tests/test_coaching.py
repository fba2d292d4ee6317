"""Live coaching: tips on a draft as the agent types, a tone score, and suggested replies from
the knowledge base and from colleagues; over the API and `warmline coach`."""

from __future__ import annotations

import json
import subprocess
import sys

from fastapi.testclient import TestClient

from helpers import add_agent, assert_problem, open_conversation, say
from warmline.handoff.coaching import Situation, coach, tone

UPSET = Situation(upset=True, name="Ana", intent="order_status")


def _codes(draft: str, where: Situation = UPSET) -> list[str]:
    return [tip.code for tip in coach(draft, where).tips]


def test_an_upset_customer_gets_the_feeling_acknowledged_first() -> None:
    assert "acknowledge_feeling" in _codes("Ana, the parcel is at the depot; I'll chase it today.")
    assert "acknowledge_feeling" not in _codes(
        "Ana, I'm so sorry, that's frustrating. I'll chase the depot today."
    )
    assert "acknowledge_feeling" not in _codes(
        "The parcel is at the depot; I'll chase it today.", Situation(name="Ana")
    )


def test_blame_dismissal_jargon_and_shouting_are_flagged_with_their_words() -> None:
    tips = {
        t.code: t.evidence
        for t in coach(
            "As I said, calm down. You should have read the SLA. It is NEVER our fault.", UPSET
        ).tips
    }
    assert tips["avoid_dismissive"] == "As I said, calm down"
    assert tips["avoid_blame"] == "You should have"
    assert tips["avoid_jargon"] == "SLA"
    assert tips["no_shouting"] == "NEVER"


def test_the_name_and_a_next_step_with_a_time_are_asked_for() -> None:
    assert "use_name" in _codes("I'm sorry about this, I'll chase it today.")
    assert "state_next_step" in _codes("Ana, I'm sorry, the parcel is at the depot.")
    assert "say_when" in _codes("Ana, I'm sorry about this. I'll chase the depot.")
    assert _codes("Ana, I'm sorry about this. I'll chase the depot and email you by 5pm.") == []


def test_tone_rises_with_warmth_and_falls_with_each_problem() -> None:
    warm = coach("Ana, I'm sorry about the wait. I'll call the courier and email you today.", UPSET)
    cold = coach("As I said, you should have checked. CALM DOWN.", UPSET)
    plain = coach("The order is with the courier.", Situation())
    assert warm.tone > plain.tone > cold.tone
    assert cold.tone == 0.0 and warm.tone >= 0.75
    assert tone("") == 0.5


def test_a_huge_or_odd_draft_is_coached_without_error() -> None:
    assert coach("x" * 100_000, UPSET).tone >= 0
    assert coach("\U0001f600\U0001f600", UPSET).tips
    assert coach("", Situation()).tips == []


def test_the_api_coaches_a_draft_with_suggested_replies(client: TestClient) -> None:
    alex = add_agent(client, "alex")
    # A colleague resolved a password conversation earlier: their reply is suggested.
    earlier, headers = open_conversation(client)
    say(client, earlier, headers, "I can't reset my password, the link never arrives")
    say(client, earlier, headers, "I want a person")
    client.post(f"/api/v1/conversations/{earlier}/claim", headers=alex).raise_for_status()
    fix = "I've resent the reset link from our side; check spam and it expires in an hour."
    client.post(
        f"/api/v1/conversations/{earlier}/agent-messages", json={"text": fix}, headers=alex
    ).raise_for_status()
    client.post(f"/api/v1/conversations/{earlier}/resolve", headers=alex).raise_for_status()

    conversation_id, headers = open_conversation(
        client, customer={"name": "Ana García", "email": "ana@example.com"}
    )
    say(client, conversation_id, headers, "How do I reset my password? the link never comes!!")
    response = client.post(
        f"/api/v1/conversations/{conversation_id}/coach",
        json={"draft": "As I said, check your spam folder"},
        headers=alex,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    codes = [t["code"] for t in body["tips"]]
    assert "avoid_dismissive" in codes and "use_name" in codes
    assert 0.0 <= body["tone"] <= 1.0
    sources = [r["source"] for r in body["replies"]]
    assert "knowledge" in sources  # the demo help centre's password section
    assert any("password" in (r["title"] or "").lower() for r in body["replies"])
    assert {"source": "agents", "text": fix, "title": None, "url": None} in body["replies"]


def test_the_api_refuses_bad_coaching_requests(client: TestClient) -> None:
    alex = add_agent(client, "alex")
    conversation_id, headers = open_conversation(client)
    missing = client.post("/api/v1/conversations/nope/coach", json={"draft": "hi"}, headers=alex)
    assert_problem(missing, 404)
    url = f"/api/v1/conversations/{conversation_id}/coach"
    assert_problem(client.post(url, json={"draft": "x" * 20_001}, headers=alex), 422)
    assert_problem(client.post(url, json={"draft": 5}, headers=alex), 422)
    assert_problem(client.post(url, json={"draft": "hi"}, headers=headers), 403)  # a customer
    assert client.post(url, json={"draft": ""}, headers=alex).json()["tips"] == []


def test_the_cli_coaches_drafts_and_rejects_bad_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    drafts = tmp_path / "drafts.jsonl"
    drafts.write_text(
        json.dumps(
            {
                "id": "d1",
                "draft": "You should have read the email.",
                "turns": [{"speaker": "customer", "text": "this is ridiculous, nothing works!!"}],
                "customer": {"name": "Ana"},
            }
        )
        + "\n"
    )
    env_cmd = [sys.executable, "-m", "warmline", "coach", str(drafts), "--no-knowledge"]
    out = subprocess.run(env_cmd, capture_output=True, text=True, check=True, timeout=120)
    line = json.loads(out.stdout)
    assert line["id"] == "d1"
    assert {"avoid_blame", "use_name"} <= {t["code"] for t in line["tips"]}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"draft": 3}\n')
    failed = subprocess.run(
        [sys.executable, "-m", "warmline", "coach", str(bad), "--no-knowledge"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 2
    assert "record 1" in failed.stderr and "draft" in failed.stderr
