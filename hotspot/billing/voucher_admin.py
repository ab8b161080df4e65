"""What an operator does with vouchers: create a batch of codes, count and revoke batches, each
write audited (the audit log has counts, never codes).

A batch holds at most `MAX_VOUCHERS_PER_BATCH` codes, from the API and from the shell alike.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotspot.billing.vouchers import generate
from hotspot.catalog.package_admin import package_on_sale
from hotspot.core.errors import ConflictError, InvalidInputError, NotFoundError
from hotspot.core.values import bounded, required_text
from hotspot.models import Package, Voucher, VoucherStatus
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.listing import Listing, Page, paged_rows

MAX_VOUCHERS_PER_BATCH = 10_000
MAX_LABEL_LENGTH = 64
# A label names its batch in the admin API's paths (…/batches/<batch>/revoke), whoever made it,
# so it keeps to characters a URL carries as they are.
LABEL_CHARACTERS = re.compile(r"[A-Za-z0-9._:-]*")


@dataclass(frozen=True)
class CreateVoucherBatch:
    package_id: int
    count: int
    batch: str | None = None  # the label; by default the time and a random suffix


@dataclass(frozen=True)
class RevokeVoucherBatch:
    batch: str


@dataclass(frozen=True)
class VoucherBatch:
    batch: str | None
    package_id: int
    package_name: str
    created_at: dt.datetime
    counts: dict[str, int]


@dataclass(frozen=True)
class CreatedBatch:
    """The codes are returned this once."""

    batch: str
    package: Package
    codes: list[str]


def create_voucher_batch(
    session: Session,
    actor: Actor,
    command: CreateVoucherBatch,
    now: dt.datetime,
) -> CreatedBatch:
    """New codes for a package on sale."""
    package = package_on_sale(session, actor, command.package_id)
    count = bounded(command.count, "count", 1, MAX_VOUCHERS_PER_BATCH)
    if command.batch is not None:
        label = required_text(command.batch, "batch", MAX_LABEL_LENGTH)
        if not LABEL_CHARACTERS.fullmatch(label):
            raise InvalidInputError("batch may contain only letters, digits and . _ : -")
    else:
        label = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    taken = select(Voucher.id).where(
        Voucher.operator_id == package.operator_id, Voucher.batch == label
    )
    if session.scalar(taken.limit(1)) is not None:
        raise ConflictError(f"batch {label!r} already exists")
    codes = list(generate(session, package, count, label))
    audit(
        session,
        actor,
        "vouchers.create",
        f"voucher-batch:{label}",
        {"package_id": package.id, "package": package.name, "count": len(codes)},
        owner=package.operator_id,
    )
    return CreatedBatch(label, package, codes)


def list_voucher_batches(
    session: Session, actor: Actor, package_id: int | None, page: Page
) -> Listing[VoucherBatch]:
    counts = {
        status: func.count().filter(Voucher.status == status).label(status.value)
        for status in VoucherStatus
    }
    stmt = (
        select(
            Voucher.batch,
            Voucher.package_id,
            Package.name,
            func.min(Voucher.created_at).label("created_at"),
            *counts.values(),
        )
        .join(Package, Package.id == Voucher.package_id)
        .group_by(Voucher.batch, Voucher.package_id, Package.name)
        .order_by(func.min(Voucher.created_at).desc(), Voucher.batch)
    )
    stmt = actor.visible(stmt, Voucher.operator_id)
    if package_id is not None:
        stmt = stmt.where(Voucher.package_id == package_id)
    rows = paged_rows(session, stmt, page)
    batches = [
        VoucherBatch(
            batch=row.batch,
            package_id=row.package_id,
            package_name=row.name,
            created_at=row.created_at,
            counts={s.value: int(getattr(row, s.value)) for s in VoucherStatus},
        )
        for row in rows.items
    ]
    return Listing(batches, rows.page, rows.next_offset)


def revoke_voucher_batch(session: Session, actor: Actor, command: RevokeVoucherBatch) -> int:
    """Revokes the batch's unused codes (redeemed ones stay redeemed); returns how many."""
    batch = command.batch
    owners = set(
        session.scalars(
            actor.visible(select(Voucher.operator_id), Voucher.operator_id)
            .where(Voucher.batch == batch)
            .distinct()
        )
    )
    if not owners:
        raise NotFoundError(f"no voucher batch {batch!r}")
    revoked = session.scalars(
        update(Voucher)
        .where(
            Voucher.batch == batch,
            Voucher.status == VoucherStatus.UNUSED,
            Voucher.operator_id.in_(owners),
        )
        .values(status=VoucherStatus.REVOKED)
        .returning(Voucher.id)
    ).all()
    audit(
        session,
        actor,
        "vouchers.revoke",
        f"voucher-batch:{batch}",
        {"revoked": len(revoked)},
        owner=owners.pop() if len(owners) == 1 else None,
    )
    return len(revoked)
