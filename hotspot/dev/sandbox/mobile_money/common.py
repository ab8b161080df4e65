"""What the ioTec and CamPay stand-ins share: tokens, the outcome a payer's number chooses, the
life of a collection from pending to final (and the webhooks it sends), and the switches that
make a provider slow or down.

Outcomes, by the last four digits of the payer's number, or `POST /sandbox/next-outcome`:
0000 no_webhook (paid, no webhook), 0002 duplicate_webhook, 0003 webhook_early (the webhook says
paid while the status still says pending, for one more delay), 0004 wrong_amount (paid, less
than asked), 0005 rolled_back (paid, then reversed: ioTec), 0006 failed, 0007 pending_forever;
anything else success.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests
from flask import Flask, request
from flask.typing import ResponseReturnValue

from hotspot.dev.sandbox import add_control_endpoints

OUTCOMES = (
    "success",
    "no_webhook",
    "duplicate_webhook",
    "webhook_early",
    "wrong_amount",
    "rolled_back",
    "failed",
    "pending_forever",
)
PHONE_SUFFIXES = {
    "0000": "no_webhook",
    "0002": "duplicate_webhook",
    "0003": "webhook_early",
    "0004": "wrong_amount",
    "0005": "rolled_back",
    "0006": "failed",
    "0007": "pending_forever",
}
STAYS_PENDING = "stays_pending"  # never even sent on to the operator (ioTec's 011177778x)
DOWN_MODES = (None, "error", "timeout", "slow")
DUPLICATE_GAP = 0.2  # seconds between a duplicate webhook's two sends


@dataclass
class Switches:
    """What a test or developer changes at run time (`POST /sandbox/config`)."""

    callback_delay: float
    default_outcome: str = "success"
    token_lifetime: int = 300
    # None; "error": every API call answers 503; "timeout": waits `down_sleep`, then 503;
    # "slow": does the work, then waits `down_sleep` before answering.
    down: str | None = None
    down_sleep: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)  # the provider's own switches
    outcomes: tuple[str, ...] = OUTCOMES  # the ones this provider has (CamPay never reverses)

    def change(self, changes: dict[str, Any], allowed: dict[str, tuple[Any, ...]]) -> None:
        unknown = set(changes) - {*vars(self), *allowed} - {"extra", "outcomes"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        for name in ("callback_delay", "down_sleep"):
            if name in changes:
                value = changes[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{name} must be a number >= 0, got {value!r}")
                setattr(self, name, float(value))
        if "default_outcome" in changes:
            self.default_outcome = checked_outcome(changes["default_outcome"], self.outcomes)
        if "token_lifetime" in changes:
            lifetime = changes["token_lifetime"]
            if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
                raise ValueError("token_lifetime must be a whole number of seconds > 0")
            self.token_lifetime = lifetime
        if "down" in changes:
            if changes["down"] not in DOWN_MODES:
                raise ValueError(f"down is one of {DOWN_MODES}")
            self.down = changes["down"]
        for name, choices in allowed.items():
            if name in changes:
                if changes[name] not in choices:
                    raise ValueError(f"{name} is one of {', '.join(map(str, choices))}")
                self.extra[name] = changes[name]

    def public(self) -> dict[str, Any]:
        shown = {k: v for k, v in vars(self).items() if k not in ("extra", "outcomes")}
        return {**shown, **self.extra}


def checked_outcome(outcome: object, offered: tuple[str, ...]) -> str:
    if outcome not in offered:
        raise ValueError(f"outcome is one of {', '.join(offered)}")
    return str(outcome)


class Tokens:
    """Random tokens, each valid for the lifetime it was issued with."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self.issued = 0

    def issue(self, lifetime: int) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + lifetime
            self.issued += 1
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and time.monotonic() < expires

    def expire(self) -> None:
        with self._lock:
            self._tokens.clear()


class Outcomes:
    """The outcome of the next collection: one set for a phone, or for any, else by suffix."""

    def __init__(self, switches: Switches) -> None:
        self._switches = switches
        self._lock = threading.Lock()
        self._next_any: str | None = None
        self._next_by_phone: dict[str, str] = {}

    def set_next(self, outcome: object, phone: object) -> dict[str, Any]:
        chosen = checked_outcome(outcome, self._switches.outcomes)
        with self._lock:
            if phone is None:
                self._next_any = chosen
            else:
                self._next_by_phone[str(phone)[-9:]] = chosen
        return {"next_outcome": chosen, "phone": phone}

    def choose(self, national: str) -> str:
        """`national`: the payer's number without its country code (its last nine digits)."""
        with self._lock:
            chosen = self._next_by_phone.pop(national[-9:], None)
            if chosen is None and self._next_any is not None:
                chosen, self._next_any = self._next_any, None
        by_suffix = PHONE_SUFFIXES.get(national[-4:])
        if by_suffix not in self._switches.outcomes:
            by_suffix = None  # a suffix for an outcome this provider does not have
        return chosen or by_suffix or self._switches.default_outcome


