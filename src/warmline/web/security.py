"""Security headers on every response; a content security policy on every page.

Pages may load scripts, styles and images only from this server and talk only to it: no
inline script or style (a message holding `<script>` cannot run even if it were ever inserted
as HTML), no plugins, forms post only here. Only the chat widget's frame may be embedded, and
only by the sites in `WARMLINE_WIDGET_ORIGINS`; every other page refuses to be framed.
FastAPI's own /docs pages load Swagger UI from its CDN and keep their defaults.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WIDGET_FRAME_PATH = "/widget"
_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors {ancestors}"
)
_UNPOLICED = ("/docs", "/redoc")


class SecurityHeaders:
    """ASGI middleware adding the headers; `widget_origins` may frame the widget."""

    def __init__(self, app: ASGIApp, widget_origins: str) -> None:
        self.app = app
        self.widget_policy = _POLICY.format(ancestors=widget_origins)
        self.page_policy = _POLICY.format(ancestors="'none'")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(MutableHeaders(scope=message), path)
            await send(message)

        await self.app(scope, receive, with_headers)

    def _add(self, headers: MutableHeaders, path: str) -> None:
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if path == "/widget.js":
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        html = headers.get("content-type", "").startswith("text/html")
        if not html or path.startswith(_UNPOLICED):
            return
        if path == WIDGET_FRAME_PATH:
            headers["Content-Security-Policy"] = self.widget_policy
        else:
            headers["Content-Security-Policy"] = self.page_policy
            headers["X-Frame-Options"] = "DENY"
        headers["Cache-Control"] = "no-store"
