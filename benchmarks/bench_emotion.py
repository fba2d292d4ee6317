"""Emotion benchmarks (issue 4).

1. GoEmotions test split, 28 labels: macro-F1 of the shipped model (target >= 0.50).
2. GoEmotions test split, Ekman's 7 labels: macro-F1 (target >= 0.63).
3. Latency of `EmotionModel.read` per message with the embedding precomputed (the encoder pass
   that serves the intent classifier also yields the emotion branch's embedding), and of the
   analysis of one message, intent and emotion together, on uncached texts (targets: p50 <= 5 ms,
   p99 <= 15 ms; the read itself should be a small part of it).
4. Upset (frustration >= 0.5) on the GoEmotions test split and on the hand-made customer
   sanity set in tests/, with VADER (compound <= -0.05) for comparison; no target.

Run: .venv/bin/python benchmarks/bench_emotion.py [--write-docs]
Data: ../shared/data/goemotions (or $WARMLINE_SHARED_DATA/goemotions).
Prints PASS/FAIL per target and exits 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from perfdoc import MACHINE, update_subsection  # noqa: E402

GO_TARGET = 0.50
EKMAN_TARGET = 0.63
READ_P50_MS = 5.0
READ_P99_MS = 15.0
LATENCY_MESSAGES = 500
SUBSECTION = "GoEmotions, latency and upset (bench_emotion.py)"


def shared_data() -> Path:
    env = os.environ.get("WARMLINE_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()

    from emotion_sanity import SANITY
    from warmline.understanding.emotion.evaluation import evaluate, load_eval_file
    from warmline.understanding.emotion.model import EmotionModel
    from warmline.understanding.emotion.signals import plain_vader_compound
    from warmline.understanding.encoder import get_encoder
    from warmline.understanding.intents import load_default_classifier

    data = shared_data() / "goemotions"
    if not (data / "original" / "test.tsv").is_file():
        print(f"FAIL: GoEmotions data missing at {data} (set WARMLINE_SHARED_DATA)")
        return 1
    model = EmotionModel.load_default()
    encoder = get_encoder()
    lines: list[str] = []
    failures = 0

    def check(name: str, ok: bool, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        line = f"{'PASS' if ok else 'FAIL'}  {name}: {detail}"
        print(line, flush=True)
        lines.append(line)

    def note(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    started = time.perf_counter()
    go_set = load_eval_file(data / "original" / "test.tsv", label_set="go")
    ekman_set = load_eval_file(data / "ekman" / "test.tsv", label_set="ekman")
    # Both files hold the same comments: encode them once.
    vectors = dict(zip(go_set.texts, model.embed(go_set.texts), strict=True))

    def embed(texts: list[str]) -> Any:
        import numpy as np

        return np.stack([vectors[text] for text in texts])

    go = evaluate(go_set, model, embed)
    ekman = evaluate(ekman_set, model, embed)
    check(
        "GoEmotions test, 28 labels",
        go["macro_f1"] >= GO_TARGET,
        f"macro-F1 {go['macro_f1']:.4f} (target >= {GO_TARGET}, paper's BERT 0.46)",
    )
    check(
        "GoEmotions test, Ekman 7 labels",
        ekman["macro_f1"] >= EKMAN_TARGET,
        f"macro-F1 {ekman['macro_f1']:.4f} (target >= {EKMAN_TARGET})",
    )
    note(
        "      per label (28): "
        + ", ".join(f"{name} {scores['f1']:.2f}" for name, scores in go["per_label"].items())
    )
    note(
        "      per label (Ekman): "
        + ", ".join(f"{name} {scores['f1']:.2f}" for name, scores in ekman["per_label"].items())
    )

    # Latency on real, unseen texts (test split), one message at a time.
    texts = go_set.texts[:LATENCY_MESSAGES]
    embeddings = embed(texts)
    for text, embedding in zip(texts[:20], embeddings[:20], strict=True):
        model.read(text, embedding)  # warm-up
    read_ms: list[float] = []
    for text, embedding in zip(texts, embeddings, strict=True):
        t0 = time.perf_counter()
        model.read(text, embedding)
        read_ms.append((time.perf_counter() - t0) * 1000)
    # The analysis of one message, intent and emotion together: one encoder pass (sentence
    # embedding and emotion branch), the intent classifier and the emotion reading.
    intents = load_default_classifier()
    for text in texts[:20]:
        intents.predict(text, embedding=encoder.encode_one(text))
    encoder.clear_cache()
    total_ms: list[float] = []
    for text in texts:
        t0 = time.perf_counter()
        intents.predict(text, embedding=encoder.encode_one(text))
        model.read(text, model.embed_one(text))
        total_ms.append((time.perf_counter() - t0) * 1000)
    p50, p99 = percentile(read_ms, 50), percentile(read_ms, 99)
    check(
        "read() per message, embedding precomputed",
        p50 <= 1.0 and p99 <= 3.0,
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (budget: p50 <= 1 ms, p99 <= 3 ms of the "
        f"5/15 ms analysis)",
    )
    t50, t99 = percentile(total_ms, 50), percentile(total_ms, 99)
    check(
        "intent + emotion per message (encoder pass uncached)",
        t50 <= READ_P50_MS and t99 <= READ_P99_MS,
        f"p50 {t50:.2f} ms, p99 {t99:.2f} ms (target p50 <= {READ_P50_MS}, "
        f"p99 <= {READ_P99_MS}); mean {statistics.mean(total_ms):.2f} ms",
    )

    # A 1,000-turn conversation: the per-turn cost must not grow with the conversation.
    from warmline.understanding.emotion.trajectory import ConversationEmotionTracker

    tracker = ConversationEmotionTracker()
    turn_ms: list[float] = []
    for turn in range(1000):
        text = texts[turn % len(texts)]
        reading = model.read(text, embeddings[turn % len(texts)])
        t0 = time.perf_counter()
        tracker.observe(text, embeddings[turn % len(texts)], reading, ts=float(turn * 30))
        turn_ms.append((time.perf_counter() - t0) * 1000)
    first, last = statistics.mean(turn_ms[:100]), statistics.mean(turn_ms[-100:])
    state_kb = len(json.dumps(tracker.to_state())) / 1024
    check(
        "1,000-turn conversation, trajectory + cues per turn",
        last <= max(2 * first, 0.5) and sum(turn_ms) <= 1000,
        f"first 100 turns {first:.3f} ms/turn, last 100 {last:.3f} ms/turn, total "
        f"{sum(turn_ms):.0f} ms, state {state_kb:.1f} KB",
    )

    # Upset: the GoEmotions test split (Reddit) and the customer-language sanity set.
    go_upset = _binary_upset(model, go_set, embed(go_set.texts))
    note(
        f"INFO  upset on GoEmotions test (anger/annoyance/disappointment/disapproval/disgust/"
        f"sadness/grief/fear/nervousness): frustration F1 {go_upset['model']:.3f}, "
        f"model head alone {go_upset['head']:.3f}, signals alone {go_upset['signals']:.3f}, "
        f"VADER {go_upset['vader']:.3f}"
    )
    texts_s = [text for text, _ in SANITY]
    gold = [label for _, label in SANITY]
    emb_s = model.embed(texts_s)
    pred = [model.read(t, e).frustration >= 0.5 for t, e in zip(texts_s, emb_s, strict=True)]
    vader = [plain_vader_compound(t) <= -0.05 for t in texts_s]
    head = [
        model.upset_probability(model.scores(t, e)) >= 0.5
        for t, e in zip(texts_s, emb_s, strict=True)
    ]
    note(
        f"INFO  customer sanity set ({len(SANITY)} hand-written messages, tests/emotion_sanity.py)"
        f": frustration F1 {_f1(gold, pred):.3f}, accuracy {_acc(gold, pred):.3f}; model head "
        f"alone F1 {_f1(gold, head):.3f}; signals alone F1 "
        f"{_f1(gold, [_signals_only(t) for t in texts_s]):.3f}; VADER F1 {_f1(gold, vader):.3f}, "
        f"recall {_recall(gold, vader):.3f}"
    )
    note(f"      total time {time.perf_counter() - started:.0f} s")
    if args.write_docs:
        write_docs(lines)
    return 1 if failures else 0


def _binary_upset(model: Any, dataset: Any, embeddings: Any) -> dict[str, float]:
    from warmline.understanding.emotion.labels import UPSET_SOURCES
    from warmline.understanding.emotion.signals import plain_vader_compound

    gold = [any(label in UPSET_SOURCES for label in row) for row in dataset.labels]
    full, head, signals, vader = [], [], [], []
    for text, embedding in zip(dataset.texts, embeddings, strict=True):
        full.append(model.read(text, embedding).frustration >= 0.5)
        head.append(model.upset_probability(model.scores(text, embedding)) >= 0.5)
        signals.append(_signals_only(text))
        vader.append(plain_vader_compound(text) <= -0.05)
    return {
        "model": _f1(gold, full),
        "head": _f1(gold, head),
        "signals": _f1(gold, signals),
        "vader": _f1(gold, vader),
    }


def _signals_only(text: str) -> bool:
    """Upset by the lexical signals alone (the same cue weights, no model)."""
    from warmline.understanding.emotion.model import FRUSTRATION_CUES, _noisy_or
    from warmline.understanding.emotion.signals import detect_signals

    found = detect_signals(text)
    return _noisy_or([s.strength * FRUSTRATION_CUES.get(s.name, 0.0) for s in found]) >= 0.5


def _f1(gold: list[bool], pred: list[bool]) -> float:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    denominator = sum(gold) + sum(pred)
    return 2 * tp / denominator if denominator else 0.0


def _recall(gold: list[bool], pred: list[bool]) -> float:
    positives = sum(gold)
    return sum(g and p for g, p in zip(gold, pred, strict=True)) / positives if positives else 0.0


def _acc(gold: list[bool], pred: list[bool]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


def write_docs(lines: list[str]) -> None:
    """Replace (or append) this benchmark's sub-section of "## Emotion" in docs/performance.md."""
    body = "\n".join(
        [
            f"Measured {date.today().isoformat()} on {MACHINE}; "
            "`python benchmarks/bench_emotion.py --write-docs`.",
            "",
            "```",
            *lines,
            "```",
        ]
    )
    update_subsection(SUBSECTION, body, section="Emotion")


if __name__ == "__main__":
    sys.exit(main())
