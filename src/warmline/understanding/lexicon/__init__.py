"""The text rule pack: every text rule of emotion signals, the escape hatch, answers to offers
and sensitive topics, as validated data (the YAML files beside this module, docs/lexicon.md).

`active()` is the pack in force; `install(path)` puts a business's changes in force after
validating them; `normalise` and `preceded` are the one normalisation and the one negation
routine the matchers share.
"""

from __future__ import annotations

from warmline.understanding.lexicon.loader import (
    LexiconError,
    load_pack,
    parse_pack,
    probe_pack,
    shipped_pack,
)
from warmline.understanding.lexicon.pack import Pack, active, install
from warmline.understanding.lexicon.rules import Rule, counted, fires
from warmline.understanding.lexicon.text import Cue, normalise, preceded

__all__ = [
    "Cue",
    "LexiconError",
    "Pack",
    "Rule",
    "active",
    "counted",
    "fires",
    "install",
    "load_pack",
    "normalise",
    "parse_pack",
    "preceded",
    "probe_pack",
    "shipped_pack",
]
