"""An operator's own M-Pesa app (issue 15, point 1): its customers' STK pushes and queries go
through its shortcode and sealed credentials, not the installation's."""

from __future__ import annotations

import datetime as dt
import secrets

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.mpesa_collections import MpesaCollections
from hotspot.billing.payment_state import AfterCommit
from hotspot.billing.settlement import reconcile
from hotspot.models import AdminRole, Operator, Payment
from hotspot.operators.tokens import create_token
from tests.support.admin import Admin
from tests.support.factories import make_operator, make_package
from tests.support.harness import ApiUnderTest, MpesaSandboxUnderTest
from tests.support.payments import pay, random_phone, wait_for_status
from tests.support.stack import StackUnderTest


def test_an_operators_customers_pay_through_its_own_shortcode(
    api: ApiUnderTest,
    mpesa: MpesaSandboxUnderTest,
    stack: StackUnderTest,
    committed: sessionmaker[Session],
) -> None:
    shortcode = f"6{secrets.randbelow(10**5):05d}"
    app = {
        "consumer_key": f"ck-{secrets.token_hex(6)}",
        "consumer_secret": f"cs-{secrets.token_hex(12)}",
        "passkey": f"pk-{secrets.token_hex(16)}",
    }
    with committed.begin() as session:
        operator = make_operator(session)
        package_id = make_package(session, operator=operator).id
        token = create_token(session, f"own-{operator.code}", AdminRole.ADMIN, operator.id)
        code = operator.code
    Admin(api, token).ok("PATCH", f"/operators/{code}",
                         json={"mpesa_shortcode": shortcode, "mpesa_credentials": app})  # fmt: skip

    # Daraja does not know the app yet: the push is refused, so it was this app's, not ours.
    refused = pay(api, random_phone(), package_id)
    assert refused.status_code == 502, refused.text

    known = requests.post(f"{mpesa.url}/sandbox/apps", json={**app, "shortcode": shortcode},
                          timeout=5)  # fmt: skip
    assert known.status_code == 201
    created = pay(api, random_phone(), package_id)
    assert created.status_code == 201, created.text
    pushed = [
        p for p in requests.get(f"{mpesa.url}/sandbox/payments", timeout=5).json()["payments"]
        if p["checkout_request_id"] == created.json()["checkout_request_id"]
    ]  # fmt: skip
    assert pushed[0]["received"]["BusinessShortCode"] == shortcode
    assert wait_for_status(api, created.json(), "paid")["status"] == "paid"

    # The query of a payment goes through the same app.
    with committed() as session:
        payment = session.scalars(
            select(Payment).where(
                Payment.checkout_request_id == created.json()["checkout_request_id"]
            )
        ).one()
        assert session.get_one(Operator, payment.operator_id).code == code
    used = api.services.gateway_for(payment.operator_id)
    assert isinstance(used, MpesaCollections)
    assert used.config.shortcode == shortcode
    left = reconcile(api.services.sessions, api.services.gateway_for, payment.id,
                     window=dt.timedelta(minutes=5), after=AfterCommit())  # fmt: skip
    assert left is None  # already paid: nothing to ask
