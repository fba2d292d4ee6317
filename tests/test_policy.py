"""The escalation policy: each trigger, the policy file and its errors, and how fired triggers
combine into one decision (offers, no double escalation, priority and route)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from policy_support import REGULAR, T0, VIP, Chat, ScriptedAnalyzer, make_analysis
from warmline.domain.conversation import Conversation
from warmline.domain.customer import Customer
from warmline.domain.events import (
    ActionRecorded,
    AgentAssigned,
    AgentMessage,
    DecisionMade,
    HandedBack,
    HandedOff,
)
from warmline.engine import InboundMessage, Outcome, Pipeline
from warmline.handoff.availability import OnlineAgent, Staffing
from warmline.policy.config import (
    ActionFailedConfig,
    AvailabilityConfig,
    FrustrationConfig,
    HighValueConfig,
    OpeningHours,
    PolicyConfig,
    SensitiveTopicConfig,
    TopicConfig,
    TriggersConfig,
)
from warmline.policy.context import ActionProgress, ActionResult, PolicyContext
from warmline.policy.decision import Action, Mode
from warmline.policy.hours import is_open, next_opening
from warmline.policy.loader import DEFAULT_POLICY_FILE, PolicyError, load_config, parse_config
from warmline.policy.offer import classify_offer_reply
from warmline.policy.policy import Policy, load_policy
from warmline.policy.triggers import (
    ActionFailed,
    EscapeHatch,
    Frustration,
    HighValue,
    Loop,
    LowConfidence,
    SensitiveTopic,
)
from warmline.understanding.types import Signal, Trajectory

DOCS = Path(__file__).resolve().parents[1] / "docs" / "policy.md"


def ctx(analysis_kwargs: dict | None = None, **kwargs: object) -> PolicyContext:
    """A one-message context (no earlier turns)."""
    return PolicyContext(
        conversation=Conversation(id="c"),
        analysis=make_analysis(**(analysis_kwargs or {})),
        **kwargs,
    )


# --- the policy file ------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def only_issue(error: pytest.ExceptionInfo[PolicyError]) -> tuple[int | None, str, str]:
    assert len(error.value.issues) == 1, error.value.issues
    issue = error.value.issues[0]
    return issue.line, issue.field, issue.message


def test_the_shipped_default_policy_is_valid_and_complete() -> None:
    config = load_config(DEFAULT_POLICY_FILE)
    policy = Policy()
    assert [t.name for t in policy.triggers] == [
        "escape_hatch",
        "sensitive_topic",
        "frustration",
        "loop",
        "low_confidence",
        "action_failed",
        "high_value",
    ]
    assert set(config.triggers.sensitive_topic.topics) == {
        "bereavement",
        "medical",
        "fraud_security",
        "legal",
        "vulnerability",
    }
    assert config.triggers.low_confidence.threshold == 0.70
    assert config.triggers.loop.clarifications.max == 3
    assert policy.label.startswith("default@")


def test_an_empty_file_means_every_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing changed\n"))
    assert config == PolicyConfig() == load_config(DEFAULT_POLICY_FILE)


def test_the_documented_example_is_refused_as_the_docs_say() -> None:
    example = DOCS.read_text(encoding="utf-8").split("## Example")[1].split("```yaml")[1]
    with pytest.raises(PolicyError) as error:
        parse_config(example.split("```")[0], "example.yaml")
    assert any("unknown team 'care'" in issue.message for issue in error.value.issues)
    fixed = example.split("```")[0].replace(
        "teams:\n  general: {}\n",
        "teams:\n  general: {}\n  care: {}\n  trust_safety: {}\n  complaints: {}\n"
        "  billing: {}\n  orders: {}\n  technical: {}\n",
    )
    assert parse_config(fixed).name == "vip-first"


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "triggers:\n  frustration:\n    level: {threshold: 0.5\n")
    with pytest.raises(PolicyError) as error:
        load_config(path)
    line, _field, message = only_issue(error)
    assert str(path) in str(error.value)
    assert line == 4 and "invalid YAML" in message


def test_an_unknown_trigger_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\ntriggers:\n  frustation:\n    priority: 0.2\n")
    with pytest.raises(PolicyError) as error:
        load_config(path)
    line, field, message = only_issue(error)
    assert (line, field) == (3, "triggers.frustation")
    assert "unknown trigger 'frustation'" in message and "frustration" in message
    assert re.match(rf"{re.escape(str(path))}:3:3: triggers\.frustation: ", str(error.value))


def test_a_threshold_outside_zero_to_one_is_refused(tmp_path: Path) -> None:
    text = "triggers:\n  frustration:\n    level:\n      threshold: 1.5\n"
    with pytest.raises(PolicyError) as error:
        load_config(write(tmp_path, text))
    line, field, message = only_issue(error)
    assert (line, field) == (4, "triggers.frustration.level.threshold")
    assert "less than or equal to 1" in message and "1.5" in message
    with pytest.raises(PolicyError) as negative:
        parse_config("triggers:\n  low_confidence: {threshold: -0.1}\n")
    assert negative.value.issues[0].field == "triggers.low_confidence.threshold"


def test_a_team_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    text = (
        "teams:\n  general: {}\n  billing: {}\n"
        "triggers:\n  sensitive_topic:\n    topics:\n"
        "      fraud: {phrases: [fraud], route: trust_and_safety}\n"
        "routing: {intents: {billing_invoice: billing}}\n"
    )
    with pytest.raises(PolicyError) as error:
        load_config(write(tmp_path, text))
    line, field, message = only_issue(error)
    assert (line, field) == (7, "triggers.sensitive_topic.topics.fraud.route")
    assert "unknown team 'trust_and_safety'" in message and "billing" in message


def test_a_cycle_in_routing_rules_is_refused(tmp_path: Path) -> None:
    text = (
        "teams:\n  general: {}\n"
        "  billing: {overflow_to: payments}\n"
        "  payments: {overflow_to: billing}\n"
        "routing: {intents: {}}\n"
        "triggers: {sensitive_topic: {topics: {}}}\n"
    )
    with pytest.raises(PolicyError) as error:
        load_config(write(tmp_path, text))
    line, field, message = only_issue(error)
    assert (line, field) == (3, "teams.billing.overflow_to")
    assert "routing cycle: billing -> payments -> billing" in message


def test_several_problems_are_reported_together() -> None:
    text = (
        "triggers:\n"
        "  escape_hatch: {mode: offer}\n"
        "  high_value:\n    rules:\n      - {field: tier, gte: 3}\n"
        "availability: {timezone: Mars/Olympus}\n"
        "wibble: 1\n"
    )
    with pytest.raises(PolicyError) as error:
        parse_config(text, "p.yaml")
    found = {(issue.line, issue.field) for issue in error.value.issues}
    assert found == {
        (2, "triggers.escape_hatch.mode"),
        (5, "triggers.high_value.rules[0]"),
        (6, "availability.timezone"),
        (7, "wibble"),
    }
    messages = " ".join(issue.message for issue in error.value.issues)
    assert "always honoured immediately" in messages
    assert "unknown time zone" in messages and "unknown field 'wibble'" in messages


def test_duplicate_keys_and_bad_patterns_are_refused() -> None:
    with pytest.raises(PolicyError) as duplicate:
        parse_config("name: a\nname: b\n")
    assert only_issue(duplicate)[:2] == (2, "name")
    with pytest.raises(PolicyError) as pattern:
        parse_config("triggers:\n  sensitive_topic:\n    topics:\n      x: {patterns: ['(']}\n")
    assert "not a valid regular expression" in pattern.value.issues[0].message
    assert pattern.value.issues[0].line == 4
    with pytest.raises(PolicyError) as not_mapping:
        parse_config("- a\n- b\n")
    assert "mapping" in not_mapping.value.issues[0].message


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as error:
        load_policy(tmp_path / "nope.yaml")
    assert "cannot read" in str(error.value)


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        key = info.alias or name
        names.add(key)
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= _fields(candidate)
    return names


def test_every_policy_field_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", text))
    missing = sorted(_fields(PolicyConfig) - documented)
    assert not missing, f"fields missing from docs/policy.md: {missing}"
    for trigger in TriggersConfig.model_fields:
        assert f"### `{trigger}`" in text


# --- each trigger ---------------------------------------------------------------------------


def test_escape_hatch_is_immediate_whenever_asked() -> None:
    reason = EscapeHatch().evaluate(ctx({"human_request": "talk to a real person"}))
    assert reason is not None and reason.mode is Mode.IMMEDIATE
    assert "talk to a real person" in reason.detail
    assert EscapeHatch().evaluate(ctx()) is None


def test_frustration_fires_on_a_high_conversation_level_with_its_numbers() -> None:
    trajectory = Trajectory(turns=3, level=0.92, last=0.95, consecutive_upset=0)
    reason = Frustration().evaluate(ctx({"frustration": 0.6, "trajectory": trajectory}))
    assert reason is not None and reason.mode is Mode.IMMEDIATE
    assert "frustration 0.92 >= 0.90" in reason.detail
    assert reason.numbers["level"] == 0.92 and "level" in (reason.condition or "")


def test_frustration_on_one_message_needs_anger_evidence() -> None:
    calm_level = Trajectory(turns=1, level=0.0, last=0.0)
    angry = Frustration().evaluate(
        ctx({"frustration": 0.97, "signals": ("profanity",), "trajectory": calm_level})
    )
    assert angry is not None and angry.mode is Mode.IMMEDIATE
    assert "message frustration 0.97 >= 0.95 with profanity" in angry.detail
    sad = Frustration().evaluate(
        ctx({"frustration": 0.97, "signals": ("problem",), "trajectory": calm_level})
    )
    assert sad is None  # a problem described, no sign of being upset: not on one message


def test_frustration_persistent_for_two_turns_escalates_and_says_so() -> None:
    chat = Chat()
    first = chat.say("my refund still has not arrived", frustration=0.82)
    assert first.action is not Action.ESCALATE
    second = chat.say("this is the third week I am waiting", frustration=0.84)
    assert second.action is Action.ESCALATE
    reason = next(r for r in second.reasons if r.trigger == "frustration")
    assert "frustration 0.82 >= 0.80 for 2 turns" in reason.detail
    assert reason.numbers["upset_turns"] == 2


def test_a_spike_and_moderate_frustration_only_offer_a_person() -> None:
    chat = Chat()
    chat.say("hi, can you check my order", frustration=0.05)
    spiked = chat.say("why does nobody answer", frustration=0.82)
    assert spiked.action is Action.OFFER_HANDOFF
    reason = spiked.reasons[0]
    assert reason.mode is Mode.OFFER and "spiked 0.05 -> 0.82" in reason.detail
    moderate = Frustration().evaluate(
        ctx({"frustration": 0.3, "trajectory": Trajectory(turns=4, level=0.87, last=0.3)})
    )
    assert moderate is not None and moderate.mode is Mode.OFFER
    assert "(moderate)" in moderate.detail


def test_content_customers_do_not_trigger_frustration() -> None:
    chat = Chat()
    for text in ("hi", "where is my parcel?", "thanks, that's great"):
        decision = chat.say(text, frustration=0.1)
        assert all(r.trigger != "frustration" for r in decision.reasons)


def test_persistent_frustration_counts_upset_turns_within_a_window() -> None:
    chat = Chat()
    chat.say("the app crashes again", frustration=0.9)
    chat.say("iOS 11.1, iPhone 7", frustration=0.1)  # a factual answer between two complaints
    third = chat.say("still crashing, nothing works", frustration=0.85)
    assert third.action is Action.ESCALATE
    reason = next(r for r in third.reasons if r.trigger == "frustration")
    assert "frustration >= 0.80 in 2 of the last 3 turns (0.90, 0.10, 0.85)" in reason.detail
    strict = Policy(
        PolicyConfig.model_validate({"triggers": {"frustration": {"persistent": {"within": None}}}})
    )
    chat = Chat(policy=strict)
    for text, score in (("crashes", 0.9), ("iOS 11", 0.1), ("still crashing", 0.85)):
        decision = chat.say(text, frustration=score)
    assert decision.action is not Action.ESCALATE
    with pytest.raises(PolicyError):
        parse_config("triggers: {frustration: {persistent: {turns: 3, within: 2}}}")


def test_frustration_conditions_can_be_switched_off() -> None:
    config = FrustrationConfig.model_validate(
        {
            "level": {"threshold": 0.75, "enabled": False},
            "moderate": {"threshold": 0.6, "enabled": False},
        }
    )
    reason = Frustration(config).evaluate(
        ctx({"frustration": 0.2, "trajectory": Trajectory(turns=3, level=0.9, last=0.2)})
    )
    assert reason is None


def test_loop_fires_after_too_many_clarifying_questions() -> None:
    conversation = Conversation(id="c")
    for _ in range(3):
        conversation.apply(DecisionMade(action="clarify"))
    reason = Loop().evaluate(PolicyContext(conversation, make_analysis()))
    assert reason is not None and reason.mode is Mode.IMMEDIATE
    assert "3 clarifying questions in a row >= 3" in reason.detail
    conversation.apply(AgentMessage(agent="a", text="Can you tell me more?"))
    assert Loop().evaluate(PolicyContext(conversation, make_analysis(intent="thanks"))) is None


def test_a_clarification_a_human_answered_in_between_does_not_count() -> None:
    chat = Chat()
    assert chat.say("hmm the thing", confidence=0.3).action is Action.CLARIFY
    chat.add(AgentMessage(agent="agent", text="Could you DM us your order number?"))
    assert chat.say("sent it in DM", confidence=0.3).action is Action.CLARIFY
    assert chat.say("still nothing?", confidence=0.3).action is Action.OFFER_HANDOFF


def test_a_single_upset_message_needs_evidence_not_just_a_high_level() -> None:
    chat = Chat()
    first = chat.say("my export fails and does not say why", frustration=0.93)
    assert first.action is Action.OFFER_HANDOFF  # moderate: offered, not handed over
    assert [r.condition for r in first.reasons if r.trigger == "frustration"] == ["moderate"]


def test_loop_offers_a_person_when_the_same_intent_keeps_coming_back() -> None:
    chat = Chat()
    assert chat.say("where is my order?").action is Action.ANSWER
    assert chat.say("and where is my order now?").action is Action.ANSWER
    third = chat.say("my order, where is it??")
    assert third.action is Action.OFFER_HANDOFF
    assert "intent order_status back again after 2 answers >= 2" in third.reasons[0].detail


def test_loop_notices_the_customer_repeating_themselves() -> None:
    repeated = Signal("repeated_message", 'repeats turn 1: "my card is blocked"', 0.8)
    reason = Loop().evaluate(ctx({"conversation_signals": (repeated,), "intent": "thanks"}))
    assert reason is not None and reason.condition == "repetition"
    assert reason.mode is Mode.OFFER and "repeated themselves (0.80)" in reason.detail
    weak = Signal("repeated_message", "x", 0.3)
    assert Loop().evaluate(ctx({"conversation_signals": (weak,), "intent": "thanks"})) is None


def test_low_confidence_clarifies_once_then_offers_a_person() -> None:
    chat = Chat()
    first = chat.say("the purple elephant", confidence=0.31, intent="warranty")
    assert first.action is Action.CLARIFY
    assert "confidence 0.31 < 0.70; clarifying (1 of 1)" in first.reasons[0].detail
    second = chat.say("quantum banana", intent="oos", out_of_scope=True, confidence=0.2)
    assert second.action is Action.OFFER_HANDOFF
    assert second.reason_names == ["low_confidence"]
    assert "out of scope after 1 clarifying question(s)" in second.reasons[0].detail


def test_low_confidence_also_reads_the_answer_confidence() -> None:
    reason = LowConfidence().evaluate(ctx(answer_confidence=0.3))
    assert reason is not None and "answer confidence 0.30 < 0.40" in reason.detail
    assert LowConfidence().evaluate(ctx(answer_confidence=0.9)) is None


def test_high_value_rules_over_customer_attributes() -> None:
    upset = {"frustration": 0.6}
    reason = HighValue().evaluate(ctx(upset, customer=VIP))
    assert reason is not None and reason.mode is Mode.OFFER
    assert "tier vip" in reason.detail and "lifetime_value 5200 >= 5000" in reason.detail
    calm = HighValue().evaluate(ctx(customer=VIP))
    assert calm is not None and calm.mode is Mode.NOTE
    assert HighValue().evaluate(ctx(upset, customer=REGULAR)) is None
    assert HighValue().evaluate(ctx(upset)) is None
    always = HighValueConfig.model_validate(
        {"when": "always", "mode": "immediate", "rules": [{"field": "plan", "in": ["Gold"]}]}
    )
    gold = Customer(id="g", plan="gold", attributes={"region": "eu"})
    fired = HighValue(always).evaluate(ctx(customer=gold))
    assert fired is not None and fired.mode is Mode.IMMEDIATE
    by_attribute = HighValueConfig.model_validate(
        {"when": "always", "rules": [{"field": "attributes.region", "equals": "EU"}]}
    )
    assert HighValue(by_attribute).evaluate(ctx(customer=gold)) is not None


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("My husband passed away last month and the account is in his name", "bereavement"),
        ("my father died on Sunday, how do I close his phone line", "bereavement"),
        ("I need to talk to someone about my late father's account", "bereavement"),
        ("can you cancel my late mum's contract", "bereavement"),
        ("I was in hospital for two weeks so I missed the payment", "medical"),
        ("there's an unauthorized charge on my statement", "fraud_security"),
        ("I think my account was hacked", "fraud_security"),
        ("my card has been stolen!!", "fraud_security"),
        ("I'll be contacting my lawyer about this", "legal"),
        ("I will take you to small claims court", "legal"),
        ("I can't afford food this week after this charge", "vulnerability"),
        ("I'm disabled and can't get to the store", "medical"),
        ("honestly I feel suicidal about this debt", "vulnerability"),
    ],
)
def test_sensitive_topics_are_recognised(text: str, topic: str) -> None:
    reason = Policy().triggers[1].evaluate(ctx({"text": text}))
    assert reason is not None, text
    assert reason.condition == topic
    assert reason.trigger == "sensitive_topic"


@pytest.mark.parametrize(
    "text",
    [
        "my phone died and won't turn on",
        "thanks for the courtesy call",
        "this is not a scam, right? I just want to check the email",
        "I'm not going to sue anyone, I just want my money back",
        "the battery is dead",
        "I disabled Windows Update and it still restarts",
        "has the supreme court passed an order to link the id to mobile numbers?",
        "why is there a late fee on my mum's bill",
    ],
)
def test_sensitive_topics_ignore_negations_and_near_misses(text: str) -> None:
    assert Policy().triggers[1].evaluate(ctx({"text": text})) is None, text


def test_sensitive_topics_are_configurable_and_matched_by_intent() -> None:
    config = SensitiveTopicConfig(
        topics={
            "gambling": TopicConfig(phrases=["gambling addiction"], route="care", senior=True),
            "lost_card": TopicConfig(intents=["lost_or_stolen_card"], mode="offer"),
        }
    )
    trigger = SensitiveTopic(config)
    gambling = trigger.evaluate(ctx({"text": "I have a GAMBLING  addiction, block my card"}))
    assert gambling is not None and gambling.route == "care" and gambling.senior
    by_intent = trigger.evaluate(ctx({"text": "help", "intent": "lost_or_stolen_card"}))
    assert by_intent is not None and by_intent.mode is Mode.OFFER
    assert "intent lost_or_stolen_card" in by_intent.detail
    long_text = "fine " * 30_000 + "my card was stolen"
    assert Policy().triggers[1].evaluate(ctx({"text": long_text})) is not None


def test_action_failed_offers_then_hands_over() -> None:
    error = ActionResult("order_lookup", "error", "timeout from the order system")
    first = ActionFailed().evaluate(ctx(action_result=error))
    assert first is not None and first.mode is Mode.OFFER
    assert "action order_lookup errored: timeout" in first.detail
    conversation = Conversation(id="c")
    conversation.apply(ActionRecorded(action="order_lookup", status="empty"))
    second = ActionFailed().evaluate(
        PolicyContext(conversation, make_analysis(), action_result=ActionResult("x", "empty"))
    )
    assert second is not None and second.mode is Mode.IMMEDIATE
    assert "returned nothing useful" in second.detail
    assert ActionFailed().evaluate(ctx(action_result=ActionResult("x", "ok"))) is None
    immediate = ActionFailed(ActionFailedConfig(mode="immediate")).evaluate(
        ctx(action_result=error)
    )
    assert immediate is not None and immediate.mode is Mode.IMMEDIATE


# --- combining what fired -------------------------------------------------------------------


def test_an_immediate_reason_wins_and_every_reason_is_kept() -> None:
    chat = Chat(customer=VIP)
    decision = chat.say(
        "someone used my card, I want a human NOW",
        frustration=0.96,
        signals=("anger",),
        human_request="I want a human",
    )
    assert decision.action is Action.ESCALATE
    assert decision.reason_names == ["escape_hatch", "sensitive_topic", "frustration"]
    # The upset VIP's offer did not decide, but it stays among the reasons, with its mode.
    assert [(r.trigger, r.mode) for r in decision.reasons][-1] == ("high_value", Mode.OFFER)
    assert decision.route == "trust_safety"  # the highest-priority routed reason
    assert decision.senior  # frustration 0.96 >= routing.senior_at
    # 0.5 * min(1, sum of immediate priorities) + 0.3 * 0.96 + 0.2 * 1.0 (VIP)
    assert decision.priority == pytest.approx(0.5 + 0.288 + 0.2)
    assert decision.frustration == 0.96
    assert decision.policy == Policy().label


def test_priority_grows_with_frustration_and_customer_value() -> None:
    def escalate(customer: object, frustration: float) -> float:
        chat = Chat(customer=customer)  # type: ignore[arg-type]
        return chat.say("agent please", frustration=frustration, human_request="agent").priority

    calm_unknown = escalate(None, 0.0)
    upset_unknown = escalate(None, 0.7)
    upset_regular = escalate(REGULAR, 0.7)
    upset_vip = escalate(VIP, 0.7)
    assert calm_unknown == pytest.approx(0.25)
    assert calm_unknown < upset_unknown < upset_regular < upset_vip <= 1.0


def test_the_route_falls_back_to_the_intent_team_then_the_default_team() -> None:
    billing = Chat().say("agent", intent="billing_invoice", human_request="agent")
    assert billing.route == "billing" and not billing.senior
    unknown = Chat().say("agent", intent="oos", out_of_scope=True, human_request="agent")
    assert unknown.route == "general"


def test_the_bot_stays_quiet_with_a_person_and_never_escalates_twice() -> None:
    chat = Chat()
    assert chat.say("I want a person", human_request="a person").escalates
    again = chat.say("HELLO??? a person please", frustration=0.95, human_request="a person")
    assert again.action is Action.STAY_QUIET
    chat.add(AgentAssigned(agent="alex"))
    assert chat.say("still there?", human_request="a person").action is Action.STAY_QUIET
    handoffs = [d for d in chat.decisions if d.escalates]
    assert len(handoffs) == 1


def test_after_a_hand_back_the_episode_starts_afresh() -> None:
    chat = Chat()
    chat.say("this is useless", frustration=0.85)
    assert chat.say("still broken", frustration=0.85).escalates
    chat.add(AgentAssigned(agent="alex"), HandedBack(agent="alex"))
    # One more upset turn after the hand-back is not "persistent" yet: the episode restarted.
    after = chat.say("ok but one more thing is wrong", frustration=0.82)
    assert not after.escalates


def test_accepting_an_offer_escalates_with_the_offered_route() -> None:
    chat = Chat(customer=VIP)
    offer = chat.say("my bill is wrong again", frustration=0.55, intent="billing_invoice")
    assert offer.action is Action.OFFER_HANDOFF and offer.route == "billing"
    accepted = chat.say("yes please", intent="thanks")
    assert accepted.action is Action.ESCALATE
    assert accepted.reasons[0].trigger == "offer_accepted"
    assert accepted.route == "billing"
    assert "customer accepted the offer of a person (high_value)" in accepted.reasons[0].detail


def test_declining_an_offer_continues_and_it_is_not_offered_again() -> None:
    chat = Chat(customer=VIP)
    assert chat.say("my bill is wrong", frustration=0.55).action is Action.OFFER_HANDOFF
    declined = chat.say("no thanks, just tell me the amount", frustration=0.3)
    assert declined.action is Action.ANSWER
    assert [r.trigger for r in declined.reasons] == ["offer_declined"]
    assert "declined" in declined.reasons[0].detail
    chat.say("ok", frustration=0.3, intent="thanks")
    still_upset = chat.say("hmm ok", frustration=0.52, intent="thanks")
    assert still_upset.action is Action.ANSWER
    assert [(r.trigger, r.mode) for r in still_upset.reasons] == [("high_value", Mode.NOTE)]
    assert "(already offered)" in still_upset.reasons[0].detail


def test_offers_are_limited_per_episode() -> None:
    policy = Policy(PolicyConfig.model_validate({"offers": {"max_per_episode": 1}}))
    chat = Chat(policy=policy, customer=VIP)
    assert chat.say("bill wrong", frustration=0.55).action is Action.OFFER_HANDOFF
    chat.say("no", frustration=0.1)
    chat.say("ok", frustration=0.1, intent="thanks")
    spiked = chat.say("WHY is it wrong again", frustration=0.84, intent="billing_invoice")
    assert spiked.action is Action.ANSWER
    frustration = next(r for r in spiked.reasons if r.trigger == "frustration")
    assert frustration.mode is Mode.NOTE and "spiked" in frustration.detail
    assert "(offers used up)" in frustration.detail


def test_an_immediate_trigger_still_escalates_after_a_declined_offer() -> None:
    chat = Chat(customer=VIP)
    chat.say("bill wrong", frustration=0.55)
    chat.say("no thanks", frustration=0.2)
    assert chat.say("get me a manager", human_request="a manager").escalates


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("yes", "accept"),
        ("Yes please!", "accept"),
        ("yeah, my order still hasn't arrived", "accept"),
        ("sure", "accept"),
        ("please", "accept"),
        ("that would be great", "accept"),
        ("no", "decline"),
        ("No thanks, it's fine", "decline"),
        ("nope", "decline"),
        ("I'm fine", "decline"),
        ("ok but not now", None),
        ("please fix my router", None),
        ("what is my balance?", None),
    ],
)
def test_offer_replies(reply: str, expected: str | None) -> None:
    assert classify_offer_reply(reply) == expected


def test_act_intents_are_acted_on() -> None:
    policy = Policy(PolicyConfig.model_validate({"act_intents": ["order_status"]}))
    assert Chat(policy=policy).say("where is my order 123?").action is Action.ACT
    assert Chat().say("where is my order 123?").action is Action.ANSWER


def test_a_decision_is_fast_enough_for_a_long_conversation() -> None:
    chat = Chat()
    for turn in range(60):
        decision = chat.say(f"message number {turn} about my router", intent="activation")
    assert decision.action in (Action.ANSWER, Action.OFFER_HANDOFF)


# --- business hours -------------------------------------------------------------------------


def test_business_hours_and_the_next_opening() -> None:
    config = AvailabilityConfig(
        timezone="Europe/Madrid",
        hours=[OpeningHours(days=["mon", "tue", "wed", "thu", "fri"], open="09:00", close="18:00")],
        closed_dates=["2026-12-25"],
    )
    wednesday_noon = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)  # 12:00 in Madrid
    friday_evening = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)  # 19:30 in Madrid
    assert is_open(config, wednesday_noon)
    assert not is_open(config, friday_evening)
    opening = next_opening(config, friday_evening)
    assert opening is not None and opening.isoformat() == "2026-11-23T09:00:00+01:00"
    christmas = datetime(2026, 12, 25, 11, 0, tzinfo=UTC)
    assert not is_open(config, christmas)
    assert next_opening(config, christmas).date().isoformat() == "2026-12-28"  # type: ignore[union-attr]
    assert is_open(AvailabilityConfig(hours=[]), friday_evening)


# --- through the pipeline (scripted understanding) ------------------------------------------


def run(
    pipeline: Pipeline, conversation: Conversation, text: str, minute: int, **kw: object
) -> Outcome:
    outcome = pipeline.process(
        conversation,
        InboundMessage(conversation.id, text, ts=T0 + timedelta(minutes=minute)),
        None,
        **kw,  # type: ignore[arg-type]
    )
    for event in outcome.events:
        conversation.apply(event)
    return outcome


def scripted_pipeline(**script: dict) -> Pipeline:
    return Pipeline(analyzer=ScriptedAnalyzer(script), policy=Policy())


def test_the_pipeline_offers_then_hands_over_when_the_customer_says_yes() -> None:
    pipeline = scripted_pipeline(
        **{
            "my bill is wrong": {"frustration": 0.88, "intent": "billing_invoice"},
            "yes please": {"intent": "thanks"},
        }
    )
    asked: list[int] = []

    def staffing() -> Staffing:
        asked.append(1)
        return Staffing(online=(OnlineAgent("bea", skills=frozenset({"billing"})),), queued=0)

    conversation = Conversation(id="c1")
    offer = run(pipeline, conversation, "my bill is wrong", 0, staffing=staffing)
    assert offer.response["decision"] == "offer_handoff" and not offer.escalated
    assert "connect you with a person from our team" in (offer.reply or "")
    assert asked == []  # availability is only read when a conversation is handed over
    accepted = run(pipeline, conversation, "yes please", 1, staffing=staffing)
    assert accepted.escalated and accepted.response["route"] == "billing"
    handoff = next(e for e in accepted.events if isinstance(e, HandedOff))
    assert handoff.reasons == ["offer_accepted"] and handoff.staffing["situation"] == "available"
    assert "passing you to a member of the team" in (accepted.reply or "")
    decision = next(e for e in accepted.events if isinstance(e, DecisionMade))
    assert decision.policy == Policy().label and decision.reasons[0]["trigger"] == "offer_accepted"
    assert asked == [1]


def test_nobody_available_means_an_honest_notice_and_the_conversation_stays_queued() -> None:
    pipeline = scripted_pipeline(**{"get me a human": {"human_request": "a human"}})
    conversation = Conversation(id="c2")
    outcome = run(pipeline, conversation, "get me a human", 0, staffing=Staffing)
    assert outcome.escalated and conversation.status.value == "queued"
    assert "Nobody from the team is available this minute" in (outcome.reply or "")
    quiet = run(pipeline, conversation, "hello?", 1)
    assert quiet.response["decision"] == "stay_quiet" and quiet.reply is None
    reminded = run(pipeline, conversation, "anyone there?", 12)
    assert reminded.response["decision"] == "stay_quiet"
    assert "still in the queue" in (reminded.reply or "")
    handoffs = [e for e in conversation.events if isinstance(e, HandedOff)]
    assert len(handoffs) == 1


def test_a_reloaded_policy_takes_effect_on_the_next_message() -> None:
    pipeline = scripted_pipeline(**{"hmm": {"frustration": 0.87}})
    assert run(pipeline, Conversation(id="a"), "hmm", 0).response["decision"] == "offer_handoff"
    pipeline.policy = Policy(
        PolicyConfig.model_validate(
            {
                "name": "strict",
                "triggers": {"frustration": {"moderate": {"threshold": 0.85, "mode": "immediate"}}},
            }
        )
    )
    outcome = run(pipeline, Conversation(id="b"), "hmm", 0)
    assert outcome.escalated and outcome.decision is not None
    assert outcome.decision.policy is not None and outcome.decision.policy.startswith("strict@")


def test_an_action_in_progress_changes_what_low_confidence_loop_and_frustration_do() -> None:
    policy = Policy()
    unsure = make_analysis("3pm works", intent="oos", confidence=0.2, out_of_scope=True)
    conversation = Conversation(id="c-action")
    asking = ActionProgress("book_appointment", questions=2)
    plain = policy.decide(PolicyContext(conversation=conversation, analysis=unsure))
    assert plain.action in (Action.CLARIFY, Action.OFFER_HANDOFF)
    during = policy.decide(PolicyContext(conversation=conversation, analysis=unsure, action=asking))
    assert during.action is Action.ACT  # the action's dialogue understood "3pm works"
    upset = make_analysis(
        "this is taking forever!!", frustration=0.95, signals=("annoyance", "exclamations")
    )
    angry = policy.decide(PolicyContext(conversation=conversation, analysis=upset))
    assert angry.action is Action.ESCALATE
    helped = policy.decide(PolicyContext(conversation=conversation, analysis=upset, action=asking))
    assert helped.action is Action.OFFER_HANDOFF  # offered, and the action carries on
    assert any("(during action)" in r.detail for r in helped.reasons)
    calm = make_analysis("friday")
    looping = ActionProgress("book_appointment", questions=6)
    offered = policy.decide(PolicyContext(conversation=conversation, analysis=calm, action=looping))
    assert offered.action is Action.OFFER_HANDOFF
    assert "action_questions" in {r.condition for r in offered.reasons}
    stuck = ActionProgress("book_appointment", questions=12)
    handed = policy.decide(PolicyContext(conversation=conversation, analysis=calm, action=stuck))
    assert handed.action is Action.ESCALATE
