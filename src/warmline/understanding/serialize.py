"""JSON forms of understanding outputs, as stored in analysis events and printed by the CLI."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from warmline.understanding.types import Analysis


def analysis_to_dict(analysis: Analysis) -> dict[str, Any]:
    """The stored form of an analysis (the message text is kept in the message event)."""
    data = asdict(analysis)
    data.pop("text", None)
    data["intent"]["alternatives"] = [
        {"intent": name, "confidence": round(p, 4)} for name, p in analysis.intent.alternatives
    ]
    return data


def contract_record(analysis: Analysis, record_id: Any) -> dict[str, Any]:
    """One output line of `warmline analyze`, as the BRIEF's contract defines it."""
    emotion = analysis.emotion
    signals = [*emotion.signals, *analysis.conversation_signals]
    return {
        "id": record_id,
        "intent": analysis.intent.intent,
        "confidence": round(analysis.intent.confidence, 4),
        "out_of_scope": analysis.intent.out_of_scope,
        "alternatives": [
            {"intent": name, "confidence": round(p, 4)} for name, p in analysis.intent.alternatives
        ],
        "frustration": round(emotion.frustration, 4),
        "urgency": round(emotion.urgency, 4),
        "distress": round(emotion.distress, 4),
        "emotions": {name: round(value, 4) for name, value in emotion.emotions.items()},
        "signals": [{"name": s.name, "evidence": s.evidence} for s in signals],
        "entities": [asdict(entity) for entity in analysis.entities],
        "human_request": analysis.human_request,
    }
