"""Paybill money routed by its account reference (issue 15, points 4 and 5): rules in the
configured order, SMS<code> buying SMS credits, ACC<code> paying into an operator's wallet, an
operator's own shortcode reaching only that operator, anything else kept unmatched."""

from __future__ import annotations

import json
import secrets
import zoneinfo
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.billing.c2b import Paybill, confirm_c2b, validate_c2b
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.wallets import wallet
from hotspot.models import Operator, Payment, PaymentEvent
from hotspot.operators.actor import Actor
from tests.support.factories import make_operator, make_package, make_user
from tests.support.payments import c2b_body, receipt

PLATFORM = Actor("test", None)
RULES = ("subscriber", "hotspot", "sms", "wallet")


def paybill(rules: tuple[str, ...] = RULES) -> Paybill:
    return Paybill("KE", zoneinfo.ZoneInfo("Africa/Nairobi"), rules, Decimal("0.80"))


def confirm(
    committed: sessionmaker[Session],
    reference: str,
    amount: str,
    *,
    shortcode: str = "600966",
    rules: tuple[str, ...] = RULES,
) -> Payment:
    trans_id = receipt()
    body = {**c2b_body(reference, amount, trans_id), "BusinessShortCode": shortcode}
    confirm_c2b(committed, json.dumps(body).encode(), paybill(rules), AfterCommit())
    with committed() as session:
        return session.scalars(select(Payment).where(Payment.mpesa_receipt == trans_id)).one()


def events(committed: sessionmaker[Session], payment: Payment) -> dict[str, dict[str, object]]:
    with committed() as session:
        found = session.scalars(select(PaymentEvent).where(PaymentEvent.payment_id == payment.id))
        return {event.kind: event.detail for event in found}


def new_operator(committed: sessionmaker[Session], **settings: object) -> Operator:
    with committed.begin() as session:
        operator = make_operator(session, **settings)
        session.expunge(operator)
        return operator


def test_sms_code_buys_whole_credits_for_that_operator(committed: sessionmaker[Session]) -> None:
    operator = new_operator(committed, sms_credits=0, commission_rate=Decimal("0.1"))
    payment = confirm(committed, f"sms {operator.code.lower()}", "250")
    assert (payment.status.value, payment.purpose, payment.operator_id) == (
        "paid", "sms_credits", operator.id,
    )  # fmt: skip
    bought = events(committed, payment)["sms_credits_bought"]
    assert (bought["credits"], bought["unspent"], bought["balance"]) == (312, "0.40", 312)
    with committed() as session:
        assert session.get_one(Operator, operator.id).sms_credits == 312
        found = wallet(session, PLATFORM, operator.code)
        assert (found.balance, found.received) == (Decimal(0), Decimal(250))  # the platform's sale


def test_acc_code_pays_into_the_operators_wallet_without_commission(
    committed: sessionmaker[Session],
) -> None:
    operator = new_operator(committed, commission_rate=Decimal("0.1"))
    payment = confirm(committed, f"ACC{operator.code}", "1000")
    assert (payment.status.value, payment.purpose) == ("paid", "wallet")
    with committed() as session:
        assert wallet(session, PLATFORM, operator.code).balance == Decimal(1000)


def test_an_operators_own_shortcode_reaches_only_that_operator(
    committed: sessionmaker[Session],
) -> None:
    shortcode = f"7{secrets.randbelow(10**6):06d}"
    operator = new_operator(committed, mpesa_shortcode=shortcode)
    with committed.begin() as session:
        someone_elses = make_user(session).username  # the installation's own customer
        theirs = make_user(session, package=make_package(session, operator=operator)).username
    stray = confirm(committed, someone_elses, "20", shortcode=shortcode)
    assert (stray.status.value, stray.operator_id, stray.user_id) == (
        "unmatched", operator.id, None,
    )  # fmt: skip
    paid = confirm(committed, theirs, "20", shortcode=shortcode)
    assert (paid.status.value, paid.operator_id) == ("paid", operator.id)
    shared = confirm(committed, someone_elses, "20")  # the shared shortcode reaches everyone
    assert shared.status.value == "paid"


def test_rules_run_in_the_configured_order_and_nothing_matched_is_kept_unmatched(
    committed: sessionmaker[Session],
) -> None:
    operator = new_operator(committed, sms_credits=0)
    only_hotspot = confirm(committed, f"SMS{operator.code}", "100", rules=("hotspot",))
    assert only_hotspot.status.value == "unmatched"
    assert events(committed, only_hotspot)["unmatched"]["reference"] == f"SMS{operator.code}"
    nobody = confirm(committed, "NOBODY-AT-ALL", "100")
    assert (nobody.status.value, nobody.purpose) == ("unmatched", "access")
    body = json.dumps(c2b_body("NOBODY-AT-ALL", "100")).encode()
    assert validate_c2b(committed, body, paybill())[0] == "C2B00012"
    body = json.dumps(c2b_body(f"ACC{operator.code}", "100")).encode()
    assert validate_c2b(committed, body, paybill()) == ("0", "Accepted")


def test_a_repeated_confirmation_buys_credits_once(committed: sessionmaker[Session]) -> None:
    operator = new_operator(committed, sms_credits=0)
    body = json.dumps(c2b_body(f"SMS{operator.code}", "8", receipt())).encode()
    for _ in range(2):
        confirm_c2b(committed, body, paybill(), AfterCommit())
    with committed() as session:
        assert session.get_one(Operator, operator.id).sms_credits == 10
