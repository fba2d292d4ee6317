"""The HTTP JSON connector against a real, misbehaving HTTP server on loopback.

The server runs in a thread of the test process and records every request it gets, so the tests
can count retries, compare idempotency keys and see the exact path that arrived.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from warmline.actions.connectors.base import ConnectorError, CustomerRef
from warmline.actions.connectors.http import HttpConnector, HttpConnectorConfig

HUGE = 10 * 1024 * 1024
CHUNK = b"x" * 65536
BOMB = gzip.compress(b"0" * HUGE)  # 10 MB of zeros in ten kilobytes, made before any test
SECRET = "s3cr3t-token-value"
EMAIL = "ana@example.com"
CUSTOMER = CustomerRef(id="c-42", email=EMAIL, verified=True)


@dataclass
class Seen:
    """What the server received, and how many huge-body bytes it managed to send."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    huge_sent: int = 0
    huge_done: threading.Event = field(default_factory=threading.Event)  # the sender stopped
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: Seen  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _send(
        self, status: int, payload: Any = None, raw: bytes | None = None, **headers: str
    ) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        content_type = headers.pop("content_type", "application/json")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _problem(self, status: int, **problem: Any) -> None:
        self._send(status, problem, content_type="application/problem+json")

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        with self.seen.lock:
            self.seen.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": body}
            )
            count = self.seen.counts[path] = self.seen.counts.get(path, 0) + 1
        parts = path.strip("/").split("/")
        head = parts[0]
        if head == "orders" and len(parts) == 2:
            self._send(200, {"order": parts[1], "status": "shipped"})
        elif head == "orders" and parts[-1] == "returns":
            self._send(201, {"return": {"id": "R-1", "received": json.loads(body)}})
        elif head == "echo":
            self._send(200, {"ok": True})
        elif head == "slow":
            time.sleep(1.0)
            self._send(200, {"late": True})
        elif head == "trickle":  # one byte every 0.1 s: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        elif head == "flaky":
            if count <= 2:
                self._problem(500, title="boom")
            else:
                self._send(200, {"attempt": count})
        elif head == "down":
            self._send(503, {"error": "maintenance"})
        elif head == "busy":
            if count == 1:
                self._send(429, {}, Retry_After="30")
            else:
                self._send(200, {"attempt": count})
        elif head == "status":
            code = int(parts[1])
            self._problem(code, title="Refused", detail=f"Nope {code}: " + "y" * 300)
        elif head == "raw400":
            self._send(400, raw=b"Traceback: password=hunter2", content_type="text/plain")
        elif head == "unauthorized":
            self._send(401, {})
        elif head == "loop":
            self._send(302, {}, Location=f"/loop/{count}")
        elif head == "offsite":
            host = self.headers["Host"].replace("127.0.0.1", "localhost")  # another origin
            self._send(302, {}, Location=f"http://{host}/landing")
        elif head == "hop":
            self._send(307, {}, Location="/echo")
        elif head == "notjson":
            self._send(200, raw=b"<html>oops</html>", content_type="text/html")
        elif head == "list":
            self._send(200, [1, 2, 3])
        elif head == "nocontent":
            self.send_response(204)
            self.end_headers()
        elif head == "gzipped":
            self._send(200, raw=gzip.compress(b'{"zipped": true}'), Content_Encoding="gzip")
        elif head == "bomb":
            self._send(200, raw=BOMB, Content_Encoding="gzip")
        elif head in ("huge", "huge-declared"):
            self._stream_huge(declared=head == "huge-declared")
        elif head == "fat-redirect":
            self._stream_huge(declared=False, status=302, Location="/echo")
        else:
            self._problem(404, title="Not Found")

    def _stream_huge(self, *, declared: bool, status: int = 200, **headers: str) -> None:
        """10 MB, counted as it leaves; a small send buffer keeps the count close to what the
        client really took."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        if declared:
            self.send_header("Content-Length", str(HUGE))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            while self.seen.huge_sent < HUGE:
                self.wfile.write(CHUNK)
                self.seen.huge_sent += len(CHUNK)
        except OSError:
            pass
        finally:
            self.seen.huge_done.set()


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    handler = type("BoundHandler", (Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


YAML = """
type: http
base_url: {base}/
auth: {{header: Authorization, env: SHOP_API_TOKEN, prefix: "Bearer "}}
timeout_seconds: 0.3
retries: {{attempts: 3, backoff_seconds: 0.01, max_backoff_seconds: 0.05}}
max_response_bytes: 65536
max_redirects: 3
operations:
  track_order: {{method: GET, path: "/orders/{{order_number}}"}}
  start_return:
    method: post
    path: "/orders/{{order_number}}/returns"
    body: {{reason: "{{reason}}", count: "{{count}}", note: "order {{order_number}}"}}
    result: return
  search: {{path: /echo, query: {{q: "{{term}}", kind: order}}}}
