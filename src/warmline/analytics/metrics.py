"""Metrics from the event log, for any period: speed, automation quality, escalation quality
and emotional impact.

Everything is computed from conversations' events (`facts_of` per conversation, then
`report` over many), so a period can be recomputed at any time, and a what-if replay of a
policy produces events the same functions read. Definitions (docs/analytics.md):

- first response: the first customer message to the first reply (bot or agent);
- handling: the first agent assignment to the resolution;
- resolution: the first customer message to the (last) resolution; for a conversation the bot
  closed (policy `closing`), to its last message;
- first-contact resolution: resolved, never reopened, and the customer not back within the
  window;
- containment: never handed to a person, ended on an answer or a finished action, and the
  customer not back within the window;
- time to escalate: the first upset customer turn to the handoff; late: upset for `late_turns`
  turns or more before the handoff, or marked late by the agent; unnecessary: marked so by the
  agent, or resolved by the agent with a single reply after a handoff the bot made only because
  it did not understand (low confidence or a loop, or the person it offered for that reason);
- reopened: reopened by someone, or the customer wrote again after the resolution;
- churn signals: threats to leave, the customer back within the window, breached service
  levels; agent load: upset conversations assigned per agent and hour.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from warmline.analytics.satisfaction import estimated_satisfaction
from warmline.analytics.surveys import current_answer
from warmline.domain.conversation import Conversation
from warmline.domain.events import (
    AgentAssigned,
    AgentMessage,
    AnalysisRecorded,
    AnswerFlagged,
    BotReply,
    CustomerMessage,
    DecisionMade,
    EscalationMarked,
    HandedOff,
    IntentCorrected,
    Reopened,
    Resolved,
    SlaBreached,
)
from warmline.policy.closing import closed_by_bot
from warmline.understanding.types import UPSET

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LATE_TURNS = 3
RETURN_WINDOW = timedelta(days=7)
_UNDERSTANDING = {"low_confidence", "loop"}
_ENDED_WELL = {"answer", "action"}


@dataclass(frozen=True)
class Facts:
    """What one conversation contributes to the metrics."""

    id: str
    customer_id: str | None
    channel: str
    started: datetime
    first_response_s: float | None = None
    handed_over: bool = False
    reasons: tuple[str, ...] = ()
    time_to_escalate_s: float | None = None
    late: bool = False
    unnecessary: bool = False
    queue_wait_s: float | None = None  # handoff to the first agent taking it
    handling_s: float | None = None
    resolution_s: float | None = None
    resolved: bool = False
    reopened: bool = False
    ended_well: bool = False
    frustration_start: float | None = None
    frustration_end: float | None = None
    csat: int | None = None
    nps: int | None = None
    felt_heard: bool | None = None
    satisfaction: float | None = None
    churn_threat: bool = False
    sla_breaches: int = 0
    agents: tuple[tuple[str, datetime, bool], ...] = ()  # (agent, assigned at, upset then)
    corrections: dict[str, int] = field(default_factory=dict)


def facts_record(conversation: Conversation) -> dict[str, Any] | None:
    """`facts_of` as the JSON the `conversation_facts` table keeps."""
    facts = facts_of(conversation)
    if facts is None:
        return None
    record = asdict(facts)
    record["started"] = facts.started.isoformat()
    record["agents"] = [[agent, at.isoformat(), upset] for agent, at, upset in facts.agents]
    return record


def facts_from_record(record: dict[str, Any]) -> Facts:
    """The inverse of `facts_record`."""
    values = dict(record)
    values["started"] = datetime.fromisoformat(values["started"])
    values["reasons"] = tuple(values.get("reasons", ()))
    values["agents"] = tuple(
        (agent, datetime.fromisoformat(at), upset) for agent, at, upset in values.get("agents", [])
    )
    known = {f.name for f in fields(Facts)}
    return Facts(**{k: v for k, v in values.items() if k in known})


def facts_of(conversation: Conversation, *, late_turns: int = LATE_TURNS) -> Facts | None:
    """The facts of one conversation (None for a conversation with no customer message)."""
    events = conversation.events
    customer = conversation.of_type(CustomerMessage)
    if not customer:
        return None
    started = customer[0].ts
    analyses = conversation.of_type(AnalysisRecorded)
    levels = [float(a.analysis.get("emotion", {}).get("frustration", 0.0)) for a in analyses]
    handoff = next(iter(conversation.of_type(HandedOff)), None)
    resolved = conversation.of_type(Resolved)
    replies = [e for e in events if isinstance(e, BotReply | AgentMessage) and e.ts >= started]
    marks = {e.verdict for e in conversation.of_type(EscalationMarked)}
    answer = current_answer(conversation)
    assigned = conversation.of_type(AgentAssigned)
    ended = _resolved_at(conversation, resolved[-1]) if resolved else None
    return Facts(
        id=conversation.id,
        customer_id=conversation.customer_id,
        channel=conversation.channel,
        started=started,
        first_response_s=_seconds(started, replies[0].ts) if replies else None,
        handed_over=handoff is not None,
        reasons=tuple(handoff.reasons) if handoff else (),
        time_to_escalate_s=_time_to_escalate(analyses, handoff),
        late="late" in marks or _upset_run_before(analyses, handoff) >= late_turns,
        unnecessary="unnecessary" in marks or _needless(conversation, handoff),
        queue_wait_s=_queue_wait(handoff, assigned),
        handling_s=_seconds(assigned[0].ts, ended) if assigned and ended else None,
        resolution_s=_seconds(started, ended) if ended else None,
        resolved=bool(resolved) and conversation.status.value == "resolved",
        reopened=_reopened(conversation),
        ended_well=_ended_well(conversation),
        frustration_start=levels[0] if levels else None,
        frustration_end=levels[-1] if levels else None,
        csat=answer.csat if answer else None,
        nps=answer.nps if answer else None,
        felt_heard=answer.felt_heard if answer else None,
        satisfaction=estimated_satisfaction(conversation),
        churn_threat=any(
            s.get("name") == "churn_threat"
            for a in analyses
            for s in a.analysis.get("emotion", {}).get("signals", [])
        ),
        sla_breaches=len(conversation.of_type(SlaBreached)),
        agents=tuple((e.agent, e.ts, _upset_at(analyses, e.ts)) for e in assigned),
        corrections=dict(
            Counter(
                e.type
                for e in events
                if isinstance(e, IntentCorrected | AnswerFlagged | EscalationMarked)
            )
        ),
    )


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _queue_wait(handoff: HandedOff | None, assigned: Sequence[AgentAssigned]) -> float | None:
    if handoff is None:
        return None
    taken = next((e for e in assigned if e.ts >= handoff.ts), None)
    return _seconds(handoff.ts, taken.ts) if taken else None


def _frustration(event: AnalysisRecorded) -> float:
    return float(event.analysis.get("emotion", {}).get("frustration", 0.0))


def _time_to_escalate(
    analyses: Sequence[AnalysisRecorded], handoff: HandedOff | None
) -> float | None:
    if handoff is None:
        return None
    upset = next((a for a in analyses if _frustration(a) >= UPSET and a.ts <= handoff.ts), None)
    return _seconds(upset.ts, handoff.ts) if upset else None


def _upset_run_before(analyses: Sequence[AnalysisRecorded], handoff: HandedOff | None) -> int:
    """Upset customer turns in a row just before the handoff, the handoff's own turn not
    counted (being upset on the turn that escalates is on time)."""
    if handoff is None:
        return 0
    before = [a for a in analyses if a.ts <= handoff.ts][:-1]
    run = 0
    for event in reversed(before):
        if _frustration(event) < UPSET:
            break
        run += 1
    return run


def _reopened(conversation: Conversation) -> bool:
    """Reopened by someone, or the customer wrote again after it was resolved."""
    resolved = False
    for event in conversation.events:
        if isinstance(event, Reopened) or (resolved and isinstance(event, CustomerMessage)):
            return True
        resolved = resolved or isinstance(event, Resolved)
    return False


def _needless(conversation: Conversation, handoff: HandedOff | None) -> bool:
    """Handed over only because the bot did not understand (directly, or the customer took the
    person it offered for that reason), then resolved by one agent reply."""
    if handoff is None:
        return False
    reasons = set(handoff.reasons)
    if "offer_accepted" in reasons:
        offers = [d for d in conversation.of_type(DecisionMade) if d.action == "offer_handoff"]
        offered = {str(r.get("trigger")) for r in offers[-1].reasons} if offers else set()
        reasons = (reasons - {"offer_accepted"}) | offered
    if not reasons or not reasons <= _UNDERSTANDING:
        return False
    agent_replies = conversation.of_type(AgentMessage)
    return len(agent_replies) == 1 and conversation.status.value == "resolved"


def _resolved_at(conversation: Conversation, resolved: Resolved) -> datetime:
    """When the problem was resolved: the resolution's time, or for a conversation the bot
    closed after the customer went quiet, its last message (the quiet wait is not work)."""
    if not closed_by_bot(resolved):
        return resolved.ts
    said = [
        e.ts
        for e in conversation.events
        if isinstance(e, CustomerMessage | BotReply | AgentMessage) and e.ts <= resolved.ts
    ]
    return said[-1] if said else resolved.ts


def _ended_well(conversation: Conversation) -> bool:
    """The last bot reply answered or finished an action (not "I don't know")."""
    last = next((e for e in reversed(conversation.events) if isinstance(e, BotReply)), None)
    return last is not None and last.kind in _ENDED_WELL


def _upset_at(analyses: Sequence[AnalysisRecorded], when: datetime) -> bool:
    earlier = [a for a in analyses if a.ts <= when]
    return bool(earlier) and _frustration(earlier[-1]) >= UPSET


@dataclass
class Report:
    """The metrics of a set of conversations (`report`)."""

    period: dict[str, str | None]
    numbers: dict[str, Any]
    daily: dict[str, Any] = field(default_factory=dict)  # `charts.daily_series` of the period

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def report(
    facts: Iterable[Facts],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    window: timedelta = RETURN_WINDOW,
) -> Report:
    """Aggregate the facts of the conversations started in [since, until)."""
    every = sorted(facts, key=lambda f: f.started)
    returned = _returned(every, window)
    chosen = [
        f
        for f in every
        if (since is None or f.started >= since) and (until is None or f.started < until)
    ]
    n = len(chosen)
    handed = [f for f in chosen if f.handed_over]
    upset_handed = [f for f in handed if f.time_to_escalate_s is not None]
    numbers: dict[str, Any] = {
        "conversations": n,
        "first_response_s": _spread([f.first_response_s for f in chosen]),
        "queue_wait_s": _spread([f.queue_wait_s for f in chosen]),
        "handling_s": _spread([f.handling_s for f in chosen]),
        "resolution_s": _spread([f.resolution_s for f in chosen]),
        "resolved": sum(f.resolved for f in chosen),
        "first_contact_resolution": _rate(
            sum(f.resolved and not f.reopened and f.id not in returned for f in chosen), n
        ),
        "containment": _rate(
            sum(not f.handed_over and f.ended_well and f.id not in returned for f in chosen), n
        ),
        "escalation_rate": _rate(len(handed), n),
        "escalations_by_reason": dict(Counter(r for f in handed for r in f.reasons).most_common()),
        "time_to_escalate_s": _spread([f.time_to_escalate_s for f in upset_handed]),
        "late_escalations": sum(f.late for f in handed),
        "unnecessary_escalations": sum(f.unnecessary for f in handed),
        "frustration_start": _mean([f.frustration_start for f in chosen]),
        "frustration_end": _mean([f.frustration_end for f in chosen]),
        "surveys": _surveys(chosen),
        "satisfaction_estimated": _mean([f.satisfaction for f in chosen]),
        "satisfaction_agreement": _agreement(chosen),
        "churn_signals": {
            "threats_to_leave": sum(f.churn_threat for f in chosen),
            "repeat_contacts": sum(f.id in returned for f in chosen),
            "sla_breaches": sum(f.sla_breaches for f in chosen),
        },
        "agent_load": _agent_load(chosen),
        "corrections": dict(sum((Counter(f.corrections) for f in chosen), Counter())),
    }
    return Report(
        period={
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
        numbers=numbers,
    )


def _returned(facts: Sequence[Facts], window: timedelta) -> set[str]:
    """Conversations whose customer started another one within `window` after them."""
    by_customer: dict[str, list[Facts]] = defaultdict(list)
    for f in facts:
        if f.customer_id:
            by_customer[f.customer_id].append(f)
    back: set[str] = set()
    for mine in by_customer.values():
        for earlier, later in pairwise(mine):
            if later.started - earlier.started <= window:
                back.add(earlier.id)
    return back


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def _spread(values: Iterable[float | None]) -> dict[str, float | int | None]:
    present = sorted(v for v in values if v is not None)
    if not present:
        return {"count": 0, "median": None, "p90": None}
    p90 = present[min(len(present) - 1, int(0.9 * len(present)))]
    return {"count": len(present), "median": round(statistics.median(present), 1), "p90": p90}


def _surveys(chosen: Sequence[Facts]) -> dict[str, Any]:
    """CSAT, NPS and "felt heard", split by AI-only and human-handled conversations."""
    out: dict[str, Any] = {}
    for name, group in (
        ("ai_only", [f for f in chosen if not f.handed_over]),
        ("human", [f for f in chosen if f.handed_over]),
    ):
        nps = [f.nps for f in group if f.nps is not None]
        heard = [f.felt_heard for f in group if f.felt_heard is not None]
        out[name] = {
            "answers": sum(
                f.csat is not None or f.nps is not None or f.felt_heard is not None for f in group
            ),
            "csat": _mean([f.csat for f in group]),
            "nps": round(100 * (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) / len(nps), 1)
            if nps
            else None,
            "felt_heard": _rate(sum(heard), len(heard)),
        }
    return out


def _agreement(chosen: Sequence[Facts]) -> dict[str, Any]:
    """How the estimate agrees with the CSAT answers where both exist."""
    pairs = [(f.satisfaction, f.csat) for f in chosen if f.csat is not None and f.satisfaction]
    if len(pairs) < 2:
        return {"pairs": len(pairs), "spearman": None, "mean_abs_diff": None}
    from scipy.stats import spearmanr

    estimates, answers = zip(*pairs, strict=True)
    rho = spearmanr(estimates, answers).statistic
    return {
        "pairs": len(pairs),
        "spearman": None if rho != rho else round(float(rho), 3),  # NaN when constant
        "mean_abs_diff": round(statistics.fmean(abs(e - a) for e, a in pairs), 3),
    }


def _agent_load(chosen: Sequence[Facts]) -> dict[str, Any]:
    """Upset conversations assigned per agent: in all, and at most in one clock hour."""
    per_hour: Counter[tuple[str, datetime]] = Counter()
    total: Counter[str] = Counter()
    for f in chosen:
        for agent, at, upset in f.agents:
            if upset:
                total[agent] += 1
                per_hour[(agent, at.replace(minute=0, second=0, microsecond=0))] += 1
    return {
        agent: {
            "upset_conversations": count,
            "most_in_an_hour": max(v for (a, _), v in per_hour.items() if a == agent),
        }
        for agent, count in total.most_common()
    }


def period_report(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    window: timedelta = RETURN_WINDOW,
) -> Report:
    """The report of the conversations started in [since, until), read from the store (and
    those of the following `window`, to see who came back). Each conversation's facts come
    from `conversation_facts` when they are up to date, else from its events."""
    from warmline.analytics.charts import daily_series

    horizon = until + window if until is not None else None
    found = list(stored_facts(session, since=since, until=horizon))
    made = report(found, since=since, until=until, window=window)
    made.daily = daily_series(
        f
        for f in found
        if (since is None or f.started >= since) and (until is None or f.started < until)
    )
    return made


def stored_facts(
    session: Session, *, since: datetime | None, until: datetime | None
) -> Iterator[Facts]:
    """The facts of the conversations created in [since, until): the stored row when it
    covers every event, otherwise computed from the events (a conversation written by a
    process that does not keep facts, or from before they were kept)."""
    from warmline.storage.conversations import conversations_between, facts_rows

    stale: list[str] = []
    for conversation_id, current, record in facts_rows(session, since=since, until=until):
        if record is not None and current:
            yield facts_from_record(record)
        else:
            stale.append(conversation_id)
    for conversation in conversations_between(session, ids=stale):
        if (facts := facts_of(conversation)) is not None:
            yield facts
