"""The bot closes the conversations it holds (policy `closing`): on the customer's goodbye
after its help, and once the customer has gone quiet, with how each ended; on every storage
backend, in the server's background loop and from `warmline close-idle`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from helpers import API_KEY_HEADERS, TEST_ENVIRONMENT, open_conversation, say
from pg import fresh_database
from policy_support import make_analysis
from warmline.analytics.metrics import facts_of
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.automation.idle import IdleCloser, close_idle
from warmline.bootstrap import build_services, publish_policy
from warmline.channels.service import start_conversation
from warmline.config import Settings
from warmline.domain.conversation import Conversation, Status
from warmline.domain.events import (
    ActionStep,
    AnalysisRecorded,
    AnyEvent,
    BotReply,
    CustomerMessage,
    HandedOff,
    Resolved,
)
from warmline.engine import Engine, Pipeline
from warmline.policy.closing import BOT, Ending, ending, goodbye_close, idle_close
from warmline.policy.config import ClosingConfig
from warmline.policy.decision import Action, Decision
from warmline.policy.loader import PolicyError
from warmline.policy.policy import Policy
from warmline.storage import conversations as store
from warmline.storage.db import make_engine, make_session_factory
from warmline.storage.models import ConversationRow
from warmline.understanding.types import Analysis

CLOSING = ClosingConfig()  # the shipped defaults: 60 minutes, 3 days on email
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ANSWER = Decision(Action.ANSWER)


def calm(ts: datetime, frustration: float = 0.1) -> AnalysisRecorded:
    return AnalysisRecorded(analysis={"emotion": {"frustration": frustration}}, ts=ts)


def exchange(kind: str, *, at: datetime = NOW, frustration: float = 0.1) -> list[AnyEvent]:
    """A customer's question and the bot's reply of `kind`."""
    return [
        CustomerMessage(text="how do I reset my password?", ts=at),
        calm(at, frustration),
        BotReply(text=f"a reply of kind {kind}", kind=kind, ts=at),
    ]


def replayed(events: list[AnyEvent], channel: str = "web") -> Conversation:
    return Conversation.replay("c1", events, channel=channel)


# --- how a conversation ended ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (exchange("answer"), Ending.ANSWERED),
        (exchange("action"), Ending.ANSWERED),
        (exchange("no_answer"), Ending.UNANSWERED),
        # A proposal passed over, then answered: nothing waits for the customer.
        (
            [
                *exchange("action"),
                ActionStep(action="check_usage", status="proposed", ts=NOW),
                *exchange("answer"),
            ],
            Ending.ANSWERED,
        ),
        (exchange("offer_handoff"), Ending.UNANSWERED),
        (exchange("clarify"), Ending.ABANDONED),
        (exchange("small_talk"), Ending.SMALL_TALK),
        # Manners after an answer do not hide it: "thanks" -> "You're welcome!" still answered.
        ([*exchange("answer"), *exchange("small_talk")], Ending.ANSWERED),
        (exchange("answer", frustration=0.8), Ending.LEFT_UPSET),
        ([BotReply(text="Your parcel is on its way.", kind="action", ts=NOW)], Ending.NO_REPLY),
        (
            [
                *exchange("action"),
                ActionStep(action="track_order", status="collecting", ts=NOW),
            ],
            Ending.ABANDONED,
        ),
        (
            [
                *exchange("action"),
                ActionStep(action="track_order", status="failed", ts=NOW),
                BotReply(text="The order system is down.", kind="action", ts=NOW),
            ],
            Ending.UNANSWERED,
        ),
    ],
)
def test_the_ending_names_what_the_customer_was_left_with(
    events: list[AnyEvent], expected: Ending
) -> None:
    assert ending(replayed(events)) is expected


def test_the_idle_close_waits_for_the_channel_s_quiet_time() -> None:
    chat = replayed(exchange("answer"))
    assert idle_close(chat, CLOSING, NOW + timedelta(minutes=59)) is None
    closed = idle_close(chat, CLOSING, NOW + timedelta(minutes=60))
    assert closed is not None and closed.by == BOT and closed.disposition == "answered"
    assert "60 minutes" in (closed.note or "")
    email = replayed(exchange("answer"), channel="email")
    assert idle_close(email, CLOSING, NOW + timedelta(hours=71)) is None
    assert idle_close(email, CLOSING, NOW + timedelta(hours=72)) is not None
    never = ClosingConfig(idle_minutes=0)
    assert idle_close(chat, never, NOW + timedelta(days=365)) is None
    queued = replayed([*exchange("no_answer"), HandedOff(reasons=["x"], priority=0.5, ts=NOW)])
    assert queued.status is Status.QUEUED
    assert idle_close(queued, CLOSING, NOW + timedelta(days=2)) is None  # a person's to close
    assert idle_close(replayed([]), CLOSING, NOW + timedelta(days=2)) is None


def test_a_bot_close_counts_as_resolved_and_its_quiet_wait_is_not_resolution_time() -> None:
    events = exchange("answer")
    closed = idle_close(replayed(events), CLOSING, NOW + timedelta(hours=5))
    assert closed is not None
    facts = facts_of(
        replayed([*exchange("answer", at=NOW - timedelta(minutes=3)), *events, closed])
    )
    assert facts is not None and facts.resolved
    assert facts.resolution_s == pytest.approx(180)  # to the last message, not five hours on
    by_agent = Resolved(by="bea", disposition="solved", ts=NOW + timedelta(hours=5))
    facts = facts_of(replayed([*exchange("answer"), by_agent]))
    assert facts is not None and facts.resolution_s == pytest.approx(5 * 3600)


# --- goodbye --------------------------------------------------------------------------------


def conversation_of(client: TestClient, conversation_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def resolutions(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in body["events"] if e["type"] == "resolved"]


def test_a_goodbye_after_an_answer_closes_the_conversation_and_a_new_message_reopens_it(
    client: TestClient,
) -> None:
    conversation_id, headers = open_conversation(client)
    answered = say(client, conversation_id, headers, "how do I reset my password?")
    assert answered["decision"] == "answer"
    thanks = say(client, conversation_id, headers, "thanks, that worked!")
    assert resolutions(conversation_of(client, conversation_id)) == []  # it asks "anything else?"
    assert "anything else" in thanks["reply"].lower()
    bye = say(client, conversation_id, headers, "ok bye")
    assert bye["reply"] == "Thanks for getting in touch. Have a good day!"  # no person hint
    body = conversation_of(client, conversation_id)
    assert body["status"] == "resolved"
    (closed,) = resolutions(body)
    assert closed["by"] == "bot" and closed["disposition"] == "answered"
    again = say(client, conversation_id, headers, "sorry, one more thing: how do I change my plan?")
    assert again["reply"]
    assert conversation_of(client, conversation_id)["status"] == "bot"
    second = say(client, conversation_id, headers, "bye")
    assert second["reply"] != bye["reply"]  # never the same reply twice, even a goodbye
    assert len(resolutions(conversation_of(client, conversation_id))) == 2


def test_an_upset_goodbye_stays_open_and_so_does_one_the_policy_meets_with_an_offer(
    client: TestClient,
) -> None:
    conversation_id, headers = open_conversation(client)
    say(client, conversation_id, headers, "my data isn't working abroad")
    say(client, conversation_id, headers, "you've been no help at all, goodbye")
    body = conversation_of(client, conversation_id)
    assert resolutions(body) == [] and body["status"] != "resolved"


def goodbye_after(kind: str, *extra: AnyEvent) -> Conversation:
    """A conversation whose bot reply of `kind` was followed by a goodbye and the reply."""
    return replayed(
        [
            *exchange(kind),
            *extra,
            CustomerMessage(text="bye", ts=NOW),
            BotReply(text="Thanks for getting in touch.", kind="small_talk", ts=NOW),
        ]
    )


@pytest.mark.parametrize(
    ("conversation", "analysis", "decision", "reply_kind", "closes"),
    [
        (
            goodbye_after("answer"),
            make_analysis("bye", intent="goodbye"),
            ANSWER,
            "small_talk",
            "answered",
        ),
        (
            goodbye_after("no_answer"),
            make_analysis("bye", intent="goodbye"),
            ANSWER,
            "small_talk",
            "unanswered",
        ),
        # Upset, a push-back, another intent, an offer, a reply that was not small talk, or an
        # action waiting for the customer: left open.
        (
            goodbye_after("answer"),
            make_analysis("bye", intent="goodbye", frustration=0.8),
            ANSWER,
            "small_talk",
            None,
        ),
        (
            goodbye_after("answer"),
            replace(make_analysis("bye", intent="goodbye"), pushback="already"),
            ANSWER,
            "small_talk",
            None,
        ),
        (
            goodbye_after("answer"),
            make_analysis("thanks", intent="thanks"),
            ANSWER,
            "small_talk",
            None,
        ),
        (
            goodbye_after("answer"),
            make_analysis("bye", intent="goodbye"),
            Decision(Action.OFFER_HANDOFF),
            "small_talk",
            None,
        ),
        (goodbye_after("answer"), make_analysis("bye", intent="goodbye"), ANSWER, "answer", None),
        (
            goodbye_after("action", ActionStep(action="track_order", status="collecting", ts=NOW)),
            make_analysis("bye", intent="goodbye"),
            ANSWER,
            "small_talk",
            None,
        ),
    ],
)
def test_a_goodbye_closes_only_a_calm_farewell_the_bot_answered_in_kind(
    conversation: Conversation,
    analysis: Analysis,
    decision: Decision,
    reply_kind: str,
    closes: str | None,
) -> None:
    closed = goodbye_close(conversation, analysis, decision, CLOSING, reply_kind)
    assert (closed.disposition if closed else None) == closes
    off = ClosingConfig(on_goodbye=False)
    assert goodbye_close(conversation, analysis, decision, off, reply_kind) is None


def test_goodbyes_close_nothing_when_the_policy_says_so(
    settings: Settings, services: Services, pipeline: Pipeline, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("closing:\n  on_goodbye: false\n")
    own = Pipeline(
        pipeline.analyzer,
        Policy.from_yaml(policy_file),
        pipeline.composer,
        pipeline.knowledge,
        pipeline.actions,
    )
    app = create_app(
        settings, Services(settings, services.sessions, Engine(services.sessions, own))
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        conversation_id, headers = open_conversation(client)
        say(client, conversation_id, headers, "how do I reset my password?")
        say(client, conversation_id, headers, "bye")
        assert resolutions(conversation_of(client, conversation_id)) == []


# --- the idle close over the database -------------------------------------------------------


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def stored(sessions: sessionmaker[Session], events: list[AnyEvent], channel: str = "web") -> str:
    with sessions() as session, session.begin():
        conversation = start_conversation(session, channel=channel)
        store.append_events(session, conversation=conversation, events=events)
        return conversation.id


def later(hours: float) -> datetime:
    """Wall-clock time `hours` from now: the store dates its rows by the real clock."""
    return datetime.now(UTC) + timedelta(hours=hours)


def test_quiet_conversations_are_closed_once_each_on_every_backend(
    sessions: sessionmaker[Session],
) -> None:
    at = datetime.now(UTC)
    answered = stored(sessions, exchange("answer", at=at))
    waiting = stored(sessions, [*exchange("clarify", at=at)])
    by_email = stored(sessions, exchange("answer", at=at), channel="email")
    queued = stored(
        sessions, [*exchange("no_answer", at=at), HandedOff(reasons=["x"], priority=0.5, ts=at)]
    )
    with sessions() as session, session.begin():
        assert close_idle(session, config=CLOSING, now=later(0.5)) == []  # not quiet long enough
    with sessions() as session, session.begin():
        closed = close_idle(session, config=CLOSING, now=later(2))
    assert sorted((c.conversation_id, c.event.disposition) for c in closed) == sorted(
        [(answered, "answered"), (waiting, "abandoned")]
    )
    with sessions() as session, session.begin():
        assert close_idle(session, config=CLOSING, now=later(3)) == []  # closed once
    with sessions() as session, session.begin():
        closed = close_idle(session, config=CLOSING, now=later(73))
    assert [c.conversation_id for c in closed] == [by_email]  # three days on email
    with sessions() as session:
        for conversation_id in (answered, waiting, by_email):
            loaded = store.load_conversation(session, conversation_id=conversation_id)
            assert loaded is not None and loaded.status is Status.RESOLVED
            assert [e.by for e in loaded.of_type(Resolved)] == [BOT]
        still = store.load_conversation(session, conversation_id=queued)
        assert still is not None and still.status is Status.QUEUED


def test_a_conversation_being_changed_is_passed_over_until_the_next_round(
    postgres_server: str,
) -> None:
    """SKIP LOCKED, on PostgreSQL (SQLite has one writer: a second one waits, not skips)."""
    with fresh_database(postgres_server, template="warmline_template") as url:
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        busy = stored(sessions, exchange("answer", at=datetime.now(UTC)))
        with sessions() as holder, holder.begin():
            assert store.lock_unless_busy(holder, busy)
            with sessions() as session, session.begin():
                assert close_idle(session, config=CLOSING, now=later(2)) == []
        with sessions() as session, session.begin():
            closed = close_idle(session, config=CLOSING, now=later(2))
        assert [c.conversation_id for c in closed] == [busy]
        engine.dispose()


def test_the_idle_closer_reads_first_and_writes_only_when_a_close_is_due(
    sessions: sessionmaker[Session],
) -> None:
    quiet = stored(sessions, exchange("answer", at=datetime.now(UTC)))
    closer = IdleCloser(sessions, sessions, lambda: CLOSING, interval=3600)
    assert closer.run_once(now=later(0.5)) == 0
    assert closer.run_once(now=later(2)) == 1
    assert closer.run_once(now=later(2)) == 0
    with sessions() as session:
        loaded = store.load_conversation(session, conversation_id=quiet)
    assert loaded is not None and loaded.status is Status.RESOLVED


def test_admins_close_quiet_conversations_over_http(client: TestClient, services: Services) -> None:
    old = datetime.now(UTC) - timedelta(hours=2)
    quiet = stored(services.sessions, exchange("answer", at=old))
    with services.sessions() as session, session.begin():  # untouched for two hours
        session.execute(update(ConversationRow).values(updated_at=old))
    url = "/api/v1/admin/conversations/close-idle"
    closed = client.post(url, headers=API_KEY_HEADERS)
    assert closed.status_code == 200, closed.text
    assert closed.json() == {"closed": [{"conversation_id": quiet, "disposition": "answered"}]}
    assert client.post(url, headers=API_KEY_HEADERS).json() == {"closed": []}
    assert conversation_of(client, quiet)["status"] == "resolved"


def test_the_server_runs_the_idle_closer_unless_switched_off(
    settings: Settings, services: Services, pipeline: Pipeline
) -> None:
    def closers() -> int:
        return sum(thread.name == "warmline-idle" for thread in threading.enumerate())

    before = closers()
    with TestClient(create_app(settings, services)):
        assert closers() == before + 1
    assert closers() == before  # stopped with the app
    off = settings.model_copy(update={"idle_check_seconds": 0})
    quiet_services = build_services(off, pipeline)
    with TestClient(create_app(off, quiet_services)):
        assert closers() == before
    quiet_services.broadcast.close()
    quiet_services.sessions.kw["bind"].dispose()


# --- bad input ------------------------------------------------------------------------------


def test_a_bad_closing_setting_names_file_line_and_field(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("name: shop\nclosing:\n  idle_minutes: -5\n")
    with pytest.raises(PolicyError) as caught:
        Policy.from_yaml(policy_file)
    error = caught.value.issues[0]
    assert (error.file, error.line, error.field) == (str(policy_file), 3, "closing.idle_minutes")
    policy_file.write_text("name: shop\nclosing:\n  idle_minuts: 30\n")
    with pytest.raises(PolicyError) as caught:
        Policy.from_yaml(policy_file)
    assert caught.value.issues[0].field == "closing.idle_minuts"


def test_close_idle_on_the_command_line(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "warmline.db"
    database.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    old = datetime.now(UTC) - timedelta(hours=2)
    quiet = stored(make_session_factory(engine), exchange("no_answer", at=old))
    with engine.begin() as connection:  # as if nobody had touched it for two hours
        connection.execute(update(ConversationRow).values(updated_at=old))
    engine.dispose()
    env = {
        **os.environ,
        **TEST_ENVIRONMENT,
        "WARMLINE_DATABASE_URL": url,
        "WARMLINE_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "warmline", "close-idle", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "closed": [{"conversation_id": quiet, "disposition": "unanswered"}]
    }
    bad = tmp_path / "policy.yaml"
    bad.write_text("closing:\n  email_idle_minutes: soon\n")
    refused = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**env, "WARMLINE_POLICY_FILE": str(bad)},
        timeout=300,
    )
    assert refused.returncode == 2
    assert "closing.email_idle_minutes" in refused.stderr and "Traceback" not in refused.stderr
    # The policy in force, once a server recorded one, is what the command runs: here one that
    # never closes, whatever the file says.
    never = tmp_path / "never.yaml"
    never.write_text("closing:\n  idle_minutes: 0\n")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    publish_policy(sessions, Policy.from_yaml(never))
    other = stored(sessions, exchange("answer", at=old))
    with engine.begin() as connection:
        connection.execute(update(ConversationRow).values(updated_at=old))
    engine.dispose()
    kept = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout) == {"closed": []}
    assert other
