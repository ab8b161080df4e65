"""Where paybill money goes, read from its account reference (BillRefNumber) by rules tried in
the order HOTSPOT_PAYBILL_RULES gives:

- `subscriber`: a PPPoE subscriber's account number;
- `hotspot`: a hotspot account's username or phone (the payer's own account);
- `sms`: `SMS<operator code>`, SMS credits for that operator;
- `wallet`: `ACC<operator code>`, the operator paying into its own wallet;
- none matches: unmatched money, kept for an admin.

One shortcode may serve every operator (the installation's, HOTSPOT_MPESA_SHORTCODE), or an
operator its own (`operators.mpesa_shortcode`): money to an operator's shortcode can only reach
that operator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.core.errors import InvalidInputError
from hotspot.core.phones import normalize_phone
from hotspot.models import HotspotUser, Operator, Subscriber
from hotspot.operators.tenants import default_operator_id

OPERATOR_REFERENCE = re.compile(r"(SMS|ACC)\s*([A-Z0-9]{2,12})")


@dataclass(frozen=True)
class Route:
    rule: str | None  # None: unmatched
    operator_id: int
    subscriber: Subscriber | None = None
    user: HotspotUser | None = None


@dataclass(frozen=True)
class Reference:
    text: str
    region: str
    scope: int | None  # the operator whose own shortcode took the money; None: the shared one
    lock: bool


Matcher = Callable[[Session, Reference], Route | None]


def route(
    session: Session,
    reference: str,
    *,
    shortcode: str | None,
    rules: Sequence[str],
    region: str,
    lock: bool = False,
) -> Route:
    """The first rule that names someone; else unmatched, with the shortcode's operator (or the
    installation's own, for the shared shortcode)."""
    scope = (
        session.scalar(select(Operator.id).where(Operator.mpesa_shortcode == shortcode))
        if shortcode
        else None
    )
    ref = Reference(reference.strip(), region, scope, lock)
    for rule in rules:
        found = MATCHERS[rule](session, ref)
        if found is not None:
            return found
    return Route(None, scope if scope is not None else default_operator_id(session))


def subscriber(session: Session, ref: Reference) -> Route | None:
    stmt = select(Subscriber).where(Subscriber.account_number == ref.text.upper())
    if ref.scope is not None:
        stmt = stmt.where(Subscriber.operator_id == ref.scope)
    found = session.scalar(stmt.with_for_update() if ref.lock else stmt)
    return Route("subscriber", found.operator_id, subscriber=found) if found else None


def hotspot(session: Session, ref: Reference) -> Route | None:
    user = find_account(session, ref.text, ref.region, ref.scope, lock=ref.lock)
    return Route("hotspot", user.operator_id, user=user) if user else None


def find_account(
    session: Session,
    reference: str,
    region: str,
    operator_id: int | None = None,
    *,
    lock: bool = True,
) -> HotspotUser | None:
    """A hotspot account as customers type it: its username or its phone number, among the
    accounts of `operator_id` (None: of every operator; a phone two operators' customers share
    then names nobody). The payer's MSISDN is hashed or masked by Safaricom: never used."""
    by_name = select(HotspotUser).where(HotspotUser.username == reference.lower())
    if operator_id is not None:
        by_name = by_name.where(HotspotUser.operator_id == operator_id)
    user = session.scalar(by_name.with_for_update() if lock else by_name)
    if user is not None:
        return user
    try:
        phone = normalize_phone(reference, region)
    except InvalidInputError:
        return None
    by_phone = select(HotspotUser).where(HotspotUser.phone == phone).limit(2)
    if operator_id is not None:
        by_phone = by_phone.where(HotspotUser.operator_id == operator_id)
    found = list(session.scalars(by_phone.with_for_update() if lock else by_phone))
    return found[0] if len(found) == 1 else None


def _operator_reference(prefix: str, rule: str) -> Matcher:
    def match(session: Session, ref: Reference) -> Route | None:
        parsed = OPERATOR_REFERENCE.fullmatch(ref.text.upper())
        if parsed is None or parsed.group(1) != prefix:
            return None
        operator_id = session.scalar(select(Operator.id).where(Operator.code == parsed.group(2)))
        if operator_id is None or ref.scope not in (None, operator_id):
            return None
        return Route(rule, operator_id)

    return match


MATCHERS: dict[str, Matcher] = {
    "subscriber": subscriber,
    "hotspot": hotspot,
    "sms": _operator_reference("SMS", "sms"),
    "wallet": _operator_reference("ACC", "wallet"),
}
