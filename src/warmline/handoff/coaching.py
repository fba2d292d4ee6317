"""Live coaching for agents: tips on a draft reply as they type, a tone score, and replies
that worked before.

Pure and fast (rules, VADER and string tests: well under a millisecond per draft), so the
console can call it on every pause in typing. The tips follow the seeds' advice for warm
support: acknowledge the feeling first when the customer is upset, use their name, no blame,
no jargon, no "calm down" or "as I said", and a clear next step with a time. Suggested
replies come from the knowledge base and from what agents wrote in conversations of the same
intent that were resolved (`past_replies`); the caller supplies both.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from warmline.automation.knowledge.service import KnowledgeBase
from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.domain.events import AgentMessage, AnalysisRecorded, CustomerMessage
from warmline.understanding.emotion.signals import plain_vader_compound
from warmline.understanding.types import UPSET

MAX_DRAFT = 5000  # characters coached; a longer draft is coached on its start

_ACKNOWLEDGE = re.compile(
    r"\b(?:sorry|apologi[sz]e|understand|i can see|i see (?:why|how)|frustrat\w*|"
    r"annoying|must be|i hear you|that's not (?:ok|okay|good|right)|thank you for (?:your )?"
    r"patience|i know how|completely get)\b",
    re.I,
)
_BLAME = re.compile(
    r"\b(?:you should have|you shouldn't have|you didn't|you did not|you failed to|your fault|"
    r"you forgot|you need to read|you were supposed to|user error|you must have|"
    r"if you had)\b",
    re.I,
)
_DISMISSIVE = re.compile(
    r"\b(?:calm down|relax|as i (?:said|mentioned|told you|already said)|like i said|"
    r"as (?:previously )?stated|obviously|clearly you|there's nothing (?:i|we) can do|"
    r"not my (?:problem|department|job)|per my last)\b",
    re.I,
)
_JARGON = re.compile(
    r"\b(?:sla|escalation ticket|backend|back-end|tier[ -]?[12]|l[12] support|rma|"
    r"ticket (?:id|number) is|as per policy|per policy|provisioning|propagat\w+|"
    r"kb article|workaround|root cause|sync issue|cache invalidation|ttl)\b",
    re.I,
)
_NEXT_STEP = re.compile(
    r"\b(?:i'll|i will|we'll|we will|i'm going to|we're going to|next,? |i've (?:sent|asked|"
    r"raised|booked|arranged|refunded)|i have (?:sent|asked|raised|booked|arranged|refunded)|"
    r"you'll (?:get|receive|see)|you will (?:get|receive|see))",
    re.I,
)
_WHEN = re.compile(
    r"\b(?:today|tonight|tomorrow|this (?:morning|afternoon|evening|week)|within|by (?:the )?"
    r"(?:end|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d)|in (?:the next )?"
    r"\d+|\d+ ?(?:minutes?|mins?|hours?|hrs?|days?)|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|right away|now|\d{1,2}(?::\d{2})? ?(?:am|pm)|\d{1,2}:\d{2})\b",
    re.I,
)
_SHOUTING = re.compile(r"\b[A-Z]{4,}\b")


@dataclass(frozen=True)
class Tip:
    """One suggestion on the draft, with the words that prompted it."""

    code: Literal[
        "acknowledge_feeling",
        "use_name",
        "avoid_blame",
        "avoid_dismissive",
        "avoid_jargon",
        "state_next_step",
        "say_when",
        "no_shouting",
    ]
    message: str
    evidence: str = ""


@dataclass(frozen=True)
class SuggestedReply:
    """A reply the agent may adapt: a help-centre section or what a colleague wrote."""

    source: Literal["knowledge", "agents", "llm"]
    text: str
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Situation:
    """What coaching needs to know about the conversation."""

    upset: bool = False
    name: str | None = None
    intent: str | None = None
    last_customer: str = ""


@dataclass(frozen=True)
class Coaching:
    """Tips, a tone score (0 cold or hostile .. 1 warm and clear) and suggested replies."""

    tone: float
    tips: list[Tip] = field(default_factory=list)
    replies: list[SuggestedReply] = field(default_factory=list)
    llm_notice: str | None = None  # why there is no model-suggested reply, when one was asked

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def situation(conversation: Conversation, customer: Customer | None = None) -> Situation:
    """The customer's state as the last analysed message left it."""
    analyses = [e.analysis for e in conversation.of_type(AnalysisRecorded)]
    last = analyses[-1] if analyses else {}
    frustration = float(last.get("emotion", {}).get("frustration", 0.0))
    level = float(last.get("trajectory", {}).get("level", 0.0))
    intents = [
        a.get("intent", {}).get("intent")
        for a in analyses
        if not a.get("intent", {}).get("out_of_scope")
    ]
    customer_texts = [e.text for e in conversation.of_type(CustomerMessage)]
    name = customer.name.split()[0] if customer and customer.name else None
    return Situation(
        upset=max(frustration, level) >= UPSET,
        name=name,
        intent=next((i for i in reversed(intents) if i), None),
        last_customer=customer_texts[-1] if customer_texts else "",
    )


