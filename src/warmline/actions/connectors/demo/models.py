"""The demo backend's tables: a small shop, telecom and store-appointment system.

They have their own `MetaData` (every table prefixed `demo_`), apart from warmline's storage
models and migrations: the demo stands for the business's systems, so it lives in its own
database and `create_all` is enough. Constraints carry the rules that must hold under
concurrent calls (one return per order, one booking per slot, one use per idempotency key).
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MONEY = sa.Numeric(12, 2)
GIGABYTES = sa.Numeric(10, 2)


class DemoBase(DeclarativeBase):
    """Declarative base of the demo tables only."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Customer(DemoBase):
    __tablename__ = "demo_customers"

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # stored lowercased
    phone: Mapped[str] = mapped_column(sa.String(32))  # as written, "+34 600 111 222"
    phone_key: Mapped[str] = mapped_column(sa.String(32), index=True)  # "+34600111222"


class Order(DemoBase):
    __tablename__ = "demo_orders"

    number: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    placed_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(20))
    currency: Mapped[str] = mapped_column(sa.String(3))
    carrier: Mapped[str | None] = mapped_column(sa.String(40))
    tracking_number: Mapped[str | None] = mapped_column(sa.String(40))
    estimated_delivery: Mapped[date | None] = mapped_column(sa.Date)
    delivered_on: Mapped[date | None] = mapped_column(sa.Date)


class OrderItem(DemoBase):
    __tablename__ = "demo_order_items"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(sa.ForeignKey("demo_orders.number"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    price: Mapped[Decimal] = mapped_column(MONEY)  # per unit


class TrackingEvent(DemoBase):
    __tablename__ = "demo_tracking_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(sa.ForeignKey("demo_orders.number"), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[str] = mapped_column(sa.String(60))
    place: Mapped[str] = mapped_column(sa.String(80))


class Return(DemoBase):
    __tablename__ = "demo_returns"

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    # Unique: one return per order, even when two calls race.
    order_number: Mapped[str] = mapped_column(sa.ForeignKey("demo_orders.number"), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20))  # open (label issued) | refunded
    refund_amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    drop_off_by: Mapped[date] = mapped_column(sa.Date)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class Invoice(DemoBase):
    __tablename__ = "demo_invoices"

    number: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    issued_on: Mapped[date] = mapped_column(sa.Date)
    total: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))


class Charge(DemoBase):
    __tablename__ = "demo_charges"

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    charged_on: Mapped[date] = mapped_column(sa.Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    description: Mapped[str] = mapped_column(sa.String(200))
    invoice_number: Mapped[str | None] = mapped_column(sa.ForeignKey("demo_invoices.number"))


class Appointment(DemoBase):
    __tablename__ = "demo_appointments"
    # One booked appointment per slot (the demo has one store and one adviser); a cancelled
    # one frees its slot.
    __table_args__ = (
        sa.Index(
            "uq_demo_appointments_booked_slot",
            "date",
            "time",
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    date: Mapped[dt.date] = mapped_column(sa.Date)
    time: Mapped[str] = mapped_column(sa.String(5))  # "HH:MM"
    topic: Mapped[str] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(20))  # booked | cancelled
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class AppointmentMove(DemoBase):
    """Each move, kept so a retried move (same key) answers what the first one did."""

    __tablename__ = "demo_appointment_moves"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    appointment_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_appointments.id"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    previous_date: Mapped[dt.date] = mapped_column(sa.Date)
    previous_time: Mapped[str] = mapped_column(sa.String(5))
    date: Mapped[dt.date] = mapped_column(sa.Date)
    time: Mapped[str] = mapped_column(sa.String(5))
    moved_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class AppointmentCancel(DemoBase):
    """Each cancellation, kept so a retried cancel (same key) answers what the first one did."""

    __tablename__ = "demo_appointment_cancels"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    appointment_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_appointments.id"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    cancelled_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class Plan(DemoBase):
    __tablename__ = "demo_plans"

    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    allowance_gb: Mapped[Decimal | None] = mapped_column(GIGABYTES)  # None: unlimited
    monthly_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))


class Usage(DemoBase):
    __tablename__ = "demo_usage"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    used_gb: Mapped[Decimal] = mapped_column(GIGABYTES)
    minutes: Mapped[int] = mapped_column(sa.Integer)
    texts: Mapped[int] = mapped_column(sa.Integer)


class Sim(DemoBase):
    __tablename__ = "demo_sims"

    iccid: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    phone_number: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(20))  # inactive | active
    activated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)


class Device(DemoBase):
    __tablename__ = "demo_devices"

    serial_number: Mapped[str] = mapped_column(sa.String(14), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    model: Mapped[str] = mapped_column(sa.String(80), index=True)
    purchased_on: Mapped[date] = mapped_column(sa.Date)
    warranty_months: Mapped[int] = mapped_column(sa.Integer)


class Recall(DemoBase):
    __tablename__ = "demo_recalls"

    id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    model: Mapped[str] = mapped_column(sa.String(80), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    remedy: Mapped[str] = mapped_column(sa.String(400))


class PasswordReset(DemoBase):
    __tablename__ = "demo_password_resets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("demo_customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256 hex
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
