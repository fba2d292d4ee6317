"""Charts of a period, day by day: escalations by reason, frustration at the start and the end
of conversations, CSAT (answered and estimated), and the queue's waiting time.

`daily_series` gives the numbers (the dashboard draws them); `write_charts` renders them with
matplotlib as PNG and SVG files (`warmline report --charts DIR`), headless and offline.
"""

from __future__ import annotations

import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from warmline.analytics.metrics import Facts

CHARTS = ("escalations_by_reason", "frustration_start_end", "csat_trend", "queue_wait")


def daily_series(facts: Iterable[Facts]) -> dict[str, Any]:
    """Per day (UTC) of conversation start: escalations by reason, mean frustration at start
    and end, mean CSAT and mean estimated satisfaction, median queue wait (minutes)."""
    by_day: dict[date, list[Facts]] = defaultdict(list)
    for f in facts:
        by_day[f.started.date()].append(f)
    days = sorted(by_day)
    reasons = sorted({r for group in by_day.values() for f in group for r in f.reasons})
    counted = {day: Counter(r for f in by_day[day] for r in f.reasons) for day in days}
    return {
        "days": [day.isoformat() for day in days],
        "escalations_by_reason": {r: [counted[day][r] for day in days] for r in reasons},
        "frustration_start": [_mean(f.frustration_start for f in by_day[d]) for d in days],
        "frustration_end": [_mean(f.frustration_end for f in by_day[d]) for d in days],
        "csat": [_mean(f.csat for f in by_day[d]) for d in days],
        "satisfaction_estimated": [_mean(f.satisfaction for f in by_day[d]) for d in days],
        "queue_wait_minutes": [_median([f.queue_wait_s for f in by_day[d]], 60.0) for d in days],
    }


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 3) if present else None


def _median(values: Iterable[float | None], unit: float) -> float | None:
    present = [v / unit for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def write_charts(
    series: dict[str, Any], folder: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Render the four charts into `folder`, one file per chart and format."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in CHARTS:
        figure = _figure(name, series)
        for suffix in formats:
            path = folder / f"{name}.{suffix}"
            figure.savefig(path, format=suffix, metadata=_metadata(suffix))
            written.append(path)
        _close(figure)
    return written


def render_chart(name: str, series: dict[str, Any], suffix: str = "svg") -> bytes:
    """One chart as the bytes of an SVG (or PNG) file, for the dashboard."""
    if name not in CHARTS:
        raise ValueError(f"no chart {name!r}; the charts are {', '.join(CHARTS)}")
    figure = _figure(name, series)
    try:
        out = io.BytesIO()
        figure.savefig(out, format=suffix, metadata=_metadata(suffix))
        return out.getvalue()
    finally:
        _close(figure)


def _figure(name: str, series: dict[str, Any]) -> Any:
    # pyplot's figure registry is shared by threads: figures are made with the object API.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    _draw(name, axes, series["days"], series)
    axes.set_xlabel("day")
    axes.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    return figure


def _close(figure: Any) -> None:
    figure.clear()


def _metadata(suffix: str) -> dict[str, Any]:
    """No creation date in SVGs: the same data draws the same file."""
    return {"Date": None} if suffix == "svg" else {}


def _draw(name: str, axes: Any, days: list[str], series: dict[str, Any]) -> None:
    if not days:
        axes.text(0.5, 0.5, "no conversations in this period", ha="center", va="center")
        axes.set_title(name.replace("_", " "))
        return
    if name == "escalations_by_reason":
        bottom = [0] * len(days)
        for reason, counts in series["escalations_by_reason"].items():
            axes.bar(days, counts, bottom=bottom, label=reason)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        axes.set_title("Escalations by reason")
        axes.set_ylabel("handoffs")
        if series["escalations_by_reason"]:
            axes.legend(fontsize="small")
    elif name == "frustration_start_end":
        axes.plot(days, _gaps(series["frustration_start"]), marker="o", label="at the start")
        axes.plot(days, _gaps(series["frustration_end"]), marker="o", label="at the end")
        axes.set_ylim(0, 1)
        axes.set_title("Frustration at the start and the end of conversations")
        axes.set_ylabel("mean frustration (0-1)")
        axes.legend(fontsize="small")
    elif name == "csat_trend":
        axes.plot(days, _gaps(series["csat"]), marker="o", label="CSAT answered")
        axes.plot(days, _gaps(series["satisfaction_estimated"]), marker="x", label="estimated")
        axes.set_ylim(1, 5)
        axes.set_title("Satisfaction")
        axes.set_ylabel("mean (1-5)")
        axes.legend(fontsize="small")
    else:
        axes.bar(days, [v or 0 for v in series["queue_wait_minutes"]])
        axes.set_title("Waiting for a person")
        axes.set_ylabel("median minutes from handoff to an agent")


def _gaps(values: list[float | None]) -> list[float]:
    """None as NaN, so a day without data is a gap in the line, not a zero."""
    return [float("nan") if v is None else v for v in values]
