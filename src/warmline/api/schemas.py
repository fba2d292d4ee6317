"""Request and response bodies of the HTTP API (validated, bounded).

Text is checked once, here at the edge: a NUL character or a lone UTF-16 surrogate in any
string of a request is refused with 422 (PostgreSQL cannot store the first, no encoder can
write the second, and either would break every later read of the conversation). The JSON
Schema says so with a `pattern`, so clients and fuzzers see the same rule the server applies.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_NAME = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ID_PATTERN = r"^[A-Za-z0-9_.@-]{1,100}$"
# Patterns spell their character classes out (no \s): Python, the Rust engine that pydantic
# uses and the ECMA reading of JSON Schema disagree on what \s covers.
EMAIL_PATTERN = r"^[^@\x00-\x20\x7f]{1,64}@[^@.\x00-\x20\x7f]+(\.[^@.\x00-\x20\x7f]+)+$"
# What str.isspace() calls space, plus invisible format characters: "blank" for a message.
_SPACE = (
    r"\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\u180e\u200b-\u200d\u2060\ufeff"  # and the invisible ones (zero-width, BOM)
)
# In the JSON Schema: any text without NUL; "visible" text also has a non-space character.
NO_NUL_PATTERN = r"^[^\x00]*$"
VISIBLE_PATTERN = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_VISIBLE = re.compile(rf"[^\x00{_SPACE}]")


def unsafe_text_problem(text: str) -> str | None:
    """Why a string cannot be accepted (a NUL or a lone surrogate), or None."""
    bad = _UNSAFE.search(text)
    if bad is None:
        return None
    what = "a NUL character (U+0000)" if bad.group() == "\x00" else "a lone UTF-16 surrogate"
    return f"contains {what} at position {bad.start()}"


def _refuse_unsafe(value: Any) -> Any:
    """Walk a submitted value; raise on the first string that cannot be stored."""
    if isinstance(value, str):
        problem = unsafe_text_problem(value)
        if problem:
            raise ValueError(f"the text {problem}")
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_unsafe(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unsafe(key)
            _refuse_unsafe(item)
    return value


def text_field(
    default: Any = ..., *, max_length: int, min_length: int | None = None, visible: bool = False
) -> Any:
    """A text field whose schema states the NUL rule (and, if `visible`, non-blankness)."""
    pattern = VISIBLE_PATTERN if visible else NO_NUL_PATTERN
    return Field(
        default,
        min_length=min_length,
        max_length=max_length,
        json_schema_extra={"pattern": pattern},
    )


class RequestBody(BaseModel):
    """Every request body: unknown fields and unstorable text are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return _refuse_unsafe(value)


def _visible(text: str) -> str:
    if not _VISIBLE.search(text):
        raise ValueError("the text is empty")
    return text


class CustomerIn(RequestBody):
    """Who is writing in, as far as the channel knows."""

    name: str | None = text_field(None, max_length=MAX_NAME)
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="An address of the form local@domain.tld (no spaces, one '@').",
    )
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[+0-9 ().-]{5,40}$")
    external_id: str | None = text_field(None, max_length=200)
    tier: str | None = text_field(None, max_length=50)
    plan: str | None = text_field(None, max_length=100)
    lifetime_value: float = Field(default=0.0, ge=0, le=1e12, allow_inf_nan=False, strict=True)


Channel = Literal["web", "email", "voice", "sms", "api"]


class ConversationIn(RequestBody):
    """Open a conversation."""

    channel: Channel = "web"
    customer: CustomerIn | None = None
    identity_signature: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description=(
            "HMAC-SHA256 (hex) of 'warmline-identity:' + the customer's email, lower-cased, "
            "keyed with WARMLINE_IDENTITY_SECRET: the site signed this customer in, so their "
            "email recognises them and account data needs no emailed code."
        ),
    )


class ConversationCreated(BaseModel):
    """A new conversation and the customer's token for it."""

    id: str
    token: str
    customer_id: str | None
    status: str


class MessageIn(RequestBody):
    """One customer message. The longest accepted text is `WARMLINE_MAX_MESSAGE_CHARS`.

    `ts` is the time on the customer's device: it is kept as `client_ts` for display and never
    used for ordering or service levels, which run on the server's clock.
    """

    text: str = text_field(min_length=1, max_length=1_000_000, visible=True)
    channel: Channel | None = None
    ts: AwareDatetime | None = Field(
        default=None, description="The device's time, with its offset; shown, never trusted."
    )

    _not_blank = field_validator("text")(_visible)


class ActionOut(BaseModel):
    """The routine action this message moved on: its status and the slots the reply asks
    for (a channel may show a date picker for `date`)."""

    name: str
    status: str
    asking: list[str] = Field(default_factory=list)


class MessageOut(BaseModel):
    """What the engine did with the message."""

    conversation_id: str
    decision: str
    reasons: list[dict[str, Any]]
    reply: str | None
    escalated: bool
    priority: float = 0.0
    route: str | None = None
    action: ActionOut | None = None
    replayed: bool = False


