"""Policy benchmarks (issue 5).

1. Decision time per message, policy only (analyses precomputed): target p99 <= 1 ms.
2. `warmline replay --policy` of 1,000 synthetic conversations of 10 customer turns, end to end
   (a fresh process: model loading, understanding, policy, packets): target <= 60 s.
3. TweetSumm (real customer-care dialogues, ../shared/data/tweetsumm): escalation rate, reasons
   and conditions of the default policy; no target, the numbers go to docs/performance.md.
   `--review DIR` also writes the per-conversation results for a hand review.

Run: .venv/bin/python benchmarks/bench_policy.py [--skip-replay] [--skip-tweetsumm]
Prints PASS/FAIL per target and exits 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

DECISION_P99_MS = 1.0
REPLAY_SECONDS = 60.0
REPLAY_CONVERSATIONS = 1000
TURNS = 10

CALM = [
    "hi, where is my order {n}?",
    "how do I reset my password",
    "can you tell me my balance please",
    "I'd like to change my plan to the cheaper one",
    "when will my refund for order {n} arrive?",
    "my invoice {n} shows a charge I don't recognise",
    "thanks, that worked",
    "ok great",
    "is there a fee for international roaming?",
    "I want to book an appointment for next Tuesday",
]
UPSET = [
    "this is the third time I'm asking, where is my refund???",
    "I've been waiting 3 weeks and nobody helps me. Useless.",
    "WHY was I charged twice?! fix it now",
    "honestly this service is a joke, I'm cancelling",
    "you keep sending me the same link, it doesn't work!!",
    "I am so fed up with this, nothing works",
]
SPECIAL = [
    "can I talk to a real person please",
    "my mother passed away and I need to close her account",
    "there's an unauthorized charge on my card",
    "I'll be speaking to my lawyer about this",
    "the purple elephant sings at midnight",
    "🙂🙂🙂",
    "x" * 3000,
]


DETAILS = [
    "it's order {n}",
    "I placed it on the {d}th",
    "my account number is {n}",
    "it was {a} pounds",
    "I'm on the {p} plan",
    "the reference is W{n}",
    "this started on day {d}",
    "I live in {p} street",
]
PLACES = ["Oak", "Mill", "Station", "Church", "Park", "Victoria", "High", "King", "Queen"]


def _unique(rng: random.Random, text: str) -> str:
    """Add a detail with numbers, so (almost) no text repeats: the encoder's cache must not
    make the benchmark look faster than real traffic."""
    detail = rng.choice(DETAILS).format(
        n=rng.randint(10_000, 99_999),
        d=rng.randint(1, 28),
        a=rng.randint(5, 900),
        p=rng.choice(PLACES),
    )
    return f"{text} {detail}" if rng.random() < 0.5 else f"{detail}. {text}"


def synthetic_conversations(count: int, turns: int, seed: int = 7) -> list[dict[str, Any]]:
    """Varied conversations: mostly calm, some getting upset, a few special cases; nearly
    every message is unique."""
    rng = random.Random(seed)
    conversations = []
    for index in range(count):
        mood = rng.random()
        items: list[dict[str, Any]] = []
        for turn in range(turns):
            roll = rng.random()
            if roll < 0.05:
                text = rng.choice(SPECIAL)
            elif roll < 0.05 + mood * 0.5 * (turn + 1) / turns:
                text = rng.choice(UPSET)
            else:
                text = rng.choice(CALM).format(n=rng.randint(10_000, 99_999))
            text = _unique(rng, text) if not text.startswith("x") else text
            items.append({"speaker": "customer", "text": text, "ts": 1_790_000_000 + turn * 60})
            items.append({"speaker": "agent", "text": "Let me check that for you."})
        conversations.append({"id": f"s{index}", "turns": items})
    return conversations


def bench_decisions() -> bool:
    """Policy.decide on precomputed analyses in realistic conversation states."""
    from policy_support import VIP, Chat, make_analysis, next_trajectory
    from warmline.domain.events import AnalysisRecorded, CustomerMessage
    from warmline.policy.context import PolicyContext
    from warmline.policy.policy import Policy
    from warmline.understanding.serialize import analysis_to_dict
    from warmline.understanding.types import Signal, Trajectory

    policy = Policy()
    rng = random.Random(3)
    contexts: list[PolicyContext] = []
    texts = [*CALM, *UPSET, *SPECIAL, "word " * 2000]
    for index in range(400):
        chat = Chat(policy=policy, customer=VIP if index % 5 == 0 else None)
        for _ in range(rng.randint(0, 12)):  # earlier turns, decided and stored
            if chat.conversation.with_human:
                break
            chat.say(rng.choice(CALM).format(n=1), frustration=rng.random() * 0.6)
        text = rng.choice(texts).format(n=2)
        frustration = rng.random()
        trajectory = next_trajectory(chat.trajectory or Trajectory(), frustration)
        analysis = make_analysis(
            text,
            frustration=frustration,
            confidence=rng.random(),
            signals=("anger",) if frustration > 0.8 else (),
            conversation_signals=(Signal("repeated_message", "x", 0.7),) if index % 9 == 0 else (),
            human_request="a person" if index % 17 == 0 else None,
            trajectory=trajectory,
        )
        chat.add(
            CustomerMessage(text=text),
            AnalysisRecorded(analysis=analysis_to_dict(analysis)),
        )
        contexts.append(PolicyContext(chat.conversation, analysis, chat.customer))
    for context in contexts[:50]:  # warm up
        policy.decide(context)
    timings: list[float] = []
    for _ in range(10):
        for context in contexts:
            start = time.perf_counter()
            policy.decide(context)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99)]
    ok = p99 <= DECISION_P99_MS
    print(
        f"decision: {len(timings)} decisions, mean {statistics.fmean(timings):.3f} ms, "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {timings[-1]:.3f} ms"
    )
    print(f"{'PASS' if ok else 'FAIL'} policy decision p99 {p99:.3f} ms <= {DECISION_P99_MS} ms")
    return ok


def bench_replay() -> bool:
    """The CLI, in a fresh process, on 1,000 conversations of 10 customer turns."""
    conversations = synthetic_conversations(REPLAY_CONVERSATIONS, TURNS)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "synthetic.jsonl"
        source.write_text("\n".join(json.dumps(c) for c in conversations) + "\n")
        env = {
            **os.environ,
            "WARMLINE_ENV": "test",
            "WARMLINE_DATA_DIR": tmp,
            # Outside development the secrets must be real ones (replay refuses the defaults).
            "WARMLINE_API_KEY": secrets.token_urlsafe(24),
            "WARMLINE_SECRET_KEY": secrets.token_urlsafe(24),
        }
        policy = ROOT / "src" / "warmline" / "policy" / "default.yaml"
        start = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "warmline",
                "replay",
                str(source),
                "--policy",
                str(policy),
                "--summary",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(result.stderr[-2000:])
        print("FAIL replay exited with", result.returncode)
        return False
    summary = json.loads(result.stdout)
    turns = REPLAY_CONVERSATIONS * TURNS
    texts = [t["text"] for c in conversations for t in c["turns"] if t["speaker"] == "customer"]
    print(f"replay input: {len(texts)} customer turns, {len(set(texts))} distinct texts")
    print(
        f"replay: {REPLAY_CONVERSATIONS} conversations x {TURNS} customer turns in {elapsed:.1f} s "
        f"({elapsed / turns * 1000:.2f} ms per turn, model loading included); "
        f"escalation rate {summary['escalation_rate']:.1%}"
    )
    ok = elapsed <= REPLAY_SECONDS
    verdict = "PASS" if ok else "FAIL"
    print(f"{verdict} replay of 1,000 x 10 turns {elapsed:.1f} s <= {REPLAY_SECONDS:.0f} s")
    return ok


def shared_data() -> Path:
    """../shared/data, or WARMLINE_SHARED_DATA."""
    configured = os.environ.get("WARMLINE_SHARED_DATA")
    return Path(configured) if configured else ROOT.parent / "shared" / "data"


def bench_tweetsumm(review: Path | None) -> bool:
    """The default policy on every TweetSumm dialogue (train and valid)."""
    from warmline.bootstrap import build_pipeline
    from warmline.config import Settings
    from warmline.replay import replay_conversation
    from warmline.whatif import format_summary, summarize

    folder = shared_data() / "tweetsumm"
    files = [folder / "train.jsonl", folder / "valid.jsonl"]
    if not all(path.is_file() for path in files):
        print(f"SKIP TweetSumm: {folder} is missing (set WARMLINE_SHARED_DATA)")
        return True
    records = [json.loads(line) for path in files for line in path.read_text().splitlines() if line]
    pipeline = build_pipeline(Settings(_env_file=None))
    start = time.perf_counter()
    results = []
    for record in records:
        result, _ = replay_conversation(pipeline, {"id": record["id"], "turns": record["turns"]})
        results.append(result)
    elapsed = time.perf_counter() - start
    summary = summarize(results)
    customer_turns = sum(len(r["turns"]) for r in results)
    print(
        f"TweetSumm: {len(results)} dialogues, {customer_turns} customer turns, "
        f"replayed in {elapsed:.1f} s"
    )
    print(format_summary(summary, "default policy"))
    print("decisions per turn: " + ", ".join(f"{k} {v}" for k, v in summary["decisions"].items()))
    if review is not None:
        review.mkdir(parents=True, exist_ok=True)
        with (review / "tweetsumm_replay.jsonl").open("w") as out:
            for record, result in zip(records, results, strict=True):
                result["summaries"] = record.get("summaries", [])
                result["dialogue"] = record["turns"]
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
        print(f"per-conversation results for review: {review / 'tweetsumm_replay.jsonl'}")
    print("INFO TweetSumm escalation rate (no target; see docs/performance.md)")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-replay", action="store_true")
    parser.add_argument("--skip-tweetsumm", action="store_true")
    parser.add_argument("--review", type=Path, default=None, help="write review files here")
    args = parser.parse_args()
    results = [bench_decisions()]
    if not args.skip_replay:
        results.append(bench_replay())
    if not args.skip_tweetsumm:
        results.append(bench_tweetsumm(args.review))
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
