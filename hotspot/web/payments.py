"""Payments for the portal, and the URLs the gateways call back."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import redis
from flask import Blueprint, Response, abort, jsonify, request, stream_with_context
from redis.client import Pipeline
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests

from hotspot.access.retention import CredentialsGoneError
from hotspot.adapters.collections import WebhookRejectedError
from hotspot.adapters.metrics import observe_provisioning
from hotspot.billing.c2b import Paybill, confirm_c2b, validate_c2b
from hotspot.billing.callback_tokens import stk_callback_url
from hotspot.billing.callbacks import handle_stk_callback
from hotspot.billing.handout import PaymentNotPaidError, credentials_for
from hotspot.billing.notify import dispatch
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.payments import (
    PaymentRequest,
    create_payment,
    start_collection,
    token_matches,
)
from hotspot.billing.webhooks import Webhook, handle_webhook
from hotspot.core.errors import InvalidInputError
from hotspot.core.phones import normalize_phone
from hotspot.models import Package, Payment, PaymentStatus
from hotspot.web import (
    client_ip,
    gateway_for,
    hotspot_client,
    notifier,
    rate_limit,
    services,
    sessions,
    settings,
)
from hotspot.web.request_input import json_object
from hotspot.web.serializers import package_json, payment_json
from hotspot.web.streams import StreamSlots, holding

payments = Blueprint("payments", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
STREAM_LIMIT_SECONDS = 600.0


def portal_payment_json(payment: Payment, package: Package | None) -> dict[str, Any]:
    """A payment with its package, as the portal reads it."""
    return {
        **payment_json(payment),
        "currency": package.currency if package else settings().currency,
        "package": package_json(package) if package else None,
    }


def portal_token() -> str | None:
    """The portal token from the header, or from `?token=` for EventSource (which cannot set
    headers; request logs show the path only, never the query)."""
    return request.headers.get("X-Portal-Token") or request.args.get("token")


def portal_payment(session: Session, payment_id: int) -> Payment:
    """The payment, for the browser holding its portal token only: an unknown id and a wrong
    token get the same 403, so ids cannot be walked."""
    payment = session.get(Payment, payment_id)
    if payment is None or not token_matches(payment, portal_token()):
        abort(403, "wrong or missing portal token")
    return payment


def finish(after: AfterCommit, also: Callable[[Pipeline], None] | None = None) -> None:
    dispatch(after, notifier(), also)


@payments.post("/payments")
def start_payment() -> Any:
    s = settings()
    rate_limit("payments-ip", client_ip(), s.rate_limit_payments_per_ip)  # before any body is read
    body = json_object()
    rate_limit("payments-client", hotspot_client(body), s.rate_limit_payments_per_client)
    if isinstance(body.get("phone"), str):
        try:
            phone = normalize_phone(body["phone"], s.default_region)
        except InvalidInputError:
            pass  # create_payment says what is wrong with it
        else:
            rate_limit("payments-phone", phone, s.rate_limit_payments_per_phone)
    after = AfterCommit()
    asked = PaymentRequest(
        body.get("package_id"), body.get("phone"), body.get("mac"), body.get("ip"),
        body.get("gateway"),
    )  # fmt: skip
    with sessions().begin() as session:
        initiated = create_payment(
            session,
            asked,
            gateway_for=gateway_for,
            installation_gateways=services().installation_gateways,
        )
    callback_url = stk_callback_url(s.public_base_url, services().callback_tokens.current())
    payment = start_collection(sessions(), initiated, callback_url, after)
    finish(after)
    shown = portal_payment_json(payment, initiated.package)
    if payment.status is PaymentStatus.FAILED:
        return jsonify({**shown, "error": payment.failure_reason}), 502
    # The browser that asked learns what it needs to follow its own payment.
    shown["portal_token"] = initiated.portal_token
    shown["phone"] = payment.phone
    shown["checkout_request_id"] = payment.checkout_request_id
    return jsonify(shown), 201


@payments.get("/payments/<int64:payment_id>")
def show_payment(payment_id: int) -> Any:
    with sessions()() as session:
        payment = portal_payment(session, payment_id)
        return jsonify(portal_payment_json(payment, payment.package))


@payments.get("/payments/<int64:payment_id>/credentials")
def payment_credentials(payment_id: int) -> Any:
    with sessions()() as session:
        try:
            credentials = credentials_for(
                session,
                payment_id,
                portal_token(),
                notifier().cached_credentials,
            )
        except PermissionError as exc:
            abort(403, str(exc))
        except PaymentNotPaidError as exc:
            abort(409, str(exc))
        except CredentialsGoneError as exc:
            abort(410, str(exc))
    return jsonify(
        username=credentials.username,
        password=credentials.password,
        expires_at=credentials.expires_at.isoformat(),
    )


@payments.get("/payments/<int64:payment_id>/events")
def payment_events(payment_id: int) -> Any:
    """Server-Sent Events: each status change, pushed through Redis pub/sub; closes when final."""
    with sessions()() as session:
        portal_payment(session, payment_id)
    slots = StreamSlots(services().redis, int(STREAM_LIMIT_SECONDS) + 60)
    keys = slots.take(payment_id, client_ip())
    if keys is None:
        raise TooManyRequests("too many status streams open; the page asks now and then instead")
    return Response(
        stream_with_context(holding(slots, keys, ending_quietly(status_stream(payment_id)))),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def ending_quietly(stream: Iterator[str]) -> Iterator[str]:
    """An error mid-stream ends the stream (the portal falls back to polling) and is logged here
    without the URL: past the first byte it would reach the server's own log, and the URL
    carries the portal token."""
    try:
        yield from stream
    except Exception:
        log.exception("the status stream ended on an error")


def status_stream(payment_id: int) -> Iterator[str]:
    try:
        subscription = notifier().subscribe(payment_id)
    except redis.RedisError:
        yield from polled_stream(payment_id)
        return
    try:
        status = current_status(payment_id)
        yield sse(payment_id, status)
        deadline = time.monotonic() + STREAM_LIMIT_SECONDS
        while not status.final and time.monotonic() < deadline:
            try:
                event = subscription.next_event(KEEPALIVE_SECONDS)
            except redis.RedisError:
                yield from polled_stream(payment_id)
                return
            if event is None:
                # Nothing published: a keep-alive, and a look at the database in case an
                # event was lost while Redis restarted.
                yield ": keep-alive\n\n"
                fresh = current_status(payment_id)
            else:
                fresh = PaymentStatus(event["status"])
            if fresh is not status:
                status = fresh
                yield sse(payment_id, status)
    finally:
        subscription.close()


def polled_stream(payment_id: int) -> Iterator[str]:
    """Without Redis: the database, once a second."""
    status = current_status(payment_id)
    yield sse(payment_id, status)
    deadline = time.monotonic() + STREAM_LIMIT_SECONDS
    while not status.final and time.monotonic() < deadline:
        time.sleep(1)
        fresh = current_status(payment_id)
        if fresh is not status:
            status = fresh
            yield sse(payment_id, status)


def current_status(payment_id: int) -> PaymentStatus:
    with sessions()() as session:
        payment = session.get(Payment, payment_id)
        assert payment is not None
        return payment.status


def sse(payment_id: int, status: PaymentStatus) -> str:
    data = json.dumps({"id": payment_id, "status": status.value})
    return f"event: status\ndata: {data}\n\n"


# --- M-Pesa calls these ------------------------------------------------------------------------


def check_callback_token(token: str) -> None:
    if not services().callback_tokens.accepts(token):
        abort(404)


@payments.post("/callbacks/stk/<token>")
def stk_callback(token: str) -> Any:
    check_callback_token(token)
    started = time.perf_counter()
    after = AfterCommit()
    try:
        handle_stk_callback(sessions(), request.get_data(), after)
    except InvalidInputError as exc:
        return jsonify(error=str(exc)), 400
    finally:
        elapsed = time.perf_counter() - started
        finish(after, partial(observe_provisioning, seconds=elapsed) if after.provisioned else None)
    return jsonify(ResultCode=0, ResultDesc="Accepted")


@payments.post("/callbacks/c2b/<token>/validate")
def c2b_validate(token: str) -> Any:
    check_callback_token(token)
    code, description = validate_c2b(sessions(), request.get_data(), Paybill.of(settings()))
    return jsonify(ResultCode=code, ResultDesc=description)


@payments.post("/callbacks/c2b/<token>/confirm")
def c2b_confirm(token: str) -> Any:
    check_callback_token(token)
    after = AfterCommit()
    try:
        confirm_c2b(sessions(), request.get_data(), Paybill.of(settings()), after)
    except InvalidInputError as exc:
        return jsonify(error=str(exc)), 400
    finally:
        finish(after)
    return jsonify(ResultCode=0, ResultDesc="Success")


# --- ioTec and CamPay call these -----------------------------------------------------------------
# Static URLs, as both configure them per wallet or app in their portals: a webhook proves itself
# by its header or signature (`billing.webhooks`), and only triggers a status query.


@payments.post("/callbacks/iotec")
@payments.route("/callbacks/campay", methods=["GET", "POST"])
def gateway_webhook() -> Any:
    name = request.path.rsplit("/", 1)[-1]
    after = AfterCommit()
    hook = Webhook(name, dict(request.headers), request.args.to_dict(), request.get_data())
    try:
        outcome = handle_webhook(sessions(), gateway_for, hook, after)
    except InvalidInputError as exc:
        return jsonify(error=str(exc)), 400
    except WebhookRejectedError as exc:
        return jsonify(error=str(exc)), 401
    finally:
        finish(after)
    log.info("%s webhook: %s", name, outcome)
    return jsonify(status="received")
