"""The fake customers of `hotspot nas-sim --demo`.

Each one buys the cheapest package through the API (the M-Pesa sandbox approves the payment),
logs in on the simulator with the credentials it gets, browses with growing counters until its
time is up or it is disconnected, and starts again. Apart from the simulator because only the
command uses them, and they speak HTTP to the API rather than RADIUS.
"""

from __future__ import annotations

import logging
import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import requests

from radius.nas_sim import NasSimulator
from radius.nas_sim_session import SimSession, parse_rate_limit, random_mac

log = logging.getLogger(__name__)

# The local M-Pesa sandbox decides outcomes by the phone's last four digits; the demo pays.
SANDBOX_OUTCOME_ENDINGS = frozenset({"1032", "1037", "2001", "0001", "1019", "0000", "0003"})


def random_phone(rng: random.Random) -> str:
    """A random Safaricom-looking `07…` number that the sandbox approves."""
    while True:
        phone = "07" + rng.choice("0129") + "".join(rng.choices(string.digits, k=7))
        if phone[-4:] not in SANDBOX_OUTCOME_ENDINGS:
            return phone


@dataclass(frozen=True)
class DemoTiming:
    """How the fake customers of `--demo` behave."""

    session_seconds: tuple[float, float] = (20.0, 90.0)  # online for a random while in this range
    pause_seconds: tuple[float, float] = (2.0, 8.0)  # before buying again
    traffic_step: float = 1.0  # seconds between traffic increments
    usage: tuple[float, float] = (0.05, 0.8)  # share of the rate limit actually used
    payment_timeout: float = 60.0  # give up waiting for "paid" after this
    http_timeout: float = 10.0


class DemoError(Exception):
    """A demo step that failed (API unreachable, payment failed…); the customer tries again."""


def buy_package(
    api_url: str, rng: random.Random, timing: DemoTiming, say: Callable[[str], None]
) -> tuple[str, str]:
    """Buy the cheapest package through the API and wait for the credentials."""
    http = requests.Session()
    try:
        response = http.get(f"{api_url}/api/packages", timeout=timing.http_timeout)
        response.raise_for_status()
        packages = response.json()["packages"]
        if not packages:
            raise DemoError("no packages on sale")
        package = min(packages, key=lambda p: (Decimal(str(p["price"])), p["id"]))
        phone = random_phone(rng)
        response = http.post(
            f"{api_url}/api/payments",
            json={"package_id": package["id"], "phone": phone},
            timeout=timing.http_timeout,
        )
        body = response.json()
        if response.status_code != 201:
            raise DemoError(f"payment refused ({response.status_code}): {body.get('error')}")
        payment_id, token = body["id"], body["portal_token"]
        say(
            f"{phone} pays {body.get('amount')} for {package['name']!r}: payment {payment_id}, "
            "STK push sent"
        )
        return wait_for_credentials(http, api_url, payment_id, token=token, timing=timing, say=say)
    except requests.ConnectionError as exc:
        raise DemoError(f"the API at {api_url} is not reachable") from exc
    except requests.RequestException as exc:
        raise DemoError(f"API at {api_url}: {exc}") from exc
    finally:
        http.close()


def wait_for_credentials(
    http: requests.Session,
    api_url: str,
    payment_id: int,
    *,
    token: str,
    timing: DemoTiming,
    say: Callable[[str], None],
) -> tuple[str, str]:
    """Poll a payment (read with its portal `token`) until its credentials come; one that fails,
    expires or stays unpaid for `timing.payment_timeout` is a DemoError."""
    deadline = time.monotonic() + timing.payment_timeout
    while time.monotonic() < deadline:
        response = http.get(
            f"{api_url}/api/payments/{payment_id}/credentials",
            headers={"X-Portal-Token": token},
            timeout=timing.http_timeout,
        )
        if response.status_code == 200:
            credentials = response.json()
            say(
                f"payment {payment_id} paid: user {credentials['username']} valid until "
                f"{credentials['expires_at']}"
            )
            return str(credentials["username"]), str(credentials["password"])
        if response.status_code != 409:
            raise DemoError(f"credentials: {response.status_code} {response.text.strip()}")
        status = http.get(
            f"{api_url}/api/payments/{payment_id}",
            headers={"X-Portal-Token": token},
            timeout=timing.http_timeout,
        )
        if status.ok and status.json().get("status") in ("failed", "expired"):
            raise DemoError(
                f"payment {payment_id} {status.json()['status']}: "
                f"{status.json().get('failure_reason')}"
            )
        time.sleep(0.5)
    raise DemoError(f"payment {payment_id} not paid after {timing.payment_timeout:g} s")


def demo_cycle(
    nas: NasSimulator,
    api_url: str,
    *,
    rng: random.Random,
    timing: DemoTiming,
    stop: threading.Event,
    say: Callable[[str], None],
) -> SimSession | None:
    """One customer's whole life cycle: buy, log in (CHAP), browse with growing counters (the
    simulator sends the Interim-Updates), and log out after a while unless disconnected first.
    Returns the session (ended), or None if the login was rejected."""
    username, password = buy_package(api_url, rng, timing, say)
    result = nas.login(username, password, chap=True, mac=random_mac(rng))
    if not result.accepted or result.session is None:
        say(f"{username}: Access-Reject ({result.reply_message or 'no message'})")
        return None
    session = result.session
    say(
        f"{username} online: session {session.session_id}, {session.ip} {session.mac}, "
        f"rate {session.rate_limit}, timeout {session.session_timeout} s"
    )
    rx, tx = parse_rate_limit(session.rate_limit or "1M/1M")
    online_for = rng.uniform(*timing.session_seconds)
    deadline = time.monotonic() + online_for
    while time.monotonic() < deadline and not stop.is_set():
        if session.wait_closed(timing.traffic_step):
            break
        step = timing.traffic_step
        nas.add_traffic(
            session,
            int(rx / 8 * step * rng.uniform(*timing.usage)),
            int(tx / 8 * step * rng.uniform(*timing.usage)),
        )
    if nas.logout(session, "User-Request"):
        say(
            f"{username} logs out after {session.session_time} s: "
            f"{session.input_octets} B up, {session.output_octets} B down"
        )
    else:
        session.wait_closed(nas.timeout * nas.retries + 1)
        say(
            f"{username} was disconnected ({session.terminate_cause}) after "
            f"{session.session_time} s"
        )
    return session


def start_demo_customer(
    nas: NasSimulator, api_url: str, number: int, timing: DemoTiming, stop: threading.Event
) -> threading.Thread:
    """Customer `number` in a thread of its own (a daemon: it need not be waited for)."""
    thread = threading.Thread(
        target=run_demo_customer,
        args=(nas, api_url, number, timing, stop),
        name=f"customer-{number}",
        daemon=True,
    )
    thread.start()
    return thread


def run_demo_customer(
    nas: NasSimulator, api_url: str, number: int, timing: DemoTiming, stop: threading.Event
) -> None:
    """A fake customer buying and browsing again and again until `stop` is set."""
    rng = random.Random()  # noqa: S311 - simulated behaviour, not secrets

    def say(text: str) -> None:
        log.info("[customer %d] %s", number, text)

    while not stop.is_set():
        try:
            demo_cycle(nas, api_url, rng=rng, timing=timing, stop=stop, say=say)
        except DemoError as exc:
            say(f"{exc}; trying again")
            stop.wait(5.0)
            continue
        except Exception as exc:
            say(f"failed: {exc!r}; trying again")
            stop.wait(5.0)
            continue
        stop.wait(rng.uniform(*timing.pause_seconds))
