"""Schemathesis fuzzes the whole HTTP API from its OpenAPI document, against the real stack.

Requests are generated from the document (valid ones and, in the negative mode, invalid ones),
with an admin token so the admin API is exercised too, and with the real path tokens (M-Pesa's
callbacks, Africa's Talking's delivery reports) and a real account half of the time so the
handlers behind them get fuzzed input. No answer may be a 5xx, and each must have a documented
status, content type, headers and schema.

The API under fuzz has a database of its own (and its own Redis database), so whatever it
creates, changes or deletes leaves the rest of the suite alone. `make test` runs a bounded
number of examples with a fixed seed; `make fuzz` runs many more (FUZZ_EXAMPLES, FUZZ_SEED).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from hotspot.adapters import db
from hotspot.dev.seed import seed_demo
from hotspot.models import AdminRole, Package
from hotspot.operators.tenants import default_operator_id
from hotspot.operators.tokens import create_token
from tests.support.factories import make_user
from tests.support.harness import MpesaSandboxUnderTest, start_api
from tests.support.stack import StackUnderTest

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))  # per operation and phase
SEED = int(os.environ.get("FUZZ_SEED", "20261204"))
FUZZ_REDIS_DB = 15
NOT_READY = "GET /readyz 503"  # the right answer here: no rq worker or scheduler runs
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "ignored_auth",
)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass
class Tally:
    """WSGI middleware counting what the fuzzer sent and every 5xx the app answered."""

    app: Callable[[Environ, StartResponse], Iterable[bytes]]
    requests: int = 0
    server_errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def counted(status: str, headers: Any, exc_info: Any = None) -> Any:
            with self.lock:
                self.requests += 1
                if status.startswith("5"):
                    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
                    self.server_errors[f"{method} {path} {status[:3]}"] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, counted)


@dataclass
class FuzzTarget:
    url: str
    admin_token: str
    path_tokens: list[str]  # the M-Pesa callback token and the delivery-report token
    username: str  # of an account in the fuzzed database
    tally: Tally


def redis_database(url: str, number: int) -> str:
    return urlsplit(url)._replace(path=f"/{number}").geturl()


@pytest.fixture(scope="module")
def target(stack: StackUnderTest, mpesa: MpesaSandboxUnderTest) -> Iterator[FuzzTarget]:
    name = f"hotspot_fuzz_{secrets.token_hex(4)}"
    settings = stack.settings.with_changes(
        database_url=stack.server.create_database(name),
        redis_url=redis_database(stack.settings.effective_redis_url, FUZZ_REDIS_DB),
        mpesa_base_url=mpesa.url,
    )
    try:
        db.upgrade(settings)
        with db.one_off_transaction(settings.effective_database_url) as session:
            seed_demo(session, interim_interval=settings.acct_interim_interval, currency="KES")
            token = create_token(session, "fuzzer", AdminRole.ADMIN, default_operator_id(session))
            package = session.scalars(select(Package).where(Package.name == "1 Hour")).one()
            username = make_user(session, package=package).username
        server, services = start_api(settings)
        tally = Tally(server.server.app)
        server.server.app = tally
        try:
            tokens = [settings.mpesa_callback_token, settings.sms_delivery_report_token]
            yield FuzzTarget(server.url, token, tokens, username, tally)
        finally:
            server.stop()
            services.close()
    finally:
        stack.server.drop_database(name)


def toml(value: Any) -> str:
    return json.dumps(value)  # a JSON string or list is a TOML one too


def config(target: FuzzTarget) -> str:
    """schemathesis.toml for one run: the seed, the bounds and the tokens."""
    return f"""
seed = {SEED}
# Bodies of many fields with formats and patterns (a NAS) are often filtered while generated: a
# property of the generator, not of the API, which must not end the run.
suppress-health-check = ["filter_too_much"]
workers = 1
request-timeout = 20
max-stream-events = 5

[generation]
max-examples = {EXAMPLES}
database = "none"

[auth.openapi.adminToken]
bearer = {toml(target.admin_token)}

# Half of the time a real path token (M-Pesa's or Africa's Talking's) and the real account, so
# that the handlers behind them get the fuzzed input too.
[dictionaries.path-token]
values = {toml(target.path_tokens)}

[dictionaries.account]
values = {toml([target.username])}

[parameters]
"path.token" = {{ dictionary = "path-token", probability = 0.5 }}
"path.username" = {{ dictionary = "account", probability = 0.5 }}
"query.username" = {{ dictionary = "account", probability = 0.5 }}
"query.u" = {{ dictionary = "account", probability = 0.5 }}

# Not ready is what /readyz must answer here: no rq worker or scheduler runs for this API.
[[operations]]
include-path = "/readyz"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]
"""


def test_no_request_gets_a_5xx_or_an_undocumented_answer(
    target: FuzzTarget, tmp_path: Path
) -> None:
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(config(target))
    config_file.chmod(0o600)
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "--config-file",
            str(config_file),
            "--no-color",
            "run",
            f"{target.url}/api/openapi.json",
            "--checks",
            ",".join(CHECKS),
        ],
        cwd=tmp_path,  # where it keeps its own files
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    tally = target.tally
    print(f"\nfuzz (seed {SEED}, {EXAMPLES} examples): {tally.requests} requests, 5xx: ", end="")
    print(dict(tally.server_errors) or 0)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert [error for error in tally.server_errors if error != NOT_READY] == []
    assert tally.requests > 1000
