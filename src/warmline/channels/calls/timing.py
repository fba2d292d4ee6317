"""Cues that only the call's timing shows, per customer turn: a long silence before it, the
caller cutting in or talking over the agent, and a pace rising above the caller's own.

The pace baseline is the caller's first turns (`BASELINE_SECONDS` of speech, at most
`BASELINE_TURNS` turns); those turns get no pace cue.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from warmline.channels.calls.segments import Segment, Turn
from warmline.understanding.types import Signal

LONG_SILENCE_SECONDS = 5.0
INTERRUPTION_SECONDS = 0.3
TALK_OVER_SECONDS = 1.0
RISING_PACE_RATIO = 1.25
PACE_MIN_SECONDS = 1.5
PACE_MIN_WORDS = 4
BASELINE_SECONDS = 8.0
BASELINE_TURNS = 3


def _clip(value: float) -> float:
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else value


def _pace(turn: Turn) -> float | None:
    spoken = sum(s.end - s.start for s in turn.segments)
    if spoken < PACE_MIN_SECONDS or turn.words < PACE_MIN_WORDS:
        return None
    return turn.words / spoken


def baseline_turns(turns: Sequence[Turn]) -> list[int]:
    """Indexes (in `turns`) of the caller's turns that make their baseline."""
    chosen: list[int] = []
    spoken = 0.0
    for index, turn in enumerate(turns):
        if turn.role != "customer":
            continue
        chosen.append(index)
        spoken += sum(s.end - s.start for s in turn.segments)
        if spoken >= BASELINE_SECONDS or len(chosen) >= BASELINE_TURNS:
            break
    return chosen


def timing_cues(turns: Sequence[Turn], segments: Sequence[Segment]) -> dict[int, list[Signal]]:
    """The timing cues of each customer turn, by index in `turns`."""
    baseline = baseline_turns(turns)
    paces = [p for p in (_pace(turns[i]) for i in baseline) if p is not None]
    base_pace = median(paces) if paces else None
    worded = [s for s in segments if s.text.strip()]
    found: dict[int, list[Signal]] = {}
    previous_customer_end: float | None = None
    for index, turn in enumerate(turns):
        if turn.role != "customer":
            continue
        cues: list[Signal] = []
        silence = _longest_silence(worded, previous_customer_end, turn.start)
        if silence >= LONG_SILENCE_SECONDS:
            cues.append(
                Signal(
                    "long_silence",
                    f"{silence:.1f} s of silence on the line before this turn",
                    round(_clip(silence / (2 * LONG_SILENCE_SECONDS)), 4),
                )
            )
        cut_in, over = _overlaps(turn, worded)
        if cut_in >= INTERRUPTION_SECONDS or over >= TALK_OVER_SECONDS:
            evidence = (
                f"cut in {cut_in:.1f} s before the agent finished"
                if cut_in >= INTERRUPTION_SECONDS
                else f"talked over the agent for {over:.1f} s"
            )
            cues.append(Signal("interruption", evidence, round(_clip(max(cut_in, over) / 2), 4)))
        pace = _pace(turn)
        if base_pace and pace is not None and index not in baseline:
            ratio = pace / base_pace
            if ratio >= RISING_PACE_RATIO:
                cues.append(
                    Signal(
                        "rising_pace",
                        f"{pace:.1f} words/s against {base_pace:.1f} at the start of the call "
                        f"(x{ratio:.2f})",
                        round(_clip((ratio - 1.0) / 0.5), 4),
                    )
                )
        if cues:
            found[index] = cues
        previous_customer_end = turn.end
    return found


def _longest_silence(segments: Sequence[Segment], since: float | None, until: float) -> float:
    """The longest time nobody spoke between the caller's previous turn and this one."""
    start = since if since is not None else None
    longest = 0.0
    covered = start
    for segment in segments:
        if segment.start >= until:
            break
        if covered is None:
            covered = segment.end
            continue
        if segment.end <= covered:
            continue
        if segment.start > covered:
            longest = max(longest, segment.start - covered)
        covered = max(covered, segment.end)
    if covered is not None and until > covered:
        longest = max(longest, until - covered)
    return longest


def _overlaps(turn: Turn, segments: Sequence[Segment]) -> tuple[float, float]:
    """How long before the agent finished the caller started (cut in), and how long the
    caller's speech in this turn overlapped anyone else's (talking over)."""
    cut_in = 0.0
    over = 0.0
    for other in segments:
        if other.speaker == turn.speaker or other.start >= turn.end:
            continue
        if other.start < turn.start < other.end:
            cut_in = max(cut_in, other.end - turn.start)
        for mine in turn.segments:
            over += max(0.0, min(mine.end, other.end) - max(mine.start, other.start))
    return cut_in, over
