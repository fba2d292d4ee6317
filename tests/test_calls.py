"""Phone calls (docs/calls.md): transcripts in every format read into timed segments with
roles, the cues of the call's timing and of the caller's voice (recordings synthesised with
espeak-ng, calm then agitated), the CLI and API imports, and every bad input refused whole."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import API_KEY_HEADERS, TEST_ENVIRONMENT, assert_problem
from warmline.api.services import Services
from warmline.channels.calls import CallRefused, acoustics, read_call
from warmline.channels.calls.formats import parse_json, parse_webvtt, read_transcript
from warmline.channels.calls.segments import check_segments, group_turns, resolve_roles
from warmline.channels.calls.timing import timing_cues
from warmline.domain.conversation import Conversation
from warmline.domain.events import AnalysisRecorded
from warmline.replay import ReplayInputError, replay_conversation
from warmline.storage.conversations import recent_transcripts
from warmline.understanding.emotion.trajectory import (
    CUE_WEIGHTS,
    SPEECH_CUE_WEIGHTS,
    ConversationEmotionTracker,
    speech_signals,
)
from warmline.understanding.types import EmotionReading, Signal

# One worker runs every audio test: librosa's numba cache must not be compiled by two
# processes at once (see `acoustics.warm_up`).
pytestmark = pytest.mark.xdist_group("calls")
WARMLINE = [sys.executable, "-m", "warmline"]
IMPORT = "/api/v1/admin/calls/import"

VTT = """WEBVTT

NOTE exported by the telephony provider

1
00:00:00.000 --> 00:00:03.500
<v Agent>Thank you for calling, how can I help?</v>

2
00:00:04.000 --> 00:00:09.000
<v Customer>Hi, my parcel 48213 has not arrived &amp; I would like to know where it is.</v>

