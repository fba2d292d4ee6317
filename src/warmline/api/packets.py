"""The handoff packet for staff, built now from the conversation's events, its summary and
first line optionally drafted by a language model (docs/llm.md). Reads only: asking for a
packet writes nothing, and nothing the model says reaches anything but the answer's text."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from warmline.api.access import STAFF, allow
from warmline.api.deps import ConversationId, ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.schemas import PacketOut
from warmline.api.services import Services
from warmline.domain.conversation import Conversation
from warmline.handoff import service
from warmline.handoff.llm import LlmClient, packet_for_agent

router = APIRouter(prefix="/api/v1", tags=["agents"])


@router.get(
    "/conversations/{conversation_id}/packet",
    response_model=PacketOut,
    responses=problems(404),
    dependencies=[allow(STAFF)],
)
async def read_packet(
    conversation_id: ConversationId,
    services: ServicesDep,
    llm: Annotated[
        bool | None,
        Query(
            description="Draft the summary and first line with the configured language model "
            "(default: whenever one is configured); false gives the offline summary."
        ),
    ] = None,
) -> PacketOut:
    """The packet an agent reads when picking the conversation up, as it stands now. When the
    language model fails (timeout, error, nonsense) this is still 200: the offline summary,
    with `llm_notice` saying what failed."""
    try:
        conversation, packet = await run_in_threadpool(_current, services, conversation_id)
    except service.ConversationMissing:
        raise Problem(404, f"No conversation {conversation_id}.") from None
    client = LlmClient.from_settings(services.settings)
    shown = await packet_for_agent(packet, conversation, client, use_llm=llm)
    return PacketOut.model_validate(shown)


def _current(services: Services, conversation_id: str) -> tuple[Conversation, dict[str, Any]]:
    with services.reading() as session:
        return service.current_packet(session, conversation_id=conversation_id)
