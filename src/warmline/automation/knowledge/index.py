"""Searching the knowledge base: lexical (BM25, `bm25s`) and semantic (the shared encoder's
sentence embeddings) scores, fused, and a calibrated confidence that the top hit answers.

Every section has two semantic views: its *heading* (the question, for a question-answer pair;
"article title: section heading" otherwise) and its *body* (the first words of its text, or the
answer). A query is scored against both and against the BM25 index over all its words; the
fused score weighs the three with weights chosen on development data (`ranking.json`, fitted
by `benchmarks/fit_kb_ranker.py`), and a logistic model of the top score and its margin over
the runner-up turns it into the chance that the top hit answers the question. Pure and
immutable: a new index is built when the knowledge base changes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from warmline.domain.knowledge import Section

RANKING_FILE = Path(__file__).resolve().parent / "ranking.json"
# The body view: the first words of a section. The encoder's cost grows with length; 32 words
# import 10,000 articles within a minute on two cores, at 0.01 less P@1 than 40 on BANKING77.
BODY_WORDS = 32
CANDIDATES = 50
_TOKEN = re.compile(r"\w\w+")
FloatArray = NDArray[np.float32]
Embed = Callable[[Sequence[str]], FloatArray]


@dataclass(frozen=True)
class Ranking:
    """How the three scores are weighed, and how the fused score becomes a probability."""

    head: float = 0.5
    body: float = 0.2
    lexical: float = 0.3
    bias: float = -6.0
    top: float = 8.0
    margin: float = 10.0
    fitted_on: str = "defaults (not fitted)"

    @classmethod
    def load(cls, path: Path = RANKING_FILE) -> Ranking:
        """The shipped ranking (defaults if the file is missing)."""
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def confidence(self, top: float, runner_up: float) -> float:
        """The chance that the top hit answers the question."""
        z = self.bias + self.top * top + self.margin * (top - runner_up)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class Entry:
    """A searchable section and where it comes from."""

    source: str
    section: Section


@dataclass(frozen=True)
class Hit:
    """One section found for a query, with its fused score and the scores behind it."""

    entry: Entry
    score: float
    head: float
    body: float
    lexical: float


@dataclass(frozen=True)
class SearchResult:
    """Hits, best first, and the confidence that the first answers the question."""

    hits: tuple[Hit, ...] = ()
    confidence: float = 0.0

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


def head_text(section: Section) -> str:
    """The heading view of a section."""
    if section.question:
        return section.question
    if section.heading == section.title:
        return section.title
    return f"{section.title}: {section.heading}"


def body_text(section: Section) -> str:
    """The body view: the first words of the text."""
    return " ".join(section.text.split()[:BODY_WORDS])


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


def tokens(text: str) -> list[str]:
    """Lexical tokens: lower-cased words of two letters or more, stop words dropped, stemmed."""
    stop = _stopwords()
    words = [w for w in _TOKEN.findall(text.lower()[:20_000]) if w not in stop]
    return list(_stemmer().stemWords(words)) if words else []


def lexical_text(section: Section) -> str:
    """Everything a section says, for the lexical index."""
    return " ".join(filter(None, (section.title, section.heading, section.question, section.text)))


@dataclass(frozen=True)
class Learned:
    """Questions agents said the bot answered wrongly: their embeddings, and per question the
    section it quoted and the section that answers it (either may be unknown)."""

    vectors: FloatArray
    wrong: tuple[str | None, ...]
    right: tuple[str | None, ...]


# A question this close to a corrected one (cosine of the sentence embeddings) is taken to be
# the same question: close paraphrases score about 0.8 and above with this encoder.
LEARNED_SIMILARITY = 0.8
WRONG_FACTOR = 0.5  # a section an agent said was wrong for the question keeps half its score


@dataclass
class KnowledgeIndex:
    """An immutable search index over a knowledge base's sections."""

    entries: tuple[Entry, ...] = ()
    heads: FloatArray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))
    bodies: FloatArray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))
    ranking: Ranking = field(default_factory=Ranking.load)
    version: str = "empty"
    learned: Learned | None = None

    def __post_init__(self) -> None:
        import bm25s

        self._lexical: Any = None
        if self.entries:
            self._lexical = bm25s.BM25()
            corpus = [tokens(lexical_text(entry.section)) or ["_"] for entry in self.entries]
            self._lexical.index(corpus, show_progress=False)

    @classmethod
    def build(
        cls,
        entries: Sequence[Entry],
        embed: Embed,
        *,
        version: str = "built",
        ranking: Ranking | None = None,
    ) -> KnowledgeIndex:
        """An index over `entries`, embedding both views of every section with `embed`."""
        sections = [entry.section for entry in entries]
        heads = embed([head_text(s) for s in sections]) if sections else None
        bodies = embed([body_text(s) for s in sections]) if sections else None
        return cls(
            entries=tuple(entries),
            heads=heads if heads is not None else np.zeros((0, 384), dtype=np.float32),
            bodies=bodies if bodies is not None else np.zeros((0, 384), dtype=np.float32),
            ranking=ranking or Ranking.load(),
            version=version,
        )

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, query: str, embedding: FloatArray | None, *, k: int = 5) -> SearchResult:
        """The best `k` sections for `query` (`embedding`: its sentence embedding, or None to
        search by words alone), with the confidence that the first answers it."""
        if not self.entries:
            return SearchResult()
        lexical = self._lexical_scores(query)
        if embedding is not None:
            vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
            head = self.heads @ vector
            body = self.bodies @ vector
        else:
            head = np.zeros(len(self.entries), dtype=np.float32)
            body = head
        ranking = self.ranking
        fused = ranking.head * head + ranking.body * body + ranking.lexical * lexical
        if self.learned is not None and embedding is not None:
            fused = self._corrected(fused, vector)
        count = min(max(k, CANDIDATES), len(fused))
        top = np.argpartition(-fused, count - 1)[:count]
        top = top[np.argsort(-fused[top])]
        hits = tuple(
            Hit(
                self.entries[i],
                float(fused[i]),
                float(head[i]),
                float(body[i]),
                float(lexical[i]),
            )
            for i in top[:k]
        )
        confidence = ranking.confidence(float(fused[top[0]]), self._runner_up(fused, top))
        return SearchResult(hits, confidence)

    def _corrected(self, fused: FloatArray, vector: FloatArray) -> FloatArray:
        """Scores after agents' corrections of the same question: the section they named
        goes first, the one they said was wrong loses half its score."""
        assert self.learned is not None
        close = np.flatnonzero(self.learned.vectors @ vector >= LEARNED_SIMILARITY)
        if close.size == 0:
            return fused
        fused = fused.copy()
        rows = self._rows_by_key()
        for i in close:
            for key in (self.learned.wrong[i],):
                if key in rows:
                    fused[rows[key]] *= WRONG_FACTOR
        top = float(fused.max())
        for i in close:
            key = self.learned.right[i]
            if key in rows:
                fused[rows[key]] = max(float(fused[rows[key]]), top + 0.01)
        return fused

    def _rows_by_key(self) -> dict[str | None, int]:
        if not hasattr(self, "_rows"):
            self._rows: dict[str | None, int] = {}
            for row, entry in enumerate(self.entries):
                self._rows.setdefault(entry.section.key, row)
        return self._rows

    def _runner_up(self, fused: FloatArray, ranked: NDArray[np.intp]) -> float:
        """The best score of another article: sections of the top hit's own article are
        neighbours, not rivals (the margin over them says little about the article)."""
        article = self.entries[int(ranked[0])].section.article
        for i in ranked[1:]:
            if self.entries[int(i)].section.article != article:
                return float(fused[i])
        return 0.0

    def _lexical_scores(self, query: str) -> FloatArray:
        """BM25 scores scaled into [0, 1] by the best one (0 when nothing matches)."""
        words = tokens(query)
        if not words or self._lexical is None:
            return np.zeros(len(self.entries), dtype=np.float32)
        scores = np.asarray(self._lexical.get_scores(words), dtype=np.float32)
        best = float(scores.max()) if scores.size else 0.0
        return scores / best if best > 0 else scores
