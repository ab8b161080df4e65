"""Africa's Talking SMS: our one adapter over the `africastalking` SDK, at-most-once sending, and
delivery reports.

The SDK has no base-URL option and tells little about what went wrong, so everything else calls
`SmsGateway.send`, which answers with an `SmsResult` or raises an `SmsError` saying whether
sending again is safe. No message or log line ever carries the API key.

At most once: `send_once` claims an `sms_messages` row (unique `idempotency_key`) in its own
committed transaction before calling Africa's Talking. A row's states:

- `claimed`, `error` NULL: a run holds the claim and may be talking to AT right now.
- `claimed`, `error` "retrying: …": AT did not take the message; the next run may re-claim it
  (one atomic UPDATE, so of two concurrent retries only one sends).
- `claimed`, `error` "outcome unknown: …": AT may have sent it (a timeout after the request went
  out, or a run that died holding the claim). Never resent automatically: for an operator.
- `sent` → `delivered` / `failed` (delivery reports), or `failed` at once (AT refused it).

A run that finds a held claim cannot tell a live run from a dead one, so it sends nothing and
marks the row "outcome unknown"; a live owner overwrites that with its result when it finishes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

import africastalking
import requests
from africastalking.Service import DEFAULT_TIMEOUT_S, AfricasTalkingException
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.db import transaction
from hotspot.adapters.http_errors import never_sent
from hotspot.core.errors import InvalidInputError, NotFoundError
from hotspot.core.settings import Settings
from hotspot.models import Operator, SmsMessage, SmsStatus

log = logging.getLogger(__name__)

ACCEPTED_CODES = frozenset({100, 101, 102})  # Processed, Sent, Queued
TRANSIENT_CODES = frozenset({500, 501, 502})  # InternalServerError, GatewayError, RejectedByGateway
E164 = re.compile(r"^\+\d{1,3}\d{3,}$")  # what the SDK accepts as a recipient
RETRYING = "retrying: "
UNKNOWN = "outcome unknown: "
HELD_BY_ANOTHER_RUN = (
    UNKNOWN + "an earlier run claimed this message and recorded no result (it died, or is still "
    "sending); not resent, check Africa's Talking's dashboard"
)
# Delivery report statuses that end a message; the others (Sent, Submitted, Buffered…) do not.
FINAL_REPORTS = {
    "Success": SmsStatus.DELIVERED,
    "Rejected": SmsStatus.FAILED,
    "Failed": SmsStatus.FAILED,
}
REPORT_FIELD_MAX = 200
# English month abbreviations whatever the locale: an SMS reads the same on every server.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SHOWN_REPLY_MAX = 200


class SmsError(Exception):
    """Sending failed; str(exc) is safe to log and store."""


class SmsTransientError(SmsError):
    """Africa's Talking did not take the message (no connection, an HTTP error, statusCode 5xx):
    sending again is safe."""


class SmsUnknownOutcomeError(SmsError):
    """The request went out but no usable answer came back: the message may have been sent."""


class SmsPermanentError(SmsError):
    """The message can never be sent as it is; nothing was sent."""


@dataclass(frozen=True)
class SmsResult:
    """Africa's Talking's answer for our one recipient."""

    status_code: int
    status: str
    message_id: str | None
    cost: str | None

    @property
    def accepted(self) -> bool:
        return self.status_code in ACCEPTED_CODES

    @property
    def transient(self) -> bool:
        return self.status_code in TRANSIENT_CODES

    @property
    def reason(self) -> str:
        return f"{self.status_code} {self.status}"


class SmsGateway:
    """One SDK SMS client of its own, pointed at `base_url` (".../version1").

    Built with `africastalking.SMSService` rather than `africastalking.initialize`, which only
    does the same after replacing the SDK's module globals (so two gateways in one process would
    swap clients under each other) and building seven other clients. The client holds no mutable
    state once built and `requests.post` opens a connection per call, so one gateway may send
    from several threads.
    """

    def __init__(
        self,
        username: str,
        api_key: str,
        base_url: str,
        sender_id: str = "",
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.sender_id = sender_id
        self._api_key = api_key
        self._timeout = timeout
        self._client = africastalking.SMSService(username, api_key)
        # The SDK builds https://api.[sandbox.]africastalking.com/version1; there is no option.
        self._client._baseUrl = self.base_url
        self._client._contentUrl = self.base_url

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsGateway:
        return cls(
            settings.sms_username,
            settings.sms_api_key,
            settings.sms_base_url,
            settings.sms_sender_id,
        )

    def __repr__(self) -> str:
        return f"SmsGateway(base_url={self.base_url!r}, sender_id={self.sender_id!r})"

    def send(self, phone: str, message: str, sender_id: str | None = None) -> SmsResult:
        """One message to one `+E.164` number; raises an `SmsError` when AT gave no statusCode."""
        if not E164.fullmatch(phone):
            raise SmsPermanentError(f"{phone!r} is not a number Africa's Talking accepts (+CCC…)")
        try:
            reply = self._client.send(
                message,
                [phone],
                sender_id=sender_id or self.sender_id or None,
                timeout=self._timeout,
            )
        except AfricasTalkingException as exc:
            # Any non-2xx; the SDK keeps only the body, so 401 (bad key) and 5xx look alike.
            # Either way AT refused the request, and a configuration error fixed later should
            # still get the message out.
            raise SmsTransientError(
                f"Africa's Talking refused the request: {self._shown(exc)}"
            ) from None
        except requests.ConnectionError as exc:
            if never_sent(exc):
                raise SmsTransientError(
                    f"could not connect to {self.base_url}: {self._shown(exc)}"
                ) from None
            raise SmsUnknownOutcomeError(
                f"connection to {self.base_url} lost after sending: {self._shown(exc)}"
            ) from None
        except requests.RequestException as exc:  # a read timeout, a 2xx that is not JSON
            raise SmsUnknownOutcomeError(
                f"no usable answer from {self.base_url}: {type(exc).__name__}: {self._shown(exc)}"
            ) from None
        return self._recipient(reply, phone)

    def _recipient(self, reply: Any, phone: str) -> SmsResult:
        # The SDK parses JSON only for a content-type of exactly `application/json`.
        if isinstance(reply, str):
            try:
                reply = json.loads(reply)
            except ValueError:
                raise SmsUnknownOutcomeError(
                    f"Africa's Talking answered 2xx with something that is not JSON: "
                    f"{self._redact(reply)[:SHOWN_REPLY_MAX]!r}"
                ) from None
        try:
            data = reply["SMSMessageData"]
            recipients = data["Recipients"]
            if not recipients:
                # e.g. {"Message": "InvalidSenderId", "Recipients": []}: nobody was sent anything.
                raise SmsPermanentError(
                    f"Africa's Talking sent to no one: {self._redact(str(data.get('Message')))}"
                )
            ours = next((r for r in recipients if r.get("number") == phone), recipients[0])
            message_id = ours.get("messageId")
            return SmsResult(
                status_code=int(ours["statusCode"]),
                status=str(ours.get("status", "")),
                message_id=None if message_id in (None, "", "None") else str(message_id),
                cost=None if ours.get("cost") is None else str(ours["cost"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise SmsUnknownOutcomeError(
                "Africa's Talking answered 2xx without a readable recipient: "
                f"{self._redact(json.dumps(reply, default=str))[:SHOWN_REPLY_MAX]}"
            ) from None

    def _shown(self, exc: BaseException) -> str:
        return self._redact(str(exc))[:SHOWN_REPLY_MAX]

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


# ---------------------------------------------------------------------------------------------
# Sending at most once


CREDENTIALS_PURPOSE = "credentials"
CREDENTIALS_KEY_PREFIX = f"{CREDENTIALS_PURPOSE}:payment:"


def credentials_key(payment_id: int) -> str:
    """The idempotency key of a payment's credentials SMS: sent at most once per payment."""
    return f"{CREDENTIALS_KEY_PREFIX}{payment_id}"


