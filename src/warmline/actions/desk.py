"""The dialogue around an action: recognise it, fill its slots across turns and corrections,
ask for what is missing (one or two things at a time), check who the customer is before
account data, confirm before anything that changes state, run it through its connector and
report the result, or the failure, honestly.

The desk decides and runs; the policy hears about every call's outcome (`ActionResult`) and
may still hand the conversation over. State lives only in the events the desk returns.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from warmline.actions import phrasing as say
from warmline.actions import verification as codes
from warmline.actions.connectors.base import Connector, ConnectorError, CustomerRef
from warmline.actions.mail import Mailer, MailError
from warmline.actions.recognise import (
    SIMILAR,
    STRONG,
    SUGGEST,
    ActionRecogniser,
    Embed,
    Recognised,
    about_the_business,
    asks_how,
    clauses,
    sentences,
    side_questions,
)
from warmline.actions.spec import ActionsFile, ActionSpec, OfferSpec, SlotSpec
from warmline.actions.spelling import Speller, phrase_words
from warmline.actions.state import ASKING_CODE, ASKING_EMAIL, OPEN, ActionState, Verification
from warmline.actions.tracking import ActionTracker, acts_of
from warmline.actions.values import (
    Problem,
    human_date,
    part_of_day,
    read_pattern,
    read_value,
    validate,
    within_part_of_day,
)
from warmline.dialogue.sgd import SystemAct
from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.domain.events import (
    ActionRecorded,
    ActionStep,
    AnyEvent,
    BotReply,
    CustomerMessage,
    IdentityVerified,
    utc_now,
)
from warmline.policy.context import ActionResult
from warmline.redaction import EMAIL_RE
from warmline.understanding.pushback import pushback_kind
from warmline.understanding.types import Analysis

log = logging.getLogger(__name__)

_YES = re.compile(
    r"^\W*((oh|um|well|hmm|ah|and)\W+)?(yes|yeah|yea|yep|yup|sure|ok|okay|alright|all right|fine|"
    r"please do|please go ahead|go ahead|go for it|do it|do that|correct|that'?s (right|fine|"
    r"correct|perfect|great|it|the one)|that is (right|fine|correct)|spot on|"
    r"no (problem|worries)|not a problem|that works|works for me|right|i confirm|confirm(ed)?|"
    r"sounds (good|"
    r"great|perfect)|perfect|great|absolutely|definitely|deal|please|y|lovely|brilliant|cool|"
    r"exactly|certainly|of course|indeed|sure thing|go on|proceed|let'?s do (it|that)|"
    r"that('?d| would) be (great|perfect|fine|lovely|good|brilliant)|"
    r"(book|move|send|activate|reset|start|change|do) it)\b",
    re.I,
)
_PLAIN_YES = re.compile(r"\b(yes|yeah|yep|yup|please|sure|go ahead|do (it|that))\b", re.I)
_WEAK_YES = re.compile(
    r"^\W*((oh|um|well|hmm|ah|and)\W+)?(ok|okay|alright|all right|fine|cool|great|perfect|"
    r"lovely|brilliant|right)\b",
    re.I,
)
_SIGNS_OFF = re.compile(
    r"\b(bye|goodbye|cheers|got it|will do|i'?ll (try|do) (that|it)|thanks?|thank you|thx|ty)\b",
    re.I,
)
_NO = re.compile(
    r"^\W*(no|nope|nah|not (yet|quite|right)|wait|hold on|wrong)\b(?!\W*(problem|worries))", re.I
)
# Push-backs (understanding/pushback.yaml) that say the action's way out does not help: only
# one said of the suggestion itself ("I already tried that"); "I already restarted my phone"
# or "it isn't working" describe the problem the action may well solve.
ROUTE_FAILED = frozenset({"tried_the_suggestion"})
_CANCEL = re.compile(
    r"\b(never ?mind|forget (it|about it)|cancel (that|it|this|the (request|booking|return))|"
    r"don'?t bother|leave it|stop (that|this|it)|no longer need (it|that|this)|"
    r"not (right )?now|maybe later)\b",
    re.I,
)
_ORDINALS = {
    "first": 0,
    "earliest": 0,
    "second": 1,
    "third": 2,
    "fourth": 3,
    "last": -1,
    "latest": -1,
}
# "What are the options?" asks about whatever the bot just asked for.
_OPTIONS = re.compile(
    r"\b(what|which)('?re| are| r) (the |my )?(options|choices)\b|"
    r"\bwhat (\w+ )?(can|could|do|should) i (choose|pick|say|give|put|select)\b|"
    r"\b(what|which) ones?\b.*\?|\boptions\?",
    re.IGNORECASE,
)
_ORDINAL_RE = re.compile(r"\b(first|earliest|second|third|fourth|last|latest)\b", re.I)
MAX_ASKED_AT_ONCE = {"sms": 1, "voice": 1}
OFFER_AT_MOST = 4
NOT_PROPOSED = frozenset({"greeting", "thanks", "goodbye", "human_agent"})  # small talk
MAX_CLAUSES = 4
RELATED = 0.3  # a message this close to some action is worth reading clause by clause
# A help-centre heading this much closer to the message than the action's own phrases is what
# the message is about ("my parcel arrived damaged" is "The parcel arrived damaged", not a
# return to start on the intent alone).
ANSWER_CLOSER = 0.15
PRIOR_MESSAGES = 2  # earlier customer messages read for values when an action starts


@dataclass(frozen=True)
class Claim:
    """The action a message belongs to: `open` the one in progress (None for a new one),
    `proposed` when the message only may mean it, `why` what recognised it."""

    action: str
    questions: int = 0
    open: ActionState | None = None
    proposed: bool = False
    why: str = ""
    # Offered after the help centre's answer, which the message asked for or which speaks of
    # its very case ("How do I activate my SIM?": the steps, then "Would you like me to ...?").
    beside_answer: bool = False


@dataclass
class Turn:
    """What the desk made of one customer message: the reply, the events to append, and the
    outcome of any call for the policy."""

    state: ActionState
    reply: str
    events: list[AnyEvent] = field(default_factory=list)
    result: ActionResult | None = None


@dataclass
class _Work:
    """One turn in progress: what to say so far and what happened."""

    state: ActionState
    spec: ActionSpec
    said: list[str] = field(default_factory=list)
    events: list[AnyEvent] = field(default_factory=list)
    result: ActionResult | None = None
    requested: list[str] = field(default_factory=list)  # slots the customer asked about


class ActionDesk:
    """Runs the actions of one actions file against its connectors."""

    def __init__(
        self,
        actions: ActionsFile,
        connectors: Mapping[str, Connector],
        *,
        embed: Embed,
        embed_one: Callable[[str], np.ndarray | None],
        mailer: Mailer | None,
        secret: str,
        clock: Callable[[], datetime] = utc_now,
        known_word: Callable[[str], bool] | None = None,
    ) -> None:
        self.actions = actions
        self.connectors = dict(connectors)
        self.recogniser = ActionRecogniser(actions, embed)
        self.tracker = ActionTracker(actions, embed)
        self.embed_one = embed_one  # the encoder's cached embedding of one message
        # Typos are repaired for recognising the action when the encoder's words are known.
        self.speller = Speller(phrase_words(actions), known_word) if known_word else None
        self.mailer = mailer
        self.secret = secret
        self.clock = clock

    # -- entry points ---------------------------------------------------------------------

    def open_state(self, conversation: Conversation) -> ActionState | None:
        """The action in progress in this conversation, if any."""
        step = conversation.action
        if step is None or step.status not in OPEN:
            return None
        if self.actions.action(step.action) is None:
            return None  # the actions file changed under it
        return ActionState.from_dict(step.action, step.status, step.state)

    def _still_open(self, conversation: Conversation, text: str) -> ActionState | None:
        """The open action, unless it was only proposed and the customer moved on instead of
        answering the proposal (or answers a later question)."""
        state = self.open_state(conversation)
        if state is None or state.status != "proposed":
            return state
        after_answer = _last_reply_kind(conversation) == "answer"
        if _answers_proposal(text, after_answer=after_answer) and _proposed_last(conversation):
            return state
        return None

    def claims(
        self,
        conversation: Conversation,
        analysis: Analysis,
        *,
        answered: bool = False,
        answer_closeness: float = 0.0,
    ) -> Claim | None:
        """The action this message belongs to (the one in progress, or a new one it starts),
        or None. A question about how something works that the knowledge base answers
        (`answered`) starts nothing: the answer comes first, and an action the question
        plainly means is offered after it (`beside_answer`). Nor does a message much closer to
        the answer's heading (`answer_closeness`) than to the action, or a push-back on an
        answer. A message that only may mean an action gets it proposed. Pure: nothing is
        called or sent; the claim goes to `handle`, which does not recognise the message
        again."""
        state = self._still_open(conversation, analysis.text)
        if state is not None:
            return Claim(state.action, state.questions, open=state)
        # A push-back speaks of an earlier reply; "my new SIM isn't working" as a first
        # message describes the problem.
        pushed = bool(analysis.pushback) and any(
            isinstance(event, BotReply) for event in conversation.events
        )
        if answered and pushed:
            return None  # about what was said: the knowledge base's turn
        recognised = self._recognise(analysis)
        if answered and asks_how(analysis.text):
            beside = self._request_beside(analysis.text)
            if beside is not None:
                # "I want to return order 48213. How do I reset my password?": the request
                # names its item and the how-to is a sentence of its own, answered beside it.
                return Claim(beside, why=f"{beside} asked for beside a question")
            return _beside_answer(recognised, analysis.text)  # information first
        if recognised is not None:
            # "I want to upgrade my plan" is the usage intent, but little like checking usage,
            # and "what's your returns policy?" asks about returns, not for one: asked, not
            # started (and no identity check for what was never wanted).
            tentative = recognised.tentative or about_the_business(analysis.text)
            if pushed and recognised.closeness < SIMILAR:
                # "I already restarted my phone" speaks of the last reply: it starts or offers
                # an action only when it plainly asks for one, not on the intent alone.
                return None
            if tentative and answered:
                return None  # a fair answer beats offering an action the message may not mean
            if (
                answered
                and answer_closeness - recognised.closeness >= ANSWER_CLOSER
                and recognised.closeness < STRONG  # "track my order" plainly asks for it
                and not self._names_its_item(recognised.action, analysis.text)
            ):
                # The help centre speaks of this very case, which is not the action: offering
                # it after the answer ("a refund of the delivery charge" -> "start a return?")
                # would be a guess.
                return None
            return Claim(recognised.action, proposed=tentative, why=recognised.why)
        if answered or analysis.intent.intent in NOT_PROPOSED:
            return None
        text = self._repaired(analysis.text)
        maybe = self.recogniser.propose(analysis.intent, self.embed_one(text), text)
        return Claim(maybe.action, proposed=True, why=maybe.why) if maybe else None

    def closeness(self, action: str, text: str) -> float:
        """How close in meaning `text` is to the action's phrases (0 without an encoder)."""
        embedding = self.embed_one(self._repaired(text))
        if embedding is None:
            return 0.0
        return self.recogniser.similarities(embedding).get(action, 0.0)

    def _request_beside(self, text: str) -> str | None:
        """The action that the sentences other than its how-to questions plainly ask for on
        its item (an order, serial or SIM number), or None."""
        asked = side_questions(text)
        if not asked:
            return None
        rest = " ".join(s for s in sentences(text) if s not in asked)
        embedding = self.embed_one(self._repaired(rest)) if rest else None
        if embedding is None:
            return None
        similar = self.recogniser.cued(self.recogniser.similarities(embedding), rest)
        action, score = max(similar.items(), key=lambda item: item[1])
        return action if score >= SIMILAR and self._names_its_item(action, rest) else None

    def _names_its_item(self, action: str, text: str) -> bool:
        """Whether the message gives an identifier the action works on (an order, serial or
        SIM number): "track my order pls 51887" asks for the action on it."""
        spec = self.actions.action(action)
        return spec is not None and any(
            slot.type == "pattern" and read_pattern(slot, text) is not None for slot in spec.slots
        )

    def _recognise(self, analysis: Analysis) -> Recognised | None:
        """The action the message asks for; a long message whose whole does not say is read
        clause by clause too (an encoder pass each, so only when the whole is related to some
        action at all, and for at most `MAX_CLAUSES` clauses)."""
        text = self._repaired(analysis.text)
        whole = self.embed_one(text)
        found = self.recogniser.recognise(analysis.intent, whole, text=text)
        if (found is not None and not found.tentative) or whole is None:
            return found
        if found is None and max(self.recogniser.similarities(whole).values()) < RELATED:
            return None
        parts = [self.embed_one(part) for part in clauses(text)[:MAX_CLAUSES]]
        if not parts:
            return found
        closer = self.recogniser.recognise(
            analysis.intent, whole, [part for part in parts if part is not None], text
        )
        return closer or found

    def _repaired(self, text: str) -> str:
        """The message with its typos repaired, for recognising the action only."""
        return self.speller.repair(text) if self.speller is not None else text

    def handle(
        self,
        conversation: Conversation,
        analysis: Analysis,
        customer: Customer | None,
        claim: Claim,
        *,
        channel: str = "web",
        now: datetime | None = None,
    ) -> Turn:
        """Move the claimed action on by one customer message (calling connectors as needed)."""
        now = now or self.clock()
        text = analysis.text
        state = claim.open
        if state is not None and state.status == "proposed":
            return self._proposal_answered(state, conversation, analysis, customer, channel, now)
        if claim.proposed:
            return self._propose(claim, conversation)
        if state is None:
            state = self._start(claim.action, conversation)
            work = _Work(state, self._spec(state))
            self._prefill(work, conversation, now.date())
        else:
            work = _Work(state, self._spec(state))
            # "yes, cancel it" to "Shall I cancel your appointment?" is a yes.
            if _CANCEL.search(text) and not (state.status == "confirming" and _YES.search(text)):
                return self._finish(work, "cancelled", say.CANCELLED, why="customer cancelled")
            if self._route_failed(analysis, work, now.date()):
                # "I already tried that" to "What is the email on your account?" says the
                # reset is no way out: asking again would loop. The desk steps aside, saying
                # nothing, so the reply is the help centre's next answer or a person.
                why = f"customer pushed back ({pushback_kind(text)})"
                return self._finish(work, "cancelled", "", why=why)
            recognised = self._recognise(analysis)  # another action meant instead?
            if (
                recognised is not None
                and recognised.action != state.action
                and recognised.strong
                and not self._values_in(work.spec, text, now.date(), state)
                and not (state.status == "verifying" and _about_the_code(text))
            ):
                carried = self._carry(state, recognised.action)
                state = self._start(recognised.action, conversation)
                state.slots.update(carried)
                work = _Work(state, self._spec(state))
        self._step(work, conversation, analysis, customer, channel, now)
        return self._turn(work, why=claim.why or f"action {state.action} in progress")

    # -- proposals ------------------------------------------------------------------------

    def _propose(self, claim: Claim, conversation: Conversation) -> Turn:
        """ "Would you like me to explain a charge on your bill?" for a message that only may
        mean the action (better than "I'm not sure I understood")."""
        state = self._start(claim.action, conversation)
        state.status = "proposed"
        state.questions = 1
        spec = self._spec(state)
        work = _Work(state, spec, said=[f"Would you like me to {spec.offer_text}?"])
        return self._turn(work, why=claim.why)

    def _proposal_answered(
        self,
        state: ActionState,
        conversation: Conversation,
        analysis: Analysis,
        customer: Customer | None,
        channel: str,
        now: datetime,
    ) -> Turn:
        work = _Work(state, self._spec(state))
        if not _YES.search(analysis.text):
            return self._finish(work, "cancelled", say.NOT_THAT, why="proposal declined")
        acts = acts_of(state, work.spec)
        state.status = "collecting"
        self._prefill(work, conversation, now.date(), earlier=PRIOR_MESSAGES + 1)
        self._read(work, analysis, analysis.text, acts, now.date())
        self._advance(work, conversation, customer, channel, now)
        return self._turn(work, why=f"action {state.action} (proposal accepted)")

    # -- one turn -------------------------------------------------------------------------

    def _step(
        self,
        work: _Work,
        conversation: Conversation,
        analysis: Analysis,
        customer: Customer | None,
        channel: str,
        now: datetime,
    ) -> None:
        state, text = work.state, analysis.text
        acts = acts_of(state, work.spec)  # what the reply this message answers did
        if state.status == "verifying":
            # The code is not an order number, nor the address an email slot's value.
            volunteered = codes.without_code(EMAIL_RE.sub(" ", text))
            if not self._check_identity(work, conversation, customer, text, now):
                # "ana@example.com, it was the 4.50 charge": kept for after the check.
                self._read(work, analysis, volunteered, acts, now.date())
                return
            text = volunteered
        problems, changed = self._read(work, analysis, text, acts, now.date())
        if state.status == "confirming":
            if problems or changed:
                state.status = "collecting"
            elif _YES.search(text):
                self._call(work, conversation)
                return
            elif _NO.search(text):
                state.status = "collecting"
                state.asking = [slot.name for slot in work.spec.slots]
                state.questions += 1
                work.said.append(say.WHAT_TO_CHANGE)
                return
            else:
                state.questions += 1
                confirm = say.render(work.spec.confirm or "", work.spec, state.slots)
                work.said.append(f"{say.CONFIRM_AGAIN} {confirm} {say.YES_OR_NO}")
                return
        for problem in problems:
            work.said.append(f"Sorry, I can't use that: {problem.message}.")
        self._advance(work, conversation, customer, channel, now)

    def _advance(
        self,
        work: _Work,
        conversation: Conversation,
        customer: Customer | None,
        channel: str,
        now: datetime,
    ) -> None:
        """Ask for what is missing, else check identity, else confirm, else run."""
        state, spec = work.state, work.spec
        self._from_profile(work, customer)
        missing = [s for s in spec.slots if s.required and s.name not in state.slots]
        if missing:
            missing = _asked_about_first(missing, work.requested)
            self._ask(work, _askable(missing, MAX_ASKED_AT_ONCE.get(channel, 2)), now.date())
            return
        if spec.identity and conversation.verified_reference is None:
            if not conversation.identity_verified:
                self._start_verification(work, conversation, customer, now)
                return
            if not self._signed_account(work, conversation, customer, now):
                return
        if spec.confirm:
            state.status = "confirming"
            state.asking = []
            state.questions += 1
            work.said.append(say.render(spec.confirm, spec, state.slots))
            return
        self._call(work, conversation)

    def _read(
        self, work: _Work, analysis: Analysis, text: str, acts: Sequence[SystemAct], today: date
    ) -> tuple[list[Problem], bool]:
        """`_fill` by the desk's typed readers, then the tracker (`tracking.py`) for the slots
        they left: a value agreed to, a choice said in other words. A tracker value must pass
        the slot's reader and checks too; one that does not is not used (it was a guess, not
        something the customer is told is wrong). The slots the customer asked about are kept
        for the reply."""
        problems, changed = self._fill(work, text, today)
        state, spec = work.state, work.spec
        # The tracker reads the same text (no code or address while verifying); the message's
        # cached embedding serves its intent and requested slots.
        tracked = self.tracker.follow(state, spec, text, acts, self.embed_one(analysis.text))
        for slot in spec.slots:
            heard = tracked.values.get(slot.name)
            if heard is None or slot.name in state.slots:
                continue
            value = read_value(slot, heard, today, asked=True)
            if value is None or validate(slot, value, today) or _not_free(state, spec, slot, value):
                continue
            state.slots[slot.name] = value
            changed = changed or state.status == "confirming"
        if any(act.act == "REQUEST" for act in acts):  # a first message asks for the action
            asked = state.asking if _OPTIONS.search(text) else []
            requested = [*tracked.requested, *asked]
            work.requested = [name for name in requested if name not in state.slots]
        return problems, changed

    def _fill(self, work: _Work, text: str, today: date) -> tuple[list[Problem], bool]:
        """Read every slot's value in `text` (later values correct earlier ones); the problems
        with values that cannot be used, and whether anything to confirm changed."""
        state, spec = work.state, work.spec
        problems: list[Problem] = []
        changed = False
        hint = part_of_day(text)
        for slot in spec.slots:
            asked = slot.name in state.asking
            value = read_value(slot, text, today, asked=asked) or self._offered(state, slot, text)
            if value is None:
                if hint and slot.type == "time" and slot.name not in state.slots:
                    state.hints[slot.name] = hint
                continue
            problem = validate(slot, value, today) or _not_free(state, spec, slot, value)
            if problem is not None:
                problems.append(problem)
                state.slots.pop(slot.name, None)
                continue
            if state.slots.get(slot.name) not in (None, value):
                changed = True
            elif slot.name not in state.slots:
                changed = changed or state.status == "confirming"
            state.slots[slot.name] = value
        return problems, changed

    @staticmethod
    def _offered(state: ActionState, slot: SlotSpec, text: str) -> str | None:
        """A value the bot offered, taken by position ("the first one") or by a bare yes when
        only one was offered."""
        offered = state.offered.get(slot.name) or []
        if not offered:
            return None
        found = _ORDINAL_RE.search(text)
        if found:
            index = _ORDINALS[found.group(1).lower()]
            return offered[index] if -len(offered) <= index < len(offered) else None
        if len(offered) == 1 and _YES.search(text):
            return offered[0]
        return None

    @staticmethod
    def _from_profile(work: _Work, customer: Customer | None) -> None:
        """Slots the customer's profile answers (the email on file for a reset link)."""
        for slot in work.spec.slots:
            if slot.profile is None or slot.name in work.state.slots or customer is None:
                continue
            known = next((i.value for i in customer.identities if i.kind == slot.profile), None)
            if known:
                work.state.slots[slot.name] = known

    def _prefill(
        self, work: _Work, conversation: Conversation, today: date, *, earlier: int = 0
    ) -> None:
        """Values the customer gave before the action started ("order 12345" in an earlier
        message) are not asked for again."""
        said = [e.text for e in conversation.events if isinstance(e, CustomerMessage)]
        for text in said[-1 - (earlier or PRIOR_MESSAGES) : -1]:
            for slot in work.spec.slots:
                if slot.type in ("text", "number") or slot.name in work.state.slots:
                    continue
                value = read_value(slot, text, today, asked=False)
                if value is not None and validate(slot, value, today) is None:
                    work.state.slots[slot.name] = value

    def _route_failed(self, analysis: Analysis, work: _Work, today: date) -> bool:
        """The customer says, while the action asks for details, that its way was tried
        already ("I already tried that"), gives none of the details and no yes."""
        state = work.state
        return (
            analysis.pushback is not None
            and state.status == "collecting"
            and pushback_kind(analysis.text) in ROUTE_FAILED
            and not _YES.search(analysis.text)
            and not self._values_in(work.spec, analysis.text, today, state)
        )

    def _values_in(self, spec: ActionSpec, text: str, today: date, state: ActionState) -> bool:
        """True when the message carries values for the action in progress (then it is an
        answer, not a change of mind)."""
        return any(
            read_value(slot, text, today, asked=slot.name in state.asking) is not None
            for slot in spec.slots
            if slot.type not in ("text",)
        )

    def _carry(self, state: ActionState, action: str) -> dict[str, str]:
        """Values that mean the same in the new action (an order number from tracking kept for
        a return)."""
        target = self.actions.action(action)
        assert target is not None
        source = self._spec(state)
        kept: dict[str, str] = {}
        for name, value in state.slots.items():
            slot, there = source.slot(name), target.slot(name)
            if slot is not None and there is not None and slot.type == there.type:
                kept[name] = value
        return kept

    # -- asking ---------------------------------------------------------------------------

    def _ask(self, work: _Work, slots: list[SlotSpec], today: date) -> None:
        state, spec = work.state, work.spec
        offer = spec.offer
        wanted = offer is not None and any(slot.name == offer.slot for slot in slots)
        ready = wanted and offer is not None and all(n in state.slots for n in offer.needs)
        if ready and not self._offer(work, today):
            return
        state.status = "collecting"
        state.asking = [slot.name for slot in slots]
        answered = _answers(spec, state, work.requested)
        if not answered:
            state.questions += 1  # answering the customer's own question is no clarification
        asked = say.questions(spec, slots, state.slots)
        offered = state.offered.get(offer.slot) if offer else None
        if offered and offer and any(slot.name == offer.slot for slot in slots):
            free = f"Free times: {say.listing(offered)}."
            asked = f"{free} {asked}" if offer.slot in work.requested else f"{asked} {free}"
        work.said.append(" ".join([*answered, asked]))

    def _offer(self, work: _Work, today: date) -> bool:
        """Fetch the values a slot can take; False (and a question about the day) when none."""
        state, spec = work.state, work.spec
        offer = spec.offer
        assert offer is not None
        params = {need: state.slots[need] for need in offer.needs}
        try:
            result = self._connector(offer.connector).call(
                offer.operation, params, CustomerRef(), idempotency_key=f"{state.key}:offer"
            )
        except ConnectorError as error:
            log.warning("offer %s failed: %s", offer.operation, error)
            state.offered.pop(offer.slot, None)
            return True  # ask without offering
        listed = result.get(offer.key)
        values = [str(v) for v in listed] if isinstance(listed, list) else []
        state.free[offer.slot] = values  # all of them: a value picked outside the offer is
        state.free_for[offer.slot] = _needs_key(offer, state.slots)  # checked against them
        values = within_part_of_day(values, state.hints.get(offer.slot))
        if not values:
            day = state.slots.get(offer.needs[0], "") if offer.needs else ""
            for need in offer.needs:
                state.slots.pop(need, None)
            state.asking = list(offer.needs)
            state.questions += 1
            work.said.append(
                say.NO_SLOTS_FREE.format(day=say.render("{{ x | day }}", spec, {}, x=day))
            )
            return False
        state.offered[offer.slot] = values[:OFFER_AT_MOST]
        return True

    # -- identity -------------------------------------------------------------------------

    def _start_verification(
        self, work: _Work, conversation: Conversation, customer: Customer | None, now: datetime
    ) -> None:
        state = work.state
        email = _email_on_file(customer)
        if email is None:
            state.status = "verifying"
            state.asking = [ASKING_EMAIL]
            state.questions += 1
            given = say.kept(work.spec, state.slots)
            work.said.append(say.ASK_EMAIL_HAVING.format(kept=given) if given else say.ASK_EMAIL)
            return
        self._send_code(work, conversation, email, now, on_file=True)

    def _signed_account(
        self, work: _Work, conversation: Conversation, customer: Customer | None, now: datetime
    ) -> bool:
        """The account of a customer the site signed in, looked up by the email on file (the
        first time an action needs it); False, said honestly, when there is none."""
        email = _email_on_file(customer)
        try:
            if email is None:
                raise ConnectorError("not_found", "no email on file")
            found = self._connector(work.spec.call.connector).call(
                "find_customer", {"email": email}, CustomerRef(), idempotency_key=""
            )
        except ConnectorError as error:
            if not error.correctable:
                self._fail(work, error, system="account system")
                return False
            work.said.append(say.NO_ACCOUNT)
            self._record(work, "failed", "empty", f"{error.kind}: no account for the signed email")
            return False
        reference = str(found.get("customer_id") or "")
        work.events.append(IdentityVerified(method="signed", reference=reference, ts=now))
        conversation.verified_reference = reference
        return True

    def _send_code(
        self, work: _Work, conversation: Conversation, email: str, now: datetime, *, on_file: bool
    ) -> None:
        """Find the account for `email` and send it a code (no code, and the same words, when
        the address is not on file: nobody learns which addresses are)."""
        state = work.state
        try:
            found = self._connector(work.spec.call.connector).call(
                "find_customer", {"email": email}, CustomerRef(), idempotency_key=f"{state.key}:who"
            )
            reference: str | None = str(found.get("customer_id") or "") or None
        except ConnectorError as error:
            if error.correctable:
                reference = None
            else:
                self._fail(work, error, system="account system")
                return
        code = codes.new_code()
        if reference is not None:
            if self.mailer is None:
                self._fail(work, ConnectorError("unavailable", "no mail server"), system="email")
                return
            try:
                self.mailer.send(
                    email,
                    "Your verification code",
                    f"Your code is {code}. It works for 10 minutes. If you did not ask for it, "
                    "you can ignore this email.",
                )
            except MailError as error:
                log.warning("verification email failed: %s", error)
                self._fail(work, ConnectorError("unavailable", "email not sent"), system="email")
                return
        state.verification = Verification(
            code_hash=codes.code_hash(code, secret=self.secret, salt=conversation.id),
            expires_at=codes.expires(now),
            reference=reference,
        )
        state.status = "verifying"
        state.asking = [ASKING_CODE]
        state.questions += 1
        where = say.masked_address(email)
        work.said.append((say.CODE_SENT if on_file else say.CODE_SENT_MAYBE).format(where=where))

    def _check_identity(
        self,
        work: _Work,
        conversation: Conversation,
        customer: Customer | None,
        text: str,
        now: datetime,
    ) -> bool:
        """Handle a turn while a code is awaited; True when the customer is now verified."""
        state = work.state
        if state.asking_email:
            email = read_value(
                SlotSpec(name="email", description="email address", type="email"),
                text,
                now.date(),
                asked=True,
            )
            if email is None:
                state.questions += 1
                given = say.kept(work.spec, state.slots)
                work.said.append(say.ASK_EMAIL_STILL.format(kept=given) if given else say.ASK_EMAIL)
                return False
            self._send_code(work, conversation, email, now, on_file=False)
            return False
        sent = state.verification
        if sent is None:
            self._start_verification(work, conversation, customer, now)
            return False
        code = codes.code_in(text)
        if code is None:
            if codes.wants_resend(text):
                self._resend(work, conversation, customer, now)
                work.said[-1:] = [say.CODE_AGAIN]
            else:
                state.questions += 1
                work.said.append(say.CODE_NEEDED)
            return False
        if codes.expired(sent.expires_at, now):
            self._resend(work, conversation, customer, now)
            work.said[-1:] = [say.CODE_EXPIRED]
            return False
        good = codes.matches(code, sent.code_hash, secret=self.secret, salt=conversation.id)
        if good and sent.reference is not None:
            work.events.append(
                IdentityVerified(method="email_code", reference=sent.reference, ts=now)
            )
            conversation.verified_reference = sent.reference
            state.verification = None
            state.status = "collecting"
            state.asking = []
            work.said.append(say.VERIFIED)
            return True
        sent.tries += 1
        if sent.tries >= codes.MAX_TRIES:
            work.said.append(say.CODE_FAILED)
            self._record(work, "failed", "error", "identity not verified")
            return False
        work.said.append(say.CODE_WRONG)
        return False

    def _resend(
        self, work: _Work, conversation: Conversation, customer: Customer | None, now: datetime
    ) -> None:
        email = _email_on_file(customer)
        if email is None:
            work.state.asking = [ASKING_EMAIL]
            work.state.verification = None
            work.said.append(say.ASK_EMAIL)
            return
        self._send_code(work, conversation, email, now, on_file=True)

    # -- running --------------------------------------------------------------------------

    def _call(self, work: _Work, conversation: Conversation) -> None:
        state, spec = work.state, work.spec
        params = (
            {
                param: state.slots[slot]
                for param, slot in spec.call.params.items()
                if slot in state.slots
            }
            if spec.call.params
            else dict(state.slots)
        )
        reference = conversation.verified_reference
        customer = CustomerRef(id=reference, verified=reference is not None)
        try:
            result = self._connector(spec.call.connector).call(
                spec.call.operation, params, customer, idempotency_key=state.key
            )
        except ConnectorError as error:
            if error.correctable:
                self._correctable(work, error)
            else:
                self._fail(work, error, system=_system(spec))
            return
        reply = say.render(spec.reply, spec, state.slots, result=result)
        work.said.append(reply or "Done.")
        self._record(work, "done", "ok", f"{spec.call.operation} ok")

    def _correctable(self, work: _Work, error: ConnectorError) -> None:
        """The backend refused a value the customer can change: say what, and ask again."""
        state, spec = work.state, work.spec
        wrong = [s for s in spec.slots if s.type == "pattern" and s.name in state.slots]
        if error.kind in ("not_found", "not_yours") and wrong:
            slot = wrong[0]
            what = say.label(slot)
            work.said.append(say.NOT_FOUND.format(what=what, value=state.slots.pop(slot.name)))
        elif error.kind in ("not_found", "not_yours"):
            work.said.append(say.NOT_FOUND_ANY)
        elif error.kind == "conflict" and spec.offer and error.data.get("free"):
            taken = state.slots.pop(spec.offer.slot, "")
            state.offered[spec.offer.slot] = [str(v) for v in error.data["free"]][:OFFER_AT_MOST]
            work.said.append(say.TAKEN.format(value=taken))
        else:
            work.said.append(say.REFUSED.format(detail=error.detail.rstrip(".")))
            target = error.data.get("slot")
            if isinstance(target, str):
                state.slots.pop(target, None)
        self._record(work, "collecting", "empty", f"{error.kind}: {error.detail}")
        missing = [s for s in spec.slots if s.required and s.name not in state.slots]
        if missing:
            state.asking = [missing[0].name]
            state.questions += 1
            asked = say.questions(spec, missing[:1], state.slots)
            offered = state.offered.get(missing[0].name)
            if offered:
                asked += f" Free times: {say.listing(offered)}."
            work.said.append(asked)
        else:
            state.status = "failed"  # nothing the customer can change: the policy decides

    def _fail(self, work: _Work, error: ConnectorError, *, system: str) -> None:
        work.said.append(say.UNAVAILABLE.format(system=system))
        self._record(work, "failed", "error", f"{error.kind}: {error.detail}")

    def _record(self, work: _Work, status: str, outcome: str, detail: str) -> None:
        work.state.status = status  # type: ignore[assignment]
        name = work.state.action
        result = ActionResult(name, outcome, detail[:200])  # type: ignore[arg-type]
        work.result = result
        work.events.append(ActionRecorded(action=name, status=result.status, detail=result.detail))

    # -- helpers --------------------------------------------------------------------------

    def _start(self, action: str, conversation: Conversation) -> ActionState:
        started = sum(1 for e in conversation.events if isinstance(e, ActionStep))
        return ActionState(action=action, key=f"{conversation.id}:{action}:{started}")

    def _spec(self, state: ActionState) -> ActionSpec:
        spec = self.actions.action(state.action)
        assert spec is not None
        return spec

    def _connector(self, name: str) -> Connector:
        connector = self.connectors.get(name)
        if connector is None:
            raise ConnectorError("unavailable", f"connector {name!r} is not configured")
        return connector

    def _finish(self, work: _Work, status: str, reply: str, *, why: str) -> Turn:
        work.state.status = status  # type: ignore[assignment]
        work.said.append(reply)
        return self._turn(work, why=why)

    def _turn(self, work: _Work, *, why: str) -> Turn:
        state = work.state
        step = ActionStep(
            action=state.action, status=state.status, state=state.as_dict(), reason=why
        )
        reply = " ".join(part for part in work.said if part)
        return Turn(state, reply, [*work.events, step], work.result)


