"""Routing: which queued conversation an agent should take next (pure, no database).

Each conversation carries a base priority (from the decision), a route (a team), a senior flag
and the frustration at handoff. For one agent, a conversation is eligible when its route is the
default team or one of the agent's teams, or when it has waited long enough to overflow to a
team the agent is in; senior-flagged conversations wait `senior_wait_seconds` for a senior
before anyone may take them; an agent at the burnout cap skips upset conversations. Eligible
conversations are ranked by effective priority (base + waiting time against the first-response
target) plus a bonus for the agent's own team and for seniors on senior-flagged conversations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from warmline.handoff.availability import OnlineAgent, teams_of
from warmline.policy.config import PolicyConfig

Match = Literal["team", "open", "overflow"]


@dataclass(frozen=True)
class QueueEntry:
    """A queued conversation as routing sees it."""

    id: str
    priority: float
    route: str | None = None
    senior: bool = False
    frustration: float = 0.0
    queued_at: datetime | None = None


@dataclass(frozen=True)
class AgentLoad:
    """An agent's recent assignments: frustrations newest first, and upset ones this hour."""

    recent: tuple[float, ...] = ()
    upset_last_hour: int = 0


def waited_seconds(entry: QueueEntry, now: datetime) -> float:
    """How long the conversation has been waiting."""
    if entry.queued_at is None:
        return 0.0
    return max(0.0, (now - entry.queued_at).total_seconds())


def effective_priority(entry: QueueEntry, config: PolicyConfig, now: datetime) -> float:
    """Base priority plus waiting time measured in first-response targets (capped): a
    conversation that has waited its whole target gains `queue.waiting_weight`."""
    target = config.sla.targets_for(entry.priority).first_response_seconds
    waited = min(waited_seconds(entry, now) / target, config.queue.waiting_cap)
    return round(entry.priority + config.queue.waiting_weight * waited, 6)


def is_senior(agent: OnlineAgent, config: PolicyConfig) -> bool:
    """True for the seniority levels the policy counts as senior."""
    return agent.seniority in config.routing.senior_levels


def at_burnout_cap(load: AgentLoad, config: PolicyConfig) -> bool:
    """True when the agent had `max_in_a_row` upset conversations in a row, or
    `max_per_hour` this hour."""
    burnout = config.routing.burnout
    recent = load.recent[: burnout.max_in_a_row]
    in_a_row = len(recent) >= burnout.max_in_a_row and all(
        value >= burnout.high_frustration for value in recent
    )
    return in_a_row or load.upset_last_hour >= burnout.max_per_hour


def match(
    entry: QueueEntry, agent: OnlineAgent, config: PolicyConfig, now: datetime
) -> Match | None:
    """How the agent may take this conversation now, or None if not (yet)."""
    routing = config.routing
    teams = teams_of(agent, config)
    route = entry.route
    waited = waited_seconds(entry, now)
    kind: Match | None
    if route is not None and route in teams and route != routing.default_team:
        kind = "team"
    elif route is None or route == routing.default_team or route not in config.teams:
        kind = "open"
    else:
        kind = _overflowed(route, teams, config, waited)
    if kind is None:
        return None
    if entry.senior and not is_senior(agent, config) and waited < routing.senior_wait_seconds:
        return None
    return kind


def _overflowed(route: str, teams: set[str], config: PolicyConfig, waited: float) -> Match | None:
    needed = 0.0
    current = route
    seen: set[str] = set()
    while current not in seen:
        seen.add(current)
        team = config.teams.get(current)
        if team is None or team.overflow_to is None:
            return None
        needed += team.overflow_after_seconds
        if waited < needed:
            return None
        current = team.overflow_to
        if current == config.routing.default_team or current in teams:
            return "overflow"
    return None


def rank_for_agent(
    entries: Iterable[QueueEntry],
    agent: OnlineAgent,
    config: PolicyConfig,
    now: datetime,
    load: AgentLoad = AgentLoad(),
) -> list[tuple[float, QueueEntry, Match]]:
    """The conversations this agent may take now, best first, with their scores."""
    routing = config.routing
    capped = at_burnout_cap(load, config)
    senior = is_senior(agent, config)
    ranked: list[tuple[float, QueueEntry, Match]] = []
    for entry in entries:
        if capped and entry.frustration >= routing.burnout.high_frustration:
            continue
        kind = match(entry, agent, config, now)
        if kind is None:
            continue
        score = effective_priority(entry, config, now)
        if kind == "team":
            score += routing.match_bonus
        if entry.senior and senior:
            score += routing.senior_bonus
        ranked.append((score, entry, kind))
    oldest = datetime.max.replace(tzinfo=now.tzinfo)
    ranked.sort(key=lambda item: (-item[0], item[1].queued_at or oldest))
    return ranked
