"""The demo backend's data, dated relative to the backend clock's today so a demo always has
an order delivered five days ago, one in transit and an appointment later this week.

docs/demo-backend.md lists every value; a test checks the two agree on the fixed ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from warmline.actions.connectors.demo.models import (
    Appointment,
    Charge,
    Customer,
    Device,
    Invoice,
    Order,
    OrderItem,
    Plan,
    Recall,
    Return,
    Sim,
    TrackingEvent,
    Usage,
)

CURRENCY = "GBP"
CARRIER = "Parcelway"
WAREHOUSE = "Brightwave warehouse, Milton Keynes"
HUB = "Parcelway hub, Birmingham"

ANA, BEN, CARLA, DAN = "C-1001", "C-1002", "C-1003", "C-1004"

# (id, name, email, phone): Ana and Ben are warmline's own demo customers (warmline/demo.py).
CUSTOMERS = (
    (ANA, "Ana García", "ana@example.com", "+34 600 111 222"),
    (BEN, "Ben Okafor", "ben@example.com", "+44 7700 900123"),
    (CARLA, "Carla Mendes", "carla@example.com", "+44 7700 900456"),
    (DAN, "Dan Brooks", "dan@example.com", "+44 7700 900654"),
)


def phone_key(phone: str) -> str:
    """A phone number reduced to `+` and digits ("0044 7700-900123" -> "+447700900123"), so
    numbers match however they were written."""
    digits = "".join(c for c in phone if c.isdigit())
    if phone.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return digits


def first_opening_day(today: date, *, after_days: int = 3) -> date:
    """The first Monday-to-Saturday at least `after_days` after today: the day of the seeded
    appointments."""
    day = today + timedelta(days=after_days)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day


def seed_demo_data(session: Session, *, now: datetime) -> None:
    """Add the demo rows to an empty demo database (the caller commits)."""
    today = now.date()

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=UTC)

    for customer_id, name, email, phone in CUSTOMERS:
        session.add(
            Customer(
                id=customer_id, name=name, email=email, phone=phone, phone_key=phone_key(phone)
            )
        )
    session.flush()

    def order(
        number: str,
        customer_id: str,
        *,
        placed: int,
        status: str,
        items: list[tuple[str, int, str]],
        tracking: str | None = None,
        estimated: date | None = None,
        delivered: int | None = None,
        events: list[tuple[datetime, str, str]] | None = None,
    ) -> None:
        session.add(
            Order(
                number=number,
                customer_id=customer_id,
                placed_on=ago(placed),
                status=status,
                currency=CURRENCY,
                carrier=CARRIER if tracking else None,
                tracking_number=tracking,
                estimated_delivery=estimated,
                delivered_on=ago(delivered) if delivered is not None else None,
            )
        )
        session.flush()
        for name, quantity, price in items:
            session.add(
                OrderItem(order_number=number, name=name, quantity=quantity, price=Decimal(price))
            )
        for when, event_status, place in events or []:
            session.add(
                TrackingEvent(order_number=number, at=when, status=event_status, place=place)
            )

    def delivered_events(placed: int, delivered: int) -> list[tuple[datetime, str, str]]:
        return [
            (at(ago(placed), 10, 5), "Order received", WAREHOUSE),
            (at(ago(placed - 1), 16, 40), "Dispatched", WAREHOUSE),
            (at(ago(delivered), 7, 15), "Out for delivery", HUB),
            (at(ago(delivered), 13, 2), "Delivered", "Left with the customer"),
        ]

    # Ana: delivered 5 days ago (returnable), in transit, delivered 60 days ago (outside the
    # 30-day window), already returned and refunded.
    order(
        "48213",
        ANA,
        placed=9,
        status="delivered",
        tracking="PW4821300017GB",
        estimated=ago(5),
        delivered=5,
        items=[("Aria 5 Pro silicone case", 1, "24.99"), ("30W USB-C charger", 1, "19.99")],
        events=delivered_events(9, 5),
    )
    order(
        "51877",
        ANA,
        placed=2,
        status="shipped",
        tracking="PW5187700245GB",
        estimated=today + timedelta(days=2),
        items=[("Brightwave Buds 2", 1, "79.00")],
        events=[
            (at(ago(2), 11, 30), "Order received", WAREHOUSE),
            (at(ago(1), 9, 12), "Dispatched", WAREHOUSE),
            (at(today, 6, 40), "Arrived at the sorting hub", HUB),
        ],
    )
    order(
        "39420",
        ANA,
        placed=64,
        status="delivered",
        tracking="PW3942000931GB",
        estimated=ago(60),
        delivered=60,
        items=[("Brightwave Tab S 11", 1, "329.00")],
        events=delivered_events(64, 60),
    )
    order(
        "35512",
        ANA,
        placed=50,
        status="returned",
        tracking="PW3551200408GB",
        estimated=ago(45),
        delivered=45,
        items=[("Leather folio case", 1, "34.99")],
        events=delivered_events(50, 45),
    )
    # Ben: out for delivery today, delivered 12 days ago (returnable), placed yesterday.
    order(
        "12345",
        BEN,
        placed=3,
        status="out_for_delivery",
        tracking="PW1234500562GB",
        estimated=today,
        items=[("Pulse 3 screen protector (2-pack)", 1, "14.99"), ("Car phone mount", 1, "17.50")],
        events=[
            (at(ago(3), 14, 20), "Order received", WAREHOUSE),
            (at(ago(2), 17, 5), "Dispatched", WAREHOUSE),
            (at(ago(1), 22, 48), "Arrived at the sorting hub", HUB),
            (at(today, 7, 3), "Out for delivery", "Parcelway depot, Leeds"),
        ],
    )
    order(
        "60231",
        BEN,
        placed=15,
        status="delivered",
        tracking="PW6023100874GB",
        estimated=ago(12),
        delivered=12,
        items=[("Brightwave Home Hub", 1, "59.00"), ("USB-C cable 2 m", 2, "9.99")],
        events=delivered_events(15, 12),
    )
    order(
        "27764",
        BEN,
        placed=1,
        status="placed",
        estimated=today + timedelta(days=4),
        items=[("Brightwave Aria 5 Pro", 1, "699.00")],
        events=[(at(ago(1), 19, 55), "Order received", WAREHOUSE)],
    )
    # Carla: someone else's order, for "belongs to another customer".
    order(
        "77001",
        CARLA,
        placed=6,
        status="delivered",
        tracking="PW7700100129GB",
        estimated=ago(3),
        delivered=3,
        items=[("Brightwave Watch 2", 1, "199.00")],
        events=delivered_events(6, 3),
    )
    session.add(
        Return(
            id="R-30001",
            order_number="35512",
            reason="doesnt_fit",
            status="refunded",
            refund_amount=Decimal("34.99"),
            currency=CURRENCY,
            drop_off_by=ago(26),
            idempotency_key=None,
            created_at=at(ago(40), 12),
        )
    )

    # Bills over three months; Ben's latest bill has two £12.00 charges on one day (his plan
    # and a roaming pass) that look like a double charge.
    bills = (
        (ANA, 65, "INV-40711", [("CH-50101", "Unlimited Plus monthly plan", "35.00")]),
        (
            ANA,
            35,
            "INV-41822",
            [
                ("CH-51201", "Unlimited Plus monthly plan", "35.00"),
                ("CH-51202", "EU roaming day passes (3 days)", "6.00"),
            ],
        ),
        (ANA, 5, "INV-42933", [("CH-52301", "Unlimited Plus monthly plan", "35.00")]),
        (BEN, 64, "INV-40688", [("CH-50111", "Basic 10GB monthly plan", "12.00")]),
        (
            BEN,
            34,
            "INV-41790",
            [
                ("CH-51211", "Basic 10GB monthly plan", "12.00"),
                ("CH-51212", "Call to a premium-rate number (0906)", "4.50"),
            ],
        ),
        (
            BEN,
            4,
            "INV-42901",
            [
                ("CH-52311", "Basic 10GB monthly plan", "12.00"),
                ("CH-52312", "7-day roaming pass (Europe)", "12.00"),
            ],
        ),
        (CARLA, 6, "INV-42950", [("CH-52321", "Basic 5GB monthly plan", "8.00")]),
    )
    for customer_id, days, number, charges in bills:
        total = sum((Decimal(amount) for _, _, amount in charges), Decimal("0"))
        session.add(
            Invoice(
                number=number,
                customer_id=customer_id,
                issued_on=ago(days),
                total=total,
                currency=CURRENCY,
            )
        )
        session.flush()
        for charge_id, description, amount in charges:
            session.add(
                Charge(
                    id=charge_id,
                    customer_id=customer_id,
                    charged_on=ago(days),
                    amount=Decimal(amount),
                    currency=CURRENCY,
                    description=description,
                    invoice_number=number,
                )
            )

    plans = (
        (ANA, "Unlimited Plus", None, "35.00", "48.30", 312, 57),
        (BEN, "Basic 10GB", "10", "12.00", "8.60", 95, 140),
        (CARLA, "Basic 5GB", "5", "8.00", "1.20", 40, 12),
    )
    for customer_id, name, allowance, price, used, minutes, texts in plans:
        session.add(
            Plan(
                customer_id=customer_id,
                name=name,
                allowance_gb=Decimal(allowance) if allowance is not None else None,
                monthly_price=Decimal(price),
                currency=CURRENCY,
            )
        )
        session.add(
            Usage(
                customer_id=customer_id,
                period_start=ago(12),
                period_end=ago(12) + timedelta(days=29),
                used_gb=Decimal(used),
                minutes=minutes,
                texts=texts,
            )
        )

    sims = (
        ("89441000012345678901", ANA, "+34 600 111 222", 400),
        ("8944100002345678912", BEN, "+44 7700 900123", 700),
        ("89441000034567890123", BEN, "+44 7700 900789", None),
        ("89441000045678901234", CARLA, "+44 7700 900321", None),
    )
    for iccid, customer_id, number, activated in sims:
        session.add(
            Sim(
                iccid=iccid,
                customer_id=customer_id,
                phone_number=number,
                status="active" if activated is not None else "inactive",
                activated_at=at(ago(activated), 10) if activated is not None else None,
            )
        )

    devices = (
        ("SN4K2Q9X7", ANA, "Brightwave Aria 5 Pro", 200, 24),
        ("AR524K7Q2M", ANA, "Brightwave Aria 5", 500, 24),
        ("SNP3X8M2K4", BEN, "Brightwave Pulse 3", 900, 24),
        ("SNW2T6R1Z9", CARLA, "Brightwave Watch 2", 3, 12),
    )
    for serial, customer_id, model, bought, months in devices:
        session.add(
            Device(
                serial_number=serial,
                customer_id=customer_id,
                model=model,
                purchased_on=ago(bought),
                warranty_months=months,
            )
        )
    session.add(
        Recall(
            id="RC-2024-ARIA5",
            model="Brightwave Aria 5",
            title="Brightwave Aria 5 battery recall: the battery can swell and overheat",
            remedy=(
                "Free replacement phone from an unaffected batch or of equal value, plus a £50 "
                "account credit; swap in any store or ask for courier collection in a fire-safe "
                "box. Until then, do not charge it overnight."
            ),
        )
    )

    day = first_opening_day(today)
    for appointment_id, customer_id, hour, topic in (
        ("A-1001", ANA, 11, "SIM and eSIM help"),
        ("A-1002", CARLA, 10, "New phone set-up"),
        ("A-1003", DAN, 12, "Plan advice"),
        ("A-1004", CARLA, 15, "Warranty check"),
    ):
        session.add(
            Appointment(
                id=appointment_id,
                customer_id=customer_id,
                date=day,
                time=f"{hour:02d}:00",
                topic=topic,
                status="booked",
                created_at=at(ago(2), 9),
            )
        )
    session.flush()
