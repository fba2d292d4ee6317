"""The warm-handoff packet: what the agent needs to pick up without making the customer repeat.

Built only from the conversation's events (and the customer profile), so it can be rebuilt at
any time, for any past conversation, exactly as the agent would have seen it.
"""

from __future__ import annotations

from typing import Any

from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.domain.events import (
    AgentMessage,
    AnalysisRecorded,
    BotReply,
    CustomerMessage,
    DecisionMade,
)
from warmline.redaction import redact

_UPSET = 0.5
_MAX_BULLETS = 6


def build_packet(
    conversation: Conversation,
    *,
    customer: Customer | None = None,
    reasons: list[str] | None = None,
) -> dict[str, Any]:
    """The handoff packet for `conversation` as it stands now."""
    analyses = [e.analysis for e in conversation.of_type(AnalysisRecorded)]
    messages = [e.text for e in conversation.of_type(CustomerMessage)]
    decisions = conversation.of_type(DecisionMade)
    reasons = reasons if reasons is not None else _escalation_reasons(decisions)
    intent = _main_intent(analyses)
    entities = _entities(analyses)
    emotion = _emotional_state(analyses)
    tried = [
        f"{'agent' if isinstance(e, AgentMessage) else 'bot'}: {e.text}"
        for e in conversation.events
        if isinstance(e, BotReply | AgentMessage)
    ]
    packet: dict[str, Any] = {
        "intent": intent,
        "goal": _goal(messages, analyses),
        "entities": entities,
        "emotion": emotion,
        "tried": [redact(text) for text in tried[-5:]],
        "reasons": reasons,
        "customer": _profile(customer),
        "turns": len(messages),
    }
    packet["bullets"] = _bullets(packet, messages)
    packet["suggested_first_line"] = _first_line(packet, customer)
    return packet


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


def _entities(analyses: list[dict[str, Any]]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for analysis in analyses:
        for entity in analysis.get("entities", []):
            key = (entity["type"], entity["value"])
            if entity["type"] not in {"email", "phone"}:
                seen.setdefault(key, {"type": key[0], "value": key[1]})
    return list(seen.values())


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
        "upset": levels[-1] >= _UPSET or float(trajectory.get("level", 0.0)) >= _UPSET,
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


def _bullets(packet: dict[str, Any], messages: list[str]) -> list[str]:
    bullets: list[str] = []
    if packet["intent"]:
        bullets.append(f"Wants help with {packet['intent'].replace('_', ' ')}.")
    if packet["goal"]:
        bullets.append(f'In their words: "{packet["goal"]}"')
    if packet["entities"]:
        listed = ", ".join(
            f"{e['type'].replace('_', ' ')} {e['value']}" for e in packet["entities"]
        )
        bullets.append(f"Details given: {listed}.")
    if packet["tried"]:
        bullets.append(f"Last reply so far ({packet['tried'][-1][:160]})")
    emotion = packet["emotion"]
    if emotion.get("upset"):
        bullets.append(f"Customer is upset (frustration {emotion['now']:.2f}, {emotion['trend']}).")
    if packet["reasons"]:
        bullets.append("Escalated because: " + "; ".join(packet["reasons"]) + ".")
    return bullets[:_MAX_BULLETS]


def _first_line(packet: dict[str, Any], customer: Customer | None) -> str:
    name = f" {customer.name.split()[0]}" if customer and customer.name else ""
    topic = (packet["intent"] or "request").replace("_", " ")
    detail = next(
        (f" ({e['type'].replace('_', ' ')} {e['value']})" for e in packet["entities"]), ""
    )
    if packet["emotion"].get("upset"):
        return (
            f"Hi{name}, I'm sorry for the trouble and for the wait. I have your {topic}{detail} "
            "open and I've read the conversation, so you won't need to repeat anything. "
            "Let's fix it."
        )
    return (
        f"Hi{name}, I've read the conversation and I have your {topic}{detail} open. "
        "Let's sort it out."
    )