def _beside_answer(recognised: Recognised | None, text: str) -> Claim | None:
    """The action to offer after the help centre's answer: one the message plainly means,
    not for a question about the business ("what's your returns policy?")."""
    if (
        recognised is None
        or recognised.tentative
        or recognised.closeness < SUGGEST
        or about_the_business(text)
    ):
        return None
    why = f"{recognised.why}; offered after the help centre's answer"
    return Claim(recognised.action, proposed=True, why=why, beside_answer=True)


def _last_reply_kind(conversation: Conversation) -> str | None:
    """The kind of the bot's last reply ("answer" when an offer followed a help-centre answer)."""
    for event in reversed(conversation.events):
        if isinstance(event, BotReply):
            return event.kind
    return None


def _proposed_last(conversation: Conversation) -> bool:
    """Whether the bot's last turn made the proposal: a "yes" to a later question ("Anything
    else?") is not a yes to an offer the customer passed over."""
    messages = 0
    for event in reversed(conversation.events):
        if isinstance(event, CustomerMessage):
            messages += 1  # the first is the message being answered
            if messages > 1:
                return False
        elif isinstance(event, ActionStep):
            return True
    return False


def _answers_proposal(text: str, *, after_answer: bool = False) -> bool:
    """A yes or a no to "Would you like me to ...?". After an answer that ended with the
    offer, "ok thanks, bye" or "great, thanks" takes the answer and leaves the offer."""
    if _NO.search(text):
        return True
    if not _YES.search(text):
        return False
    return not (
        after_answer
        and _WEAK_YES.search(text)
        and _SIGNS_OFF.search(text)
        and not _PLAIN_YES.search(text)
    )


