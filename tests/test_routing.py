"""The human queue on every storage backend: effective priority, teams and skills, seniority,
the burnout cap, concurrent claims (FOR UPDATE SKIP LOCKED), availability and SLA breaches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from helpers import (
    API_KEY_HEADERS,
    TEST_ENVIRONMENT,
    add_agent,
    assert_problem,
    open_conversation,
    say,
)
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.automation.composer import ReplyComposer
from warmline.channels.service import start_conversation
from warmline.config import Settings
from warmline.domain.events import (
    AgentAssigned,
    AgentMessage,
    CustomerMessage,
    HandedOff,
    Resolved,
    SlaBreached,
)
from warmline.engine import Engine, Pipeline
from warmline.handoff import queue as human_queue
from warmline.handoff import service
from warmline.handoff.availability import OnlineAgent, Staffing, plan_handoff
from warmline.handoff.routing import (
    AgentLoad,
    QueueEntry,
    at_burnout_cap,
    effective_priority,
    match,
    rank_for_agent,
)
from warmline.handoff.sla import SlaWatch, check_breaches
from warmline.policy.config import PolicyConfig
from warmline.policy.policy import Policy
from warmline.storage import conversations as store
from warmline.storage.agents import create_agent, set_status
from warmline.storage.db import make_engine, make_session_factory

CONFIG = Policy().config
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def queued(
    sessions: sessionmaker[Session],
    *,
    priority: float = 0.5,
    route: str | None = None,
    senior: bool = False,
    frustration: float = 0.0,
    waited: float = 0.0,
    now: datetime = NOW,
) -> str:
    """A conversation handed over `waited` seconds before `now`."""
    at = now - timedelta(seconds=waited)
    with sessions() as session, session.begin():
        conversation = start_conversation(session, channel="web")
        store.append_events(
            session,
            conversation=conversation,
            events=[
                CustomerMessage(text="help", ts=at),
                HandedOff(
                    reasons=["x"],
                    priority=priority,
                    route=route,
                    senior=senior,
                    frustration=frustration,
                    ts=at,
                ),
            ],
        )
        return conversation.id


def agent(
    sessions: sessionmaker[Session],
    agent_id: str,
    *,
    team: str | None = None,
    skills: tuple[str, ...] = (),
    seniority: str = "regular",
) -> str:
    with sessions() as session, session.begin():
        create_agent(
            session, agent_id=agent_id, name=agent_id, team=team, skills=skills, seniority=seniority
        )
    return agent_id


def claim_next(
    sessions: sessionmaker[Session],
    agent_id: str,
    at: datetime = NOW,
    config: PolicyConfig = CONFIG,
) -> str | None:
    with sessions() as session, session.begin():
        claimed = service.claim_next(session, agent=agent_id, policy=config, now=at)
        return claimed.id if claimed else None


# --- pure routing rules ---------------------------------------------------------------------


def test_waiting_time_raises_priority_against_the_first_response_target() -> None:
    fresh = QueueEntry("fresh", 0.5, queued_at=NOW)
    waited = QueueEntry("waited", 0.4, queued_at=NOW - timedelta(seconds=600))
    # 600 s is the whole first-response target: + waiting_weight (0.3)
    assert effective_priority(fresh, CONFIG, NOW) == pytest.approx(0.5)
    assert effective_priority(waited, CONFIG, NOW) == pytest.approx(0.7)
    ancient = QueueEntry("ancient", 0.0, queued_at=NOW - timedelta(days=3))
    assert effective_priority(ancient, CONFIG, NOW) == pytest.approx(0.6)  # capped at 2 targets
    urgent = QueueEntry("urgent", 0.8, queued_at=NOW - timedelta(seconds=120))
    assert effective_priority(urgent, CONFIG, NOW) == pytest.approx(1.1)  # urgent target: 120 s


def test_a_routed_conversation_overflows_to_the_default_team_after_its_wait() -> None:
    general = OnlineAgent("gen")
    billing_agent = OnlineAgent("bill", skills=frozenset({"billing"}))
    entry = QueueEntry("c", 0.5, route="billing", queued_at=NOW - timedelta(seconds=60))
    assert match(entry, billing_agent, CONFIG, NOW) == "team"
    assert match(entry, general, CONFIG, NOW) is None
    later = NOW + timedelta(seconds=300)
    assert match(entry, general, CONFIG, later) == "overflow"
    care = QueueEntry("d", 0.5, route="care", queued_at=NOW)
    complaints_agent = OnlineAgent("comp", team="complaints")
    assert match(care, complaints_agent, CONFIG, NOW + timedelta(seconds=121)) == "overflow"
    assert match(care, general, CONFIG, NOW + timedelta(seconds=121)) is None  # care->complaints
    assert match(care, general, CONFIG, NOW + timedelta(seconds=301)) == "overflow"  # ->general


def test_senior_conversations_wait_for_a_senior_first() -> None:
    upset = QueueEntry("u", 0.9, senior=True, frustration=0.9, queued_at=NOW)
    calm = QueueEntry("c", 0.3, queued_at=NOW)
    regular, senior = OnlineAgent("r"), OnlineAgent("s", seniority="senior")
    assert [e.id for _, e, _ in rank_for_agent([upset, calm], regular, CONFIG, NOW)] == ["c"]
    assert [e.id for _, e, _ in rank_for_agent([upset, calm], senior, CONFIG, NOW)] == ["u", "c"]
    later = NOW + timedelta(seconds=CONFIG.routing.senior_wait_seconds)
    assert rank_for_agent([upset, calm], regular, CONFIG, later)[0][1].id == "u"


def test_the_burnout_cap_counts_in_a_row_and_per_hour() -> None:
    assert at_burnout_cap(AgentLoad(recent=(0.9, 0.8, 0.75)), CONFIG)
    assert not at_burnout_cap(AgentLoad(recent=(0.9, 0.2, 0.75)), CONFIG)
    assert not at_burnout_cap(AgentLoad(recent=(0.9, 0.8)), CONFIG)
    assert at_burnout_cap(AgentLoad(recent=(0.1,), upset_last_hour=6), CONFIG)


# --- the queue in the database --------------------------------------------------------------


def test_the_queue_lists_by_effective_priority(sessions: sessionmaker[Session]) -> None:
    newer_higher = queued(sessions, priority=0.6, waited=0)
    older_lower = queued(sessions, priority=0.4, waited=900)  # + 0.3 * 1.5 = 0.85
    lowest = queued(sessions, priority=0.1, waited=10)
    with sessions() as session:
        ranked = human_queue.ranked_queue(session, config=CONFIG, now=NOW)
    assert [item.row.id for item in ranked] == [older_lower, newer_higher, lowest]
    assert ranked[0].effective_priority == pytest.approx(0.85)
    assert ranked[0].waiting_seconds == pytest.approx(900)


def test_claim_next_prefers_the_agents_team_and_skills(sessions: sessionmaker[Session]) -> None:
    agent(sessions, "bea", skills=("billing",))
    agent(sessions, "gus")
    general = queued(sessions, priority=0.6)
    billing = queued(sessions, priority=0.5, route="billing")
    assert claim_next(sessions, "bea") == billing  # 0.5 + match bonus 0.2 > 0.6
    other_billing = queued(sessions, priority=0.9, route="billing")
    assert claim_next(sessions, "gus") == general  # billing is not gus's until it overflows
    assert claim_next(sessions, "gus") is None
    assert claim_next(sessions, "gus", at=NOW + timedelta(seconds=301)) == other_billing


def test_the_most_upset_go_to_seniors(sessions: sessionmaker[Session]) -> None:
    agent(sessions, "rita")
    agent(sessions, "sam", seniority="senior")
    upset = queued(sessions, priority=0.8, senior=True, frustration=0.9)
    calm = queued(sessions, priority=0.3)
    assert claim_next(sessions, "rita") == calm
    assert claim_next(sessions, "sam") == upset


def test_the_burnout_cap_sends_the_next_angry_customer_elsewhere(
    sessions: sessionmaker[Session],
) -> None:
    agent(sessions, "ana", seniority="senior")
    agent(sessions, "ben", seniority="senior")
    for _ in range(3):
        queued(sessions, priority=0.9, frustration=0.9)
        assert claim_next(sessions, "ana") is not None
    angry = queued(sessions, priority=0.9, frustration=0.95)
    assert claim_next(sessions, "ana") is None  # three upset in a row: not a fourth
    assert claim_next(sessions, "ben") == angry
    next_angry = queued(sessions, priority=0.9, frustration=0.95)
    calm = queued(sessions, priority=0.2, frustration=0.1)
    assert claim_next(sessions, "ana") == calm  # the calm one, although less urgent
    assert claim_next(sessions, "ana") == next_angry  # the streak is broken


def test_the_hourly_burnout_cap(sessions: sessionmaker[Session]) -> None:
    config = PolicyConfig.model_validate(
        {"routing": {"burnout": {"max_in_a_row": 10, "max_per_hour": 2}}}
    )
    agent(sessions, "kim")
    for minute in (0, 10):
        queued(sessions, priority=0.9, frustration=0.8)
        queued(sessions, priority=0.1)
        assert claim_next(sessions, "kim", NOW + timedelta(minutes=minute), config) is not None
    upset = queued(sessions, priority=0.9, frustration=0.8)
    # two upset within the hour: kim gets the calm ones, until the hour has passed
    assert claim_next(sessions, "kim", NOW + timedelta(minutes=20), config) != upset
    assert claim_next(sessions, "kim", NOW + timedelta(minutes=75), config) == upset


def test_concurrent_claim_next_never_gives_one_conversation_twice(
    sessions: sessionmaker[Session],
) -> None:
    waiting = {queued(sessions, priority=0.1 * (i % 7)) for i in range(12)}
    barrier = threading.Barrier(8)

    def work(worker: int) -> list[str]:
        got: list[str] = []
        barrier.wait()
        while True:
            claimed = claim_next(sessions, f"agent{worker}")
            if claimed is None:
                return got
            got.append(claimed)

    with ThreadPoolExecutor(max_workers=8) as pool:
        claimed = [c for batch in pool.map(work, range(8)) for c in batch]
    assert sorted(claimed) == sorted(waiting)  # every conversation exactly once
    with sessions() as session:
        for conversation_id in waiting:
            loaded = store.load_conversation(session, conversation_id=conversation_id)
            assert loaded is not None and loaded.status.value == "assigned"
            assert len([e for e in loaded.events if e.type == "agent_assigned"]) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_claim_next_skips_a_conversation_locked_by_another_agent(
    sessions: sessionmaker[Session],
) -> None:
    top = queued(sessions, priority=0.9)
    second = queued(sessions, priority=0.5)
    with sessions() as holder, holder.begin():
        assert store.lock_if_queued(holder, conversation_id=top)  # agent A is claiming it
        done = threading.Event()
        result: list[str | None] = []

        def other() -> None:
            result.append(claim_next(sessions, "b"))
            done.set()

        threading.Thread(target=other).start()
        assert done.wait(10), "claim_next waited for a locked row instead of skipping it"
    assert result == [second]


# --- availability ---------------------------------------------------------------------------


def test_staffing_counts_online_agents_seen_recently(sessions: sessionmaker[Session]) -> None:
    agent(sessions, "on", team="billing")
    agent(sessions, "stale")
    agent(sessions, "away")
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        set_status(session, agent_id="on", status="online", now=now)
        set_status(session, agent_id="stale", status="online", now=now - timedelta(hours=2))
        set_status(session, agent_id="away", status="away", now=now)
    queued(sessions)
    with sessions() as session:
        staffing = human_queue.staffing(session, config=CONFIG, now=now)
    assert [a.id for a in staffing.online] == ["on"]
    assert staffing.online[0].team == "billing"
    assert staffing.queued == 1


def test_the_customer_is_told_honestly_what_happens() -> None:
    nobody = plan_handoff(CONFIG, route="billing", staffing=Staffing(), at=NOW)
    assert nobody.situation == "no_agent_online"
    notice_text = ReplyComposer().handoff_notice
    assert "Nobody from the team is available" in notice_text(nobody, upset=False)
    staffed = Staffing(online=(OnlineAgent("a"), OnlineAgent("b")), queued=4)
    plan = plan_handoff(CONFIG, route=None, staffing=staffed, at=NOW)
    assert (plan.situation, plan.agents, plan.expected_wait_minutes) == ("available", 2, 12)
    assert "about 12 minutes" in notice_text(plan, upset=True)
    office = PolicyConfig.model_validate(
        {
            "availability": {
                "timezone": "Europe/London",
                "hours": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "17:00"}
                ],
            }
        }
    )
    night = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)  # Friday 22:00 in London
    closed = plan_handoff(office, route=None, staffing=staffed, at=night, channel="email")
    assert closed.situation == "outside_hours" and closed.by_email
    text = notice_text(closed, upset=False)
    assert "offline right now" in text and "Monday" in text and "by email" in text


# --- service level targets ------------------------------------------------------------------


def test_sla_breaches_are_recorded_once(sessions: sessionmaker[Session]) -> None:
    late = queued(sessions, priority=0.3, waited=700)  # first response target 600 s
    urgent = queued(sessions, priority=0.9, waited=130)  # urgent target 120 s
    fine = queued(sessions, priority=0.3, waited=100)
    answered = queued(sessions, priority=0.3, waited=700)
    with sessions() as session, session.begin():
        loaded = store.load_conversation(session, conversation_id=answered, for_update=True)
        assert loaded is not None
        replied = NOW - timedelta(seconds=600)  # 100 s after the handoff: within the target
        store.append_events(
            session,
            conversation=loaded,
            events=[
                AgentAssigned(agent="a", ts=replied),
                AgentMessage(agent="a", text="hi", ts=replied),
            ],
        )
    with sessions() as session, session.begin():
        breaches = check_breaches(session, config=CONFIG, now=NOW)
    assert sorted((b.conversation_id, b.event.target) for b in breaches) == sorted(
        [(late, "first_response"), (urgent, "first_response")]
    )
    assert {b.event.target_seconds for b in breaches} == {600, 120}
    with sessions() as session, session.begin():
        assert check_breaches(session, config=CONFIG, now=NOW + timedelta(seconds=5)) == []
    tomorrow = NOW + timedelta(days=1, seconds=1)
    with sessions() as session, session.begin():
        service.resolve(session, conversation_id=fine, by="a", override=True)
    with sessions() as session, session.begin():
        later = check_breaches(session, config=CONFIG, now=tomorrow)
    assert sorted((b.conversation_id, b.event.target) for b in later) == sorted(
        [(late, "resolution"), (urgent, "resolution"), (answered, "resolution")]
    )
    with sessions() as session:
        loaded = store.load_conversation(session, conversation_id=late)
    assert loaded is not None
    assert [e.target for e in loaded.of_type(SlaBreached)] == ["first_response", "resolution"]
    assert not any(isinstance(e, AgentMessage | Resolved) for e in loaded.events)


def test_the_sla_watch_records_breaches_only_when_one_is_due(
    sessions: sessionmaker[Session],
) -> None:
    late = queued(sessions, priority=0.3, waited=700)
    queued(sessions, priority=0.3, waited=100)
    watch = SlaWatch(sessions, sessions, lambda: CONFIG, interval=3600)
    assert watch.run_once(now=NOW - timedelta(seconds=200)) == 0  # nothing due yet
    with sessions() as session:
        loaded = store.load_conversation(session, conversation_id=late)
    assert loaded is not None and not loaded.of_type(SlaBreached)
    assert watch.run_once(now=NOW) == 1
    assert watch.run_once(now=NOW + timedelta(seconds=5)) == 0  # recorded once
    with sessions() as session:
        loaded = store.load_conversation(session, conversation_id=late)
    assert loaded is not None
    assert [e.target for e in loaded.of_type(SlaBreached)] == ["first_response"]


def test_the_sla_watch_runs_in_the_background_and_survives_a_failing_round(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    late = queued(sessions, priority=0.3, waited=700)
    calls: list[int] = []
    wrote = threading.Event()

    def policy() -> PolicyConfig:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return CONFIG

    class Watched(SlaWatch):
        def run_once(self, now: datetime | None = None) -> int:
            done = super().run_once(now)
            if done:
                wrote.set()
            return done

    watch = Watched(sessions, sessions, policy, interval=0.05)
    watch.start()
    try:
        assert wrote.wait(10), "no breach was recorded in the background"
    finally:
        watch.stop()
    with sessions() as session:
        loaded = store.load_conversation(session, conversation_id=late)
    assert loaded is not None
    recorded = loaded.of_type(SlaBreached)
    assert sorted(e.target for e in recorded) == ["first_response", "resolution"]
    assert "warmline-sla: round failed" in caplog.text
    assert not watch._thread or not watch._thread.is_alive()


def test_sla_check_on_the_command_line(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "warmline.db"
    database.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    late = queued(make_session_factory(engine), priority=0.3, waited=700, now=datetime.now(UTC))
    engine.dispose()
    env = {**os.environ, **TEST_ENVIRONMENT, "WARMLINE_DATABASE_URL": url}
    command = [sys.executable, "-m", "warmline", "sla", "check", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    (breach,) = json.loads(done.stdout)["breaches"]
    assert (breach["conversation_id"], breach["target"]) == (late, "first_response")
    bad = tmp_path / "policy.yaml"
    bad.write_text("sla:\n  first_response_seconds: 0\n")
    env["WARMLINE_POLICY_FILE"] = str(bad)
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 2 and "sla.first_response_seconds" in refused.stderr


# --- through the HTTP API -------------------------------------------------------------------


def test_listing_the_queue_shows_breaches_due_without_writing_them(
    settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.settings, "sla_check_seconds", 0)  # no watch in this app
    # first response target 600 s
    late = queued(services.sessions, priority=0.3, waited=700, now=datetime.now(UTC))
    with TestClient(create_app(settings, services)) as client:
        queue = client.get("/api/v1/queue", headers=API_KEY_HEADERS)
        assert queue.status_code == 200, queue.text
        assert [item["sla_breaches"] for item in queue.json()] == [["first_response"]]
        with services.sessions() as session:
            loaded = store.load_conversation(session, conversation_id=late)
        assert loaded is not None and not loaded.of_type(SlaBreached)  # the GET wrote nothing
        checked = client.post("/api/v1/admin/sla/check", headers=API_KEY_HEADERS)
        assert checked.status_code == 200, checked.text
        queue = client.get("/api/v1/queue", headers=API_KEY_HEADERS).json()
        assert [item["sla_breaches"] for item in queue] == [["first_response"]]  # not twice


def test_a_death_in_the_family_is_met_with_condolences_not_an_apology_for_trouble(
    client: TestClient,
) -> None:
    conversation_id, headers = open_conversation(client)
    answer = say(
        client,
        conversation_id,
        headers,
        "I need to speak to someone about a bereavement, my husband passed away",
    )
    assert answer["escalated"]
    assert answer["reply"].startswith("I'm so sorry for your loss.")
    assert "trouble" not in answer["reply"] and "hassle" not in answer["reply"]
    queue = client.get("/api/v1/queue", headers=API_KEY_HEADERS).json()
    (item,) = [entry for entry in queue if entry["id"] == conversation_id]
    first_line = item["packet"]["suggested_first_line"]  # the agent's words too
    assert "sorry for your loss" in first_line and "trouble" not in first_line
    other_id, other_headers = open_conversation(client)
    angry = say(client, other_id, other_headers, "this is useless, get me a human NOW")
    assert angry["escalated"] and "sorry for your loss" not in angry["reply"]


def test_agents_set_their_status_and_customers_hear_who_is_there(client: TestClient) -> None:
    conversation_id, headers = open_conversation(client)
    alone = say(client, conversation_id, headers, "I want to talk to a real person")
    assert alone["escalated"] and "Nobody from the team is available" in alone["reply"]
    bea = add_agent(client, "bea")
    status = client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=bea)
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "online" and status.json()["last_seen"]
    listed = client.get("/api/v1/agents", headers=API_KEY_HEADERS).json()
    assert [(a["id"], a["status"]) for a in listed] == [("bea", "online")]
    other_id, other_headers = open_conversation(client)
    staffed = say(client, other_id, other_headers, "can I speak to an agent please")
    assert staffed["escalated"] and "passing you to a member of the team" in staffed["reply"]
    assert "minutes" in staffed["reply"] or "in a moment" in staffed["reply"]
    assert_problem(
        client.put("/api/v1/agents/me/status", json={"status": "busy"}, headers=bea), 422
    )
    ghost = {**API_KEY_HEADERS, "X-Agent-Id": "ghost"}  # the API key cannot invent agents
    assert_problem(
        client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=ghost), 403
    )
    assert_problem(client.get("/api/v1/agents"), 401)


def test_the_queue_shows_every_reason_priority_and_route(client: TestClient) -> None:
    conversation_id, headers = open_conversation(
        client, customer={"name": "Ana", "email": "ana@example.com", "tier": "vip"}
    )
    answer = say(client, conversation_id, headers, "let me talk to a human now")
    assert answer["escalated"] and answer["priority"] > 0 and answer["route"]
    queue = client.get("/api/v1/queue", headers=API_KEY_HEADERS).json()
    assert [item["id"] for item in queue] == [conversation_id]
    item = queue[0]
    assert item["reasons"][0] == "escape_hatch"
    assert item["reason_details"][0]["detail"].startswith("customer asked for a person")
    assert item["priority"] == answer["priority"]
    assert item["effective_priority"] >= item["priority"]
    assert item["waiting_seconds"] >= 0 and item["sla_breaches"] == []
    events = client.get(f"/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS).json()[
        "events"
    ]
    decision = next(e for e in events if e["type"] == "decision")
    assert decision["policy"].startswith("default@") and decision["priority"] == answer["priority"]
    handoff = next(e for e in events if e["type"] == "handoff")
    assert handoff["staffing"]["situation"] == "no_agent_online" and handoff["staffing"]["by_email"]


def test_claim_next_over_http_routes_by_team(client: TestClient) -> None:
    response = client.post(
        "/api/v1/agents",
        json={"id": "bea", "name": "Bea", "team": "billing", "seniority": "senior"},
        headers=API_KEY_HEADERS,
    )
    assert response.status_code == 201, response.text
    bea = {"Authorization": f"Bearer {response.json()['token']}"}
    unknown_team = client.post(
        "/api/v1/agents", json={"id": "x", "name": "X", "team": "nope"}, headers=API_KEY_HEADERS
    )
    assert "Unknown team 'nope'" in assert_problem(unknown_team, 422)["detail"]
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "I need a person")
    claimed = client.post("/api/v1/queue/next", headers=bea)
    assert claimed.status_code == 200 and claimed.json()["id"] == conversation_id
    assert client.post("/api/v1/queue/next", headers=bea).status_code == 204


def test_a_failed_reload_keeps_the_previous_policy(
    settings: Settings, services: Services, pipeline: Pipeline, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("name: first\n")
    configured = settings.model_copy(update={"policy_file": policy_file})
    own = Pipeline(pipeline.analyzer, Policy.from_yaml(policy_file), pipeline.composer)
    app = create_app(
        configured, Services(configured, services.sessions, Engine(services.sessions, own))
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/admin/policy", headers=API_KEY_HEADERS).json()["name"] == "first"
        policy_file.write_text("name: second\ntriggers:\n  frustration:\n    priority: 0.9\n")
        reloaded = client.post("/api/v1/admin/policy/reload", headers=API_KEY_HEADERS)
        assert reloaded.status_code == 200 and reloaded.json()["label"].startswith("second@")
        policy_file.write_text("name: third\ntriggers:\n  frustation: {}\n")
        refused = client.post("/api/v1/admin/policy/reload", headers=API_KEY_HEADERS)
        body = assert_problem(refused, 422)
        assert body["errors"][0] == {
            "file": str(policy_file),
            "line": 3,
            "column": 3,
            "field": "triggers.frustation",
            "message": body["errors"][0]["message"],
        }
        assert "unknown trigger" in body["errors"][0]["message"]
        assert "previous policy stays in force" in body["detail"]
        assert (
            client.get("/api/v1/admin/policy", headers=API_KEY_HEADERS).json()["name"] == "second"
        )
        conversation_id, headers = open_conversation(client)
        decided = say(client, conversation_id, headers, "hello")
        assert decided["decision"] != "stay_quiet"
        assert_problem(client.post("/api/v1/admin/policy/reload"), 401)
        breaches = client.post("/api/v1/admin/sla/check", headers=API_KEY_HEADERS)
        assert breaches.status_code == 200 and breaches.json() == {"breaches": []}
