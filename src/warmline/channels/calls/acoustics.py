"""Per-turn acoustic cues of a call recording: pitch level and range, loudness and speech
rate of each caller turn, compared with the caller's own voice at the start of the call.

Measured with librosa (ISC licence: `pyin` pitch and voicing, RMS loudness, syllable nuclei
as the speech rate) on audio decoded by soundfile (BSD-3: WAV, FLAC, OGG/Vorbis...); no model is
downloaded. Both are the optional extra `warmline[calls]`: without them a recording is
refused with a message saying so (`AcousticsUnavailable`), the transcript alone still imports.

Bounded: recordings up to `MAX_RECORDING_BYTES` and `MAX_RECORDING_SECONDS`; at most
`MAX_TURN_SECONDS` of each turn and `MAX_ANALYSED_SECONDS` of the caller's speech in all
are measured (turns beyond get no acoustic cue), at the telephone band's 8 kHz.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from warmline.channels.calls.segments import CallRefused, Turn
from warmline.channels.calls.timing import baseline_turns
from warmline.understanding.types import Signal

MAX_RECORDING_BYTES = 50 * 1024 * 1024
MAX_RECORDING_SECONDS = 2 * 3600.0
# Decoded samples kept in memory (float32, mixed to mono): 2 h at 16 kHz, about 460 MB.
MAX_DECODED_FRAMES = int(MAX_RECORDING_SECONDS * 16_000)
MAX_TURN_SECONDS = 20.0
MAX_ANALYSED_SECONDS = 600.0
RATE = 8000
FMIN, FMAX = 60.0, 500.0
FRAME, HOP = 512, 128
# Frames within this many dB of the turn's loud frames count as speech.
ACTIVE_DB = 25.0
NUCLEUS_PROMINENCE_DB = 2.0
# A recording may end a little before the transcript's last word (rounding, trailing cut).
END_TOLERANCE_SECONDS = 2.0

RAISED_PITCH_SEMITONES = 2.0
WIDER_RANGE_SEMITONES = 4.0
LOUDER_DB = 4.0
FASTER_RATIO = 1.2

Audio = NDArray[np.float32]


class AcousticsUnavailable(CallRefused):
    """librosa or soundfile is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "this installation cannot measure a recording: install the calls extra "
            "(pip install 'warmline[calls]', librosa and soundfile), or import the transcript "
            "without the recording",
            kind="call-acoustics-unavailable",
            status=422,
        )


def available() -> bool:
    """True when the acoustic libraries can be imported."""
    try:
        import librosa  # noqa: F401
        import soundfile  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Voice:
    """What one stretch of the caller's speech sounds like."""

    seconds: float
    pitch_hz: float | None  # median pitch of the voiced frames
    pitch_range: float | None  # semitones between the 10th and 90th percentile of pitch
    loudness_db: float | None  # mean level of the speech frames, dB below full scale
    rate: float | None  # onsets (about syllables) per second of speech

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Recording:
    """Decoded mono audio at `RATE`."""

    samples: Audio
    seconds: float


