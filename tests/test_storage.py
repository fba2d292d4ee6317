"""Storage contract: the same behaviour on every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.orm import Session, sessionmaker

from warmline.channels.service import CustomerDetails, recognise_customer, start_conversation
from warmline.domain.conversation import Status
from warmline.domain.events import CustomerMessage, HandedOff, NoteAdded
from warmline.handoff import service
from warmline.storage import conversations as store
from warmline.storage.db import make_engine, make_session_factory, on_commit
from warmline.storage.idempotency import IdempotencyConflict, recall, remember


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _queued(sessions: sessionmaker[Session], priority: float = 0.5) -> str:
    with sessions() as session, session.begin():
        conversation = start_conversation(session, channel="web")
        store.append_events(
            session,
            conversation=conversation,
            events=[CustomerMessage(text="help"), HandedOff(reasons=["x"], priority=priority)],
        )
        return conversation.id


def test_events_are_appended_in_order_and_replayed(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        conversation = start_conversation(session, channel="email")
        texts = [f"message {i}" for i in range(5)]
        store.append_events(
            session, conversation=conversation, events=[CustomerMessage(text=t) for t in texts]
        )
    with sessions() as session:
        loaded = store.load_conversation(session, conversation_id=conversation.id)
    assert loaded is not None
    assert [e.text for e in loaded.of_type(CustomerMessage)] == texts
    assert loaded.channel == "email"


def test_rolled_back_events_are_not_stored_and_not_announced(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        conversation = start_conversation(session, channel="web")
    announced: list[str] = []
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        loaded = store.load_conversation(session, conversation_id=conversation.id, for_update=True)
        assert loaded is not None
        store.append_events(session, conversation=loaded, events=[NoteAdded(author="a", text="x")])
        on_commit(session, lambda: announced.append("sent"))
        raise RuntimeError("fail before commit")
    with sessions() as session:
        assert store.load_events(session, conversation_id=conversation.id) == []
    assert announced == []


def test_after_commit_callbacks_run_once_committed(sessions: sessionmaker[Session]) -> None:
    announced: list[str] = []
    with sessions() as session, session.begin():
        start_conversation(session, channel="web")
        on_commit(session, lambda: announced.append("sent"))
        assert announced == []
    assert announced == ["sent"]


def test_queue_orders_by_priority_then_waiting_time(sessions: sessionmaker[Session]) -> None:
    low = _queued(sessions, 0.2)
    high = _queued(sessions, 0.9)
    low_later = _queued(sessions, 0.2)
    with sessions() as session:
        assert [row.id for row in store.list_queue(session)] == [high, low, low_later]


def test_concurrent_claims_have_exactly_one_winner(sessions: sessionmaker[Session]) -> None:
    conversation_id = _queued(sessions)

    def attempt(agent: str) -> str:
        try:
            with sessions() as session, session.begin():
                service.claim(session, conversation_id=conversation_id, agent=agent)
            return agent
        except service.StateConflict:
            return ""

    with ThreadPoolExecutor(max_workers=10) as pool:
        winners = [w for w in pool.map(attempt, [f"agent{i}" for i in range(20)]) if w]
    assert len(winners) == 1
    with sessions() as session:
        loaded = store.load_conversation(session, conversation_id=conversation_id)
    assert loaded is not None and loaded.agent == winners[0]
    assert loaded.status is Status.ASSIGNED


def test_claim_next_takes_the_most_urgent_and_skips_taken_ones(
    sessions: sessionmaker[Session],
) -> None:
    first = _queued(sessions, 0.3)
    urgent = _queued(sessions, 0.9)
    with sessions() as session, session.begin():
        claimed = service.claim_next(session, agent="alex")
    with sessions() as session, session.begin():
        second = service.claim_next(session, agent="sam")
    with sessions() as session, session.begin():
        nothing = service.claim_next(session, agent="kim")
    assert claimed is not None and claimed.id == urgent
    assert second is not None and second.id == first
    assert nothing is None


def test_the_same_customer_is_recognised_from_any_identity(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        by_email = recognise_customer(
            session, details=CustomerDetails(name="Ana", email="ana@example.com", tier="vip")
        )
    with sessions() as session, session.begin():
        with_phone = recognise_customer(
            session, details=CustomerDetails(email="ANA@example.com", phone="+34 600 111 222")
        )
    with sessions() as session, session.begin():
        by_phone = recognise_customer(session, details=CustomerDetails(phone="+34600111222"))
    assert by_email.id == with_phone.id == by_phone.id
    assert by_phone.tier == "vip"


def test_idempotency_keys_return_the_first_answer_and_refuse_a_new_body(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        conversation = start_conversation(session, channel="web")
        remember(
            session,
            conversation_id=conversation.id,
            key="k",
            fingerprint="f1",
            response={"reply": "hi"},
        )
    with sessions() as session:
        assert recall(session, conversation_id=conversation.id, key="k", fingerprint="f1") == {
            "reply": "hi"
        }
        assert (
            recall(session, conversation_id=conversation.id, key="other", fingerprint="f1") is None
        )
        with pytest.raises(IdempotencyConflict):
            recall(session, conversation_id=conversation.id, key="k", fingerprint="f2")
