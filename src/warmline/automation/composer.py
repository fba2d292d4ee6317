"""Turns a decision into the words the customer reads, from editable templates
(`phrasing.py`): acknowledge a feeling before the solution (only when there is one, never the
same phrase twice in a conversation, no apology two replies in a row), answer from the knowledge
base quoting the section and naming its source, take a push-back as a cue for the next-best
answer, never repeat a reply, never ask for what the customer already gave, and always leave a
visible way to reach a person. Short for chat; a greeting and a sign-off for email."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from warmline.automation.knowledge.answering import KnowledgeAnswer
from warmline.automation.phrasing import Phrasing
from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.domain.events import BotReply
from warmline.domain.knowledge import Section
from warmline.handoff.availability import QueuePlan
from warmline.policy.decision import Action, Decision
from warmline.understanding.types import UPSET, Analysis

CONFIDENT = 0.5  # an answer this likely to help is worth giving beside an offer of a person
PLAUSIBLE = 0.2  # below this the closest articles are not worth naming in a question
SMALL_TALK = frozenset({"greeting", "thanks", "goodbye", "complaint", "human_agent"})
# Entities named before an answer about them, and the word that answer speaks of.
_RECAPPED = {"order_number": "order", "invoice_number": "invoice"}
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Composed:
    """A reply, what kind it is, and the knowledge-base section it quotes (if any)."""

    text: str
    kind: str
    answer: str | None = None


@dataclass
class ReplyComposer:
    """Composes bot replies, handoff notices and queue reminders."""

    phrasing: Phrasing = field(default_factory=Phrasing.load)

    def compose(
        self,
        decision: Decision,
        analysis: Analysis,
        *,
        conversation: Conversation,
        knowledge: KnowledgeAnswer | None = None,
        channel: str = "web",
        customer: Customer | None = None,
        then: str = "",
    ) -> Composed | None:
        """The reply for this decision, or None when the bot should stay quiet.
        `conversation` holds everything said so far (the current message included); `then`
        is what the bot offers to do after an answer, in place of the usual next step."""
        if decision.action is Action.STAY_QUIET:
            return None
        said = _bot_replies(conversation)
        acknowledgement = self._acknowledgement(analysis, said)
        pushed = bool(analysis.pushback) and bool(said)  # a push-back answers an earlier reply
        sorry = self._sorry(said, "sorry" in acknowledgement.lower()) if pushed else ""
        body, kind, answer = self._body(decision, analysis, knowledge, said, pushed=pushed)
        parts = {
            "acknowledgement": acknowledgement,
            "pushback": sorry,
            "recap": self._recap(analysis, knowledge) if answer else "",
            "body": body,
            "next_step": (then or self._next_step(said)) if kind == "answer" else "",
            "person_hint": self._person_hint(analysis, body, kind),
        }
        text = self._shape(parts, channel, customer)
        if not _repeats(text, said):
            return Composed(text, kind, answer)
        # Never the same reply twice: a way to a person instead (a question only if the policy
        # offered one), worded differently from every earlier reply; quiet if all were used.
        offering = decision.action is Action.OFFER_HANDOFF
        kind = "offer_handoff" if offering else "no_answer"
        for way in self.phrasing.choices("offer" if offering else "person_way"):
            parts.update(body=way, next_step="", recap="", person_hint="")
            text = self._shape(parts, channel, customer)
            if not _repeats(text, said):
                return Composed(text, kind, None)
        return None

    def other_answer(self, section: Section) -> str:
        """The help centre's answer to a question asked beside a request the bot acts on."""
        quoted = self.phrasing.render("answer.j2", section=section)
        return f"{self.phrasing.phrase('other_question')} {quoted}"

    def handoff_notice(self, plan: QueuePlan, *, upset: bool, topic: str | None = None) -> str:
        """What the customer reads when the conversation goes to a person; a sensitive `topic`
        (bereavement...) opens with its own words rather than an apology for the trouble."""
        when = (
            f"at {plan.next_open.strftime('%H:%M on %A, %d %B')} ({plan.next_open.tzname()})"
            if plan.next_open
            else None
        )
        return self.phrasing.render(
            "handoff.j2",
            opening=self.phrasing.phrase("sensitive", topic)
            if topic and self.phrasing.has("sensitive", topic)
            else "",
            upset=upset,
            situation=plan.situation,
            when=when,
            by_email=plan.by_email,
            wait_minutes=plan.expected_wait_minutes,
        )

    def survey(self, questions: Sequence[str], channel: str) -> str:
        """The survey sent on the conversation's channel when it is resolved."""
        return self.phrasing.render("survey.j2", questions=list(questions), channel=channel)

    def reminder(self) -> str:
        """Sent (at most every `queue.reminder_seconds`) when a queued customer writes again."""
        return self.phrasing.render("reminder.j2")

    # -- the parts ------------------------------------------------------------------------------

    def _body(
        self,
        decision: Decision,
        analysis: Analysis,
        knowledge: KnowledgeAnswer | None,
        said: list[str],
        *,
        pushed: bool,
    ) -> tuple[str, str, str | None]:
        hit = knowledge.first if knowledge else None
        if decision.action is Action.ESCALATE:
            return "", "handoff_notice", None
        if decision.action is Action.OFFER_HANDOFF:
            if hit is not None and knowledge and knowledge.confidence >= CONFIDENT:
                # The answer (the next-best one after a push-back) and a person if it does not
                # help: both ways forward. An upset customer with a question the help centre
                # answers gets the answer, not only the question whether they want a person.
                quoted = self.phrasing.render("answer.j2", section=hit.entry.section)
                offer = _fresh(self.phrasing.choices("offer"), said)
                return _join(quoted, offer), "offer_handoff", hit.entry.section.key
            return _fresh(self.phrasing.choices("offer"), said), "offer_handoff", None
        if decision.action is Action.CLARIFY:
            text, kind = self._clarify(decision, analysis, knowledge)
            return text, kind, None
        intent = analysis.intent.intent
        if intent in SMALL_TALK and not pushed:
            chosen = _first_unused(self.phrasing.choices("small_talk", intent), said)
            if chosen:
                return chosen, "small_talk", None
        if hit is not None:
            quoted = self.phrasing.render("answer.j2", section=hit.entry.section)
            return quoted, "answer", hit.entry.section.key
        no_answer = _first_unused(self.phrasing.choices("no_answer"), said)
        person = _fresh(self.phrasing.choices("person_way"), said)
        return _join(no_answer, person), "no_answer", None

    def _sorry(self, said: list[str], apologised: bool) -> str:
        """Acknowledge a push-back once, without a second apology in the same reply."""
        choices = self.phrasing.choices("pushback")
        if apologised:
            choices = [c for c in choices if "sorry" not in c.lower()]
        return _first_unused(choices, said)

    def _clarify(
        self, decision: Decision, analysis: Analysis, knowledge: KnowledgeAnswer | None
    ) -> tuple[str, str]:
        """The clarifying question and its kind: "no_answer" when it first says the help
        centre has no answer (the message was understood), else "clarify"."""
        # A question the help centre was searched for and has no fair answer to is told so
        # honestly, whether the intent model knew the request or read it as out of scope.
        searched_in_vain = (
            analysis.intent.out_of_scope
            and knowledge is not None
            and knowledge.confidence < PLAUSIBLE
        )
        if searched_in_vain or any("answer confidence" in r.detail for r in decision.reasons):
            if knowledge is None or knowledge.confidence < PLAUSIBLE:
                # Understood but not answered: "I'm not sure I understood" would contradict it.
                lead = self.phrasing.choices("no_answer")[0]
                more = "more" if self.phrasing.has("clarify", "more") else "open"
                return _join(lead, self.phrasing.phrase("clarify", more)), "no_answer"
            labels = _topics(knowledge)
            if len(labels) >= 2:
                topic = self.phrasing.phrase("clarify", "topic", first=labels[0], second=labels[1])
                return topic, "clarify"
            return self.phrasing.phrase("clarify", "open"), "clarify"
        options = [analysis.intent.intent, *(name for name, _ in analysis.intent.alternatives)]
        # Small talk is never what a question is about ("plan usage or greeting?").
        topical = [o for o in options if o and o != "oos" and o not in SMALL_TALK]
        labels = [o.replace("_", " ") for o in topical][:2]
        if len(labels) == 2 and not analysis.intent.out_of_scope:
            choice = self.phrasing.phrase("clarify", "choice", first=labels[0], second=labels[1])
            return choice, "clarify"
        return self.phrasing.phrase("clarify", "open"), "clarify"

    def acknowledge(self, analysis: Analysis, said: list[str], *, before: str) -> str:
        """The acknowledgement to put before words that are not composed here (an action's
        question): the same rules, and no apology before words that apologise already."""
        return self._acknowledgement(analysis, said, apology="sorry" not in before.lower())

    def _acknowledgement(self, analysis: Analysis, said: list[str], *, apology: bool = True) -> str:
        """The strongest feeling of this message, acknowledged with a phrase not used before;
        nothing on a neutral message."""
        emotion = analysis.emotion
        feelings = [
            (emotion.distress, "anxiety"),
            (emotion.frustration, "frustration"),
            (emotion.urgency, "urgency"),
        ]
        strongest = max(feelings)
        if strongest[0] < UPSET:
            return ""
        apologised_last = bool(said) and "sorry" in said[-1].lower()
        for phrase in self.phrasing.acknowledgements(strongest[1]):
            if phrase.apology and (apologised_last or not apology):
                continue
            if not any(phrase.text in earlier for earlier in said):
                return phrase.text
        return ""

    def _recap(self, analysis: Analysis, knowledge: KnowledgeAnswer | None) -> str:
        """Name what the customer gave that the answer is about, so they see it was heard;
        only when the quoted section speaks of that kind of thing ("About order 48213:"
        before an order's answer, not before how to set up a Direct Debit)."""
        hit = knowledge.first if knowledge else None
        if hit is None:
            return ""
        section = hit.entry.section
        words = set(_WORD.findall(f"{section.title} {section.heading} {section.text}".lower()))
        for entity in analysis.entities:
            noun = _RECAPPED.get(entity.type)
            if noun and {noun, f"{noun}s"} & words and self.phrasing.has("recap", entity.type):
                return self.phrasing.phrase("recap", entity.type, value=entity.value)
        return ""

    def _next_step(self, said: list[str]) -> str:
        return _first_unused(self.phrasing.choices("next_step"), said[-1:])

    def _person_hint(self, analysis: Analysis, body: str, kind: str) -> str:
        if "person" in body or "team" in body:
            return ""  # the body already offers one
        rising = analysis.emotion.frustration >= UPSET or analysis.trajectory.trend > 0.1
        if kind == "small_talk" and not rising:
            return ""  # "Have a good day! You can ask for a person at any time." reads oddly
        return self.phrasing.phrase("person_hint", "rising" if rising else "calm")

    def _shape(self, parts: dict[str, str], channel: str, customer: Customer | None) -> str:
        if channel == "email":
            name = customer.name if customer and customer.name else None
            return self.phrasing.render("reply.email.j2", name=name, **parts)
        return self.phrasing.render("reply.chat.j2", **parts)


def _topics(knowledge: KnowledgeAnswer | None) -> list[str]:
    """What the closest answers are about, for a clarifying question: their articles' titles,
    or their headings when they come from one article."""
    if knowledge is None:
        return []
    sections = [hit.entry.section for hit in knowledge.candidates]
    titles = list(dict.fromkeys(s.title for s in sections))
    if len(titles) >= 2:
        return titles[:2]
    return list(dict.fromkeys(s.heading for s in sections))[:2]


def _bot_replies(conversation: Conversation) -> list[str]:
    return [event.text for event in conversation.events if isinstance(event, BotReply)]


def _first_unused(choices: list[str], said: list[str]) -> str:
    for choice in choices:
        if not any(choice in earlier for earlier in said):
            return choice
    return ""


def _fresh(choices: list[str], said: list[str]) -> str:
    """The first choice not said yet, else the first (a way to a person is never left out)."""
    return _first_unused(choices, said) or (choices[0] if choices else "")


def _repeats(text: str, said: list[str]) -> bool:
    return any(_same(text, earlier) for earlier in said)


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _same(text: str, earlier: str) -> bool:
    return " ".join(text.lower().split()) == " ".join(earlier.lower().split())
