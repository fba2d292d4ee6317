"""Count the kind words of free-text kind slots (genres, cuisines, event subcategories) on
Schema-Guided Dialogue train only; writes `src/warmline/dialogue/kind_words.json` (see
`warmline.dialogue.kinds`).

For every free-text slot whose name says it is a kind (genre, category, cuisine, type...), a
value is a kind word when customers informed it in their own words at least MIN_INFORMED
times, in at least MIN_PRECISION of the customer turns of that service that say it. Dev is
never read (`bench_track.py` reports on it); `--skip N` leaves the first N train dialogues
out, to check the table on dialogues it was not counted on.

    python benchmarks/fit_kind_words.py [--skip N] [--out PATH]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

from sgdfit import SGD, customer_turns, fit_arguments, train_missing
from warmline.dialogue.kinds import KINDS_FILE

KIND_SLOT = re.compile(r"(^|_)(genre|category|cuisine|type|subcategory|kind|style)($|_)")
MIN_INFORMED = 2
MIN_PRECISION = 0.5

Key = tuple[str, str]  # (service, slot)


def kind_slots(schema_path: Path) -> dict[Key, str]:
    """(service, slot) -> description, for the free-text kind slots."""
    found = {}
    for service in json.loads(schema_path.read_text(encoding="utf-8")):
        for slot in service["slots"]:
            if KIND_SLOT.search(slot["name"]) and not slot["is_categorical"]:
                found[(service["service_name"], slot["name"])] = slot["description"]
    return found


def customer_frames(skip: int) -> list[tuple[str, str, list[dict[str, object]]]]:
    """(service, lower-cased utterance, the frame's acts) of every customer turn after `skip`."""
    frames = []
    for turn in customer_turns(skip):
        lowered = turn["utterance"].lower()
        frames += [(f["service"], lowered, f["actions"]) for f in turn["frames"]]
    return frames


def said(value: str, lowered: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", lowered) is not None


def count(skip: int) -> dict[Key, dict[str, float]]:
    """(service, slot) -> {kind word: share of the turns saying it that inform it}."""
    slots = kind_slots(SGD / "train_schema.json")
    frames = customer_frames(skip)
    informed: Counter[tuple[str, str, str]] = Counter()
    for service, lowered, acts in frames:
        for act in acts:
            key = (service, str(act["slot"]))
            if act["act"] != "INFORM" or key not in slots:
                continue
            for value in act["values"]:  # type: ignore[attr-defined]
                if value != "dontcare" and said(value.lower(), lowered):
                    informed[(*key, value.lower())] += 1
    spoken: Counter[tuple[str, str, str]] = Counter()
    meant: Counter[tuple[str, str, str]] = Counter()
    for service, lowered, acts in frames:
        for key in informed:
            if key[0] == service and said(key[2], lowered):
                spoken[key] += 1
                # "pizza" in a turn informing "Pizza and Pasta" meant the kind too.
                values = [v.lower() for a in acts if a["slot"] == key[1] for v in a["values"]]  # type: ignore[attr-defined]
                meant[key] += any(said(key[2], value) for value in values)
    table: dict[Key, dict[str, float]] = {key: {} for key in slots}
    for (service, slot, value), hits in sorted(informed.items()):
        precision = meant[(service, slot, value)] / spoken[(service, slot, value)]
        if hits >= MIN_INFORMED and precision >= MIN_PRECISION:
            table[(service, slot)][value] = round(precision, 3)
    return table


def main() -> int:
    args = fit_arguments(__doc__, KINDS_FILE)
    if train_missing():
        return 2
    table = count(args.skip)
    descriptions = kind_slots(SGD / "train_schema.json")
    document = {
        "source": "Schema-Guided Dialogue train (CC BY-SA 4.0), benchmarks/fit_kind_words.py",
        "skipped_dialogues": args.skip,
        "min_informed": MIN_INFORMED,
        "min_precision": MIN_PRECISION,
        "vocabularies": [
            {"service": s, "slot": n, "description": descriptions[(s, n)], "words": words}
            for (s, n), words in sorted(table.items())
            if words
        ],
    }
    args.out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{sum(len(w) for w in table.values())} kind words for {len(table)} slots -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
