"""The actions file's schema: what a business writes to let the bot complete a routine task.

An action names the intents that start it (with a description and example phrases, so actions
the intent model was never trained on are still recognised), the slots it needs, what to
confirm before it changes anything, and the connector operation that runs it. Replies are
Jinja2 templates over the slots and the operation's `result`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SlotType = Literal["text", "number", "money", "date", "time", "email", "phone", "enum", "pattern"]
_NAME = r"^[a-z][a-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntentSpec(_Strict):
    """One way a customer asks for the action. `name` may be an intent of the intent model
    (then its prediction starts the action directly); the description and examples are what
    the encoder compares messages with. `cues` are words or phrases that mark this way of
    asking over a neighbour's that means nearly the same ("instead", "reschedule" tell moving an
    appointment from booking one); a message holding one is counted a little closer. `not`
    lists messages that sound like the action but ask for something else ("I never received my
    refund" is not starting a return): a message closer to one of them than to the action's own
    phrases does not start the action."""

    name: str = Field(pattern=_NAME)
    description: str = Field(min_length=3)
    examples: list[str] = Field(default_factory=list)
    cues: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    unlike: list[Annotated[str, Field(min_length=3)]] = Field(default_factory=list, alias="not")


class SlotSpec(_Strict):
    """One value the action needs. `values` are an enum's allowed values, each with optional
    phrases that mean it (`synonyms`); `pattern` is a regular expression the whole value must
    match (an order-number format); `profile` fills the slot from the customer's email or phone
    on file; `not_past` refuses a date or time already gone; `past` reads a day named without a
    year ("on the 3rd", "on Monday") as the latest one that has come, for things that happened
    (a charge), where booking reads it as the next one."""

    name: str = Field(pattern=_NAME)
    description: str = Field(min_length=3)
    type: SlotType
    required: bool = True
    ask: str | None = None
    values: list[str] = Field(default_factory=list)
    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    pattern: str | None = None
    profile: Literal["email", "phone"] | None = None
    not_past: bool = False
    past: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return pattern

    @model_validator(mode="after")
    def _type_fields(self) -> SlotSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum slot needs `values`")
        if self.type != "enum" and (self.values or self.synonyms):
            raise ValueError("`values` and `synonyms` are for enum slots")
        if self.type == "pattern" and not self.pattern:
            raise ValueError("a pattern slot needs `pattern`")
        if (self.past or self.not_past) and self.type != "date":
            raise ValueError("`past` and `not_past` are for date slots")
        if self.past and self.not_past:
            raise ValueError("a date slot cannot be both `past` and `not_past`")
        unknown = sorted(set(self.synonyms) - set(self.values))
        if unknown:
            raise ValueError(f"synonyms for values not in `values`: {', '.join(unknown)}")
        return self

    @property
    def question(self) -> str:
        """What the bot asks for this slot."""
        return self.ask or f"What is the {self.description[0].lower()}{self.description[1:]}?"


class CallSpec(_Strict):
    """The connector operation that runs the action; `params` maps an operation parameter to
    the slot that fills it (by default every filled slot under its own name)."""

    connector: str = "demo"
    operation: str = Field(pattern=_NAME)
    params: dict[str, str] = Field(default_factory=dict)


class OfferSpec(_Strict):
    """An operation that lists the values a slot can take (free appointment times), called
    when the slot is missing or the chosen value is taken; `key` is the result's list."""

    slot: str
    operation: str = Field(pattern=_NAME)
    key: str
    connector: str = "demo"
    needs: list[str] = Field(default_factory=list)


class ActionSpec(_Strict):
    """One routine action. `title` is how the bot offers it ("explain a charge on your bill")
    when a message only may mean it; `confirm` is asked before an action that changes
    something (None: it only reads); `identity` requires the customer to prove who they are
    first."""

    name: str = Field(pattern=_NAME)
    description: str = Field(min_length=3)
    title: str | None = None
    intents: list[IntentSpec] = Field(min_length=1)
    slots: list[SlotSpec] = Field(default_factory=list)
    identity: bool = False
    confirm: str | None = None
    call: CallSpec
    offer: OfferSpec | None = None
    reply: str = Field(min_length=1)

    @property
    def offer_text(self) -> str:
        """What the bot offers to do when it is not sure this is what the customer wants."""
        return self.title or self.name.replace("_", " ")

    def slot(self, name: str) -> SlotSpec | None:
        """The slot called `name`, if the action has one."""
        return next((slot for slot in self.slots if slot.name == name), None)


class HttpConnectorRef(_Strict):
    """A connector section as written; the HTTP connector validates the rest itself."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: Literal["http"]


class ActionsFile(_Strict):
    """The whole file: connectors by name (the demo backend is built in) and actions."""

    version: Literal[1] = 1
    connectors: dict[str, HttpConnectorRef] = Field(default_factory=dict)
    actions: list[ActionSpec] = Field(min_length=1)

    def action(self, name: str) -> ActionSpec | None:
        """The action called `name`, if any."""
        return next((action for action in self.actions if action.name == name), None)

    def raw_connectors(self) -> dict[str, dict[str, Any]]:
        """Each HTTP connector's settings as written, for `HttpConnectorConfig`."""
        return {name: ref.model_dump() for name, ref in self.connectors.items()}
