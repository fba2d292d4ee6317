"""Count the place names customers give on Schema-Guided Dialogue train only; writes
`src/warmline/dialogue/place_words.json` (see `warmline.dialogue.places`).

A place is a value a customer informed, in their own words, at least MIN_INFORMED times for a
free-text city, area, location, origin or destination slot; street addresses (with a digit)
and pick-up points are left out. Dev is never read (`bench_track.py` reports on it); `--skip
N` leaves the first N train dialogues out, to check the list on dialogues it was not counted
on.

    python benchmarks/fit_place_words.py [--skip N] [--out PATH]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

from sgdfit import SGD, customer_turns, fit_arguments, train_missing
from warmline.dialogue.places import PLACES_FILE

PLACE_SLOT = re.compile(r"city|location|area|destination|origin|where_to")
MIN_INFORMED = 2


def place_slots(schema_path: Path) -> set[tuple[str, str]]:
    """(service, slot) of the free-text place slots, pick-up points and addresses left out."""
    found = set()
    for service in json.loads(schema_path.read_text(encoding="utf-8")):
        for slot in service["slots"]:
            name = slot["name"]
            if slot["is_categorical"] or "address" in name or "pickup_location" in name:
                continue
            if PLACE_SLOT.search(name):
                found.add((service["service_name"], name))
    return found


def count(skip: int) -> Counter[str]:
    """How often each lower-cased place was informed in the customer's own words."""
    slots = place_slots(SGD / "train_schema.json")
    informed: Counter[str] = Counter()
    for turn in customer_turns(skip):
        lowered = turn["utterance"].lower()
        for frame in turn["frames"]:
            for act in frame["actions"]:
                if act["act"] != "INFORM" or (frame["service"], act["slot"]) not in slots:
                    continue
                for value in (v.lower() for v in act["values"]):
                    said = re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", lowered)
                    if value != "dontcare" and said:
                        informed[value] += 1
    return informed


def main() -> int:
    args = fit_arguments(__doc__, PLACES_FILE)
    if train_missing():
        return 2
    informed = count(args.skip)
    places = sorted(
        value
        for value, hits in informed.items()
        if hits >= MIN_INFORMED and not any(c.isdigit() for c in value)
    )
    document = {
        "source": "Schema-Guided Dialogue train (CC BY-SA 4.0), benchmarks/fit_place_words.py",
        "skipped_dialogues": args.skip,
        "min_informed": MIN_INFORMED,
        "places": places,
    }
    args.out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"{len(places)} places -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
