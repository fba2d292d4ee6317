"""Names in the policy must exist: a typo in a signal, intent or team is an error that names
the closest known one (and where it is), never a rule that silently never fires."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, assert_problem
from warmline.bootstrap import build_pipeline, known_intents
from warmline.config import Settings
from warmline.policy.loader import DEFAULT_POLICY_FILE, PolicyError, load_config, parse_config

TYPOS = """name: typos
act_intents: [ordr_status]
routing:
  default_team: generl
  intents: {pasword_reset: billing}
triggers:
  frustration:
    message:
      signals: [anoyance, churn_threat]
  loop:
    ignore_intents: [greeting, thnks]
    repetition:
      signals: [repeated_mesage]
  sensitive_topic:
    topics:
      money_worries:
        intents: [payment_faild]
"""


@pytest.fixture(scope="module")
def intents() -> list[str]:
    known = known_intents(Settings(_env_file=None))
    assert known is not None and "order_status" in known and "oos" in known
    return known


def test_every_misspelt_name_is_reported_with_its_place_and_the_closest_name(
    intents: list[str],
) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_config(TYPOS, "typos.yaml", intents)
    report = str(raised.value)
    expected = [
        "typos.yaml:2:15: act_intents[0]: unknown intent 'ordr_status'; "
        "did you mean 'order_status'?",
        "typos.yaml:4:3: routing.default_team: unknown team 'generl'; did you mean 'general'?",
        "routing.intents.pasword_reset: unknown intent 'pasword_reset'; did you mean "
        "'password_reset'?",
        "typos.yaml:9:17: triggers.frustration.message.signals[0]: unknown signal 'anoyance'; "
        "did you mean 'annoyance'?",
        "triggers.loop.ignore_intents[1]: unknown intent 'thnks'; did you mean 'thanks'?",
        "triggers.loop.repetition.signals[0]: unknown conversation signal 'repeated_mesage'; "
        "did you mean 'repeated_message'?",
        "unknown intent 'payment_faild'; did you mean 'payment_failed'?",
    ]
    for line in expected:
        assert line in report, report
    assert "churn_threat" not in report and "greeting" not in report
    assert len(raised.value.issues) == 7


def test_a_name_with_nothing_close_lists_what_is_known(intents: list[str]) -> None:
    text = "name: far\ntriggers:\n  frustration:\n    message:\n      signals: [zzzzzz]\n"
    with pytest.raises(PolicyError, match=r"unknown signal 'zzzzzz' \(known: anger, annoyance"):
        parse_config(text, "far.yaml", intents)


def test_the_shipped_policy_names_only_what_exists(intents: list[str]) -> None:
    load_config(DEFAULT_POLICY_FILE, intents)


def test_intents_are_checked_against_the_running_model(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: mine\nact_intents: [ordr_status]\n")
    with pytest.raises(PolicyError, match="did you mean 'order_status'"):
        build_pipeline(Settings(_env_file=None, data_dir=tmp_path, policy_file=policy))
    # Without an intent model (the constant analyzer) only signals and teams are checked.
    constant = Settings(_env_file=None, data_dir=tmp_path, policy_file=policy, analyzer="constant")
    assert build_pipeline(constant, actions=False).policy.config.act_intents == ["ordr_status"]


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_an_agents_skills_and_team_must_be_the_policys(client: TestClient) -> None:
    typo = client.post(
        "/api/v1/agents",
        json={"id": "ann", "name": "Ann", "skills": ["biling"]},
        headers=API_KEY_HEADERS,
    )
    assert "Unknown skill 'biling'; did you mean 'billing'?" in assert_problem(typo, 422)["detail"]
    team = client.post(
        "/api/v1/agents",
        json={"id": "ann", "name": "Ann", "team": "ordrs"},
        headers=API_KEY_HEADERS,
    )
    assert "did you mean 'orders'?" in assert_problem(team, 422)["detail"]
    fine = client.post(
        "/api/v1/agents",
        json={"id": "ann", "name": "Ann", "team": "orders", "skills": ["delivery", "billing"]},
        headers=API_KEY_HEADERS,
    )
    assert fine.status_code == 201, fine.text
