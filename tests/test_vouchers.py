"""Vouchers: generated from `secrets` in bulk, redeemed exactly once."""

from __future__ import annotations

import csv
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from pyrad import packet
from sqlalchemy.orm import Session, sessionmaker

from hotspot.codes import ALPHABET
from hotspot.models import Package
from hotspot.vouchers import generate
from tests.conftest import ApiUnderTest, StackUnderTest
from tests.factories import make_package
from tests.test_freeradius import pyrad_login


def new_codes(committed: sessionmaker[Session], count: int) -> list[str]:
    with committed.begin() as session:
        package: Package = make_package(session)
        return list(generate(session, package, count, "tests"))


def redeem(api: ApiUnderTest, code: str) -> requests.Response:
    return requests.post(f"{api.url}/api/vouchers/redeem", json={"code": code}, timeout=10)


def test_the_cli_writes_a_csv_of_unique_unambiguous_codes(
    stack: StackUnderTest, tmp_path: Path
) -> None:
    out = tmp_path / "vouchers.csv"
    result = subprocess.run(
        [sys.executable, "-m", "hotspot", "vouchers", "generate", "--package", "1 Day",
         "--count", "10000", "--out", str(out)],
        env=stack.env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    codes = {row["code"] for row in rows}
    assert len(rows) == len(codes) == 10000
    assert all(len(code) == 10 and set(code) <= set(ALPHABET) for code in codes)
    assert {row["package"] for row in rows} == {"1 Day"}


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
