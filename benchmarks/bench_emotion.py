"""Emotion benchmarks (issue 4).

1. GoEmotions test split, 28 labels: macro-F1 of the shipped model (target >= 0.50).
2. GoEmotions test split, Ekman's 7 labels: macro-F1 (target >= 0.63).
3. Latency of `EmotionModel.read` per message with the embedding precomputed (the encoder pass
   that serves the intent classifier also yields the emotion branch's embedding), and of the
   analysis of one message, intent and emotion together, on uncached texts (targets: p50 <= 5 ms,
   p99 <= 15 ms; the read itself should be a small part of it).
4. Upset (frustration >= 0.5) on the GoEmotions test split and on the hand-made customer
   sanity set in tests/, with VADER (compound <= -0.05) for comparison.
5. Frustration on customer text (issue 17): AUC and F1 at 0.5 for "negative" on the test
   splits of the sets the customer head was trained on (twitter_sentiment, tweet_emotion,
   review_sentences), beside the previous calibration (the GoEmotions upset head with the same
   signals, which is what `read` does when it is given the branch embedding alone) and VADER;
   the share of informational BANKING77 test queries read as upset; the sanity set.
6. TweetSumm read by hand (benchmarks/data/tweetsumm_upset.jsonl, labels by one reader, a
   development proxy and no evaluation): customer turns labelled 0 (not upset), 1 (complaining)
   or 2 (clearly upset), and the 110 validation dialogues rated 1-5 for how satisfied the
   customer likely was; AUC of the message frustration for labels >= 1 and of the conversation
   frustration (`Trajectory.remembered`, what `warmline replay` prints) for ratings <= 2.

Run: .venv/bin/python benchmarks/bench_emotion.py [--write-docs] [--skip-customer]
Data: ../shared/data (or $WARMLINE_SHARED_DATA): goemotions/, twitter_sentiment/,
tweet_emotion/, review_sentences/, banking77/, tweetsumm/.
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
# Frustration on the customer sets' test splits (AUC, F1 at 0.5): regression guards set a little
# under the first measurement of the customer head (docs/performance.md, "Emotion"); the
# previous calibration scored 0.82 / 0.53, 0.90 / 0.82 and 0.94 / 0.78 there.
CUSTOMER_TARGETS: dict[str, tuple[float, float]] = {
    "twitter_sentiment": (0.84, 0.64),
    "tweet_emotion": (0.92, 0.88),
    "review_sentences": (0.95, 0.87),
}
CALM_REQUESTS_MAX = 0.05  # informational BANKING77 test queries read as upset
SANITY_ACCURACY = 0.95
TWEETSUMM_LABELS = ROOT / "benchmarks" / "data" / "tweetsumm_upset.jsonl"
RATED = ROOT / "benchmarks" / "data" / "satisfaction_conversations.jsonl"
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
    parser.add_argument(
        "--skip-customer", action="store_true", help="skip the customer sets and TweetSumm"
    )
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
        # The tracker compares turns by their sentence embedding (the second half).
        sentence = embeddings[turn % len(texts)][384:]
        t0 = time.perf_counter()
        tracker.observe(text, sentence, reading, ts=float(turn * 30))
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
    check(
        f"customer sanity set ({len(SANITY)} hand-written messages, tests/emotion_sanity.py)",
        _acc(gold, pred) >= SANITY_ACCURACY,
        f"frustration accuracy {_acc(gold, pred):.3f} (target >= {SANITY_ACCURACY}), F1 "
        f"{_f1(gold, pred):.3f}; GoEmotions upset head alone F1 {_f1(gold, head):.3f}; signals "
        f"alone F1 {_f1(gold, [_signals_only(t) for t in texts_s]):.3f}; VADER F1 "
        f"{_f1(gold, vader):.3f}, recall {_recall(gold, vader):.3f}",
    )
    if not args.skip_customer:
        customer_checks(model, shared_data(), check, note)
    note(f"      total time {time.perf_counter() - started:.0f} s")
    if args.write_docs:
        write_docs(lines)
    return 1 if failures else 0


def customer_checks(model: Any, data: Path, check: Any, note: Any) -> None:
    """Frustration on customer-like text: the new sets' test splits, calm requests, TweetSumm."""
    import numpy as np

    from warmline.understanding.emotion.customer import (
        INFORMATIONAL_INTENTS,
        SOURCES,
        CustomerDataError,
        auc,
        f1_score,
        load_customer_data,
    )
    from warmline.understanding.emotion.model import EMBEDDING_DIM
    from warmline.understanding.emotion.signals import plain_vader_compound

    if model.customer is None:
        check("customer head", False, "weights/frustration.json is missing or unusable")
        return
    try:
        splits = load_customer_data(data)
    except CustomerDataError as error:
        check("customer data", False, str(error))
        return
    test = splits["test"]
    embeddings = model.embed([example.text for example in test])
    for source in SOURCES:
        rows = [i for i, example in enumerate(test) if example.source == source]
        gold = np.array([test[i].negative for i in rows], dtype=bool)
        new = np.array([model.read(test[i].text, embeddings[i]).frustration for i in rows])
        # The previous calibration: the same reading from the branch embedding alone.
        old = np.array(
            [model.read(test[i].text, embeddings[i][:EMBEDDING_DIM]).frustration for i in rows]
        )
        vader = -np.array([plain_vader_compound(test[i].text) for i in rows])
        target_auc, target_f1 = CUSTOMER_TARGETS[source]
        new_auc, new_f1 = auc(gold, new), f1_score(gold, new >= 0.5)
        check(
            f"{source} test ({len(rows)}, {int(gold.sum())} negative)",
            new_auc >= target_auc and new_f1 >= target_f1,
            f"frustration AUC {new_auc:.3f}, F1 at 0.5 {new_f1:.3f} (targets >= {target_auc}, "
            f">= {target_f1}); previous calibration {auc(gold, old):.3f} / "
            f"{f1_score(gold, old >= 0.5):.3f}; VADER {auc(gold, vader):.3f} / "
            f"{f1_score(gold, vader >= 0.05):.3f}",
        )
    calm = _banking_queries(data, set(INFORMATIONAL_INTENTS))
    if calm:
        calm_embeddings = model.embed(calm)
        scores = np.array(
            [model.read(t, e).frustration for t, e in zip(calm, calm_embeddings, strict=True)]
        )
        share = float(np.mean(scores >= 0.5))
        check(
            f"calm requests ({len(calm)} BANKING77 test queries of informational intents)",
            share <= CALM_REQUESTS_MAX,
            f"{share:.1%} read as upset (target <= {CALM_REQUESTS_MAX:.0%}); median frustration "
            f"{float(np.median(scores)):.2f}",
        )
    _tweetsumm(model, data, note)


