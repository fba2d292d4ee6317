"""Speed of entity extraction and redaction: typical messages and 100,000-character abuse.

    .venv/bin/python benchmarks/entities_redaction.py

Targets (on one core of a modest machine): a typical message (~250 characters) in under 2 ms
on average for each of extract_entities and redact; any 100,000-character input, including
inputs built to make regexes backtrack, in under 1 second. Exit code 1 when a target is missed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from warmline.redaction import redact
from warmline.understanding.entities import extract_entities

TYPICAL_MS: float = 2.0
LONG_S: float = 1.0
N = 100_000

TYPICAL = [
    "Hi, I was charged €1.234,50 twice for order #A-5512 on 3 March 2025. Please call me on "
    "+44 20 7946 0958 or email ana@example.com by tomorrow, this is the third time I ask!!!",
    "where is my package?? tracking number 1Z999AA10123456784, it was due last Tuesday",
    "THIS IS RIDICULOUS. invoice INV-2024-0042 says $45.99 but I'm on the unlimited plan",
    "my card 4111 1111 1111 1111 was declined, ticket 4821, account number 12345678",
    "hello",
    "",
]

LONG = {
    "prose": (
        "Hi, my order #12345 from last Tuesday cost $45.99; call +44 20 7946 0958 or mail "
        "a.b@x.com. "
    )
    * (N // 95),
    "digits": "1" * N,
    "spaced digits": "1 " * (N // 2),
    "dashed digits": "12-" * (N // 3),
    "dotted digits": "1.2." * (N // 4),
    "parenthesised": "(1)" * (N // 3),
    "letters": "a" * N,
    "at signs": "a@" * (N // 2),
    "email-ish": "a.b-c%" * (N // 6),
    "dollar commas": "$1," * (N // 3),
    "label + spaces": "order" + " " * N,
    "plus signs": "+1 " * (N // 3),
    "dates": "2025-03-04 " * (N // 11),
    "cards": "4111 1111 1111 1111 " * (N // 20),
    "ssn": "123-45-6789 " * (N // 12),
    "emoji": "😡" * N,
    "cjk": "注文番号" * (N // 4),
    "control": "\x00\x01\x1b" * (N // 3),
}


def _seconds(function: Callable[[str], object], text: str, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function(text)
    return (time.perf_counter() - start) / repeat


def main() -> int:
    ok = True
    print("typical messages (mean of 200 runs per message):")
    for name, function in (("extract_entities", extract_entities), ("redact", redact)):
        mean_ms = 1000 * sum(_seconds(function, t, 200) for t in TYPICAL) / len(TYPICAL)
        verdict = "ok" if mean_ms < TYPICAL_MS else "MISSED"
        ok &= mean_ms < TYPICAL_MS
        print(f"  {name:17s} {mean_ms:7.3f} ms   target < {TYPICAL_MS} ms   {verdict}")
    print(f"100,000-character inputs (target < {LONG_S} s each):")
    worst = 0.0
    for name, text in LONG.items():
        entities_s = _seconds(extract_entities, text)
        redact_s = _seconds(redact, text)
        worst = max(worst, entities_s, redact_s)
        timings = f"entities {1000 * entities_s:7.1f} ms   redact {1000 * redact_s:7.1f} ms"
        print(f"  {name:15s} {timings}")
    verdict = "ok" if worst < LONG_S else "MISSED"
    ok &= worst < LONG_S
    print(f"  worst {worst:.3f} s   {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
