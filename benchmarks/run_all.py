"""`make bench`: run every benchmark, each in its own process, and report which targets failed.

Each benchmark prints PASS/FAIL lines, writes its section of docs/performance.md, and exits
non-zero when a target is missed. The shared data (../shared/data) must be present.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ["bench_intents.py"],
    ["bench_latency.py"],
    ["bench_emotion.py", "--write-docs"],
    ["bench_lexicon.py", "--write-docs"],
    ["bench_policy.py"],
    ["entities_redaction.py"],
    ["bench_kb.py", "--write-docs"],
    ["bench_track.py", "--write-docs"],
    ["bench_actions.py", "--strict"],
    ["bench_summary.py", "--write-docs"],
    ["bench_satisfaction.py", "--write-docs"],
    ["bench_report.py", "--write-docs"],
    ["bench_report.py", "--postgres", "--write-docs"],
    ["bench_load.py", "--write-docs"],
    ["bench_web.py", "--write-docs"],
]


def main() -> int:
    """Run all benchmarks; exit 1 if any failed."""
    failed: list[str] = []
    for command in BENCHMARKS:
        name = command[0]
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(HERE / name), *command[1:]], check=False)
        print(f"=== {name}: exit {result.returncode} in {time.perf_counter() - started:.0f} s")
        if result.returncode != 0:
            failed.append(name)
    print("\nall benchmarks passed" if not failed else f"\nFAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
