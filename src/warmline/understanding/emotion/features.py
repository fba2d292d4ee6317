"""Text features of the emotion model: word and character n-gram TF-IDF, in plain Python/NumPy.

Why our own analysers: training fits scikit-learn's `TfidfVectorizer` with *these* functions as
its analyser, and inference recomputes the same vector from the shipped vocabulary and IDF
weights, so the two can never drift apart and serving does not import scikit-learn.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

# Features read at most this many characters: the sentence encoder sees about 256 word pieces,
# and the n-grams of a longer text add little beyond its beginning.
MAX_FEATURE_CHARS = 2_000
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)

_TOKEN = re.compile(r"(?u)\b\w\w+\b|[!?]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_SPACES = re.compile(r"\s+")


def prepare(text: str) -> str:
    """Lower-case, NFKC-normalise, straighten quotes and bound the length."""
    text = unicodedata.normalize("NFKC", text[: MAX_FEATURE_CHARS * 2])[:MAX_FEATURE_CHARS]
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


def word_ngrams(text: str) -> list[str]:
    """Word uni- and bigrams; runs of ! and ? and emoji count as words (they carry emotion)."""
    tokens = _TOKEN.findall(prepare(text))
    grams = list(tokens)
    low, high = WORD_NGRAMS
    for n in range(max(2, low), high + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(text: str) -> list[str]:
    """Character 2..5-grams inside word boundaries (like scikit-learn's `char_wb`)."""
    grams: list[str] = []
    low, high = CHAR_NGRAMS
    for word in _SPACES.sub(" ", prepare(text)).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if length <= n:
                grams.append(padded)
                break
            grams.extend(padded[i : i + n] for i in range(length - n + 1))
    return grams


def tfidf_vector(
    grams: Sequence[str], vocabulary: Mapping[str, int], idf: NDArray[np.float32]
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Sparse (indices, values) of the sublinear, L2-normalised TF-IDF vector of `grams`."""
    counts = Counter(index for gram in grams if (index := vocabulary.get(gram)) is not None)
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = np.fromiter(
        (1.0 + math.log(count) for count in counts.values()), dtype=np.float32, count=len(counts)
    )
    values = tf * idf[indices]
    norm = float(np.linalg.norm(values))
    if norm > 0:
        values /= norm
    return indices, values.astype(np.float32, copy=False)
