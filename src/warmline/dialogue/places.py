"""Place names customers give for a place slot, known so that a place typed in lower case or
only half capitalised is read whole ("San diego please", "I want New york", "new york city").

The list (`place_words.json`) is counted on Schema-Guided Dialogue train only, by
`benchmarks/fit_place_words.py`: the values customers informed, in their own words, at least
twice for a city, area, location, origin or destination slot (street addresses left out). It
is a gazetteer: it helps wherever a customer names one of its places, for any service."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PLACES_FILE = Path(__file__).with_name("place_words.json")


@lru_cache(maxsize=1)
def known_places() -> frozenset[str]:
    """The counted place names, lower-cased."""
    raw = json.loads(PLACES_FILE.read_text(encoding="utf-8"))
    return frozenset(raw["places"])
