"""An analyzer that does not read: every message gets the same routine, calm reading.

For load tests only (`WARMLINE_ANALYZER=constant`): with understanding reduced to nothing,
what remains of a message's cost is HTTP, the policy, composing and the database. It still
honours an explicit request for a person (a cheap phrase match), so conversations that ask for
one are handed over as in real runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warmline.understanding.escape_hatch import detect_human_request
from warmline.understanding.pushback import detect_pushback
from warmline.understanding.types import Analysis, IntentPrediction, Signal, Trajectory

ROUTINE = IntentPrediction(intent="order_status", confidence=0.95, out_of_scope=False)


class ConstantAnalyzer:
    """The same analysis for every message (see the module's docstring)."""

    def analyze(
        self,
        text: str,
        *,
        state: dict[str, Any],
        ts: datetime | None = None,
        speech: tuple[Signal, ...] | None = None,
    ) -> tuple[Analysis, dict[str, Any]]:
        """A routine, calm reading; the state only counts turns."""
        turns = int(state.get("turns", 0)) + 1
        analysis = Analysis(
            text=text,
            intent=ROUTINE,
            trajectory=Trajectory(turns=turns),
            human_request=detect_human_request(text),
            pushback=detect_pushback(text),
        )
        return analysis, {"turns": turns}
