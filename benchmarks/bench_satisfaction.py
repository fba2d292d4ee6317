"""Estimated satisfaction against people's ratings, where the project has any.

The project has no rated customer-service conversations of its own (the sealed ones are not
seen), so this runs on 30 conversations written and rated by hand for it
(benchmarks/data/satisfaction_conversations.jsonl, `rated` 1-5, rated before the estimator
was run on them): a sanity check that the estimate ranks conversations as a person would, not
evidence about real data. Reported: the rank correlation (Spearman) of `warmline replay`'s
`satisfaction` with the ratings, beside two baselines: the negated end-of-conversation
frustration (`frustration` in replay) and VADER's mean compound score of the customer's turns.
Target: Spearman >= 0.70 (the issue's goal on the sealed rated dialogues). Also printed: the
spread of the estimate over the TweetSumm validation dialogues (unrated).

    python benchmarks/bench_satisfaction.py [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from perfdoc import record_measurement
from warmline.bootstrap import build_pipeline
from warmline.config import Settings
from warmline.replay import replay_conversation
from warmline.understanding.emotion.signals import plain_vader_compound

HERE = Path(__file__).resolve().parent
RATED = HERE / "data" / "satisfaction_conversations.jsonl"
TWEETSUMM = HERE.parents[1] / "shared" / "data" / "tweetsumm" / "valid.jsonl"
TARGET = 0.70


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    pipeline = build_pipeline(Settings(_env_file=None))
    rated = [json.loads(line) for line in RATED.read_text(encoding="utf-8").splitlines()]
    results: list[dict[str, Any]] = [replay_conversation(pipeline, r)[0] for r in rated]
    ratings = [float(r["rated"]) for r in rated]
    ours = spearman([r["satisfaction"] for r in results], ratings)
    frustration = spearman([-r["frustration"] for r in results], ratings)
    vader = spearman(
        [
            statistics.mean(
                plain_vader_compound(t["text"]) for t in r["turns"] if t["speaker"] == "customer"
            )
            for r in rated
        ],
        ratings,
    )
    lines = [
        f"{'PASS' if ours >= TARGET else 'FAIL'} hand-rated conversations ({len(rated)}): "
        f"Spearman {ours:.3f} (target >= {TARGET}); end-of-conversation frustration "
        f"{frustration:.3f}, VADER mean compound {vader:.3f}",
    ]
    if TWEETSUMM.exists():
        tweets = [json.loads(line) for line in TWEETSUMM.read_text(encoding="utf-8").splitlines()]
        spread = [replay_conversation(pipeline, r)[0]["satisfaction"] for r in tweets]
        quartiles = statistics.quantiles(spread, n=4)
        lines.append(
            f"TweetSumm valid ({len(tweets)} dialogues, unrated): satisfaction mean "
            f"{statistics.mean(spread):.2f}, quartiles {quartiles[0]:.2f} / {quartiles[1]:.2f} "
            f"/ {quartiles[2]:.2f}, min {min(spread):.2f}, max {max(spread):.2f}"
        )
    else:
        lines.append(f"TweetSumm validation data missing at {TWEETSUMM}: spread not measured")
    for line in lines:
        print(line, flush=True)
    if args.write_docs:
        record_measurement(
            lines,
            command="python benchmarks/bench_satisfaction.py --write-docs",
            subsection="Estimated satisfaction (bench_satisfaction.py)",
            section="Analytics",
        )
    return 0 if ours >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
