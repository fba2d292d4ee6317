"""A fake Chatwoot on loopback with just what an agent bot calls, written from Chatwoot's public
API documentation: POST /api/v1/accounts/{account}/conversations/{id}/messages (content,
message_type, private) and .../toggle_status (status), authenticated by `api_access_token`.
It records every call and can be told to fail."""

from __future__ import annotations

import http.server
import json
import re
import threading
from typing import Any

from servers import free_port

_PATH = re.compile(r"^/api/v1/accounts/(\d+)/conversations/(\d+)/(messages|toggle_status)$")


class FakeChatwoot:
    """Calls are kept as dicts: account, conversation, action and the JSON body."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[dict[str, Any]] = []
        self.failures = 0  # answer 503 to this many calls first
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                found = _PATH.match(self.path)
                if found is None:
                    return self._answer(404, {"error": "not found"})
                if self.headers.get("api_access_token") != fake.token:
                    return self._answer(401, {"error": "Invalid Access Token"})
                if fake.failures > 0:
                    fake.failures -= 1
                    return self._answer(503, {"error": "unavailable"})
                account, conversation, action = found.groups()
                fake.calls.append(
                    {
                        "account": int(account),
                        "conversation": int(conversation),
                        "action": action,
                        "body": json.loads(body),
                    }
                )
                return self._answer(200, {"id": len(fake.calls)})

            def _answer(self, status: int, data: dict[str, Any]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
