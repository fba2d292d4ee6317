"""Fit the handoff summary's sentence picker on TweetSumm's training dialogues only; writes
`src/warmline/handoff/summary_picker.json`.

For every customer and agent sentence of every training dialogue, the target is the ROUGE-1 F
(rouge-score, stemming on) of that sentence as the summary would phrase it, averaged over the
dialogue's human summaries. A ridge regression on `summary.features` learns it; the ridge's
strength is chosen by 5-fold cross-validation over dialogues (the mean target of the sentences
it would pick). Words seen in fewer than 3 training sentences are left out. The validation split
is never read here (`bench_summary.py` reports on it).

    python benchmarks/fit_summary_picker.py
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from warmline.handoff.summary import (
    Candidate,
    Speaker,
    agent_sentence,
    candidates,
    customer_sentence,
    features,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tweetsumm" / "train.jsonl"
OUT = ROOT / "src" / "warmline" / "handoff" / "summary_picker.json"
ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
MIN_SENTENCES = 3


def phrased(candidate: Candidate, speaker: Speaker) -> str:
    return (
        customer_sentence(candidate.text)
        if speaker == "customer"
        else agent_sentence(candidate.text)
    )


def rows(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def examples(dialogues: list[dict]) -> tuple[list[dict[str, float]], list[float], list[int]]:  # type: ignore[type-arg]
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    feats: list[dict[str, float]] = []
    targets: list[float] = []
    groups: list[int] = []
    for number, dialogue in enumerate(dialogues):
        turns = [(t["speaker"], t["text"]) for t in dialogue["turns"]]
        for speaker in ("customer", "agent"):
            for candidate in candidates(turns, speaker):  # type: ignore[arg-type]
                text = phrased(candidate, speaker)  # type: ignore[arg-type]
                targets.append(
                    statistics.mean(
                        scorer.score(ref, text)["rouge1"].fmeasure for ref in dialogue["summaries"]
                    )
                )
                feats.append(features(candidate, speaker))  # type: ignore[arg-type]
                groups.append(number * 2 + (speaker == "agent"))
    return feats, targets, groups


def picked_mean(pred: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Mean target of the top-predicted sentence per dialogue side."""
    chosen = []
    for group in np.unique(groups):
        rows_ = np.flatnonzero(groups == group)
        chosen.append(y[rows_[int(np.argmax(pred[rows_]))]])
    return float(np.mean(chosen))


def main() -> int:
    if not DATA.exists():
        print(f"TweetSumm training data missing: {DATA}", file=sys.stderr)
        return 1
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GroupKFold

    feats, targets, groups_list = examples(rows(DATA))
    counts = Counter(k for f in feats for k in f if ":w=" in k)
    feats = [
        {k: v for k, v in f.items() if ":w=" not in k or counts[k] >= MIN_SENTENCES} for f in feats
    ]
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform(feats)
    y = np.array(targets)
    groups = np.array(groups_list)
    dialogues = groups // 2
    scores = {}
    for alpha in ALPHAS:
        fold_scores = []
        for train, test in GroupKFold(n_splits=5).split(x, y, dialogues):
            model = Ridge(alpha=alpha).fit(x[train], y[train])
            fold_scores.append(picked_mean(model.predict(x[test]), y[test], groups[test]))
        scores[alpha] = float(np.mean(fold_scores))
        print(f"alpha {alpha:g}: picked-sentence ROUGE-1 {scores[alpha]:.4f} (5-fold CV)")
    alpha = max(scores, key=lambda a: scores[a])
    model = Ridge(alpha=alpha).fit(x, y)
    weights = {
        name: round(float(w), 5)
        for name, w in zip(vectorizer.get_feature_names_out(), model.coef_, strict=True)
        if abs(w) >= 1e-5
    }
    OUT.write_text(
        json.dumps(
            {
                "fitted_on": "TweetSumm train; benchmarks/fit_summary_picker.py",
                "alpha": alpha,
                "intercept": round(float(model.intercept_), 5),
                "weights": dict(sorted(weights.items())),
            },
            indent=0,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"chose alpha {alpha:g}; {len(weights)} weights written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
