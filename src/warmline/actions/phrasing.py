"""What the bot says while it runs an action: the action file's templates (rendered in a
sandbox, since a business writes them) and the desk's own fixed sentences."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from warmline.actions.spec import ActionSpec, SlotSpec
from warmline.actions.values import human_date

log = logging.getLogger(__name__)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(value: Any) -> str:
    """Jinja filter: an ISO date as "Tuesday 1 December"; anything else unchanged."""
    text = str(value)
    return human_date(text) if _ISO_DATE.match(text) else text


_env = SandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)
_env.filters["day"] = _day


@lru_cache(maxsize=512)
def _compiled(template: str) -> Template:
    """Templates are compiled once (compiling costs far more than rendering)."""
    return _env.from_string(template)


def environment() -> SandboxedEnvironment:
    """The environment action templates render in (the loader checks them against it)."""
    return _env


def render(template: str, spec: ActionSpec, slots: dict[str, str], **extra: Any) -> str:
    """A template of the action with its slots (dates said as days) and `extra` (`result`)."""
    values = {
        name: human_date(value) if (slot := spec.slot(name)) and slot.type == "date" else value
        for name, value in slots.items()
    }
    for slot in spec.slots:
        values.setdefault(slot.name, "")
    try:
        return " ".join(_compiled(template).render(**values, **extra).split())
    except (TemplateError, TypeError, ValueError, LookupError, AttributeError) as error:
        # A business's template over a backend's answer of an unexpected shape ("| length"
        # of a number): the action still reports, in the desk's own words.
        log.warning("action %s: template failed: %s", spec.name, error)
        return ""


def questions(spec: ActionSpec, slots: list[SlotSpec], filled: dict[str, str]) -> str:
    """One sentence per slot asked, from its `ask` template or its description."""
    asked = [render(slot.ask, spec, filled) if slot.ask else slot.question for slot in slots]
    return " ".join(question for question in asked if question)


def label(slot: SlotSpec) -> str:
    """What a slot is called in a sentence: "order number of the order to return" -> "order
    number"."""
    return re.split(r",| of (?:the|a|an|your) ", slot.description)[0]


def kept(spec: ActionSpec, slots: dict[str, str]) -> str:
    """The identifiers the customer has given ("order number 51877"): what a reply names so
    that the customer sees it was heard. Free text and enum values are not repeated."""
    given = [
        f"{label(slot)} {slots[slot.name]}"
        for slot in spec.slots
        if slot.name in slots and slot.type == "pattern"
    ]
    return listing(given)


def listing(values: list[str], last: str = "and") -> str:
    """ "a, b and c" (or "a, b or c")."""
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} {last} {values[-1]}"


def choices(slot: SlotSpec) -> list[str]:
    """An enum slot's values as the customer would say them ("wrong item")."""
    said = []
    for value in slot.values:
        words = value.split("_")
        # "doesnt_fit" is said as its synonym "doesn't fit", "changed_mind" as "changed my mind".
        same = [s for s in slot.synonyms.get(value, []) if _in_order(words, s.replace("'", ""))]
        said.append(min(same, key=len) if same else " ".join(words))
    return said


def _in_order(words: list[str], phrase: str) -> bool:
    """True when `words` appear in `phrase` in that order (others may come between)."""
    rest = iter(phrase.lower().split())
    return all(any(word == other for other in rest) for word in words)


def masked_address(email: str) -> str:
    """Where a code went, without spelling the address out: "a***@example.com"."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "the address on file"


NOT_THAT = "All right. What can I help you with?"
CANCELLED = (
    "No problem, I've stopped there and nothing was changed. Is there anything else I can do?"
)
WHAT_TO_CHANGE = "No problem. What would you like to change?"
UNAVAILABLE = (
    "I'm sorry, I couldn't reach our {system} just now, so nothing was changed. "
    "Please try again in a little while, or I can pass this to a colleague."
)
NOT_FOUND = "I couldn't find {what} {value} on your account. Could you check it and send it again?"
NOT_FOUND_ANY = (
    "I couldn't find that on your account. Could you check the details and send them again?"
)
REFUSED = "That didn't work: {detail}."
TAKEN = "Sorry, {value} has just been taken."
CODE_SENT = (
    "To keep your account safe I need to check it's you: I've sent a 6-digit code to {where}. "
    "What is the code?"
)
CODE_SENT_MAYBE = (
    "Thanks. If {where} is the address on your account, a 6-digit code is on its way to it. "
    "What is the code?"
)
ASK_EMAIL = (
    "To keep your account safe I need to check it's you. What is the email address on your "
    "account? I'll send a code there."
)
# The same question when the customer has already given something: it is kept, not asked again.
ASK_EMAIL_HAVING = (
    "I can help with {kept}. To keep your account safe I need to check it's you first. What "
    "is the email address on your account? I'll send a code there."
)
ASK_EMAIL_STILL = (
    "I have your {kept} and will carry on as soon as I've checked it's you. What is the email "
    "address on your account? I'll send a code there."
)
CODE_WRONG = "That code doesn't match. Please check the latest email and try again."
CODE_EXPIRED = "That code has expired, so I've sent a new one. What is the new code?"
CODE_AGAIN = "I've sent a new code. What is it?"
CODE_NEEDED = "What is the 6-digit code from the email? If it hasn't arrived, I can send another."
CODE_FAILED = (
    "I'm sorry, I couldn't confirm it's you, so I can't show account details here. "
    "A colleague can help you with this."
)
NO_ACCOUNT = (
    "I couldn't find an account with the email address you're signed in with, so I can't look "
    "this up here. A colleague can help you with it."
)
VERIFIED = "Thanks, that's you confirmed."
CHOICES = "The choices are {choices}."
NO_SLOTS_FREE = "There are no free times on {day}. Which other day would suit you?"
CONFIRM_AGAIN = "Just to check before I go ahead:"
YES_OR_NO = "Please answer yes to go ahead, or no to change something."
