"""`hotspot mpesa …`: the URLs M-Pesa calls, registered with Daraja, and their token rotated.

Rotating is one command: a new callback token generation (the old ones keep working for
`HOTSPOT_MPESA_CALLBACK_TOKEN_GRACE`), then the C2B URLs registered with the new token. STK
pushes carry their callback URL each time, so new pushes use the new token at once (every API
process reads the valid generations within seconds). Both are audited with the actor `cli`;
no token is ever printed, stored or logged.
"""

from __future__ import annotations

import datetime as dt

import click

from hotspot.adapters.collections import GatewayError
from hotspot.billing.callback_tokens import c2b_urls, rotate
from hotspot.cli.context import CLI_ACTOR
from hotspot.cli.tokens import transaction
from hotspot.core.settings import Settings
from hotspot.operators.audit import audit
from hotspot.services import Services

RESPONSE_TYPES = ("Completed", "Cancelled")


@click.group("mpesa")
def mpesa_group() -> None:
    """The URLs M-Pesa calls: registration with Daraja and their secret token."""


def _register(services: Services, response_type: str) -> None:
    s = services.settings
    validation, confirmation = c2b_urls(s.public_base_url, services.callback_tokens.current())
    try:
        answer = services.gateway.register_c2b_urls(
            validation_url=validation, confirmation_url=confirmation, response_type=response_type
        )
    except GatewayError as exc:
        raise click.ClickException(str(exc)) from None
    with transaction() as session:
        audit(
            session,
            CLI_ACTOR,
            "mpesa.register_urls",
            f"shortcode:{s.mpesa_shortcode}",
            {"base_url": s.public_base_url, "response_type": response_type},
            owner=None,
        )
    click.echo(
        f"C2B URLs for shortcode {s.mpesa_shortcode} registered at {s.public_base_url}: "
        f"{answer.get('ResponseDescription', 'ok')}"
    )


def _response_type_option() -> click.Option:
    return click.Option(
        ["--response-type"],
        type=click.Choice(RESPONSE_TYPES),
        default="Completed",
        show_default=True,
        help="What M-Pesa does with a payment when our validation URL does not answer.",
    )


@mpesa_group.command("register-urls", params=[_response_type_option()])
def register_urls(response_type: str) -> None:
    """Register the C2B validation and confirmation URLs (current token) with Daraja."""
    services = Services(Settings.from_env())
    try:
        _register(services, response_type)
    finally:
        services.close()


@mpesa_group.command("rotate-callback-token", params=[_response_type_option()])
@click.option(
    "--grace",
    type=click.IntRange(min=0),
    default=None,
    help="Seconds the older tokens stay valid (default HOTSPOT_MPESA_CALLBACK_TOKEN_GRACE; "
    "0 when a token leaked).",
)
@click.option("--no-register", is_flag=True, help="Rotate only; register the C2B URLs later.")
def rotate_callback_token(response_type: str, grace: int | None, no_register: bool) -> None:
    """A new callback token; the old ones stay valid for the grace period; C2B re-registered."""
    settings = Settings.from_env()
    seconds = settings.mpesa_callback_token_grace if grace is None else grace
    with transaction() as session:
        generation = rotate(session, dt.timedelta(seconds=seconds), dt.datetime.now(dt.UTC))
        audit(
            session,
            CLI_ACTOR,
            "mpesa.rotate_callback_token",
            f"callback_token:{generation}",
            {"grace_seconds": seconds},
            owner=None,
        )
    click.echo(f"callback token generation {generation} is current; older ones end in {seconds} s")
    if not no_register:
        services = Services(settings)
        try:
            _register(services, response_type)
        finally:
            services.close()
