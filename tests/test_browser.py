"""The web product in a real browser (Debian's Chromium driven by Playwright) against a real
`warmline serve` on loopback: a customer on another site uses the chat widget, an agent the
console, a supervisor the dashboard. Once on SQLite, once with two workers on PostgreSQL.
The screenshots in docs/screenshots/ are taken here."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from browser import (
    conversation_id_of,
    customer_says,
    customer_site,
    launch_chromium,
    open_widget,
    screenshot,
    seqs_shown,
    shown,
    sign_in,
)
from helpers import API_KEY_HEADERS
from pg import fresh_database
from servers import free_port, server_environment, start_server

pytestmark = pytest.mark.xdist_group("browser")  # one Chromium at a time on two cores
IDENTITY_SECRET = "site-identity-secret-0123456789abcdef"
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"><b>bold</b>'
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture(autouse=True)
def patient_expectations() -> None:
    """A first answer loads the models' caches; give the page time, not the test a retry."""
    expect.set_options(timeout=TIMEOUT_MS)


def _environment(data_dir: Path, database_url: str | None) -> dict[str, str]:
    return server_environment(
        data_dir,
        database_url,
        WARMLINE_ENV="development",  # --demo: the demo agents and help centre
        WARMLINE_IDENTITY_SECRET=IDENTITY_SECRET,
        WARMLINE_LOGIN_ATTEMPTS_PER_MINUTE="100",
        WARMLINE_SMTP_URL="",
    )


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("browser-sqlite")
    port = free_port()
    with (data_dir / "server.log").open("wb") as log:
        process = start_server(_environment(data_dir, None), port, log, demo=True)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)


def _full_flow(
    browser: Browser, base_url: str, *, shots: bool, staff_url: str | None = None
) -> None:
    """A routine answer, an upset customer handed over, an agent who claims and replies, a
    reconnect in the middle, resolve, survey, dashboard. With `staff_url`, the agent and the
    supervisor use another server process on the same database than the customer."""
    staff_url = staff_url or base_url
    with customer_site(f"{base_url}/widget.js") as site:
        customer = browser.new_context(viewport={"width": 1200, "height": 800})
        page, chat, watched = open_widget(customer, site)

        customer_says(chat, "How do I reset my password?")
        expect(shown(chat, "bot_reply").first).to_contain_text("password")
        conversation_id = conversation_id_of(chat)
        # The widget times each answer (benchmarks/bench_web.py reports them).
        waited = chat.evaluate("window.warmlineMetrics.firstReplyMs")
        assert len(waited) == 1 and 0 < waited[0] < TIMEOUT_MS

        customer_says(chat, XSS)
        expect(shown(chat, "customer_message").nth(1)).to_have_text(re.compile(re.escape(XSS)))
        expect(shown(chat, "bot_reply")).to_have_count(2)

        customer_says(
            chat, "This is ridiculous, nothing works and I'm furious. I want a human NOW!"
        )
        _wait_queued(base_url, conversation_id)

        agent = browser.new_context(viewport={"width": 1400, "height": 900})
        console = sign_in(agent, staff_url, "sam")
        console_watch = _watch(console)
        top = console.locator("#wl-queue li.wl-queue-item").first
        expect(top).to_have_attribute("data-id", conversation_id)
        top.click()
        expect(console.locator("#wl-packet")).to_contain_text("ustomer")
        expect(console.locator("#wl-transcript")).to_contain_text(XSS)
        top.locator("button.wl-claim").click()
        expect(console.locator(f'#wl-mine li[data-id="{conversation_id}"]')).to_be_visible()
        _correct_and_flag(console)
        console.fill(
            "#wl-reply", "Hi, I'm Sam. I'm sorry about this, I'll sort out your password now."
        )
        expect(console.locator("#wl-coach")).not_to_be_empty()
        console.click("#wl-send-reply")

        expect(shown(chat, "agent_message").first).to_contain_text("I'm Sam")
        expect(chat.locator("#wl-with")).to_contain_text("Sam")
        if shots:
            screenshot(page, "widget")
            screenshot(console, "console")

        # A reconnect in the middle: the customer's network drops, both sides write, it
        # comes back; every message arrives once.
        customer.set_offline(True)
        expect(chat.locator("body")).to_have_attribute("data-connected", "false")
        console.fill("#wl-reply", "I've sent a new reset link to your email.")
        console.click("#wl-send-reply")
        customer_says(chat, "ok, checking my inbox")
        time.sleep(2)
        customer.set_offline(False)
        expect(chat.locator("body")).to_have_attribute("data-connected", "true")
        expect(shown(chat, "agent_message")).to_have_count(2)
        expect(shown(chat, "customer_message").filter(has_text="checking my inbox")).to_have_count(
            1
        )
        expect(
            shown(console, "customer_message").filter(has_text="checking my inbox")
        ).to_have_count(1)
        seqs = seqs_shown(chat, "body")
        assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs), seqs

        console.select_option("#wl-disposition", "solved")
        console.click("#wl-resolve")
        expect(chat.locator("#wl-survey")).to_be_visible()
        chat.click("#wl-csat-5")
        chat.click("#wl-heard-yes")
        chat.click("#wl-survey-send")
        expect(chat.locator("#wl-thanks")).to_be_visible()

        supervisor = browser.new_context(viewport={"width": 1400, "height": 1000})
        dashboard = sign_in(supervisor, staff_url, "alex", "/dashboard")
        dashboard_watch = _watch(dashboard)
        expect(dashboard.locator("#wl-numbers")).to_contain_text("5")
        expect(dashboard.locator("#wl-reasons")).not_to_be_empty()
        expect(dashboard.locator("#wl-agents")).to_contain_text("Sam")
        expect(dashboard.locator("#wl-policy")).to_contain_text("default@")
        dashboard.click("#wl-whatif-run")
        expect(dashboard.locator("#wl-whatif-result")).to_contain_text(
            "No conversation would end differently."
        )
        if shots:
            screenshot(dashboard, "dashboard")

        assert _feedback(base_url, conversation_id)["csat"] == 5
        for page_, watch in (
            (page, watched),
            (console, console_watch),
            (dashboard, dashboard_watch),
        ):
            assert watch.dialogs == [] and watch.errors == [], (watch.dialogs, watch.errors)
            assert page_.evaluate("typeof window.__xss") == "undefined"
        assert chat.evaluate("typeof window.__xss") == "undefined"
        for context in (customer, agent, supervisor):
            context.close()


