"""Dialogue-state tracking benchmark (issue 13): the tracker over Schema-Guided Dialogue dev
(../shared/data/sgd/: 2,098 dialogues, 8 of its 17 services unseen in training), scored with the
DSTC8 metrics, and its time per customer turn (encoder included, the encoder's cache cleared).

Targets (issue 13): joint goal accuracy >= 0.80 overall and >= 0.75 on unseen services,
active-intent accuracy >= 0.95, p50 <= 15 ms per customer turn.

    python benchmarks/bench_track.py [--limit N] [--write-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

from perfdoc import MACHINE, update_subsection
from warmline.dialogue.metrics import score
from warmline.dialogue.schema import load_schema
from warmline.dialogue.sgd import read_dialogues
from warmline.dialogue.tracker import SchemaTracker
from warmline.understanding.encoder import Encoder

SGD = Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd"
JGA, JGA_UNSEEN, INTENT, P50_MS = 0.80, 0.75, 0.95, 15.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N dialogues")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    if not (SGD / "dev.jsonl.gz").exists():
        print(f"Schema-Guided Dialogue is missing: {SGD} (see ../shared/data/README.md)")
        return 1
    services = load_schema(SGD / "dev_schema.json")
    seen = frozenset(load_schema(SGD / "train_schema.json"))
    encoder = Encoder(cache_size=0)  # every turn pays for its encoder pass
    tracker = SchemaTracker(services, lambda texts: encoder.encode(list(texts)))
    gold, predictions, per_turn = [], {}, []
    for dialogue, raw in read_dialogues(str(SGD / "dev.jsonl.gz")):
        gold.append(raw)
        started = time.perf_counter()
        for found in tracker.track(dialogue):
            per_turn.append((time.perf_counter() - started) * 1000)
            predictions[(found["dialogue_id"], found["turn_index"], found["service"])] = found
            started = time.perf_counter()
        if args.limit and len(gold) >= args.limit:
            break
    results = score(gold, predictions, services, seen)
    p50, p99 = float(np.percentile(per_turn, 50)), float(np.percentile(per_turn, 99))
    every, unseen = results["all"], results["unseen"]
    jga, jga_unseen = every["joint_goal_accuracy"], unseen["joint_goal_accuracy"]
    intent = every["active_intent_accuracy"]
    checks = [
        (jga >= JGA, f"joint goal accuracy {jga:.4f} (target >= {JGA})"),
        (
            jga_unseen >= JGA_UNSEEN,
            f"unseen services: joint goal accuracy {jga_unseen:.4f} (target >= {JGA_UNSEEN})",
        ),
        (intent >= INTENT, f"active-intent accuracy {intent:.4f} (target >= {INTENT})"),
        (
            p50 <= P50_MS,
            f"time per customer turn p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"(target p50 <= {P50_MS:.0f})",
        ),
    ]
    lines = [f"{'PASS' if ok else 'FAIL'}  {text}" for ok, text in checks]
    for group, values in results.items():
        lines.append(
            f"{group:7s} JGA {values['joint_goal_accuracy']:.4f}  avg GA "
            f"{values['average_goal_accuracy']:.4f}  intent {values['active_intent_accuracy']:.4f}"
            f"  requested F1 {values['requested_slots_f1']:.4f}  ({values['frames']} frames)"
        )
    for line in lines:
        print(line, flush=True)
    if args.write_docs:
        body = "\n".join(
            [
                f"Measured {dt.date.today().isoformat()} on {MACHINE} "
                f"(`python benchmarks/bench_track.py --write-docs`), SGD dev, "
                f"{len(gold)} dialogues.",
                "",
                "```",
                *lines,
                "```",
            ]
        )
        update_subsection("Schema-Guided Dialogue dev (bench_track.py)", body, "Dialogue state")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