class AgentTextIn(RequestBody):
    """An agent's message or note."""

    text: str = text_field(min_length=1, max_length=20_000, visible=True)

    _not_blank = field_validator("text")(_visible)


Disposition = Literal["solved", "workaround", "not_solved", "duplicate", "spam"]
DISPOSITIONS: tuple[str, ...] = get_args(Disposition)


class ResolveIn(RequestBody):
    """How the conversation ended (an internal label for reports) and an internal note."""

    disposition: Disposition = "solved"
    note: str = text_field(default="", max_length=2000)


class TypingIn(RequestBody):
    """Whether the caller is typing now (send false when they stop)."""

    typing: bool


class WidgetSessionIn(RequestBody):
    """A signed-in customer of the site: their id there and the site's HMAC of it."""

    user_id: str = Field(min_length=1, max_length=200, pattern=r"^[!-~]+$")
    user_hash: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]+$")
    name: str | None = text_field(default=None, max_length=200)
    email: str | None = text_field(default=None, max_length=320)
    email_signature: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description=(
            "The site's signature of `email` (the recipe of `identity_signature`: HMAC-SHA256 "
            "of 'warmline-identity:' + the email, lower-cased): the site has confirmed this "
            "address, so it recognises the customer on the email channel too."
        ),
    )


class WidgetSessionOut(BaseModel):
    """The customer's open web conversation (resumed) or a new one, and its token."""

    conversation_id: str
    token: str
    resumed: bool


class MineItem(BaseModel):
    """An open conversation assigned to the calling agent."""

    id: str
    status: str
    priority: float
    frustration: float
    customer_name: str | None
    last_text: str | None
    updated_at: datetime


class DraftIn(RequestBody):
    """An agent's draft reply, to coach (it may be empty while they start typing)."""

    draft: str = Field(default="", max_length=20_000)


class TipOut(BaseModel):
    code: str
    message: str
    evidence: str = ""


class SuggestedReplyOut(BaseModel):
    source: Literal["knowledge", "agents", "llm"]
    text: str
    title: str | None = None
    url: str | None = None


class CoachingOut(BaseModel):
    """Tips on the draft, its tone (0 cold or hostile .. 1 warm and clear) and replies that
    worked before."""

    tone: float
    tips: list[TipOut]
    replies: list[SuggestedReplyOut]
    llm_notice: str | None = None


class IntentCorrectionIn(RequestBody):
    """What the customer message at `seq` (as the event log numbers it) really asked for."""

    seq: int = Field(ge=1, le=10_000_000)
    intent: str = Field(min_length=1, max_length=100)


class AnswerFlagIn(RequestBody):
    """The bot answer at `seq` was wrong; `right` is the key of the section that answers the
    question (`warmline kb search` shows keys), if there is one."""

    seq: int = Field(ge=1, le=10_000_000)
    right: str | None = Field(default=None, min_length=1, max_length=500)


class EscalationVerdictIn(RequestBody):
    """The handoff was unnecessary (the bot could have done it) or late."""

    verdict: Literal["unnecessary", "late"]
    note: str = Field(default="", max_length=2000)


class FeedbackIn(RequestBody):
    """The customer's survey answer; any field may be left out (it keeps an earlier answer)."""

    csat: int | None = Field(default=None, ge=1, le=5)
    nps: int | None = Field(default=None, ge=0, le=10)
    felt_heard: bool | None = None
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    """The survey answer as it now stands."""

    csat: int | None = None
    nps: int | None = None
    felt_heard: bool | None = None
    comment: str | None = None


Role = Literal["agent", "supervisor", "admin"]


class AgentIn(RequestBody):
    """Create an agent. `role`: agents work conversations; supervisors also see every agent
    and reassign or close any conversation; admins also manage agents and the policy."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = text_field(min_length=1, max_length=MAX_NAME, visible=True)
    skills: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,50}$")]] = Field(
        default_factory=list, max_length=50
    )
    seniority: Literal["junior", "regular", "senior", "lead"] = "regular"
    team: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role = "agent"
    # For the console's sign-in (Argon2-hashed; never shown again).
    password: str | None = text_field(default=None, min_length=10, max_length=1000)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, agent_id: str) -> str:
        if agent_id == "admin":
            raise ValueError("'admin' is reserved for the API key's own identity")
        return agent_id


class AgentStatusIn(RequestBody):
    """An agent's availability; sending it again is the heartbeat that keeps them online."""

    status: Literal["online", "away", "offline"]


class AssignIn(RequestBody):
    """Give a conversation to a named agent (supervisors and admins)."""

    agent: str = Field(pattern=ID_PATTERN)


class AgentOut(BaseModel):
    """An agent as administrators see it (never the token)."""

    id: str
    name: str
    team: str | None
    skills: list[str]
    seniority: str
    role: str
    status: str
    last_seen: datetime | None
    open_conversations: int = 0


