"""`warmline customers show|merge|verify`: one customer across channels (docs/customers.md).
Refusals print `error: ...` and exit 2, with nothing changed."""

from __future__ import annotations

import json
from typing import Any

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import fail

customers_app = typer.Typer(
    help="Customers across channels: show, merge, mark an identifier verified.",
    no_args_is_help=True,
)
app.add_typer(customers_app, name="customers")


def _by(given: str | None) -> str:
    if given:
        return f"cli:{given}"[:100]
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:100]
    except Exception:  # no user name in this environment (a container without one)
        return "cli"


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    customer = data.get("customer", data)
    typer.echo(
        f"customer {customer['id']}" + (f" ({customer['name']})" if customer["name"] else "")
    )
    if customer.get("merged_into"):
        typer.echo(f"  merged into {customer['merged_into']}")
    for identity in customer["identities"]:
        how = f"verified ({identity['source']})" if identity["verified"] else "unverified"
        typer.echo(f"  {identity['kind']}: {identity['value']}  {how}")
    for item in customer["conversations"]:
        typer.echo(
            f"  {item['started'][:19]}  {item['channel']:<8} {item['outcome']:<18} "
            f"{item['intent'] or '-'}  {item['id']}"
        )
    for event in customer["events"]:
        reason = f": {event['reason']}" if event["reason"] else ""
        typer.echo(f"  [{event['at'][:19]}] {event['kind']} by {event['actor']}{reason}")


def _run(action: Any) -> dict[str, Any]:
    """Run one action in its own transaction; a refusal exits 2 with nothing written."""
    from warmline.cli.kb import _sessions
    from warmline.customers.service import CustomerRefused

    try:
        with _sessions()() as session, session.begin():
            result: dict[str, Any] = action(session)
    except CustomerRefused as refused:
        raise fail(str(refused)) from None
    return result


@customers_app.command("show")
def show(
    customer_id: str = typer.Argument(..., help="The customer's id."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """A customer: identities (verified or not, and how), conversations on every channel and
    the audit log."""
    from warmline.customers.service import CustomerRefused, describe

    def action(session: Any) -> dict[str, Any]:
        found = describe(session, customer_id=customer_id)
        if found is None:
            raise CustomerRefused(404, "customer-not-found", f"There is no customer {customer_id}.")
        return found

    _print(_run(action), as_json)


@customers_app.command("merge")
def merge(
    into: str = typer.Argument(..., help="The customer that stays."),
    source: str = typer.Argument(..., metavar="FROM", help="The customer merged into INTO."),
    reason: str = typer.Option(..., "--reason", help="Why: kept in the audit log."),
    by: str | None = typer.Option(None, "--by", help="Who merges (default: the OS user)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Merge customer FROM into customer INTO: identities and conversations move, FROM is
    marked merged, and both audit logs record who, when, what and why."""
    from warmline.customers.service import describe
    from warmline.customers.service import merge as merge_customers

    if not reason.strip():
        raise fail("--reason must not be empty")

    def action(session: Any) -> dict[str, Any]:
        merged = merge_customers(
            session, into=into, source=source, actor=_by(by), reason=reason.strip()
        )
        return {
            "merged_from": merged.merged_from,
            "identities_moved": merged.identities,
            "conversations_moved": merged.conversations,
            "customer": describe(session, customer_id=into),
        }

    result = _run(action)
    if not as_json:
        typer.echo(
            f"merged {source} into {into}: {len(result['identities_moved'])} identities, "
            f"{len(result['conversations_moved'])} conversations moved",
            err=True,
        )
    _print(result, as_json)


@customers_app.command("verify")
def verify(
    customer_id: str = typer.Argument(..., help="The customer's id."),
    kind: str = typer.Argument(..., help="email, phone or external_id."),
    value: str = typer.Argument(..., help="The identifier the business has verified."),
    reason: str | None = typer.Option(None, "--reason", help="Kept in the audit log."),
    by: str | None = typer.Option(None, "--by", help="Who says so (default: the OS user)."),
) -> None:
    """Attach an identifier the business has verified; refused when another customer holds it."""
    from warmline.customers.service import KINDS, mark_verified
    from warmline.domain.customer import Identity

    if kind not in KINDS:
        raise fail(f"KIND must be one of {', '.join(KINDS)}")
    added = _run(
        lambda session: {
            "added": mark_verified(
                session,
                customer_id=customer_id,
                identity=Identity(kind, value),
                actor=_by(by),
                reason=reason,
            )
        }
    )["added"]
    typer.echo(f"{kind} attached to {customer_id}" if added else f"{customer_id} already has it")
