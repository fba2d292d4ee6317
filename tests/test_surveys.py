"""Surveys after resolution: sent on the conversation's channel, answered once by the customer,
changes recorded, bad answers refused clearly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from helpers import API_KEY_HEADERS, add_agent, assert_problem, make_test_settings, say
from warmline.api.app import create_app
from warmline.bootstrap import build_services
from warmline.config import Settings
from warmline.engine import Pipeline


def _resolved(
    client: TestClient, channel: str = "web", agent: str = "alex"
) -> tuple[str, dict[str, str]]:
    """A conversation handed to an agent and resolved by them; the customer's headers."""
    alex = add_agent(client, agent)
    created = client.post("/api/v1/conversations", json={"channel": channel})
    conversation_id = created.json()["id"]
    customer = {"Authorization": f"Bearer {created.json()['token']}"}
    say(client, conversation_id, customer, "I want to talk to a person")
    client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=alex).raise_for_status()
    client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=alex).raise_for_status()
    return conversation_id, customer


def _events(client: TestClient, conversation_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS)
    return list(response.json()["events"])


def test_resolving_sends_the_survey_on_the_conversations_channel(client: TestClient) -> None:
    conversation_id, _ = _resolved(client)
    events = _events(client, conversation_id)
    assert [e["type"] for e in events[-2:]] == ["resolved", "bot_reply"]
    survey = events[-1]
    assert survey["kind"] == "survey"
    assert "from 1 (not at all) to 5" in survey["text"] and "Did you feel heard?" in survey["text"]
    assert "recommend" not in survey["text"]  # NPS is not asked by default


def test_the_customer_answers_once_and_changes_are_recorded(client: TestClient) -> None:
    conversation_id, customer = _resolved(client)
    url = f"/api/v1/conversations/{conversation_id}/feedback"
    first = client.post(url, json={"csat": 4, "felt_heard": True}, headers=customer)
    assert first.status_code == 200, first.text
    assert first.json() == {"csat": 4, "nps": None, "felt_heard": True, "comment": None}
    again = client.post(url, json={"csat": 4}, headers=customer)
    assert "already recorded" in assert_problem(again, 409)["detail"]
    changed = client.post(url, json={"csat": 2, "comment": "slow"}, headers=customer)
    assert changed.json() == {"csat": 2, "nps": None, "felt_heard": True, "comment": "slow"}
    feedback = [e for e in _events(client, conversation_id) if e["type"] == "feedback"]
    assert [(e["csat"], e["felt_heard"], e["comment"]) for e in feedback] == [
        (4, True, None),
        (2, None, "slow"),
    ]


def test_bad_survey_answers_are_refused_clearly(client: TestClient) -> None:
    conversation_id, customer = _resolved(client)
    url = f"/api/v1/conversations/{conversation_id}/feedback"
    for body in ({"csat": 6}, {"csat": 0}, {"nps": 11}, {"csat": "great"}, {"comment": "x" * 2001}):
        assert_problem(client.post(url, json=body, headers=customer), 422)
    empty = client.post(url, json={}, headers=customer)
    assert "nothing to record" in assert_problem(empty, 409)["detail"]
    huge = client.post(
        url,
        content=b'{"comment": "' + b"x" * 1_000_000 + b'"}',
        headers={**customer, "Content-Type": "application/json"},
    )
    assert 400 <= huge.status_code < 500 and huge.headers["content-type"].startswith(
        "application/problem+json"
    )
    # Not resolved yet: the survey comes after.
    created = client.post("/api/v1/conversations", json={})
    open_id = created.json()["id"]
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    early = client.post(
        f"/api/v1/conversations/{open_id}/feedback", json={"csat": 5}, headers=token
    )
    assert "not resolved" in assert_problem(early, 409)["detail"]
    # Someone else's conversation, or an agent: refused.
    assert_problem(client.post(url, json={"csat": 5}, headers=token), 401)
    sam = add_agent(client, "sam")
    assert_problem(client.post(url, json={"csat": 5}, headers=sam), 403)


@contextmanager
def _client(
    database_url: str, tmp_path: Path, pipeline: Pipeline, **overrides: Any
) -> Iterator[TestClient]:
    settings = make_test_settings(database_url, tmp_path, **overrides)
    services = build_services(settings, pipeline)
    try:
        with TestClient(create_app(settings, services)) as client:
            yield client
    finally:
        services.broadcast.close()
        services.sessions.kw["bind"].dispose()


def test_the_survey_is_configurable(database_url: str, tmp_path: Path, pipeline: Pipeline) -> None:
    with _client(database_url, tmp_path, pipeline, survey="nps") as client:
        conversation_id, customer = _resolved(client, channel="email")
        survey = _events(client, conversation_id)[-1]
        assert survey["text"].startswith("Thank you for getting in touch.")
        assert "recommend us" in survey["text"] and "1 (not at all)" not in survey["text"]
        url = f"/api/v1/conversations/{conversation_id}/feedback"
        assert client.post(url, json={"nps": 10}, headers=customer).status_code == 200
    with _client(database_url, tmp_path, pipeline, survey="") as client:
        conversation_id, _ = _resolved(client, agent="bea")
        assert _events(client, conversation_id)[-1]["type"] == "resolved"


def test_an_unknown_survey_question_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, survey="csat,stars")
    assert "unknown survey question stars" in str(caught.value)
    assert Settings(_env_file=None, survey=" nps , csat ").survey_questions == ("nps", "csat")
