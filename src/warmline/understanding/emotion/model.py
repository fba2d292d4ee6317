"""The emotion model: learned heads on shared features, fused with the lexical signals.

Inference is NumPy (and the shared ONNX encoder) only. The shipped weights, written by
`warmline train emotion`, are the encoder's emotion branch (`weights/branch.npz`: the top
MiniLM layers fine-tuned on GoEmotions, run beside the original layers in the same pass, see
`understanding/branch.py`) and `weights/emotion.npz` + `weights/emotion.json`: one logistic head
per output over three feature blocks: the branch's pooled embedding, word n-gram TF-IDF and
character n-gram TF-IDF. The heads are the 28 GoEmotions
labels, Ekman's 7, and "upset" (annoyed, angry, disappointed or distressed); each has a decision
threshold tuned for F1 on the development split.

The reading for one message combines the model with the lexical signals (see docs/emotion.md):

* `emotions`: each warmline emotion is the most likely of the GoEmotions labels mapped to it,
  rescaled so that 0.5 is the label's tuned threshold, then raised by matching signal evidence.
* `frustration`: the customer head (`weights/frustration.json`, trained by `warmline train
  frustration` on sentiment tweets, emotion tweets and review sentences, `customer.py`) on the
  branch and sentence embeddings, Platt-calibrated; positive cues discount this model part; the
  customer-service cues (waiting, being passed around, asking again, a double charge...) are
  added as independent evidence (noisy-or); the result is mapped so that 0.5 is the F1-best line
  for "negative" on the development splits (`frustration_from`). Without the embeddings (or
  without `frustration.json`) the GoEmotions upset head stands in for the customer head.
* `urgency` and `distress`: the signals, with the model's fear/sadness as supporting evidence.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.branch import BRANCH_FILE, Branch
from warmline.understanding.emotion.features import char_ngrams, tfidf_vector, word_ngrams
from warmline.understanding.emotion.labels import (
    EKMAN,
    EKMAN_FROM_GO,
    GOEMOTIONS,
    WARMLINE_MAPPING,
)
from warmline.understanding.emotion.signals import detect_signals
from warmline.understanding.types import EmotionReading, Signal

if TYPE_CHECKING:
    from warmline.understanding.encoder import Encoder

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_NAME = "emotion"
# The GoEmotions heads read the emotion branch's embedding (adding the sentence embedding and
# the max-pooled states as features gave no gain on dev: 0.537 vs 0.539 macro-F1). The customer
# head reads the branch embedding and the sentence embedding side by side: `embed` and
# `embed_one` return both (CUSTOMER_DIM), and a bare branch embedding is still accepted.
EMBEDDING_DIM = 384
CUSTOMER_DIM = 2 * EMBEDDING_DIM
CUSTOMER_NAME = "frustration"
CUSTOMER_FORMAT = 1

FloatArray = NDArray[np.float32]

# How strongly each lexical signal alone says "this customer is upset" (noisy-or weights). A
# clear complaint cue on its own lifts a neutral message above 0.5; weak cues (urgency, "?!")
# only add to other evidence. docs/emotion.md explains the values.
FRUSTRATION_CUES: dict[str, float] = {
    "anger": 0.9,
    "annoyance": 0.8,
    "disappointment": 0.85,
    "distress": 0.65,
    "negative_valence": 0.55,
    "profanity": 0.7,
    "sarcasm": 0.85,
    "churn_threat": 0.7,
    "waiting_complaint": 0.75,
    "passed_around": 0.85,
    "repeated_contact": 0.8,
    "problem": 0.6,
    "complaint_question": 0.7,
    "resignation": 0.8,
    "demand": 0.7,
    "capitals": 0.4,
    "exclamations": 0.3,
    "question_marks": 0.35,
    "confusion": 0.3,
    "urgency": 0.25,
}
# What a cue counts for in a message with no words: typography and VADER's valence say little.
WORDLESS_WEIGHT: dict[str, float] = {
    "capitals": 0.5,
    "exclamations": 0.5,
    "question_marks": 0.5,
    "negative_valence": 0.5,
}
# General emotion cues, which the model also reads; their weight is gated by the model's reading.
# Sarcasm is not among them: the model reads "great, thanks for nothing" literally.
GENERIC_CUES = frozenset(
    {
        "anger",
        "annoyance",
        "disappointment",
        "distress",
        "negative_valence",
        "profanity",
        "capitals",
        "exclamations",
        "question_marks",
        "confusion",
        "urgency",
    }
)
GATE_BASE = 0.3
GATE_SLOPE = 1.5
# With the customer head, which has seen complaints, the customer-service cues are gated too,
# more gently: a bare "where is my parcel?" (a weak waiting cue) stays a question when the head
# reads it as calm, while "I've been waiting 3 weeks" counts in full. The GoEmotions upset head
# hardly knows these cues, so without the customer head they are not gated.
SERVICE_GATE_BASE = 0.6
# Positive cues discount the model's part of the frustration (not the explicit complaint cues:
# "thanks, but I have been waiting three weeks" is still upset).
CALMING_CUES: dict[str, float] = {
    "gratitude": 0.5,
    "satisfaction": 0.7,
    "positive_valence": 0.5,
    "plain_answer": 0.75,
    "polite_regret": 0.75,
}
URGENCY_CUES: dict[str, float] = {
    "urgency": 1.0,
    "distress": 0.45,
    "waiting_complaint": 0.25,
    "churn_threat": 0.3,
    "exclamations": 0.2,
    "capitals": 0.2,
}
DISTRESS_CUES: dict[str, float] = {"distress": 0.95}
# Signals that raise the matching warmline emotion (weight of the signal's strength).
EMOTION_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "anger": (("anger", 0.8), ("profanity", 0.4)),
    "annoyance": (
        ("annoyance", 0.8),
        ("waiting_complaint", 0.5),
        ("passed_around", 0.6),
        ("repeated_contact", 0.6),
        ("sarcasm", 0.6),
        ("complaint_question", 0.4),
        ("demand", 0.5),
        ("problem", 0.3),
    ),
    "disappointment": (("disappointment", 0.8), ("resignation", 0.6)),
    "anxiety": (("distress", 0.6),),
    "sadness": (("distress", 0.4),),
    "confusion": (("confusion", 0.8),),
    "gratitude": (("gratitude", 0.8),),
    "satisfaction": (("satisfaction", 0.8),),
}
# Below this many letters/digits the text carries no emotion we can read.
MIN_CONTENT_CHARS = 2


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def _noisy_or(values: list[float]) -> float:
    remaining = 1.0
    for value in values:
        remaining *= 1.0 - min(max(value, 0.0), 1.0)
    return 1.0 - remaining


OUTPUTS: tuple[str, ...] = (
    *(f"go:{name}" for name in GOEMOTIONS),
    *(f"ekman:{name}" for name in EKMAN),
    "upset",
)


@dataclass(frozen=True)
class HeadScores:
    """Outputs of the model for one message: raw head logits and the combined probabilities of
    `OUTPUTS` (28 GoEmotions labels, Ekman's 7, upset) with their thresholds."""

    logits: FloatArray
    raw_heads: tuple[str, ...]
    probabilities: FloatArray
    heads: tuple[str, ...]
    thresholds: FloatArray

    def logit(self, head: str) -> float:
        return float(self.logits[self.raw_heads.index(head)])

    def present(self) -> dict[str, float]:
        """Every head as a 0..1 score where 0.5 is its tuned decision threshold."""
        shifted = _logit_array(self.probabilities) - _logit_array(self.thresholds)
        return {
            head: round(_sigmoid(float(value)), 4)
            for head, value in zip(self.heads, shifted, strict=True)
        }


class OutputCombiner:
    """Turns per-head probabilities into `OUTPUTS`, the same way in training and at inference.

    GoEmotions: the softmax head and the one-vs-rest sigmoid heads, averaged in logit space with
    weight `go_mix` on the softmax. Ekman: the GoEmotions softmax summed over the labels of each
    Ekman category, mixed with the dedicated Ekman head (weight `ekman_mix` on the sums).
    """

    def __init__(self, heads: Sequence[str], go_mix: float, ekman_mix: float) -> None:
        index = {head: i for i, head in enumerate(heads)}
        self.go_mix = float(go_mix)
        self.ekman_mix = float(ekman_mix)
        self.soft = np.array([index[f"go:{n}"] for n in GOEMOTIONS], dtype=np.int64)
        ovr = [index.get(f"go_ovr:{n}") for n in GOEMOTIONS]
        self.ovr = np.array(ovr, dtype=np.int64) if None not in ovr else self.soft
        self.ekman = np.array([index[f"ekman:{n}"] for n in EKMAN], dtype=np.int64)
        self.upset = index["upset"]
        members = np.zeros((len(GOEMOTIONS), len(EKMAN)), dtype=np.float32)
        for column, name in enumerate(EKMAN):
            for label in EKMAN_FROM_GO[name]:
                members[GOEMOTIONS.index(label), column] = 1.0
        self.members = members

    def __call__(self, raw: NDArray[Any]) -> NDArray[Any]:
        soft = raw[..., self.soft]
        mixed = self.go_mix * _logit_array(soft) + (1.0 - self.go_mix) * _logit_array(
            raw[..., self.ovr]
        )
        go = 1.0 / (1.0 + np.exp(-mixed))
        ekman = (
            self.ekman_mix * np.clip(soft @ self.members, 0.0, 1.0)
            + (1.0 - self.ekman_mix) * raw[..., self.ekman]
        )
        upset = raw[..., self.upset : self.upset + 1]
        out: NDArray[Any] = np.concatenate([go, ekman, upset], axis=-1)
        return out


def group_probabilities(logits: FloatArray, groups: list[tuple[int, int, str]]) -> FloatArray:
    """Softmax within each softmax group of heads, sigmoid for the others."""
    out = np.empty_like(logits)
    for start, end, kind in groups:
        block = logits[..., start:end]
        if kind == "softmax":
            shifted = np.exp(block - block.max(axis=-1, keepdims=True))
            out[..., start:end] = shifted / shifted.sum(axis=-1, keepdims=True)
        else:
            out[..., start:end] = 1.0 / (1.0 + np.exp(-np.clip(block, -60.0, 60.0)))
    return out


def _weights(arrays: Mapping[str, NDArray[Any]], name: str) -> FloatArray:
    """A weight block, stored as float16 or as int8 rows with a float32 scale per row."""
    if f"{name}_scale" in arrays:
        scale = np.asarray(arrays[f"{name}_scale"], dtype=np.float32)[:, None]
        out: FloatArray = np.asarray(arrays[name], dtype=np.float32) * scale
        return out
    return np.asarray(arrays[name], dtype=np.float32)


def _logit_array(p: FloatArray) -> FloatArray:
    clipped = np.clip(np.asarray(p, dtype=np.float32), 1e-6, 1 - 1e-6)
    out: FloatArray = np.log(clipped / (1 - clipped)).astype(np.float32)
    return out


def frustration_from(
    model: float,
    strengths: Mapping[str, float],
    line: float = 0.5,
    service_gate_base: float = 1.0,
) -> float:
    """`frustration` from a calibrated model probability and the signals' strengths, the same in
    training (`customer.py`) and serving.

    The model part, discounted by positive cues, and the complaint cues are independent evidence
    (noisy-or); the general emotion cues count less when the model reads the message as calm, and
    the customer-service cues too from `service_gate_base` below 1. `line` is the raw value that
    means "upset" (chosen on development data): it is mapped to 0.5, keeping the order of all
    values.
    """
    calming = _noisy_or([strengths.get(n, 0.0) * w for n, w in CALMING_CUES.items()])
    # The model has read the general emotion words too: when it still reads the message as calm
    # (swearing in a happy message, "ridiculous" about a third party), those cues count for less.
    gate = min(1.0, GATE_BASE + GATE_SLOPE * model)
    service_gate = min(1.0, service_gate_base + GATE_SLOPE * model)
    cues = [
        strengths.get(name, 0.0) * weight * (gate if name in GENERIC_CUES else service_gate)
        for name, weight in FRUSTRATION_CUES.items()
    ]
    raw = _noisy_or([model * (1.0 - calming), *cues])
    if line == 0.5:
        return raw
    return _sigmoid(_logit(raw) - _logit(line))


@dataclass(frozen=True)
class CustomerHead:
    """The customer-negativity head and the calibration of `frustration`
    (`weights/frustration.json`, written by `warmline train frustration`)."""

    weights: FloatArray  # (CUSTOMER_DIM,): branch embedding, then sentence embedding
    bias: float
    slope: float  # Platt scaling of the head's logit on the development splits
    offset: float
    line: float  # the raw frustration mapped to 0.5
    branch_digest: str  # the encoder branch whose embeddings the head reads
    service_gate_base: float = SERVICE_GATE_BASE

    def probability(self, vector: FloatArray) -> float:
        """The calibrated probability that the message is negative."""
        logit = float(vector @ self.weights) + self.bias
        return _sigmoid(self.slope * logit + self.offset)

    def to_meta(self) -> dict[str, Any]:
        return {
            "format": CUSTOMER_FORMAT,
            "features": ["emotion branch embedding (384)", "sentence embedding (384)"],
            "branch_digest": self.branch_digest,
            "weights": [round(float(w), 7) for w in self.weights],
            "bias": self.bias,
            "calibration": {
                "slope": self.slope,
                "offset": self.offset,
                "line": self.line,
                "service_gate_base": self.service_gate_base,
            },
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> CustomerHead:
        """Read `frustration.json`; ValueError when it is malformed."""
        try:
            if int(meta["format"]) != CUSTOMER_FORMAT:
                raise ValueError(f"format {meta['format']}, expected {CUSTOMER_FORMAT}")
            weights = np.asarray(meta["weights"], dtype=np.float32)
            calibration = meta["calibration"]
            head = cls(
                weights=weights,
                bias=float(meta["bias"]),
                slope=float(calibration["slope"]),
                offset=float(calibration["offset"]),
                line=float(calibration["line"]),
                branch_digest=str(meta["branch_digest"]),
                service_gate_base=float(calibration["service_gate_base"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{CUSTOMER_NAME}.json: {error}") from None
        values = [head.bias, head.slope, head.offset, head.line, head.service_gate_base]
        if weights.shape != (CUSTOMER_DIM,) or not (
            np.all(np.isfinite(weights)) and all(math.isfinite(v) for v in values)
        ):
            raise ValueError(f"{CUSTOMER_NAME}.json: expected {CUSTOMER_DIM} finite weights")
        if not 0.0 < head.line < 1.0:
            raise ValueError(f"{CUSTOMER_NAME}.json: line must be between 0 and 1")
        return head


def _vector(embedding: NDArray[Any] | None, size: int) -> FloatArray | None:
    """The first `size` values of a usable embedding (384 or 768 finite values), else None."""
    if embedding is None:
        return None
    vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
    if vector.shape[0] not in (EMBEDDING_DIM, CUSTOMER_DIM) or vector.shape[0] < size:
        return None
    vector = vector[:size]
    return vector if bool(np.all(np.isfinite(vector))) else None


class EmotionModel:
    """Loads the shipped weights once; `read` turns a message (+ its embedding) into a reading."""

    def __init__(
        self,
        arrays: Mapping[str, NDArray[Any]],
        meta: Mapping[str, Any],
        encoder: Callable[[str], NDArray[Any]] | None = None,
        branch: Branch | None = None,
        customer: CustomerHead | None = None,
    ) -> None:
        self.meta = dict(meta)
        # The customer head of `frustration` (None: the GoEmotions upset head stands in).
        self.customer = customer
        # The encoder branch this model's embedding head was trained on (None: the shipped one).
        self.branch = branch
        self._embedder: Encoder | None = None
        self.raw_heads: tuple[str, ...] = tuple(meta["heads"])
        self.heads: tuple[str, ...] = OUTPUTS
        self._emb_w = _weights(arrays, "emb_w")
        self._word_w = _weights(arrays, "word_w")
        self._char_w = _weights(arrays, "char_w")
        self._bias = np.asarray(arrays["bias"], dtype=np.float32)
        self._word_idf = np.asarray(arrays["word_idf"], dtype=np.float32)
        self._char_idf = np.asarray(arrays["char_idf"], dtype=np.float32)
        self.thresholds = np.asarray(arrays["thresholds"], dtype=np.float32)
        self._word_vocab = {term: i for i, term in enumerate(meta["word_vocab"])}
        self._char_vocab = {term: i for i, term in enumerate(meta["char_vocab"])}
        calibration = meta["upset_calibration"]
        self._upset_slope = float(calibration["slope"])
        self._upset_offset = float(calibration["offset"])
        self._groups = [
            (int(group["start"]), int(group["end"]), str(group["kind"])) for group in meta["groups"]
        ]
        self._encoder = encoder
        self._go_index = np.arange(len(GOEMOTIONS), dtype=np.int64)
        self._ekman_index = np.arange(len(GOEMOTIONS), len(GOEMOTIONS) + len(EKMAN), dtype=np.int64)
        mix = meta.get("mix", {})
        self._combine = OutputCombiner(
            self.raw_heads, float(mix.get("go", 1.0)), float(mix.get("ekman", 0.0))
        )

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        directory: Path | str,
        encoder: Callable[[str], NDArray[Any]] | None = None,
        *,
        with_customer: bool = True,
    ) -> EmotionModel:
        """Load `emotion.npz` + `emotion.json` (and `branch.npz`, when the directory has its
        own) from a directory written by `train emotion`, and `frustration.json` when it has one
        (written by `train frustration` for the same branch) unless `with_customer` is False."""
        directory = Path(directory)
        meta = json.loads((directory / f"{WEIGHTS_NAME}.json").read_text(encoding="utf-8"))
        with np.load(directory / f"{WEIGHTS_NAME}.npz") as data:
            arrays = {key: data[key] for key in data.files}
        own_branch = directory / BRANCH_FILE
        branch = (
            Branch.load(own_branch)
            if own_branch.is_file() and directory.resolve() != WEIGHTS_DIR
            else None
        )
        customer = None
        customer_file = directory / f"{CUSTOMER_NAME}.json"
        if with_customer and customer_file.is_file():
            customer = CustomerHead.from_meta(json.loads(customer_file.read_text(encoding="utf-8")))
            digest = branch.digest if branch is not None else meta.get("branch", {}).get("digest")
            if customer.branch_digest != digest:
                logger.warning(
                    "%s was trained on another encoder branch (%s, not %s); frustration uses "
                    "the GoEmotions upset head: run `warmline train frustration`",
                    customer_file,
                    customer.branch_digest,
                    digest,
                )
                customer = None
        return cls(arrays, meta, encoder=encoder, branch=branch, customer=customer)

    @classmethod
    def load_default(cls) -> EmotionModel:
        """The model shipped in the package, shared by the whole process."""
        global _default
        if _default is None:
            with _default_lock:
                if _default is None:
                    _default = cls.load(WEIGHTS_DIR)
        return _default

    # -- inference ----------------------------------------------------------------------------

    def encoder(self, preferred: Encoder | None = None) -> Encoder:
        """The encoder computing this model's embeddings: `preferred` (else the shared one)
        when it runs this model's branch, a private one for a model trained with another."""
        from warmline.understanding.encoder import Encoder, get_encoder

        shared = preferred if preferred is not None else get_encoder()
        if self.branch is None or (
            shared.branch is not None and shared.branch.digest == self.branch.digest
        ):
            return shared
        if self._embedder is None:
            self._embedder = Encoder(branch=self.branch)
        return self._embedder

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """The embeddings this model reads, for many texts (uncached bulk work): the branch
        embedding and the sentence embedding side by side, (n, 768)."""
        return self.encoder().encode_emotion_uncached(list(texts), batch_size=64)

    def embed_one(self, text: str, encoder: Encoder | None = None) -> FloatArray | None:
        """The branch and sentence embeddings of one text (768 values, through the encoder's
        cache; pass the encoder that already encoded the text to reuse its pass), None without
        a branch (the heads were trained on it; n-grams and signals still read the text)."""
        return self.encoder(encoder).encode_emotion_one(text)

    def scores(self, text: str, embedding: NDArray[Any] | None) -> HeadScores:
        """Logits of every head for one text; a missing embedding contributes nothing."""
        logits = self._bias.copy()
        vector = _vector(embedding, EMBEDDING_DIM)
        if vector is not None:
            logits += vector @ self._emb_w
        for grams, vocab, idf, weights in (
            (word_ngrams(text), self._word_vocab, self._word_idf, self._word_w),
            (char_ngrams(text), self._char_vocab, self._char_idf, self._char_w),
        ):
            indices, values = tfidf_vector(grams, vocab, idf)
            if indices.size:
                logits += values @ weights[indices]
        return HeadScores(
            logits=logits,
            raw_heads=self.raw_heads,
            probabilities=self._combine(group_probabilities(logits, self._groups)),
            heads=self.heads,
            thresholds=self.thresholds,
        )

    def predict_labels(
        self, texts: list[str], embeddings: NDArray[Any] | None, label_set: str = "go"
    ) -> NDArray[np.bool_]:
        """Multi-label decisions (tuned thresholds) for 'go' (28 labels) or 'ekman' (7)."""
        index = self._go_index if label_set == "go" else self._ekman_index
        out = np.zeros((len(texts), index.size), dtype=bool)
        for row, text in enumerate(texts):
            embedding = None if embeddings is None else embeddings[row]
            probabilities = self.scores(text, embedding).probabilities[index]
            out[row] = probabilities >= self.thresholds[index]
            if not out[row].any():
                # Every GoEmotions comment has a label: fall back to the most likely one.
                margin = probabilities / np.maximum(self.thresholds[index], 1e-6)
                out[row, int(np.argmax(margin))] = True
        return out

    def upset_probability(self, scores: HeadScores) -> float:
        """The GoEmotions upset head's calibrated probability, 0.5 at its F1-optimal threshold
        on GoEmotions dev."""
        return _sigmoid(self._upset_slope * scores.logit("upset") + self._upset_offset)

    def customer_probability(self, embedding: NDArray[Any] | None) -> float | None:
        """The customer head's calibrated probability that the message is negative, None
        without the head or without both embeddings."""
        if self.customer is None:
            return None
        vector = _vector(embedding, CUSTOMER_DIM)
        return None if vector is None else self.customer.probability(vector)

    def read(self, text: str, embedding: NDArray[Any] | None = None) -> EmotionReading:
        """The emotion reading of one message: calibrated scores plus evidence. Never raises."""
        try:
            return self._read(text, embedding)
        except Exception:  # a reading must never take the pipeline down
            logger.exception("emotion reading failed; returning the empty reading")
            return empty_reading()

    def _read(self, text: str, embedding: NDArray[Any] | None) -> EmotionReading:
        text = text if isinstance(text, str) else ""
        signals = detect_signals(text)
        if sum(ch.isalnum() for ch in text[:200]) < MIN_CONTENT_CHARS:
            return _reading_without_words(signals)
        if embedding is None and self._encoder is not None:
            embedding = self._encoder(text)
        scores = self.scores(text, embedding)
        strengths = {signal.name: signal.strength for signal in signals}
        emotions = self._emotions(scores, strengths)
        frustration = self._frustration(scores, strengths, embedding)
        # The model reads polite regret ("I'm afraid", "sadly") as fear or sadness.
        politeness = 1.0 - CALMING_CUES["polite_regret"] * strengths.get("polite_regret", 0.0)
        distress = _noisy_or(
            [strengths.get(name, 0.0) * weight for name, weight in DISTRESS_CUES.items()]
            + [
                0.6 * politeness * emotions.get("anxiety", 0.0) ** 2,
                0.5 * politeness * emotions.get("sadness", 0.0) ** 2,
            ]
        )
        urgency = _noisy_or(
            [strengths.get(name, 0.0) * weight for name, weight in URGENCY_CUES.items()]
            + [0.25 * emotions.get("anxiety", 0.0) ** 2]
        )
        return EmotionReading(
            frustration=round(frustration, 4),
            urgency=round(urgency, 4),
            distress=round(distress, 4),
            emotions=emotions,
            signals=signals,
        )

    def _emotions(self, scores: HeadScores, strengths: Mapping[str, float]) -> dict[str, float]:
        present = scores.present()
        emotions: dict[str, float] = {}
        for name, sources in WARMLINE_MAPPING.items():
            value = max(present[f"go:{source}"] for source in sources)
            cues = [strengths.get(cue, 0.0) * weight for cue, weight in EMOTION_CUES.get(name, ())]
            emotions[name] = round(_noisy_or([value, *cues]), 4)
        if any(emotions[name] >= 0.5 for name in ("anger", "annoyance", "disappointment")):
            emotions["neutral"] = round(min(emotions["neutral"], 0.5), 4)
        return emotions

    def _frustration(
        self,
        scores: HeadScores,
        strengths: Mapping[str, float],
        embedding: NDArray[Any] | None,
    ) -> float:
        customer = self.customer_probability(embedding)
        if customer is not None and self.customer is not None:
            return frustration_from(
                customer, strengths, self.customer.line, self.customer.service_gate_base
            )
        # No customer head (or no embeddings): the GoEmotions upset head, as calibrated on
        # GoEmotions dev.
        return frustration_from(self.upset_probability(scores), strengths)


def empty_reading() -> EmotionReading:
    """The defined reading of a message with nothing to read (empty, whitespace, unreadable)."""
    return EmotionReading(
        frustration=0.0,
        urgency=0.0,
        distress=0.0,
        emotions={name: (1.0 if name == "neutral" else 0.0) for name in WARMLINE_MAPPING},
        signals=(),
    )


def _reading_without_words(signals: tuple[Signal, ...]) -> EmotionReading:
    """Only punctuation or emoji: keep what they say. Typography ("?!?!", "......") and the
    lexicon's valence count at half weight, as it says little on its own; an emoji the rules
    read as a feeling ("😡😡😡": anger) counts in full, as the same word would."""
    base = empty_reading()
    if not signals:
        return base
    strengths = {signal.name: signal.strength for signal in signals}
    frustration = _noisy_or(
        [
            strengths[name] * FRUSTRATION_CUES.get(name, 0.0) * WORDLESS_WEIGHT.get(name, 1.0)
            for name in strengths
        ]
    )
    return EmotionReading(
        frustration=round(frustration, 4),
        urgency=0.0,
        distress=0.0,
        emotions=base.emotions,
        signals=signals,
    )


_default: EmotionModel | None = None
_default_lock = threading.Lock()


def read(text: str, embedding: NDArray[Any] | None = None) -> EmotionReading:
    """Read one message with the shipped model (convenience for callers without a model)."""
    return EmotionModel.load_default().read(text, embedding)
