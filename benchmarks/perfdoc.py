"""Write one benchmark's results into its own section of docs/performance.md.

Each section starts with a `## Title` line and ends where the next `## ` heading starts, so
several benchmarks (owned by different people) can share the file without overwriting each
other. Within the intents section each benchmark owns a `### ` sub-section.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
MACHINE = "2-core x86_64 (AMD EPYC), 24 GiB RAM, no GPU, Python 3.11"
SECTION = "Intents and encoder"


def update_subsection(subsection: str, body: str, section: str = SECTION) -> None:
    """Replace (or append) `### subsection` inside `## section` of docs/performance.md."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    section_text = _extract(text, "## ", section)
    if section_text is None:
        section_text = f"## {section}\n\n"
        text = text.rstrip("\n") + "\n\n" + section_text
    new_sub = f"### {subsection}\n\n{body.strip()}\n\n"
    old_sub = _extract(section_text, "### ", subsection)
    if old_sub is None:
        new_section = section_text.rstrip("\n") + "\n\n" + new_sub
    else:
        new_section = section_text.replace(old_sub, new_sub)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text.replace(section_text, new_section).rstrip("\n") + "\n", encoding="utf-8")


def _extract(text: str, marker: str, title: str) -> str | None:
    level = marker.strip()
    pattern = re.compile(
        rf"^{re.escape(marker)}{re.escape(title)}[ \t]*\n.*?(?=^#{{1,{len(level)}}} |\Z)",
        re.MULTILINE | re.DOTALL,
    )
    match = pattern.search(text)
    return match.group(0) if match else None


def record_measurement(
    lines: list[str], *, command: str, subsection: str, section: str = SECTION
) -> None:
    """Write a benchmark's output lines into docs/performance.md with today's date, the
    machine and the command that produced them."""
    body = "\n".join(
        [
            f"Measured {dt.date.today().isoformat()} on {MACHINE} (`{command}`).",
            "",
            "```",
            *lines,
            "```",
        ]
    )
    update_subsection(subsection, body, section)
