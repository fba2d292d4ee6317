"""Importing phone calls (administrators only): a transcript, and optionally its recording,
stored as a conversation on the voice channel (`channels/calls`, docs/calls.md).

`POST /api/v1/admin/calls/import` takes either JSON (`transcript` as WebVTT or JSON text, or
the JSON segments themselves; no recording) or `multipart/form-data` (a `transcript` file,
an optional `recording` file, and the same options as form fields). Refusals are problem+json:
422 for a transcript or recording that cannot be read as given, 413 when too large, 415 for
another content type.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from warmline.api.access import ADMIN_ONLY, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import CustomerIn, RequestBody, text_field
from warmline.channels.calls import CallRefused, import_call, read_call
from warmline.channels.calls.acoustics import MAX_RECORDING_BYTES
from warmline.channels.calls.formats import MAX_TRANSCRIPT_BYTES
from warmline.channels.service import CustomerDetails
from warmline.domain.events import HandedOff

PATH = "/api/v1/admin/calls/import"
# The body may carry a recording: its own limit at the edge (api/limits.py).
MAX_CALL_BODY_BYTES = MAX_RECORDING_BYTES + MAX_TRANSCRIPT_BYTES + 1024 * 1024

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[allow(ADMIN_ONLY)])


class CallImportIn(RequestBody):
    """A call's transcript without its recording (send a recording as multipart)."""

    transcript: str | list[Any] | dict[str, Any] = Field(
        description="WebVTT or JSON text, or the JSON segments themselves"
    )
    format: Literal["vtt", "json"] | None = None
    customer_speaker: str | None = text_field(None, max_length=100)
    agent_speaker: str | None = text_field(None, max_length=100)
    started_at: datetime | None = Field(
        default=None, description="When the call started (with a time zone); default: it ended now"
    )
    resolved: bool = Field(default=True, strict=True)
    customer: CustomerIn | None = None


class CallImportOut(BaseModel):
    """The imported call."""

    id: str
    status: str
    channel: str
    turns: int
    customer_turns: int
    escalated: bool
    duration_seconds: float
    recording_seconds: float | None
    cues: dict[str, int]


_FORM_FIELDS = {
    "format": {"type": "string", "enum": ["vtt", "json"]},
    "customer_speaker": {"type": "string", "maxLength": 100},
    "agent_speaker": {"type": "string", "maxLength": 100},
    "started_at": {"type": "string", "format": "date-time"},
    "resolved": {"type": "boolean"},
    "customer": {"type": "string", "description": "the customer as JSON (name, email, phone...)"},
}
_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": CallImportIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["transcript"],
                    "properties": {
                        "transcript": {"type": "string", "format": "binary"},
                        "recording": {"type": "string", "format": "binary"},
                        **_FORM_FIELDS,
                    },
                }
            },
        },
    }
}


@router.post(
    "/calls/import",
    status_code=status.HTTP_201_CREATED,
    response_model=CallImportOut,
    responses=problems(413, 415, 422),
    openapi_extra=_REQUEST_BODY,
)
async def import_phone_call(request: Request, services: ServicesDep) -> CallImportOut:
    """Store a phone call that happened: the caller's turns run through the engine at their
    own times with the cues of the call's timing and, with a recording, of the caller's voice
    against their own start of the call. Refused whole (nothing stored) if anything is wrong."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        body, transcript, recording = await _json_body(request)
    elif kind == "multipart/form-data":
        body, transcript, recording = await _multipart_body(request)
    else:
        raise Problem(
            415,
            "Send the call as application/json or multipart/form-data.",
            kind="unsupported-media-type",
        )
    details = CustomerDetails(**body.customer.model_dump()) if body.customer else None
    settings = services.settings

    def run() -> tuple[Any, Any]:
        reading = read_call(
            transcript,
            name="",
            fmt=body.format,
            customer=body.customer_speaker,
            agent=body.agent_speaker,
            recording=recording,
            max_chars=settings.max_message_chars,
        )
        conversation = import_call(
            services.engine,
            reading,
            details=details,
            started_at=body.started_at,
            resolved=body.resolved,
        )
        return reading, conversation

    try:
        reading, conversation = await run_in_threadpool(run)
    except CallRefused as refused:
        raise Problem(refused.status, str(refused), kind=refused.kind) from None
    return CallImportOut(
        id=conversation.id,
        status=conversation.status.value,
        channel=conversation.channel,
        turns=len(reading.turns),
        customer_turns=conversation.customer_turns,
        escalated=bool(conversation.of_type(HandedOff)),
        duration_seconds=round(reading.duration, 3),
        recording_seconds=reading.recording_seconds,
        cues=reading.cue_counts(),
    )


def _invalid(error: ValidationError) -> Problem:
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return Problem(422, f"{where}: {first['msg']}", kind="validation-error")


async def _json_body(request: Request) -> tuple[CallImportIn, bytes, None]:
    raw = await request.body()
    if len(raw) > MAX_TRANSCRIPT_BYTES + 1024 * 1024:
        raise Problem(
            413,
            f"A JSON body is at most {MAX_TRANSCRIPT_BYTES // (1024 * 1024) + 1} MB; send a "
            "recording as multipart/form-data.",
            kind="request-too-large",
        )
    try:
        body = CallImportIn.model_validate_json(raw)
    except ValidationError as error:
        raise _invalid(error) from None
    if isinstance(body.transcript, str):
        transcript = body.transcript.encode("utf-8")
    else:
        transcript = json.dumps(body.transcript).encode("utf-8")
        body = body.model_copy(update={"format": "json"})
    return body, transcript, None


async def _multipart_body(request: Request) -> tuple[CallImportIn, bytes, bytes | None]:
    try:
        form = await request.form(max_files=2, max_fields=20)
    except Exception as error:  # starlette's MultiPartException and parser errors
        raise Problem(422, f"unreadable multipart body: {error}", kind="validation-error") from None
    unknown = sorted(set(form.keys()) - {"transcript", "recording", *_FORM_FIELDS})
    if unknown:
        raise Problem(422, f"unknown form fields: {', '.join(unknown)}", kind="validation-error")
    files: dict[str, bytes] = {}
    for name in ("transcript", "recording"):
        part = form.get(name)
        if part is None:
            continue
        if not isinstance(part, UploadFile):
            raise Problem(422, f"{name} must be a file", kind="validation-error")
        files[name] = await part.read()
    if "transcript" not in files:
        raise Problem(422, "transcript: a file is required", kind="validation-error")
    fields: dict[str, Any] = {}
    for name in _FORM_FIELDS:
        value = form.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise Problem(422, f"{name} must be a text field", kind="validation-error")
        fields[name] = value
    if "resolved" in fields:
        flag = fields["resolved"].strip().lower()
        if flag not in {"true", "false"}:
            raise Problem(422, "resolved: true or false", kind="validation-error")
        fields["resolved"] = flag == "true"
    try:
        if "customer" in fields:
            fields["customer"] = json.loads(fields["customer"])
        body = CallImportIn.model_validate({"transcript": "", **fields})
    except ValueError as error:
        if isinstance(error, ValidationError):
            raise _invalid(error) from None
        raise Problem(422, "customer: not valid JSON", kind="validation-error") from None
    return body, files["transcript"], files.get("recording")
