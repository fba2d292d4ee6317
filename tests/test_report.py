"""Metrics from the event log: each number checked against values worked out by hand, then the
report through the API and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, add_agent, assert_problem, open_conversation, say
from warmline.analytics.export import COLUMNS
from warmline.analytics.metrics import facts_of, report
from warmline.domain.conversation import Conversation
from warmline.domain.events import (
    AgentAssigned,
    AgentMessage,
    AnalysisRecorded,
    BotReply,
    CustomerMessage,
    FeedbackGiven,
    HandedOff,
    IntentCorrected,
    Resolved,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _said(text: str, seconds: float, frustration: float, *signals: str) -> list[Any]:
    emotion = {"frustration": frustration, "signals": [{"name": s} for s in signals]}
    return [
        CustomerMessage(text=text, ts=_at(seconds)),
        AnalysisRecorded(analysis={"emotion": emotion}, ts=_at(seconds)),
    ]


def _conversation(cid: str, customer: str, *events: Any) -> Conversation:
    conversation = Conversation(id=cid, customer_id=customer)
    for event in events:
        conversation.apply(event)
    return conversation


def _three() -> list[Conversation]:
    """A: answered by the bot in 2 s (the customer comes back a day later, as C).
    B: upset four turns, handed over for frustration, an agent resolves it; CSAT 2.
    C: the bot did not understand, handed over, one agent reply resolves it."""
    a = _conversation(
        "A",
        "c1",
        *_said("how do I reset my password", 0, 0.1),
        BotReply(text="Use the reset link.", kind="answer", ts=_at(2)),
    )
    b = _conversation(
        "B",
        "c2",
        *_said("my order is late", 0, 0.6),
        BotReply(text="It's on its way.", kind="answer", ts=_at(1)),
        *_said("it was due last week", 60, 0.7),
        BotReply(text="Sorry about that.", kind="answer", ts=_at(61)),
        *_said("this is useless", 120, 0.8),
        BotReply(text="Sorry.", kind="answer", ts=_at(121)),
        *_said("I'm cancelling my account, get me a person", 180, 0.9, "churn_threat"),
        HandedOff(reasons=["frustration"], ts=_at(180)),
        AgentAssigned(agent="alex", ts=_at(240)),
        AgentMessage(agent="alex", text="I've sent a courier.", ts=_at(260)),
        Resolved(by="alex", ts=_at(360)),
        FeedbackGiven(csat=2, felt_heard=False, ts=_at(400)),
    )
    day = 86_400
    c = _conversation(
        "C",
        "c1",
        *_said("flibber the wodget", day, 0.2),
        BotReply(text="I'm not sure I understood.", kind="no_answer", ts=_at(day + 5)),
        HandedOff(reasons=["low_confidence"], ts=_at(day + 10)),
        AgentAssigned(agent="alex", ts=_at(day + 70)),
        AgentMessage(agent="alex", text="Here is the reset link.", ts=_at(day + 80)),
        Resolved(by="alex", ts=_at(day + 100)),
        IntentCorrected(message_seq=1, intent="password_reset", by="alex", ts=_at(day + 120)),
    )
    return [a, b, c]


def test_every_metric_matches_the_values_worked_out_by_hand() -> None:
    facts = [f for f in (facts_of(c) for c in _three()) if f is not None]
    numbers = report(facts).numbers
    assert numbers["conversations"] == 3
    # First responses: A 2 s, B 1 s, C 5 s.
    assert numbers["first_response_s"] == {"count": 3, "median": 2.0, "p90": 5.0}
    # Handling (assignment to resolution): B 120 s, C 30 s; resolution: B 360 s, C 100 s.
    assert numbers["handling_s"] == {"count": 2, "median": 75.0, "p90": 120.0}
    assert numbers["resolution_s"] == {"count": 2, "median": 230.0, "p90": 360.0}
    assert numbers["resolved"] == 2
    # B and C resolved, never reopened, their customers not back afterwards; A's came back.
    assert numbers["first_contact_resolution"] == round(2 / 3, 4)
    # A ended on an answer without a person, but its customer came back the next day.
    assert numbers["containment"] == 0.0
    assert numbers["escalation_rate"] == round(2 / 3, 4)
    assert numbers["escalations_by_reason"] == {"frustration": 1, "low_confidence": 1}
    # B: first upset turn at 0 s, handed over at 180 s; C was never upset.
    assert numbers["time_to_escalate_s"] == {"count": 1, "median": 180.0, "p90": 180.0}
    # B was upset for three turns before the one that escalated: late. C: one agent reply
    # after a handoff for not understanding: unnecessary.
    assert numbers["late_escalations"] == 1
    assert numbers["unnecessary_escalations"] == 1
    assert numbers["frustration_start"] == round((0.1 + 0.6 + 0.2) / 3, 4)
    assert numbers["frustration_end"] == round((0.1 + 0.9 + 0.2) / 3, 4)
    assert numbers["surveys"]["human"] == {
        "answers": 1,
        "csat": 2.0,
        "nps": None,
        "felt_heard": 0.0,
    }
    assert numbers["surveys"]["ai_only"]["answers"] == 0
    assert numbers["satisfaction_agreement"]["pairs"] == 1
    assert numbers["churn_signals"] == {
        "threats_to_leave": 1,
        "repeat_contacts": 1,
        "sla_breaches": 0,
    }
    # alex took B while the customer was upset (0.9), and C calm.
    assert numbers["agent_load"] == {"alex": {"upset_conversations": 1, "most_in_an_hour": 1}}
    assert numbers["corrections"] == {"intent_corrected": 1}


def test_a_period_selects_conversations_by_their_start() -> None:
    facts = [f for f in (facts_of(c) for c in _three()) if f is not None]
    first_day = report(facts, since=T0, until=T0 + timedelta(hours=12)).numbers
    assert first_day["conversations"] == 2
    assert first_day["churn_signals"]["repeat_contacts"] == 1  # C, outside, still counts
    empty = report(facts, since=T0 + timedelta(days=30)).numbers
    assert empty["conversations"] == 0
    assert empty["escalation_rate"] is None and empty["first_response_s"]["median"] is None


def test_the_report_over_the_api_and_the_cli(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    alex = add_agent(client, "alex")
    sue = add_agent(client, "sue", role="supervisor")
    routine, headers = open_conversation(client)
    say(client, routine, headers, "How do I reset my password?")
    handed, headers = open_conversation(client)
    say(client, handed, headers, "I want to talk to a person")
    client.post(f"/api/v1/conversations/{handed}/claim", headers=alex).raise_for_status()
    client.post(
        f"/api/v1/conversations/{handed}/agent-messages", json={"text": "Hi!"}, headers=alex
    ).raise_for_status()
    client.post(f"/api/v1/conversations/{handed}/resolve", headers=alex).raise_for_status()
    client.post(
        f"/api/v1/conversations/{handed}/feedback", json={"csat": 5}, headers=headers
    ).raise_for_status()

    response = client.get("/api/v1/report", headers=sue)
    assert response.status_code == 200, response.text
    numbers = response.json()["numbers"]
    assert numbers["conversations"] == 2 and numbers["resolved"] == 1
    assert numbers["escalations_by_reason"] == {"escape_hatch": 1}
    assert numbers["containment"] == 0.5  # the password answer
    assert numbers["surveys"]["human"]["csat"] == 5.0
    assert response.json()["daily"]["escalations_by_reason"] == {"escape_hatch": [1]}
    assert_problem(client.get("/api/v1/report", headers=alex), 403)
    backwards = client.get(
        "/api/v1/report",
        params={"since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=API_KEY_HEADERS,
    )
    assert backwards.json()["numbers"]["conversations"] == 0  # an empty period, honestly
    assert_problem(
        client.get("/api/v1/report", params={"since": "2026-02-30T00:00:00Z"}, headers=sue), 422
    )
    assert_problem(client.get("/api/v1/report", params={"since": "yesterday"}, headers=sue), 422)

    env = {**os.environ, "WARMLINE_DATABASE_URL": database_url}
    run = [sys.executable, "-m", "warmline", "report"]
    out = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["numbers"]["conversations"] == 2
    rows = subprocess.run([*run, "--csv"], capture_output=True, text=True, env=env, timeout=120)
    assert "escalations_by_reason.escape_hatch,1" in rows.stdout.splitlines()
    table = subprocess.run(
        [*run, "--charts", str(tmp_path / "charts")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert (tmp_path / "charts" / "queue_wait.svg").exists()
    assert table.returncode == 0 and "escalation_rate" in table.stdout
    for args in (["--since", "soon"], ["--since", "2026-12-01", "--until", "2026-11-01"]):
        failed = subprocess.run([*run, *args], capture_output=True, text=True, env=env, timeout=120)
        assert failed.returncode == 2 and failed.stderr.startswith("error:"), failed.stderr
    exported = subprocess.run(
        [sys.executable, "-m", "warmline", "export", "conversations"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == 3  # header + 2
    later = subprocess.run(
        [*run, "--since", "2099-01-01", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert json.loads(later.stdout)["numbers"]["conversations"] == 0


def test_conversations_export_as_csv_redacted_unless_an_admin_asks(client: TestClient) -> None:
    import csv
    import io

    sue = add_agent(client, "sue", role="supervisor")
    conversation_id, headers = open_conversation(client)
    say(
        client,
        conversation_id,
        headers,
        "=HYPERLINK(1) my card 4242 4242 4242 4242 was charged twice",
    )
    response = client.get("/api/v1/export/conversations", headers=sue)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [conversation_id]
    first = rows[0]["first_message"]
    assert first.startswith("'=HYPERLINK")  # never run as a formula
    assert "4242 4242" not in first and "[CARD]" in first
    assert rows[0]["customer_turns"] == "1" and rows[0]["handed_over"] in {"True", "False"}
    assert_problem(
        client.get("/api/v1/export/conversations", params={"personal": "true"}, headers=sue), 403
    )
    admin = client.get(
        "/api/v1/export/conversations", params={"personal": "true"}, headers=API_KEY_HEADERS
    )
    assert "[CARD visa ending 4242]" in admin.text  # as stored: cards stay masked
    alex = add_agent(client, "alex")
    assert_problem(client.get("/api/v1/export/conversations", headers=alex), 403)
    empty = client.get(
        "/api/v1/export/conversations", params={"since": "2099-01-01T00:00:00Z"}, headers=sue
    )
    assert empty.text.splitlines() == [",".join(COLUMNS)]


def test_daily_series_and_charts(tmp_path: Path) -> None:
    from warmline.analytics.charts import CHARTS, daily_series, write_charts

    facts = [f for f in (facts_of(c) for c in _three()) if f is not None]
    series = daily_series(facts)
    assert series["days"] == ["2026-11-02", "2026-11-03"]
    assert series["escalations_by_reason"] == {"frustration": [1, 0], "low_confidence": [0, 1]}
    assert series["frustration_start"] == [round((0.1 + 0.6) / 2, 3), 0.2]
    assert series["csat"] == [2.0, None]
    assert series["queue_wait_minutes"] == [1.0, 1.0]  # B waited 60 s, C 60 s
    written = write_charts(series, tmp_path / "charts")
    assert sorted(p.name for p in written) == sorted(
        f"{name}.{suffix}" for name in CHARTS for suffix in ("png", "svg")
    )
    png = (tmp_path / "charts" / "csat_trend.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    svg = (tmp_path / "charts" / "escalations_by_reason.svg").read_text()
    assert "<svg" in svg and "low_confidence" in svg
    empty = write_charts(daily_series([]), tmp_path / "empty", formats=("svg",))
    assert "no conversations in this period" in empty[0].read_text()


def test_each_append_keeps_the_conversations_facts_and_stale_ones_are_recomputed(
    client: TestClient, services: Any
) -> None:
    from sqlalchemy import delete, select, update

    from warmline.analytics.metrics import period_report
    from warmline.storage.models import ConversationFactsRow, ConversationRow

    alex = add_agent(client, "alex")
    first, headers = open_conversation(client)
    say(client, first, headers, "How do I reset my password?")
    second, headers = open_conversation(client)
    say(client, second, headers, "this is ridiculous, I want a person")
    client.post(f"/api/v1/conversations/{second}/claim", headers=alex).raise_for_status()
    client.post(f"/api/v1/conversations/{second}/resolve", headers=alex).raise_for_status()
    with services.sessions() as session:
        rows = dict(
            session.execute(
                select(ConversationFactsRow.conversation_id, ConversationFactsRow.seq)
            ).all()
        )
        seqs = dict(session.execute(select(ConversationRow.id, ConversationRow.last_seq)).all())
        assert rows == seqs  # every conversation's row covers all its events
        from_facts = period_report(session).numbers
    with services.sessions() as session, session.begin():
        session.execute(
            delete(ConversationFactsRow).where(ConversationFactsRow.conversation_id == first)
        )
        session.execute(
            update(ConversationFactsRow)
            .where(ConversationFactsRow.conversation_id == second)
            .values(seq=1, data={"broken": True})
        )
    with services.sessions() as session:
        assert period_report(session).numbers == from_facts  # recomputed from the events
    assert from_facts["conversations"] == 2 and from_facts["resolved"] == 1


def test_a_failing_metrics_row_never_costs_the_customers_message(
    client: TestClient, services: Any, monkeypatch: Any
) -> None:
    from sqlalchemy import select

    from warmline.analytics.metrics import period_report
    from warmline.storage import conversations as store
    from warmline.storage.models import ConversationFactsRow

    def broken(_conversation: Conversation) -> dict[str, Any]:
        raise KeyError("a metrics bug")

    monkeypatch.setattr(store, "_facts_of", [broken])
    cid, headers = open_conversation(client)
    answer = say(client, cid, headers, "How do I reset my password?")
    assert answer["decision"] == "answer"  # answered and stored despite the bug
    with services.sessions() as session:
        row = session.scalar(
            select(ConversationFactsRow).where(ConversationFactsRow.conversation_id == cid)
        )
        assert row is None or row.seq < 4
        assert period_report(session).numbers["conversations"] == 1  # recomputed from events
