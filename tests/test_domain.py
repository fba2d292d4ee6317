"""Conversation state is rebuilt from events alone, and events survive their JSON form."""

from __future__ import annotations

from warmline.domain.conversation import Conversation, Status
from warmline.domain.customer import Identity
from warmline.domain.events import (
    AgentAssigned,
    CustomerMessage,
    DecisionMade,
    HandedBack,
    HandedOff,
    Resolved,
    event_from_dict,
    event_to_dict,
)


def test_replay_rebuilds_status_through_a_handoff_cycle() -> None:
    events = [
        CustomerMessage(text="hi"),
        DecisionMade(action="clarify"),
        CustomerMessage(text="I want a person"),
        DecisionMade(action="escalate"),
        HandedOff(reasons=["escape_hatch"], priority=0.5),
    ]
    conversation = Conversation.replay("c1", events)
    assert conversation.status is Status.QUEUED
    assert conversation.with_human
    assert conversation.customer_turns == 2
    assert conversation.handoff_reasons == ["escape_hatch"]
    conversation.apply(AgentAssigned(agent="alex"))
    assert (conversation.status, conversation.agent) == (Status.ASSIGNED, "alex")
    conversation.apply(HandedBack(agent="alex"))
    assert conversation.status is Status.BOT and conversation.agent is None
    assert not conversation.escalated_in_episode
    conversation.apply(Resolved(by="alex"))
    assert conversation.status is Status.RESOLVED
    conversation.apply(CustomerMessage(text="it broke again"))
    assert conversation.status is Status.BOT


def test_clarifications_count_only_consecutive_clarify_decisions() -> None:
    conversation = Conversation.replay(
        "c", [DecisionMade(action="clarify"), DecisionMade(action="clarify")]
    )
    assert conversation.clarifications_in_a_row == 2
    conversation.apply(DecisionMade(action="answer"))
    assert conversation.clarifications_in_a_row == 0


def test_every_event_round_trips_through_json() -> None:
    original = HandedOff(reasons=["frustration"], priority=0.8, route="senior", packet={"a": [1]})
    restored = event_from_dict(event_to_dict(original))
    assert restored == original
    assert type(restored) is HandedOff


def test_identities_are_normalised_for_matching_across_channels() -> None:
    assert Identity("email", " Ana@Example.COM ").normalised().value == "ana@example.com"
    assert Identity("phone", "+34 600-111 222").normalised().value == "+34600111222"


def test_the_suggested_first_line_reads_well_without_a_known_intent() -> None:
    from warmline.handoff.packet import build_packet

    conversation = Conversation.replay("c", [CustomerMessage(text="I want a person")])
    line = build_packet(conversation)["suggested_first_line"]
    assert "your request" in line and "your your" not in line
