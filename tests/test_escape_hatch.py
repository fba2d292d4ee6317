"""The escape hatch: every way of asking for a person is honoured, negations are not."""

from __future__ import annotations

import pytest

from warmline.understanding.escape_hatch import detect_human_request

REQUESTS = [
    "I want to talk to a real person",
    "agent",
    "Representative!!",
    "human please",
    "can I speak to someone please",
    "Get me a manager NOW",
    "transfer me to a representative",
    "Is there a real human there?",
    "Please connect me with customer service",
    "I don't want a bot, I want a human",
    "let me talk to someone who can help",
    "stop the bot",
]
NOT_REQUESTS = [
    "I don't need a human, just tell me my balance",
    "I do not want to talk to an agent",
    "no human needed, tell me my balance",
    "I never want a person, just fix it",
    "what is my balance",
    "my agent number is 5",
    "where is my order, the delivery person never came",
    "",
    "🙂🙂🙂",
]


@pytest.mark.parametrize("text", REQUESTS)
def test_requests_for_a_person_are_found(text: str) -> None:
    assert detect_human_request(text) is not None


@pytest.mark.parametrize("text", NOT_REQUESTS)
def test_negated_or_unrelated_text_is_not_a_request(text: str) -> None:
    assert detect_human_request(text) is None


def test_huge_input_is_scanned_at_both_ends() -> None:
    assert detect_human_request("a " * 100_000 + ". I want an agent please") is not None
    assert detect_human_request("x " * 100_000) is None