class PasswordIn(RequestBody):
    """A new console password (at least 10 characters)."""

    password: str = text_field(min_length=10, max_length=1000)


class MyPasswordIn(PasswordIn):
    """The agent's current password and the new one."""

    current: str = text_field(min_length=1, max_length=1000)


class AgentCreated(BaseModel):
    """A new agent and its token, shown this once."""

    id: str
    token: str


class ConversationState(BaseModel):
    """Where a conversation stands after an agent's action."""

    id: str
    status: str
    agent: str | None


class ConversationOut(BaseModel):
    """A conversation's state and its events. Customers see what was said and who joined;
    staff also see the analysis, decisions with their reasons, the packet and notes."""

    id: str
    status: str
    agent: str | None
    customer_id: str | None
    channel: str
    priority: float | None
    events: list[dict[str, Any]]


class EventsOut(BaseModel):
    """Events after a given `seq`, and the conversation's last `seq` to ask from next time."""

    events: list[dict[str, Any]]
    last_seq: int


class QueueItem(BaseModel):
    """One conversation waiting for a person: why it was escalated (every reason with its
    numbers), its base and effective priority (base + waiting time), route and seniority."""

    id: str
    priority: float
    route: str | None
    queued_at: datetime | None
    reasons: list[str]
    packet: dict[str, Any]
    effective_priority: float = 0.0
    waiting_seconds: float = 0.0
    senior: bool = False
    frustration: float = 0.0
    reason_details: list[dict[str, Any]] = Field(default_factory=list)
    sla_breaches: list[str] = Field(default_factory=list)


class PacketOut(BaseModel):
    """The handoff packet as it stands now (docs/handoff.md), and where its summary and first
    line came from (docs/llm.md). Fields the packet gains later pass through."""

    model_config = ConfigDict(extra="allow")

    bullets: list[str]
    suggested_first_line: str
    summary_source: Literal["llm", "offline"]
    llm_notice: str | None = None
    intent: str | None = None
    goal: str = ""
    entities: list[dict[str, Any]] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    tried: list[str] = Field(default_factory=list)
    emotion: dict[str, Any] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    customer: dict[str, Any] | None = None
    turns: int = 0


class TurnIn(RequestBody):
    """One turn of a past conversation, with the time it really happened."""

    speaker: Literal["customer", "agent"]
    text: str = text_field(min_length=1, max_length=1_000_000, visible=True)
    ts: AwareDatetime = Field(description="When it was said, with its offset; 1970 or later.")

    @field_validator("ts")
    @classmethod
    def _in_our_era(cls, ts: datetime) -> datetime:
        if ts < EPOCH:
            raise ValueError("a turn cannot be dated before 1970-01-01T00:00:00Z")
        return ts

    _not_blank = field_validator("text")(_visible)


class ImportIn(RequestBody):
    """A past conversation to store (administrators only): its customer turns run through the
    engine at their own times, agent turns are kept as context, and it is closed afterwards
    unless `resolved` is false."""

    channel: Channel = "api"
    customer: CustomerIn | None = None
    turns: list[TurnIn] = Field(min_length=1, max_length=500)
    resolved: bool = Field(default=True, strict=True)


class ImportOut(BaseModel):
    """The imported conversation."""

    id: str
    status: str
    customer_turns: int
    escalated: bool


class ProblemOut(BaseModel):
    """An RFC 9457 problem: every error the API returns has this shape."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str


class KbArticleIn(RequestBody):
    """An article: Markdown (`markdown`, plain text is fine) or HTML (`html`); split at its
    second-level headings."""

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,200}$")
    title: str = text_field(min_length=1, max_length=1000, visible=True)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://[^\s\x00]+$")
    markdown: str | None = text_field(None, max_length=200_000)
    html: str | None = text_field(None, max_length=200_000)


class KbPairIn(RequestBody):
    """A question and its answer."""

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,200}$")
    question: str = text_field(min_length=1, max_length=2000, visible=True)
    answer: str = text_field(min_length=1, max_length=20_000, visible=True)
    title: str | None = text_field(None, max_length=1000)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://[^\s\x00]+$")


class KbImportIn(RequestBody):
    """Content for one source; importing the same `name` again replaces what it held."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    articles: list[KbArticleIn] = Field(default_factory=list, max_length=2000)
    pairs: list[KbPairIn] = Field(default_factory=list, max_length=10_000)


class KbImportOut(BaseModel):
    """What an import did."""

    source: str
    added: int
    updated: int
    removed: int
    unchanged: int
    problems: list[str]


class KbSourceOut(BaseModel):
    """A knowledge-base source."""

    name: str
    sections: int
    imported_at: datetime


class KbSearchOut(BaseModel):
    """Ranked sections and the confidence that the first answers the question."""

    confidence: float
    hits: list[dict[str, Any]]