@dataclass(frozen=True)
class Outgoing:
    """One message for one purpose; `key` names the purpose, so it is sent at most once."""

    key: str
    purpose: str
    phone: str
    body: str
    operator_id: int  # whose customer it goes to (its SMS log, its credits)
    user_id: int | None = None
    sender_id: str | None = None  # the operator's own; None: the installation's
    metered: bool = True  # costs the operator credits: a customer's message


@dataclass(frozen=True)
class _Claim:
    id: int
    phone: str
    body: str


def send_once(sessions: sessionmaker[Session], gateway: SmsGateway, outgoing: Outgoing) -> str:
    """Sends unless this key was ever sent or may have been; returns what happened.

    Raises SmsTransientError after releasing the claim, so the caller's retry may send.
    """
    claim = _claim(sessions, outgoing)
    if isinstance(claim, str):
        return claim
    finish = partial(_finish, sessions, claim.id, outgoing.key)
    try:
        result = gateway.send(claim.phone, claim.body, outgoing.sender_id)
    except SmsTransientError as exc:
        finish(error=RETRYING + str(exc))
        raise
    except SmsUnknownOutcomeError as exc:
        log.error("sms %s: %s", outgoing.key, exc)
        finish(error=UNKNOWN + str(exc))
        return UNKNOWN + str(exc)
    except SmsPermanentError as exc:
        finish(status=SmsStatus.FAILED, error=str(exc))
        return f"failed: {exc}"
    finish = partial(
        finish,
        provider_status_code=result.status_code,
        provider_message_id=result.message_id,
        cost=result.cost,
    )
    if result.accepted:
        finish(status=SmsStatus.SENT, sent_at=func.now())
        log.info("sms %s: sent as %s (%s)", outgoing.key, result.message_id, result.reason)
        return f"sent: {result.message_id}"
    if result.transient:
        finish(error=RETRYING + result.reason)
        raise SmsTransientError(f"Africa's Talking did not send it: {result.reason}")
    finish(status=SmsStatus.FAILED, error=result.reason)
    log.warning("sms %s: refused, %s", outgoing.key, result.reason)
    return f"failed: {result.reason}"


