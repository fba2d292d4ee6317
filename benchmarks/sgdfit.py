"""What the scripts that count tables on Schema-Guided Dialogue train share (`fit_value_cues.py`,
`fit_kind_words.py`, `fit_place_words.py`): where SGD is, their two options, the check that
train is there, and the customer turns after the ones left out."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SGD = Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd"


def fit_arguments(doc: str, default_out: Path) -> argparse.Namespace:
    """`--skip N` (leave the first N train dialogues out) and `--out PATH`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--skip", type=int, default=0, help="leave the first N dialogues out")
    parser.add_argument("--out", type=Path, default=default_out)
    return parser.parse_args()


def train_missing() -> bool:
    """Whether SGD train is missing (said on stderr)."""
    if (SGD / "train.jsonl.gz").exists():
        return False
    print(f"SGD train is missing ({SGD}): see ../shared/data/README", file=sys.stderr)
    return True


def customer_turns(skip: int) -> Iterator[dict[str, Any]]:
    """Every customer turn of SGD train, in order, after the first `skip` dialogues."""
    with gzip.open(SGD / "train.jsonl.gz", "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number < skip:
                continue
            yield from (t for t in json.loads(line)["turns"] if t["speaker"] == "USER")
