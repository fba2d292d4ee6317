"""How the customer's frustration develops over a conversation, updated in O(1) per turn.

Per-message scores miss what only the conversation shows: the customer asking the same thing
again (the bot did not help), replies getting shorter and sharper, a quick angry reply. Those
cues raise the turn's *effective* frustration, which feeds an exponentially weighted level,
a trend, the maximum, the count of consecutive upset turns and the spike from one turn to the
next (`Trajectory`). The policy's frustration trigger reads the trajectory.

Everything kept between turns is small and bounded (a few running numbers and the last
`HISTORY_SIZE` customer turns, embeddings stored as int8), so a 1,000-turn conversation costs
the same per turn as a 3-turn one, and the state round-trips through JSON so that the next
message can be handled in another process.
"""

from __future__ import annotations

import base64
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.types import UPSET, EmotionReading, Signal, Trajectory

STATE_VERSION = 1
HISTORY_SIZE = 8
# Weight of the newest turn in the smoothed level: high enough that two upset turns in a row
# lift a calm conversation above UPSET, low enough that one outburst after calm stays below it.
LEVEL_ALPHA = 0.45
TREND_ALPHA = 0.5

# Repetition by meaning: cosine of the MiniLM embeddings. Paraphrases of one request score about
# 0.8-0.95, different requests about the same product 0.4-0.7.
REPEAT_COSINE = 0.82
REPEAT_MIN_WORDS = 3
# Cues of speech that a phone channel measures and hands over in the message's meta
# (`channels/calls`, docs/calls.md): timing from the transcript, voice from the recording, each
# against the caller's own start of the call. Modest: a voice can be loud or fast by nature.
SPEECH_CUE_WEIGHTS: dict[str, float] = {
    "long_silence": 0.1,
    "interruption": 0.15,
    "rising_pace": 0.1,
    "raised_pitch": 0.15,
    "louder": 0.15,
    "faster_speech": 0.1,
}
# How much each conversation cue alone lifts the turn's frustration (noisy-or weights).
CUE_WEIGHTS: dict[str, float] = {
    "repeated_message": 0.5,
    "shorter_sharper": 0.35,
    "fast_reply": 0.3,
    **SPEECH_CUE_WEIGHTS,
}
SPEECH_CUES_KEY = "speech_cues"
FAST_REPLY_SECONDS = 20.0
SHORTER_RATIO = 0.4
SHORTER_MIN_AVERAGE_WORDS = 8.0
_SNIPPET_CHARS = 120
_WORD = re.compile(r"\w+")
# Short acknowledgements are repeated without any frustration ("ok", "yes please").
_ACKNOWLEDGEMENT = re.compile(
    r"^\s*(?:ok(?:ay)?|yes|yeah|yep|no|nope|sure|thanks?|thank\s+you|please|hi|hello|hey|"
    r"done|great|fine|right|correct)\b[\s\w!.?]{0,12}$",
    re.IGNORECASE,
)
_SHARP_SIGNALS = frozenset(
    {"anger", "annoyance", "profanity", "capitals", "exclamations", "question_marks", "sarcasm"}
)

FloatArray = NDArray[np.float32]