NO_CREDITS = "not sent: the operator has no SMS credits left (the portal still shows it)"
# GSM 03.38: the basic set (one septet each) and the extension (two, with the escape).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def message_parts(body: str) -> int:
    """How many SMS the text is sent as (what it costs): 160 GSM-7 septets in one, 153 a part
    when split; else UCS-2, 70 UTF-16 units in one, 67 a part."""
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in body):
        septets = len(body) + sum(c in GSM_EXTENSION for c in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def _charged(session: Session, message_id: int, outgoing: Outgoing) -> _Claim | str:
    """The operator pays the message's parts in credits, in the claim's transaction (one
    atomic UPDATE: two at once cannot both spend the last credit); without enough, it is not
    sent, and says why."""
    parts = message_parts(outgoing.body)
    if not outgoing.metered:
        return _Claim(message_id, outgoing.phone, outgoing.body)
    paid = session.execute(
        update(Operator)
        .where(Operator.id == outgoing.operator_id, Operator.sms_credits >= parts)
        .values(sms_credits=Operator.sms_credits - parts)
        .returning(Operator.id)
    ).first()
    unmetered = paid is None and session.scalar(
        select(Operator.sms_credits.is_(None)).where(Operator.id == outgoing.operator_id)
    )
    if paid is not None or unmetered:  # an unmetered operator's row is not written each SMS
        return _Claim(message_id, outgoing.phone, outgoing.body)
    session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id)
        .values(status=SmsStatus.FAILED, error=NO_CREDITS, credits=0)
    )
    log.warning("sms %s: %s (operator %s)", outgoing.key, NO_CREDITS, outgoing.operator_id)
    return NO_CREDITS