00:00:09.500 --> 00:00:12.000
<v Agent>Let me check that for you.</v>
"""

# openai-whisper's `--output_format json`, as written (trimmed to two segments).
WHISPER = {
    "text": " Hello, I am calling about my order. It still has not arrived.",
    "segments": [
        {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": 2.4,
            "text": " Hello, I am calling about my order.",
            "tokens": [50364, 2425, 11, 286, 669, 5141, 466, 452, 1668, 13, 50484],
            "temperature": 0.0,
            "avg_logprob": -0.2519,
            "compression_ratio": 1.1,
            "no_speech_prob": 0.012,
        },
        {
            "id": 1,
            "seek": 0,
            "start": 2.4,
            "end": 4.6,
            "text": " It still has not arrived.",
            "tokens": [50484, 467, 920, 575, 406, 6678, 13, 50594],
            "temperature": 0.0,
            "avg_logprob": -0.2519,
            "compression_ratio": 1.1,
            "no_speech_prob": 0.012,
        },
    ],
    "language": "en",
}

# whisperX after `assign_word_speakers` (pyannote diarisation): speakers on segments and words.
WHISPERX = {
    "segments": [
        {
            "start": 0.031,
            "end": 2.412,
            "text": " Thanks for calling, this is Sam.",
            "speaker": "SPEAKER_01",
            "words": [
                {
                    "word": "Thanks",
                    "start": 0.031,
                    "end": 0.3,
                    "score": 0.9,
                    "speaker": "SPEAKER_01",
                }
            ],
        },
        {
            "start": 2.2,
            "end": 6.0,
            "text": " My card was charged twice for the same invoice.",
            "speaker": "SPEAKER_00",
            "words": [
                {"word": "My", "start": 2.2, "end": 2.3, "score": 0.8, "speaker": "SPEAKER_00"}
            ],
        },
    ],
    "word_segments": [],
}


def seg(speaker: str, text: str, start: float, end: float) -> dict[str, Any]:
    return {"speaker": speaker, "text": text, "start": start, "end": end}


def raw(data: Any) -> bytes:
    return json.dumps(data).encode()


# ---- formats ---------------------------------------------------------------------------------


def test_webvtt_cues_voices_and_entities() -> None:
    segments = parse_webvtt(VTT)
    assert [(s.speaker, s.start, s.end) for s in segments] == [
        ("Agent", 0.0, 3.5),
        ("Customer", 4.0, 9.0),
        ("Agent", 9.5, 12.0),
    ]
    assert segments[1].text.startswith("Hi, my parcel 48213 has not arrived & I")
    assert resolve_roles(segments) == {"Agent": "agent", "Customer": "customer"}


def test_webvtt_name_prefixes_and_hours() -> None:
    text = (
        "WEBVTT\n\n01:00:00.000 --> 01:00:02.000\nCaller: Hello?\n\n"
        "01:00:02.500 --> 01:00:04,000\nOperator: Yes, go ahead.\n"
    )
    segments = read_transcript(text.encode(), name="call.vtt")
    assert [(s.speaker, s.text, s.start) for s in segments] == [
        ("Caller", "Hello?", 3600.0),
        ("Operator", "Yes, go ahead.", 3602.5),
    ]
    assert resolve_roles(segments) == {"Caller": "customer", "Operator": "agent"}


def test_json_segments_whisper_and_whisperx() -> None:
    plain = parse_json([seg("agent", "Hello", 0, 1), seg("customer", "Hi there", 1.2, 2)])
    assert [s.speaker for s in plain] == ["agent", "customer"]
    whisper = read_transcript(raw(WHISPER), name="call.json")
    assert [s.text for s in whisper] == [
        "Hello, I am calling about my order.",
        "It still has not arrived.",
    ]
    # One voice without labels (plain whisper of the caller's channel) is the caller.
    assert resolve_roles(whisper) == {"": "customer"}
    diarised = read_transcript(raw(WHISPERX))
    with pytest.raises(CallRefused, match="cannot tell which speaker is the customer"):
        resolve_roles(diarised)
    roles = resolve_roles(diarised, customer="SPEAKER_00")
    assert roles == {"SPEAKER_01": "agent", "SPEAKER_00": "customer"}
    assert resolve_roles(diarised, agent="SPEAKER_01") == roles


def test_turns_join_consecutive_segments_of_one_speaker() -> None:
    segments = parse_json(
        [
            seg("agent", "Hello.", 0, 1),
            seg("customer", "My order", 1.5, 2.5),
            seg("customer", "is late.", 2.6, 3.4),
            seg("customer", "", 3.5, 3.6),
            seg("agent", "Sorry to hear.", 4, 5),
        ]
    )
    check_segments(segments)
    turns = group_turns(segments, resolve_roles(segments))
    assert [(t.role, t.text, t.start, t.end) for t in turns] == [
        ("agent", "Hello.", 0, 1),
        ("customer", "My order is late.", 1.5, 3.4),
        ("agent", "Sorry to hear.", 4, 5),
    ]


# ---- timing cues -----------------------------------------------------------------------------


def _timing(items: list[dict[str, Any]]) -> dict[str, list[Signal]]:
    segments = parse_json(items)
    check_segments(segments)
    turns = group_turns(segments, resolve_roles(segments))
    return {turns[i].text: cues for i, cues in timing_cues(turns, segments).items()}


def test_long_silence_interruption_and_rising_pace() -> None:
    cues = _timing(
        [
            seg("customer", "Hello I am calling about the parcel that did not come", 0, 5),
            seg("agent", "Let me look that up for you, one moment please.", 5.5, 8.0),
            seg("customer", "Are you still there, is anybody looking at this", 20.0, 24.0),
            seg("agent", "Yes I am, sorry, the system is slow today and", 25.0, 29.0),
            seg(
                "customer",
                "No no no you said that last time and nothing happened at all",
                27.5,
                30.5,
            ),
        ]
    )
    first, waited, cut = (
        "Hello I am calling about the parcel that did not come",
        "Are you still there, is anybody looking at this",
        "No no no you said that last time and nothing happened at all",
    )
    assert first not in cues  # the caller's baseline
    assert [c.name for c in cues[waited]] == ["long_silence"]
    assert "12.0 s of silence" in cues[waited][0].evidence
    names = {c.name: c for c in cues[cut]}
    assert set(names) == {"interruption", "rising_pace"}
    assert "cut in 1.5 s before the agent finished" in names["interruption"].evidence
    assert 0 < names["rising_pace"].strength <= 1


def test_dead_air_splits_the_callers_turn() -> None:
    cues = _timing(
        [
            seg("agent", "Let me check that order for you.", 0, 2),
            seg("customer", "Thank you.", 2.5, 3.0),
            seg("customer", "Hello? Are you still there?", 15.0, 17.0),
        ]
    )
    assert list(cues) == ["Hello? Are you still there?"]
    assert [c.name for c in cues["Hello? Are you still there?"]] == ["long_silence"]


def test_a_calm_call_has_no_timing_cues() -> None:
    cues = _timing(
        [
            seg("agent", "Good morning, how can I help?", 0, 2),
            seg("customer", "I would like to change my delivery address please", 2.5, 6.0),
            seg("agent", "Of course, what is the new address?", 6.5, 8.5),
            seg("customer", "It is twelve Baker Street in London thank you", 9.0, 12.5),
        ]
    )
    assert cues == {}


# ---- the trajectory --------------------------------------------------------------------------


def _reading(frustration: float) -> EmotionReading:
    return EmotionReading(frustration=frustration)


def test_speech_cues_raise_frustration_and_text_only_is_unchanged() -> None:
    assert set(SPEECH_CUE_WEIGHTS) <= set(CUE_WEIGHTS)
    assert all(0 < w <= 0.15 for w in SPEECH_CUE_WEIGHTS.values())
    cues = (Signal("louder", "+9.5 dB", 1.0), Signal("raised_pitch", "+6 st", 1.0))
    plain = ConversationEmotionTracker()
    spoken = ConversationEmotionTracker()
    text_only, no_cues = plain.observe("where is my parcel", None, _reading(0.3), 100.0)
    heard, found = spoken.observe("where is my parcel", None, _reading(0.3), 100.0, speech=cues)
    assert no_cues == ()
    assert [c.name for c in found] == ["louder", "raised_pitch"]
    assert heard.last > text_only.last
    assert heard.last == pytest.approx(1 - 0.7 * 0.85 * 0.85, abs=1e-3)
    # No speech cues given: exactly the chat path (fast replies still count there).
    again = ConversationEmotionTracker.from_state(plain.to_state())
    _, chat = again.observe("WHERE IS IT", None, _reading(0.6), 105.0)
    assert "fast_reply" in {c.name for c in chat}
    # A spoken turn is not a "fast reply": every spoken answer comes within seconds.
    spoken_again = ConversationEmotionTracker.from_state(spoken.to_state())
    _, voiced = spoken_again.observe("WHERE IS IT", None, _reading(0.6), 105.0, speech=())
    assert "fast_reply" not in {c.name for c in voiced}


def test_speech_signals_from_meta_are_checked() -> None:
    assert speech_signals(None) is None
    assert speech_signals({"subject": "x"}) is None
    assert speech_signals({"speech_cues": []}) == ()
    meta = {
        "speech_cues": [
            {"name": "louder", "evidence": "+5 dB", "strength": 3},
            {"name": "profanity", "evidence": "not a speech cue", "strength": 1},
            {"name": "interruption", "evidence": "x", "strength": "high"},
            "junk",
        ]
    }
    assert speech_signals(meta) == (Signal("louder", "+5 dB", 1.0),)


# ---- voice (espeak-ng) -----------------------------------------------------------------------

CALM = {"pitch": 35, "speed": 150, "amplitude": 50}
AGITATED = {"pitch": 80, "speed": 235, "amplitude": 170}
AGENT = {"pitch": 20, "speed": 165, "amplitude": 80}
CALLER_LINES = [
    (
        "calm",
        "Hello, I am calling about my order, it has not arrived yet and I wonder where it is.",
    ),
    ("calm", "I ordered it two weeks ago and the tracking page has not changed since Monday."),
    ("agitated", "This is ridiculous, I have called three times and you keep telling me the same!"),
    ("agitated", "I want my money back today, I am really fed up with all of this, honestly!"),
]
AGENT_LINE = "I understand, let me have a look at that for you."


def _speak(text: str, voice: dict[str, int], path: Path) -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    assert espeak, (
        "espeak-ng is missing: apt-get install espeak-ng (scripts/ensure-test-packages.sh)"
    )
    subprocess.run(
        [
            espeak,
            "-w",
            str(path),
            "-p",
            str(voice["pitch"]),
            "-s",
            str(voice["speed"]),
            "-a",
            str(voice["amplitude"]),
            text,
        ],
        check=True,
        capture_output=True,
    )
    samples, rate = soundfile.read(path, dtype="float32")
    assert rate == 22050
    return np.asarray(samples, dtype=np.float32)


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A recorded call: the agent greets, the caller speaks calmly twice, then agitated twice,
    the agent answering in between; and its transcript (JSON segments)."""
    folder = tmp_path_factory.mktemp("call")
    rate = 22050
    gap = np.zeros(int(0.6 * rate), dtype=np.float32)
    audio: list[np.ndarray] = []
    segments: list[dict[str, Any]] = []
    clock = 0.0

    def add(speaker: str, text: str, voice: dict[str, int]) -> None:
        nonlocal clock
        samples = _speak(text, voice, folder / "line.wav")
        audio.extend([samples, gap])
        seconds = len(samples) / rate
        segments.append(seg(speaker, text, round(clock, 3), round(clock + seconds, 3)))
        clock += seconds + len(gap) / rate

    add("agent", "Thank you for calling, how can I help you today?", AGENT)
    for mood, line in CALLER_LINES:
        add("customer", line, CALM if mood == "calm" else AGITATED)
        add("agent", AGENT_LINE, AGENT)
    wav = folder / "call.wav"
    soundfile.write(wav, np.concatenate(audio), rate)
    transcript = folder / "call.json"
    transcript.write_text(json.dumps(segments))
    return {"wav": wav, "transcript": transcript, "segments": segments}


