"""Building policy inputs the way the engine does, without the models: analyses are written
out explicitly, and a conversation grows by the same events the pipeline appends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer, Identity
from warmline.domain.events import (
    AnalysisRecorded,
    AnyEvent,
    BotReply,
    CustomerMessage,
    HandedOff,
)
from warmline.engine import decision_event
from warmline.policy.context import ActionResult, PolicyContext
from warmline.policy.decision import Decision
from warmline.policy.policy import Policy
from warmline.understanding.serialize import analysis_to_dict
from warmline.understanding.types import (
    Analysis,
    EmotionReading,
    IntentPrediction,
    Signal,
    Trajectory,
)

T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday


def make_analysis(
    text: str = "where is my order?",
    *,
    intent: str = "order_status",
    confidence: float = 0.92,
    out_of_scope: bool = False,
    frustration: float = 0.0,
    signals: tuple[str, ...] = (),
    conversation_signals: tuple[Signal, ...] = (),
    human_request: str | None = None,
    trajectory: Trajectory | None = None,
) -> Analysis:
    """An analysis with the given scores (trajectory: a single turn unless given)."""
    return Analysis(
        text=text,
        intent=IntentPrediction(intent, confidence, out_of_scope, (("billing_invoice", 0.05),)),
        emotion=EmotionReading(
            frustration=frustration, signals=tuple(Signal(name, name) for name in signals)
        ),
        trajectory=trajectory
        or Trajectory(
            turns=1,
            level=frustration,
            maximum=frustration,
            consecutive_upset=int(frustration >= 0.5),
            last=frustration,
        ),
        conversation_signals=conversation_signals,
        human_request=human_request,
    )


def next_trajectory(previous: Trajectory, value: float) -> Trajectory:
    """The smoothed trajectory after one more turn (level = 0.5 * new + 0.5 * old)."""
    if previous.turns == 0:
        return Trajectory(1, value, 0.0, value, int(value >= 0.5), 0.0, value)
    level = 0.5 * value + 0.5 * previous.level
    return Trajectory(
        turns=previous.turns + 1,
        level=round(level, 4),
        trend=round(level - previous.level, 4),
        maximum=max(previous.maximum, value),
        consecutive_upset=previous.consecutive_upset + 1 if value >= 0.5 else 0,
        spike=max(0.0, value - previous.last),
        last=value,
    )


VIP = Customer(
    id="c-vip",
    name="Ana García",
    tier="vip",
    lifetime_value=5200.0,
    identities=[Identity("email", "ana@example.com")],
)
REGULAR = Customer(id="c-reg", name="Ben", tier="standard", lifetime_value=240.0)


@dataclass
class Chat:
    """A conversation driven turn by turn through a policy, appending the engine's events."""

    policy: Policy = field(default_factory=Policy)
    customer: Customer | None = None
    conversation: Conversation = field(default_factory=lambda: Conversation(id="c1"))
    trajectory: Trajectory = field(default_factory=Trajectory)
    clock: datetime = T0
    decisions: list[Decision] = field(default_factory=list)

    def say(
        self,
        text: str,
        *,
        frustration: float = 0.0,
        action_result: ActionResult | None = None,
        answer_confidence: float | None = None,
        **kwargs: Any,
    ) -> Decision:
        """One customer turn: analysis, decision, and the events the engine would store."""
        self.clock += timedelta(minutes=1)
        self.trajectory = next_trajectory(self.trajectory, frustration)
        analysis = make_analysis(
            text, frustration=frustration, trajectory=self.trajectory, **kwargs
        )
        self.add(
            CustomerMessage(text=text, ts=self.clock),
            AnalysisRecorded(analysis=analysis_to_dict(analysis), ts=self.clock),
        )
        decision = self.policy.decide(
            PolicyContext(
                conversation=self.conversation,
                analysis=analysis,
                customer=self.customer,
                answer_confidence=answer_confidence,
                action_result=action_result,
            )
        )
        self.add(decision_event(decision, self.clock))
        if decision.escalates:
            self.add(
                HandedOff(
                    reasons=decision.reason_names,
                    priority=decision.priority,
                    route=decision.route,
                    ts=self.clock,
                )
            )
        elif decision.action.value != "stay_quiet":
            self.add(BotReply(text="...", kind=decision.action.value, ts=self.clock))
        self.decisions.append(decision)
        return decision

    def add(self, *events: AnyEvent) -> None:
        """Append events as the store would."""
        for event in events:
            self.conversation.apply(event)


@dataclass
class ScriptedAnalyzer:
    """A stand-in for the models: each text's scores come from `script` (default: a calm,
    confident order question); the trajectory is carried in the state like the real tracker's."""

    script: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: int = 0

    def analyze(
        self, text: str, *, state: dict[str, Any], ts: datetime | None = None
    ) -> tuple[Analysis, dict[str, Any]]:
        self.calls += 1
        kwargs = dict(self.script.get(text, {}))
        previous = Trajectory(**state["trajectory"]) if state.get("trajectory") else Trajectory()
        trajectory = next_trajectory(previous, float(kwargs.get("frustration", 0.0)))
        analysis = make_analysis(text, trajectory=trajectory, **kwargs)
        return analysis, {"trajectory": trajectory.__dict__}
