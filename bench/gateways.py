"""bench/payments' gateways: what each sends us when money is paid, for pending payments made
the way the API makes them.

- M-Pesa: its STK callback, which settles in one SQL call.
- ioTec and CamPay: their webhook (with the wallet's header, or a signed JWT), on which the API
  asks the gateway's status endpoint before it settles: the local sandbox, run as a process of
  its own as `make run` runs it. Each collection is started at the sandbox by our own client, for
  a payer whose number tells the sandbox not to call back, so the bench alone sends webhooks.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import requests
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from hotspot.adapters import db
from hotspot.adapters.collections import CollectionRequest
from hotspot.billing.callback_tokens import stk_callback_url
from hotspot.billing.payments import hash_token
from hotspot.billing.settlement import external_id
from hotspot.core.settings import Settings
from hotspot.dev.sandbox.mobile_money.campay import signature
from hotspot.dev.seed import GATEWAY_DEMOS, seed_gateway_demos
from hotspot.dev.stack import Stack
from hotspot.models import Operator, Package, Payment, PaymentStatus
from hotspot.operators.tenants import default_operator_id
from hotspot.services import Services

GATEWAYS = ("mpesa", "iotec", "campay")
NO_WEBHOOK = "0000"  # the sandboxes' phone suffix: paid, and no webhook of their own


@dataclass(frozen=True)
class Delivery:
    """One callback or webhook as its gateway sends it, for one pending payment."""

    payment_id: int
    path: str
    body: bytes
    headers: dict[str, str]


def callback_body(checkout_request_id: str, amount: int) -> bytes:
    items = [
        {"Name": "Amount", "Value": amount},
        {"Name": "MpesaReceiptNumber", "Value": "B" + secrets.token_hex(5).upper()},
        {"Name": "TransactionDate", "Value": 20261123101010},
        {"Name": "PhoneNumber", "Value": 254700000000},
    ]
    return json.dumps(
        {
            "Body": {
                "stkCallback": {
                    "MerchantRequestID": "bench",
                    "CheckoutRequestID": checkout_request_id,
                    "ResultCode": 0,
                    "ResultDesc": "The service request is processed successfully.",
                    "CallbackMetadata": {"Item": items},
                }
            }
        }
    ).encode()


class BenchGateway:
    """One gateway's sandbox, operator, pending payments and deliveries."""

    def __init__(self, name: str, settings: Settings, portal_token: str) -> None:
        self.name = name
        self.settings = settings
        self.portal_token = portal_token
        self.demo = next((demo for demo in GATEWAY_DEMOS if demo.gateway == name), None)
        self.engine = db.make_engine(settings.effective_database_url)
        self.services = Services(settings)  # our own clients, as the API has them

    @property
    def nas_address(self) -> str:
        """Where logins come from: its operator's router (FreeRADIUS tells routers apart)."""
        return self.demo.nas_address if self.demo else "127.0.0.1"

    def start(self, stack: Stack, environment: dict[str, str]) -> None:
        """Its operator and router, and its sandbox (on the settings' port) final at once."""
        if self.demo is None:
            return
        with db.transaction(db.session_factory(self.engine)) as session:
            seed_gateway_demos(session, interim_interval=60)
        command = [sys.executable, "-m", "hotspot", "sandbox", self.name, "--delay", "0"]
        stack.spawn(f"sandbox-{self.name}", command, env=environment)
        s = self.settings
        port = s.sandbox_iotec_port if self.name == "iotec" else s.sandbox_campay_port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/sandbox/transactions", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"the {self.name} sandbox did not start")

    def deliveries(self, count: int) -> list[Delivery]:
        """`count` new pending payments, and what settles each."""
        payments = self.pending(count)
        if self.demo is None:
            path = urlsplit(stk_callback_url("", self.services.callback_tokens.current())).path
            return [
                Delivery(pid, path, callback_body(str(reference), amount), {})
                for pid, amount, _, reference in payments
            ]
        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(self.collected, payments))

    def collected(self, payment: tuple[int, int, str, str | None]) -> Delivery:
        """Started at the sandbox with our own client, as the API starts it."""
        payment_id, amount, phone, _ = payment
        ours = external_id(Payment(id=payment_id))
        started = self.services.gateway_for(None, self.name).collect(
            CollectionRequest(phone, amount, ours, "bench", "")
        )
        with self.engine.begin() as conn:
            conn.execute(update(Payment).where(Payment.id == payment_id)
                         .values(checkout_request_id=started.reference))  # fmt: skip
        s = self.settings
        if self.name == "iotec":
            body = {"id": started.reference, "externalId": ours, "status": "Success"}
            return Delivery(payment_id, "/api/callbacks/iotec", json.dumps(body).encode(),
                            {s.iotec_ipn_header: s.iotec_ipn_secret})  # fmt: skip
        body = {
            "reference": started.reference,
            "external_reference": ours,
            "status": "SUCCESSFUL",
            "signature": signature(s.campay_webhook_key, "bench"),
        }
        return Delivery(payment_id, "/api/callbacks/campay", json.dumps(body).encode(), {})

    def pending(self, count: int) -> list[tuple[int, int, str, str | None]]:
        """(id, amount, phone, reference) of new pending payments of this gateway's operator, in
        its currency; only M-Pesa's have their reference (a CheckoutRequestID) yet."""
        with self.engine.begin() as conn:
            operator = self.operator_id(conn)
            name = self.demo.package if self.demo else "1 Hour"
            package_id, price = conn.execute(
                select(Package.id, Package.price).where(
                    Package.name == name, Package.operator_id == operator
                )
            ).one()
            rows = [self.row(operator, package_id, Decimal(price)) for _ in range(count)]
            ids = conn.execute(insert(Payment).returning(Payment.id, sort_by_parameter_order=True),
                               rows).scalars().all()  # fmt: skip
        return [
            (int(pid), int(price), str(row["phone"]), row["checkout_request_id"])  # type: ignore[misc]
            for pid, row in zip(ids, rows, strict=True)
        ]

    def operator_id(self, conn: Connection) -> int:
        with Session(bind=conn) as session:
            if self.demo is None:
                return default_operator_id(session)
            return session.scalars(select(Operator.id).where(Operator.code == self.demo.code)).one()

    def row(self, operator: int, package_id: int, price: Decimal) -> dict[str, object]:
        return {
            "operator_id": operator,
            "package_id": package_id,
            "gateway": self.name,
            "currency": self.demo.currency if self.demo else "KES",
            "phone": self.phone(),
            "checkout_request_id": None if self.demo else f"ws_CO_bench_{secrets.token_hex(8)}",
            "amount": price,
            "status": PaymentStatus.PENDING,
            "portal_token_hash": hash_token(self.portal_token),
        }

    def phone(self) -> str:
        """A number of the gateway's country, ending in NO_WEBHOOK."""
        digits = f"{secrets.randbelow(100):02d}"
        if self.name == "iotec":
            return f"+256772{digits}{NO_WEBHOOK}"  # MTN Uganda
        if self.name == "campay":
            return f"+237677{digits}{NO_WEBHOOK}"  # MTN Cameroon
        return f"+2547{secrets.randbelow(10**8):08d}"

    def close(self) -> None:
        self.services.close()
        self.engine.dispose()
