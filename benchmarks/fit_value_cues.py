"""Count the cue phrases of categorical slot values on Schema-Guided Dialogue train only;
writes `src/warmline/dialogue/value_cues.json` (see `warmline.dialogue.cues`).

For every customer turn of a service with a categorical slot (yes-or-no and number slots left
out), and every value that slot allows, each phrase of the turn (`cue_grams`) is counted once;
it counts as a hit when the turn's annotated acts INFORM that value and the value's own words
are not in the turn. A phrase is kept for a value with at least MIN_HITS hits, in at least
MIN_PRECISION of the turns where it occurs. Dev is never read (`bench_track.py` reports on it);
`--skip N` leaves the first N train dialogues out, to check the table on dialogues it was not
counted on.

    python benchmarks/fit_value_cues.py [--skip N] [--out PATH]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from sgdfit import SGD, customer_turns, fit_arguments, train_missing
from warmline.dialogue.cues import CUES_FILE, cue_grams

MIN_HITS = 8
MIN_PRECISION = 0.75


def categorical_values(schema_path: Path) -> dict[str, dict[str, list[str]]]:
    """service -> slot -> allowed values, for categorical slots that are not yes-or-no or
    numbers."""
    services: dict[str, dict[str, list[str]]] = {}
    for service in json.loads(schema_path.read_text(encoding="utf-8")):
        slots = {}
        for slot in service["slots"]:
            values = slot.get("possible_values") or []
            if not slot.get("is_categorical") or not values:
                continue
            if all(v.isdigit() for v in values) or set(values) <= {"True", "False"}:
                continue
            slots[slot["name"]] = [v for v in values if v != "dontcare"]
        services[service["service_name"]] = slots
    return services


def count(skip: int) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(occurrences, hits) of each (value, phrase)."""
    services = categorical_values(SGD / "train_schema.json")
    seen: Counter[tuple[str, str]] = Counter()
    hits: Counter[tuple[str, str]] = Counter()
    for turn in customer_turns(skip):
        grams = cue_grams(turn["utterance"])
        lowered = turn["utterance"].lower()
        for frame in turn["frames"]:
            informed = {
                (act["slot"], value.lower())
                for act in frame["actions"]
                if act["act"] == "INFORM"
                for value in act["values"]
            }
            for slot, values in services.get(frame["service"], {}).items():
                for value in (v.lower() for v in values):
                    hit = (slot, value) in informed and value not in lowered
                    for gram in grams:
                        seen[(value, gram)] += 1
                        hits[(value, gram)] += hit
    return seen, hits


def main() -> int:
    args = fit_arguments(__doc__, CUES_FILE)
    if train_missing():
        return 2
    seen, hits = count(args.skip)
    cues: dict[str, list[tuple[str, float]]] = {}
    for (value, gram), hit in sorted(hits.items()):
        precision = hit / seen[(value, gram)]
        if hit >= MIN_HITS and precision >= MIN_PRECISION:
            cues.setdefault(value, []).append((gram, round(precision, 3)))
    table = {
        "source": "Schema-Guided Dialogue train (CC BY-SA 4.0), benchmarks/fit_value_cues.py",
        "skipped_dialogues": args.skip,
        "min_hits": MIN_HITS,
        "min_precision": MIN_PRECISION,
        "cues": cues,
    }
    args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{sum(len(c) for c in cues.values())} cues for {len(cues)} values -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
