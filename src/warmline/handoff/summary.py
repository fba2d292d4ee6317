"""The offline handoff summary: two or three plain sentences, as a colleague would write them.

"Customer is complaining that their order 12345 has not arrived. Agent asked them to DM the
order number." The customer's sentence that states the problem and the agent's sentence that
says what was done are chosen by a small linear model (`summary_picker.json`, fitted by
`benchmarks/fit_summary_picker.py` on TweetSumm's training dialogues: which sentence, rewritten
this way, overlaps the human summaries most), then put in the third person. Chat noise (handles,
links, emoji, sign-offs such as "^JD") is dropped first. No LLM and no encoder pass: a 50-turn
conversation costs well under a millisecond per sentence.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

Speaker = Literal["customer", "agent"]

CUSTOMER_WORDS = 22  # measured on TweetSumm train: longer clauses add words nobody summarises
AGENT_WORDS = 16

_HANDLE = re.compile(r"(?<!\w)@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMOJI = re.compile("[\U0001f000-\U0001ffff\u2600-\u27bf\ufe0f\u200d]")
# Support teams sign tweets and chats with initials or a first name: "^JD", "/JI", "-Phil".
_SIGN_OFF = re.compile(r"\s*(?:[-~^/*]\s*[A-Z]{1,3}|[-~^]\s*[A-Z][a-z]+)\s*$")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_OPENER = re.compile(
    r"^(?:(?:hi|hey|hello|yo|ok|okay|so|well|um+|lol|pls|guys|there|all|again)\b[\s,!.:-]*)+",
    re.I,
)
# A request for a person that opens the sentence ("I need a human please, my account was
# hacked"): the handoff says so already; the problem is what follows.
_PERSON_FIRST = re.compile(
    r"^(?:i\s+(?:need|want|would like|'d like)\s+(?:to\s+(?:speak|talk)\s+to\s+)?"
    r"(?:a\s+)?(?:human|person|real person|agent|someone|manager)(?:\s+please)?|"
    r"(?:can|could)\s+i\s+(?:speak|talk)\s+to\s+(?:a\s+)?(?:human|person|agent|someone)"
    r"(?:\s+please)?)\s*[,.;:!-]+\s*(?=\w)",
    re.I,
)
_QUESTION = re.compile(
    r"^(?:why|how|what|when|where|which|who|is|are|can|could|do|does|did)\b", re.I
)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_SMALL_TALK = re.compile(
    r"^(?:(?:hi|hello|hey|there|good (?:morning|afternoon|evening|day)|thanks?|thank you|"
    r"cheers|ok(?:ay)?|yes|no|sure|great|all|guys|team|folks|again|so much|very much)"
    r"[\s,!.:;-]*)+$",
    re.I,
)
_WORD = re.compile(r"[a-z']+")
SOCIAL = re.compile(
    r"^(?:hi|hey|hello|thanks|thank you|sorry|we're sorry|we apologi[sz]e|happy to help|"
    r"we'd be happy|glad to help|have a (?:great|good|nice))\b",
    re.I,
)
REQUEST = re.compile(
    r"^(?:could|can|would|will) you\b|^(?:please|kindly)\b|"
    r"\b(?:dm|send|follow|reach out|provide|share|let us know|confirm)\b",
    re.I,
)
SUGGESTION = re.compile(
    r"\b(?:try|trying|recommend|suggest|check|restart|reinstall|update|clear|visit|head)\b", re.I
)

# First person -> third person, for the customer's words (longest forms first).
_CUSTOMER_VOICE = (
    (r"\bI'm\b|\bIm\b", "they're"),
    (r"\bI am\b", "they are"),
    (r"\bI was\b", "they were"),
    (r"\bI've\b", "they've"),
    (r"\bI'd\b", "they'd"),
    (r"\bI'll\b", "they'll"),
    (r"\bI\b", "they"),
    (r"\bmy\b", "their"),
    (r"\bme\b", "them"),
    (r"\bmine\b", "theirs"),
    (r"\bmyself\b", "themselves"),
    (r"\bwe\b", "they"),
    (r"\bour\b", "their"),
    (r"\bus\b", "them"),
)
# The agent speaks to the customer and for the company.
_AGENT_VOICE = (
    (r"\byou're\b", "the customer is"),
    (r"\byou\b", "the customer"),
    (r"\byour\b", "the"),
    (r"\bwe're\b", "they're"),
    (r"\bwe\b", "they"),
    (r"\bus\b", "them"),
    (r"\bour\b", "their"),
    (r"\bthe customer have\b", "the customer has"),
    (r"\bthe customer are\b", "the customer is"),
    (r"\bthe customer were\b", "the customer was"),
    (r"\bthe customer don't\b", "the customer doesn't"),
)
_CUSTOMER_RULES = tuple((re.compile(p, re.I), r) for p, r in _CUSTOMER_VOICE)
_AGENT_RULES = tuple((re.compile(p, re.I), r) for p, r in _AGENT_VOICE)
_POLITE_REQUEST = re.compile(r"^(?:could|can|would|will) the customer (?:please )?(.*)$", re.I)
_PLEASE = re.compile(r"^(?:please|kindly) (.*)$", re.I)


@dataclass(frozen=True)
class Candidate:
    """One sentence of one side of the conversation, where it stands in that side's turns."""

    text: str
    index: int  # among this side's sentences
    count: int  # this side's sentences in all
    turn: int  # which of this side's turns
    turns: int