def _about_the_code(text: str) -> bool:
    """A message about the verification code ("it never arrived, send it again")."""
    return codes.wants_resend(text) or codes.code_in(text) is not None or "code" in text.lower()


def _askable(missing: list[SlotSpec], at_most: int) -> list[SlotSpec]:
    """The next slots to ask for together: at most `at_most`, and never a question that
    needs the answer to an earlier one ("What time on {{ date }}?")."""
    asked = [missing[0]]
    for slot in missing[1:at_most]:
        if slot.ask and any(other.name in slot.ask for other in missing):
            break
        asked.append(slot)
    return asked


def _asked_about_first(missing: list[SlotSpec], requested: list[str]) -> list[SlotSpec]:
    """ "What times do you have?": the slot the customer asked about is asked (and its choices
    or free values given) first, unless its question needs another missing answer first (the
    time on a day not yet chosen)."""
    names = {slot.name for slot in missing}
    ready = [
        slot
        for slot in missing
        if slot.name in requested
        and not (slot.ask and any(n in slot.ask for n in names - {slot.name}))
    ]
    return ready + [slot for slot in missing if slot not in ready]


def _answers(spec: ActionSpec, state: ActionState, requested: list[str]) -> list[str]:
    """What the customer asked about the slots ("what are the options?", "what kinds of
    appointment are there?"): an enum's choices (free values are answered by `_ask`, which puts
    them first)."""
    return [
        say.CHOICES.format(choices=say.listing(say.choices(slot), last="or"))
        for slot in spec.slots
        if slot.name in requested and slot.name not in state.slots and slot.type == "enum"
    ]


