"""Turns a decision into the words the customer reads: acknowledge first, then help, and
always leave a visible way to reach a person."""

from __future__ import annotations

from dataclasses import dataclass, field

from warmline.automation.answers import AnswerBook
from warmline.policy.decision import Action, Decision
from warmline.understanding.types import Analysis

PERSON_HINT = "You can ask for a person at any time."
_ACKNOWLEDGEMENTS = (
    "I'm sorry this has been frustrating.",
    "I understand this is annoying, and I want to get it sorted.",
    "I hear you, and I'm sorry for the trouble.",
)
_UPSET = 0.5


@dataclass
class ReplyComposer:
    """Composes bot replies and handoff notices."""

    answers: AnswerBook = field(default_factory=AnswerBook.load)

    def compose(
        self, decision: Decision, analysis: Analysis, *, turn: int, last_reply: str | None = None
    ) -> str | None:
        """The reply for this decision, or None when the bot should stay quiet."""
        if decision.action is Action.STAY_QUIET:
            return None
        if decision.action is Action.ESCALATE:
            return self.handoff_notice(analysis)
        if decision.action is Action.OFFER_HANDOFF:
            body = "Would you like me to connect you with a member of the team?"
        elif decision.action is Action.CLARIFY:
            body = self._clarifying_question(analysis)
        else:
            body = self.answers.reply_for(decision.intent or "", turn) or self._clarifying_question(
                analysis
            )
        reply = f"{self._acknowledgement(analysis, turn, last_reply)}{body}"
        return reply if "person" in reply else f"{reply} {PERSON_HINT}"

    def handoff_notice(self, analysis: Analysis) -> str:
        """What the customer reads when the conversation goes to a person."""
        sorry = "I'm sorry for the trouble. " if analysis.emotion.frustration >= _UPSET else ""
        return (
            f"{sorry}I'm passing you to a member of the team now, with everything you've told "
            "me, so you won't need to repeat yourself."
        )

    def _clarifying_question(self, analysis: Analysis) -> str:
        options = [analysis.intent.intent, *(name for name, _ in analysis.intent.alternatives)]
        labels = [_label(o) for o in options if o and o != "oos"][:2]
        if len(labels) == 2 and not analysis.intent.out_of_scope:
            return (
                "Just to be sure I help with the right thing: "
                f"is it about {labels[0]} or {labels[1]}?"
            )
        return "I'm not sure I understood. Could you tell me a little more about what you need?"

    def _acknowledgement(self, analysis: Analysis, turn: int, last_reply: str | None) -> str:
        if analysis.emotion.frustration < _UPSET:
            return ""
        for offset in range(len(_ACKNOWLEDGEMENTS)):
            phrase = _ACKNOWLEDGEMENTS[(turn + offset) % len(_ACKNOWLEDGEMENTS)]
            if not last_reply or phrase not in last_reply:
                return phrase + " "
        return ""


def _label(intent: str) -> str:
    return intent.replace("_", " ")