def test_the_voice_cues_move_the_right_way(call: dict[str, Any]) -> None:
    reading = read_call(call["transcript"].read_bytes(), recording=call["wav"].read_bytes())
    caller = [i for i, turn in enumerate(reading.turns) if turn.role == "customer"]
    voices = [reading.voices[i] for i in caller]
    calm, agitated = voices[:2], voices[2:]
    assert all(v.get("baseline") for v in calm) and not any(v.get("baseline") for v in agitated)
    for heard in agitated:
        for before in calm:
            assert heard["pitch_hz"] > before["pitch_hz"] * 1.2
            assert heard["loudness_db"] > before["loudness_db"] + 4
            assert heard["rate"] > before["rate"]
    names = [{c.name for c in reading.cues.get(i, [])} for i in caller]
    assert names[0] == names[1] == set()  # the baseline itself has no cue
    for found in names[2:]:
        assert {"raised_pitch", "louder"} <= found
    assert any("faster_speech" in found for found in names[2:])
    louder = next(c for c in reading.cues[caller[2]] if c.name == "louder")
    assert "dB against the start of the call" in louder.evidence
    assert reading.recording_seconds == pytest.approx(call["segments"][-1]["end"] + 0.6, abs=0.05)


def test_a_calm_caller_stays_calm(tmp_path: Path) -> None:
    rate = 22050
    gap = np.zeros(int(0.5 * rate), dtype=np.float32)
    audio, segments, clock = [], [], 0.0
    for _, line in CALLER_LINES:
        samples = _speak(line, CALM, tmp_path / "line.wav")
        segments.append(seg("caller", line, round(clock, 3), round(clock + len(samples) / rate, 3)))
        audio.extend([samples, gap])
        clock += (len(samples) + len(gap)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, np.concatenate(audio), rate, format="WAV")
    reading = read_call(raw(segments), recording=buffer.getvalue())
    heard = {c.name for cues in reading.cues.values() for c in cues}
    assert not heard & {"raised_pitch", "louder"}


