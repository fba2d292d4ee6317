"""Request dependencies: the services, and the path parameters every route shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from warmline.api.services import Services

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


async def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
ConversationId = Annotated[
    str, Path(pattern=CONVERSATION_ID_PATTERN, description="The conversation's id.")
]