def read_recording(raw: bytes, *, name: str = "") -> Recording:
    """Decode a recording; refuse what is not audio, too large or too long."""
    if not raw:
        raise CallRefused("the recording is empty", kind="call-recording-invalid")
    if len(raw) > MAX_RECORDING_BYTES:
        raise CallRefused(
            f"the recording is larger than {MAX_RECORDING_BYTES // (1024 * 1024)} MB",
            kind="call-too-large",
            status=413,
        )
    try:
        import librosa
        import soundfile
    except ImportError:
        raise AcousticsUnavailable() from None
    label = f" {name!r}" if name else ""
    try:
        info = soundfile.info(io.BytesIO(raw))
        duration = float(info.frames) / float(info.samplerate) if info.samplerate else 0.0
        if duration > MAX_RECORDING_SECONDS:
            raise CallRefused(
                f"the recording{label} lasts {duration / 60:.0f} min "
                f"(at most {MAX_RECORDING_SECONDS / 3600:g} h)",
                kind="call-too-long",
            )
        if info.frames > MAX_DECODED_FRAMES:
            raise CallRefused(
                f"the recording{label} is too long to decode ({info.frames} frames at "
                f"{info.samplerate} Hz; at most {MAX_DECODED_FRAMES} frames, 2 h at 16 kHz)",
                kind="call-too-long",
            )
        rate = int(info.samplerate)
        blocks = [
            np.asarray(block.mean(axis=1), dtype=np.float32)
            for block in soundfile.blocks(
                io.BytesIO(raw), blocksize=1 << 18, dtype="float32", always_2d=True
            )
        ]
        mono = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
        if len(mono) > MAX_DECODED_FRAMES:
            raise CallRefused(f"the recording{label} is too long to decode", kind="call-too-long")
    except CallRefused:
        raise
    except Exception as error:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise CallRefused(
            f"the recording{label} is not audio soundfile can read (WAV, FLAC, OGG): "
            f"{str(error)[:200]}",
            kind="call-recording-invalid",
        ) from None
    if mono.size == 0 or rate <= 0:
        raise CallRefused(f"the recording{label} has no sound", kind="call-recording-invalid")
    if not np.all(np.isfinite(mono)):
        raise CallRefused(
            f"the recording{label} has samples that are not numbers", kind="call-recording-invalid"
        )
    if rate != RATE:
        mono = np.asarray(
            librosa.resample(mono, orig_sr=rate, target_sr=RATE, res_type="soxr_mq"),
            dtype=np.float32,
        )
    return Recording(samples=mono, seconds=len(mono) / RATE)


# librosa's pitch tracker runs numba code; calls from several threads at once (API requests
# in the thread pool) are not safe in numba's default threading layer, so one at a time.
_MEASURING = threading.Lock()


def warm_up() -> bool:
    """Compile librosa's numba code once and write its cache, before anything measures in
    parallel: two processes compiling the same cached gufunc at once can write a mismatched
    pair of cache files and crash (numba issue #10128). `make install` and `serve` with
    several workers call it. False when the acoustic libraries are not installed."""
    if not available():
        return False
    tone = 0.3 * np.sin(2 * np.pi * 140.0 * np.arange(RATE) / RATE).astype(np.float32)
    measure(tone)
    return True


def measure(samples: Audio) -> Voice | None:
    """Pitch, loudness and rate of a stretch of speech; None when it is too short or silent."""
    with _MEASURING:
        return _measure(samples)


def _measure(samples: Audio) -> Voice | None:
    import librosa

    seconds = len(samples) / RATE
    if seconds < 0.5:
        return None
    rms = librosa.feature.rms(y=samples, frame_length=FRAME, hop_length=HOP)[0]
    level = 20.0 * np.log10(np.maximum(rms, 1e-6))
    loud = float(np.percentile(level, 95))
    if loud < -60.0:
        return None  # silence
    active = level >= loud - ACTIVE_DB
    spoken = float(active.sum()) * HOP / RATE
    loudness = float(20.0 * np.log10(max(float(np.mean(rms[active])), 1e-6)))
    f0, voiced, _ = librosa.pyin(
        samples, fmin=FMIN, fmax=FMAX, sr=RATE, frame_length=FRAME, hop_length=HOP
    )
    pitches = f0[voiced & np.isfinite(f0)] if f0 is not None else np.array([])
    pitch = float(np.median(pitches)) if pitches.size >= 5 else None
    spread = (
        12.0 * math.log2(float(np.percentile(pitches, 90)) / float(np.percentile(pitches, 10)))
        if pitches.size >= 5
        else None
    )
    rate = _syllable_rate(level, active, voiced, spoken)
    return Voice(
        seconds=round(seconds, 2),
        pitch_hz=pitch,
        pitch_range=spread,
        loudness_db=loudness,
        rate=rate,
    )


def _syllable_rate(
    level: NDArray[Any], active: NDArray[Any], voiced: NDArray[Any] | None, spoken: float
) -> float | None:
    """Syllable nuclei per second of speech: voiced peaks of the loudness envelope standing
    out by `NUCLEUS_PROMINENCE_DB` (after de Jong and Wempe, 2009)."""
    from scipy.signal import find_peaks

    if spoken < 0.5 or voiced is None:
        return None
    smooth = np.convolve(level, np.ones(3) / 3, mode="same")
    peaks, _ = find_peaks(
        smooth, prominence=NUCLEUS_PROMINENCE_DB, distance=max(1, int(0.08 * RATE / HOP))
    )
    nuclei = [p for p in peaks if active[p] and p < len(voiced) and voiced[p]]
    return len(nuclei) / spoken


