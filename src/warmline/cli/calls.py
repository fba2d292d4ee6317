"""`warmline import calls FILE...`: phone-call transcripts (and their recordings) stored as
conversations on the voice channel (docs/calls.md)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

from warmline.cli.app import import_app

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


@import_app.command("calls")
def import_calls(
    files: list[Path] = typer.Argument(
        ..., help="Transcripts: WebVTT (.vtt), JSON segments or whisper/whisperX JSON (.json)."
    ),
    recording: Path | None = typer.Option(
        None, help="The call's recording (one transcript only); WAV, FLAC, OGG or MP3."
    ),
    transcript_only: bool = typer.Option(
        False, "--transcript-only", help="Do not look for recordings beside the transcripts."
    ),
    fmt: str | None = typer.Option(None, "--format", help="vtt or json (default: by name)."),
    customer: str | None = typer.Option(None, help="The caller's speaker label."),
    agent: str | None = typer.Option(None, help="The agent's speaker label."),
    started: str | None = typer.Option(
        None,
        "--started-at",
        help="When the call started (ISO 8601 with time zone); default: it ended now.",
    ),
    keep_open: bool = typer.Option(
        False, "--open", help="Leave it open (a handed-over call joins the queue)."
    ),
    phone: str | None = typer.Option(None, help="The caller's phone number."),
    email: str | None = typer.Option(None, help="The caller's email."),
    name: str | None = typer.Option(None, help="The caller's name."),
    as_json: bool = typer.Option(False, "--json", help="One JSON line per call."),
) -> None:
    """Import phone calls: each caller turn runs through the engine at its own time with the
    cues of the call's timing and, when a recording comes with it (--recording, or a .wav,
    .flac, .ogg or .mp3 of the same name beside the transcript), of the caller's voice. A
    call that cannot be read is refused whole with the reason (exit 2); the others import."""
    if recording is not None and len(files) != 1:
        _fail("--recording goes with exactly one transcript")
    if fmt is not None and fmt not in {"vtt", "json"}:
        _fail(f"unknown --format {fmt!r} (vtt or json)")
    started_at = _moment(started) if started else None
    from warmline.bootstrap import build_engine
    from warmline.channels.calls import CallRefused, import_call, read_call
    from warmline.channels.calls.acoustics import MAX_RECORDING_BYTES
    from warmline.channels.calls.formats import MAX_TRANSCRIPT_BYTES
    from warmline.channels.service import CustomerDetails
    from warmline.config import get_settings
    from warmline.domain.events import HandedOff
    from warmline.handoff.service import current_packet
    from warmline.storage.db import make_engine, make_session_factory
    from warmline.storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url)
    sessions = make_session_factory(
        make_engine(settings.resolved_database_url),
        keep_contact_details=settings.keep_contact_details,
    )
    engine = build_engine(settings, sessions)
    details = (
        CustomerDetails(name=name, email=email, phone=phone) if (name or email or phone) else None
    )
    refused = 0
    for path in files:
        audio = recording if recording is not None else None
        if audio is None and not transcript_only:
            audio = next(
                (p for p in (path.with_suffix(s) for s in AUDIO_SUFFIXES) if p.is_file()), None
            )
        try:
            transcript = _read(path, MAX_TRANSCRIPT_BYTES, CallRefused)
            sound = _read(audio, MAX_RECORDING_BYTES, CallRefused) if audio else None
            reading = read_call(
                transcript,
                name=path.name,
                fmt=fmt,
                customer=customer,
                agent=agent,
                recording=sound,
                recording_name=audio.name if audio else "",
                max_chars=settings.max_message_chars,
            )
            conversation = import_call(
                engine, reading, details=details, started_at=started_at, resolved=not keep_open
            )
        except CallRefused as error:
            refused += 1
            typer.echo(f"{path}: refused, nothing stored: {error}", err=True)
            continue
        escalated = bool(conversation.of_type(HandedOff))
        record: dict[str, Any] = {
            "file": str(path),
            "recording": str(audio) if audio else None,
            "id": conversation.id,
            "status": conversation.status.value,
            "turns": len(reading.turns),
            "customer_turns": conversation.customer_turns,
            "escalated": escalated,
            "cues": reading.cue_counts(),
        }
        if escalated:
            with sessions() as session:
                record["packet"] = current_packet(session, conversation_id=conversation.id)[1]
        _show(record, as_json)
    if refused:
        raise typer.Exit(code=2)


def _read(path: Path, limit: int, refused: type[Exception]) -> bytes:
    try:
        if path.stat().st_size > limit:
            raise refused(f"{path.name} is larger than {limit // (1024 * 1024)} MB")
        return path.read_bytes()
    except OSError as error:
        raise refused(f"cannot read {path}: {error.strerror or error}") from None


def _show(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False, default=str))
        return
    cues = ", ".join(f"{name} x{count}" for name, count in record["cues"].items()) or "none"
    heard = f" with {Path(record['recording']).name}" if record["recording"] else ""
    typer.echo(
        f"{record['file']}{heard}: conversation {record['id']} ({record['status']}), "
        f"{record['turns']} turns, {record['customer_turns']} from the caller; speech cues: {cues}"
    )
    packet = record.get("packet")
    if packet:
        typer.echo("  handed over; the agent's packet:")
        for bullet in packet.get("bullets", []):
            typer.echo(f"  - {bullet}")
        typer.echo(f"  first line: {packet.get('suggested_first_line', '')}")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"--started-at {text!r} is not an ISO 8601 time")
    if moment.tzinfo is None:
        _fail("--started-at needs a time zone (e.g. 2026-05-01T09:30:00+00:00)")
    return moment


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)
