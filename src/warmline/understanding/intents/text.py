"""Lexical features: word 1-2-grams and character 2-5-grams inside word boundaries, TF-IDF.

Why our own instead of sklearn's TfidfVectorizer: the model is saved as plain arrays + JSON
(no pickle) and predicts with NumPy alone, so the exact same analyzer must run at training and
at prediction time. The analyzers mirror sklearn's defaults (lowercase, token pattern
`\\b\\w\\w+\\b`, `char_wb` padding), with sublinear TF, smoothed IDF and per-block L2 norm.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.encoder import clean_text

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def word_grams(text: str) -> list[str]:
    """Word unigrams and bigrams of the lowercased text."""
    tokens = _TOKEN.findall(clean_text(text).lower())
    return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]


def char_grams(text: str, low: int = 2, high: int = 5) -> list[str]:
    """Character n-grams of each space-padded word (sklearn's `char_wb`)."""
    grams: list[str] = []
    for word in clean_text(text).lower().split():
        padded = f" {word} "
        size = len(padded)
        if size < low:  # pragma: no cover - a padded word has at least 3 characters
            continue
        grams += [
            padded[i : i + n] for n in range(low, min(high, size) + 1) for i in range(size - n + 1)
        ]
    return grams


@dataclass
class TfidfBlock:
    """One vocabulary with its IDF weights; `kind` is "word" or "char"."""

    kind: str
    vocabulary: dict[str, int]
    idf: NDArray[np.float32]

    @classmethod
    def fit(cls, kind: str, texts: Sequence[str], min_df: int = 1) -> TfidfBlock:
        analyse = _analyser(kind)
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(analyse(text)))
        terms = sorted(term for term, count in df.items() if count >= min_df)
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32)
        return cls(kind=kind, vocabulary={t: i for i, t in enumerate(terms)}, idf=idf)

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def vector(self, text: str) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Sparse L2-normalised TF-IDF of one text: (column indices, values)."""
        lookup = self.vocabulary.get
        known = [index for index in map(lookup, _analyser(self.kind)(text)) if index is not None]
        if not known:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        columns, tf = np.unique(np.array(known, dtype=np.int64), return_counts=True)
        values = (1.0 + np.log(tf.astype(np.float32))) * self.idf[columns]
        values /= np.float32(np.linalg.norm(values))
        return columns, values.astype(np.float32, copy=False)


def _analyser(kind: str) -> Callable[[str], list[str]]:
    if kind == "word":
        return word_grams
    if kind == "char":
        return char_grams
    raise ValueError(f"unknown TF-IDF block kind {kind!r}")


def sparse_rows(
    blocks: Sequence[TfidfBlock], texts: Iterable[str]
) -> tuple[list[int], list[int], list[float], int]:
    """COO triplets (rows, columns, values) of the stacked blocks for many texts, and width."""
    rows: list[int] = []
    columns: list[int] = []
    values: list[float] = []
    for row, text in enumerate(texts):
        offset = 0
        for block in blocks:
            cols, vals = block.vector(text)
            rows.extend([row] * len(cols))
            columns.extend((cols + offset).tolist())
            values.extend(vals.tolist())
            offset += block.size
    return rows, columns, values, sum(block.size for block in blocks)
