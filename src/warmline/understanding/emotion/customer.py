"""Frustration trained for customers: the customer-negativity head and its calibration
(`warmline train frustration`; training only, serving reads `weights/frustration.json`).

GoEmotions is Reddit: its "upset" head reads ordinary customer complaints ("my bag didn't arrive
and nobody answers") as calm. This step trains a linear head on the encoder's two embeddings of
a message (the emotion branch and the sentence embedding, both from the one encoder pass) on
short texts labelled for negativity, then calibrates the whole `frustration` combination (head,
calming cues and complaint cues, `model.frustration_from`) on the development splits:

* `twitter_sentiment/` (SemEval-2017 task 4A): negative vs neutral + positive;
* `tweet_emotion/` (TweetEval emotion): anger + sadness vs joy + optimism;
* `review_sentences/` (Amazon, Yelp and IMDb sentences): negative vs positive, split 60/20/20
  by a hash of the text (`review_split`), as the set has no published splits;
* calm anchors: BANKING77 training queries of purely informational intents ("what is the
  exchange rate", "how do I change my PIN"), labelled not upset. The three sets above hold no
  customer requests, and without these a plain "how do I reset my password?" reads as negative.

Each source weighs the same in the loss, with its two classes balanced, so that the large
sentiment set does not dominate; the calm anchors weigh half a source. Steps, all deterministic
(published or hashed splits, full-batch L-BFGS from zero):

1. Encode every text through the same int8 graph as serving (cached on disk).
2. Fit the head on the training splits for C in `C_GRID`; keep the C with the best mean
   development AUC over the three sets.
3. Platt-scale the head on the development splits (sources and classes weighted as above).
4. Combine it with the lexical signals exactly as serving does and choose `line`, the raw value
   with the best F1 for "negative" on the weighted development mix; serving maps it to 0.5.
5. Report AUC and F1 at 0.5 on every development and test split, and write `frustration.json`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.emotion.model import (
    CUSTOMER_NAME,
    SERVICE_GATE_BASE,
    CustomerHead,
    EmotionModel,
    frustration_from,
)
from warmline.understanding.emotion.signals import detect_signals

if TYPE_CHECKING:
    from warmline.understanding.encoder import Encoder

SENTIMENT = "twitter_sentiment"
TWEET_EMOTION = "tweet_emotion"
REVIEWS = "review_sentences"
BANKING = "banking77"
SOURCES: tuple[str, ...] = (SENTIMENT, TWEET_EMOTION, REVIEWS)
NEGATIVE_LABELS: dict[str, frozenset[str]] = {
    SENTIMENT: frozenset({"negative"}),
    TWEET_EMOTION: frozenset({"anger", "sadness"}),
    REVIEWS: frozenset({"negative"}),
}
# BANKING77 intents whose queries are questions about how things work, not problems: the calm
# anchors. Problem intents ("card_not_working", "transaction_charged_twice") and ambiguous ones
# ("card_arrival", "pending_transfer", "terminate_account") are left out.
INFORMATIONAL_INTENTS: tuple[str, ...] = (
    "activate_my_card",
    "age_limit",
    "apple_pay_or_google_pay",
    "atm_support",
    "automatic_top_up",
    "card_about_to_expire",
    "card_acceptance",
    "card_delivery_estimate",
    "card_linking",
    "change_pin",
    "country_support",
    "disposable_card_limits",
    "edit_personal_details",
    "exchange_charge",
    "exchange_rate",
    "exchange_via_app",
    "fiat_currency_support",
    "get_disposable_virtual_card",
    "get_physical_card",
    "getting_spare_card",
    "getting_virtual_card",
    "order_physical_card",
    "receiving_money",
    "supported_cards_and_currencies",
    "top_up_by_bank_transfer_charge",
    "top_up_by_card_charge",
    "top_up_by_cash_or_cheque",
    "top_up_limits",
    "topping_up_by_card",
    "verify_my_identity",
    "visa_or_mastercard",
    "why_verify_identity",
)
CALM_ANCHOR_WEIGHT = 0.5
C_GRID: tuple[float, ...] = (0.25, 0.5, 1.0)
LINE_GRID = np.round(np.arange(0.20, 0.801, 0.01), 2)
SPLITS: tuple[str, ...] = ("train", "dev", "test")

Echo = Callable[[str], None]
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


class CustomerDataError(ValueError):
    """The customer training data is missing or malformed."""


@dataclass(frozen=True)
class Example:
    text: str
    negative: bool
    source: str


def review_split(text: str) -> str:
    """The fixed split of a review sentence: 60% train, 20% dev, 20% test by a hash of its text
    (duplicates always land in the same split)."""
    bucket = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "train" if bucket < 6 else "dev" if bucket < 8 else "test"


def _read_csv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise CustomerDataError(f"{path}: missing")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in columns if name not in (reader.fieldnames or [])]
        if missing:
            raise CustomerDataError(f"{path}: expected the columns {', '.join(columns)}")
        rows = [row for row in reader if (row.get("text") or "").strip()]
    if not rows:
        raise CustomerDataError(f"{path}: no rows")
    return rows


def load_customer_data(data_dir: Path) -> dict[str, list[Example]]:
    """Train/dev/test examples of the three sets (train also holds the calm anchors)."""
    out: dict[str, list[Example]] = {split: [] for split in SPLITS}
    for source in (SENTIMENT, TWEET_EMOTION):
        for split in SPLITS:
            for row in _read_csv(data_dir / source / f"{split}.csv", ("text", "label")):
                negative = row["label"].strip() in NEGATIVE_LABELS[source]
                out[split].append(Example(row["text"], negative, source))
    reviews = _read_csv(data_dir / REVIEWS / "sentences.csv", ("text", "label"))
    for row in reviews:
        negative = row["label"].strip() in NEGATIVE_LABELS[REVIEWS]
        out[review_split(row["text"])].append(Example(row["text"], negative, REVIEWS))
    wanted = set(INFORMATIONAL_INTENTS)
    for row in _read_csv(data_dir / BANKING / "train.csv", ("text", "category")):
        if row["category"] in wanted:
            out["train"].append(Example(row["text"], False, BANKING))
    return out


def sample_weights(examples: Sequence[Example]) -> NDArray[np.float64]:
    """Each labelled source weighs 1 in total, its classes balanced; the calm anchors weigh
    `CALM_ANCHOR_WEIGHT`. Normalised to a mean of 1."""
    weights = np.zeros(len(examples), dtype=np.float64)
    sources = sorted({example.source for example in examples})
    for source in sources:
        rows = [i for i, example in enumerate(examples) if example.source == source]
        if source == BANKING:
            weights[rows] = CALM_ANCHOR_WEIGHT / len(rows)
            continue
        for negative in (True, False):
            part = [i for i in rows if examples[i].negative is negative]
            if part:
                weights[part] = 0.5 / len(part)
    out: NDArray[np.float64] = weights / weights.mean()
    return out


def auc(gold: NDArray[np.bool_], scores: NDArray[np.float64]) -> float:
    """Area under the ROC curve (ties count half)."""
    from scipy.stats import rankdata

    positives = int(gold.sum())
    negatives = len(gold) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[gold].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def f1_score(gold: NDArray[np.bool_], pred: NDArray[np.bool_]) -> float:
    tp = float(np.sum(gold & pred))
    denominator = float(np.sum(gold) + np.sum(pred))
    return 2 * tp / denominator if denominator else 0.0


def weighted_f1(
    gold: NDArray[np.bool_], pred: NDArray[np.bool_], weights: NDArray[np.float64]
) -> float:
    tp = float(np.sum(weights * (gold & pred)))
    wrong = float(np.sum(weights * (gold != pred)))
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


def embed_cached(
    texts: Sequence[str],
    encoder: Encoder,
    cache_dir: Path | None,
    echo: Echo,
    progress: Progress = _no_progress,
) -> NDArray[np.float32]:
    """The branch and sentence embeddings of `texts` side by side (n, 768), cached by content
    hash, branch digest and graph version."""
    from warmline.understanding.encoder_onnx import GRAPH_VERSION

    assert encoder.branch is not None
    version = f"{encoder.backend}:{GRAPH_VERSION}:{encoder.branch.digest}:branch+sentence"
    digest = hashlib.sha256("\n".join([version, *texts]).encode("utf-8")).hexdigest()[:24]
    path = cache_dir / f"customer-{digest}.npy" if cache_dir is not None else None
    if path is not None and path.is_file():
        cached = np.load(path)
        if cached.shape == (len(texts), 768):
            return np.asarray(cached, dtype=np.float32)
    out = np.zeros((len(texts), 768), dtype=np.float32)
    chunk = 2048
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        out[start : start + chunk] = encoder.encode_emotion_uncached(
            list(texts[start : start + chunk]), batch_size=64
        )
        done = min(start + chunk, len(texts))
        progress("encoding", done, len(texts))
        echo(f"  encoded {done}/{len(texts)} ({time.perf_counter() - started:.0f} s)")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out)
    return out


def _fit_logistic(
    x: NDArray[np.float32], y: NDArray[np.bool_], weights: NDArray[np.float64], c: float
) -> tuple[NDArray[np.float64], float]:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=c, max_iter=5000, tol=1e-6)
    fitted.fit(x.astype(np.float64), y.astype(int), sample_weight=weights)
    return fitted.coef_[0].astype(np.float64), float(fitted.intercept_[0])


def train_frustration(
    data_dir: Path,
    out_dir: Path,
    *,
    model: EmotionModel,
    seed: int = 0,
    cache_dir: Path | None = None,
    echo: Echo = lambda message: None,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Train the customer head on `model`'s embeddings, calibrate `frustration`, write
    `frustration.json` to `out_dir`; return the report."""
    np.random.seed(seed)
    started = time.perf_counter()
    data = load_customer_data(data_dir)
    echo(
        "customer data: "
        + ", ".join(f"{split} {len(examples)}" for split, examples in data.items())
    )
    encoder = model.encoder()
    if encoder.branch is None:
        raise CustomerDataError("the emotion model has no encoder branch to read")
    texts = sorted({example.text for examples in data.values() for example in examples})
    echo(f"encoding {len(texts)} texts ...")
    vectors = embed_cached(texts, encoder, cache_dir, echo, progress)
    row = {text: i for i, text in enumerate(texts)}

    def matrix(examples: Sequence[Example]) -> NDArray[np.float32]:
        return vectors[[row[example.text] for example in examples]]

    def gold(examples: Sequence[Example]) -> NDArray[np.bool_]:
        return np.array([example.negative for example in examples], dtype=bool)

    train_x, train_y = matrix(data["train"]), gold(data["train"])
    train_w = sample_weights(data["train"])
    dev_x, dev_y, dev_w = matrix(data["dev"]), gold(data["dev"]), sample_weights(data["dev"])

    # 2. The head, its strength chosen by the mean development AUC of the three sets.
    fits: dict[float, tuple[NDArray[np.float64], float]] = {}
    dev_auc: dict[float, float] = {}
    for c in C_GRID:
        weights, bias = _fit_logistic(train_x, train_y, train_w, c)
        fits[c] = (weights, bias)
        scores = dev_x.astype(np.float64) @ weights + bias
        dev_auc[c] = float(
            np.mean(
                [auc(dev_y[part], scores[part]) for part in _parts(data["dev"], SOURCES).values()]
            )
        )
        echo(f"  C {c}: mean dev AUC {dev_auc[c]:.4f}")
    best_c = max(C_GRID, key=lambda c: (dev_auc[c], -c))
    weights, bias = fits[best_c]

    # 3. Platt scaling on the weighted development mix.
    dev_logit = dev_x.astype(np.float64) @ weights + bias
    slope_v, offset = _fit_logistic(dev_logit[:, None].astype(np.float32), dev_y, dev_w, 1e6)
    slope = float(slope_v[0])

    # 4. The combination with the signals, and the line that becomes 0.5.
    echo("reading the signals of the development and test texts ...")
    strengths = {
        split: [_strengths(example.text) for example in data[split]] for split in ("dev", "test")
    }
    head_p = {
        split: _sigmoid(slope * (matrix(data[split]).astype(np.float64) @ weights + bias) + offset)
        for split in ("dev", "test")
    }
    raw = {
        split: np.array(
            [
                frustration_from(float(p), s, line=0.5, service_gate_base=SERVICE_GATE_BASE)
                for p, s in zip(head_p[split], strengths[split], strict=True)
            ]
        )
        for split in ("dev", "test")
    }
    line_f1 = {float(t): weighted_f1(dev_y, raw["dev"] >= t, dev_w) for t in LINE_GRID}
    line = max(line_f1, key=lambda t: (round(line_f1[t], 6), -abs(t - 0.5)))
    echo(f"  line {line:.2f}: weighted dev F1 {line_f1[line]:.4f} (at 0.50: {line_f1[0.5]:.4f})")
    head = CustomerHead(
        weights=weights.astype(np.float32),
        bias=bias,
        slope=slope,
        offset=offset,
        line=line,
        branch_digest=encoder.branch.digest,
    )
    final = {
        split: np.array(
            [
                frustration_from(float(p), s, line=line, service_gate_base=SERVICE_GATE_BASE)
                for p, s in zip(head_p[split], strengths[split], strict=True)
            ]
        )
        for split in ("dev", "test")
    }
    report: dict[str, Any] = {
        "c": best_c,
        "line": line,
        "dev_mix_f1": round(line_f1[line], 4),
    }
    for split in ("dev", "test"):
        y = gold(data[split])
        report[split] = {
            source: {
                "n": len(part),
                "negative": int(y[part].sum()),
                "auc": round(auc(y[part], final[split][part]), 4),
                "f1": round(f1_score(y[part], final[split][part] >= 0.5), 4),
                "head_auc": round(auc(y[part], head_p[split][part]), 4),
            }
            for source, part in _parts(data[split], SOURCES).items()
        }
    report["seconds"] = round(time.perf_counter() - started, 1)
    meta = head.to_meta()
    meta["training"] = {
        "data": {
            SENTIMENT: "SemEval-2017 task 4A tweets (Rosenthal et al., 2017): negative vs "
            "neutral+positive; train split fitted, dev split calibrated; research use, text "
            "not shipped",
            TWEET_EMOTION: "TweetEval emotion (Barbieri et al., 2020; SemEval-2018 task 1): "
            "anger+sadness vs joy+optimism; train fitted, dev calibrated; text not shipped",
            REVIEWS: "Sentiment Labelled Sentences (Kotzias et al., 2015), CC BY 4.0: negative "
            "vs positive; 60/20/20 hashed split, train fitted, dev calibrated",
            BANKING: "BANKING77 (Casanueva et al., 2020), CC BY 4.0: training queries of "
            f"{len(INFORMATIONAL_INTENTS)} informational intents as calm anchors",
        },
        "informational_intents": list(INFORMATIONAL_INTENTS),
        "calm_anchor_weight": CALM_ANCHOR_WEIGHT,
        "c_grid": list(C_GRID),
        "dev_auc_by_c": {str(c): round(value, 4) for c, value in dev_auc.items()},
        "seed": seed,
        "data_sha256": _data_digest(data_dir),
        "examples": {split: len(examples) for split, examples in data.items()},
    }
    meta["report"] = report
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{CUSTOMER_NAME}.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    echo(f"wrote {out_dir}/{CUSTOMER_NAME}.json in {report['seconds']} s")
    return report


def _strengths(text: str) -> dict[str, float]:
    return {signal.name: signal.strength for signal in detect_signals(text)}


def _parts(examples: Sequence[Example], sources: Sequence[str]) -> dict[str, NDArray[np.int64]]:
    return {
        source: np.array([i for i, e in enumerate(examples) if e.source == source], dtype=np.int64)
        for source in sources
    }


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import expit

    out: NDArray[np.float64] = expit(z)
    return out


def _data_digest(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for source in (SENTIMENT, TWEET_EMOTION):
        for split in SPLITS:
            digest.update((data_dir / source / f"{split}.csv").read_bytes())
    digest.update((data_dir / REVIEWS / "sentences.csv").read_bytes())
    digest.update((data_dir / BANKING / "train.csv").read_bytes())
    return digest.hexdigest()