# ---- bad input -------------------------------------------------------------------------------

BAD_TRANSCRIPTS: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty"),
    ("blank", b"  \n", "empty"),
    ("not utf-8", b"WEBVTT\n\n\xff\xfe", "not UTF-8"),
    ("no header", b"00:00:00.000 --> 00:00:01.000\nhi\n", "format"),
    ("vtt without header", b"1\n00:00:00.000 --> 00:00:01.000\nhi\n", "format"),
    ("vtt bad header", b"WEBVTT-ish\n\n00:00.000 --> 00:01.000\nhi\n", "line 1"),
    ("vtt bad timing", b"WEBVTT\n\n00:00:00 --> 00:00:01.000\nhi\n", "line 3"),
    ("vtt no timing", b"WEBVTT\n\nidentifier\nhello there\n", "timing line"),
    ("vtt no cues", b"WEBVTT\n", "no segments"),
    ("json malformed", b'[{"speaker": "a", "text": "hi",', "not valid JSON"),
    ("json NaN", b'[{"speaker": "a", "text": "hi", "start": NaN, "end": 1}]', "not valid JSON"),
    ("json not segments", b'{"transcript": "hello"}', '"segments"'),
    ("json segment not object", b"[1, 2]", "segment 1 is not an object"),
    ("json no text", raw([{"speaker": "a", "start": 0, "end": 1}]), "has no text"),
    ("json time as text", raw([seg("a", "hi", 0, 1) | {"start": "0:00"}]), "number of seconds"),
    ("json speaker not text", raw([seg("a", "hi", 0, 1) | {"speaker": ["a"]}]), "speaker"),
    ("json no words", raw([seg("customer", " ", 0, 1)]), "no words"),
    ("negative", raw([seg("customer", "hi", -1.0, 1.0)]), "negative time"),
    ("ends before start", raw([seg("customer", "hi", 5.0, 2.0)]), "ends (2 s) before it starts"),
    (
        "out of order",
        raw([seg("agent", "hello", 5, 6), seg("customer", "hi", 1, 2)]),
        "must be in order of time",
    ),
    (
        "overlapping one speaker",
        raw([seg("customer", "hello", 0, 5), seg("customer", "again", 3, 6)]),
        "overlaps segment 1 of the same speaker",
    ),
    ("too long", raw([seg("customer", "hi", 0, 1), seg("customer", "bye", 7300, 7301)]), "2 h"),
    (
        "unknown speaker",
        raw([seg("agent", "hello", 0, 1), {"text": "who is this", "start": 2, "end": 3}]),
        "segment 2 has no speaker",
    ),
    (
        "ambiguous speakers",
        raw([seg("SPEAKER_00", "hello", 0, 1), seg("SPEAKER_01", "hi", 2, 3)]),
        "cannot tell which speaker is the customer",
    ),
    ("only the agent", raw([seg("agent", "hello, anyone there?", 0, 1)]), "says nothing"),
]


