"""``flask --app portal webhooks configure | rotate-secret | replay | replay-failed | enable |
remove | attempts | stats``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import session_scope
from portal.events.models import Event
from portal.merchants.models import Merchant
from portal.webhooks import service
from portal.webhooks.models import WebhookAttempt, WebhookDelivery

webhooks_cli = AppGroup("webhooks", help="Merchants' webhook endpoints and deliveries.")

merchant_option = click.option("--merchant", "merchant_id", required=True, metavar="mer_…",
                               help="The merchant's public id.")


def _with_merchant(action: Callable[[Session, Merchant], Any]) -> Any:
    """Run ``action`` on the merchant in one transaction; service errors become CLI errors."""
    merchant_id = click.get_current_context().params["merchant_id"]
    try:
        with session_scope() as session:
            merchant = session.scalar(select(Merchant).where(Merchant.public_id == merchant_id))
            if merchant is None:
                raise click.ClickException(f"no merchant {merchant_id}")
            return action(session, merchant)
    except (service.EndpointError, LookupError) as exc:
        raise click.ClickException(str(exc)) from exc


@webhooks_cli.command("configure")
@merchant_option
@click.option("--url", required=True, help="The endpoint, http(s)://…")
@click.option("--contact-email", help="Where to send notices, e.g. when the endpoint is disabled.")
def configure(merchant_id: str, url: str, contact_email: str | None) -> None:
    """Set the endpoint and print its new signing secret (whsec_…)."""
    if contact_email:
        try:
            contact_email = validate_email(contact_email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise click.ClickException(f"contact email: {exc}") from exc

    def run(session: Session, merchant: Merchant) -> str:
        if contact_email:
            merchant.contact_email = contact_email
        return service.configure_endpoint(session, merchant, url)
    click.echo(_with_merchant(run))


@webhooks_cli.command("rotate-secret")
@merchant_option
@click.option("--overlap-hours", default=24.0, show_default=True,
              help="How long the previous secret still signs deliveries.")
def rotate(merchant_id: str, overlap_hours: float) -> None:
    """Print a new signing secret; both secrets sign deliveries during the overlap."""
    click.echo(_with_merchant(lambda session, merchant: service.rotate_secret(
        session, merchant, overlap=timedelta(hours=overlap_hours))))


@webhooks_cli.command("replay")
@merchant_option
@click.option("--event", "event_id", required=True, metavar="evt_…")
def replay(merchant_id: str, event_id: str) -> None:
    """Deliver one event again (a new delivery; same webhook-id)."""
    click.echo(_with_merchant(lambda session, merchant: service.replay_event(
        session, merchant, event_id).public_id))


@webhooks_cli.command("replay-failed")
@merchant_option
def replay_failed(merchant_id: str) -> None:
    """Queue every failed delivery again."""
    count = _with_merchant(service.replay_failed)
    click.echo(f"{count} failed deliveries queued again")


@webhooks_cli.command("enable")
@merchant_option
def enable(merchant_id: str) -> None:
    """Resume a disabled endpoint; parked deliveries are queued."""
    count = _with_merchant(lambda session, merchant: service.enable_endpoint(session, merchant))
    click.echo(f"endpoint enabled; {count} waiting deliveries queued")


@webhooks_cli.command("remove")
@merchant_option
def remove(merchant_id: str) -> None:
    """Forget the endpoint and its secrets; pending deliveries are abandoned."""
    count = _with_merchant(lambda session, merchant: service.remove_endpoint(session, merchant))
    click.echo(f"endpoint removed; {count} pending deliveries abandoned")


@webhooks_cli.command("attempts")
@merchant_option
@click.option("--event", "event_id", metavar="evt_…", help="Only this event's attempts.")
@click.option("--limit", default=20, show_default=True)
def attempts(merchant_id: str, event_id: str | None, limit: int) -> None:
    """The latest delivery attempts, newest first: time, event, outcome, latency, answer."""
    def run(session: Session, merchant: Merchant) -> list[str]:
        query = (select(WebhookAttempt, WebhookDelivery, Event)
                 .join(WebhookDelivery, WebhookAttempt.delivery_id == WebhookDelivery.id)
                 .join(Event, WebhookDelivery.event_id == Event.id)
                 .where(WebhookDelivery.merchant_id == merchant.id)
                 .order_by(WebhookAttempt.id.desc()).limit(limit))
        if event_id:
            query = query.where(Event.public_id == event_id)
        lines = []
        for attempt, delivery, event in session.execute(query):
            outcome = attempt.http_status or attempt.error or "in flight"
            latency = f"{attempt.latency_ms} ms" if attempt.latency_ms is not None else "-"
            excerpt = " ".join((attempt.response_excerpt or "").split())[:80]
            lines.append(f"{attempt.attempted_at:%Y-%m-%d %H:%M:%S}  {event.public_id}  "
                         f"{event.type:<20} {outcome!s:<14} {latency:>8}  "
                         f"{delivery.status.value:<9} {excerpt}")
        return lines
    for line in _with_merchant(run) or ["no attempts yet"]:
        click.echo(line)


@webhooks_cli.command("stats")
def stats() -> None:
    """Deliveries by status, queue depth, oldest due delivery, disabled endpoints (JSON)."""
    with session_scope() as session:
        click.echo(json.dumps(service.delivery_stats(session), indent=2))