def _correct_and_flag(console: Page) -> None:
    """The agent corrects what a customer message asked for and flags a bot answer; both show
    in the transcript as they are stored."""
    intents = console.evaluate(
        "JSON.parse(document.getElementById('wl-config').textContent).intents"
    )
    odd = shown(console, "customer_message").filter(has_text="bold").first
    odd.get_by_role("button", name="Correct intent").click()
    odd.locator("form select").select_option(intents[0])
    odd.get_by_role("button", name="Save").click()
    expect(shown(console, "intent_corrected")).to_have_count(1)
    answer = shown(console, "bot_reply").first
    answer.get_by_role("button", name="Flag answer").click()
    answer.get_by_role("button", name="Flag as wrong").click()
    expect(shown(console, "answer_flagged")).to_have_count(1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        raise AssertionError("the server did not stop within 30 s of SIGTERM") from None


def _watch(page: Page) -> object:
    from browser import Watched

    return Watched(page)


def _wait_queued(base_url: str, conversation_id: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        queue = httpx.get(f"{base_url}/api/v1/queue", headers=API_KEY_HEADERS, timeout=10).json()
        if any(item["id"] == conversation_id for item in queue):
            return
        time.sleep(0.2)
    raise AssertionError(f"{conversation_id} was not handed over")


def _feedback(base_url: str, conversation_id: str) -> dict[str, object]:
    events = httpx.get(
        f"{base_url}/api/v1/conversations/{conversation_id}", headers=API_KEY_HEADERS, timeout=10
    ).json()["events"]
    answers = [event for event in events if event["type"] == "feedback"]
    assert answers, "no survey answer was stored"
    return dict(answers[-1])


def test_a_customer_an_agent_and_a_supervisor_on_sqlite(
    browser: Browser, sqlite_server: str
) -> None:
    _full_flow(browser, sqlite_server, shots=True)


def test_the_same_flow_with_two_workers_on_postgresql(
    browser: Browser, postgres_server: str, tmp_path: Path
) -> None:
    """The customer's server runs two workers; the staff use a third process on the same
    database, so every live update crosses processes through PostgreSQL's notices."""
    with fresh_database(postgres_server, template="warmline_template") as database_url:
        environment = _environment(tmp_path, database_url)
        customers, staff = free_port(), free_port()
        with (tmp_path / "server.log").open("wb") as log:
            process = start_server(environment, customers, log, workers=2, demo=True)
            try:
                other = start_server(environment, staff, log)
                try:
                    _full_flow(
                        browser,
                        f"http://127.0.0.1:{customers}",
                        staff_url=f"http://127.0.0.1:{staff}",
                        shots=False,
                    )
                finally:
                    _stop(other)
            finally:
                _stop(process)


def test_the_widget_on_a_phone_by_keyboard_with_a_signed_in_customer(
    browser: Browser, sqlite_server: str
) -> None:
    user_hash = hmac.new(IDENTITY_SECRET.encode(), b"acme-7", hashlib.sha256).hexdigest()
    signed = f'data-user-id="acme-7" data-user-hash="{user_hash}" data-name="Dana"'
    with customer_site(f"{sqlite_server}/widget.js", signed) as site:
        phone = browser.new_context(
            viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
        )
        page = phone.new_page()
        page.goto(site)
        page.keyboard.press("Tab")
        launcher = page.locator("#warmline-launcher")
        expect(launcher).to_be_focused()
        page.keyboard.press("Enter")
        expect(launcher).to_have_attribute("aria-expanded", "true")
        frame_box = page.locator("#warmline-frame").bounding_box()
        assert frame_box is not None and frame_box["width"] >= 370 and frame_box["height"] >= 600
        handle = page.locator("#warmline-frame").element_handle()
        assert handle is not None
        chat = handle.content_frame()
        assert chat is not None
        expect(chat.locator("#wl-human")).to_be_visible()
        expect(chat.locator("#wl-input")).to_be_visible()
        chat.locator("#wl-input").focus()
        page.keyboard.type("Where is my order?")
        page.keyboard.press("Enter")
        expect(shown(chat, "bot_reply").first).to_be_visible()
        screenshot(page, "widget-phone")
        first = chat.locator("#wl-messages").get_attribute("role")
        assert first == "log"
        phone.close()

        # The same customer on another device gets the same conversation back.
        laptop = browser.new_context()
        _, again, _ = open_widget(laptop, site)
        expect(shown(again, "customer_message").first).to_contain_text("Where is my order?")
        laptop.close()

    forged = f'data-user-id="acme-8" data-user-hash="{user_hash}"'
    with customer_site(f"{sqlite_server}/widget.js", forged) as site:
        stranger = browser.new_context()
        _, chat, _ = open_widget(stranger, site)
        expect(chat.locator("body")).to_contain_text("couldn't confirm")
        expect(shown(chat, "customer_message")).to_have_count(0)
        stranger.close()


def test_talk_to_a_person_is_always_there_and_hands_over(
    browser: Browser, sqlite_server: str
) -> None:
    with customer_site(f"{sqlite_server}/widget.js") as site:
        context = browser.new_context()
        _, chat, _ = open_widget(context, site)
        human = chat.locator("#wl-human")
        expect(human).to_be_visible()
        human.click()
        expect(shown(chat, "customer_message").first).to_be_visible()
        conversation_id = conversation_id_of(chat)
        _wait_queued(sqlite_server, conversation_id)

        # An agent takes it, sees it needs no person, and hands it back to the bot.
        agent = browser.new_context()
        console = sign_in(agent, sqlite_server, "sam")
        item = console.locator(f'#wl-queue li.wl-queue-item[data-id="{conversation_id}"]')
        item.locator("button.wl-claim").click()
        expect(chat.locator("#wl-with")).to_contain_text("Sam")
        expect(human).to_be_disabled()
        console.click("#wl-handback")
        expect(chat.locator("body")).to_contain_text("back with the assistant")
        expect(human).to_be_enabled()
        agent.close()
        context.close()
