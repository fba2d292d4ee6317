"""Administration: the policy in force, reloading it, and service level checks (API key only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from warmline.api.deps import ServicesDep, require_api_key
from warmline.api.problems import Problem
from warmline.bootstrap import reload_policy
from warmline.handoff.sla import check_breaches
from warmline.policy.loader import PolicyError
from warmline.policy.policy import Policy

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(require_api_key)])


def _describe(policy: Policy) -> dict[str, Any]:
    return {"name": policy.config.name, "label": policy.label, "source": policy.source}


@router.get("/policy")
def current_policy(services: ServicesDep) -> dict[str, Any]:
    """Which policy decides now: its name, version label (name@hash) and file."""
    return _describe(services.engine.pipeline.policy)


@router.post("/policy/reload")
def reload(services: ServicesDep) -> dict[str, Any]:
    """Read the policy file again (WARMLINE_POLICY_FILE, or the shipped default). If it is not
    valid, the previous policy stays in force and the answer is 422 naming file, line and
    field of every problem."""
    try:
        policy = reload_policy(services.engine.pipeline, services.settings)
    except PolicyError as error:
        raise Problem(
            422,
            "The policy file is not valid; the previous policy stays in force. "
            + "; ".join(str(issue) for issue in error.issues[:5]),
            kind="invalid-policy",
            errors=[issue.as_dict() for issue in error.issues],
        ) from None
    return _describe(policy)


@router.post("/sla/check")
def sla_check(services: ServicesDep) -> dict[str, Any]:
    """Record every service level breach that is due now; list them."""
    config = services.engine.pipeline.policy.config
    with services.sessions() as session, session.begin():
        breaches = check_breaches(session, config=config)
    return {
        "breaches": [
            {
                "conversation_id": breach.conversation_id,
                "target": breach.event.target,
                "target_seconds": breach.event.target_seconds,
                "elapsed_seconds": breach.event.elapsed_seconds,
            }
            for breach in breaches
        ]
    }
