"""Vouchers: printed codes that buy a package without a phone payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from hotspot.access.provisioning import Credentials, new_user
from hotspot.core.codes import random_code
from hotspot.core.errors import NotFoundError
from hotspot.models import Package, Voucher, VoucherStatus

CODE_LENGTH = 10  # 31^10 ≈ 8·10^14: guessing one of a million live codes takes ~10^9 tries
BATCH_ROWS = 1000


def normalize_code(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def generate(
    session: Session,
    package: Package,
    count: int,
    batch: str,
) -> Iterator[str]:
    """Inserts `count` new codes, chunk by chunk, yielding each; a rare clash is redrawn."""
    made = 0
    while made < count:
        wanted = min(BATCH_ROWS, count - made)
        codes = {random_code(CODE_LENGTH) for _ in range(wanted)}
        inserted = session.scalars(
            pg_insert(Voucher)
            .values(
                [
                    {
                        "code": c,
                        "operator_id": package.operator_id,
                        "package_id": package.id,
                        "batch": batch,
                    }
                    for c in codes
                ]
            )
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(Voucher.code)
        ).all()
        made += len(inserted)
        yield from inserted


def redeem(session: Session, code: str, now: dt.datetime) -> Credentials:
    """One voucher, one user: the conditional UPDATE lets exactly one concurrent attempt win."""
    voucher = session.scalar(
        update(Voucher)
        .where(Voucher.code == normalize_code(code), Voucher.status == VoucherStatus.UNUSED)
        .values(status=VoucherStatus.REDEEMED, redeemed_at=now)
        .returning(Voucher)
    )
    if voucher is None:
        # The same answer for unknown and used codes: it must not reveal which codes exist.
        raise NotFoundError("this code is not valid, or was already used")
    package = session.get_one(Package, voucher.package_id)
    credentials = new_user(session, package, phone=None, now=now)
    voucher.redeemed_by = credentials.user_id
    return credentials