"""
PATHS = [
    "slow",
    "trickle",
    "flaky",
    "down",
    "busy",
    "raw400",
    "unauthorized",
    "loop",
    "offsite",
    "hop",
    "notjson",
    "list",
    "nocontent",
    "gzipped",
    "bomb",
    "huge",
    "huge-declared",
    "fat-redirect",
]


def make(base: str, **overrides: Any) -> HttpConnector:
    raw = yaml.safe_load(YAML.format(base=base))
    for name in [*PATHS, *(f"status/{code}" for code in (403, 404, 409, 422))]:
        raw["operations"][name.replace("/", "_")] = {"path": f"/{name}"}
    raw.update(overrides)
    config = HttpConnectorConfig.model_validate(raw)
    return HttpConnector("shop", config, environ={"SHOP_API_TOKEN": SECRET})


@pytest.fixture
def shop(server: tuple[str, Seen]) -> Iterator[HttpConnector]:
    with make(server[0]) as connector:
        yield connector


def call(connector: HttpConnector, operation: str, **params: Any) -> dict[str, Any]:
    return connector.call(operation, params, CUSTOMER, idempotency_key="key-123")


def failure(connector: HttpConnector, operation: str, **params: Any) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        call(connector, operation, **params)
    assert SECRET not in str(caught.value) and EMAIL not in str(caught.value)
    return caught.value


def test_get_sends_secret_customer_and_key(shop: HttpConnector, server: tuple[str, Seen]) -> None:
    assert call(shop, "track_order", order_number="A-100") == {
        "order": "A-100",
        "status": "shipped",
    }
    headers = server[1].requests[0]["headers"]
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert headers["Idempotency-Key"] == "key-123"
    assert headers["X-Customer-Id"] == "c-42"
    assert headers["X-Customer-Email"] == "ana@example.com"
    assert headers["X-Customer-Verified"] == "true"
    assert "track_order" in shop.operations()


def test_post_fills_body_templates_and_picks_result(
    shop: HttpConnector, server: tuple[str, Seen]
) -> None:
    result = call(shop, "start_return", order_number="A 7", reason="too small", count=2)
    assert result == {
        "id": "R-1",
        "received": {"reason": "too small", "count": 2, "note": "order A 7"},
    }
    assert server[1].requests[0]["path"] == "/orders/A%207/returns"


def test_query_is_filled_and_encoded(shop: HttpConnector, server: tuple[str, Seen]) -> None:
    assert call(shop, "search", term="a&b=c") == {"ok": True}
    assert server[1].requests[0]["path"] == "/echo?q=a%26b%3Dc&kind=order"


@pytest.mark.parametrize("value", ["../admin", "a/b", "..%2Fadmin", "x?y#z"])
def test_path_injection_stays_one_segment(
    shop: HttpConnector, server: tuple[str, Seen], value: str
) -> None:
    result = call(shop, "track_order", order_number=value)
    assert result["order"] == server[1].requests[0]["path"].split("/")[2]
    assert server[1].requests[0]["path"].count("/") == 2
    assert "?" not in server[1].requests[0]["path"]


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_dot_segments_are_refused(
    shop: HttpConnector, server: tuple[str, Seen], value: str
) -> None:
    assert failure(shop, "track_order", order_number=value).kind == "invalid"
    assert server[1].requests == []


def test_missing_param_is_invalid_and_named(shop: HttpConnector, server: tuple[str, Seen]) -> None:
    error = failure(shop, "start_return", order_number="A-1")
    assert error.kind == "invalid" and "reason" in error.detail
    assert server[1].requests == []


def test_slow_server_times_out_after_retries(shop: HttpConnector, server: tuple[str, Seen]) -> None:
    started = time.monotonic()
    assert failure(shop, "slow").kind == "timeout"
    assert time.monotonic() - started < 2.0
    assert server[1].counts["/slow"] == 3


def test_trickling_body_times_out(server: tuple[str, Seen]) -> None:
    with make(server[0], retries={"attempts": 1}) as connector:
        started = time.monotonic()
        assert failure(connector, "trickle").kind == "timeout"
        assert time.monotonic() - started < 1.5


def test_500_twice_then_success_with_one_idempotency_key(
    shop: HttpConnector, server: tuple[str, Seen]
) -> None:
    assert call(shop, "flaky") == {"attempt": 3}
    keys = {request["headers"]["Idempotency-Key"] for request in server[1].requests}
    assert server[1].counts["/flaky"] == 3 and keys == {"key-123"}


def test_always_503_is_unavailable_after_all_attempts(
    server: tuple[str, Seen],
) -> None:
    with make(server[0], retries={"attempts": 4, "backoff_seconds": 0.01}) as connector:
        assert failure(connector, "down").kind == "unavailable"
    assert server[1].counts["/down"] == 4


def test_429_waits_retry_after_capped_by_max_backoff(
    shop: HttpConnector, server: tuple[str, Seen]
) -> None:
    started = time.monotonic()
    assert call(shop, "busy") == {"attempt": 2}  # Retry-After: 30 capped at 0.05 s
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with make(f"http://127.0.0.1:{port}") as connector:
            assert failure(connector, "track_order", order_number="1").kind == "unavailable"


@pytest.mark.parametrize(
    ("code", "kind"), [(404, "not_found"), (403, "not_yours"), (409, "conflict"), (422, "invalid")]
)
def test_problem_statuses_map_to_kinds(
    shop: HttpConnector, server: tuple[str, Seen], code: int, kind: str
) -> None:
    error = failure(shop, f"status_{code}")
    assert error.kind == kind
    assert server[1].counts[f"/status/{code}"] == 1  # 4xx is never retried
    if kind in ("invalid", "conflict"):
        assert error.detail.startswith(f"Nope {code}: yyy") and len(error.detail) == 200
    else:
        assert error.detail == "not found"  # "not yours" says no more than "not found"


def test_400_with_a_raw_body_never_echoes_it(shop: HttpConnector) -> None:
    error = failure(shop, "raw400")
    assert error.kind == "invalid" and "hunter2" not in error.detail


def test_401_names_the_credentials(shop: HttpConnector) -> None:
    error = failure(shop, "unauthorized")
    assert error.kind == "unavailable" and "credentials" in error.detail


def test_redirect_loop_is_unavailable(shop: HttpConnector, server: tuple[str, Seen]) -> None:
    assert failure(shop, "loop").kind == "unavailable"
    assert len(server[1].requests) == 4  # the first request and three redirects


def test_same_origin_redirect_is_followed(shop: HttpConnector) -> None:
    assert call(shop, "hop") == {"ok": True}


def test_redirect_to_another_origin_is_refused(
    shop: HttpConnector, server: tuple[str, Seen]
) -> None:
    assert failure(shop, "offsite").kind == "unavailable"
    assert "/landing" not in server[1].counts


@pytest.mark.parametrize("operation", ["notjson", "list"])
def test_not_a_json_object_is_bad_response(shop: HttpConnector, operation: str) -> None:
    assert failure(shop, operation).kind == "bad_response"


def test_missing_result_key_is_bad_response(server: tuple[str, Seen]) -> None:
    with make(server[0]) as connector:
        config = connector.config.model_copy(deep=True)
    ops = dict(config.operations)
    ops["track_order"] = ops["track_order"].model_copy(update={"result": "missing"})
    with HttpConnector(
        "shop", config.model_copy(update={"operations": ops}), environ={"SHOP_API_TOKEN": "x"}
    ) as connector:
        assert failure(connector, "track_order", order_number="1").kind == "bad_response"


def test_no_content_is_an_empty_result(shop: HttpConnector) -> None:
    assert call(shop, "nocontent") == {}


def test_gzip_is_decoded(shop: HttpConnector) -> None:
    assert call(shop, "gzipped") == {"zipped": True}


@pytest.mark.parametrize("operation", ["huge", "huge-declared", "bomb"])
def test_huge_body_is_refused_without_reading_it(
    shop: HttpConnector, server: tuple[str, Seen], operation: str
) -> None:
    tracemalloc.start()
    try:
        started = time.monotonic()
        error = failure(shop, operation)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "bad_response"
    assert elapsed < 2.0
    assert peak < 2 * 1024 * 1024, peak  # never the 10 MB in memory
    if operation != "bomb":
        assert server[1].huge_done.wait(5)  # the server noticed the closed connection
        assert server[1].huge_sent < HUGE  # it could not push the whole body


def test_redirect_body_is_never_read(shop: HttpConnector, server: tuple[str, Seen]) -> None:
    tracemalloc.start()
    try:
        assert call(shop, "fat-redirect") == {"ok": True}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, peak
    assert server[1].huge_done.wait(5)
    assert server[1].huge_sent < HUGE


def test_missing_auth_variable_fails_at_construction(server: tuple[str, Seen]) -> None:
    config = make(server[0]).config
    with pytest.raises(ValueError, match="SHOP_API_TOKEN"):
        HttpConnector("shop", config, environ={})


@pytest.mark.parametrize(
    "change",
    [
        {"base_url": "ftp://shop.example.com"},
        {"base_url": "https://user:pw@shop.example.com"},
        {"surprise": 1},
        {"operations": {"x": {"path": "orders/{id}"}}},
        {"operations": {"x": {"path": "/orders/{id"}}},
        {"operations": {"x": {"path": "/orders?id={id}"}}},
        {"operations": {"x": {"path": "/x", "body": {"a": ["{b c}"]}}}},
        {"operations": {}},
        {"auth": {"env": "TOKEN", "secret": "inline"}},
    ],
)
def test_config_refuses_mistakes(change: dict[str, Any]) -> None:
    raw: dict[str, Any] = {
        "base_url": "https://shop.example.com/api",
        "operations": {"track": {"path": "/orders/{n}"}},
    }
    raw.update(change)
    with pytest.raises(ValidationError):
        HttpConnectorConfig.model_validate(raw)


def test_unknown_operation_is_a_programming_error(shop: HttpConnector) -> None:
    with pytest.raises(ValueError, match="no operation"):
        call(shop, "launch_rockets")
