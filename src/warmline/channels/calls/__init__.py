"""Phone calls (docs/calls.md): transcripts the telephony provider's speech-to-text wrote
(WebVTT, JSON segments, whisper/whisperX JSON) read into timed segments with speaker roles
(`formats.py`, `segments.py`), cues of the call's timing (`timing.py`) and, with the
recording, of the caller's voice (`acoustics.py`), stored through the engine as a
conversation on the voice channel (`service.py`)."""

from __future__ import annotations

from warmline.channels.calls.segments import CallRefused, Segment, Turn
from warmline.channels.calls.service import CHANNEL, CallReading, import_call, read_call

__all__ = ["CHANNEL", "CallReading", "CallRefused", "Segment", "Turn", "import_call", "read_call"]
