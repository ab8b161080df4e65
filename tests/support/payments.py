"""A customer paying through the API, and the bodies M-Pesa sends: STK callbacks and C2B."""

from __future__ import annotations

import secrets
import time
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.adapters.daraja import DarajaClient, DarajaConfig
from hotspot.adapters.daraja_tokens import MemoryTokenCache
from hotspot.adapters.mpesa_collections import MpesaCollections
from hotspot.billing.payments import Initiated, PaymentRequest, create_payment
from hotspot.dev.sandbox.mpesa.rules import PHONE_SUFFIXES
from hotspot.models import Package
from hotspot.operators.tenants import default_operator_id
from tests.support.harness import ApiUnderTest

SETTLE_TIMEOUT = 10.0


def random_phone(suffix: str = "") -> str:
    """A fresh Kenyan mobile number; the sandbox picks outcomes by the last four digits."""
    digits = f"{secrets.randbelow(10**8):08d}"
    if suffix:
        digits = digits[: 8 - len(suffix)] + suffix
    elif digits[-4:] in PHONE_SUFFIXES:  # a chance draw of a failing outcome: draw again
        return random_phone()
    return "07" + digits


def mpesa_payment(session: Session, package: int, phone: str) -> Initiated:
    """A pending M-Pesa payment made as the portal's request makes it, with no push sent."""
    daraja = DarajaClient(DarajaConfig("http://127.0.0.1:9", "key", "secret", "174379", "pass"),
                          MemoryTokenCache())  # fmt: skip
    return create_payment(
        session,
        PaymentRequest(package, phone),
        gateway_for=lambda _operator, _name: MpesaCollections(daraja, 10),
        installation_gateways=("mpesa",),
    )


def package_id(committed: sessionmaker[Session], name: str) -> int:
    with committed() as session:
        return session.scalars(
            select(Package.id).where(
                Package.name == name, Package.operator_id == default_operator_id(session)
            )
        ).one()


def pay(api: ApiUnderTest, phone: str, package: int, **extra: Any) -> requests.Response:
    return requests.post(
        f"{api.url}/api/payments", json={"package_id": package, "phone": phone, **extra}, timeout=10
    )


def wait_for_status(api: ApiUnderTest, created: dict[str, Any], *wanted: str) -> dict[str, Any]:
    """Polls a payment as its portal does, with the portal token `created` (the 201) holds."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        shown: dict[str, Any] = requests.get(
            f"{api.url}/api/payments/{created['id']}",
            headers={"X-Portal-Token": created["portal_token"]},
            timeout=5,
        ).json()
        if shown["status"] in wanted or time.monotonic() > deadline:
            return shown
        time.sleep(0.05)


def credentials(api: ApiUnderTest, payment: dict[str, Any], token: str | None) -> requests.Response:
    headers = {"X-Portal-Token": token} if token is not None else {}
    return requests.get(
        f"{api.url}/api/payments/{payment['id']}/credentials", headers=headers, timeout=5
    )


def success_callback(checkout_request_id: str, amount: Any, receipt: str) -> dict[str, Any]:
    return {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": "29115-34620561-1",
                "CheckoutRequestID": checkout_request_id,
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
                "CallbackMetadata": {
                    "Item": [
                        {"Name": "MpesaReceiptNumber", "Value": receipt},
                        {"Name": "Balance"},
                        {"Name": "TransactionDate", "Value": 20191219102115},
                        {"Name": "PhoneNumber", "Value": 254708374149},
                        {"Name": "Amount", "Value": amount},
                    ]
                },
            }
        }
    }


def failure_callback(checkout_request_id: str, code: int, desc: str) -> dict[str, Any]:
    return {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": "29115-34620561-1",
                "CheckoutRequestID": checkout_request_id,
                "ResultCode": code,
                "ResultDesc": desc,
            }
        }
    }


def receipt() -> str:
    return "T" + secrets.token_hex(5).upper()


def c2b_body(reference: str, amount: str, trans_id: str | None = None) -> dict[str, Any]:
    return {
        "TransactionType": "Pay Bill",
        "TransID": trans_id or receipt(),
        "TransTime": "20231121121325",
        "TransAmount": amount,
        "BusinessShortCode": "600966",
        "BillRefNumber": reference,
        "InvoiceNumber": "",
        "OrgAccountBalance": "25.00",
        "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 126",
        "FirstName": "NICHOLAS",
        "MiddleName": "",
        "LastName": "",
    }