def _claim(sessions: sessionmaker[Session], outgoing: Outgoing) -> _Claim | str:
    """The claim, in its own committed transaction; or why there is nothing to send."""
    with transaction(sessions) as session:
        created = session.scalar(
            insert(SmsMessage)
            .values(
                idempotency_key=outgoing.key,
                operator_id=outgoing.operator_id,
                user_id=outgoing.user_id,
                phone=outgoing.phone,
                purpose=outgoing.purpose,
                body=outgoing.body,
                status=SmsStatus.CLAIMED,
                credits=message_parts(outgoing.body) if outgoing.metered else 0,
            )
            .on_conflict_do_nothing(index_elements=[SmsMessage.idempotency_key])
            .returning(SmsMessage.id)
        )
        if created is not None:
            return _charged(session, created, outgoing)
        # A released claim is taken back by one atomic UPDATE: of two retries, one wins.
        # It sends what was recorded, so the row always shows what went out.
        retaken = session.execute(
            update(SmsMessage)
            .where(
                SmsMessage.idempotency_key == outgoing.key,
                SmsMessage.status == SmsStatus.CLAIMED,
                SmsMessage.error.startswith(RETRYING),
            )
            .values(error=None)
            .returning(SmsMessage.id, SmsMessage.phone, SmsMessage.body)
        ).first()
        if retaken is not None:
            return _Claim(*retaken)
        row = session.scalars(
            select(SmsMessage).where(SmsMessage.idempotency_key == outgoing.key)
        ).one()
        if row.status is not SmsStatus.CLAIMED:
            return f"already {row.status.value}"
        if row.error is not None:
            return row.error
        session.execute(
            update(SmsMessage)
            .where(
                SmsMessage.id == row.id,
                SmsMessage.status == SmsStatus.CLAIMED,
                SmsMessage.error.is_(None),
            )
            .values(error=HELD_BY_ANOTHER_RUN)
        )
    log.error("sms %s: %s", outgoing.key, HELD_BY_ANOTHER_RUN)
    return HELD_BY_ANOTHER_RUN


def _finish(sessions: sessionmaker[Session], claim_id: int, key: str, **values: Any) -> None:
    """Records the outcome on a row still claimed; a row an operator settled meanwhile is kept."""
    values.setdefault("error", None)
    with transaction(sessions) as session:
        changed = session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == claim_id, SmsMessage.status == SmsStatus.CLAIMED)
            .values(**values)
            .returning(SmsMessage.id)
        ).first()
    if changed is None:
        log.warning("sms %s: settled elsewhere while sending; kept as it is", key)


# ---------------------------------------------------------------------------------------------
# Messages


def customer_time(moment: dt.datetime, offset_hours: int) -> str:
    """Like "24 Nov 2026 14:05", in the customer's zone; English months whatever the locale."""
    local = moment.astimezone(dt.timezone(dt.timedelta(hours=offset_hours)))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H:%M}"


def credentials_text(
    template: str,
    *,
    username: str,
    password: str,
    expires_at: dt.datetime,
    package: str,
    offset_hours: int,
) -> str:
    try:
        return template.format(
            username=username,
            password=password,
            expires_at=customer_time(expires_at, offset_hours),
            package=package,
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"HOTSPOT_SMS_TEMPLATE cannot be filled in: {exc!r}") from None


# ---------------------------------------------------------------------------------------------
# Delivery reports


def record_delivery_report(
    session: Session, *, message_id: str, status: str, failure_reason: str | None = None
) -> SmsMessage:
    """Applies one report to the message AT numbered `message_id`.

    Only a `sent` message moves, and only on a final status, so repeated or late reports change
    nothing.
    """
    message_id = _report_field("id", message_id)
    status = _report_field("status", status)
    reason = _report_field("failureReason", failure_reason) if failure_reason else None
    message = session.scalars(
        select(SmsMessage)
        .where(SmsMessage.provider_message_id == message_id)
        .order_by(SmsMessage.id)
        .with_for_update()
    ).first()
    if message is None:
        raise NotFoundError(f"no SMS with message id {message_id!r}")
    final = FINAL_REPORTS.get(status)
    if final is not None and message.status is SmsStatus.SENT:
        message.status = final
        if final is SmsStatus.FAILED:
            message.error = f"{status}: {reason or 'no reason given'}"
        session.flush()
    return message


def _report_field(name: str, value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInputError(f"{name} is required")
    if len(text) > REPORT_FIELD_MAX or not text.isprintable():
        raise InvalidInputError(f"{name} is not a plausible value")
    return text
