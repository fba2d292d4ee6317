"""The connector interface: one call of one operation on behalf of one customer.

A connector never talks to the customer. It returns the operation's result as plain JSON data
or raises `ConnectorError` with a kind the dialogue can explain honestly and the policy can
hear about (`action_failed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

ErrorKind = Literal[
    "not_found",  # no such order, device, appointment... (the customer can correct the value)
    "not_yours",  # it exists but belongs to another customer (say no more than "not found")
    "forbidden",  # account data for a customer who has not proved who they are
    "invalid",  # the backend refused a value (a date in the past, outside the return window)
    "conflict",  # already done or taken meanwhile (a slot booked by someone else, SIM active)
    "unavailable",  # the system failed: 5xx, connection refused, too many redirects
    "timeout",  # no answer in time, after the retries
    "bad_response",  # an answer that is not the JSON expected, or too large
]

CUSTOMER_CORRECTABLE: frozenset[str] = frozenset({"not_found", "not_yours", "invalid", "conflict"})


@dataclass(frozen=True)
class CustomerRef:
    """Who the action runs for, as the business's systems know them. `verified` is True once
    the customer proved who they are (a code sent to the email or phone on file, or the site's
    signed identity); connectors refuse account data for unverified customers."""

    id: str | None = None
    email: str | None = None
    phone: str | None = None
    verified: bool = False


class ConnectorError(Exception):
    """An operation that did not succeed, with a kind from `ErrorKind` and a short detail that
    names no personal data (it is shown to agents and recorded in events)."""

    def __init__(self, kind: ErrorKind, detail: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: ErrorKind = kind
        self.detail = detail
        self.data = data or {}  # what may help the customer on, e.g. {"free": ["10:00"]}

    @property
    def correctable(self) -> bool:
        """True when the customer can fix it by giving another value."""
        return self.kind in CUSTOMER_CORRECTABLE


class Connector(Protocol):
    """Runs operations of the business's systems. `idempotency_key` is the same for every try
    of one confirmed action, so a retried call never books or returns anything twice."""

    name: str

    def call(
        self,
        operation: str,
        params: Mapping[str, Any],
        customer: CustomerRef,
        *,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Run `operation` with `params` for `customer`; its result as JSON data."""
        ...

    def operations(self) -> frozenset[str]:
        """The operations this connector knows (the action loader checks names against it)."""
        ...