@pytest.mark.parametrize(
    ("transcript", "message"),
    [(data, message) for _, data, message in BAD_TRANSCRIPTS],
    ids=[name for name, _, _ in BAD_TRANSCRIPTS],
)
def test_bad_transcripts_are_refused_clearly(transcript: bytes, message: str) -> None:
    with pytest.raises(CallRefused) as refused:
        read_call(transcript)
    assert message in str(refused.value)


def test_speaker_options_must_name_speakers_in_the_call() -> None:
    data = raw([seg("SPEAKER_00", "hello", 0, 1), seg("SPEAKER_01", "hi", 2, 3)])
    with pytest.raises(CallRefused, match="'SPEAKER_02' is not in the transcript"):
        read_call(data, customer="SPEAKER_02")
    with pytest.raises(CallRefused, match="same speaker"):
        read_call(data, customer="SPEAKER_00", agent="SPEAKER_00")


def _wav(seconds: float, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(
        buffer, (0.1 * np.sin(2 * math.pi * 140 * t)).astype(np.float32), rate, format="WAV"
    )
    return buffer.getvalue()


BAD_RECORDINGS: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty"),
    ("not audio", b"%PDF-1.7 this is a document, not a recording" * 20, "not audio"),
    ("text", b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", "not audio"),
    ("truncated header", _wav(2.0)[:30], "not audio"),
    ("shorter than the call", _wav(1.0), "not of the same call"),
]


@pytest.mark.parametrize(
    ("recording", "message"),
    [(data, message) for _, data, message in BAD_RECORDINGS],
    ids=[name for name, _, _ in BAD_RECORDINGS],
)
def test_bad_recordings_are_refused_clearly(recording: bytes, message: str) -> None:
    transcript = raw([seg("caller", "where is my parcel", 0, 4), seg("caller", "hello?", 5, 8)])
    with pytest.raises(CallRefused) as refused:
        read_call(transcript, recording=recording)
    assert message in str(refused.value)


def test_recordings_too_large_or_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    transcript = raw([seg("caller", "where is my parcel", 0, 1)])
    monkeypatch.setattr(acoustics, "MAX_RECORDING_BYTES", 1000)
    with pytest.raises(CallRefused, match="larger than") as large:
        read_call(transcript, recording=_wav(2.0))
    assert large.value.status == 413
    monkeypatch.setattr(acoustics, "MAX_RECORDING_BYTES", 50 * 1024 * 1024)
    monkeypatch.setattr(acoustics, "MAX_RECORDING_SECONDS", 1.5)
    with pytest.raises(CallRefused, match="lasts"):
        read_call(transcript, recording=_wav(2.0))


def test_without_the_audio_libraries_a_recording_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "librosa", None)
    transcript = raw([seg("caller", "where is my parcel", 0, 1)])
    with pytest.raises(CallRefused, match=r"warmline\[calls\]"):
        read_call(transcript, recording=_wav(2.0))
    assert read_call(transcript).turns  # the transcript alone still reads


