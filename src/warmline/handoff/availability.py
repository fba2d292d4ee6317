"""Is anyone there to take the conversation, and what do we honestly tell the customer?

The pipeline never reads the database: the engine hands it a `StaffingProvider` (a callable
that reads who is online, called only when a conversation is actually handed over), and replay
uses `ALWAYS_STAFFED`. Business hours come from the policy (`policy.hours`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from warmline.domain.customer import Customer
from warmline.policy.config import PolicyConfig
from warmline.policy.hours import is_open, next_opening


@dataclass(frozen=True)
class OnlineAgent:
    """An agent who can take conversations now."""

    id: str
    team: str | None = None
    skills: frozenset[str] = field(default_factory=frozenset)
    seniority: str = "regular"


@dataclass(frozen=True)
class Staffing:
    """Who is online and how many conversations already wait. `known=False` means the caller
    has no information (replay, tests): the customer is then told nothing about waiting."""

    online: tuple[OnlineAgent, ...] = ()
    queued: int = 0
    known: bool = True


StaffingProvider = Callable[[], Staffing]


def always_staffed() -> Staffing:
    """The provider replay uses: availability unknown, so no waiting estimate is promised."""
    return Staffing(known=False)


ALWAYS_STAFFED: StaffingProvider = always_staffed

Situation = Literal["available", "no_agent_online", "outside_hours", "unknown"]


@dataclass(frozen=True)
class QueuePlan:
    """What happens to a conversation handed over now, as told to the customer."""

    situation: Situation
    agents: int = 0
    expected_wait_minutes: int | None = None
    next_open: datetime | None = None
    by_email: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Stored in the handoff event (`staffing`)."""
        return {
            "situation": self.situation,
            "agents": self.agents,
            "expected_wait_minutes": self.expected_wait_minutes,
            "next_open": self.next_open.isoformat() if self.next_open else None,
            "by_email": self.by_email,
        }


def teams_of(agent: OnlineAgent, config: PolicyConfig) -> set[str]:
    """The teams an agent works for: their own (or the default team) and every team whose
    skills they have."""
    teams = {agent.team or config.routing.default_team}
    teams.update(name for name, team in config.teams.items() if agent.skills & set(team.skills))
    return teams


def route_teams(route: str | None, config: PolicyConfig) -> set[str]:
    """Every team that may end up with a conversation routed to `route` (its overflow chain)."""
    default = config.routing.default_team
    if route is None or route == default:
        return {default}
    chain: list[str] = []
    current: str | None = route
    while current is not None and current not in chain:
        chain.append(current)
        team = config.teams.get(current)
        current = team.overflow_to if team else None
    return set(chain)


def can_serve(agent: OnlineAgent, route: str | None, config: PolicyConfig) -> bool:
    """True when the agent could take a conversation on `route` (now or after overflow)."""
    reachable = route_teams(route, config)
    return config.routing.default_team in reachable or bool(teams_of(agent, config) & reachable)


def plan_handoff(
    config: PolicyConfig,
    *,
    route: str | None,
    staffing: Staffing,
    at: datetime,
    customer: Customer | None = None,
    channel: str = "web",
) -> QueuePlan:
    """The honest answer to "when will a person reply?" for a conversation handed over now."""
    availability = config.availability
    by_email = availability.reply_by_email and (
        channel == "email" or bool(customer and any(i.kind == "email" for i in customer.identities))
    )
    if not is_open(availability, at):
        return QueuePlan(
            "outside_hours", next_open=next_opening(availability, at), by_email=by_email
        )
    if not staffing.known:
        return QueuePlan("unknown", by_email=by_email)
    agents = sum(1 for agent in staffing.online if can_serve(agent, route, config))
    if agents == 0:
        return QueuePlan("no_agent_online", by_email=by_email)
    per = availability.minutes_per_conversation
    wait = math.ceil(staffing.queued / agents * per) if per > 0 else None
    return QueuePlan("available", agents, wait, by_email=by_email)
