"""Customer value: rules over tier, plan, lifetime value and other attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warmline.domain.customer import Customer
from warmline.policy.config import HighValueConfig, ValueRule
from warmline.policy.context import PolicyContext
from warmline.policy.decision import Mode, Reason
from warmline.policy.triggers.base import Trigger, fired


def attribute(customer: Customer, name: str) -> Any:
    """A customer attribute by rule field name (`tier`, `plan`, `lifetime_value`,
    `attributes.KEY`)."""
    if name.startswith("attributes."):
        return customer.attributes.get(name.removeprefix("attributes."))
    return getattr(customer, name, None)


def rule_matches(rule: ValueRule, customer: Customer) -> bool:
    """True when the customer's attribute passes the rule (text compares case-insensitively)."""
    value = attribute(customer, rule.field)
    if value is None:
        return False
    if rule.at_least is not None or rule.at_most is not None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        if rule.at_least is not None:
            return number >= rule.at_least
        return rule.at_most is not None and number <= rule.at_most
    text = str(value).strip().lower()
    if rule.one_of is not None:
        return text in {option.strip().lower() for option in rule.one_of}
    return text == str(rule.equals).strip().lower()


def describe(rule: ValueRule, customer: Customer) -> str:
    """`tier vip`, `lifetime_value 5200 >= 5000`."""
    value = attribute(customer, rule.field)
    if rule.at_least is not None:
        return f"{rule.field} {float(value):g} >= {rule.at_least:g}"
    if rule.at_most is not None:
        return f"{rule.field} {float(value):g} <= {rule.at_most:g}"
    return f"{rule.field} {value}"


def matching_rules(config: HighValueConfig, customer: Customer | None) -> list[ValueRule]:
    """The rules this customer passes (empty without a known customer)."""
    if customer is None:
        return []
    return [rule for rule in config.rules if rule_matches(rule, customer)]


@dataclass
class HighValue(Trigger):
    """Fires for a high-value customer `always`, only when `upset`, or `never` (then it is only
    a note that raises queue priority when something else escalates)."""

    config: HighValueConfig = field(default_factory=HighValueConfig)
    name: str = "high_value"

    def evaluate(self, context: PolicyContext) -> Reason | None:
        customer = context.customer
        rules = matching_rules(self.config, customer)
        if customer is None or not rules:
            return None
        why = ", ".join(describe(rule, customer) for rule in rules)
        upset = max(context.analysis.emotion.frustration, context.analysis.trajectory.level)
        numbers = {"lifetime_value": float(customer.lifetime_value), "frustration": round(upset, 4)}
        when = self.config.when
        if when == "always" or (when == "upset" and upset >= self.config.upset_at):
            detail = f"high-value customer ({why})"
            if when == "upset":
                detail += f", upset {upset:.2f} >= {self.config.upset_at:.2f}"
            return fired(self.name, self.config, detail, numbers=numbers, condition=when)
        return fired(
            self.name, self.config, f"high-value customer ({why})", mode=Mode.NOTE, numbers=numbers
        )
