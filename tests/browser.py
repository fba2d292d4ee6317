"""Driving Debian's Chromium with Playwright against a real `warmline serve`: the browser, a
customer's site on another origin that embeds the widget, and the steps a customer and an
agent take. Shared by test_browser.py and benchmarks/bench_web.py."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Frame, Page, Playwright, expect

from servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DEMO_PASSWORD = "{}-demo-password"  # warmline.demo.DemoAgent.password


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless; a clear failure (never a skip) when it is missing."""
    if not CHROMIUM.exists():
        raise AssertionError(
            f"{CHROMIUM} is missing: the browser tests use Debian's chromium "
            "(make test installs it with apt-get; or: apt-get install chromium chromium-driver)"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme shop</title></head>
<body><h1>Acme shop</h1><p>Welcome to a site that embeds the warmline chat.</p>
{snippet}
</body></html>
"""


@contextmanager
def customer_site(widget_src: str, attributes: str = "") -> Iterator[str]:
    """A site on its own loopback origin whose page embeds the widget with the documented
    one-line snippet (and `attributes`, e.g. a signed-in customer's id and hash)."""
    snippet = f'<script src="{widget_src}" {attributes} async></script>'
    body = HOST_PAGE.format(snippet=snippet).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Watched:
    """A page's script errors and dialogs (an injected `alert` would show up here)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def open_widget(context: BrowserContext, site_url: str) -> tuple[Page, Frame, Watched]:
    """The customer opens the site and the chat; returns the page, the chat's frame and what
    the page's scripts did wrong."""
    page = context.new_page()
    watched = Watched(page)
    page.goto(site_url)
    launcher = page.locator("#warmline-launcher")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    handle = page.locator("#warmline-frame").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    expect(frame.locator("#wl-input")).to_be_visible()
    return page, frame, watched


def customer_says(frame: Frame, text: str) -> None:
    """Type a message and press Enter, as a customer does."""
    box = frame.locator("#wl-input")
    box.fill(text)
    box.press("Enter")


def shown(frame: Frame | Page, kind: str) -> Any:
    """The messages of one event type shown in the widget or the console."""
    return frame.locator(f'.wl-msg[data-type="{kind}"]')


def conversation_id_of(frame: Frame) -> str:
    """The conversation the widget is in (it keeps it for the next visit). A message is shown
    before the conversation it opens exists, so this waits (up to 10 s) for the widget to keep
    it."""
    # Polled from here: `wait_for_function` would evaluate its predicate with `eval`, which
    # the widget's CSP (no 'unsafe-eval') refuses.
    deadline = time.monotonic() + 10
    stored = frame.evaluate("localStorage.getItem('warmline.conversation')")
    while not stored and time.monotonic() < deadline:
        frame.page.wait_for_timeout(100)
        stored = frame.evaluate("localStorage.getItem('warmline.conversation')")
    assert stored, "the widget keeps no conversation"
    import json

    return str(json.loads(stored)["id"])


def seqs_shown(frame: Frame | Page, container: str) -> list[int]:
    """Every message's seq in the order shown."""
    values = frame.eval_on_selector_all(
        f"{container} .wl-msg[data-seq]", "els => els.map(e => Number(e.dataset.seq))"
    )
    return [int(value) for value in values]


def sign_in(context: BrowserContext, base_url: str, agent_id: str, path: str = "/console") -> Page:
    """An agent signs in with the demo password and lands on `path`."""
    page = context.new_page()
    page.goto(f"{base_url}/console/login?next={path}")
    page.fill("#username", agent_id)
    page.fill("#password", DEMO_PASSWORD.format(agent_id))
    page.click("#login")
    page.wait_for_url(f"{base_url}{path}")
    return page


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for the documentation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")