@dataclass(frozen=True)
class PastTurn:
    """What is remembered about one earlier customer turn (bounded: a snippet, int8 vector)."""

    index: int
    text: str
    words: int
    ts: float | None
    vector: bytes | None  # int8-quantised, L2-normalised embedding

    def to_json(self) -> dict[str, Any]:
        return {
            "i": self.index,
            "text": self.text,
            "words": self.words,
            "ts": self.ts,
            "vec": base64.b64encode(self.vector).decode("ascii") if self.vector else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PastTurn:
        raw = data.get("vec")
        ts = data.get("ts")
        return cls(
            index=int(data.get("i", 0)),
            text=str(data.get("text", "")),
            words=int(data.get("words", 0)),
            ts=float(ts) if isinstance(ts, int | float) else None,
            vector=base64.b64decode(raw) if isinstance(raw, str) and raw else None,
        )


def _quantise(embedding: NDArray[Any] | None) -> bytes | None:
    if embedding is None:
        return None
    vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    if not math.isfinite(norm) or norm == 0.0:
        return None
    return bytes(np.clip(np.round(vector / norm * 127.0), -127, 127).astype(np.int8).tobytes())


def _dequantise(raw: bytes) -> FloatArray:
    vector = np.frombuffer(raw, dtype=np.int8).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _normalised_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _clip(value: float) -> float:
    if not math.isfinite(value):
        return 0.0
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else value


def update_trajectory(previous: Trajectory, frustration: float) -> Trajectory:
    """Fold one turn's (effective) frustration into the trajectory: O(1), no history needed."""
    value = _clip(frustration)
    turns = previous.turns + 1
    if previous.turns == 0:
        return Trajectory(
            turns=1,
            level=round(value, 4),
            trend=0.0,
            maximum=round(value, 4),
            consecutive_upset=1 if value >= UPSET else 0,
            spike=0.0,
            last=round(value, 4),
            mean=round(value, 4),
        )
    level = LEVEL_ALPHA * value + (1.0 - LEVEL_ALPHA) * previous.level
    trend = TREND_ALPHA * (level - previous.level) + (1.0 - TREND_ALPHA) * previous.trend
    return Trajectory(
        turns=turns,
        level=round(level, 4),
        trend=round(trend, 4),
        maximum=round(max(previous.maximum, value), 4),
        consecutive_upset=previous.consecutive_upset + 1 if value >= UPSET else 0,
        spike=round(max(0.0, value - previous.last), 4),
        last=round(value, 4),
        mean=round(previous.mean + (value - previous.mean) / turns, 4),
    )


def effective_frustration(message_frustration: float, cues: Iterable[Signal]) -> float:
    """The turn's frustration once conversation cues are counted (noisy-or on top of the text)."""
    remaining = 1.0 - _clip(message_frustration)
    for cue in cues:
        weight = CUE_WEIGHTS.get(cue.name, 0.0)
        remaining *= 1.0 - weight * _clip(cue.strength)
    return _clip(1.0 - remaining)


def conversation_signals(
    text: str,
    embedding: NDArray[Any] | None,
    ts: float | None,
    history: Iterable[PastTurn],
    *,
    reading: EmotionReading | None = None,
    average_words: float = 0.0,
    previous_level: float = 0.0,
    reply_to_ts: float | None = None,
) -> tuple[Signal, ...]:
    """Cues that only the conversation shows: repetition, shorter-and-sharper, fast angry reply.

    `history` holds the earlier customer turns (newest last); `average_words` is the running mean
    length of those turns; `reply_to_ts` is when the message being answered was sent (the last
    agent turn), falling back to the previous customer turn's time.
    """
    past = list(history)
    found: list[Signal] = []
    words = _normalised_words(text)
    repeated = _repetition(text, words, embedding, past)
    if repeated is not None:
        found.append(repeated)
    sharp = reading is not None and _is_sharp(reading, previous_level)
    if (
        sharp
        and past
        and average_words >= SHORTER_MIN_AVERAGE_WORDS
        and 0 < len(words) <= SHORTER_RATIO * average_words
    ):
        found.append(
            Signal(
                "shorter_sharper",
                f"{len(words)} words after an average of {average_words:.0f}",
                round(_clip(1.0 - len(words) / average_words), 4),
            )
        )
    previous_ts = reply_to_ts if reply_to_ts is not None else (past[-1].ts if past else None)
    if (
        reading is not None
        and ts is not None
        and previous_ts is not None
        and 0.0 <= ts - previous_ts <= FAST_REPLY_SECONDS
        and (reading.frustration >= 0.4 or sharp)
    ):
        gap = ts - previous_ts
        found.append(
            Signal(
                "fast_reply",
                f"replied in {gap:.0f} s",
                round(_clip(1.0 - gap / (2 * FAST_REPLY_SECONDS)), 4),
            )
        )
    return tuple(found)


def speech_signals(meta: Mapping[str, Any] | None) -> tuple[Signal, ...] | None:
    """The speech cues a channel measured (`meta["speech_cues"]`: name, evidence, strength),
    or None when the message was not spoken. Unknown names and bad values are dropped."""
    if not isinstance(meta, Mapping) or not isinstance(meta.get(SPEECH_CUES_KEY), list):
        return None
    found: list[Signal] = []
    for item in meta[SPEECH_CUES_KEY]:
        if not isinstance(item, Mapping) or item.get("name") not in SPEECH_CUE_WEIGHTS:
            continue
        strength = item.get("strength", 1.0)
        if isinstance(strength, bool) or not isinstance(strength, int | float):
            continue
        found.append(
            Signal(str(item["name"]), str(item.get("evidence", ""))[:300], _clip(strength))
        )
    return tuple(found)


def _is_sharp(reading: EmotionReading, previous_level: float) -> bool:
    if any(signal.name in _SHARP_SIGNALS for signal in reading.signals):
        return True
    return reading.frustration >= max(UPSET, previous_level + 0.15)


def _repetition(
    text: str, words: list[str], embedding: NDArray[Any] | None, past: list[PastTurn]
) -> Signal | None:
    if len(words) < REPEAT_MIN_WORDS or _ACKNOWLEDGEMENT.match(text):
        return None
    joined = " ".join(words)
    vector = None
    if embedding is not None:
        quantised = _quantise(embedding)
        vector = _dequantise(quantised) if quantised is not None else None
    best: tuple[float, PastTurn] | None = None
    for turn in past:
        if turn.words < REPEAT_MIN_WORDS:
            continue
        if " ".join(_normalised_words(turn.text)) == joined:
            similarity = 1.0
        elif vector is not None and turn.vector is not None:
            similarity = float(vector @ _dequantise(turn.vector))
        else:
            similarity = _jaccard(words, _normalised_words(turn.text))
        if similarity >= REPEAT_COSINE and (best is None or similarity > best[0]):
            best = (similarity, turn)
    if best is None:
        return None
    similarity, turn = best
    snippet = turn.text if len(turn.text) <= 60 else turn.text[:57] + "..."
    return Signal(
        "repeated_message",
        f'repeats turn {turn.index} (similarity {similarity:.2f}): "{snippet}"',
        round(_clip((similarity - REPEAT_COSINE) / (1.0 - REPEAT_COSINE) * 0.5 + 0.5), 4),
    )


def _seconds(ts: float | datetime | None) -> float | None:
    """Epoch seconds of a timestamp given as a number or a datetime; None when unusable."""
    if isinstance(ts, datetime):
        try:
            return ts.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts):
        return float(ts)
    return None


