"""The demo backend on a real SQLite file: every operation's answer and every error kind, with
rows counted to show that repeated calls with one idempotency key change nothing twice."""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from warmline.actions.connectors.base import ConnectorError, CustomerRef
from warmline.actions.connectors.demo import OPERATIONS, DemoBackend, create_demo_backend
from warmline.actions.connectors.demo.models import (
    Appointment,
    AppointmentCancel,
    AppointmentMove,
    Charge,
    Customer,
    DemoBase,
    Device,
    Order,
    PasswordReset,
    Return,
    Sim,
)
from warmline.actions.connectors.demo.seed import first_opening_day
from warmline.actions.mail import MailError, OutboxMailer

DOCS = Path(__file__).resolve().parents[1] / "docs" / "demo-backend.md"
SENDER = "noreply@brightwave.example"
ANA = CustomerRef(email="ana@example.com", verified=True)
BEN = CustomerRef(email="ben@example.com", verified=True)
CARLA = CustomerRef(id="C-1003", verified=True)
UNVERIFIED_ANA = CustomerRef(email="ana@example.com", verified=False)


class Clock:
    """A clock the test can move. A Tuesday morning, so `D` is the Friday."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path) -> OutboxMailer:
    return OutboxMailer(tmp_path / "outbox", SENDER)


@pytest.fixture
def backend(tmp_path: Path, clock: Clock, outbox: OutboxMailer) -> DemoBackend:
    return create_demo_backend(f"sqlite:///{tmp_path / 'demo.db'}", outbox, clock=clock)


def today(clock: Clock) -> date:
    return clock.now.date()


def call(
    backend: DemoBackend,
    operation: str,
    params: dict[str, Any],
    customer: CustomerRef = ANA,
    *,
    key: str | None = None,
) -> dict[str, Any]:
    return backend.call(operation, params, customer, idempotency_key=key or uuid.uuid4().hex)


def fails(
    backend: DemoBackend,
    operation: str,
    params: dict[str, Any],
    customer: CustomerRef = ANA,
    *,
    key: str | None = None,
) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        call(backend, operation, params, customer, key=key)
    return caught.value


def count(backend: DemoBackend, model: type[DemoBase], *where: Any) -> int:
    with backend.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(model)
        return int(connection.scalar(query.where(*where)) or 0)


# --- setup and seeded data ----------------------------------------------------------------


def test_seeding_twice_creates_nothing_twice(tmp_path: Path, clock: Clock) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    mailer = OutboxMailer(tmp_path / "outbox", SENDER)
    first = create_demo_backend(url, mailer, clock=clock)
    counts = {m: count(first, m) for m in (Customer, Order, Charge, Sim, Device, Appointment)}
    clock.now += timedelta(days=40)  # a later start must not seed again with other dates
    second = create_demo_backend(url, mailer, clock=clock)
    assert {m: count(second, m) for m in counts} == counts
    assert counts[Customer] == 4 and counts[Order] == 8 and counts[Appointment] == 4


def test_seeded_identifiers_have_the_documented_shapes(backend: DemoBackend) -> None:
    with backend.engine.connect() as connection:
        orders = connection.scalars(sa.select(Order.number)).all()
        iccids = connection.scalars(sa.select(Sim.iccid)).all()
        serials = connection.scalars(sa.select(Device.serial_number)).all()
        emails = connection.scalars(sa.select(Customer.email)).all()
    assert all(re.fullmatch(r"\d{5,8}", n) for n in orders)
    assert all(re.fullmatch(r"89\d{17,18}", i) for i in iccids)
    assert all(re.fullmatch(r"[A-Z0-9]{8,14}", s) for s in serials)
    assert {"ana@example.com", "ben@example.com"} <= set(emails)
    # The scripted-conversation writers read the values from the docs: every one is there.
    text = DOCS.read_text(encoding="utf-8")
    with backend.engine.connect() as connection:
        charges = connection.scalars(sa.select(Charge.id)).all()
        appointments = connection.scalars(sa.select(Appointment.id)).all()
    for value in [*orders, *iccids, *serials, *emails, *charges, *appointments]:
        assert value in text, value


def test_operations_are_the_documented_ones(backend: DemoBackend) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert backend.operations() == frozenset(OPERATIONS)
    assert backend.name == "demo"
    for operation in OPERATIONS:
        assert f"`{operation}`" in text


def test_unknown_operation_missing_unknown_and_ill_formed_params_are_invalid(
    backend: DemoBackend,
) -> None:
    error = fails(backend, "cancel_everything", {})
    assert (error.kind, error.detail) == ("invalid", "unknown operation: cancel_everything")
    error = fails(backend, "track_order", {})
    assert error.kind == "invalid" and "order_number" in error.detail
    error = fails(backend, "track_order", {"order_numbr": "48213"})
    assert error.kind == "invalid" and "order_numbr" in error.detail
    error = fails(backend, "track_order", {"order_number": "48a13"})
    assert error.kind == "invalid" and "order_number" in error.detail
    error = fails(backend, "book_appointment", {"date": "13/03/2026", "time": "10:00"})
    assert error.kind == "invalid" and "date" in error.detail
    error = fails(backend, "activate_sim", {"iccid": "1234"}, BEN)
    assert error.kind == "invalid" and "iccid" in error.detail
    error = fails(backend, "check_warranty", {"serial_number": "SN!"})
    assert error.kind == "invalid" and "serial_number" in error.detail


def test_a_change_needs_an_idempotency_key_a_lookup_does_not(backend: DemoBackend) -> None:
    params = {"order_number": "48213", "reason": "damaged"}
    with pytest.raises(ConnectorError, match="idempotency_key") as caught:
        backend.call("start_return", params, ANA, idempotency_key=" ")
    assert caught.value.kind == "invalid"
    assert count(backend, Return) == 1
    found = backend.call("track_order", {"order_number": "48213"}, ANA, idempotency_key="")
    assert found["status"] == "delivered"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("track_order", {"order_number": "48213"}),
        ("start_return", {"order_number": "48213", "reason": "damaged"}),
        ("book_appointment", {"date": "2026-03-14", "time": "09:00"}),
        ("move_appointment", {"date": "2026-03-14", "time": "09:00"}),
        ("explain_charge", {}),
        ("usage", {}),
        ("activate_sim", {"iccid": "89441000034567890123"}),
    ],
)
def test_account_data_needs_a_verified_customer(
    backend: DemoBackend, operation: str, params: dict[str, str]
) -> None:
    before = (count(backend, Return), count(backend, Appointment), count(backend, AppointmentMove))
    error = fails(backend, operation, params, UNVERIFIED_ANA)
    assert error.kind == "forbidden"
    after = (count(backend, Return), count(backend, Appointment), count(backend, AppointmentMove))
    assert after == before


def test_a_verified_stranger_is_not_found(backend: DemoBackend) -> None:
    stranger = CustomerRef(email="nobody@example.com", verified=True)
    assert fails(backend, "usage", {}, stranger).kind == "not_found"


# --- find_customer ------------------------------------------------------------------------


def test_find_customer_by_email_or_phone_however_written(backend: DemoBackend) -> None:
    found = call(backend, "find_customer", {"email": " Ana@Example.com "}, CustomerRef())
    assert found == {
        "customer_id": "C-1001",
        "email": "ana@example.com",
        "phone": "+34 600 111 222",
    }
    by_phone = call(backend, "find_customer", {"phone": "0044 7700-900123"}, CustomerRef())
    assert by_phone["customer_id"] == "C-1002"
    both = {"email": "ben@example.com", "phone": "+447700900123"}
    assert call(backend, "find_customer", both, CustomerRef())["customer_id"] == "C-1002"
    mismatch = {"email": "ana@example.com", "phone": "+447700900123"}
    assert fails(backend, "find_customer", mismatch, CustomerRef()).kind == "not_found"
    unknown = {"email": "nobody@example.com"}
    assert fails(backend, "find_customer", unknown, CustomerRef()).kind == "not_found"
    error = fails(backend, "find_customer", {"email": "not-an-email"}, CustomerRef())
    assert error.kind == "invalid" and "email" in error.detail
    error = fails(backend, "find_customer", {}, CustomerRef())
    assert error.kind == "invalid" and "email or phone" in error.detail


# --- orders and returns -------------------------------------------------------------------


def test_track_an_order_in_transit(backend: DemoBackend, clock: Clock) -> None:
    result = call(backend, "track_order", {"order_number": "#51877"})
    assert result["order_number"] == "51877"
    assert result["status"] == "shipped"
    assert result["carrier"] == "Parcelway"
    assert result["tracking_number"] == "PW5187700245GB"
    assert result["estimated_delivery"] == (today(clock) + timedelta(days=2)).isoformat()
    assert result["delivered_on"] is None
    assert [e["status"] for e in result["events"]] == [
        "Order received",
        "Dispatched",
        "Arrived at the sorting hub",
    ]
    assert result["events"] == sorted(result["events"], key=lambda e: e["at"])
    assert result["items"] == [{"name": "Brightwave Buds 2", "quantity": 1, "price": "79.00"}]


def test_track_a_delivered_order_by_integer_number(backend: DemoBackend, clock: Clock) -> None:
    result = call(backend, "track_order", {"order_number": 48213})
    assert result["status"] == "delivered"
    assert result["delivered_on"] == (today(clock) - timedelta(days=5)).isoformat()


def test_another_customers_order_is_not_yours_and_shows_nothing(backend: DemoBackend) -> None:
    error = fails(backend, "track_order", {"order_number": "77001"})
    assert error.kind == "not_yours"
    assert error.data == {}
    assert "Watch" not in str(error) and "PW77" not in str(error)
    assert fails(backend, "track_order", {"order_number": "99999"}).kind == "not_found"


def test_start_a_return_once_per_key(backend: DemoBackend, clock: Clock) -> None:
    params = {"order_number": "48213", "reason": "doesn't fit"}
    first = call(backend, "start_return", params, key="return-1")
    assert first["order_number"] == "48213"
    assert (first["refund_amount"], first["currency"]) == ("44.98", "GBP")
    assert first["drop_off_by"] == (today(clock) + timedelta(days=14)).isoformat()
    assert first["return_id"] in first["label_url"]
    again = call(backend, "start_return", params, key="return-1")
    assert again == first
    assert count(backend, Return, Return.order_number == "48213") == 1
    with backend.engine.connect() as connection:
        reason = connection.scalar(sa.select(Return.reason).where(Return.order_number == "48213"))
    assert reason == "doesnt_fit"
    error = fails(backend, "start_return", params, key="return-2")
    assert error.kind == "conflict" and error.data == {"return_id": first["return_id"]}
    assert count(backend, Return, Return.order_number == "48213") == 1
    # The key belongs to that return: using it for another order is refused, not a second one.
    other = {"order_number": "51877", "reason": "other"}
    assert fails(backend, "start_return", other, key="return-1").kind == "conflict"


def test_return_refunds_every_unit(backend: DemoBackend) -> None:
    result = call(backend, "start_return", {"order_number": "60231", "reason": "damaged"}, BEN)
    assert result["refund_amount"] == "78.98"  # 59.00 + 2 x 9.99


def test_return_window_and_delivery_are_checked(backend: DemoBackend) -> None:
    error = fails(backend, "start_return", {"order_number": "39420", "reason": "changed_mind"})
    assert error.kind == "invalid" and "more than 30 days" in error.detail
    error = fails(backend, "start_return", {"order_number": "27764", "reason": "other"}, BEN)
    assert error.kind == "invalid" and "not been delivered" in error.detail
    error = fails(backend, "start_return", {"order_number": "35512", "reason": "other"})
    assert error.kind == "conflict" and "already returned" in error.detail
    error = fails(backend, "start_return", {"order_number": "48213", "reason": "bored"})
    assert error.kind == "invalid" and "reason" in error.detail
    error = fails(backend, "start_return", {"order_number": "77001", "reason": "other"})
    assert error.kind == "not_yours"
    assert count(backend, Return) == 1  # only the seeded, refunded one


def test_the_return_window_ends_after_thirty_days(backend: DemoBackend, clock: Clock) -> None:
    clock.now += timedelta(days=25)  # 48213 was delivered 30 days ago: still allowed
    call(backend, "start_return", {"order_number": "48213", "reason": "other"})
    clock.now += timedelta(days=1)  # 60231 (delivered T-12) is now 38 days old
    error = fails(backend, "start_return", {"order_number": "60231", "reason": "other"}, BEN)
    assert error.kind == "invalid"


# --- password reset -----------------------------------------------------------------------


def test_reset_password_emails_a_link_with_a_token_stored_hashed(
    backend: DemoBackend, outbox: OutboxMailer, clock: Clock
) -> None:
    assert call(backend, "reset_password", {"email": "ANA@example.com"}, CustomerRef()) == {
        "sent": True
    }
    [message] = outbox.messages()
    assert message["To"] == "ana@example.com"
    body = message.get_content()
    found = re.search(r"http://127\.0\.0\.1:8000/reset\?token=([\w-]+)", body)
    assert found is not None
    token = found[1]
    with backend.engine.connect() as connection:
        stored = connection.execute(sa.select(PasswordReset.token_hash)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored[0]
    assert backend.reset_token_owner(token) == "C-1001"
    assert backend.reset_token_owner(token + "x") is None
    clock.now += timedelta(hours=1, seconds=1)
    assert backend.reset_token_owner(token) is None


def test_reset_password_for_an_unknown_email_says_the_same_and_sends_nothing(
    backend: DemoBackend, outbox: OutboxMailer
) -> None:
    result = call(backend, "reset_password", {"email": "nobody@example.com"}, CustomerRef())
    assert result == {"sent": True}
    assert outbox.messages() == []
    assert count(backend, PasswordReset) == 0
    error = fails(backend, "reset_password", {"email": "ana at example"}, CustomerRef())
    assert error.kind == "invalid" and "email" in error.detail


def test_reset_password_once_per_key(backend: DemoBackend, outbox: OutboxMailer) -> None:
    for _ in range(2):
        call(backend, "reset_password", {"email": "ben@example.com"}, CustomerRef(), key="r1")
    assert len(outbox.messages()) == 1
    assert count(backend, PasswordReset) == 1
    call(backend, "reset_password", {"email": "ben@example.com"}, CustomerRef(), key="r2")
    assert len(outbox.messages()) == 2


class BrokenMailer:
    """A mail server that is down, then back."""

    def __init__(self, then: OutboxMailer) -> None:
        self.down = True
        self.then = then

    def send(self, to: str, subject: str, body: str) -> None:
        if self.down:
            raise MailError("the mail server 127.0.0.1:1 refused or failed: ConnectionRefused")
        self.then.send(to, subject, body)


def test_a_mailer_failure_is_unavailable_and_a_retry_sends(
    tmp_path: Path, clock: Clock, outbox: OutboxMailer
) -> None:
    mailer = BrokenMailer(outbox)
    backend = create_demo_backend(f"sqlite:///{tmp_path / 'm.db'}", mailer, clock=clock)
    error = fails(backend, "reset_password", {"email": "ana@example.com"}, CustomerRef(), key="k")
    assert error.kind == "unavailable"
    assert count(backend, PasswordReset) == 0
    mailer.down = False
    call(backend, "reset_password", {"email": "ana@example.com"}, CustomerRef(), key="k")
    assert len(outbox.messages()) == 1 and count(backend, PasswordReset) == 1


# --- appointments -------------------------------------------------------------------------


def booking_day(clock: Clock) -> date:
    return first_opening_day(today(clock))


def test_free_slots_come_from_the_bookings(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock)
    result = call(backend, "free_slots", {"date": day.isoformat()}, CustomerRef())
    assert result == {"date": day.isoformat(), "times": ["09:00", "13:00", "14:00", "16:00"]}
    sunday = today(clock) + timedelta(days=(6 - today(clock).weekday()) % 7 or 7)
    assert sunday.weekday() == 6
    assert call(backend, "free_slots", {"date": sunday.isoformat()}, CustomerRef())["times"] == []
    free_day = today(clock) + timedelta(days=1)
    assert len(call(backend, "free_slots", {"date": free_day.isoformat()})["times"]) == 8


def test_free_slots_today_only_lists_times_still_ahead(backend: DemoBackend, clock: Clock) -> None:
    clock.now = clock.now.replace(hour=12, minute=30)
    times = call(backend, "free_slots", {"date": today(clock).isoformat()})["times"]
    assert times == ["13:00", "14:00", "15:00", "16:00"]


def test_free_slots_refuse_the_past_and_the_far_future(backend: DemoBackend, clock: Clock) -> None:
    past = (today(clock) - timedelta(days=1)).isoformat()
    error = fails(backend, "free_slots", {"date": past})
    assert error.kind == "invalid" and "past" in error.detail
    far = (today(clock) + timedelta(days=61)).isoformat()
    error = fails(backend, "free_slots", {"date": far})
    assert error.kind == "invalid" and "60 days" in error.detail
    error = fails(backend, "free_slots", {"date": "2026-02-30"})
    assert error.kind == "invalid" and "date" in error.detail


def test_book_an_appointment_once_per_key(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock).isoformat()
    params = {"date": day, "time": "9:00", "topic": "repair"}
    first = call(backend, "book_appointment", params, BEN, key="book-1")
    assert (first["date"], first["time"], first["topic"]) == (day, "09:00", "repair")
    assert call(backend, "book_appointment", params, BEN, key="book-1") == first
    assert count(backend, Appointment, Appointment.customer_id == "C-1002") == 1
    assert "09:00" not in call(backend, "free_slots", {"date": day})["times"]
    # A new key for the same slot is someone (or something) else: taken.
    assert fails(backend, "book_appointment", params, BEN, key="book-2").kind == "conflict"


def test_a_taken_slot_offers_the_nearest_free_times(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock).isoformat()
    error = fails(backend, "book_appointment", {"date": day, "time": "11:00"}, BEN)
    assert error.kind == "conflict"
    assert error.data == {"free": ["09:00", "13:00", "14:00"]}
    assert count(backend, Appointment) == 4


def test_booking_refuses_past_closed_and_odd_times(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock)
    cases = {
        ((today(clock) - timedelta(days=2)).isoformat(), "10:00"): "past",
        (today(clock).isoformat(), "08:00"): "on the hour",
        (day.isoformat(), "17:00"): "on the hour",
        (day.isoformat(), "10:30"): "on the hour",
        ((day + timedelta(days=(6 - day.weekday()) % 7)).isoformat(), "10:00"): "Sunday",
        ((today(clock) + timedelta(days=70)).isoformat(), "10:00"): "60 days",
    }
    clock.now = clock.now.replace(hour=11, minute=15)
    cases[(today(clock).isoformat(), "10:00")] = "past"
    for (on, at), detail in cases.items():
        error = fails(backend, "book_appointment", {"date": on, "time": at}, BEN)
        assert error.kind == "invalid" and detail in error.detail, (on, at, error.detail)
    assert count(backend, Appointment) == 4


def test_one_slot_is_booked_once_under_concurrent_calls(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock).isoformat()
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def book(customer: CustomerRef, key: str) -> None:
        start.wait()
        try:
            call(backend, "book_appointment", {"date": day, "time": "16:00"}, customer, key=key)
            result = "booked"
        except ConnectorError as exc:
            result = exc.kind
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=book, args=(BEN if i % 2 else CARLA, f"race-{i}")) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["conflict"] * 7
    assert count(backend, Appointment, Appointment.time == "16:00") == 1


def test_move_the_next_appointment_once_per_key(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock).isoformat()
    params = {"date": day, "time": "16:00"}
    moved = call(backend, "move_appointment", params, key="move-1")
    assert moved == {
        "appointment_id": "A-1001",
        "date": day,
        "time": "16:00",
        "previous_date": day,
        "previous_time": "11:00",
    }
    assert call(backend, "move_appointment", params, key="move-1") == moved
    assert count(backend, AppointmentMove) == 1
    assert call(backend, "free_slots", {"date": day})["times"] == [
        "09:00",
        "11:00",
        "13:00",
        "14:00",
    ]
    error = fails(backend, "move_appointment", params, key="move-2")
    assert error.kind == "conflict" and "already at that time" in error.detail


def test_cancel_the_next_appointment_once_per_key(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock).isoformat()
    cancelled = call(backend, "cancel_appointment", {}, key="cancel-1")
    assert cancelled == {
        "appointment_id": "A-1001",
        "date": day,
        "time": "11:00",
        "topic": "SIM and eSIM help",
    }
    assert call(backend, "cancel_appointment", {}, key="cancel-1") == cancelled  # a retry
    assert count(backend, AppointmentCancel) == 1
    assert "11:00" in call(backend, "free_slots", {"date": day})["times"]  # the slot is free
    assert fails(backend, "cancel_appointment", {}, key="cancel-2").kind == "not_found"
    assert fails(backend, "cancel_appointment", {}, BEN, key="cancel-3").kind == "not_found"
    other = {"appointment_id": "A-1002"}
    assert fails(backend, "cancel_appointment", other, key="cancel-4").kind == "not_yours"


def test_moving_into_a_taken_slot_or_someone_elses_appointment(
    backend: DemoBackend, clock: Clock
) -> None:
    day = booking_day(clock).isoformat()
    error = fails(backend, "move_appointment", {"date": day, "time": "12:00"})
    assert error.kind == "conflict" and error.data == {"free": ["09:00", "13:00", "14:00"]}
    named = {"date": day, "time": "09:00", "appointment_id": "a-1002"}
    assert fails(backend, "move_appointment", named).kind == "not_yours"
    missing = {"date": day, "time": "09:00", "appointment_id": "A-9999"}
    assert fails(backend, "move_appointment", missing).kind == "not_found"
    error = fails(backend, "move_appointment", {"date": day, "time": "09:00"}, BEN)
    assert error.kind == "not_found" and "no upcoming appointment" in error.detail
    assert count(backend, AppointmentMove) == 0


def test_a_moved_appointment_can_be_named(backend: DemoBackend, clock: Clock) -> None:
    day = booking_day(clock)
    later = (day + timedelta(days=1 if day.weekday() != 5 else 2)).isoformat()
    params = {"date": later, "time": "10:00", "appointment_id": "A-1004"}
    result = call(backend, "move_appointment", params, CARLA)
    assert (result["appointment_id"], result["previous_time"]) == ("A-1004", "15:00")


# --- billing, usage, SIMs, warranty -------------------------------------------------------


def test_explain_a_duplicate_looking_charge(backend: DemoBackend, clock: Clock) -> None:
    result = call(backend, "explain_charge", {"amount": "£12", "date": _ago(clock, 3)}, BEN)
    assert [(c["charge_id"], c["amount"], c["description"]) for c in result["charges"]] == [
        ("CH-52312", "12.00", "7-day roaming pass (Europe)"),
        ("CH-52311", "12.00", "Basic 10GB monthly plan"),
    ]
    assert {c["invoice_number"] for c in result["charges"]} == {"INV-42901"}
    assert {c["date"] for c in result["charges"]} == {_ago(clock, 4)}
    by_amount = call(backend, "explain_charge", {"amount": "12.00"}, BEN)["charges"]
    assert len(by_amount) == 4  # every month's plan and the pass, newest first
    assert [c["date"] for c in by_amount] == sorted((c["date"] for c in by_amount), reverse=True)


def test_explain_charges_by_date_or_the_latest(backend: DemoBackend, clock: Clock) -> None:
    by_date = call(backend, "explain_charge", {"date": _ago(clock, 38)})["charges"]
    assert {c["charge_id"] for c in by_date} == {"CH-51201", "CH-51202"}
    latest = call(backend, "explain_charge", {})["charges"]
    assert [c["charge_id"] for c in latest] == ["CH-52301", "CH-51202", "CH-51201"]
    assert fails(backend, "explain_charge", {"date": _ago(clock, 20)}).kind == "not_found"
    assert fails(backend, "explain_charge", {"amount": "99.99"}).kind == "not_found"
    error = fails(backend, "explain_charge", {"amount": "twelve"})
    assert error.kind == "invalid" and "amount" in error.detail
    # Ben's charges are never Ana's answer.
    assert fails(backend, "explain_charge", {"amount": "4.50"}).kind == "not_found"


def _ago(clock: Clock, days: int) -> str:
    return (today(clock) - timedelta(days=days)).isoformat()


def test_usage_with_and_without_an_allowance(backend: DemoBackend, clock: Clock) -> None:
    ana = call(backend, "usage", {})
    assert ana["plan"] == "Unlimited Plus" and ana["data_allowance_gb"] is None
    assert ana["data_used_gb"] == pytest.approx(48.3)
    ben = call(backend, "usage", {}, BEN)
    assert (ben["plan"], ben["data_allowance_gb"], ben["data_used_gb"]) == ("Basic 10GB", 10.0, 8.6)
    assert (ben["minutes_used"], ben["texts_used"]) == (95, 140)
    assert ben["period_start"] <= today(clock).isoformat() <= ben["period_end"]
    dan = CustomerRef(phone="+44 7700 900654", verified=True)
    assert fails(backend, "usage", {}, dan).kind == "not_found"


def test_activate_a_sim_once(backend: DemoBackend, clock: Clock) -> None:
    params = {"iccid": "8944 1000 0345 6789 0123"}
    first = call(backend, "activate_sim", params, BEN, key="sim-1")
    assert first == {
        "iccid": "89441000034567890123",
        "phone_number": "+44 7700 900789",
        "activated_at": clock.now.isoformat(),
    }
    clock.now += timedelta(minutes=5)
    assert call(backend, "activate_sim", params, BEN, key="sim-1") == first
    error = fails(backend, "activate_sim", params, BEN, key="sim-2")
    assert error.kind == "conflict" and "already active" in error.detail
    assert count(backend, Sim, Sim.status == "active") == 3


def test_sim_errors(backend: DemoBackend) -> None:
    error = fails(backend, "activate_sim", {"iccid": "89441000012345678901"})
    assert error.kind == "conflict"  # Ana's own SIM, active for a year
    error = fails(backend, "activate_sim", {"iccid": "89441000045678901234"}, BEN)
    assert error.kind == "not_yours" and error.data == {}
    assert fails(backend, "activate_sim", {"iccid": "89441000099999999999"}).kind == "not_found"
    assert count(backend, Sim, Sim.status == "active") == 2


def test_check_warranty_needs_no_verification(backend: DemoBackend, clock: Clock) -> None:
    anyone = CustomerRef()
    valid = call(backend, "check_warranty", {"serial_number": "sn4k 2q9x7"}, anyone)
    assert valid["serial_number"] == "SN4K2Q9X7"
    assert (valid["model"], valid["under_warranty"], valid["recalls"]) == (
        "Brightwave Aria 5 Pro",
        True,
        [],
    )
    assert valid["purchased_on"] == _ago(clock, 200)
    recalled = call(backend, "check_warranty", {"serial_number": "AR524K7Q2M"}, anyone)
    assert recalled["under_warranty"] is True
    assert [r["recall_id"] for r in recalled["recalls"]] == ["RC-2024-ARIA5"]
    expired = call(backend, "check_warranty", {"serial_number": "SNP3X8M2K4"}, anyone)
    assert expired["under_warranty"] is False
    assert expired["warranty_until"] < today(clock).isoformat()
    error = fails(backend, "check_warranty", {"serial_number": "SNXXXXXXXX"}, anyone)
    assert error.kind == "not_found"


def test_warranty_ends_after_its_months(backend: DemoBackend, clock: Clock) -> None:
    result = call(backend, "check_warranty", {"serial_number": "SNW2T6R1Z9"})
    until = date.fromisoformat(result["warranty_until"])
    purchased = date.fromisoformat(result["purchased_on"])
    assert (until.year - purchased.year) * 12 + until.month - purchased.month == 12
    clock.now = datetime.combine(until + timedelta(days=1), clock.now.timetz())
    assert (
        call(backend, "check_warranty", {"serial_number": "SNW2T6R1Z9"})["under_warranty"] is False
    )


# --- the database -------------------------------------------------------------------------


def test_an_in_memory_database_is_shared_by_threads(clock: Clock, outbox: OutboxMailer) -> None:
    backend = create_demo_backend("sqlite://", outbox, clock=clock)
    results: list[dict[str, Any]] = []
    worker = threading.Thread(
        target=lambda: results.append(call(backend, "track_order", {"order_number": "48213"}))
    )
    worker.start()
    worker.join()
    assert results and results[0]["order_number"] == "48213"


def test_a_failing_database_is_unavailable(
    tmp_path: Path, clock: Clock, outbox: OutboxMailer
) -> None:
    backend = DemoBackend(f"sqlite:///{tmp_path / 'never-created.db'}", mailer=outbox, clock=clock)
    error = fails(backend, "track_order", {"order_number": "48213"})  # no tables
    assert error.kind == "unavailable"


def test_the_reset_url_must_carry_the_token(outbox: OutboxMailer) -> None:
    with pytest.raises(ValueError, match="token"):
        DemoBackend("sqlite://", mailer=outbox, reset_url="http://example.com/reset")
