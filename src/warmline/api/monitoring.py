"""Prometheus metrics at `/metrics`: request latency, decisions by action, escalations by
reason, and the human queue's length and waiting time.

Counters and histograms live in each process; with `warmline serve --workers N` they are kept
in `PROMETHEUS_MULTIPROC_DIR` (the server sets it to a fresh folder before the workers start)
and summed over the workers at each scrape, so the numbers stay right whichever worker answers
and after a worker restarts. The queue is read from the database at scrape time, so it is the
same for every worker by construction.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUEST_SECONDS = Histogram(
    "warmline_request_seconds",
    "Time to answer an HTTP request, by method, route template and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DECISIONS = Counter("warmline_decisions", "Decisions on customer messages, by action.", ["action"])
ESCALATIONS = Counter(
    "warmline_escalations", "Conversations handed to a person, by trigger.", ["reason"]
)


def prepare_multiprocess(data_dir: Path) -> Path:
    """A fresh folder for the workers' metric files, named in the environment they inherit
    (call before the workers start)."""
    folder = (data_dir / "prometheus").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def count_outcome(response: dict[str, Any]) -> None:
    """Count one answered customer message: its decision, and the handoff's triggers."""
    DECISIONS.labels(action=str(response.get("decision"))).inc()
    if response.get("escalated"):
        for reason in response.get("reasons") or []:
            ESCALATIONS.labels(reason=str(reason.get("trigger"))).inc()


class QueueCollector(Collector):
    """The human queue now: conversations waiting and the longest and mean wait."""

    def __init__(self, read: Any) -> None:
        self.read = read  # () -> (waiting, oldest seconds, mean seconds)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting, oldest, mean = self.read()
        yield GaugeMetricFamily(
            "warmline_queue_length", "Conversations waiting for a person.", value=waiting
        )
        yield GaugeMetricFamily(
            "warmline_queue_oldest_wait_seconds",
            "How long the longest-waiting conversation has waited.",
            value=oldest,
        )
        yield GaugeMetricFamily(
            "warmline_queue_mean_wait_seconds",
            "Mean wait of the conversations in the queue.",
            value=mean,
        )


def render(queue: QueueCollector) -> bytes:
    """The exposition text: every worker's counters (or this process's), and the queue."""
    registry = CollectorRegistry()
    registry.register(queue)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    return generate_latest(registry)


class _ThisProcess(Collector):
    """This process's metrics (the default registry), when there is only one process."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


class RequestTimer:
    """ASGI middleware: the latency of every HTTP request, labelled by route template (never
    the raw path, so conversation ids do not become label values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUEST_SECONDS.labels(
                method=scope.get("method", ""), route=template, status=f"{status // 100}xx"
            ).observe(time.perf_counter() - started)
