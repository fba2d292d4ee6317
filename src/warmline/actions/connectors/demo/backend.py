"""`DemoBackend`: the built-in connector, a small shop, telecom and store-appointment system on
its own database, so routine actions work out of the box and tests run against real rules.

It behaves as a careful business system would: account data only for a verified customer and
only their own (another customer's order is `not_yours`, never its data); every write keyed by
the caller's idempotency key, so a retried call never books or returns anything twice; values
normalised leniently ("#12345", serials in any case, ICCIDs with spaces) and refused with a
detail naming the parameter when they cannot be read. The operations and seeded values are
documented in docs/demo-backend.md.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from warmline.actions.connectors.base import ConnectorError, CustomerRef
from warmline.actions.connectors.demo.models import (
    Appointment,
    AppointmentCancel,
    AppointmentMove,
    Charge,
    Customer,
    DemoBase,
    Device,
    Order,
    OrderItem,
    PasswordReset,
    Plan,
    Recall,
    Return,
    Sim,
    TrackingEvent,
    Usage,
)
from warmline.actions.connectors.demo.seed import phone_key, seed_demo_data
from warmline.actions.mail import Mailer, MailError
from warmline.storage.timestamps import as_utc

RETURN_WINDOW_DAYS = 30
RETURN_REASONS = ("damaged", "wrong_item", "doesnt_fit", "changed_mind", "other")
DROP_OFF_DAYS = 14
BOOKING_HORIZON_DAYS = 60
# Monday to Saturday, 09:00-17:00: hourly slots, the last one starting at 16:00.
SLOTS = tuple(f"{hour:02d}:00" for hour in range(9, 17))
ALTERNATIVES = 3
CHARGE_DATE_TOLERANCE_DAYS = 3
RECENT_CHARGES = 3
RESET_TOKEN_TTL = timedelta(hours=1)
DEFAULT_RESET_URL = "http://127.0.0.1:8000/reset?token={token}"
LABEL_URL = "https://returns.brightwave.example/label/{return_id}"
DEFAULT_TOPIC = "general"


@dataclass(frozen=True)
class OperationSpec:
    """The parameters an operation takes, whether it shows account data (then the customer
    must be verified) and whether it changes something (then it needs an idempotency key)."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    verified: bool = True
    writes: bool = False


OPERATIONS: Mapping[str, OperationSpec] = MappingProxyType(
    {
        "find_customer": OperationSpec(optional=("email", "phone"), verified=False),
        "track_order": OperationSpec(required=("order_number",)),
        "start_return": OperationSpec(required=("order_number", "reason"), writes=True),
        "reset_password": OperationSpec(required=("email",), verified=False, writes=True),
        "free_slots": OperationSpec(required=("date",), optional=("topic",), verified=False),
        "book_appointment": OperationSpec(
            required=("date", "time"), optional=("topic",), writes=True
        ),
        "move_appointment": OperationSpec(
            required=("date", "time"), optional=("appointment_id",), writes=True
        ),
        "cancel_appointment": OperationSpec(optional=("appointment_id",), writes=True),
        "explain_charge": OperationSpec(optional=("amount", "date")),
        "usage": OperationSpec(),
        "activate_sim": OperationSpec(required=("iccid",), writes=True),
        "check_warranty": OperationSpec(required=("serial_number",), verified=False),
    }
)


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def make_demo_engine(url: str) -> sa.Engine:
    """An engine for the demo database. SQLite connections may cross threads (the backend
    serialises its calls on SQLite); an in-memory database is one shared connection, or each
    thread would see its own empty database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    engine = sa.create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if in_memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


def token_hash(token: str) -> str:
    """How a password reset token is stored: its SHA-256, so the table alone resets nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def _invalid(detail: str) -> ConnectorError:
    return ConnectorError("invalid", detail)


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _gigabytes(value: Decimal | None) -> float | None:
    return None if value is None else float(Decimal(value).quantize(Decimal("0.01")))


