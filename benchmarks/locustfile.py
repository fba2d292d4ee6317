"""Locust scenario for bench_load.py: customers holding routine conversations of a few turns.

Each simulated user is one conversation at a time: it opens a conversation, sends its turns one
after another (the next when the previous answer arrives, or paced by LOAD_PACE messages per
second), then starts a new conversation. About 10% of conversations escalate (an upset customer
asking for a person). Texts vary (order numbers, dates, amounts), so most are new to the
server's encoding cache, as real traffic is.
"""

from __future__ import annotations

import os
import random
import time

from locust import FastHttpUser, constant, constant_throughput, events, task

PACE = float(os.environ.get("LOAD_PACE", "0"))  # messages per second per user; 0: no pause
SAMPLES = os.environ.get("LOAD_SAMPLES")  # where to write each message's time and latency
_samples = open(SAMPLES, "a", buffering=1) if SAMPLES else None  # noqa: SIM115 (process-long)


@events.request.add_listener
def _record(name: str, response_time: float, exception: Exception | None, **kw: object) -> None:
    """One line per message: wall time, latency in ms, status (0: no answer)."""
    if _samples is None or name != "message":
        return
    status = getattr(kw.get("response"), "status_code", 0) or 0
    _samples.write(f"{time.time():.3f} {response_time:.3f} {status}\n")


ESCALATION_SHARE = float(os.environ.get("LOAD_ESCALATIONS", "0.1"))

OPENERS = [
    "hi, where is my order #{order}?",
    "Where's my parcel? Order {order} hasn't arrived yet",
    "can you tell me when order {order} will be delivered",
    "how do I reset my password",
    "I forgot my password and can't log in",
    "the password reset link doesn't seem to arrive",
    "why was I charged ${amount} on {date}?",
    "I think there is a mistake on my last invoice",
    "what is my current balance?",
    "how much data have I used this month",
    "I'd like to upgrade my plan",
    "can I book an appointment for {day} afternoon?",
    "I need to reschedule my appointment on {day}",
    "how do I update my billing address",
    "is my device still under warranty?",
    "I want to return an item from order {order}",
    "how long does a refund take?",
    "can I change the delivery address for order {order}",
]
FOLLOW_UPS = [
    "it's order {order}",
    "the order number is {order}, placed on {date}",
    "I placed it on {date}",
    "my email is the one on the account",
    "ok, and how long will that take?",
    "would {day} at {hour}pm work?",
    "the amount was ${amount}",
    "yes please",
    "no, the other order, {order}",
]
CLOSINGS = ["thanks!", "great, thank you", "perfect, that's all", "ok thanks", "cheers"]
UPSET = [
    "this is the third time I'm asking about order {order}, it's ridiculous",
    "I've been waiting for two weeks and nobody helps me!!!",
    "your service is useless, I'm thinking of cancelling",
    "I want to speak to a real person now",
    "get me a human, this bot is going in circles",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "next week"]


def fill(template: str, rng: random.Random) -> str:
    """One concrete message from a template."""
    return template.format(
        order=rng.randint(10_000, 9_999_999),
        amount=f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
        date=f"{rng.randint(1, 28)} {rng.choice(['March', 'April', 'May', 'June'])}",
        day=rng.choice(DAYS),
        hour=rng.randint(1, 6),
    )


def conversation(rng: random.Random) -> list[str]:
    """The turns of one conversation: routine, or (about 10%) one that escalates."""
    if rng.random() < ESCALATION_SHARE:
        return [fill(rng.choice(OPENERS), rng), fill(rng.choice(UPSET), rng), fill(UPSET[3], rng)]
    turns = [fill(rng.choice(OPENERS), rng)]
    turns += [fill(rng.choice(FOLLOW_UPS), rng) for _ in range(rng.randint(1, 2))]
    return [*turns, rng.choice(CLOSINGS)]


class Customer(FastHttpUser):
    """One customer at a time, one conversation after another."""

    wait_time = constant_throughput(PACE) if PACE > 0 else constant(0)

    def on_start(self) -> None:
        self.rng = random.Random(os.getpid() * 1_000_003 + id(self))
        self.turns: list[str] = []
        self.headers: dict[str, str] = {}
        self.conversation_id = ""

    @task
    def next_message(self) -> None:
        if not self.turns:
            opened = self.client.post("/api/v1/conversations", json={}, name="open")
            if opened.status_code != 201:
                return
            data = opened.json()
            self.conversation_id = data["id"]
            self.headers = {"Authorization": f"Bearer {data['token']}"}
            self.turns = conversation(self.rng)
        text = self.turns.pop(0)
        self.client.post(
            f"/api/v1/conversations/{self.conversation_id}/messages",
            json={"text": text},
            headers=self.headers,
            name="message",
        )