def _banking_queries(data: Path, intents: set[str]) -> list[str]:
    import csv

    path = data / "banking77" / "test.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row["category"] in intents]


def _tweetsumm(model: Any, data: Path, note: Any) -> None:
    """The hand labels of TweetSumm: customer turns and whole conversations."""
    import numpy as np

    from warmline.understanding.emotion.customer import auc, f1_score
    from warmline.understanding.emotion.model import EMBEDDING_DIM
    from warmline.understanding.emotion.trajectory import ConversationEmotionTracker

    dialogues: dict[str, list[str]] = {}
    for split in ("train", "valid"):
        path = data / "tweetsumm" / f"{split}.jsonl"
        if not path.is_file():
            note(f"SKIP  TweetSumm: {path} is missing")
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            dialogues[record["id"]] = [
                t["text"] for t in record["turns"] if t["speaker"] == "customer"
            ]
    labels = [json.loads(line) for line in TWEETSUMM_LABELS.read_text().splitlines()]
    rated = [json.loads(line) for line in RATED.read_text().splitlines()]
    rated_turns = [[t["text"] for t in r["turns"] if t["speaker"] == "customer"] for r in rated]
    texts = sorted(
        {t for r in labels for t in dialogues[r["id"]]} | {t for c in rated_turns for t in c}
    )
    vectors = dict(zip(texts, model.embed(texts), strict=True))
    new = {t: model.read(t, vectors[t]) for t in texts}
    old = {t: model.read(t, vectors[t][:EMBEDDING_DIM]) for t in texts}

    def message_line(name: str, pairs: list[tuple[str, int]]) -> None:
        gold = np.array([label >= 1 for _, label in pairs])
        upset = np.array([label == 2 for _, label in pairs])
        parts = []
        for title, reading in (("frustration", new), ("previous calibration", old)):
            score = np.array([reading[t].frustration for t, _ in pairs])
            parts.append(
                f"{title} AUC {auc(gold, score):.3f}, F1 at 0.5 {f1_score(gold, score >= 0.5):.3f}"
                f" (clearly upset vs rest AUC {auc(upset, score):.3f})"
            )
        note(
            f"INFO  TweetSumm {name} ({len(pairs)}, {gold.mean():.0%} complaining): "
            + "; ".join(parts)
        )

    first = [
        (dialogues[r["id"]][0], r["customer_turns"][0]) for r in labels if r["split"] == "train"
    ]
    valid = [
        (text, label)
        for r in labels
        if r["split"] == "valid"
        for text, label in zip(dialogues[r["id"]], r["customer_turns"], strict=True)
        if text.strip()
    ]
    message_line("first customer turns, train, read by hand", first)
    message_line("customer turns, valid, read by hand", valid)

    def remembered(turns: list[str], reading: dict[str, Any]) -> tuple[float, float]:
        tracker = ConversationEmotionTracker()
        trajectory = None
        for text in turns:
            vector = vectors[text]
            sentence = vector[EMBEDDING_DIM:] if len(vector) > EMBEDDING_DIM else None
            trajectory, _ = tracker.observe(text, sentence, reading[text], None)
        assert trajectory is not None
        return trajectory.remembered, (trajectory.maximum + trajectory.last) / 2

    valid_rated = [r for r in labels if r["split"] == "valid"]
    dissatisfied = np.array([r["rating"] <= 2 for r in valid_rated])
    self_rated = np.array([r["rated"] <= 2 for r in rated])
    parts = []
    for title, reading in (("now", new), ("previous calibration", old)):
        ts = np.array([remembered(dialogues[r["id"]], reading) for r in valid_rated])
        own = np.array([remembered(turns, reading) for turns in rated_turns])
        parts.append(
            f"{title}: mean {auc(dissatisfied, ts[:, 0]):.3f}, peak-end "
            f"{auc(dissatisfied, ts[:, 1]):.3f} (30 self-rated: {auc(self_rated, own[:, 0]):.3f} / "
            f"{auc(self_rated, own[:, 1]):.3f})"
        )
    note(
        f"INFO  TweetSumm valid dialogues rated by hand ({len(valid_rated)}, "
        f"{int(dissatisfied.sum())} dissatisfied): AUC of the conversation frustration, "
        + "; ".join(parts)
    )


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
