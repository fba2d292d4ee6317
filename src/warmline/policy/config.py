"""The policy file's schema: every field, its default and its bounds (docs/policy.md documents
each one; a test checks that). Cross-field rules (routes name a team, no overflow cycles) are
checked in `loader.py`, which also attaches file and line numbers to every error."""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TriggerMode = Literal["immediate", "offer"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Emotion signals that show a very high message score is an upset customer, not only a problem
# being described ("my export fails" scores high too, with only a `problem` signal).
UPSET_EVIDENCE: tuple[str, ...] = (
    "anger",
    "annoyance",
    "disappointment",
    "distress",
    "profanity",
    "sarcasm",
    "churn_threat",
    "capitals",
    "exclamations",
    "question_marks",
    "waiting_complaint",
    "passed_around",
    "repeated_contact",
    "resignation",
    "demand",
)


class Strict(BaseModel):
    """Unknown fields are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TriggerBase(Strict):
    """What every trigger has: whether it runs, how it is honoured, and where it routes."""

    enabled: bool = True
    mode: TriggerMode = "immediate"
    priority: float = Field(default=0.3, ge=0.0, le=1.0)
    route: str | None = None
    senior: bool = False


class EscapeHatchConfig(TriggerBase):
    """The customer asks for a person: always honoured, immediately."""

    priority: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("mode")
    @classmethod
    def _always_immediate(cls, mode: str) -> str:
        if mode != "immediate":
            raise ValueError("the escape hatch is always honoured immediately (mode: immediate)")
        return mode

    @field_validator("enabled")
    @classmethod
    def _always_enabled(cls, enabled: bool) -> bool:
        if not enabled:
            raise ValueError(
                "the escape hatch cannot be disabled: asking for a person always works"
            )
        return enabled


class Condition(Strict):
    """One way a trigger can fire, with its own mode. Each condition class carries the shipped
    defaults, so a file that changes one field of a condition keeps the others."""

    enabled: bool = True
    mode: TriggerMode = "immediate"


class LevelCondition(Condition):
    """The smoothed conversation level at or above `threshold`, once there are `min_turns`
    customer turns (on the first turn the level is just that message's score, which the
    `message` condition judges with evidence)."""

    threshold: float = Field(default=0.9, ge=0.0, le=1.0)
    min_turns: int = Field(default=2, ge=1, le=100)


class ModerateCondition(LevelCondition):
    """A moderately upset conversation: offer a person."""

    mode: TriggerMode = "offer"
    threshold: float = Field(default=0.85, ge=0.0, le=1.0)
    min_turns: int = Field(default=1, ge=1, le=100)


class MessageCondition(Condition):
    """One very upset message, with at least one of `signals` as evidence."""

    threshold: float = Field(default=0.95, ge=0.0, le=1.0)
    signals: list[str] = Field(default_factory=lambda: list(UPSET_EVIDENCE))


class PersistentCondition(Condition):
    """Upset (`threshold`) for `turns` customer turns in a row."""

    threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    turns: int = Field(default=2, ge=1, le=100)
    within: int | None = Field(default=3, ge=1, le=100)

    @model_validator(mode="after")
    def _window_holds_the_turns(self) -> PersistentCondition:
        if self.within is not None and self.within < self.turns:
            raise ValueError(f"within ({self.within}) must be at least turns ({self.turns})")
        return self


class SpikeCondition(Condition):
    """A sudden rise of at least `jump` to an upset message (at least `min_level`)."""

    mode: TriggerMode = "offer"
    jump: float = Field(default=0.4, ge=0.0, le=1.0)
    min_level: float = Field(default=0.8, ge=0.0, le=1.0)


class FrustrationConfig(TriggerBase):
    """Frustration: high, persistent, spiking, or moderate (offered)."""

    priority: float = Field(default=0.4, ge=0.0, le=1.0)
    level: LevelCondition = LevelCondition()
    message: MessageCondition = MessageCondition()
    persistent: PersistentCondition = PersistentCondition()
    spike: SpikeCondition = SpikeCondition()
    moderate: ModerateCondition = ModerateCondition()
    during_action: TriggerMode = "offer"


class ClarificationsCondition(Condition):
    """The bot asked `max` clarifying questions in a row."""

    max: int = Field(default=3, ge=1, le=100)


class IntentReturnsCondition(Condition):
    """The same intent is back after `max` answers."""

    mode: TriggerMode = "offer"
    max: int = Field(default=2, ge=1, le=100)


class RepetitionCondition(Condition):
    """The customer repeats an earlier turn (a conversation signal from understanding)."""

    mode: TriggerMode = "offer"
    signals: list[str] = Field(default_factory=lambda: ["repeated_message"])
    min_strength: float = Field(default=0.5, ge=0.0, le=1.0)


class PushbacksCondition(Condition):
    """The customer said `max` times in this episode that an answer did not help, or pushed
    back when the bot had no answer left that it had not already given."""

    mode: TriggerMode = "offer"
    max: int = Field(default=2, ge=1, le=100)


class ActionQuestionsCondition(Condition):
    """A routine action has asked the customer `max` questions (slots, codes, confirmations)
    and still is not done."""

    mode: TriggerMode = "offer"
    max: int = Field(default=6, ge=1, le=100)


class LoopConfig(TriggerBase):
    """The bot goes round in circles."""

    clarifications: ClarificationsCondition = ClarificationsCondition()
    action_questions: ActionQuestionsCondition = ActionQuestionsCondition()
    intent_returns: IntentReturnsCondition = IntentReturnsCondition()
    repetition: RepetitionCondition = RepetitionCondition()
    pushbacks: PushbacksCondition = PushbacksCondition()
    ignore_intents: list[str] = Field(
        default_factory=lambda: ["greeting", "thanks", "goodbye", "human_agent", "oos"]
    )


class LowConfidenceConfig(TriggerBase):
    """The bot does not know what the customer wants, or has no good answer."""

    priority: float = Field(default=0.2, ge=0.0, le=1.0)
    threshold: float = Field(default=0.70, ge=0.0, le=1.0)
    answer_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    out_of_scope: bool = True
    clarify_first: int = Field(default=1, ge=0, le=10)
    mode: TriggerMode = "offer"


class ValueRule(Strict):
    """One test of a customer attribute; exactly one operator must be given."""

    field: str = Field(pattern=r"^(tier|plan|lifetime_value|attributes\.[A-Za-z0-9_.-]+)$")
    equals: str | float | None = None
    one_of: list[str] | None = Field(default=None, alias="in")
    at_least: float | None = Field(default=None, alias="gte")
    at_most: float | None = Field(default=None, alias="lte")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_operator(self) -> ValueRule:
        given = [
            name
            for name, value in (
                ("equals", self.equals),
                ("in", self.one_of),
                ("gte", self.at_least),
                ("lte", self.at_most),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of equals, in, gte, lte (got {', '.join(given) or 'none'})"
            )
        if self.field in ("tier", "plan") and given[0] in ("gte", "lte"):
            raise ValueError(f"{self.field} is text: use equals or in, not {given[0]}")
        return self


class HighValueConfig(TriggerBase):
    """Customer value: rules over tier, plan, lifetime value or other attributes."""

    mode: TriggerMode = "offer"
    rules: list[ValueRule] = Field(
        default_factory=lambda: [
            ValueRule(field="tier", one_of=["vip", "platinum", "enterprise"]),
            ValueRule(field="lifetime_value", at_least=5000.0),
        ]
    )
    when: Literal["always", "upset", "never"] = "upset"
    upset_at: float = Field(default=0.5, ge=0.0, le=1.0)


class TopicConfig(Strict):
    """One sensitive topic: what marks it, and how it is handled."""

    phrases: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    mode: TriggerMode = "immediate"
    priority: float = Field(default=0.5, ge=0.0, le=1.0)
    route: str | None = None
    senior: bool = False

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"pattern {pattern!r} is not a valid regular expression: {error}"
                ) from None
        return patterns

    @model_validator(mode="after")
    def _has_markers(self) -> TopicConfig:
        if not (self.phrases or self.patterns or self.intents):
            raise ValueError("a topic needs at least one of phrases, patterns or intents")
        return self


# How each shipped sensitive topic is handled; what marks it (phrases and patterns) is in the
# rule pack (understanding/lexicon/sensitive_topics.yaml), with examples checked at load.
_TOPIC_HANDLING: dict[str, dict[str, Any]] = {
    "bereavement": {"mode": "immediate", "priority": 0.6, "route": "care", "senior": True},
    "medical": {"mode": "offer", "priority": 0.4, "route": "care"},
    "fraud_security": {"mode": "immediate", "priority": 0.6, "route": "trust_safety"},
    "legal": {"mode": "immediate", "priority": 0.5, "route": "complaints", "senior": True},
    "vulnerability": {"mode": "immediate", "priority": 0.8, "route": "care", "senior": True},
}


def _default_topics() -> dict[str, TopicConfig]:
    """The shipped sensitive topics: their markers from the rule pack in force, their handling
    from `_TOPIC_HANDLING`."""
    from warmline.understanding.lexicon import active

    markers = active().topic_markers()
    topics: dict[str, TopicConfig] = {}
    for name, handling in _TOPIC_HANDLING.items():
        phrases, patterns = markers.get(name, ([], []))
        if phrases or patterns:
            topics[name] = TopicConfig(phrases=phrases, patterns=patterns, **handling)
    return topics


class SensitiveTopicConfig(TriggerBase):
    """Bereavement, medical, fraud or security, legal threats, vulnerability."""

    priority: float = Field(default=0.5, ge=0.0, le=1.0)
    topics: dict[str, TopicConfig] = Field(default_factory=_default_topics)
    negation_words: int = Field(default=3, ge=0, le=10)


class ActionFailedConfig(TriggerBase):
    """A routine action errored or returned nothing useful."""

    mode: TriggerMode = "offer"
    immediate_after: int = Field(default=2, ge=1, le=20)


class TriggersConfig(Strict):
    """The seven triggers; any of them may be omitted to keep its defaults."""

    escape_hatch: EscapeHatchConfig = EscapeHatchConfig()
    # Built when a policy is, not at import: its default topics come from the rule pack in
    # force, which a business's lexicon file changes.
    sensitive_topic: SensitiveTopicConfig = Field(default_factory=SensitiveTopicConfig)
    frustration: FrustrationConfig = FrustrationConfig()
    loop: LoopConfig = LoopConfig()
    low_confidence: LowConfidenceConfig = LowConfidenceConfig()
    action_failed: ActionFailedConfig = ActionFailedConfig()
    high_value: HighValueConfig = HighValueConfig()


class TeamConfig(Strict):
    """A team of agents, the skills that also qualify an agent for it, and its overflow."""

    skills: list[str] = Field(default_factory=list)
    overflow_to: str | None = None
    overflow_after_seconds: int = Field(default=300, ge=0)


class BurnoutConfig(Strict):
    """No agent gets every angry customer: caps on high-frustration conversations."""

    high_frustration: float = Field(default=0.7, ge=0.0, le=1.0)
    max_in_a_row: int = Field(default=3, ge=1, le=100)
    max_per_hour: int = Field(default=6, ge=1, le=1000)


def _default_intent_routes() -> dict[str, str]:
    return {
        "billing_invoice": "billing",
        "payment_failed": "billing",
        "cancel_subscription": "billing",
        "plan_usage": "billing",
        "order_status": "orders",
        "return_refund": "orders",
        "warranty": "orders",
        "password_reset": "technical",
        "activation": "technical",
        "account_details": "technical",
        "complaint": "complaints",
    }


class RoutingConfig(Strict):
    """Where escalated conversations go and who takes them first."""

    default_team: str = "general"
    intents: dict[str, str] = Field(default_factory=_default_intent_routes)
    senior_at: float = Field(default=0.75, ge=0.0, le=1.0)
    senior_levels: list[str] = Field(default_factory=lambda: ["senior", "lead"])
    senior_wait_seconds: int = Field(default=180, ge=0)
    match_bonus: float = Field(default=0.2, ge=0.0, le=10.0)
    senior_bonus: float = Field(default=0.3, ge=0.0, le=10.0)
    burnout: BurnoutConfig = BurnoutConfig()


class QueueWeights(Strict):
    """How the base queue priority mixes its parts (each part is 0..1)."""

    triggers: float = Field(default=0.5, ge=0.0, le=1.0)
    frustration: float = Field(default=0.3, ge=0.0, le=1.0)
    customer_value: float = Field(default=0.2, ge=0.0, le=1.0)


class QueueConfig(Strict):
    """Queue priority: base priority at handoff, plus waiting time when the queue is read."""

    weights: QueueWeights = QueueWeights()
    lifetime_value_full: float = Field(default=5000.0, gt=0)
    waiting_weight: float = Field(default=0.3, ge=0.0, le=10.0)
    waiting_cap: float = Field(default=2.0, ge=0.0, le=100.0)
    reminder_seconds: int = Field(default=600, ge=0)


class SlaTargets(Strict):
    """First-response and resolution targets, in seconds."""

    first_response_seconds: int = Field(default=600, ge=1)
    resolution_seconds: int = Field(default=86_400, ge=1)


class UrgentSla(SlaTargets):
    """Stricter targets for conversations at or above `min_priority`."""

    min_priority: float = Field(default=0.7, ge=0.0, le=1.0)
    first_response_seconds: int = Field(default=120, ge=1)
    resolution_seconds: int = Field(default=14_400, ge=1)


class SlaConfig(SlaTargets):
    """Service level targets; a breach appends an `sla_breached` event."""

    urgent: UrgentSla = UrgentSla()

    def targets_for(self, priority: float) -> SlaTargets:
        """The targets that apply to a conversation of this base priority."""
        return self.urgent if priority >= self.urgent.min_priority else self


class ClosingConfig(Strict):
    """When the bot closes a conversation it holds: the customer said goodbye after its help,
    or went quiet (minutes since the last message; 0 never closes). Email customers answer
    more slowly than chat ones, so email has its own wait."""

    on_goodbye: bool = True
    idle_minutes: int = Field(default=60, ge=0, le=525_600)
    email_idle_minutes: int = Field(default=4320, ge=0, le=525_600)

    def idle_minutes_for(self, channel: str) -> int:
        """How long a conversation on `channel` may stay quiet before the bot closes it."""
        return self.email_idle_minutes if channel == "email" else self.idle_minutes


class OpeningHours(Strict):
    """Days and opening times (local to `availability.timezone`); `close` may be 24:00."""

    days: list[Day]
    open: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    close: str = Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")

    @model_validator(mode="after")
    def _ordered(self) -> OpeningHours:
        if self.close != "24:00" and time.fromisoformat(self.close) <= time.fromisoformat(
            self.open
        ):
            raise ValueError(f"close ({self.close}) must be after open ({self.open})")
        return self


class AvailabilityConfig(Strict):
    """When people are there to answer, and what the customer is told when nobody is."""

    timezone: str = "UTC"
    hours: list[OpeningHours] = Field(
        default_factory=lambda: [OpeningHours(days=list(DAYS), open="00:00", close="24:00")]
    )
    closed_dates: list[str] = Field(default_factory=list)
    online_timeout_seconds: int = Field(default=900, ge=0)
    minutes_per_conversation: float = Field(default=6.0, ge=0.0)
    reply_by_email: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r} (use an IANA name such as Europe/Madrid)"
            ) from None
        return name

    @field_validator("closed_dates")
    @classmethod
    def _iso_dates(cls, dates: list[str]) -> list[str]:
        for value in dates:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(f"closed date {value!r} is not YYYY-MM-DD")
        return dates


class OffersConfig(Strict):
    """Offering a person instead of handing over at once."""

    max_per_episode: int = Field(default=2, ge=0, le=20)
    accept_patterns: list[str] = Field(default_factory=list)
    decline_patterns: list[str] = Field(default_factory=list)


def _default_teams() -> dict[str, TeamConfig]:
    return {
        "general": TeamConfig(),
        "billing": TeamConfig(skills=["billing", "payments"], overflow_to="general"),
        "orders": TeamConfig(skills=["orders", "delivery"], overflow_to="general"),
        "technical": TeamConfig(skills=["technical"], overflow_to="general"),
        "care": TeamConfig(
            skills=["care", "bereavement", "vulnerability"],
            overflow_to="complaints",
            overflow_after_seconds=120,
        ),
        "trust_safety": TeamConfig(
            skills=["fraud", "security"], overflow_to="general", overflow_after_seconds=120
        ),
        "complaints": TeamConfig(
            skills=["complaints", "legal"], overflow_to="general", overflow_after_seconds=180
        ),
    }


class PolicyConfig(Strict):
    """A whole policy file."""

    version: Literal[1] = 1
    name: str = "default"
    triggers: TriggersConfig = Field(default_factory=TriggersConfig)  # see sensitive_topic
    teams: dict[str, TeamConfig] = Field(default_factory=_default_teams)
    routing: RoutingConfig = RoutingConfig()
    queue: QueueConfig = QueueConfig()
    sla: SlaConfig = SlaConfig()
    closing: ClosingConfig = ClosingConfig()
    availability: AvailabilityConfig = AvailabilityConfig()
    offers: OffersConfig = OffersConfig()
    act_intents: list[str] = Field(default_factory=list)
