"""Entity extraction: what is found, how it is normalised, and what must not be found."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from warmline.understanding.entities import MAX_ENTITIES, extract_entities
from warmline.understanding.types import Entity


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, e.value) for e in extract_entities(text)]


def surfaces(text: str) -> list[str]:
    return [text[e.start : e.end] for e in extract_entities(text)]


# --- identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Where is my order #12345?", "12345"),
        ("order no. AB-1234-XY arrived broken", "AB-1234-XY"),
        ("my order 112-7788990-1234567 is late", "112-7788990-1234567"),
        ("Order number: 998877", "998877"),
        ("order ID #: 55123", "55123"),
        ("my order is 12345", "12345"),
        ("order#77", "77"),
        ("order №12345", "12345"),
        ("your order ab-99x", "AB-99X"),
    ],
)
def test_order_numbers(text: str, value: str) -> None:
    assert found(text) == [("order_number", value)]


def test_unlabelled_amazon_style_order_number() -> None:
    assert found("about 112-7788990-1234567 please") == [("order_number", "112-7788990-1234567")]


def test_order_number_span_covers_the_id_only() -> None:
    text = "order #12345 is late"
    (entity,) = extract_entities(text)
    assert text[entity.start : entity.end] == "12345"


def test_list_of_order_numbers_under_one_label() -> None:
    assert found("orders #123, #456 and #789") == [
        ("order_number", "123"),
        ("order_number", "456"),
        ("order_number", "789"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I ordered 3 things",
        "order 3",
        "I want to order 1000 pens",
        "my order is 2 days late",
        "order: 12 items missing",
        "what is my order number?",
        "order status please",
        "orderly 12345",
        "reorder 12345",
        "my order #3 came",
    ],
)
def test_not_order_numbers(text: str) -> None:
    assert [t for t, _ in found(text) if t == "order_number"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("invoice #123 is wrong", "123"),
        ("see INV-2024-0042", "INV-2024-0042"),
        ("inv-2024-0042 attached", "INV-2024-0042"),
        ("Invoice number 88231", "88231"),
    ],
)
def test_invoice_numbers(text: str, value: str) -> None:
    assert found(text) == [("invoice_number", value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [("ticket 4821 still open", "4821"), ("case #A12", "A12"), ("incident no. 77-12", "77-12")],
)
def test_ticket_numbers(text: str, value: str) -> None:
    assert found(text) == [("ticket_number", value)]


@pytest.mark.parametrize(
    "text", ["just in case 12345 people ask", "ticket 2024 concert", "invoice 2024 was wrong"]
)
def test_not_ticket_or_invoice_numbers(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("UPS says 1Z999AA10123456784", "1Z999AA10123456784"),
        ("tracking number 9400 1000 0000 0000 0000 00", "9400100000000000000000"),
        ("tracking number 9400100000000000000000", "9400100000000000000000"),
        ("Royal Mail AB123456789GB", "AB123456789GB"),
        ("tracking: 7749-1234-5566", "7749-1234-5566"),
    ],
)
def test_tracking_numbers(text: str, value: str) -> None:
    assert found(text) == [("tracking_number", value)]


def test_short_tracking_label_is_not_enough() -> None:
    assert found("tracking 1234 sucks") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("account number 12345678", "12345678"),
        ("acct #4455", "4455"),
        ("customer ID 778899", "778899"),
        ("my account 00123456", "00123456"),
    ],
)
def test_account_numbers(text: str, value: str) -> None:
    assert found(text) == [("account_number", value)]


@pytest.mark.parametrize("text", ["customer 778899", "account was charged 45", "my account 123"])
def test_account_numbers_need_a_label(text: str) -> None:
    assert [t for t, _ in found(text) if t == "account_number"] == []


# --- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I paid $45.99 twice", "45.99 USD"),
        ("45 EUR", "45.00 EUR"),
        ("£12 please", "12.00 GBP"),
        ("€1.234,50 charged", "1234.50 EUR"),
        ("12.50 dollars", "12.50 USD"),
        ("$1,234.56", "1234.56 USD"),
        ("45,99 €", "45.99 EUR"),
        ("€ 45", "45.00 EUR"),
        ("USD 100", "100.00 USD"),
        ("100 usd", "100.00 USD"),
        ("$45 CAD", "45.00 CAD"),
        ("C$20", "20.00 CAD"),
        ("¥5000", "5000.00 JPY"),
        ("Rs. 500", "500.00 INR"),
        ("50 cents", "0.50 USD"),
        ("a $5k budget", "5000.00 USD"),
        ("$2.5 million", "2500000.00 USD"),
        ("20 bucks", "20.00 USD"),
        ("10 quid", "10.00 GBP"),
        ("1'234 CHF", "1234.00 CHF"),
    ],
)
def test_amounts(text: str, value: str) -> None:
    assert found(text) == [("amount", value)]


def test_amount_span_includes_the_currency() -> None:
    assert surfaces("charged me $45.99!") == ["$45.99"]
    assert surfaces("about 45 EUR ok") == ["45 EUR"]


@pytest.mark.parametrize(
    "text",
    [
        "In 2024 I paid nothing",
        "45% off",
        "I have 3 kids",
        "5 pounds of flour",
        "$1,2345",
        "room 101",
        "1,234,567 views",
    ],
)
def test_not_amounts(text: str) -> None:
    assert [t for t, _ in found(text) if t == "amount"] == []


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yesterday", "yesterday"),
        ("it broke Yesterday!", "yesterday"),
        ("last Tuesday", "last tuesday"),
        ("next  week", "next week"),
        ("in 2 days", "in 2 days"),
        ("in a few days", "in a few days"),
        ("2 weeks ago", "2 weeks ago"),
        ("a month ago", "a month ago"),
        ("the day before yesterday", "the day before yesterday"),
        ("earlier today", "earlier today"),
        ("on Monday", "monday"),
        ("in 3 business days", "in 3 business days"),
        ("3 March", "3 march"),
        ("3rd of March", "3rd of march"),
        ("March 3", "march 3"),
        ("since March 2024", "march 2024"),
    ],
)
def test_relative_or_yearless_dates_have_no_iso(text: str, value: str) -> None:
    assert found(text) == [("date", value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2025-03-04", "2025-03-04"),
        ("2025/03/04", "2025/03/04 (2025-03-04)"),
        ("13/04/2025", "13/04/2025 (2025-04-13)"),
        ("04/13/2025", "04/13/2025 (2025-04-13)"),
        ("03/03/2025", "03/03/2025 (2025-03-03)"),
        ("12.03.2025", "12.03.2025 (2025-03-12)"),
        ("March 3rd, 2025", "march 3rd, 2025 (2025-03-03)"),
        ("3 March 2025", "3 march 2025 (2025-03-03)"),
        ("Sept. 9 2024", "sept. 9 2024 (2024-09-09)"),
    ],
)
def test_absolute_dates_carry_iso(text: str, value: str) -> None:
    assert found(text) == [("date", value)]


def test_ambiguous_numeric_date_has_no_iso() -> None:
    assert found("03/04/2025") == [("date", "03/04/2025")]


@pytest.mark.parametrize(
    "text",
    [
        "may I ask something",
        "version 1.2.34",
        "32/13/2025",
        "31 April",
        "3/4 of the time",
        "2025",
        "Mar",
    ],
)
def test_not_dates(text: str) -> None:
    assert [t for t, _ in found(text) if t == "date"] == []


def test_invalid_day_with_year_keeps_entity_without_iso() -> None:
    assert found("29 February 2025") == [("date", "29 february 2025")]


# --- emails, phones, plans ------------------------------------------------------------------


def test_email_is_lower_cased() -> None:
    assert found("mail John.Doe@Example.COM now") == [("email", "john.doe@example.com")]


def test_unicode_email() -> None:
    assert found("contact josé@exämple.de please") == [("email", "josé@exämple.de")]


@pytest.mark.parametrize("text", ["bob@localhost", "x@y.c", "@handle", "a@@b.com"])
def test_not_emails(text: str) -> None:
    assert [t for t, _ in found(text) if t == "email"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call +44 20 7946 0958", "+442079460958"),
        ("(555) 123-4567", "5551234567"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("06 12 34 56 78", "0612345678"),
        ("my number is 5551234567", "5551234567"),
        ("phone: 555.123.4567", "5551234567"),
        ("ring 07700 900123", "07700900123"),
    ],
)
def test_phones(text: str, value: str) -> None:
    assert found(text) == [("phone", value)]


def test_two_phones_side_by_side() -> None:
    assert found("555-123-4567 555-987-6543") == [
        ("phone", "5551234567"),
        ("phone", "5559876543"),
    ]


def test_date_next_to_phone_is_not_swallowed() -> None:
    assert found("on 2025-03-04 call 555-123-4567") == [
        ("date", "2025-03-04"),
        ("phone", "5551234567"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "between 1000-2000 users",
        "from 10.30-11.45",
        "ip 192.168.10.10",
        "I have 2 3 4 5 6 7 8 9 kids",
        "5551234567",
        "population 12.345.678",
    ],
)
def test_not_phones(text: str) -> None:
    assert [t for t, _ in found(text) if t == "phone"] == []


def test_plans() -> None:
    assert found("I'm on the Unlimited plan and want the premium plan") == [
        ("plan", "unlimited plan"),
        ("plan", "premium plan"),
    ]
    assert found("the 10GB plan") == [("plan", "10gb plan")]
    assert found("what plan am I on") == []


# --- the message as a whole -----------------------------------------------------------------


def test_card_numbers_are_never_reported() -> None:
    text = "card 4111 1111 1111 1111 and 4111-1111-1111-1111"
    assert extract_entities(text) == ()


def test_realistic_message() -> None:
    text = (
        "Hi, I was charged €1.234,50 twice for order #A-5512 on 3 March 2025. "
        "Please call me on +44 20 7946 0958 or email ana@example.com by tomorrow."
    )
    assert found(text) == [
        ("amount", "1234.50 EUR"),
        ("order_number", "A-5512"),
        ("date", "3 march 2025 (2025-03-03)"),
        ("phone", "+442079460958"),
        ("email", "ana@example.com"),
        ("date", "tomorrow"),
    ]


def test_labelled_id_wins_over_phone_shape() -> None:
    assert found("order 555-123-4567 is mine") == [("order_number", "555-123-4567")]


def test_entities_are_sorted_disjoint_and_point_at_their_text() -> None:
    text = "order #12345 cost $45.99 yesterday, call 555-123-4567 or a@b.co, ticket 4821"
    entities = extract_entities(text)
    assert len(entities) == 6
    for left, right in pairwise(entities):
        assert left.end <= right.start
    for entity in entities:
        assert 0 <= entity.start < entity.end <= len(text)
        assert text[entity.start : entity.end].strip() == text[entity.start : entity.end]


@pytest.mark.parametrize(
    "text", ["", "   \n\t ", "😡😡😡", "注文番号はありません", "\x00\x01\x1b[31m", "?!?!", "3"]
)
def test_degenerate_input_gives_nothing(text: str) -> None:
    assert extract_entities(text) == ()


def test_non_text_input_gives_nothing() -> None:
    assert extract_entities(None) == ()  # type: ignore[arg-type]


def test_control_characters_around_an_entity() -> None:
    assert found("\x00order #12345\x1b") == [("order_number", "12345")]


def test_long_input_is_capped_and_keeps_text_order() -> None:
    text = "order #12345 cost $45.99. " * 4000  # about 100,000 characters
    entities = extract_entities(text)
    assert len(entities) == MAX_ENTITIES
    assert [e.start for e in entities] == sorted(e.start for e in entities)
    assert entities[0] == Entity("order_number", "12345", 7, 12)


def test_entity_at_the_end_of_long_filler_is_found() -> None:
    text = "blah " * 20_000 + "invoice #998"
    assert found(text) == [("invoice_number", "998")]


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "1 " * 50_000,
        "12-" * 33_000,
        "a@" * 50_000,
        "order" + " " * 100_000,
        "(1)" * 33_000,
        "$1," * 33_000,
    ],
)
def test_pathological_long_input_completes(text: str) -> None:
    entities = extract_entities(text)  # timing targets live in benchmarks/
    assert len(entities) <= MAX_ENTITIES


def test_random_text_never_raises_and_spans_are_valid() -> None:
    rng = random.Random(7)
    alphabet = "0123456789 -./,:#$€£@+()abcxyzORDER\n😡é"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        for entity in extract_entities(text):
            assert 0 <= entity.start < entity.end <= len(text)
            assert entity.value
