"""Small helpers shared by the HTTP tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from warmline.config import Settings

API_KEY_HEADERS = {"X-API-Key": "test-api-key-0123456789"}
# What a subprocess needs to run with WARMLINE_ENV=test (default secrets are refused there).
TEST_ENVIRONMENT = {
    "WARMLINE_ENV": "test",
    "WARMLINE_API_KEY": "test-api-key-0123456789",
    "WARMLINE_SECRET_KEY": "test-secret-key-0123456789",
}


def make_test_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a test: its database, test secrets, and limits no test reaches by accident
    (tests send fast on purpose; the rate-limit tests set their own)."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "data_dir": data_dir,
        "api_key": TEST_ENVIRONMENT["WARMLINE_API_KEY"],
        "secret_key": TEST_ENVIRONMENT["WARMLINE_SECRET_KEY"],
        "rate_limit_conversation_burst": 1000,
        "rate_limit_client_burst": 100_000,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def open_conversation(client: TestClient, **body: Any) -> tuple[str, dict[str, str]]:
    """Create a conversation; return its id and the customer's auth headers. With customer
    details it is opened by the business's systems (the API key), which may say who the
    customer is and what they are worth."""
    headers = API_KEY_HEADERS if "customer" in body else {}
    response = client.post("/api/v1/conversations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    data = response.json()
    return data["id"], {"Authorization": f"Bearer {data['token']}"}


def say(client: TestClient, conversation_id: str, headers: dict[str, str], text: str) -> Any:
    """Post a customer message and return the JSON answer (asserting success)."""
    response = client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def add_agent(
    client: TestClient, agent_id: str, seniority: str = "regular", role: str = "agent"
) -> dict[str, str]:
    """Create an agent; return its auth headers."""
    response = client.post(
        "/api/v1/agents",
        json={"id": agent_id, "name": agent_id.title(), "seniority": seniority, "role": role},
        headers=API_KEY_HEADERS,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is a problem+json error with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
