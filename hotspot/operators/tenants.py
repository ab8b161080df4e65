"""The operators (ISPs) an installation serves: created by the platform, their settings changed
by the platform or their own admins, each change audited. M-Pesa credentials are sealed
(hotspot/core/sealing.py) and never shown back: reading an operator says only whether it has
them."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from hotspot.core.phones import normalize_phone
from hotspot.core.sealing import seal, unseal
from hotspot.core.settings import KNOWN_GATEWAYS
from hotspot.core.values import UNCHANGED, Unchanged, given_fields, optional_text, required_text
from hotspot.models import DEFAULT_OPERATOR_CODE, Operator
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.listing import Listing, Page, paged

CODE = re.compile(r"[A-Z0-9]{2,12}")
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
COLOR_NAMES = ("primary", "accent")
SECRET_NAMES = ("consumer_key", "consumer_secret", "passkey")
# An operator's own app at each of the other gateways (the installation's when it has none).
GATEWAY_SECRET_NAMES = {
    "iotec": ("client_id", "client_secret", "wallet_id", "ipn_secret"),
    "campay": ("username", "password", "webhook_key"),
}
SETTINGS = (
    "name",
    "currency",
    "phone_region",
    "sms_sender_id",
    "contact_phone",
    "portal_name",
    "portal_colors",
    "mpesa_shortcode",
    "commission_rate",
    "gateways",
)


@dataclass(frozen=True)
class MpesaSecrets:
    consumer_key: str
    consumer_secret: str
    passkey: str


@dataclass(frozen=True)
class CreateOperator:
    code: str
    name: str


@dataclass(frozen=True)
class ChangeOperator:
    """Only the fields given change; None empties a setting (the installation's applies)."""

    code: str
    name: str | Unchanged = UNCHANGED
    currency: str | Unchanged | None = UNCHANGED
    phone_region: str | Unchanged | None = UNCHANGED
    sms_sender_id: str | Unchanged | None = UNCHANGED
    contact_phone: str | Unchanged | None = UNCHANGED
    portal_name: str | Unchanged | None = UNCHANGED
    portal_colors: dict[str, str] | Unchanged = UNCHANGED
    mpesa_shortcode: str | Unchanged | None = UNCHANGED
    commission_rate: Decimal | Unchanged = UNCHANGED
    mpesa_secrets: MpesaSecrets | Unchanged | None = UNCHANGED
    gateways: list[str] | Unchanged | None = UNCHANGED
    # {gateway: {name: value}} replaces those gateways' credentials; {gateway: None} removes them.
    gateway_secrets: dict[str, dict[str, str] | None] | Unchanged = UNCHANGED


def default_operator_id(session: Session) -> int:
    """The installation's own operator (every upgraded installation's data is its)."""
    found: int = session.scalars(
        select(Operator.id).where(Operator.code == DEFAULT_OPERATOR_CODE)
    ).one()
    return found


def sender_of(session: Session, operator_id: int) -> str | None:
    """The SMS sender ID the operator's customers see (None: the installation's)."""
    found: str | None = session.scalar(
        select(Operator.sms_sender_id).where(Operator.id == operator_id)
    )
    return found


def list_operators(session: Session, actor: Actor, page: Page) -> Listing[Operator]:
    return paged(session, actor.visible(select(Operator), Operator.id).order_by(Operator.id), page)


def get_operator(session: Session, actor: Actor, code: str, *, lock: bool = False) -> Operator:
    stmt = select(Operator).where(Operator.code == code.strip().upper())
    found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None or not actor.sees(found.id):
        raise NotFoundError(f"no operator {code!r}")
    return found


def create_operator(session: Session, actor: Actor, command: CreateOperator) -> Operator:
    if not actor.platform:
        raise ForbiddenError("only a platform token creates operators")
    code = command.code.strip().upper()
    if not CODE.fullmatch(code):
        raise InvalidInputError("code must be 2 to 12 capital letters or digits, e.g. NETX")
    if session.scalar(select(Operator.id).where(Operator.code == code)) is not None:
        raise ConflictError(f"an operator {code} already exists")
    # A new operator's customer SMS wait for credits it buys (SMS<code> by paybill).
    operator = Operator(code=code, name=required_text(command.name, "name", 100), sms_credits=0)
    session.add(operator)
    session.flush()
    audit(session, actor, "operator.create", f"operator:{code}", {"name": operator.name},
          owner=operator.id)  # fmt: skip
    return operator


def change_operator(
    session: Session, actor: Actor, command: ChangeOperator, *, key: str, now: dt.datetime
) -> Operator:
    """The platform changes anything; an operator's own admins all but the commission."""
    operator = get_operator(session, actor, command.code, lock=True)
    given = given_fields(command, "code")
    if not given:
        raise InvalidInputError(f"nothing to change (fields: {', '.join(SETTINGS)})")
    if "commission_rate" in given and not actor.platform:
        raise ForbiddenError("the platform sets the commission")
    changed: dict[str, Any] = {}
    for name, value in given.items():
        if name == "mpesa_secrets":
            operator.mpesa_secrets = None if value is None else _sealed(key, operator, value)
            changed["mpesa_secrets"] = "removed" if value is None else "replaced"
            continue
        if name == "gateway_secrets":
            changed["gateway_secrets"] = _reseal(key, operator, value)
            continue
        checked = _RULES[name](value)
        if getattr(operator, name) != checked:
            changed[name] = {"from": _shown(getattr(operator, name)), "to": _shown(checked)}
            setattr(operator, name, checked)
    if changed:
        operator.updated_at = now
        audit(session, actor, "operator.change", f"operator:{operator.code}",
              {"changes": changed}, owner=operator.id)  # fmt: skip
    return operator


def mpesa_secrets(operator: Operator, key: str) -> MpesaSecrets | None:
    """The operator's own Daraja credentials, opened (None: it uses the installation's)."""
    if operator.mpesa_secrets is None:
        return None
    opened = json.loads(unseal(key, operator.mpesa_secrets, _context(operator)))
    return MpesaSecrets(**{name: opened[name] for name in SECRET_NAMES})


def _sealed(key: str, operator: Operator, secrets: MpesaSecrets) -> bytes:
    values = {name: required_text(getattr(secrets, name), name, 200) for name in SECRET_NAMES}
    return seal(key, json.dumps(values).encode(), _context(operator))


def _context(operator: Operator) -> str:
    return f"operator:{operator.id}:mpesa"


def gateway_secrets(operator: Operator, key: str) -> dict[str, dict[str, str]]:
    """The operator's own ioTec/CamPay credentials, opened, by gateway."""
    if operator.gateway_secrets is None:
        return {}
    opened: dict[str, dict[str, str]] = json.loads(
        unseal(key, operator.gateway_secrets, f"operator:{operator.id}:gateways")
    )
    return opened


def _reseal(key: str, operator: Operator, given: Any) -> dict[str, str]:
    """Replaces or removes the given gateways' credentials; says which, never what."""
    if not isinstance(given, dict) or not given or set(given) - set(GATEWAY_SECRET_NAMES):
        raise InvalidInputError(
            f"gateway_credentials is an object of {', '.join(GATEWAY_SECRET_NAMES)}"
        )
    kept = gateway_secrets(operator, key)
    for gateway, values in given.items():
        names = GATEWAY_SECRET_NAMES[gateway]
        if values is None:
            kept.pop(gateway, None)
        elif not isinstance(values, dict) or set(values) != set(names):
            raise InvalidInputError(
                f"gateway_credentials.{gateway} is an object of {', '.join(names)}"
            )
        else:
            kept[gateway] = {name: required_text(values[name], name, 200) for name in names}
    sealed = json.dumps(kept).encode()
    context = f"operator:{operator.id}:gateways"
    operator.gateway_secrets = seal(key, sealed, context) if kept else None
    return {
        gateway: "removed" if values is None else "replaced" for gateway, values in given.items()
    }


def _gateways(value: Any) -> list[str] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or len(set(value)) != len(value)
        or any(name not in KNOWN_GATEWAYS for name in value)
    ):
        raise InvalidInputError(
            f"gateways is a list of some of {', '.join(KNOWN_GATEWAYS)}, in order"
        )
    return list(value)


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _colors(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - set(COLOR_NAMES):
        raise InvalidInputError(f"portal_colors is an object of {', '.join(COLOR_NAMES)}")
    for name, color in value.items():
        if not isinstance(color, str) or not COLOR.fullmatch(color):
            raise InvalidInputError(f"portal_colors.{name} must be like #1a7f5a")
    return dict(value)


def _commission(value: Any) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInputError("commission_rate must be a fraction, e.g. 0.05") from None
    if not (rate.is_finite() and Decimal(0) <= rate < 1) or rate != rate.quantize(
        Decimal("0.0001")
    ):
        raise InvalidInputError("commission_rate is a fraction from 0 to below 1, 4 decimals")
    return rate.quantize(Decimal("0.0001"))


def _upper(name: str, length: int) -> Any:
    def check(value: Any) -> str | None:
        text = optional_text(value, name, length)
        if text is not None and not re.fullmatch(f"[A-Za-z]{{{length}}}", text):
            raise InvalidInputError(f"{name} must be {length} letters")
        return text.upper() if text is not None else None

    return check


_RULES: dict[str, Any] = {
    "name": lambda v: required_text(v, "name", 100),
    "currency": _upper("currency", 3),
    "phone_region": _upper("phone_region", 2),
    "sms_sender_id": lambda v: optional_text(v, "sms_sender_id", 11),
    "contact_phone": lambda v: None if v in (None, "") else normalize_phone(v, "KE"),
    "portal_name": lambda v: optional_text(v, "portal_name", 60),
    "portal_colors": _colors,
    "mpesa_shortcode": lambda v: optional_text(v, "mpesa_shortcode", 12),
    "commission_rate": _commission,
    "gateways": _gateways,
}
