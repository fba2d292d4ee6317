"""Estimated satisfaction: the CSAT a customer would likely give, from the conversation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from warmline.analytics.satisfaction import Course, course_of, estimate
from warmline.domain.conversation import Conversation
from warmline.domain.events import AgentMessage, AnalysisRecorded, CustomerMessage, HandedOff
from warmline.engine import Pipeline
from warmline.replay import replay_conversation


def _record(*turns: tuple[str, str]) -> dict[str, object]:
    return {"id": "x", "turns": [{"speaker": s, "text": t} for s, t in turns]}


def test_the_estimate_orders_conversations_as_a_person_would(pipeline: Pipeline) -> None:
    happy = _record(
        ("customer", "when will order 48213 arrive?"),
        ("agent", "It's out for delivery and arrives before 6pm today."),
        ("customer", "great, thanks a lot!"),
    )
    neutral = _record(
        ("customer", "do you ship to Norway?"),
        ("agent", "Not at the moment, we ship within the EU only."),
        ("customer", "ok"),
    )
    angry = _record(
        ("customer", "my fridge is broken and nobody called me back, third time writing"),
        ("agent", "Unfortunately we can't find your order."),
        ("customer", "I gave you the number twice already! this is a joke, get me a manager"),
    )
    scores = [replay_conversation(pipeline, r)[0]["satisfaction"] for r in (happy, neutral, angry)]
    assert scores[0] > scores[1] > scores[2]
    assert all(1.0 <= s <= 5.0 for s in scores)
    assert scores[0] >= 4.0 and scores[2] <= 2.0


def test_friction_lowers_the_estimate_and_thanks_raise_it() -> None:
    calm = Course(turns=3, start=0.1, peak=0.2, end=0.1, mean=0.15)
    assert estimate(Course(**{**calm.as_dict(), "closure": True})) > estimate(calm)
    for worse in (
        {"repeats": 2},
        {"pushbacks": 2},
        {"failures": 2},
        {"asked_for_person": True},
        {"repeated_after_handoff": True},
        {"long_waits": 2},
        {"turns": 30},
        {"end": 0.9, "peak": 0.9},
    ):
        assert estimate(Course(**{**calm.as_dict(), **worse})) < estimate(calm), worse
    assert estimate(Course()) == 3.0


def test_the_course_reads_repeats_waits_and_repetition_after_a_handoff() -> None:
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    conversation = Conversation(id="c")
    for event in (
        CustomerMessage(text="my parcel 12345 never arrived at my house", ts=start),
        AnalysisRecorded(analysis={"emotion": {"frustration": 0.4}}, ts=start),
        HandedOff(reasons=["escape_hatch"], ts=start),
        CustomerMessage(text="hello? my parcel 12345 never arrived at my house", ts=start),
        AnalysisRecorded(analysis={"emotion": {"frustration": 0.7}, "pushback": "x"}, ts=start),
        AgentMessage(agent="a", text="Sorry, I can't see it.", ts=start + timedelta(hours=1)),
        CustomerMessage(text="thanks for nothing", ts=start + timedelta(hours=1)),
        AnalysisRecorded(analysis={"emotion": {"frustration": 0.6}}, ts=start),
    ):
        conversation.apply(event)  # type: ignore[arg-type]
    course = course_of(conversation)
    assert course.repeats == 1 and course.pushbacks == 1 and course.failures == 1
    assert course.repeated_after_handoff and course.long_waits == 1
    assert not course.closure  # "thanks for nothing" is not thanks
    assert (course.start, course.peak, course.end) == (0.4, 0.7, 0.6)


def test_replay_without_customer_turns_has_no_estimate(pipeline: Pipeline) -> None:
    result, _ = replay_conversation(pipeline, _record(("agent", "Hello, how can we help?")))
    assert result["satisfaction"] is None
    json.dumps(result)