def coach(draft: str, where: Situation, replies: Sequence[SuggestedReply] = ()) -> Coaching:
    """Tips and a tone score for `draft` in `where`."""
    text = draft[:MAX_DRAFT]
    tips: list[Tip] = []
    opening = " ".join(text.split()[:25])
    if where.upset and not _ACKNOWLEDGE.search(opening):
        tips.append(
            Tip(
                "acknowledge_feeling",
                "The customer is upset: acknowledge how they feel before the solution.",
            )
        )
    if where.name and where.name.lower() not in text.lower():
        tips.append(Tip("use_name", f"Use the customer's name ({where.name})."))
    for code, pattern, message in (
        ("avoid_blame", _BLAME, "Avoid wording that blames the customer."),
        ("avoid_dismissive", _DISMISSIVE, "This can read as dismissive; say it another way."),
        ("avoid_jargon", _JARGON, "Internal jargon: say it in the customer's words."),
    ):
        if found := list(dict.fromkeys(m.group(0) for m in pattern.finditer(text))):
            tips.append(Tip(code, message, ", ".join(found)))  # type: ignore[arg-type]
    if shout := _SHOUTING.search(text):
        tips.append(Tip("no_shouting", "Capitals read as shouting.", shout.group(0)))
    if len(text.split()) >= 4:
        if not _NEXT_STEP.search(text):
            tips.append(Tip("state_next_step", "Say what happens next."))
        elif not _WHEN.search(text):
            tips.append(Tip("say_when", "Say when the next step will happen."))
    named = bool(where.name) and str(where.name).lower() in text.lower()
    return Coaching(tone=tone(text, tips, named=named), tips=tips, replies=list(replies))


def tone(text: str, tips: Sequence[Tip] = (), *, named: bool = False) -> float:
    """0..1, 0.5 for a neutral draft: VADER's sentiment moves it a little (an apology reads
    negative to VADER, so it weighs lightly); what makes a reply warm and clear moves it up,
    and each problem found moves it down."""
    if not text.strip():
        return 0.5
    found = {tip.code for tip in tips}
    score = 0.5 + 0.2 * plain_vader_compound(text)
    score += 0.1 if _ACKNOWLEDGE.search(text) else 0.0
    score += 0.1 if named else 0.0
    score += 0.1 if _NEXT_STEP.search(text) else 0.0
    score += 0.05 if _WHEN.search(text) else 0.0
    score -= sum(_PENALTIES.get(code, 0.0) for code in found)
    return round(min(1.0, max(0.0, score)), 3)


_PENALTIES = {
    "avoid_blame": 0.25,
    "avoid_dismissive": 0.25,
    "no_shouting": 0.15,
    "acknowledge_feeling": 0.1,
    "avoid_jargon": 0.05,
}


def past_replies(conversations: Sequence[Conversation], intent: str, limit: int = 3) -> list[str]:
    """What agents wrote in resolved conversations of `intent`, most used first: the longest
    agent message of each (the one that carried the answer)."""
    counts: dict[str, int] = {}
    for conversation in conversations:
        if conversation.status.value != "resolved" or _main_intent(conversation) != intent:
            continue
        messages = [e.text for e in conversation.of_type(AgentMessage) if e.text.strip()]
        if messages:
            best = max(messages, key=len)
            counts[best] = counts.get(best, 0) + 1
    return sorted(counts, key=lambda text: -counts[text])[:limit]


def knowledge_replies(
    knowledge: KnowledgeBase | None, question: str, limit: int = 2
) -> list[SuggestedReply]:
    """The help-centre sections that best answer the customer's last message."""
    if knowledge is None or not question.strip():
        return []
    result = knowledge.search(question, knowledge.embed_query(question), k=limit)
    return [
        SuggestedReply(
            "knowledge",
            hit.entry.section.text[:600],
            title=hit.entry.section.title,
            url=hit.entry.section.url,
        )
        for hit in result.hits
    ]


def _main_intent(conversation: Conversation) -> str | None:
    for event in conversation.of_type(AnalysisRecorded):
        intent = event.analysis.get("intent", {})
        if intent.get("intent") and not intent.get("out_of_scope"):
            return str(intent["intent"])
    return None


class ReplyBook:
    """Past agent replies per intent, read from recently resolved conversations and kept for
    `ttl` seconds: coaching runs on each pause in typing, the history changes slowly."""

    def __init__(self, sessions: sessionmaker[Session], *, ttl: float = 300.0, scan: int = 300):
        self.sessions = sessions
        self.ttl = ttl
        self.scan = scan
        self._lock = threading.Lock()
        self._loaded_at = -math.inf
        self._conversations: list[Conversation] = []
        self._suggested: OrderedDict[tuple[str, str | None], list[SuggestedReply]] = OrderedDict()

    def suggestions(
        self, where: Situation, knowledge: KnowledgeBase | None
    ) -> list[SuggestedReply]:
        """Help-centre sections for the customer's last message, then colleagues' replies
        for the intent; remembered per message, so typing does not search again."""
        key = (where.last_customer, where.intent)
        with self._lock:
            if key in self._suggested:
                self._suggested.move_to_end(key)
                return self._suggested[key]
        found = knowledge_replies(knowledge, where.last_customer)
        found += [SuggestedReply("agents", text) for text in self.replies(where.intent)]
        with self._lock:
            self._suggested[key] = found
            while len(self._suggested) > 256:
                self._suggested.popitem(last=False)
        return found

    def replies(self, intent: str | None) -> list[str]:
        """Up to three replies that resolved conversations of `intent`."""
        if intent is None:
            return []
        with self._lock:
            if time.monotonic() - self._loaded_at > self.ttl:
                self._conversations = self._load()
                self._loaded_at = time.monotonic()
                self._suggested.clear()
            conversations = self._conversations
        return past_replies(conversations, intent)

    def _load(self) -> list[Conversation]:
        from warmline.storage import conversations as store

        with self.sessions() as session:
            ids = store.recently_resolved_ids(session, limit=self.scan)
            loaded = [store.load_conversation(session, conversation_id=i) for i in ids]
        return [c for c in loaded if c is not None]
