"""`/api/admin/vouchers/batches`: printed codes, a batch at a time."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hotspot.billing.voucher_admin import (
    CreateVoucherBatch,
    RevokeVoucherBatch,
    create_voucher_batch,
    list_voucher_batches,
    revoke_voucher_batch,
)
from hotspot.core.errors import InvalidInputError
from hotspot.models import AdminRole
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor, now
from hotspot.web.admin.reading import Body, int_arg, listing_page
from hotspot.web.admin.serializers import listing, package_json
from hotspot.web.auth import requires
from hotspot.web.serializers import iso
from hotspot.web.voucher_sheet import batch_sheets

vouchers = Blueprint("vouchers", __name__)


FORMATS = ("json", "pdf")
MAX_PDF_CARDS = 1000  # rendering holds an API thread (and the GIL) a few ms a card


def create_command() -> tuple[CreateVoucherBatch, str]:
    body = Body(("package_id", "count", "batch", "format"))
    package_id, count = body.integer("package_id"), body.integer("count")
    answer = body.optional_text("format") or "json"
    if answer not in FORMATS:
        raise InvalidInputError("format: json (the codes) or pdf (sheets of cards to print)")
    if answer == "pdf" and count > MAX_PDF_CARDS:
        raise InvalidInputError(
            f"a PDF through the API holds at most {MAX_PDF_CARDS} cards (about six seconds of "
            "work): print larger batches with `hotspot vouchers generate --pdf`"
        )
    return CreateVoucherBatch(package_id, count, body.optional_text("batch")), answer


@vouchers.post("/vouchers/batches")
@requires(AdminRole.ADMIN)
def create() -> Any:
    """The codes are shown this once: in the JSON answer, or printed on the PDF's cards (made
    before the commit, so a sheet that cannot be made leaves no code behind)."""
    command, answer = create_command()
    with sessions().begin() as session:
        created = create_voucher_batch(session, actor(), command, now())
        if answer == "pdf":
            document = batch_sheets(session, created, settings().public_base_url)
        else:
            shown = {
                "batch": created.batch,
                "package": package_json(created.package),
                "count": len(created.codes),
                "codes": created.codes,
            }
    if answer == "json":
        return jsonify(shown), 201
    response = Response(document, status=201, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="vouchers-{created.batch}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


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
