"""The warm-handoff packet: what the agent needs to pick up without making the customer repeat.

Built only from the conversation's events (and the customer profile), so it can be rebuilt at
any time, for any past conversation, exactly as the agent would have seen it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.domain.events import (
    ActionStep,
    AgentMessage,
    AnalysisRecorded,
    BotReply,
    CustomerMessage,
    DecisionMade,
    HandedOff,
)
from warmline.handoff.summary import Speaker, summarize_turns
from warmline.redaction import find_email_spans, find_phone_spans, redact
from warmline.understanding.types import UPSET

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_MAX_BULLETS = 7


def build_packet(
    conversation: Conversation,
    *,
    customer: Customer | None = None,
    reasons: list[str] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The handoff packet for `conversation` as it stands now; `history` is the customer's
    other recent conversations (`customer_history`)."""
    analyses = [e.analysis for e in conversation.of_type(AnalysisRecorded)]
    messages = [e.text for e in conversation.of_type(CustomerMessage)]
    decisions = conversation.of_type(DecisionMade)
    reasons = reasons if reasons is not None else _escalation_reasons(decisions)
    steps = tried_steps(conversation)
    packet: dict[str, Any] = {
        "intent": _main_intent(analyses),
        "goal": _goal(messages, analyses),
        "entities": _entities(analyses, messages),
        "actions": _actions(conversation),
        "emotion": _emotional_state(analyses),
        "tried": [redact(step) for step in steps[-_MAX_TRIED:]],
        "reasons": reasons,
        "customer": _profile(customer),
        "history": history or [],
        "turns": len(messages),
    }
    packet["bullets"] = _bullets(packet, conversation)
    packet["suggested_first_line"] = _first_line(packet, customer, _sensitive_topic(decisions))
    return packet


def _sensitive_topic(decisions: list[DecisionMade]) -> str | None:
    """The sensitive topic (bereavement...) the latest decision that named one fired on."""
    for decision in reversed(decisions):
        for reason in decision.reasons:
            if reason.get("trigger") == "sensitive_topic" and reason.get("condition"):
                return str(reason["condition"])
    return None


def tried_steps(conversation: Conversation) -> list[str]:
    """What the bot and any agent already did, each step once ("bot: ...", "agent: ..."),
    in order: a reply said twice was one step tried twice, not two steps."""
    seen: set[str] = set()
    steps: list[str] = []
    for event in conversation.events:
        if not isinstance(event, BotReply | AgentMessage):
            continue
        who = "agent" if isinstance(event, AgentMessage) else "bot"
        key = " ".join(_NON_WORD.sub(" ", event.text.lower()).split())
        if key and key not in seen:
            seen.add(key)
            steps.append(f"{who}: {event.text}")
    return steps


_MAX_TRIED = 8
_NON_WORD = re.compile(r"[^\w]+")


def _main_intent(analyses: list[dict[str, Any]]) -> str | None:
    scores: dict[str, float] = {}
    for analysis in analyses:
        intent = analysis.get("intent") or {}
        name = intent.get("intent")
        if name and not intent.get("out_of_scope") and name not in _SOCIAL:
            scores[name] = scores.get(name, 0.0) + float(intent.get("confidence", 0.0))
    return max(scores, key=lambda k: scores[k]) if scores else None


_SOCIAL = {"greeting", "thanks", "goodbye", "human_agent", "oos"}


def _goal(messages: list[str], analyses: list[dict[str, Any]]) -> str:
    """The customer's own words that best state the problem: the most informative turn."""
    if not messages:
        return ""
    best = max(range(len(messages)), key=lambda i: _informativeness(messages[i], analyses, i))
    return redact(messages[best])[:300]


def _informativeness(text: str, analyses: list[dict[str, Any]], index: int) -> float:
    words = len(text.split())
    confidence = 0.0
    if index < len(analyses):
        intent = analyses[index].get("intent") or {}
        if intent.get("intent") not in _SOCIAL:
            confidence = float(intent.get("confidence", 0.0))
    return min(words, 40) / 40 + confidence


