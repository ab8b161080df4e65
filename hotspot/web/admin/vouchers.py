"""`/api/admin/vouchers/batches`: printed codes, a batch at a time."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hotspot.billing.voucher_admin import (
    CreateVoucherBatch,
    RevokeVoucherBatch,
    create_voucher_batch,
    list_voucher_batches,
    revoke_voucher_batch,
)
from hotspot.models import AdminRole
from hotspot.web import sessions
from hotspot.web.admin.context import actor, now
from hotspot.web.admin.reading import Body, int_arg, listing_page
from hotspot.web.admin.serializers import listing, package_json
from hotspot.web.auth import requires
from hotspot.web.serializers import iso

vouchers = Blueprint("vouchers", __name__)


def create_command() -> CreateVoucherBatch:
    body = Body(("package_id", "count", "batch"))
    package_id, count = body.integer("package_id"), body.integer("count")
    return CreateVoucherBatch(package_id, count, body.optional_text("batch"))


@vouchers.post("/vouchers/batches")
@requires(AdminRole.ADMIN)
def create() -> Any:
    command = create_command()
    with sessions().begin() as session:
        created = create_voucher_batch(session, actor(), command, now())
        shown = {
            "batch": created.batch,
            "package": package_json(created.package),
            "count": len(created.codes),
        }
    return jsonify({**shown, "codes": created.codes}), 201


@vouchers.get("/vouchers/batches")
@requires(AdminRole.VIEWER)
def list_batches() -> Any:
    with sessions()() as session:
        found = list_voucher_batches(session, actor(), int_arg("package_id"), listing_page())
        return listing(
            "batches",
            found,
            [
                {
                    "batch": b.batch,
                    "package_id": b.package_id,
                    "package": b.package_name,
                    "created_at": iso(b.created_at),
                    "counts": b.counts,
                    "total": sum(b.counts.values()),
                }
                for b in found.items
            ],
        )


@vouchers.post("/vouchers/batches/<path:batch>/revoke")
@requires(AdminRole.ADMIN)
def revoke(batch: str) -> Any:
    with sessions().begin() as session:
        revoked = revoke_voucher_batch(session, actor(), RevokeVoucherBatch(batch))
    return jsonify(batch=batch, revoked=revoked)
