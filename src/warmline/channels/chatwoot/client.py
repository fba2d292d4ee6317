"""Answering through Chatwoot's API as the agent bot (its `api_access_token`): a reply, a
private note, and opening the conversation for people."""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential


class ChatwootUnavailable(Exception):
    """Chatwoot did not take the request after the retries."""


def _worth_retrying(error: BaseException) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code >= 500 or error.response.status_code == 429
    return isinstance(error, httpx.TransportError)


class ChatwootClient:
    """The few calls the bot makes, each retried a few times on network errors and 5xx."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"api_access_token": token},
            timeout=timeout,
            follow_redirects=False,
        )

    def reply(self, account: int, conversation: int, text: str) -> None:
        """An outgoing message the customer sees."""
        self._post(
            account,
            conversation,
            "messages",
            {"content": text, "message_type": "outgoing", "private": False},
        )

    def note(self, account: int, conversation: int, text: str) -> None:
        """A private note only agents see."""
        self._post(
            account,
            conversation,
            "messages",
            {"content": text, "message_type": "outgoing", "private": True},
        )

    def open_for_people(self, account: int, conversation: int) -> None:
        """Hand over: the conversation leaves the bot's pending state for the agents' inbox."""
        self._post(account, conversation, "toggle_status", {"status": "open"})

    def resolve(self, account: int, conversation: int) -> None:
        """Mark the conversation resolved in Chatwoot (the bot closed it: a calm goodbye)."""
        self._post(account, conversation, "toggle_status", {"status": "resolved"})

    def close(self) -> None:
        self._http.close()

    def _post(self, account: int, conversation: int, action: str, body: dict[str, Any]) -> None:
        path = f"/api/v1/accounts/{account}/conversations/{conversation}/{action}"
        try:
            self._send(path, body)
        except httpx.HTTPError as error:
            raise ChatwootUnavailable(f"{action}: {type(error).__name__}: {error}") from None

    @retry(
        retry=retry_if_exception(_worth_retrying),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        reraise=True,
    )
    def _send(self, path: str, body: dict[str, Any]) -> None:
        self._http.post(path, json=body).raise_for_status()