def _jaccard(left: list[str], right: list[str]) -> float:
    a, b = set(left), set(right)
    return len(a & b) / len(a | b) if a and b else 0.0


class ConversationEmotionTracker:
    """The emotional state of one conversation: feed it each customer turn, in order.

    `observe` returns the updated trajectory and the conversation cues of this turn. The state
    (`to_state`/`from_state`) is a small JSON-able dict for storing with the analysis event.
    """

    def __init__(self, history_size: int = HISTORY_SIZE) -> None:
        self.trajectory = Trajectory()
        self._history: deque[PastTurn] = deque(maxlen=max(1, history_size))
        self._word_total = 0.0
        self._word_count = 0

    @property
    def history(self) -> tuple[PastTurn, ...]:
        return tuple(self._history)

    @property
    def average_words(self) -> float:
        return self._word_total / self._word_count if self._word_count else 0.0

    def observe(
        self,
        text: str,
        embedding: NDArray[Any] | None,
        reading: EmotionReading,
        ts: float | datetime | None = None,
        *,
        reply_to_ts: float | datetime | None = None,
        speech: tuple[Signal, ...] | None = None,
    ) -> tuple[Trajectory, tuple[Signal, ...]]:
        """Add one customer turn; return the new trajectory and this turn's conversation cues.

        `ts` is when the turn was sent (epoch seconds or a datetime); `reply_to_ts` when the
        agent message it answers was sent, if known. `speech` are the cues of a spoken turn
        (`speech_signals`); a spoken turn's timing is read from them, so the chat's fast-reply
        cue (every spoken answer comes within seconds) is not computed for it.
        """
        text = text if isinstance(text, str) else ""
        seconds = _seconds(ts)
        cues = conversation_signals(
            text,
            embedding,
            seconds if speech is None else None,
            self._history,
            reading=reading,
            average_words=self.average_words,
            previous_level=self.trajectory.level,
            reply_to_ts=_seconds(reply_to_ts) if speech is None else None,
        )
        if speech:
            cues = (*cues, *(cue for cue in speech if cue.name in SPEECH_CUE_WEIGHTS))
        self.trajectory = update_trajectory(
            self.trajectory, effective_frustration(reading.frustration, cues)
        )
        words = len(_normalised_words(text[:20_000]))
        self._history.append(
            PastTurn(
                index=self.trajectory.turns,
                text=" ".join(text.split())[:_SNIPPET_CHARS],
                words=words,
                ts=seconds,
                vector=_quantise(embedding),
            )
        )
        if words:
            self._word_total += words
            self._word_count += 1
        return self.trajectory, cues

    def to_dict(self) -> dict[str, Any]:
        """Alias of `to_state`."""
        return self.to_state()

    @classmethod
    def from_dict(cls, state: Mapping[str, Any] | None) -> ConversationEmotionTracker:
        """Alias of `from_state`."""
        return cls.from_state(state)

    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot (about 5 KB with embeddings) to store with the analysis event."""
        return {
            "version": STATE_VERSION,
            "trajectory": {
                "turns": self.trajectory.turns,
                "level": self.trajectory.level,
                "trend": self.trajectory.trend,
                "maximum": self.trajectory.maximum,
                "consecutive_upset": self.trajectory.consecutive_upset,
                "spike": self.trajectory.spike,
                "last": self.trajectory.last,
                "mean": self.trajectory.mean,
            },
            "history_size": self._history.maxlen,
            "history": [turn.to_json() for turn in self._history],
            "word_total": self._word_total,
            "word_count": self._word_count,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> ConversationEmotionTracker:
        """Restore a tracker from `to_state`; an empty or unreadable state starts afresh."""
        tracker = cls()
        if not state or not isinstance(state, Mapping):
            return tracker
        try:
            size = int(state.get("history_size") or HISTORY_SIZE)
            tracker = cls(history_size=size)
            raw = state.get("trajectory") or {}
            tracker.trajectory = replace(
                Trajectory(),
                turns=int(raw.get("turns", 0)),
                level=float(raw.get("level", 0.0)),
                trend=float(raw.get("trend", 0.0)),
                maximum=float(raw.get("maximum", 0.0)),
                consecutive_upset=int(raw.get("consecutive_upset", 0)),
                spike=float(raw.get("spike", 0.0)),
                last=float(raw.get("last", 0.0)),
                # States stored before the mean was kept: the smoothed level stands in.
                mean=float(raw.get("mean", raw.get("level", 0.0))),
            )
            for item in state.get("history") or []:
                tracker._history.append(PastTurn.from_json(item))
            tracker._word_total = float(state.get("word_total", 0.0))
            tracker._word_count = int(state.get("word_count", 0))
        except (TypeError, ValueError, AttributeError):
            return cls()
        return tracker
