"""A connector for a business's own JSON HTTP API, described in YAML instead of code.

Each operation is a method and URL template; the call's params fill the templates and the customer
travels in headers. Transient failures are retried with backoff under one `Idempotency-Key`, so a
retried POST never books or returns anything twice. Answers are streamed and capped, so a
misbehaving backend can neither make the engine hold a huge body nor wait forever, and every
outcome becomes a `ConnectorError` kind the dialogue can explain honestly.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import zlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from warmline.actions.connectors.base import ConnectorError, CustomerRef

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_DETAIL = 200


def _check_template(template: str) -> str:
    """A template may hold only `{name}` placeholders: a stray brace is a typo, caught at load."""
    if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
        raise ValueError(f"{template!r}: placeholders are written {{name}}")
    return template


def _check_templates(value: JsonValue) -> None:
    if isinstance(value, str):
        _check_template(value)
    elif isinstance(value, dict):
        for item in value.values():
            _check_templates(item)
    elif isinstance(value, list):
        for item in value:
            _check_templates(item)


class AuthConfig(BaseModel):
    """A header carrying a secret read from the environment: the YAML file never holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str = Field(default="Authorization", pattern=_HEADER_NAME)
    env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prefix: str = Field(default="", pattern=r"^[ -~]*$")


class RetryConfig(BaseModel):
    """Tries per call and the exponential backoff between them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=0.2, ge=0, le=60)
    max_backoff_seconds: float = Field(default=2.0, ge=0, le=300)


class OperationConfig(BaseModel):
    """One operation: `path`, `query` and `body` values are templates filled from the params;
    `result` picks one key of the JSON answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str
    query: dict[str, str] = Field(default_factory=dict)
    body: dict[str, JsonValue] | None = None
    result: str | None = None

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not value.startswith("/") or "?" in value or "#" in value:
            raise ValueError("path starts with '/' and has no query (use `query`) or fragment")
        return _check_template(value)

    @field_validator("query")
    @classmethod
    def _check_query(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            _check_template(template)
        return value

    @field_validator("body")
    @classmethod
    def _check_body(cls, value: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
        if value is not None:
            _check_templates(value)
        return value


class HttpConnectorConfig(BaseModel):
    """One HTTP connector as a business writes it in YAML (`type: http`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["http"] = "http"
    base_url: str
    auth: AuthConfig | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    retries: RetryConfig = Field(default_factory=RetryConfig)
    max_response_bytes: int = Field(default=1_048_576, ge=1, le=64 * 1_048_576)
    max_redirects: int = Field(default=3, ge=0, le=20)
    operations: dict[str, OperationConfig] = Field(min_length=1)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError("base_url is not a valid URL") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("base_url must be an http(s) URL with a host")
        if url.userinfo:
            raise ValueError("base_url must not hold credentials: use `auth` and the environment")
        if url.query or url.fragment:
            raise ValueError("base_url has no query or fragment")
        return value.rstrip("/")


class _RetryableStatus(Exception):
    """A status worth another try (429, 500, 502-504), with the server's Retry-After if any."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class HttpConnector:
    """Runs the operations of an `HttpConnectorConfig` through one shared `httpx.Client`."""

    def __init__(
        self,
        name: str,
        config: HttpConnectorConfig,
        *,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.name = name
        self.config = config
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip, identity"}
        if config.auth is not None:
            secret = environ.get(config.auth.env)
            if not secret:
                raise ValueError(
                    f"connector {name!r}: environment variable {config.auth.env} is not set"
                )
            headers[config.auth.header] = config.auth.prefix + secret
        base = httpx.URL(config.base_url)
        self._origin = (base.scheme, base.host, base.port)
        retries = config.retries
        self._backoff = wait_exponential_jitter(
            multiplier=retries.backoff_seconds,
            max=retries.max_backoff_seconds,
            jitter=retries.backoff_seconds / 2,
        )
        self._client = httpx.Client(
            base_url=config.base_url,
            headers=headers,
            timeout=config.timeout_seconds,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
            follow_redirects=False,  # `_attempt` follows them, up to `max_redirects`
            trust_env=False,  # no proxy or .netrc credentials picked up from the host by surprise
            event_hooks={"request": [self._same_origin]},
        )

    def operations(self) -> frozenset[str]:
        return frozenset(self.config.operations)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(
        self,
        operation: str,
        params: Mapping[str, Any],
        customer: CustomerRef,
        *,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Run `operation`; retry transient failures under the same idempotency key."""
        spec = self.config.operations.get(operation)
        if spec is None:
            raise ValueError(f"connector {self.name!r} has no operation {operation!r}")
        request = self._client.build_request(
            spec.method,
            _PLACEHOLDER.sub(lambda m: _path_segment(params, m.group(1)), spec.path),
            params={key: _fill_text(value, params) for key, value in spec.query.items()},
            json=None if spec.body is None else _fill(spec.body, params),
            headers=_request_headers(customer, idempotency_key),
        )
        retrying = Retrying(
            stop=stop_after_attempt(self.config.retries.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(
                (
                    _RetryableStatus,
                    httpx.TimeoutException,
                    httpx.NetworkError,
                    httpx.RemoteProtocolError,
                )
            ),
            reraise=True,
        )
        try:
            status, body = retrying(self._attempt, request)
        except _RetryableStatus as exc:
            reason = "is rate limiting us" if exc.status == 429 else f"answered {exc.status}"
            raise ConnectorError("unavailable", f"{self.name} {reason}") from None
        except httpx.TimeoutException:
            raise ConnectorError("timeout", f"{self.name} did not answer in time") from None
        except httpx.RequestError:
            raise ConnectorError("unavailable", f"{self.name} could not be reached") from None
        return self._outcome(spec, status, body)

    def _attempt(self, request: httpx.Request) -> tuple[int, bytes | None]:
        """One try: the status and the body (None when over the size limit). Redirects are
        followed here rather than by httpx, which would read each redirect's body whole."""
        for _ in range(self.config.max_redirects + 1):
            response = self._client.send(request, stream=True)
            try:
                if response.next_request is None:
                    if response.status_code in _RETRY_STATUSES:
                        raise _RetryableStatus(response.status_code, _retry_after(response))
                    return response.status_code, self._read_capped(response)
                request = response.next_request
            finally:
                response.close()
        raise ConnectorError("unavailable", f"{self.name} redirected too many times")

    def _read_capped(self, response: httpx.Response) -> bytes | None:
        """Stream the body and stop at `max_response_bytes` (decompressed size, so a gzip bomb
        stops too); a body trickling in slower than the timeout counts as a timeout."""
        limit = self.config.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "deflate"):
            raise ConnectorError("bad_response", f"{self.name} used an unknown content encoding")
        decoder = None if encoding == "identity" else zlib.decompressobj(wbits=47)
        deadline = time.monotonic() + self.config.timeout_seconds
        chunks: list[bytes] = []
        size = 0
        try:
            for raw in response.iter_raw():
                chunk = raw if decoder is None else decoder.decompress(raw, limit + 1 - size)
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(
                        "the answer arrived too slowly", request=response.request
                    )
        except zlib.error:
            raise ConnectorError("bad_response", f"{self.name} sent a corrupt body") from None
        return b"".join(chunks)

    def _outcome(self, spec: OperationConfig, status: int, body: bytes | None) -> dict[str, Any]:
        """Map the final answer to the result or to a `ConnectorError` naming no personal data."""
        if 200 <= status < 300:
            return self._result(spec, status, body)
        if status in (404, 410):
            raise ConnectorError("not_found", "not found")
        if status == 403:
            raise ConnectorError("not_yours", "not found")  # say no more than for a 404
        if status == 401:
            raise ConnectorError("unavailable", "the connector's credentials were refused")
        if status == 409:
            raise ConnectorError("conflict", _problem_detail(body) or "already done or taken")
        if status in (400, 422):
            raise ConnectorError("invalid", _problem_detail(body) or "the value was refused")
        raise ConnectorError("unavailable", f"{self.name} answered {status}")

    def _result(self, spec: OperationConfig, status: int, body: bytes | None) -> dict[str, Any]:
        if body is None:
            raise ConnectorError("bad_response", f"{self.name} sent an answer over the size limit")
        if status == 204 and not body.strip():
            data: Any = {}
        else:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                raise ConnectorError(
                    "bad_response", f"{self.name} sent an answer that is not JSON"
                ) from None
        if spec.result is not None:
            if not isinstance(data, dict) or spec.result not in data:
                raise ConnectorError("bad_response", f"{self.name}'s answer has no {spec.result!r}")
            data = data[spec.result]
        if not isinstance(data, dict):
            raise ConnectorError("bad_response", f"{self.name}'s answer is not a JSON object")
        return data

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, or the server's Retry-After up to the max backoff."""
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _RetryableStatus) and error.retry_after is not None:
            return min(error.retry_after, self.config.retries.max_backoff_seconds)
        return float(self._backoff(state))

    def _same_origin(self, request: httpx.Request) -> None:
        """Refuse a redirect to another origin: it would receive the secret and the customer."""
        if (request.url.scheme, request.url.host, request.url.port) != self._origin:
            raise ConnectorError("unavailable", f"{self.name} redirected to another site")


def _param(params: Mapping[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None:
        raise ConnectorError("invalid", f"missing value for {name}")
    return value


def _fill_text(template: str, params: Mapping[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: _text(_param(params, m.group(1)), m.group(1)), template)


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    raise ConnectorError("invalid", f"{name} must be a single value")


def _path_segment(params: Mapping[str, Any], name: str) -> str:
    """One percent-encoded segment: "a/b" or "../admin" cannot change the path."""
    text = _text(_param(params, name), name)
    if not text.strip("."):  # "", "." and ".." would address another resource
        raise ConnectorError("invalid", f"{name} is not a valid value")
    return quote(text, safe="")


def _fill(value: JsonValue, params: Mapping[str, Any]) -> Any:
    """Fill a body template; a value that is exactly "{name}" keeps the param's JSON type."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole is None:
            return _fill_text(value, params)
        raw = _param(params, whole.group(1))
        if isinstance(raw, Decimal | date):
            return _text(raw, whole.group(1))
        try:
            json.dumps(raw)
        except (TypeError, ValueError):
            raise ConnectorError("invalid", f"{whole.group(1)} is not a JSON value") from None
        return raw
    if isinstance(value, dict):
        return {key: _fill(item, params) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, params) for item in value]
    return value


def _request_headers(customer: CustomerRef, idempotency_key: str) -> list[tuple[bytes, bytes]]:
    """The customer and the idempotency key, UTF-8 encoded; control characters never pass."""
    headers = [("Idempotency-Key", idempotency_key)]
    if customer.id is not None:
        headers.append(("X-Customer-Id", customer.id))
    if customer.email is not None:
        headers.append(("X-Customer-Email", customer.email))
    headers.append(("X-Customer-Verified", "true" if customer.verified else "false"))
    encoded = []
    for name, value in headers:
        if not value or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            raise ConnectorError("invalid", f"{name} cannot be sent in a header")
        encoded.append((name.encode(), value.encode()))
    return encoded


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _problem_detail(body: bytes | None) -> str | None:
    """`detail` (else `title`) of a problem+json answer, one line of at most 200 characters;
    never the raw body, which may echo anything."""
    if not body:
        return None
    try:
        problem = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(problem, dict):
        return None
    for key in ("detail", "title"):
        text = problem.get(key)
        if isinstance(text, str) and text.strip():
            text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
            return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
    return None