# ---- CLI -------------------------------------------------------------------------------------

ANGRY_CALL = [
    seg("agent", "Thank you for calling, this is Sam, how can I help?", 0.0, 3.0),
    seg("customer", "Hi, my order 48213 has not arrived and it was due last week.", 3.5, 8.0),
    seg("agent", "I am sorry about that, let me check the order for you.", 8.5, 11.0),
    seg("customer", "I have called three times already, this is ridiculous!", 24.0, 27.0),
    seg("agent", "I understand, the courier shows that it", 27.5, 30.0),
    seg(
        "customer", "No, I want to speak to a manager right now, I am fed up with this!", 29.0, 32.0
    ),
]


def _cli(args: list[str], database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **TEST_ENVIRONMENT,
        "WARMLINE_DATABASE_URL": database_url,
        "WARMLINE_DATA_DIR": str(tmp_path),
    }
    return subprocess.run(
        [*WARMLINE, "import", "calls", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_cli_imports_a_call_and_hands_it_over(
    database_url: str, tmp_path: Path, call: dict[str, Any]
) -> None:
    angry = tmp_path / "angry.json"
    angry.write_text(json.dumps(ANGRY_CALL))
    bad = tmp_path / "bad.vtt"
    bad.write_text("WEBVTT\n\n00:00:05.000 --> 00:00:01.000\n<v Customer>hi</v>\n")
    result = _cli(
        [str(angry), str(bad), "--open", "--phone", "+44 20 7946 0000", "--json"],
        database_url,
        tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "bad.vtt: refused, nothing stored: segment 1 ends (1 s) before it starts" in (
        result.stderr
    )
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["escalated"] and record["status"] == "queued"
    assert record["customer_turns"] == 3 and record["turns"] == 6
    assert record["cues"] == {"interruption": 1, "long_silence": 1}
    packet = record["packet"]
    # It reads like any other packet: intent, goal, emotion, reasons, bullets, a first line.
    assert {
        "intent",
        "goal",
        "entities",
        "emotion",
        "reasons",
        "bullets",
        "suggested_first_line",
        "turns",
    } <= set(packet)
    assert packet["turns"] == 3 and packet["reasons"]
    assert any("48213" in str(entity.get("value")) for entity in packet["entities"])
    assert packet["bullets"] and packet["suggested_first_line"]
    # The recording beside the transcript is found and measured; the text output says so.
    result = _cli([str(call["transcript"])], database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "with call.wav" in result.stdout and "raised_pitch" in result.stdout


def test_cli_refusals_exit_2(database_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.vtt"
    empty.write_text("")
    result = _cli([str(empty), str(tmp_path / "missing.json")], database_url, tmp_path)
    assert result.returncode == 2
    assert "empty.vtt: refused, nothing stored: the transcript is empty" in result.stderr
    assert "missing.json: refused, nothing stored: cannot read" in result.stderr
    assert "Traceback" not in result.stderr
    result = _cli([str(empty), "--started-at", "yesterday"], database_url, tmp_path)
    assert result.returncode == 2 and "not an ISO 8601 time" in result.stderr


# ---- API -------------------------------------------------------------------------------------


def test_api_imports_a_call_as_json_and_multipart(client: TestClient, call: dict[str, Any]) -> None:
    response = client.post(
        IMPORT,
        json={"transcript": ANGRY_CALL, "resolved": False, "customer": {"name": "Ana"}},
        headers=API_KEY_HEADERS,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["channel"] == "voice" and body["escalated"] and body["status"] == "queued"
    assert body["cues"] == {"interruption": 1, "long_silence": 1}
    packet = client.get(f"/api/v1/conversations/{body['id']}/packet", headers=API_KEY_HEADERS)
    assert packet.status_code == 200, packet.text
    assert {"bullets", "suggested_first_line", "emotion", "reasons"} <= set(packet.json())
    events = client.get(
        f"/api/v1/conversations/{body['id']}/events", headers=API_KEY_HEADERS
    ).json()["events"]
    spoken = [e for e in events if e["type"] == "customer_message"]
    assert [e["meta"]["call"]["start"] for e in spoken] == [3.5, 24.0, 29.0]
    analyses = [e for e in events if e["type"] == "analysis"]
    signals = [s["name"] for e in analyses for s in e["analysis"]["conversation_signals"]]
    assert {"long_silence", "interruption"} <= set(signals)
    assert "fast_reply" not in signals
    response = client.post(
        IMPORT,
        json={"transcript": VTT, "started_at": "2026-01-05T09:00:00Z"},
        headers=API_KEY_HEADERS,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "resolved"
    with call["transcript"].open("rb") as transcript, call["wav"].open("rb") as recording:
        response = client.post(
            IMPORT,
            files={"transcript": ("call.json", transcript), "recording": ("call.wav", recording)},
            data={"resolved": "true"},
            headers=API_KEY_HEADERS,
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["recording_seconds"] > 20 and {"raised_pitch", "louder"} <= set(body["cues"])


def test_a_stored_call_replays_with_its_speech_cues(client: TestClient, services: Services) -> None:
    """What-if and replay read a stored call as it was read live: its turns keep their cues."""
    response = client.post(
        IMPORT, json={"transcript": ANGRY_CALL, "resolved": False}, headers=API_KEY_HEADERS
    )
    assert response.status_code == 201, response.text
    with services.reading() as session:
        (record,) = [
            r for r in recent_transcripts(session, limit=5) if r["id"] == response.json()["id"]
        ]
    cued = [t for t in record["turns"] if t.get("speech_cues")]
    assert cued and all(t["speaker"] == "customer" for t in cued)
    pipeline = services.engine.pipeline
    _, replayed = replay_conversation(pipeline, record)
    bare = {
        **record,
        "turns": [{k: v for k, v in t.items() if k != "speech_cues"} for t in record["turns"]],
    }
    _, chat_like = replay_conversation(pipeline, bare)
    assert {"long_silence", "interruption"} <= _cues_read(replayed)
    assert not {"long_silence", "interruption"} & _cues_read(chat_like)
    bad = {**record, "turns": [{**record["turns"][0], "speech_cues": "loud"}]}
    with pytest.raises(ReplayInputError, match="speech_cues"):
        replay_conversation(pipeline, bad)


def _cues_read(conversation: Conversation) -> set[str]:
    return {
        signal["name"]
        for event in conversation.events
        if isinstance(event, AnalysisRecorded)
        for signal in event.analysis["conversation_signals"]
    }


def test_api_refusals_are_problems(client: TestClient, services: Services) -> None:
    assert client.post(IMPORT, json={"transcript": VTT}).status_code == 401
    for transcript, status in [
        ("", 422),
        ("WEBVTT\n\n00:00:09.000 --> 00:00:01.000\n<v Customer>hi</v>\n", 422),
        ([seg("customer", "hi", -3, 1)], 422),
        ([seg("SPEAKER_00", "hi", 0, 1), seg("SPEAKER_01", "yo", 1, 2)], 422),
        ({"no": "segments"}, 422),
    ]:
        problem = assert_problem(
            client.post(IMPORT, json={"transcript": transcript}, headers=API_KEY_HEADERS), status
        )
        assert problem["type"].split("/")[-1].startswith(("call-", "validation"))
    problem = assert_problem(
        client.post(
            IMPORT,
            json={"transcript": VTT, "started_at": "2099-01-01T00:00:00Z"},
            headers=API_KEY_HEADERS,
        ),
        422,
    )
    assert "future" in problem["detail"]
    assert_problem(
        client.post(
            IMPORT, content=b"hello", headers={**API_KEY_HEADERS, "Content-Type": "text/plain"}
        ),
        415,
    )
    assert_problem(
        client.post(
            IMPORT,
            files={"transcript": ("call.vtt", VTT.encode()), "recording": ("x.wav", b"not audio")},
            headers=API_KEY_HEADERS,
        ),
        422,
    )
    assert_problem(
        client.post(IMPORT, files={"recording": ("x.wav", b"RIFF")}, headers=API_KEY_HEADERS),
        422,
    )
    assert_problem(
        client.post(
            IMPORT,
            files={"transcript": ("call.vtt", VTT.encode())},
            data={"resolved": "maybe"},
            headers=API_KEY_HEADERS,
        ),
        422,
    )
    # Nothing of the refused calls was stored.
    with services.sessions() as session:
        stored = session.execute(sa.text("SELECT count(*) FROM conversations")).scalar_one()
    assert stored == 0
