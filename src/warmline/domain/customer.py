"""Customers and the identities that let any channel find the same person."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Identity:
    """One way to recognise a customer: an email, a phone number or an external id."""

    kind: str
    value: str

    def normalised(self) -> Identity:
        """Emails lower-cased, phones reduced to digits and '+', so channels match."""
        value = self.value.strip()
        if self.kind == "email":
            value = value.lower()
        elif self.kind == "phone":
            value = "".join(ch for ch in value if ch.isdigit() or ch == "+")
        return Identity(kind=self.kind, value=value)


@dataclass
class Customer:
    """A person the business serves, with the profile the policy and the agents read."""

    id: str
    name: str | None = None
    tier: str | None = None
    plan: str | None = None
    lifetime_value: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)