def _email_on_file(customer: Customer | None) -> str | None:
    if customer is None:
        return None
    return next((i.value for i in customer.identities if i.kind == "email"), None)


def _system(spec: ActionSpec) -> str:
    return {
        "track_order": "order system",
        "start_return": "returns system",
        "reset_password": "account system",
    }.get(spec.name, "systems")


def _needs_key(offer: OfferSpec, slots: dict[str, str]) -> str:
    """The values of the offer's needs, as one key ("date=2026-12-03")."""
    return "&".join(f"{need}={slots.get(need, '')}" for need in offer.needs)


def _not_free(state: ActionState, spec: ActionSpec, slot: SlotSpec, value: str) -> Problem | None:
    """A value of the offered slot that the backend did not list as free for the same needs
    ("10am" when 10:00 is booked): said at once, not after the identity check and the
    confirmation. Unknown (nothing listed, or listed for another day): no problem."""
    offer = spec.offer
    if offer is None or slot.name != offer.slot or slot.name not in state.free:
        return None
    if state.free_for.get(slot.name) != _needs_key(offer, state.slots):
        return None
    if value in state.free[slot.name]:
        return None
    day = next((state.slots[need] for need in offer.needs if need in state.slots), None)
    when = f" on {human_date(day)}" if day else ""
    return Problem(slot.name, value, f"{value} is not free{when}")
