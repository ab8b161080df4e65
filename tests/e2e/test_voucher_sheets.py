"""Printable vouchers: A4 sheets of cards from `hotspot vouchers generate --pdf` and from the admin
API, read back by rendering each page and decoding its QR codes, each of which opens the portal
with its own code filled in (in the URL's fragment, which no server ever receives)."""

from __future__ import annotations

import csv
import secrets
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.core.settings import Settings
from hotspot.models import AdminRole, AuditEntry, Package, Voucher, VoucherStatus
from hotspot.operators.tokens import create_token
from hotspot.web.voucher_sheet import COLUMNS, ROWS
from tests.support.admin import Admin
from tests.support.cli import run_hotspot
from tests.support.harness import ApiUnderTest
from tests.support.sheets import decoded_qr_codes, page_texts
from tests.support.stack import StackUnderTest

PER_SHEET = COLUMNS * ROWS


def url_of(settings: Settings, code: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/portal/voucher#code={code}"


def test_the_cli_prints_every_code_once_on_sheets_whose_qr_codes_open_the_portal(
    stack: StackUnderTest, tmp_path: Path
) -> None:
    count = PER_SHEET + 4  # a full sheet and the start of another
    pdf, listing = tmp_path / "cards.pdf", tmp_path / "codes.csv"
    batch = f"sheet-{secrets.token_hex(3)}"
    done = run_hotspot(
        stack.env(), "vouchers", "generate", "--package", "1 Day", "--count", str(count),
        "--batch", batch, "--pdf", str(pdf), "--out", str(listing), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pdf.stat().st_mode & 0o777 == 0o600
    with listing.open() as handle:
        codes = [row["code"] for row in csv.DictReader(handle)]
    assert len(codes) == count

    pages = decoded_qr_codes(pdf.read_bytes())
    assert [len(page) for page in pages] == [PER_SHEET, 4]
    assert sorted(url for page in pages for url in page) == sorted(
        url_of(stack.settings, code) for code in codes
    )
    first = page_texts(pdf.read_bytes())[0]
    for words in ("1 Day", "KES 50", "1 day", "5 GB", codes[0].upper(), f"batch {batch}"):
        assert words in first


def test_a_pdf_that_cannot_be_written_leaves_no_code_behind(
    stack: StackUnderTest, committed: sessionmaker[Session], tmp_path: Path
) -> None:
    taken = tmp_path / "taken.pdf"
    taken.write_bytes(b"someone else's")
    batch = f"unwritten-{secrets.token_hex(3)}"
    done = run_hotspot(
        stack.env(), "vouchers", "generate", "--package", "1 Day", "--count", "3",
        "--batch", batch, "--pdf", str(taken),
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot create" in done.stderr
    assert taken.read_bytes() == b"someone else's"
    with committed() as session:
        assert session.scalars(select(Voucher).where(Voucher.batch == batch)).all() == []


def test_the_admin_api_answers_a_batch_with_its_printable_sheets(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    with committed.begin() as session:
        package = session.scalars(select(Package).where(Package.name == "1 Hour")).one()
        token = create_token(session, f"sheets-{secrets.token_hex(3)}", AdminRole.ADMIN, None)
        viewer = create_token(session, f"sheets-{secrets.token_hex(3)}", AdminRole.VIEWER, None)
        package_id = package.id
    batch = f"api-{secrets.token_hex(3)}"
    asked = {"package_id": package_id, "count": 5, "batch": batch, "format": "pdf"}
    answer = Admin(api, token)("POST", "/vouchers/batches", json=asked)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="vouchers-{batch}.pdf"'
    assert answer.headers["Cache-Control"] == "no-store"
    with committed() as session:
        made = session.scalars(select(Voucher).where(Voucher.batch == batch)).all()
        audited = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.target == f"voucher-batch:{batch}")
        ).one()
    assert {v.status for v in made} == {VoucherStatus.UNUSED}
    [page] = decoded_qr_codes(answer.content)
    assert sorted(page) == sorted(url_of(api.services.settings, v.code) for v in made)
    assert audited["count"] == 5
    assert not any(v.code in str(audited) for v in made)

    refused = Admin(api, viewer)("POST", "/vouchers/batches", json=asked)
    assert refused.status_code == 403
    too_many = Admin(api, token)("POST", "/vouchers/batches", json={**asked, "count": 1001})
    assert too_many.status_code == 422
    assert "hotspot vouchers generate --pdf" in too_many.json()["error"]
    wrong = Admin(api, token)("POST", "/vouchers/batches", json={**asked, "format": "docx"})
    assert wrong.status_code == 422
    assert "format" in wrong.json()["error"]


def test_the_portal_page_a_qr_code_opens_is_served_without_the_code(
    api: ApiUnderTest,
) -> None:
    """What reaches the server of `…/portal/voucher#code=…`: the path, never the fragment."""
    served = requests.get(f"{api.url}/portal/voucher#code=ABCDEFGHJK", timeout=5)
    assert served.status_code == 200
    assert served.request.path_url == "/portal/voucher"
