"""Frustration: high, persistent or spiking frustration hands over; moderate frustration offers
a person. The numbers behind it go into the reason (`frustration 0.82 >= 0.75`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from warmline.policy.config import FrustrationConfig
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.history import frustration_by_turn, turns_at_or_above
from warmline.policy.triggers.base import Trigger, fired


@dataclass(frozen=True)
class _Hit:
    condition: str
    mode: Mode
    detail: str


@dataclass
class Frustration(Trigger):
    """Five conditions, each with its own mode; the reason lists every one that held."""

    config: FrustrationConfig = field(default_factory=FrustrationConfig)
    name: str = "frustration"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        analysis = context.analysis
        message = analysis.emotion.frustration
        level = analysis.trajectory.level
        history = frustration_by_turn(context.conversation) or [
            analysis.trajectory.last if analysis.trajectory.turns else message
        ]
        hits = [
            hit
            for hit in (
                self._level(level, analysis.trajectory.turns),
                self._message(message, {s.name for s in analysis.emotion.signals}),
                self._persistent(history),
                self._spike(history),
                self._moderate(level, analysis.trajectory.turns),
            )
            if hit is not None
        ]
        if not hits:
            return None
        immediate = [hit for hit in hits if hit.mode is Mode.IMMEDIATE]
        shown = immediate or hits
        if immediate and context.action is not None and self.config.during_action == "offer":
            # The customer is getting what they asked for: a person is offered, and the
            # action's own failures and loops (action_failed, loop) still hand over.
            immediate = []
            shown = [*shown[:-1], replace(shown[-1], detail=f"{shown[-1].detail} (during action)")]
        numbers = {"level": round(level, 4), "message": round(message, 4)}
        numbers["upset_turns"] = float(turns_at_or_above(history, self.config.persistent.threshold))
        return fired(
            self.name,
            self.config,
            "; ".join(hit.detail for hit in shown),
            mode=Mode.IMMEDIATE if immediate else Mode.OFFER,
            numbers=numbers,
            condition=",".join(hit.condition for hit in shown),
        )

    def _level(self, level: float, turns: int) -> _Hit | None:
        condition = self.config.level
        if not condition.enabled or level < condition.threshold or turns < condition.min_turns:
            return None
        return _Hit(
            "level",
            Mode(condition.mode),
            f"frustration {level:.2f} >= {condition.threshold:.2f} (conversation level)",
        )

    def _message(self, message: float, signals: set[str]) -> _Hit | None:
        condition = self.config.message
        if not condition.enabled or message < condition.threshold:
            return None
        evidence = sorted(signals.intersection(condition.signals))
        if condition.signals and not evidence:
            return None
        shown = f" with {', '.join(evidence)}" if evidence else ""
        return _Hit(
            "message",
            Mode(condition.mode),
            f"message frustration {message:.2f} >= {condition.threshold:.2f}{shown}",
        )

    def _persistent(self, history: list[float]) -> _Hit | None:
        """Upset in `turns` of the last `within` turns (in a row when `within` is unset), the
        latest one included."""
        condition = self.config.persistent
        if not condition.enabled or not history or history[-1] < condition.threshold:
            return None
        in_a_row = turns_at_or_above(history, condition.threshold)
        if in_a_row >= condition.turns:
            recent = history[-in_a_row:]
            return _Hit(
                "persistent",
                Mode(condition.mode),
                f"frustration {min(recent):.2f} >= {condition.threshold:.2f} for {in_a_row} turns",
            )
        if condition.within is None:
            return None
        window = history[-condition.within :]
        upset = sum(1 for score in window if score >= condition.threshold)
        if upset < condition.turns:
            return None
        return _Hit(
            "persistent",
            Mode(condition.mode),
            f"frustration >= {condition.threshold:.2f} in {upset} of the last {len(window)} "
            f"turns ({', '.join(f'{score:.2f}' for score in window)})",
        )

    def _spike(self, history: list[float]) -> _Hit | None:
        condition = self.config.spike
        if not condition.enabled or len(history) < 2:
            return None
        now, before = history[-1], history[-2]
        jump = now - before
        if jump < condition.jump or now < condition.min_level:
            return None
        return _Hit(
            "spike",
            Mode(condition.mode),
            f"frustration spiked {before:.2f} -> {now:.2f} (+{jump:.2f} >= {condition.jump:.2f})",
        )

    def _moderate(self, level: float, turns: int) -> _Hit | None:
        condition = self.config.moderate
        if not condition.enabled or level < condition.threshold or turns < condition.min_turns:
            return None
        return _Hit(
            "moderate",
            Mode(condition.mode),
            f"frustration {level:.2f} >= {condition.threshold:.2f} (moderate)",
        )
