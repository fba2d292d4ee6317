"""Development and test sets for knowledge-base retrieval, shared by the ranker fit and the
benchmark.

- BANKING77 as a cold-start FAQ: one question and a short answer per intent, written for this
  project (`data/banking77_faq.jsonl`); its *train* utterances are development queries, its
  *test* utterances are the reported ones.
- The demo help centre (`src/warmline/automation/knowledge/demo/`) with questions written for
  it (`data/demo_kb_questions.jsonl`): even lines are development, odd lines are reported.
- Questions neither knowledge base answers, for fitting the answer confidence: the first user
  turns of Schema-Guided Dialogue's *train* dialogues (restaurants, flights, music...).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

from warmline.automation.knowledge.documents import read_jsonl_pairs, read_paths
from warmline.automation.knowledge.evaluation import Query
from warmline.automation.knowledge.index import Entry
from warmline.domain.knowledge import slug

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SHARED = HERE.parents[1] / "shared" / "data"
BANKING77 = SHARED / "banking77"
SGD = SHARED / "sgd"
DEMO = HERE.parent / "src" / "warmline" / "automation" / "knowledge" / "demo"


def banking_faq() -> list[Entry]:
    """The BANKING77 FAQ as index entries (an entry's article key is its intent's slug)."""
    sections, problems = read_jsonl_pairs(
        (DATA / "banking77_faq.jsonl").read_text(encoding="utf-8"), "banking77_faq.jsonl"
    )
    assert not problems, problems
    return [Entry("banking77_faq", section) for section in sections]


def banking_queries(split: str, limit: int | None = None, seed: int = 0) -> list[Query]:
    """BANKING77 utterances of a split, as queries answered by their intent's FAQ entry."""
    path = BANKING77 / f"{split}.csv"
    if not path.exists():
        raise SystemExit(f"BANKING77 is missing: {path} (see ../shared/data/README.md)")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if limit is not None:
        random.Random(seed).shuffle(rows)
        rows = rows[:limit]
    return [Query(row["text"], frozenset({slug(row["category"])})) for row in rows]


def demo_entries() -> list[Entry]:
    """The demo help centre as index entries."""
    reading = read_paths([DEMO])
    assert not reading.problems, reading.problems
    return [Entry(source, s) for source, sections in reading.sources.items() for s in sections]


def demo_queries(half: str) -> list[Query]:
    """The demo help centre's questions: `dev` (even lines) or `test` (odd lines)."""
    lines = (DATA / "demo_kb_questions.jsonl").read_text(encoding="utf-8").splitlines()
    wanted = 0 if half == "dev" else 1
    queries = []
    for number, line in enumerate(line for line in lines if line.strip()):
        if number % 2 != wanted:
            continue
        record = json.loads(line)
        queries.append(Query(record["query"], frozenset(record["answer_ids"])))
    return queries


def unanswerable_queries(limit: int = 400, seed: int = 0) -> list[Query]:
    """Customer-like requests outside both knowledge bases (no right answer): first user turns
    of Schema-Guided Dialogue train dialogues."""
    path = SGD / "train.jsonl.gz"
    if not path.exists():
        raise SystemExit(
            f"Schema-Guided Dialogue is missing: {path} (see ../shared/data/README.md)"
        )
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        firsts = [json.loads(line)["turns"][0]["utterance"] for line in handle]
    random.Random(seed).shuffle(firsts)
    return [Query(text, frozenset()) for text in firsts[:limit]]