def _entities(analyses: list[dict[str, Any]], messages: list[str]) -> list[dict[str, str]]:
    """Every detail the customer gave, once. Emails and phone numbers come from the messages
    as written (the analysis keeps them masked), because the agent needs them to find the
    account; storage and outputs mask them again unless the deployment keeps contact details."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for analysis in analyses:
        for entity in analysis.get("entities", []):
            if entity["type"] not in {"email", "phone"}:
                key = (entity["type"], entity["value"])
                seen.setdefault(key, {"type": key[0], "value": key[1]})
    for text in messages:
        for kind, spans in (("email", find_email_spans(text)), ("phone", find_phone_spans(text))):
            for span in spans:
                seen.setdefault((kind, span.value), {"type": kind, "value": span.value})
    return list(seen.values())


def _actions(conversation: Conversation) -> list[dict[str, Any]]:
    """Each routine action run as it last stood, with the reply that reported its result."""
    runs: dict[str, dict[str, Any]] = {}
    last: dict[str, Any] | None = None
    for event in conversation.events:
        if isinstance(event, ActionStep):
            slots = {k: v for k, v in event.state.get("slots", {}).items() if v}
            last = {"action": event.action, "status": event.status, "slots": slots}
            runs[event.action] = last
        elif isinstance(event, BotReply) and last is not None and event.kind == "action":
            if last["status"] in {"done", "failed"}:
                last["result"] = redact(event.text)
            last = None
    return list(runs.values())


def _emotional_state(analyses: list[dict[str, Any]]) -> dict[str, Any]:
    levels = [float(a.get("emotion", {}).get("frustration", 0.0)) for a in analyses]
    trajectory = analyses[-1].get("trajectory", {}) if analyses else {}
    if not levels:
        return {"now": 0.0, "start": 0.0, "peak": 0.0, "trend": "none", "levels": []}
    delta = levels[-1] - levels[0]
    trend = "rising" if delta > 0.15 else "falling" if delta < -0.15 else "steady"
    return {
        "now": round(levels[-1], 3),
        "start": round(levels[0], 3),
        "peak": round(max(levels), 3),
        "trend": trend,
        "upset": levels[-1] >= UPSET or float(trajectory.get("level", 0.0)) >= UPSET,
        "levels": [round(level, 3) for level in levels],
    }


def _escalation_reasons(decisions: list[DecisionMade]) -> list[str]:
    for decision in reversed(decisions):
        if decision.action == "escalate":
            return [str(r.get("detail") or r.get("trigger")) for r in decision.reasons]
    return []


def _profile(customer: Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {
        "id": customer.id,
        "name": customer.name,
        "tier": customer.tier,
        "plan": customer.plan,
        "lifetime_value": customer.lifetime_value,
    }


def _bullets(packet: dict[str, Any], conversation: Conversation) -> list[str]:
    """The summary a colleague would write: the problem, what was tried and what it returned,
    where things stand. Plain sentences, personal data redacted."""
    turns: list[tuple[Speaker, str]] = [
        ("customer" if isinstance(e, CustomerMessage) else "agent", e.text)
        for e in conversation.events
        if isinstance(e, CustomerMessage | AgentMessage)
    ]
    summary = summarize_turns(turns)
    bullets = summary[:1]
    bullets += [_action_sentence(run) for run in packet["actions"]]
    if not packet["actions"]:
        bullets += _answer_sentences(conversation)
    bullets += summary[1:]
    emotion = packet["emotion"]
    if emotion.get("upset"):
        course = {"rising": ", more so as it went on", "falling": ", though calmer now"}
        bullets.append(f"Customer is upset{course.get(emotion['trend'], '')}.")
    if packet["reasons"]:
        bullets.append("Handed over because " + "; ".join(packet["reasons"]) + ".")
    return [redact(bullet) for bullet in bullets[:_MAX_BULLETS]]


def _action_sentence(run: dict[str, Any]) -> str:
    name = run["action"].replace("_", " ")
    given = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in run["slots"].items())
    about = f" ({given})" if given else ""
    result = _first_sentence(run.get("result", ""))
    if run["status"] == "done":
        return f'The bot did "{name}"{about} and told the customer: "{result}"'
    if run["status"] == "failed":
        return f'The bot tried "{name}"{about} and it failed: "{result}"'
    if run["status"] == "cancelled":
        return f'The bot started "{name}"{about} and the customer cancelled it.'
    return f'The bot started "{name}"{about} and is waiting for the customer.'


def _answer_sentences(conversation: Conversation) -> list[str]:
    """Knowledge-base answers the bot gave, each once."""
    answers = [
        e for e in conversation.of_type(BotReply) if e.kind == "answer" and e.answer is not None
    ]
    said = list(dict.fromkeys(_first_sentence(e.text) for e in answers))
    return [f'The bot answered: "{text}"' for text in said[-2:]]


def _first_sentence(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return first if len(first) <= 200 else first[:197] + "..."


# An agent's first words for a sensitive topic: "sorry for the trouble" is wrong for a death
# in the family. `{name}` is " Ana" or empty.
_TOPIC_FIRST_LINES = {
    "bereavement": "Hi{name}, I'm so sorry for your loss. I've read the conversation, so you "
    "won't need to repeat anything, and I'll take care of this for you.",
    "medical": "Hi{name}, I'm sorry you're going through this. I've read the conversation, so "
    "you won't need to repeat anything, and I'll help you from here.",
    "fraud_security": "Hi{name}, thank you for telling us. I've read the conversation; let's "
    "make your account safe first, then look at what happened.",
    "legal": "Hi{name}, I've read the conversation and I'll make sure this is handled "
    "properly. I'll take it from here.",
    "vulnerability": "Hi{name}, thank you for telling us. I've read the conversation and I'm "
    "here to help; we can take this at your pace.",
}


def _first_line(packet: dict[str, Any], customer: Customer | None, topic: str | None) -> str:
    name = f" {customer.name.split()[0]}" if customer and customer.name else ""
    if topic in _TOPIC_FIRST_LINES:
        return _TOPIC_FIRST_LINES[topic].format(name=name)
    subject = (packet["intent"] or "request").replace("_", " ")
    detail = next(
        (f" ({e['type'].replace('_', ' ')} {e['value']})" for e in packet["entities"]), ""
    )
    if packet["emotion"].get("upset"):
        return (
            f"Hi{name}, I'm sorry for the trouble and for the wait. I have your {subject}{detail} "
            "open and I've read the conversation, so you won't need to repeat anything. "
            "Let's fix it."
        )
    return (
        f"Hi{name}, I've read the conversation and I have your {subject}{detail} open. "
        "Let's sort it out."
    )


HISTORY_LIMIT = 5


def customer_history(
    session: Session, *, customer_id: str, exclude: str, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    """The customer's most recent other conversations, on any channel: when, where, how it
    ended and what it was about (the first line of its handoff summary, else its first
    message), so the agent sees a repeat contact at once."""
    from warmline.customers.service import outcome
    from warmline.storage import conversations as store

    found = []
    for row in store.recent_for_customer(
        session, customer_id=customer_id, exclude=exclude, limit=limit
    ):
        conversation = store.load_conversation(session, conversation_id=row.id)
        if conversation is None:
            continue
        handoffs = conversation.of_type(HandedOff)
        bullets = handoffs[-1].packet.get("bullets", []) if handoffs else []
        first = next(iter(conversation.of_type(CustomerMessage)), None)
        about = bullets[0] if bullets else redact(first.text)[:200] if first else ""
        found.append(
            {
                "id": row.id,
                "channel": row.channel,
                "started": row.created_at.isoformat(),
                "status": row.status,
                "handed_over": bool(handoffs),
                "intent": conversation.last_intent,
                "outcome": outcome(row.status, bool(handoffs)),
                "about": about,
            }
        )
    return found
