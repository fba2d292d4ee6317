"""The dialogue state of one routine action, as stored in `ActionStep` events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["proposed", "collecting", "verifying", "confirming", "done", "failed", "cancelled"]
ASKING_EMAIL = "identity_email"  # what `asking` says while the identity check needs these
ASKING_CODE = "verification_code"
OPEN: frozenset[str] = frozenset({"proposed", "collecting", "verifying", "confirming"})


@dataclass
class Verification:
    """A code sent to prove who the customer is: its keyed hash (never the code), when it
    expires, the account it unlocks (None when the address is not on file), and tries left."""

    code_hash: str
    expires_at: float
    reference: str | None
    channel: Literal["email", "phone"] = "email"
    tries: int = 0


@dataclass
class ActionState:
    """Where one action stands. `asking` are the slots the last reply asked for (a bare
        answer fills them), `questions` how many questions this action has asked (the loop
        trigger's count), `offered` values the bot proposed per slot, `free` every value the
        backend listed as free for a slot and `free_for` the values of the offer's needs it was
        listed for ("date=2026-12-03"), `hints` what narrows an offer ("afternoon"), `key` the
        idempotency key every try of the call carries, `tracked` the schema-guided tracker's state
    (`tracking.py`)."""

    action: str
    status: Status = "collecting"
    slots: dict[str, str] = field(default_factory=dict)
    asking: list[str] = field(default_factory=list)
    questions: int = 0
    offered: dict[str, list[str]] = field(default_factory=dict)
    free: dict[str, list[str]] = field(default_factory=dict)
    free_for: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    key: str = ""
    verification: Verification | None = None
    tracked: dict[str, Any] = field(default_factory=dict)

    @property
    def asking_email(self) -> bool:
        """True while the identity check waits for the email on the account."""
        return ASKING_EMAIL in self.asking

    @property
    def open(self) -> bool:
        """True while the action still needs the customer."""
        return self.status in OPEN

    def as_dict(self) -> dict[str, Any]:
        """The stored form (`ActionStep.state`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, action: str, status: str, data: dict[str, Any]) -> ActionState:
        """Rebuild the state an `ActionStep` recorded."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        raw = known.pop("verification", None)
        known.pop("action", None)
        known.pop("status", None)
        state = cls(action=action, status=status, **known)  # type: ignore[arg-type]
        state.verification = Verification(**raw) if isinstance(raw, dict) else None
        return state