def _clip(value: float) -> float:
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else value


def _slice(recording: Recording, start: float, end: float) -> Audio:
    end = min(end, start + MAX_TURN_SECONDS)
    return recording.samples[int(start * RATE) : int(end * RATE)]


def _turn_audio(recording: Recording, turn: Turn) -> Audio:
    """The turn's own segments (not the silences between them), at most MAX_TURN_SECONDS."""
    parts: list[Audio] = []
    left = MAX_TURN_SECONDS
    for segment in turn.segments:
        if left <= 0:
            break
        piece = _slice(recording, segment.start, min(segment.end, segment.start + left))
        parts.append(piece)
        left -= len(piece) / RATE
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def acoustic_cues(
    turns: Sequence[Turn], recording: Recording
) -> tuple[dict[int, list[Signal]], dict[int, dict[str, Any]]]:
    """Cues per customer turn (by index in `turns`) against the caller's baseline, and what
    was measured per turn (for the record)."""
    last_end = max((turn.end for turn in turns), default=0.0)
    if last_end > recording.seconds + END_TOLERANCE_SECONDS:
        raise CallRefused(
            f"the recording lasts {recording.seconds:.1f} s but the transcript goes on to "
            f"{last_end:.1f} s: they are not of the same call",
            kind="call-recording-mismatch",
        )
    baseline_index = baseline_turns(turns)
    base_audio = [_turn_audio(recording, turns[i]) for i in baseline_index]
    base = measure(np.concatenate(base_audio)) if base_audio else None
    cues: dict[int, list[Signal]] = {}
    measured: dict[int, dict[str, Any]] = {}
    budget = MAX_ANALYSED_SECONDS
    for index, turn in enumerate(turns):
        if turn.role != "customer" or budget <= 0:
            continue
        audio = _turn_audio(recording, turn)
        budget -= len(audio) / RATE
        voice = measure(audio)
        if voice is None:
            continue
        record = voice.to_json()
        if index in baseline_index:
            record["baseline"] = True
        measured[index] = record
        if base is None or index in baseline_index:
            continue
        found = compare(voice, base)
        if found:
            cues[index] = found
    return cues, measured


def compare(voice: Voice, base: Voice) -> list[Signal]:
    """The acoustic cues of a turn against the caller's baseline."""
    found: list[Signal] = []
    if voice.pitch_hz and base.pitch_hz:
        up = 12.0 * math.log2(voice.pitch_hz / base.pitch_hz)
        wider = (
            voice.pitch_range - base.pitch_range
            if voice.pitch_range is not None and base.pitch_range is not None
            else 0.0
        )
        if up >= RAISED_PITCH_SEMITONES or wider >= WIDER_RANGE_SEMITONES:
            found.append(
                Signal(
                    "raised_pitch",
                    f"pitch {voice.pitch_hz:.0f} Hz against {base.pitch_hz:.0f} Hz at the start "
                    f"({up:+.1f} semitones), range {voice.pitch_range or 0:.1f} against "
                    f"{base.pitch_range or 0:.1f} semitones",
                    round(_clip(max(up / 6.0, wider / 8.0)), 4),
                )
            )
    if voice.loudness_db is not None and base.loudness_db is not None:
        louder = voice.loudness_db - base.loudness_db
        if louder >= LOUDER_DB:
            found.append(
                Signal(
                    "louder",
                    f"{louder:+.1f} dB against the start of the call",
                    round(_clip(louder / 12.0), 4),
                )
            )
    if voice.rate and base.rate:
        ratio = voice.rate / base.rate
        if ratio >= FASTER_RATIO:
            found.append(
                Signal(
                    "faster_speech",
                    f"{voice.rate:.1f} syllables/s against {base.rate:.1f} at the start "
                    f"(x{ratio:.2f})",
                    round(_clip((ratio - 1.0) / 0.6), 4),
                )
            )
    return found
