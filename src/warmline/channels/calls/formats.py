"""Reading call transcripts: WebVTT, a JSON list of `{speaker, text, start, end}` segments, and
the JSON of open speech-to-text tools (openai-whisper's `{"text", "segments": [...]}`, and the
whisperX / pyannote-diarised variants whose segments carry a `speaker`).

Every reader returns `Segment`s in seconds from the start of the call, or raises
`CallRefused` naming the line or segment that is wrong; nothing here trusts the input.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from warmline.channels.calls.segments import UNLABELLED, CallRefused, Segment

MAX_TRANSCRIPT_BYTES = 10 * 1024 * 1024
MAX_SEGMENT_CHARS = 10_000
FORMATS = ("vtt", "json")

_TIMESTAMP = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s+-->\s+{_TIMESTAMP}(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]*>")
# "Name: words" at the start of every cue (providers that do not use <v> tags).
_PREFIX = re.compile(r"^([^\s:<>][^:<>]{0,40}):\s+(\S.*)$", re.DOTALL)


def read_transcript(raw: bytes, *, name: str = "", fmt: str | None = None) -> list[Segment]:
    """Segments of a transcript given as bytes; the format is `fmt`, else told by the file's
    name (`.vtt`, `.json`), else by its first characters."""
    if not raw.strip():
        raise CallRefused("the transcript is empty", kind="call-transcript-empty")
    if len(raw) > MAX_TRANSCRIPT_BYTES:
        raise CallRefused(
            f"the transcript is larger than {MAX_TRANSCRIPT_BYTES // (1024 * 1024)} MB",
            kind="call-too-large",
            status=413,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CallRefused(
            f"the transcript is not UTF-8 text (byte {error.start})", kind="call-transcript-invalid"
        ) from None
    if "\x00" in text:
        raise CallRefused("the transcript contains NUL characters", kind="call-transcript-invalid")
    kind = fmt or _guess(name, text)
    if kind == "vtt":
        return parse_webvtt(text)
    if kind == "json":
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise CallRefused(
                f"the transcript is not valid JSON ({error})", kind="call-transcript-invalid"
            ) from None
        return parse_json(data)
    raise CallRefused(
        f"unknown transcript format {kind!r} (known: {', '.join(FORMATS)})",
        kind="call-transcript-invalid",
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _guess(name: str, text: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".vtt"):
        return "vtt"
    if lowered.endswith(".json"):
        return "json"
    head = text.lstrip()[:6]
    if head.startswith("WEBVTT"):
        return "vtt"
    if head[:1] in "[{":
        return "json"
    raise CallRefused(
        "cannot tell the transcript's format: WebVTT starts with WEBVTT, JSON with [ or {",
        kind="call-transcript-invalid",
    )


def parse_webvtt(text: str) -> list[Segment]:
    """Cues of a WebVTT file; the speaker is the cue's `<v Name>` tag, or a `Name:` prefix
    when every cue has one."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = lines[0].strip() if lines else ""
    if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))):
        raise CallRefused(
            "line 1: a WebVTT file starts with WEBVTT", kind="call-transcript-invalid"
        )
    cues: list[tuple[int, float, float, list[str]]] = []
    index = 1
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        block_start = index
        block: list[str] = []
        while index < len(lines) and lines[index].strip():
            block.append(lines[index])
            index += 1
        if block[0].startswith(("NOTE", "STYLE", "REGION")) and "-->" not in block[0]:
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            raise CallRefused(
                f"line {block_start + 1}: a cue needs a timing line "
                "(00:00:01.000 --> 00:00:04.000)",
                kind="call-transcript-invalid",
            )
        line_number = block_start + timing_at + 1
        match = _TIMING.match(block[timing_at])
        if match is None:
            raise CallRefused(
                f"line {line_number}: unreadable cue timing {block[timing_at].strip()[:80]!r}",
                kind="call-transcript-invalid",
            )
        groups = match.groups()
        start, end = _vtt_seconds(groups[:4]), _vtt_seconds(groups[4:])
        cues.append((line_number, start, end, block[timing_at + 1 :]))
    voiced = [_voice(payload) for _, _, _, payload in cues]
    texts = [_plain(" ".join(payload)) for _, _, _, payload in cues]
    speakers = [speaker or UNLABELLED for speaker, _ in voiced]
    if not any(speakers):
        prefixed = [_PREFIX.match(text) for text in texts]
        if texts and all(prefixed):
            speakers = [m.group(1).strip() for m in prefixed if m]
            texts = [m.group(2).strip() for m in prefixed if m]
    return [
        _segment(speaker, text, start, end, f"line {number}")
        for (number, start, end, _), speaker, text in zip(cues, speakers, texts, strict=True)
    ]


def _vtt_seconds(parts: tuple[str | None, ...]) -> float:
    hours, minutes, seconds, millis = (int(p) if p else 0 for p in parts)
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _voice(payload: list[str]) -> tuple[str | None, str]:
    joined = " ".join(payload)
    match = _VOICE.search(joined)
    return (match.group(1).strip() if match else None), joined


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def parse_json(data: Any) -> list[Segment]:
    """Segments of a JSON transcript: a list of segments, or an object with `segments`
    (whisper, whisperX); each segment has `text`, `start`, `end` and maybe `speaker`."""
    if isinstance(data, dict):
        items = data.get("segments")
        if items is None:
            raise CallRefused(
                'a JSON transcript is a list of segments or an object with "segments"',
                kind="call-transcript-invalid",
            )
    else:
        items = data
    if not isinstance(items, list):
        raise CallRefused('"segments" must be a list', kind="call-transcript-invalid")
    segments: list[Segment] = []
    for number, item in enumerate(items, start=1):
        where = f"segment {number}"
        if not isinstance(item, dict):
            raise CallRefused(f"{where} is not an object", kind="call-transcript-invalid")
        text = item.get("text")
        if not isinstance(text, str):
            raise CallRefused(f"{where} has no text", kind="call-transcript-invalid")
        speaker = item.get("speaker", UNLABELLED)
        if speaker is None:
            speaker = UNLABELLED
        if isinstance(speaker, int) and not isinstance(speaker, bool):
            speaker = str(speaker)
        if not isinstance(speaker, str):
            raise CallRefused(f"{where}: speaker must be a string", kind="call-transcript-invalid")
        segments.append(
            _segment(
                speaker.strip(),
                text,
                _number(item.get("start"), f"{where}: start"),
                _number(item.get("end"), f"{where}: end"),
                where,
            )
        )
    return segments


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CallRefused(f"{where} must be a number of seconds", kind="call-transcript-invalid")
    number = float(value)
    if not math.isfinite(number):
        raise CallRefused(f"{where} is not a finite number", kind="call-bad-times")
    return number


def _segment(speaker: str, text: str, start: float, end: float, where: str) -> Segment:
    if len(speaker) > 100 or any(ord(c) < 32 for c in speaker):
        raise CallRefused(f"{where}: unreadable speaker label", kind="call-transcript-invalid")
    if len(text) > MAX_SEGMENT_CHARS:
        raise CallRefused(
            f"{where} is longer than {MAX_SEGMENT_CHARS} characters", kind="call-transcript-invalid"
        )
    if any(0xD800 <= ord(c) <= 0xDFFF or c == "\x00" for c in text + speaker):
        raise CallRefused(
            f"{where} contains characters that are not text", kind="call-transcript-invalid"
        )
    return Segment(speaker=speaker, text=" ".join(text.split()), start=start, end=end)