def clean(text: str) -> str:
    """A chat turn without handles, links, emoji, hashtags' marks and a trailing sign-off."""
    text = html.unescape(text).translate(_QUOTES)
    text = _EMOJI.sub("", _URL.sub("", _HANDLE.sub("", text))).replace("#", "")
    return _SPACE.sub(" ", _SIGN_OFF.sub("", text)).strip()


def sentences(text: str) -> list[str]:
    """The sentences of a turn worth quoting (two words or more)."""
    return [s.strip() for s in _SENTENCE_END.split(clean(text)) if len(s.split()) >= 2]


def small_talk(text: str) -> bool:
    """Greetings and thanks alone ("Hello there, good morning!"): never the summary."""
    return bool(_SMALL_TALK.match(text))


def candidates(turns: Sequence[tuple[Speaker, str]], speaker: Speaker) -> list[Candidate]:
    """Every sentence `speaker` wrote, with its position."""
    found: list[tuple[str, int]] = []
    turn = 0
    for who, text in turns:
        if who != speaker:
            continue
        found.extend((sentence, turn) for sentence in sentences(text))
        turn += 1
    return [Candidate(s, i, len(found), t, turn) for i, (s, t) in enumerate(found)]


def features(candidate: Candidate, speaker: Speaker) -> dict[str, float]:
    """What the picker weighs: position, length, kind of sentence and its words."""
    s, p = candidate.text, speaker[0]
    found = {
        f"{p}:pos={min(candidate.index, 4)}": 1.0,
        f"{p}:from_end={min(candidate.count - 1 - candidate.index, 3)}": 1.0,
        f"{p}:turn={min(candidate.turn, 3)}": 1.0,
        f"{p}:last_turn": float(candidate.turn == candidate.turns - 1),
        f"{p}:length={min(len(s.split()) // 5, 6)}": 1.0,
        f"{p}:question": float(s.rstrip().endswith("?")),
        f"{p}:social": float(bool(SOCIAL.match(s))),
        f"{p}:request": float(bool(REQUEST.search(s))),
        f"{p}:suggestion": float(bool(SUGGESTION.search(s))),
    }
    for word in set(_WORD.findall(s.lower())):
        found[f"{p}:w={word}"] = 1.0
    return found


def _truncate(text: str, words: int) -> str:
    """At most `words` words; a cut shows as "..." so nobody reads it as the whole."""
    kept = text.split()
    cut = " ".join(kept[:words]).rstrip(".!?,;: ")
    return cut + "..." if len(kept) > words else cut


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def customer_sentence(text: str) -> str:
    """ "my order never came" -> "Customer is complaining that their order never came." """
    said = _OPENER.sub("", text).strip() or text
    said = _PERSON_FIRST.sub("", said) or said
    for pattern, replacement in _CUSTOMER_RULES:
        said = pattern.sub(replacement, said)
    clause = _lower_first(_truncate(said, CUSTOMER_WORDS))
    if _QUESTION.match(said) and text.rstrip().endswith("?"):
        return _sentence(f"Customer is asking {clause.rstrip('?')}")
    return _sentence(f"Customer is complaining that {clause}")


def agent_sentence(text: str, who: str = "Agent") -> str:
    """ "Could you DM us your order number?" -> "Agent asks to DM them the order number." """
    said = _OPENER.sub("", text).strip() or text
    for pattern, replacement in _AGENT_RULES:
        said = pattern.sub(replacement, said)
    said = said.rstrip(".!? ")
    if match := _POLITE_REQUEST.match(said) or _PLEASE.match(said):
        clause = f"asks to {match.group(1)}"
    elif REQUEST.search(text):
        clause = f"requests that {_lower_first(said)}"
    elif SUGGESTION.search(text):
        clause = f"suggests that {_lower_first(said)}"
    else:
        clause = f"says that {_lower_first(said)}"
    return _sentence(f"{who} {_truncate(clause, AGENT_WORDS)}")


def _sentence(text: str) -> str:
    return text if text.endswith("...") else text + "."


@dataclass(frozen=True)
class Picker:
    """A linear score per sentence: the chance, in effect, that a person summarising the
    conversation would say the same."""

    weights: dict[str, float]
    intercept: float

    def score(self, candidate: Candidate, speaker: Speaker) -> float:
        found = features(candidate, speaker)
        return self.intercept + sum(v * self.weights.get(k, 0.0) for k, v in found.items())

    def best(self, found: list[Candidate], speaker: Speaker) -> Candidate | None:
        """The highest-scoring sentence (the earliest on a tie)."""
        found = [c for c in found if not small_talk(c.text)] or found
        if not found:
            return None
        return max(found, key=lambda c: (self.score(c, speaker), -c.index))


@lru_cache(maxsize=1)
def default_picker() -> Picker:
    """The shipped picker (`summary_picker.json`)."""
    raw = json.loads(
        resources.files("warmline.handoff").joinpath("summary_picker.json").read_text()
    )
    return Picker(weights=dict(raw["weights"]), intercept=float(raw["intercept"]))


def summarize_turns(
    turns: Sequence[tuple[Speaker, str]], picker: Picker | None = None
) -> list[str]:
    """The problem in the customer's words and what the agent did, one sentence each."""
    picker = picker or default_picker()
    out: list[str] = []
    problem = picker.best(candidates(turns, "customer"), "customer")
    if problem is not None:
        out.append(customer_sentence(problem.text))
    answer = picker.best(candidates(turns, "agent"), "agent")
    if answer is not None:
        out.append(agent_sentence(answer.text))
    return out