# --- reading parameters leniently ---------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^(\d{1,2})[:.h](\d{2})$")
_CURRENCIES = {"£": "GBP", "€": "EUR", "$": "USD", "GBP": "GBP", "EUR": "EUR", "USD": "USD"}


def _params(operation: str, spec: OperationSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """The operation's parameters as stripped strings; an absent, None or blank optional one is
    left out. Unknown names are refused: a typo must not silently drop a value."""
    known = set(spec.required) | set(spec.optional)
    for name in params:
        if name not in known:
            raise _invalid(f"unknown parameter for {operation}: {name}")
    values: dict[str, str] = {}
    for name in (*spec.required, *spec.optional):
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _invalid(f"{name} must be a string")
        text = str(value).strip()
        if text:
            values[name] = text
    for name in spec.required:
        if name not in values:
            raise _invalid(f"missing parameter: {name}")
    return values


def normalise_order_number(value: str) -> str:
    """ "#12345", "order 12345", "12 345" -> "12345"; 5 to 8 digits."""
    text = re.sub(r"^(order\s*(no\.?|number)?\s*)", "", value.strip(), flags=re.IGNORECASE)
    text = re.sub(r"[\s#-]", "", text)
    if not re.fullmatch(r"\d{5,8}", text):
        raise _invalid("order_number must be 5 to 8 digits")
    return text


def normalise_iccid(value: str) -> str:
    """Spaces and dashes removed; 19 or 20 digits starting 89."""
    text = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"89\d{17,18}", text):
        raise _invalid("iccid must be 19 or 20 digits starting with 89")
    return text


def normalise_serial(value: str) -> str:
    """Upper case, spaces and dashes removed; 8 to 14 letters and digits."""
    text = re.sub(r"[\s-]", "", value).upper()
    if not re.fullmatch(r"[A-Z0-9]{8,14}", text):
        raise _invalid("serial_number must be 8 to 14 letters and digits")
    return text


def normalise_email(value: str) -> str:
    text = value.strip().lower()
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise _invalid("email is not a well-formed email address")
    return text


def _phone(value: str) -> str:
    if not re.fullmatch(r"\+?[\d\s().-]+", value):
        raise _invalid("phone must be a phone number")
    key = phone_key(value)
    if not 7 <= len(key.lstrip("+")) <= 15:
        raise _invalid("phone must have 7 to 15 digits")
    return key


