"""The supervisor dashboard's data: the period's numbers, its charts, the policy in force and
a what-if comparison of that policy with the policy file on disk over recent conversations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from warmline.analytics import metrics
from warmline.analytics.charts import CHARTS, render_chart
from warmline.api.access import OVERSIGHT, allow
from warmline.api.deps import ServicesDep
from warmline.api.openapi import problems
from warmline.api.problems import Problem
from warmline.api.services import Services
from warmline.engine import Pipeline
from warmline.policy.loader import PolicyError
from warmline.policy.policy import Policy, load_policy
from warmline.redaction import mask_value
from warmline.replay import replay_conversation
from warmline.storage import conversations as store
from warmline.whatif import SharedAnalyzer, compare

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"], dependencies=[allow(OVERSIGHT)])
Days = Annotated[int, Query(ge=1, le=366, description="The last N days (UTC), today included.")]
# A replay analyses every customer turn: a few seconds for the default 50 conversations.
WHATIF_MAX = 200


def _since(days: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


def _describe(policy: Policy) -> dict[str, Any]:
    return {"name": policy.config.name, "label": policy.label, "source": policy.source}


@router.get("", responses=problems())
def dashboard(services: ServicesDep, days: Days = 7) -> dict[str, Any]:
    """The report of the last `days` days (as GET /api/v1/report) with the policy in force."""
    with services.reading() as session:
        found = metrics.period_report(session, since=_since(days), until=None).as_dict()
    return {**found, "policy": _describe(services.engine.pipeline.policy), "charts": CHARTS}


@router.get(
    "/charts/{name}.svg",
    response_class=Response,
    responses={**problems(404), 200: {"content": {"image/svg+xml": {}}}},
)
def chart(
    services: ServicesDep,
    name: Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")],
    days: Days = 14,
) -> Response:
    """One of the report's charts over the last `days` days, as SVG."""
    if name not in CHARTS:
        raise Problem(404, f"No chart {name}; the charts are {', '.join(CHARTS)}.")
    with services.reading() as session:
        found = metrics.period_report(session, since=_since(days), until=None)
    return Response(
        render_chart(name, found.daily),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/whatif", responses=problems(422))
async def whatif(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=WHATIF_MAX, description="Recent conversations.")] = 50,
) -> dict[str, Any]:
    """Replay the latest `limit` conversations under the policy in force and under the policy
    file as it is on disk now (what a reload would put in force): what would change, and why.
    Messages are redacted in the answer."""
    try:
        candidate = await run_in_threadpool(load_policy, services.settings.policy_file)
    except PolicyError as error:
        raise Problem(
            422,
            "The policy file is not valid: " + "; ".join(str(i) for i in error.issues[:5]),
            kind="invalid-policy",
        ) from None
    in_force = services.engine.pipeline.policy
    comparison = await run_in_threadpool(_compare, services, in_force, candidate, limit)
    return {
        "in_force": _describe(in_force),
        "candidate": _describe(candidate),
        "comparison": mask_value(comparison),
    }


def _compare(services: Services, in_force: Policy, candidate: Policy, limit: int) -> dict[str, Any]:
    with services.reading() as session:
        records = store.recent_transcripts(session, limit=limit)
    pipeline = services.engine.pipeline
    shared = SharedAnalyzer(pipeline.analyzer)
    first = Pipeline(shared, in_force, pipeline.composer)
    second = Pipeline(shared, candidate, pipeline.composer)
    results_a, results_b = [], []
    for record in records:
        results_a.append(replay_conversation(first, record)[0])
        results_b.append(replay_conversation(second, record)[0])
        shared.forget()
    return compare(results_a, results_b, names=("in_force", "candidate"))
