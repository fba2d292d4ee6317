"""The policy: run every trigger, then turn what fired into one decision with its reasons.

Combination rules (docs/policy.md, "How a decision is made"):
1. While a person owns the conversation (queued or assigned) the bot stays quiet.
2. If the bot offered a person on the previous turn, "yes" escalates (`offer_accepted`) and
   anything else counts as a no (`offer_declined`, a note).
3. Any immediate reason escalates. Otherwise an offer reason offers a person, unless that
   trigger was already offered in this episode or the episode's offers are used up (the reason
   stays, as a note). Otherwise a clarify reason asks a clarifying question. Otherwise the bot
   answers (or acts, for `act_intents`).
4. The priority mixes the driving reasons' priorities, the frustration and the customer's
   value; the route is the highest-priority driving reason's team, else the intent's team,
   else the default team; a senior agent is asked for when a reason says so or frustration
   reaches `routing.senior_at`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from warmline.domain.customer import Customer
from warmline.domain.events import DecisionMade
from warmline.policy.config import PolicyConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Action, Decision, Mode, Reason
from warmline.policy.history import OfferState, offer_state
from warmline.policy.loader import DEFAULT_POLICY_FILE, default_config, load_config
from warmline.policy.offer import classify_offer_reply
from warmline.policy.triggers import Trigger, build_triggers
from warmline.policy.triggers.high_value import matching_rules


@dataclass
class Policy:
    """Ordered triggers built from a validated `PolicyConfig`, and the rules that combine
    what fired into one `Decision`. Pure: it never acts or reads a database."""

    config: PolicyConfig = field(default_factory=default_config)
    triggers: Sequence[Trigger] = ()
    source: str = str(DEFAULT_POLICY_FILE)
    label: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if not self.triggers:
            self.triggers = build_triggers(self.config.triggers)
        digest = hashlib.sha256(self.config.model_dump_json().encode("utf-8")).hexdigest()
        self.label = f"{self.config.name}@{digest[:8]}"

    @classmethod
    def from_stored(cls, config: str, source: str) -> Policy:
        """A policy from its stored configuration (JSON, validated when it was recorded)."""
        return cls(config=PolicyConfig.model_validate_json(config), source=source)

    @classmethod
    def from_yaml(cls, path: Path | str, intents: Collection[str] | None = None) -> Policy:
        """Load and validate a policy file; raises `PolicyError` naming file, line and field.
        With `intents`, every intent the file names must be one the model knows."""
        return cls(config=load_config(path, intents), source=str(path))

    def decide(self, context: PolicyContext) -> Decision:
        """Decide what to do with the latest customer message in `context`."""
        intent = context.analysis.intent.intent
        if context.conversation.with_human:
            quiet = Reason("with_human", "a person owns this conversation", Mode.NOTE)
            return Decision(Action.STAY_QUIET, (quiet,), intent=intent, policy=self.label)
        fired = [reason for t in self.triggers if (reason := t.evaluate(context)) is not None]
        offers = offer_state(context.conversation)
        answer = (
            [self._offer_answer(offers.pending, context.analysis.text)]
            if offers.pending is not None
            else []
        )
        fired, suppressed = self._limit_offers(fired, offers)
        return self._combine([*answer, *fired], [*answer, *suppressed], context)

    def _offer_answer(self, pending: DecisionMade, text: str) -> Reason:
        reply = classify_offer_reply(
            text,
            accept_patterns=self.config.offers.accept_patterns,
            decline_patterns=self.config.offers.decline_patterns,
        )
        offered = [r for r in pending.reasons if r.get("mode") == "offer"]
        names = ", ".join(dict.fromkeys(str(r.get("trigger")) for r in offered)) or "offer"
        if reply == "accept":
            return Reason(
                trigger="offer_accepted",
                detail=f'customer accepted the offer of a person ({names}): "{text.strip()[:60]}"',
                mode=Mode.IMMEDIATE,
                priority=min(1.0, sum(float(r.get("priority", 0.0)) for r in offered)),
                route=pending.route,
                numbers={"offered_priority": pending.priority},
                senior=pending.senior,
            )
        how = "declined" if reply == "decline" else "moved on without taking"
        return Reason(
            "offer_declined", f"customer {how} the offer of a person ({names})", Mode.NOTE
        )

    def _limit_offers(
        self, fired: list[Reason], offers: OfferState
    ) -> tuple[list[Reason], list[Reason]]:
        """An offer is made once per trigger per episode, and at most `max_per_episode` times;
        a held-back offer stays as a note saying why (returned separately too)."""
        exhausted = offers.made >= self.config.offers.max_per_episode
        limited: list[Reason] = []
        suppressed: list[Reason] = []
        for reason in fired:
            if reason.mode is Mode.OFFER and (exhausted or reason.trigger in offers.offered):
                why = "offers used up" if exhausted else "already offered"
                reason = replace(reason, mode=Mode.NOTE, detail=f"{reason.detail} ({why})")
                suppressed.append(reason)
            limited.append(reason)
        return limited, suppressed

    def _combine(self, fired: list[Reason], kept: list[Reason], context: PolicyContext) -> Decision:
        """`kept` are notes shown even when the bot simply answers (the customer's answer to an
        offer, offers held back)."""
        intent = context.analysis.intent
        for mode, action in (
            (Mode.IMMEDIATE, Action.ESCALATE),
            (Mode.OFFER, Action.OFFER_HANDOFF),
        ):
            drivers = [r for r in fired if r.mode is mode]
            if drivers:
                others = [r for r in fired if r.mode is not mode]
                return self._handover(action, drivers, others, context)
        notes = tuple(kept)
        clarify = tuple(r for r in fired if r.mode is Mode.CLARIFY)
        if clarify:
            return Decision(
                Action.CLARIFY, clarify + notes, intent=intent.intent, policy=self.label
            )
        act = context.action is not None or (
            intent.intent in self.config.act_intents and not intent.out_of_scope
        )
        return Decision(
            Action.ACT if act else Action.ANSWER, notes, intent=intent.intent, policy=self.label
        )

    def _handover(
        self,
        action: Action,
        drivers: list[Reason],
        others: list[Reason],
        context: PolicyContext,
    ) -> Decision:
        analysis = context.analysis
        frustration = max(analysis.trajectory.level, analysis.emotion.frustration)
        weights = self.config.queue.weights
        priority = (
            weights.triggers * min(1.0, sum(r.priority for r in drivers))
            + weights.frustration * frustration
            + weights.customer_value * self.customer_value(context.customer)
        )
        senior = any(r.senior for r in drivers) or frustration >= self.config.routing.senior_at
        return Decision(
            action,
            (*drivers, *others),
            priority=round(min(1.0, max(0.0, priority)), 4),
            route=self._route(drivers, analysis.intent.intent, analysis.intent.out_of_scope),
            intent=analysis.intent.intent,
            senior=senior,
            frustration=round(frustration, 4),
            policy=self.label,
        )

    def _route(self, drivers: list[Reason], intent: str, out_of_scope: bool) -> str:
        routed = sorted((r for r in drivers if r.route), key=lambda r: -r.priority)
        if routed and routed[0].route:
            return routed[0].route
        routing = self.config.routing
        if not out_of_scope and intent in routing.intents:
            return routing.intents[intent]
        return routing.default_team

    def customer_value(self, customer: Customer | None) -> float:
        """0..1: lifetime value against `queue.lifetime_value_full`, or 1 for a customer who
        passes a `high_value` rule."""
        if customer is None:
            return 0.0
        if matching_rules(self.config.triggers.high_value, customer):
            return 1.0
        return min(1.0, max(0.0, customer.lifetime_value / self.config.queue.lifetime_value_full))


def load_policy(path: Path | str | None = None, intents: Collection[str] | None = None) -> Policy:
    """The policy in `path`, or the shipped default; raises `PolicyError` when invalid (with
    `intents`, also when it names an intent the model does not know)."""
    return Policy() if path is None else Policy.from_yaml(path, intents)
