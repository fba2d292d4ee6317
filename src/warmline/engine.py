"""The one place that wires the pipeline:
channel -> engine -> understanding -> policy -> (automation | handoff) -> store -> channel.

`Engine.handle` reads the conversation, runs the pure `Pipeline` with no transaction open, and
appends the resulting events in one short write that succeeds only if the conversation has not
moved on meanwhile (optimistic concurrency); the other processes hear of it once it commits.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from warmline.actions.desk import ActionDesk, Claim, Turn
from warmline.actions.recognise import SIMILAR, side_questions
from warmline.automation.composer import SMALL_TALK, ReplyComposer
from warmline.automation.knowledge.answering import KnowledgeAnswer, answers_left
from warmline.automation.knowledge.index import Hit
from warmline.automation.knowledge.service import KnowledgeBase
from warmline.domain.conversation import Conversation, Status
from warmline.domain.customer import Customer
from warmline.domain.events import (
    AnalysisRecorded,
    AnyEvent,
    BotReply,
    CustomerMessage,
    DecisionMade,
    HandedOff,
    utc_now,
)
from warmline.handoff import queue as human_queue
from warmline.handoff.availability import (
    ALWAYS_STAFFED,
    Staffing,
    StaffingProvider,
    plan_handoff,
)
from warmline.handoff.packet import build_packet, customer_history
from warmline.policy.closing import goodbye_close
from warmline.policy.context import ActionProgress, PolicyContext
from warmline.policy.decision import Action, Decision
from warmline.policy.policy import Policy
from warmline.redaction import mask, mask_value
from warmline.storage import appends, idempotency
from warmline.storage import conversations as store
from warmline.storage import customers as customer_store
from warmline.storage.db import keeps_contact_details
from warmline.storage.states import ConversationStates
from warmline.understanding.emotion.trajectory import speech_signals
from warmline.understanding.serialize import analysis_to_dict
from warmline.understanding.types import UPSET, Analysis, Signal

log = logging.getLogger(__name__)

# The customer's other recent conversations, for the handoff packet: (conversation id, customer).
HistoryProvider = Callable[[str, Customer | None], list[dict[str, Any]]]


def NO_HISTORY(_conversation_id: str, _customer: Customer | None) -> list[dict[str, Any]]:
    """No store to ask (replay, tests of the pipeline alone)."""
    return []


class Analyzer(Protocol):
    """The understanding stage as the engine sees it."""

    def analyze(
        self,
        text: str,
        *,
        state: dict[str, Any],
        ts: datetime | None = None,
        speech: tuple[Signal, ...] | None = None,
    ) -> tuple[Analysis, dict[str, Any]]:
        """Analyse one customer message given the conversation's tracker state (and, for a
        spoken turn, the speech cues its channel measured)."""
        ...


class ConversationNotFound(LookupError):
    """The message names a conversation that does not exist."""


@dataclass(frozen=True)
class InboundMessage:
    """A customer message as a channel hands it to the engine.

    `ts` is a trusted time (replay and the administrators' import of past conversations);
    live channels leave it empty so the server's clock is used, and pass what the client
    claimed as `client_ts`, which is only displayed.
    """

    conversation_id: str
    text: str
    channel: str = "web"
    ts: datetime | None = None
    idempotency_key: str | None = None
    client_ts: datetime | None = None
    message_id: str | None = None  # the channel's id of the message (an email's Message-ID)
    meta: dict[str, Any] | None = None  # what else the channel knows (see CustomerMessage)


@dataclass(frozen=True)
class Outcome:
    """What happened to one message: the API response, the new events, and (unless this was a
    retried request answered from the idempotency store) the analysis and decision."""

    conversation_id: str
    response: dict[str, Any]
    events: tuple[AnyEvent, ...]
    analysis: Analysis | None = None
    decision: Decision | None = None
    replayed: bool = False

    @property
    def escalated(self) -> bool:
        """True when this message sent the conversation to the human queue."""
        return bool(self.response.get("escalated"))

    @property
    def reply(self) -> str | None:
        """What the customer reads now, if anything."""
        reply = self.response.get("reply")
        return str(reply) if reply is not None else None


def decision_event(decision: Decision, ts: datetime) -> DecisionMade:
    """The event that records a policy decision with every reason behind it."""
    return DecisionMade(
        action=decision.action.value,
        reasons=[reason.as_dict() for reason in decision.reasons],
        priority=decision.priority,
        route=decision.route,
        intent=decision.intent,
        senior=decision.senior,
        policy=decision.policy,
        ts=ts,
    )


@dataclass
class Pipeline:
    """understanding -> policy -> automation or handoff, producing events. It touches no
    database, so the engine, replay and what-if runs all share it."""

    analyzer: Analyzer
    policy: Policy = field(default_factory=Policy)
    composer: ReplyComposer = field(default_factory=ReplyComposer)
    knowledge: KnowledgeBase | None = None
    actions: ActionDesk | None = None

    def process(
        self,
        conversation: Conversation,
        message: InboundMessage,
        customer: Customer | None,
        staffing: StaffingProvider = ALWAYS_STAFFED,
        knowledge: KnowledgeBase | None = None,
        history: HistoryProvider = NO_HISTORY,
    ) -> Outcome:
        """Run one customer message against the conversation state; return the new events.

        `staffing` says who is online; it is called only when the conversation is handed over,
        to tell the customer honestly what happens next. `history` gives the customer's other
        recent conversations for the handoff packet (also called only then). `knowledge` is the
        knowledge base to answer from (the engine's, kept in step with the database), else the
        pipeline's own.
        """
        policy = self.policy  # one policy per message, even if a reload swaps it meanwhile
        ts = message.ts or utc_now()
        inbound = CustomerMessage(
            text=message.text,
            channel=message.channel,
            ts=ts,
            client_ts=message.client_ts,
            message_id=message.message_id,
            meta=message.meta,
        )
        speech = speech_signals(message.meta)
        if speech is None:
            analysis, state = self.analyzer.analyze(
                message.text, state=conversation.tracker_state, ts=message.ts
            )
        else:  # a spoken turn (channels/calls): its speech cues join the trajectory
            analysis, state = self.analyzer.analyze(
                message.text, state=conversation.tracker_state, ts=message.ts, speech=speech
            )
        recorded = AnalysisRecorded(analysis=analysis_to_dict(analysis), tracker_state=state, ts=ts)
        scratch = Conversation.replay(
            conversation.id,
            [*conversation.events, inbound, recorded],
            customer_id=conversation.customer_id,
        )
        answers = self._consult(
            knowledge or self.knowledge,
            message.text,
            analysis,
            scratch,
            enough=policy.config.triggers.low_confidence.answer_threshold,
        )
        enough = policy.config.triggers.low_confidence.answer_threshold
        answered = bool(answers and answers.candidates and answers.confidence >= enough)
        claimed = self._claimed_action(
            scratch,
            analysis,
            answered=answered,
            answer_closeness=answers.candidates[0].head if answers and answered else 0.0,
        )
        context = PolicyContext(
            conversation=scratch,
            analysis=analysis,
            customer=customer,
            # Nothing new to say is the loop trigger's business, not low confidence.
            answer_confidence=(
                answers.confidence
                if answers and (answers.candidates or not answers.best_already_sent)
                else None
            ),
            fresh_answers=len(answers.candidates) if answers else None,
            action=(
                ActionProgress(claimed.action, claimed.questions)
                if claimed and not claimed.beside_answer
                else None
            ),
        )
        decision = policy.decide(context)
        turn = None
        acting = _BESIDE_ANSWER if claimed and claimed.beside_answer else _ACTING
        if claimed is not None and self.actions is not None and decision.action in acting:
            # The policy heard the message first; the action runs only if it was not handed
            # over, and the policy hears how the action went.
            turn = self.actions.handle(
                scratch, analysis, customer, claimed, channel=message.channel, now=ts
            )
            if turn.result is not None:
                decision = policy.decide(replace(context, action_result=turn.result))
        decided = decision_event(decision, ts)
        events: list[AnyEvent] = [inbound, recorded, decided]
        scratch.apply(decided)
        for event in turn.events if turn else ():
            events.append(event)
            scratch.apply(event)
        last_reply = next(
            (e for e in reversed(conversation.events) if isinstance(e, BotReply)), None
        )
        offered = turn.reply if turn is not None and claimed and claimed.beside_answer else ""
        composed = self.composer.compose(
            decision,
            analysis,
            conversation=scratch,
            knowledge=answers,
            channel=message.channel,
            customer=customer,
            then=offered,
        )
        reply = composed.text if composed else None
        kind = composed.kind if composed else decision.action.value
        answer = composed.answer if composed else None
        if offered and kind == "answer":
            pass  # the answer, then the action offered in its next step
        elif turn is not None and turn.reply and not decision.escalates:
            other = self._other_answer(
                knowledge or self.knowledge, message.text, turn, scratch, enough=enough
            )
            reply = self._action_reply(
                turn.reply,
                decision,
                scratch,
                analysis,
                asks=turn.state.open,
                before=self.composer.other_answer(other.entry.section) if other else "",
            )
            kind, answer = "action", other.entry.section.key if other else None
        if decision.escalates:
            plan = plan_handoff(
                policy.config,
                route=decision.route,
                staffing=staffing(),
                at=ts,
                customer=customer,
                channel=message.channel,
            )
            packet = build_packet(
                scratch,
                customer=customer,
                reasons=[r.detail for r in decision.reasons],
                history=history(scratch.id, customer),
            )
            events.append(
                HandedOff(
                    reasons=decision.reason_names,
                    priority=decision.priority,
                    route=decision.route,
                    packet=packet,
                    senior=decision.senior,
                    frustration=decision.frustration,
                    staffing=plan.as_dict(),
                    ts=ts,
                )
            )
            reply = self.composer.handoff_notice(
                plan,
                upset=analysis.emotion.frustration >= UPSET,
                topic=decision.sensitive_topic,
            )
            if turn is not None and turn.result is not None and turn.result.failed:
                reply = f"{turn.reply} {reply}"  # what went wrong, then who takes over
            kind, answer = "handoff_notice", None
        elif self._reminder_due(conversation, decision, last_reply, ts):
            reply, kind, answer = self.composer.reminder(), "queue_status", None
        if reply is not None:
            said = BotReply(text=reply, kind=kind, answer=answer, ts=ts)
            events.append(said)
            scratch.apply(said)
            closed = goodbye_close(scratch, analysis, decision, policy.config.closing, kind)
            if closed is not None:
                events.append(closed)
        response: dict[str, Any] = {
            "conversation_id": conversation.id,
            "decision": decision.action.value,
            "reasons": [reason.as_dict() for reason in decision.reasons],
            "reply": reply,
            "escalated": decision.escalates,
            "priority": decision.priority,
            "route": decision.route,
        }
        if turn is not None:
            response["action"] = {
                "name": turn.state.action,
                "status": turn.state.status,
                "asking": list(turn.state.asking),
            }
        return Outcome(conversation.id, response, tuple(events), analysis, decision)

    def _claimed_action(
        self,
        conversation: Conversation,
        analysis: Analysis,
        *,
        answered: bool,
        answer_closeness: float,
    ) -> Claim | None:
        """The routine action this message belongs to, unless a person owns the conversation
        or the customer asked for one (`answered`: the knowledge base has a fair answer, whose
        heading is `answer_closeness` close to the message)."""
        if self.actions is None or conversation.with_human or analysis.human_request:
            return None
        return self.actions.claims(
            conversation, analysis, answered=answered, answer_closeness=answer_closeness
        )

    def _action_reply(
        self,
        text: str,
        decision: Decision,
        conversation: Conversation,
        analysis: Analysis,
        *,
        asks: bool,
        before: str = "",
    ) -> str:
        """The action's words, never the same reply twice (a question asked again says so),
        after the answer to a question asked beside it (`before`) and an acknowledgement when
        the message shows a feeling (as composed answers do), with the offer of a person when
        the policy makes one: as a statement when the action asks a question of its own, so
        that "yes" has one meaning."""
        said = [e.text for e in conversation.events if isinstance(e, BotReply)]
        for again in (
            "",
            "Sorry to ask again. ",
            "I still need this to go on, or a colleague can help. ",
        ):
            candidate = f"{again}{text}"
            if not any(candidate in earlier for earlier in said):
                text = candidate
                break
        if before:
            text = f"{before}\n\n{text}"
        feeling = self.composer.acknowledge(analysis, said, before=text)
        text = f"{feeling} {text}" if feeling else text
        if decision.action is not Action.OFFER_HANDOFF:
            return text
        if asks:
            return f"{text} {PERSON_ANY_TIME}"
        offers = [o for o in self.composer.phrasing.choices("offer") if o not in said]
        return f"{text} {offers[0]}" if offers else text

    def _other_answer(
        self,
        knowledge: KnowledgeBase | None,
        text: str,
        turn: Turn,
        conversation: Conversation,
        *,
        enough: float,
    ) -> Hit | None:
        """The help centre's answer to a how-to question asked beside the request the action
        works on ("Where is order 51877? Also, how do I change my email?"), when it has a
        fair one not sent before and the question is not about the action itself."""
        if knowledge is None or self.actions is None or turn.state.status == "proposed":
            return None
        sent = {e.answer for e in conversation.events if isinstance(e, BotReply) and e.answer}
        for question in side_questions(text)[:MAX_SIDE_QUESTIONS]:
            if self.actions.closeness(turn.state.action, question) >= SIMILAR:
                continue  # "how do I track it?" beside tracking: the action answers it
            found = knowledge.search(question, knowledge.embed_query(question))
            best = found.best
            if (
                best is not None
                and found.confidence >= enough
                and best.entry.section.key not in sent
            ):
                return best
        return None

    @staticmethod
    def _consult(
        knowledge: KnowledgeBase | None,
        text: str,
        analysis: Analysis,
        conversation: Conversation,
        *,
        enough: float,
    ) -> KnowledgeAnswer | None:
        """The knowledge base's answers for this message, unless it is small talk or a request
        for a person (or there is no knowledge base). A message that is not clear enough on
        its own and follows a reply that did not settle the question ("it was supposed to
        arrive last week" after a clarifying question) is also searched together with the
        customer's previous message, and the clearer of the two results is kept."""
        if knowledge is None or analysis.human_request:
            return None
        knowledge.refresh()  # an index that started empty must still see the first import
        if not len(knowledge.index):
            return None
        if analysis.intent.intent in SMALL_TALK and not analysis.pushback:
            return None
        embedding = knowledge.embed_query(text)
        result = knowledge.search(text, embedding)
        earlier = _unsettled_question(conversation, pushed=bool(analysis.pushback))
        if result.confidence < enough and earlier:
            together = f"{earlier}\n{text}"
            widened = knowledge.search(together, _blend(knowledge.embed_query(earlier), embedding))
            if widened.confidence > result.confidence:
                result = widened
        sent = [
            event.answer
            for event in conversation.events
            if isinstance(event, BotReply) and event.answer
        ]
        return answers_left(result, sent, knowledge.index.ranking)

    def _reminder_due(
        self,
        conversation: Conversation,
        decision: Decision,
        last_reply: BotReply | None,
        ts: datetime,
    ) -> bool:
        """A queued customer who writes again hears that they are still in the queue, at most
        every `queue.reminder_seconds` (nobody is left wondering whether anyone is there)."""
        every = self.policy.config.queue.reminder_seconds
        if decision.action is not Action.STAY_QUIET or conversation.status is not Status.QUEUED:
            return False
        if every <= 0:
            return False
        return last_reply is None or (ts - last_reply.ts).total_seconds() >= every


UNSETTLED = frozenset({"clarify", "no_answer", "offer_handoff"})
PERSON_ANY_TIME = "If you'd rather talk to a person, just say so."
_ACTING = frozenset({Action.ACT, Action.ANSWER, Action.OFFER_HANDOFF})
MAX_SIDE_QUESTIONS = 2  # how-to questions beside an action's request looked up (a search each)
# An action offered after an answer: not beside the offer of a person (one question at a time).
_BESIDE_ANSWER = frozenset({Action.ACT, Action.ANSWER})


def _blend(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    """The embedding of two messages read together: the normalised sum of theirs (a mean-pooled
    encoder's embedding of a concatenation is close to it, and both are already cached, where
    encoding the pair again would cost a full encoder pass on every unsettled follow-up)."""
    if first is None or second is None:
        return second if first is None else first
    total = first + second
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else second


def _unsettled_question(conversation: Conversation, *, pushed: bool) -> str | None:
    """The customer's previous message, when the bot's reply to it left the question open
    (or the customer says it did): the context a short follow-up needs."""
    events = conversation.events
    customer = [i for i, e in enumerate(events) if isinstance(e, CustomerMessage)]
    if len(customer) < 2:
        return None
    previous = customer[-2]
    replies = [e for e in events[previous : customer[-1]] if isinstance(e, BotReply)]
    if not replies or not (pushed or replies[-1].kind in UNSETTLED):
        return None
    earlier = events[previous]
    assert isinstance(earlier, CustomerMessage)
    return earlier.text


class ConversationBusy(RuntimeError):
    """The conversation kept changing under this message (other writers, every try)."""


MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class _Snapshot:
    """What the pipeline needs, read without any lock."""

    conversation: Conversation
    customer: Customer | None


@dataclass
class Engine:
    """Runs the pipeline for each customer message with short transactions.

    1. Read the conversation (cached events plus what it gained), the customer and any stored
       idempotent answer, in a read-only transaction.
    2. Run the pipeline with no transaction open: understanding, policy, composing (and, later,
       calls to the business's systems) never hold a lock.
    3. Append the new events in a short write transaction that succeeds only if the
       conversation has not moved on (optimistic concurrency on its sequence number);
       otherwise read again and rerun, at most `MAX_ATTEMPTS` times.
    """

    sessions: sessionmaker[Session]
    pipeline: Pipeline
    readers: sessionmaker[Session] | None = None
    states: ConversationStates = field(default_factory=ConversationStates)
    knowledge: KnowledgeBase | None = None

    def handle(self, message: InboundMessage) -> Outcome:
        """Run one customer message through the pipeline and store the result atomically."""
        fingerprint = _fingerprint(message)
        for _attempt in range(MAX_ATTEMPTS):
            snapshot = self._read(message, fingerprint)
            if isinstance(snapshot, Outcome):
                return snapshot
            outcome = self.pipeline.process(
                snapshot.conversation,
                message,
                snapshot.customer,
                staffing=self.staffing,
                knowledge=self.knowledge,
                history=self.history,
            )
            try:
                return self._write(snapshot.conversation, message, fingerprint, outcome)
            except (store.ConversationMoved, IntegrityError):
                # Another writer got there first (an agent, another worker, or the same
                # Idempotency-Key): read the new state and run the message again on it.
                continue
        raise ConversationBusy(message.conversation_id)

    def _read(self, message: InboundMessage, fingerprint: str) -> _Snapshot | Outcome:
        with (self.readers or self.sessions)() as session, session.begin():
            conversation = self.states.current(session, conversation_id=message.conversation_id)
            if conversation is None:
                raise ConversationNotFound(message.conversation_id)
            if message.idempotency_key:
                stored = idempotency.recall(
                    session,
                    conversation_id=conversation.id,
                    key=message.idempotency_key,
                    fingerprint=fingerprint,
                )
                if stored is not None:
                    return self._replayed(conversation, stored)
            customer = (
                customer_store.get_customer(session, customer_id=conversation.customer_id)
                if conversation.customer_id
                else None
            )
        return _Snapshot(conversation, customer)

    def _write(
        self,
        conversation: Conversation,
        message: InboundMessage,
        fingerprint: str,
        outcome: Outcome,
    ) -> Outcome:
        # Everything but the statements is done before the write opens.
        keep = keeps_contact_details(self.sessions)
        append = store.prepare_append(conversation, outcome.events, keep_contacts=keep)
        outcome = replace(outcome, response=_masked_response(outcome.response, keep))
        answer = (
            idempotency.prepare(
                conversation_id=conversation.id,
                key=message.idempotency_key,
                fingerprint=fingerprint,
                response=outcome.response,
                keep_contacts=keep,
            )
            if message.idempotency_key
            else None
        )
        if self._single_statement is not None:  # PostgreSQL: one round trip
            with self._single_statement.connect() as connection:
                appends.write_message(connection, append, answer)
        else:
            with self.sessions() as session, session.begin():
                store.write_append(session, append)
                if answer is not None:
                    idempotency.store(session, answer)
        for event in append.stored:
            conversation.apply(event)
        self.states.remember(conversation)
        return outcome

    @functools.cached_property
    def _single_statement(self) -> SqlEngine | None:
        """On PostgreSQL, autocommit connections for the one-statement write."""
        bind = self.sessions.kw.get("bind")
        if isinstance(bind, SqlEngine) and bind.dialect.name == "postgresql":
            return bind.execution_options(isolation_level="AUTOCOMMIT")
        return None

    def history(self, conversation_id: str, customer: Customer | None) -> list[dict[str, Any]]:
        """The customer's other recent conversations, on any channel (asked only when a
        conversation is handed over)."""
        if customer is None:
            return []
        with (self.readers or self.sessions)() as session, session.begin():
            return customer_history(session, customer_id=customer.id, exclude=conversation_id)

    def staffing(self) -> Staffing:
        """Who is online now (asked only when a conversation is handed over)."""
        with (self.readers or self.sessions)() as session, session.begin():
            return human_queue.staffing(session, config=self.pipeline.policy.config)

    @staticmethod
    def _replayed(conversation: Conversation, stored: dict[str, Any]) -> Outcome:
        """The answer to a retried request: the stored response, nothing new stored."""
        return Outcome(conversation.id, stored, (), replayed=True)


def _masked_response(response: dict[str, Any], keep_contacts: bool) -> dict[str, Any]:
    """The answer to the channel, masked but for the bot's own reply (see
    `storage.conversations._masked`)."""
    reply = response.get("reply")
    masked = mask_value({**response, "reply": None}, keep_contacts=keep_contacts)
    return {**masked, "reply": reply}


def _fingerprint(message: InboundMessage) -> str:
    """The idempotency fingerprint of a message. Masked first: a plain hash of a card number
    with its last four digits stored beside it could be reversed by trying the digits left."""
    return idempotency.request_fingerprint({"text": mask(message.text), "channel": message.channel})
