"""Retrieval quality: precision at 1, mean reciprocal rank and recall at 5 of a knowledge index
on queries whose right answers are known (`warmline eval kb`, benchmarks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warmline.automation.knowledge.index import KnowledgeIndex, SearchResult


@dataclass(frozen=True)
class Query:
    """A question and the ids of the sections (or FAQ entries) that answer it."""

    text: str
    answer_ids: frozenset[str]


@dataclass(frozen=True)
class Scores:
    """How well the index ranked the right answers."""

    p_at_1: float
    mrr: float
    recall_at_5: float
    queries: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "p_at_1": round(self.p_at_1, 4),
            "mrr": round(self.mrr, 4),
            "recall_at_5": round(self.recall_at_5, 4),
            "queries": self.queries,
        }


def ranked_ids(result: SearchResult, id_of: str = "article") -> list[str]:
    """The ids of the hits, best first (an FAQ entry's id is its article key)."""
    if id_of == "article":
        return [hit.entry.section.article for hit in result.hits]
    return [hit.entry.section.key for hit in result.hits]


def evaluate(
    index: KnowledgeIndex,
    queries: Sequence[Query],
    embeddings: np.ndarray,
    *,
    id_of: str = "article",
) -> tuple[Scores, list[SearchResult]]:
    """Scores over the answerable queries (those with at least one answer id)."""
    results = [
        index.search(query.text, embeddings[number], k=10) for number, query in enumerate(queries)
    ]
    hits_at_1 = reciprocal = found_at_5 = 0.0
    answerable = 0
    for query, result in zip(queries, results, strict=True):
        if not query.answer_ids:
            continue
        answerable += 1
        ranked = ranked_ids(result, id_of)
        rank = next((i for i, found in enumerate(ranked, 1) if found in query.answer_ids), None)
        if rank == 1:
            hits_at_1 += 1
        if rank is not None:
            reciprocal += 1.0 / rank
            if rank <= 5:
                found_at_5 += len(set(ranked[:5]) & query.answer_ids) / len(query.answer_ids)
    count = max(answerable, 1)
    return Scores(hits_at_1 / count, reciprocal / count, found_at_5 / count, answerable), results