def _date(value: str, name: str = "date") -> date:
    if not _DATE.fullmatch(value):
        raise _invalid(f"{name} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _invalid(f"{name} is not a real date") from exc


def _time(value: str) -> str:
    match = _TIME.fullmatch(value.lower())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise _invalid("time must be a time as HH:MM")
    return f"{int(match[1]):02d}:{match[2]}"


def _amount(value: str) -> tuple[Decimal, str | None]:
    """ "£12.00", "12,00 EUR", "12" -> (Decimal, currency or None)."""
    text = value.strip().upper().replace(" ", "")
    currency = None
    for mark, code in _CURRENCIES.items():
        if text.startswith(mark) or text.endswith(mark):
            currency = code
            text = text.removeprefix(mark).removesuffix(mark)
            break
    if "," in text and "." in text:
        text = text.replace(",", "")
    elif re.fullmatch(r"\d+,\d{1,2}", text):
        text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise _invalid("amount must be a number such as 12.50") from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise _invalid("amount must be a positive sum with at most two decimals")
    return amount, currency


def _reason(value: str) -> str:
    text = re.sub(r"[\s-]+", "_", value.strip().lower()).replace("'", "").replace("’", "")
    if text not in RETURN_REASONS:
        raise _invalid(f"reason must be one of {', '.join(RETURN_REASONS)}")
    return text


def _topic(value: str | None) -> str:
    if value is None:
        return DEFAULT_TOPIC
    if len(value) > 80:
        raise _invalid("topic must be at most 80 characters")
    return value


# --- the backend --------------------------------------------------------------------------


class DemoBackend:
    """The demo connector (`name = "demo"`). Thread-safe: each call runs in its own short
    session; on SQLite calls are serialised (one writer at a time anyway), elsewhere the
    database's constraints settle races and the losing call runs once more."""

    name = "demo"

    def __init__(
        self,
        engine_or_url: sa.Engine | str,
        *,
        mailer: Mailer,
        clock: Callable[[], datetime] = utc_now,
        reset_url: str = DEFAULT_RESET_URL,
    ) -> None:
        if "{token}" not in reset_url:
            raise ValueError("reset_url must contain {token}")
        self.engine = (
            make_demo_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
        )
        self.mailer = mailer
        self.clock = clock
        self.reset_url = reset_url
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._serial = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        self._handlers: dict[str, Callable[[dict[str, str], CustomerRef, str], dict[str, Any]]] = {
            "find_customer": self._find_customer,
            "track_order": self._track_order,
            "start_return": self._start_return,
            "reset_password": self._reset_password,
            "free_slots": self._free_slots,
            "book_appointment": self._book_appointment,
            "move_appointment": self._move_appointment,
            "cancel_appointment": self._cancel_appointment,
            "explain_charge": self._explain_charge,
            "usage": self._usage,
            "activate_sim": self._activate_sim,
            "check_warranty": self._check_warranty,
        }
        assert set(self._handlers) == set(OPERATIONS)

    def operations(self) -> frozenset[str]:
        return frozenset(OPERATIONS)

    def call(
        self,
        operation: str,
        params: Mapping[str, Any],
        customer: CustomerRef,
        *,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Run one operation; raises `ConnectorError` (docs/demo-backend.md lists which)."""
        spec = OPERATIONS.get(operation)
        if spec is None:
            raise _invalid(f"unknown operation: {operation}")
        values = _params(operation, spec, params)
        if spec.writes and (not isinstance(idempotency_key, str) or not idempotency_key.strip()):
            raise _invalid("missing idempotency_key")
        if len(idempotency_key) > 200:
            raise _invalid("idempotency_key must be at most 200 characters")
        if spec.verified and not customer.verified:
            raise ConnectorError("forbidden", "the customer is not verified")
        handler = self._handlers[operation]
        try:
            try:
                return handler(values, customer, idempotency_key)
            except IntegrityError:
                # Another process won a race (same key, same slot, same order); run again on
                # what it committed: the same answer for the same key, or a conflict.
                return handler(values, customer, idempotency_key)
        except IntegrityError as exc:
            raise ConnectorError("conflict", "changed by another request meanwhile") from exc
        except SQLAlchemyError as exc:
            raise ConnectorError("unavailable", "the demo database failed") from exc

    def setup(self) -> None:
        """Create the tables and seed the demo data when the database has no customers yet
        (so running it again, or from two processes at once, seeds once)."""
        DemoBase.metadata.create_all(self.engine)
        try:
            with self._session() as session:
                if session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0:
                    seed_demo_data(session, now=self._now())
        except IntegrityError:
            pass  # another process seeded it meanwhile

    def reset_token_owner(self, token: str) -> str | None:
        """The customer id a reset link's token was issued to, while it is unexpired (what a
        demo reset page would check)."""
        with self._session() as session:
            row = session.scalars(
                sa.select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
            ).first()
            if row is None or as_utc(row.expires_at) <= self._now():
                return None
            return row.customer_id

    # --- plumbing ---

    def _now(self) -> datetime:
        now = self.clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """One short transaction, committed when the block ends without an exception."""
        guard: AbstractContextManager[Any] = self._serial or nullcontext()
        with guard, self._sessions.begin() as session:
            yield session

    def _customer(self, session: Session, ref: CustomerRef) -> Customer:
        """The backend's record of the customer the call runs for: by id, else email, else
        phone."""
        found: Customer | None = None
        if ref.id:
            found = session.get(Customer, ref.id)
        if found is None and ref.email:
            email = ref.email.strip().lower()
            found = session.scalars(sa.select(Customer).where(Customer.email == email)).first()
        if found is None and ref.phone:
            key = phone_key(ref.phone)
            found = session.scalars(sa.select(Customer).where(Customer.phone_key == key)).first()
        if found is None:
            raise ConnectorError("not_found", "no account on file for this customer")
        return found

    def _order(self, session: Session, number: str, customer: Customer) -> Order:
        order = session.get(Order, number)
        if order is None:
            raise ConnectorError("not_found", "no order with that number")
        if order.customer_id != customer.id:
            raise ConnectorError("not_yours", "the order belongs to another customer")
        return order

    # --- operations ---

    def _find_customer(self, p: dict[str, str], _ref: CustomerRef, _key: str) -> dict[str, Any]:
        if "email" not in p and "phone" not in p:
            raise _invalid("missing parameter: email or phone")
        query = sa.select(Customer)
        if "email" in p:
            query = query.where(Customer.email == normalise_email(p["email"]))
        if "phone" in p:
            query = query.where(Customer.phone_key == _phone(p["phone"]))
        with self._session() as session:
            found = session.scalars(query).first()
            if found is None:
                raise ConnectorError("not_found", "no customer with those details")
            return {"customer_id": found.id, "email": found.email, "phone": found.phone}

    def _track_order(self, p: dict[str, str], ref: CustomerRef, _key: str) -> dict[str, Any]:
        number = normalise_order_number(p["order_number"])
        with self._session() as session:
            order = self._order(session, number, self._customer(session, ref))
            events = session.scalars(
                sa.select(TrackingEvent)
                .where(TrackingEvent.order_number == number)
                .order_by(TrackingEvent.at, TrackingEvent.id)
            ).all()
            items = self._items(session, number)
            returned = session.scalars(
                sa.select(Return).where(Return.order_number == number)
            ).first()
            return {
                "order_number": order.number,
                "status": order.status,
                "placed_on": order.placed_on.isoformat(),
                "carrier": order.carrier,
                "tracking_number": order.tracking_number,
                "estimated_delivery": _iso(order.estimated_delivery),
                "delivered_on": _iso(order.delivered_on),
                "events": [
                    {"at": as_utc(e.at).isoformat(), "status": e.status, "place": e.place}
                    for e in events
                ],
                "items": [
                    {"name": i.name, "quantity": i.quantity, "price": _money(i.price)}
                    for i in items
                ],
                "currency": order.currency,
                "return": None
                if returned is None
                else {"return_id": returned.id, "status": returned.status},
            }

    @staticmethod
    def _items(session: Session, number: str) -> list[OrderItem]:
        return list(
            session.scalars(
                sa.select(OrderItem).where(OrderItem.order_number == number).order_by(OrderItem.id)
            )
        )

    def _start_return(self, p: dict[str, str], ref: CustomerRef, key: str) -> dict[str, Any]:
        number = normalise_order_number(p["order_number"])
        reason = _reason(p["reason"])
        today = self._now().date()
        with self._session() as session:
            customer = self._customer(session, ref)
            earlier = session.scalars(
                sa.select(Return).where(Return.idempotency_key == key)
            ).first()
            if earlier is not None:
                if earlier.order_number != number:
                    raise ConnectorError(
                        "conflict", "the idempotency key was used for another return"
                    )
                self._order(session, number, customer)
                return _return_result(earlier)
            order = self._order(session, number, customer)
            existing = session.scalars(
                sa.select(Return).where(Return.order_number == number)
            ).first()
            if existing is not None:
                raise ConnectorError(
                    "conflict",
                    "the order was already returned"
                    if existing.status == "refunded"
                    else "a return is already open for this order",
                    {"return_id": existing.id},
                )
            if order.status != "delivered" or order.delivered_on is None:
                raise _invalid("the order has not been delivered yet")
            if (today - order.delivered_on).days > RETURN_WINDOW_DAYS:
                raise _invalid(
                    f"the order was delivered more than {RETURN_WINDOW_DAYS} days ago "
                    f"(on {order.delivered_on.isoformat()}), outside the return window"
                )
            refund = sum((i.price * i.quantity for i in self._items(session, number)), Decimal("0"))
            created = Return(
                id=f"R-{secrets.token_hex(4).upper()}",
                order_number=number,
                reason=reason,
                status="open",
                refund_amount=refund,
                currency=order.currency,
                drop_off_by=today + timedelta(days=DROP_OFF_DAYS),
                idempotency_key=key,
                created_at=self._now(),
            )
            session.add(created)
            session.flush()
            return _return_result(created)

    def _reset_password(self, p: dict[str, str], _ref: CustomerRef, key: str) -> dict[str, Any]:
        email = normalise_email(p["email"])
        now = self._now()
        token = secrets.token_urlsafe(32)
        with self._session() as session:
            if session.scalars(
                sa.select(PasswordReset.id).where(PasswordReset.idempotency_key == key)
            ).first():
                return {"sent": True}  # this request's email already went out
            customer = session.scalars(sa.select(Customer).where(Customer.email == email)).first()
            if customer is None:
                return {"sent": True}  # the same answer: no account enumeration
            reset = PasswordReset(
                customer_id=customer.id,
                token_hash=token_hash(token),
                expires_at=now + RESET_TOKEN_TTL,
                created_at=now,
                idempotency_key=key,
            )
            session.add(reset)
            session.flush()
            reset_id, name = reset.id, customer.name.split()[0]
        # Sent after the commit, outside the lock: a slow mail server holds nobody up.
        link = self.reset_url.replace("{token}", token)  # not format(): other braces stay
        try:
            self.mailer.send(
                email,
                "Reset your Brightwave password",
                f"Hello {name},\n\n"
                "We received a request to reset the password of your Brightwave account. "
                "Open this link within 1 hour to choose a new password:\n\n"
                f"{link}\n\n"
                "If you did not ask for this, ignore this email: your password stays the same.\n",
            )
        except MailError as exc:
            with self._session() as session:  # so a retry with the same key sends again
                session.execute(sa.delete(PasswordReset).where(PasswordReset.id == reset_id))
            raise ConnectorError("unavailable", "the email could not be sent") from exc
        return {"sent": True}

    def _bookable_day(self, day: date, *, sunday_ok: bool) -> None:
        today = self._now().date()
        if day < today:
            raise _invalid("date is in the past")
        if day > today + timedelta(days=BOOKING_HORIZON_DAYS):
            raise _invalid(f"date is more than {BOOKING_HORIZON_DAYS} days ahead")
        if day.weekday() == 6 and not sunday_ok:
            raise _invalid("the store is closed on Sundays")

    def _bookable_time(self, day: date, at: str) -> None:
        if at not in SLOTS:
            raise _invalid(
                f"time must be on the hour from {SLOTS[0]} to {SLOTS[-1]} (open 09:00-17:00)"
            )
        if datetime.combine(day, time.fromisoformat(at), tzinfo=UTC) <= self._now():
            raise _invalid("time is in the past")

    def _free(self, session: Session, day: date) -> list[str]:
        """Free slots of `day` that have not started yet."""
        if day.weekday() == 6:
            return []
        booked = set(
            session.scalars(
                sa.select(Appointment.time).where(
                    Appointment.date == day, Appointment.status == "booked"
                )
            )
        )
        now = self._now()
        return [
            slot
            for slot in SLOTS
            if slot not in booked
            and datetime.combine(day, time.fromisoformat(slot), tzinfo=UTC) > now
        ]

    def _taken(self, session: Session, day: date, at: str) -> ConnectorError:
        """The conflict for a taken slot, with the nearest free times that day."""
        wanted = _minutes(at)
        free = self._free(session, day)
        nearest = sorted(free, key=lambda slot: (abs(_minutes(slot) - wanted), slot))
        return ConnectorError(
            "conflict", "that time is already booked", {"free": sorted(nearest[:ALTERNATIVES])}
        )

    def _slot_taken(self, session: Session, day: date, at: str) -> bool:
        return (
            session.scalars(
                sa.select(Appointment.id).where(
                    Appointment.date == day, Appointment.time == at, Appointment.status == "booked"
                )
            ).first()
            is not None
        )

    def _free_slots(self, p: dict[str, str], _ref: CustomerRef, _key: str) -> dict[str, Any]:
        day = _date(p["date"])
        _topic(p.get("topic"))
        self._bookable_day(day, sunday_ok=True)
        with self._session() as session:
            return {"date": day.isoformat(), "times": self._free(session, day)}

    def _book_appointment(self, p: dict[str, str], ref: CustomerRef, key: str) -> dict[str, Any]:
        day, at, topic = _date(p["date"]), _time(p["time"]), _topic(p.get("topic"))
        with self._session() as session:
            customer = self._customer(session, ref)
            earlier = session.scalars(
                sa.select(Appointment).where(Appointment.idempotency_key == key)
            ).first()
            if earlier is not None:
                if earlier.customer_id != customer.id:
                    raise ConnectorError("conflict", "the idempotency key was already used")
                return _appointment_result(earlier)
            self._bookable_day(day, sunday_ok=False)
            self._bookable_time(day, at)
            if self._slot_taken(session, day, at):
                raise self._taken(session, day, at)
            booked = Appointment(
                id=f"A-{secrets.token_hex(4).upper()}",
                customer_id=customer.id,
                date=day,
                time=at,
                topic=topic,
                status="booked",
                idempotency_key=key,
                created_at=self._now(),
            )
            session.add(booked)
            session.flush()
            return _appointment_result(booked)

    def _move_appointment(self, p: dict[str, str], ref: CustomerRef, key: str) -> dict[str, Any]:
        day, at = _date(p["date"]), _time(p["time"])
        now = self._now()
        with self._session() as session:
            customer = self._customer(session, ref)
            earlier = session.scalars(
                sa.select(AppointmentMove).where(AppointmentMove.idempotency_key == key)
            ).first()
            if earlier is not None:
                moved = session.get(Appointment, earlier.appointment_id)
                if moved is None or moved.customer_id != customer.id:
                    raise ConnectorError("conflict", "the idempotency key was already used")
                return _move_result(earlier)
            appointment = self._appointment_to_move(session, customer, p.get("appointment_id"))
            self._bookable_day(day, sunday_ok=False)
            self._bookable_time(day, at)
            if appointment.date == day and appointment.time == at:
                raise ConnectorError("conflict", "the appointment is already at that time")
            if self._slot_taken(session, day, at):
                raise self._taken(session, day, at)
            move = AppointmentMove(
                appointment_id=appointment.id,
                idempotency_key=key,
                previous_date=appointment.date,
                previous_time=appointment.time,
                date=day,
                time=at,
                moved_at=now,
            )
            appointment.date, appointment.time = day, at
            session.add(move)
            session.flush()
            return _move_result(move)

    def _cancel_appointment(self, p: dict[str, str], ref: CustomerRef, key: str) -> dict[str, Any]:
        with self._session() as session:
            customer = self._customer(session, ref)
            earlier = session.scalars(
                sa.select(AppointmentCancel).where(AppointmentCancel.idempotency_key == key)
            ).first()
            if earlier is not None:
                cancelled = session.get(Appointment, earlier.appointment_id)
                if cancelled is None or cancelled.customer_id != customer.id:
                    raise ConnectorError("conflict", "the idempotency key was already used")
                return _cancel_result(cancelled)
            appointment = self._appointment_to_move(session, customer, p.get("appointment_id"))
            appointment.status = "cancelled"  # frees the slot
            session.add(
                AppointmentCancel(
                    appointment_id=appointment.id, idempotency_key=key, cancelled_at=self._now()
                )
            )
            session.flush()
            return _cancel_result(appointment)

    def _appointment_to_move(
        self, session: Session, customer: Customer, appointment_id: str | None
    ) -> Appointment:
        now = self._now()
        if appointment_id is not None:
            found = session.get(Appointment, appointment_id.strip().upper())
            if found is None or found.status != "booked":
                raise ConnectorError("not_found", "no booked appointment with that id")
            if found.customer_id != customer.id:
                raise ConnectorError("not_yours", "the appointment belongs to another customer")
            if _starts(found) <= now:
                raise _invalid("the appointment has already started or passed")
            return found
        upcoming = [
            a
            for a in session.scalars(
                sa.select(Appointment)
                .where(
                    Appointment.customer_id == customer.id,
                    Appointment.status == "booked",
                    Appointment.date >= now.date(),
                )
                .order_by(Appointment.date, Appointment.time)
            )
            if _starts(a) > now
        ]
        if not upcoming:
            raise ConnectorError("not_found", "the customer has no upcoming appointment")
        return upcoming[0]

    def _explain_charge(self, p: dict[str, str], ref: CustomerRef, _key: str) -> dict[str, Any]:
        amount = _amount(p["amount"]) if "amount" in p else None
        day = _date(p["date"]) if "date" in p else None
        with self._session() as session:
            customer = self._customer(session, ref)
            charges = list(
                session.scalars(
                    sa.select(Charge)
                    .where(Charge.customer_id == customer.id)
                    .order_by(Charge.charged_on.desc(), Charge.id.desc())
                )
            )
        if amount is None and day is None:
            matching = charges[:RECENT_CHARGES]
        else:
            # Compared in Python: exact Decimals whatever the database does with NUMERIC.
            matching = [
                c
                for c in charges
                if (
                    amount is None
                    or (
                        Decimal(c.amount) == amount[0]
                        and (amount[1] is None or c.currency == amount[1])
                    )
                )
                and (day is None or abs((c.charged_on - day).days) <= CHARGE_DATE_TOLERANCE_DAYS)
            ]
        if not matching:
            raise ConnectorError("not_found", "no charge matches that amount or date")
        return {
            "charges": [
                {
                    "charge_id": c.id,
                    "date": c.charged_on.isoformat(),
                    "amount": _money(c.amount),
                    "currency": c.currency,
                    "description": c.description,
                    "invoice_number": c.invoice_number,
                }
                for c in matching
            ]
        }

    def _usage(self, _p: dict[str, str], ref: CustomerRef, _key: str) -> dict[str, Any]:
        today = self._now().date()
        with self._session() as session:
            customer = self._customer(session, ref)
            plan = session.get(Plan, customer.id)
            periods = list(
                session.scalars(
                    sa.select(Usage)
                    .where(Usage.customer_id == customer.id)
                    .order_by(Usage.period_start.desc())
                )
            )
        if plan is None or not periods:
            raise ConnectorError("not_found", "the customer has no plan")
        current = next((u for u in periods if u.period_start <= today <= u.period_end), periods[0])
        return {
            "plan": plan.name,
            "period_start": current.period_start.isoformat(),
            "period_end": current.period_end.isoformat(),
            "data_used_gb": _gigabytes(current.used_gb),
            "data_allowance_gb": _gigabytes(plan.allowance_gb),
            "minutes_used": current.minutes,
            "texts_used": current.texts,
        }

    def _activate_sim(self, p: dict[str, str], ref: CustomerRef, key: str) -> dict[str, Any]:
        iccid = normalise_iccid(p["iccid"])
        now = self._now()
        with self._session() as session:
            customer = self._customer(session, ref)
            sim = session.get(Sim, iccid)
            if sim is None:
                raise ConnectorError("not_found", "no SIM with that ICCID")
            if sim.customer_id != customer.id:
                raise ConnectorError("not_yours", "the SIM belongs to another customer")
            if sim.status != "active":
                # Conditional, so two racing activations cannot both win.
                done = session.execute(
                    sa.update(Sim)
                    .where(Sim.iccid == iccid, Sim.status != "active")
                    .values(status="active", activated_at=now, idempotency_key=key)
                    .execution_options(synchronize_session=False)
                )
                if getattr(done, "rowcount", 0) == 1:
                    return _sim_result(iccid, sim.phone_number, now)
                session.refresh(sim)
            if sim.idempotency_key == key and sim.activated_at is not None:
                return _sim_result(iccid, sim.phone_number, as_utc(sim.activated_at))
            raise ConnectorError("conflict", "the SIM is already active")

    def _check_warranty(self, p: dict[str, str], _ref: CustomerRef, _key: str) -> dict[str, Any]:
        serial = normalise_serial(p["serial_number"])
        today = self._now().date()
        with self._session() as session:
            device = session.get(Device, serial)
            if device is None:
                raise ConnectorError("not_found", "no device with that serial number")
            recalls = session.scalars(
                sa.select(Recall).where(Recall.model == device.model).order_by(Recall.id)
            ).all()
            until = add_months(device.purchased_on, device.warranty_months)
            return {
                "serial_number": device.serial_number,
                "model": device.model,
                "purchased_on": device.purchased_on.isoformat(),
                "warranty_until": until.isoformat(),
                "under_warranty": today <= until,
                "recalls": [
                    {"recall_id": r.id, "title": r.title, "remedy": r.remedy} for r in recalls
                ],
            }


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, on the month's last day when it is shorter (31 Jan + 1 month
    -> 28 or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _minutes(at: str) -> int:
    hours, minutes = at.split(":")
    return int(hours) * 60 + int(minutes)


def _starts(appointment: Appointment) -> datetime:
    return datetime.combine(appointment.date, time.fromisoformat(appointment.time), tzinfo=UTC)


def _return_result(returned: Return) -> dict[str, Any]:
    return {
        "return_id": returned.id,
        "order_number": returned.order_number,
        "refund_amount": _money(returned.refund_amount),
        "currency": returned.currency,
        "label_url": LABEL_URL.format(return_id=returned.id),
        "drop_off_by": returned.drop_off_by.isoformat(),
    }


def _appointment_result(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment_id": appointment.id,
        "date": appointment.date.isoformat(),
        "time": appointment.time,
        "topic": appointment.topic,
    }


def _move_result(move: AppointmentMove) -> dict[str, Any]:
    return {
        "appointment_id": move.appointment_id,
        "date": move.date.isoformat(),
        "time": move.time,
        "previous_date": move.previous_date.isoformat(),
        "previous_time": move.previous_time,
    }


def _cancel_result(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment_id": appointment.id,
        "date": appointment.date.isoformat(),
        "time": appointment.time,
        "topic": appointment.topic,
    }


def _sim_result(iccid: str, phone_number: str, activated_at: datetime) -> dict[str, Any]:
    return {"iccid": iccid, "phone_number": phone_number, "activated_at": activated_at.isoformat()}


def create_demo_backend(
    url: str | sa.Engine,
    mailer: Mailer,
    clock: Callable[[], datetime] = utc_now,
    *,
    reset_url: str = DEFAULT_RESET_URL,
) -> DemoBackend:
    """A demo backend on `url`, its tables created and the demo data seeded if empty."""
    backend = DemoBackend(url, mailer=mailer, clock=clock, reset_url=reset_url)
    backend.setup()
    return backend