class Timers:
    """Work for later (a collection turning final, a webhook), cancelled on close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()

    def later(self, delay: float, work: Callable[[], None]) -> None:
        def run() -> None:
            with self._lock:
                self._timers.discard(timer)
            work()

        timer = threading.Timer(delay, run)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def cancel(self) -> None:
        with self._lock:
            timers, self._timers = set(self._timers), set()
        for timer in timers:
            timer.cancel()


def settle_later(
    timers: Timers,
    outcome: str,
    delay: float,
    *,
    become: Callable[[str], None],
    webhook: Callable[[], None],
) -> None:
    """The life of one collection after it was accepted: `become(state)` turns it "sent" (half
    way), then "paid", "short", "failed" or "reversed"; `webhook()` sends its current state."""
    if outcome == STAYS_PENDING:
        return
    if outcome == "pending_forever":
        timers.later(delay / 2, lambda: become("sent"))
        return
    final = {"failed": "failed", "wrong_amount": "short"}.get(outcome, "paid")
    if delay <= 0 and outcome in ("success", "no_webhook", "failed", "wrong_amount"):
        # No customer delay: final before the collect is answered, so a webhook sent the moment
        # the answer comes (bench/payments) finds the status already final.
        become(final)
        if outcome != "no_webhook":
            timers.later(0, webhook)
        return
    timers.later(delay / 2, lambda: become("sent"))
    if outcome == "webhook_early":
        # The webhook claims success one delay before the status endpoint says so.
        timers.later(delay, lambda: become("claimed"))
        timers.later(delay, webhook)
        timers.later(2 * delay, lambda: become(final))
        return

    def final_state() -> None:
        become(final)
        if outcome != "no_webhook":
            webhook()

    def reversal() -> None:
        become("reversed")
        webhook()

    timers.later(delay, final_state)
    if outcome == "duplicate_webhook":
        timers.later(delay + DUPLICATE_GAP, webhook)
    if outcome == "rolled_back":
        timers.later(2 * delay, reversal)


class MobileMoneySandbox:
    """A provider's state: its transactions (keys starting with "_" are the sandbox's own,
    never shown), tokens, outcomes, switches and pending work."""

    # The provider's own `POST /sandbox/config` switches, and their choices.
    switch_choices: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def __init__(self, switches: Switches) -> None:
        self.switches = switches
        self.tokens = Tokens()
        self.outcomes = Outcomes(switches)
        self.timers = Timers()
        self.lock = threading.Lock()
        self.http = requests.Session()
        self.transactions: dict[str, dict[str, Any]] = {}
        self.webhooks_sent = 0

    def shown(self, key: str) -> dict[str, Any]:
        with self.lock:
            return {k: v for k, v in self.transactions[key].items() if not k.startswith("_")}

    def set_next_outcome(self, outcome: object, phone: object) -> ResponseReturnValue:
        return self.outcomes.set_next(outcome, phone)

    def reconfigure(self, changes: dict[str, Any]) -> ResponseReturnValue:
        self.switches.change(changes, self.switch_choices)
        return self.switches.public()

    def listing(self) -> dict[str, Any]:
        with self.lock:
            keys = list(self.transactions)
        return {"transactions": [self.shown(key) for key in keys],
                "tokens_issued": self.tokens.issued, "webhooks_sent": self.webhooks_sent,
                "config": self.switches.public()}  # fmt: skip

    def close(self) -> None:
        self.timers.cancel()
        self.http.close()


def add_sandbox_routes(app: Flask, sandbox: MobileMoneySandbox) -> None:
    """The control endpoints both stand-ins share: outcomes, switches, listing, token expiry."""
    add_control_endpoints(app, sandbox)

    @app.get("/sandbox/transactions")
    def transactions() -> ResponseReturnValue:
        return sandbox.listing()

    @app.post("/sandbox/expire-token")
    def expire_token() -> ResponseReturnValue:
        sandbox.tokens.expire()
        return {"expired": True}


def add_down_switch(app: Flask, switches: Switches, guarded: tuple[str, ...]) -> None:
    """The provider down or slow, for the paths starting with `guarded`."""

    @app.before_request
    def down() -> ResponseReturnValue | None:
        if switches.down in ("error", "timeout") and request.path.startswith(guarded):
            if switches.down == "timeout":
                time.sleep(switches.down_sleep)
            return "Service Unavailable", 503, {"Content-Type": "text/html"}
        return None

    @app.after_request
    def slow(response: Any) -> Any:
        if switches.down == "slow" and request.path.startswith(guarded):
            time.sleep(switches.down_sleep)
        return response
