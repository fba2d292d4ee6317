"""Training of the emotion heads on GoEmotions (`warmline train emotion`).

Reproducible by construction: fixed data splits (the published train/dev/test files), fixed
seeds, deterministic kernels and a deterministic optimiser (full-batch L-BFGS). Steps:

1. Fine-tune the encoder's emotion branch (the top MiniLM layers) on the training split
   (`understanding/finetune.py`, needs PyTorch), or reuse the shipped branch (`branch="shipped"`).
2. Encode every text with the branch, through the same int8 graph as at inference (cached on
   disk by content hash and branch digest).
3. Fit word and character n-gram TF-IDF vocabularies on the training split.
4. Fit the heads on the training split: 28 GoEmotions labels, Ekman's 7, and "upset".
5. On the development split (which the fine-tuning never saw): choose the output mix, tune each
   head's decision threshold for F1, and Platt-calibrate the upset head so that 0.5 is its
   F1-optimal threshold.
6. Report the test-split scores and write `branch.npz`, `emotion.npz` and `emotion.json`.

PyTorch and scikit-learn are used here only; inference needs NumPy and ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.branch import BRANCH_FILE, Branch, BranchError
from warmline.understanding.emotion.features import (
    CHAR_NGRAMS,
    MAX_FEATURE_CHARS,
    WORD_NGRAMS,
    char_ngrams,
    word_ngrams,
)
from warmline.understanding.emotion.labels import EKMAN, GOEMOTIONS, UPSET_SOURCES
from warmline.understanding.emotion.model import (
    EMBEDDING_DIM,
    OUTPUTS,
    WEIGHTS_NAME,
    OutputCombiner,
)
from warmline.understanding.finetune import FinetuneSettings, finetune_branch

if TYPE_CHECKING:
    from warmline.understanding.encoder import Encoder

FORMAT_VERSION = 2
WORD_FEATURES = 20_000
CHAR_FEATURES = 30_000
WORD_MIN_DF = 3
CHAR_MIN_DF = 5
# Regularisation, chosen by 2-fold cross-validation on dev (docs/performance.md, "Emotion"):
# the branch was fine-tuned on the training rows, so its embedding of them is better than of
# new text, and heads fitted there lean on it too much unless it is held back harder than the
# n-grams (the embedding's effective C is REGULARISATION_C * EMBEDDING_SCALE ** 2).
EMBEDDING_SCALE = 0.5
REGULARISATION_C = 0.5
MAX_ITERATIONS = 400
CLASS_WEIGHT_POWER = 0.0  # 0.5 was tried: no gain on held-out or test macro-F1
THRESHOLD_GRID = np.concatenate([np.linspace(0.01, 0.1, 10), np.linspace(0.12, 0.9, 40)])

Echo = Callable[[str], None]
# progress(stage, done, total): drives the CLI's progress bar.
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


class TrainingDataError(ValueError):
    """The training data is missing or malformed."""


@dataclass
class Split:
    """One GoEmotions split: texts with 28-label and Ekman multi-hot targets."""

    texts: list[str]
    go: NDArray[np.float32]
    ekman: NDArray[np.float32]

    def targets(self) -> NDArray[np.float32]:
        """Targets of every head, in `head_names()` order."""
        upset_index = [GOEMOTIONS.index(name) for name in UPSET_SOURCES]
        upset = self.go[:, upset_index].max(axis=1, keepdims=True)
        return np.hstack([self.go, self.ekman, upset]).astype(np.float32)

    def outputs(self) -> NDArray[np.float32]:
        """Targets of the model's outputs (`OUTPUTS`: 28 labels, Ekman's 7, upset)."""
        return self.targets()[:, : len(OUTPUTS)]


def head_names() -> list[str]:
    """The raw heads in weight-column order; `OutputCombiner` turns them into `OUTPUTS`."""
    return [f"go:{n}" for n in GOEMOTIONS] + [f"ekman:{n}" for n in EKMAN] + ["upset"]


def _read_tsv(path: Path, size: int) -> tuple[list[str], list[str], NDArray[np.float32]]:
    if not path.is_file():
        raise TrainingDataError(f"{path}: missing")
    texts: list[str] = []
    ids: list[str] = []
    rows: list[list[int]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            labels = [int(item) for item in parts[1].split(",")]
        except (IndexError, ValueError):
            raise TrainingDataError(f"{path}:{number}: expected text<TAB>label ids") from None
        if any(label < 0 or label >= size for label in labels):
            raise TrainingDataError(f"{path}:{number}: label id out of range")
        texts.append(parts[0])
        ids.append(parts[2] if len(parts) > 2 else str(number))
        rows.append(labels)
    matrix = np.zeros((len(rows), size), dtype=np.float32)
    for row, labels in enumerate(rows):
        matrix[row, labels] = 1.0
    return texts, ids, matrix


def load_goemotions(data_dir: Path) -> dict[str, Split]:
    """The train/dev/test splits; Ekman labels come from ekman/ (same rows, same order)."""
    splits: dict[str, Split] = {}
    for name in ("train", "dev", "test"):
        texts, ids, go = _read_tsv(data_dir / "original" / f"{name}.tsv", len(GOEMOTIONS))
        _, ekman_ids, ekman = _read_tsv(data_dir / "ekman" / f"{name}.tsv", len(EKMAN))
        if ekman_ids != ids:
            raise TrainingDataError(f"{data_dir}/ekman/{name}.tsv: rows differ from original/")
        splits[name] = Split(texts=texts, go=go, ekman=ekman)
    return splits


def embed_cached(
    texts: Sequence[str],
    encoder: Encoder,
    cache_dir: Path | None,
    echo: Echo,
    progress: Progress = _no_progress,
    stage: str = "encoding",
) -> NDArray[np.float32]:
    """Branch embeddings of `texts`, cached by content hash, branch digest and graph version."""
    assert encoder.branch is not None
    from warmline.understanding.encoder_onnx import GRAPH_VERSION

    # The features depend on the branch and on the exact graph that computes them.
    version = f"{encoder.backend}:{GRAPH_VERSION}:{encoder.branch.digest}"
    key = "\n".join([version, *texts]).encode("utf-8")
    digest = hashlib.sha256(key).hexdigest()[:24]
    path = cache_dir / f"branch-{digest}.npy" if cache_dir is not None else None
    if path is not None and path.is_file():
        cached = np.load(path)
        if cached.shape == (len(texts), EMBEDDING_DIM):
            return np.asarray(cached, dtype=np.float32)
    out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    chunk = 2048
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        out[start : start + chunk] = encoder.encode_branch_uncached(
            list(texts[start : start + chunk]), batch_size=64
        )
        done = min(start + chunk, len(texts))
        progress(stage, done, len(texts))
        echo(f"  encoded {done}/{len(texts)} ({time.perf_counter() - started:.0f} s)")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out)
    return out


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "warmline" / "emotion"


# -- optimisation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadGroup:
    """Consecutive heads trained and read together: a softmax over labels or sigmoids."""

    name: str
    start: int
    end: int
    kind: str  # "softmax" or "sigmoid"


def head_groups() -> list[HeadGroup]:
    """GoEmotions and Ekman as softmaxes (labels compete, as most comments have one), upset
    as a sigmoid."""
    go, ekman = len(GOEMOTIONS), len(EKMAN)
    upset = go + ekman
    return [
        HeadGroup("go", 0, go, "softmax"),
        HeadGroup("ekman", go, upset, "softmax"),
        HeadGroup("upset", upset, upset + 1, "sigmoid"),
    ]


def group_probabilities(
    logits: NDArray[np.float64], groups: Sequence[HeadGroup]
) -> NDArray[np.float64]:
    """Per-head probabilities: softmax within softmax groups, sigmoid elsewhere."""
    out = np.zeros_like(logits)
    for group in groups:
        block = logits[:, group.start : group.end]
        if group.kind == "softmax":
            shifted = np.exp(block - block.max(axis=1, keepdims=True))
            out[:, group.start : group.end] = shifted / shifted.sum(axis=1, keepdims=True)
        else:
            out[:, group.start : group.end] = _sigmoid(block)
    return out


def fit_heads(
    features: Any,
    targets: NDArray[np.float32],
    groups: Sequence[HeadGroup],
    c: float = REGULARISATION_C,
    max_iterations: int = MAX_ITERATIONS,
    echo: Echo | None = None,
    progress: Progress = _no_progress,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """L2-regularised logistic heads, all fitted at once by full-batch L-BFGS.

    Loss: cross-entropy of each softmax group against the row's labels spread evenly, binary
    cross-entropy of each sigmoid head, plus ||W||^2 / (2C) (scikit-learn's parametrisation).
    The heads share the sparse products, so this is several times faster than one by one.
    """
    from scipy.optimize import minimize

    x = features.tocsr().astype(np.float64)
    xt = x.T.tocsr()
    y = targets.astype(np.float64)
    row_mass = np.ones((y.shape[0], len(groups)), dtype=np.float64)
    for number, group in enumerate(groups):
        if group.kind == "softmax":
            block = y[:, group.start : group.end]
            block = block / np.maximum(block.sum(axis=1, keepdims=True), 1)
            # Rare labels weigh more (inverse frequency to CLASS_WEIGHT_POWER), normalised so
            # that the average row keeps weight 1.
            frequency = np.maximum(block.mean(axis=0), 1e-9)
            weights_c = (frequency.max() / frequency) ** CLASS_WEIGHT_POWER
            weighted = block * weights_c
            weighted /= weighted.sum(axis=1).mean()
            y[:, group.start : group.end] = weighted
            row_mass[:, number] = weighted.sum(axis=1)
    n_features, n_heads = x.shape[1], y.shape[1]
    iteration = [0]

    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        weights = theta[: n_features * n_heads].reshape(n_features, n_heads)
        bias = theta[n_features * n_heads :]
        z = x @ weights + bias
        loss = 0.5 / c * float(np.sum(weights * weights))
        residual = np.empty_like(z)
        for number, group in enumerate(groups):
            block, gold = z[:, group.start : group.end], y[:, group.start : group.end]
            if group.kind == "softmax":
                shifted = block - block.max(axis=1, keepdims=True)
                log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
                loss -= float(np.sum(gold * (shifted - log_norm)))
                mass = row_mass[:, number : number + 1]
                residual[:, group.start : group.end] = mass * np.exp(shifted - log_norm) - gold
            else:
                loss += float(np.sum(np.logaddexp(0.0, block) - gold * block))
                residual[:, group.start : group.end] = _sigmoid(block) - gold
        grad_w = xt @ residual + weights / c
        return loss, np.concatenate([np.asarray(grad_w).ravel(), residual.sum(axis=0)])

    def callback(_: NDArray[np.float64]) -> None:
        iteration[0] += 1
        progress("fitting heads (L-BFGS)", iteration[0], max_iterations)
        if echo is not None and iteration[0] % 50 == 0:
            echo(f"  L-BFGS iteration {iteration[0]}/{max_iterations}")

    result = minimize(
        objective,
        np.zeros(n_features * n_heads + n_heads),
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        options={"maxiter": max_iterations},
    )
    weights = result.x[: n_features * n_heads].reshape(n_features, n_heads)
    return weights, result.x[n_features * n_heads :]


def f1_at(gold: NDArray[np.bool_], pred: NDArray[np.bool_]) -> float:
    tp = float(np.sum(gold & pred))
    denominator = float(np.sum(gold) + np.sum(pred))
    return 2 * tp / denominator if denominator else 0.0


def tune_thresholds(
    probabilities: NDArray[np.float64], targets: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Per head, the probability threshold with the best F1 on held-out data."""
    gold = targets >= 0.5
    out = np.zeros(probabilities.shape[1], dtype=np.float32)
    for head in range(probabilities.shape[1]):
        scores = [f1_at(gold[:, head], probabilities[:, head] >= t) for t in THRESHOLD_GRID]
        out[head] = THRESHOLD_GRID[int(np.argmax(scores))]
    return out


def platt(logits: NDArray[np.float64], gold: NDArray[np.bool_]) -> tuple[float, float]:
    """Fit p = sigmoid(a * logit + b) on held-out data (Platt scaling)."""
    from scipy.optimize import minimize

    y = gold.astype(np.float64)

    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        z = theta[0] * logits + theta[1]
        residual = _sigmoid(z) - y
        loss = float(np.sum(np.logaddexp(0.0, z) - y * z))
        return loss, np.array([np.sum(residual * logits), np.sum(residual)])

    result = minimize(objective, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import expit

    out: NDArray[np.float64] = expit(z)
    return out


def macro_f1(gold: NDArray[np.bool_], pred: NDArray[np.bool_]) -> float:
    return float(np.mean([f1_at(gold[:, j], pred[:, j]) for j in range(gold.shape[1])]))


def decide(
    probabilities: NDArray[np.float64], thresholds: NDArray[np.float32]
) -> NDArray[np.bool_]:
    """Thresholded decisions, with the most likely label when none passes (every row has one)."""
    pred = probabilities >= thresholds
    empty = ~pred.any(axis=1)
    ratio = probabilities / np.maximum(thresholds, 1e-6)
    pred[np.flatnonzero(empty), np.argmax(ratio[empty], axis=1)] = True
    return pred


# -- the pipeline ------------------------------------------------------------------------------


def train(
    data_dir: Path,
    out_dir: Path,
    *,
    seed: int = 0,
    cache_dir: Path | None = None,
    echo: Echo = lambda message: None,
    progress: Progress = _no_progress,
    branch: str = "finetune",
    finetune: FinetuneSettings | None = None,
) -> dict[str, Any]:
    """Train, calibrate, evaluate and write the emotion model; return the report.

    `branch`: "finetune" fine-tunes a new encoder branch (needs PyTorch); "shipped" reuses the
    package's branch and fits only the heads (minutes instead of about half an hour).
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    from warmline.understanding.encoder import Encoder

    np.random.seed(seed)
    started = time.perf_counter()
    splits = load_goemotions(data_dir)
    echo(f"GoEmotions: {', '.join(f'{k} {len(v.texts)}' for k, v in splits.items())}")
    settings = finetune if finetune is not None else FinetuneSettings(seed=seed)
    encoder_branch = _branch(branch, splits["train"], settings, echo, progress)
    encoder = Encoder(cache_size=0, branch=encoder_branch)
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    embeddings = {}
    for name, split in splits.items():
        echo(f"encoding {name} ...")
        embeddings[name] = embed_cached(
            split.texts, encoder, cache, echo, progress, f"encoding {name}"
        )
    echo("fitting TF-IDF vocabularies ...")
    word = TfidfVectorizer(
        analyzer=word_ngrams,
        min_df=WORD_MIN_DF,
        max_features=WORD_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer=char_ngrams,
        min_df=CHAR_MIN_DF,
        max_features=CHAR_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )
    word.fit(splits["train"].texts)
    char.fit(splits["train"].texts)

    def features(name: str) -> Any:
        texts = splits[name].texts
        return sp.hstack(
            [
                sp.csr_matrix(embeddings[name] * EMBEDDING_SCALE),
                word.transform(texts),
                char.transform(texts),
            ]
        ).tocsr()

    x = {name: features(name) for name in splits}
    y = {name: split.targets() for name, split in splits.items()}
    heads = head_names()
    groups = head_groups()
    echo(f"fitting {len(heads)} heads on {x['train'].shape[1]} features ...")
    weights, bias = fit_heads(x["train"], y["train"], groups, echo=echo, progress=progress)
    logits = {name: np.asarray(x[name] @ weights + bias) for name in ("dev", "test")}
    # Thresholds, mixing weights and the upset calibration are tuned on the dev split only:
    # the branch was fine-tuned on the training rows, so their predictions are not held out.
    logits["tune"] = logits["dev"]
    raw = {name: group_probabilities(value, groups) for name, value in logits.items()}
    gold = {name: splits[name].outputs() for name in ("dev", "test")}
    gold["tune"] = gold["dev"]
    go_mix, ekman_mix = choose_mix(raw["tune"], gold["tune"], heads, echo)
    combine = OutputCombiner(heads, go_mix, ekman_mix)
    probabilities = {name: combine(value).astype(np.float64) for name, value in raw.items()}
    thresholds = tune_thresholds(probabilities["tune"], gold["tune"])

    upset = heads.index("upset")
    tune_upset = gold["tune"][:, upset] >= 0.5
    slope, intercept = platt(logits["tune"][:, upset], tune_upset)
    calibrated = _sigmoid(slope * logits["tune"][:, upset] + intercept)
    best = float(tune_thresholds(calibrated[:, None], gold["tune"][:, upset : upset + 1])[0])
    offset = intercept - math.log(best / (1.0 - best))

    report = _report(probabilities, gold, thresholds, heads, slope, offset, logits)
    report["seconds"] = round(time.perf_counter() - started, 1)
    vocab_word = _vocabulary_list(word.vocabulary_)
    vocab_char = _vocabulary_list(char.vocabulary_)
    n_word, n_char = len(vocab_word), len(vocab_char)
    arrays = {
        **quantise("emb_w", weights[:EMBEDDING_DIM] * EMBEDDING_SCALE),
        **quantise("word_w", weights[EMBEDDING_DIM : EMBEDDING_DIM + n_word]),
        **quantise("char_w", weights[EMBEDDING_DIM + n_word : EMBEDDING_DIM + n_word + n_char]),
        "bias": bias.astype(np.float32),
        "word_idf": word.idf_.astype(np.float32),
        "char_idf": char.idf_.astype(np.float32),
        "thresholds": thresholds,
    }
    meta = {
        "format": FORMAT_VERSION,
        "heads": heads,
        "groups": [asdict(group) for group in groups],
        "outputs": list(OUTPUTS),
        "mix": {"go": go_mix, "ekman": ekman_mix},
        "word_vocab": vocab_word,
        "char_vocab": vocab_char,
        "upset_calibration": {"slope": slope, "offset": offset, "dev_threshold": best},
        "branch": _branch_provenance(branch, encoder_branch, settings),
        "features": {
            "encoder": "all-MiniLM-L6-v2 emotion branch (mean pooled, L2-normalised)",
            "word_ngrams": list(WORD_NGRAMS),
            "char_ngrams": list(CHAR_NGRAMS),
            "max_chars": MAX_FEATURE_CHARS,
        },
        "training": {
            "data": "GoEmotions (Demszky et al., 2020), Apache-2.0; train split, thresholds on dev",
            "class_weight_power": CLASS_WEIGHT_POWER,
            "seed": seed,
            "c": REGULARISATION_C,
            "embedding_scale": EMBEDDING_SCALE,
            "max_iterations": MAX_ITERATIONS,
            "data_sha256": _data_digest(data_dir),
        },
        "report": report,
    }
    write_weights(out_dir, arrays, meta)
    encoder_branch.save(out_dir / BRANCH_FILE)
    echo(f"wrote {out_dir}/{BRANCH_FILE}, {WEIGHTS_NAME}.npz and .json in {report['seconds']} s")
    return report


def _branch(
    mode: str, train_split: Split, settings: FinetuneSettings, echo: Echo, progress: Progress
) -> Branch:
    """The encoder branch to train the heads on: fine-tuned now, or the shipped one."""
    from warmline.understanding.branch import load_default
    from warmline.understanding.encoder import default_model_dir

    if mode == "shipped":
        try:
            shipped = load_default()
        except BranchError as error:
            raise TrainingDataError(str(error)) from None
        if shipped is None:
            raise TrainingDataError("the package ships no emotion branch: use --branch finetune")
        return shipped
    if mode != "finetune":
        raise ValueError(f"unknown branch mode {mode!r}: use finetune or shipped")
    echo(f"fine-tuning the emotion branch (layers {settings.start}-5) ...")
    weights = finetune_branch(
        default_model_dir(), train_split.texts, train_split.targets(), settings, echo, progress
    )
    return Branch.from_weights(settings.start, weights)


def _branch_provenance(mode: str, branch: Branch, settings: FinetuneSettings) -> dict[str, Any]:
    """How the branch was made. A reused (shipped) branch keeps the record written when it was
    fine-tuned, so refitting the heads does not lose where the branch came from."""
    from warmline.understanding.emotion.model import WEIGHTS_DIR

    if mode == "finetune":
        return {
            "start": branch.start,
            "digest": branch.digest,
            "finetuned": True,
            "settings": asdict(settings),
        }
    try:
        shipped = json.loads((WEIGHTS_DIR / f"{WEIGHTS_NAME}.json").read_text(encoding="utf-8"))
        recorded: dict[str, Any] = shipped["branch"]
    except (OSError, ValueError, KeyError):
        recorded = {}
    if recorded.get("digest") == branch.digest:
        return recorded
    return {"start": branch.start, "digest": branch.digest, "finetuned": None, "settings": None}


def quantise(name: str, weights: NDArray[np.float64]) -> dict[str, NDArray[Any]]:
    """int8 rows with a float32 scale per row: a quarter of float32, error below 0.4% of a row's
    largest weight (the model's size stays under 5 MB)."""
    scale = np.maximum(np.abs(weights).max(axis=1), 1e-12) / 127.0
    quantised = np.clip(np.round(weights / scale[:, None]), -127, 127).astype(np.int8)
    return {name: quantised, f"{name}_scale": scale.astype(np.float32)}


MIX_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def choose_mix(
    raw: NDArray[np.float64], gold: NDArray[np.float32], heads: list[str], echo: Echo
) -> tuple[float, float]:
    """The output mixing weights with the best dev macro-F1 (GoEmotions, then Ekman)."""
    go = slice(0, len(GOEMOTIONS))
    ekman = slice(len(GOEMOTIONS), len(GOEMOTIONS) + len(EKMAN))

    def score(go_mix: float, ekman_mix: float, part: slice) -> float:
        p = OutputCombiner(heads, go_mix, ekman_mix)(raw).astype(np.float64)
        thresholds = tune_thresholds(p[:, part], gold[:, part])
        return macro_f1(gold[:, part] >= 0.5, decide(p[:, part], thresholds))

    go_scores = {mix: score(mix, 0.0, go) for mix in MIX_GRID}
    go_mix = max(go_scores, key=lambda mix: go_scores[mix])
    ekman_scores = {mix: score(go_mix, mix, ekman) for mix in MIX_GRID}
    ekman_mix = max(ekman_scores, key=lambda mix: ekman_scores[mix])
    echo(f"  dev macro-F1 by GoEmotions mix {go_scores}; by Ekman mix {ekman_scores}")
    return go_mix, ekman_mix


def _vocabulary_list(vocabulary: dict[str, int]) -> list[str]:
    out = [""] * len(vocabulary)
    for term, index in vocabulary.items():
        out[index] = term
    return out


def _data_digest(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for kind in ("original", "ekman"):
        for name in ("train", "dev", "test"):
            digest.update((data_dir / kind / f"{name}.tsv").read_bytes())
    return digest.hexdigest()


def _report(
    probabilities: dict[str, NDArray[np.float64]],
    targets: dict[str, NDArray[np.float32]],
    thresholds: NDArray[np.float32],
    heads: list[str],
    slope: float,
    offset: float,
    logits: dict[str, NDArray[np.float64]],
) -> dict[str, Any]:
    go = slice(0, len(GOEMOTIONS))
    ekman = slice(len(GOEMOTIONS), len(GOEMOTIONS) + len(EKMAN))
    upset = heads.index("upset")
    out: dict[str, Any] = {}
    for split in ("dev", "test"):
        p, gold = probabilities[split], targets[split] >= 0.5
        frustration = _sigmoid(slope * logits[split][:, upset] + offset) >= 0.5
        go_pred = decide(p[:, go], thresholds[go])
        ekman_pred = decide(p[:, ekman], thresholds[ekman])
        out[split] = {
            "goemotions_macro_f1": round(macro_f1(gold[:, go], go_pred), 4),
            "ekman_macro_f1": round(macro_f1(gold[:, ekman], ekman_pred), 4),
            "upset_f1": round(f1_at(gold[:, upset], frustration), 4),
        }
    return out


def write_weights(out_dir: Path, arrays: dict[str, NDArray[Any]], meta: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / f"{WEIGHTS_NAME}.npz", **arrays)  # type: ignore[arg-type]
    (out_dir / f"{WEIGHTS_NAME}.json").write_text(
        json.dumps(meta, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
