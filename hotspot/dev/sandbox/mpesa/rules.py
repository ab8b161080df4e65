"""What the Daraja stand-in answers with and checks, as Daraja documents it, and its settings."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

EAT = timezone(timedelta(hours=3))  # Daraja timestamps are Nairobi time
CALLBACK_TIMEOUT = 10.0
SUCCESS_DESC = "The service request is processed successfully."

# outcome -> (ResultCode, ResultDesc, callbacks sent)
OUTCOMES: dict[str, tuple[int, str, int]] = {
    "success": (0, SUCCESS_DESC, 1),
    "no_callback": (0, SUCCESS_DESC, 0),
    "triple_callback": (0, SUCCESS_DESC, 3),
    "insufficient_funds": (1, "The balance is insufficient for the transaction.", 1),
    "expired": (1019, "Transaction has expired", 1),
    "cancelled": (1032, "Request cancelled by user", 1),
    "unreachable": (1037, "DS timeout user cannot be reached", 1),
    "wrong_pin": (2001, "The initiator information is invalid.", 1),
}
PHONE_SUFFIXES: dict[str, str] = {
    "1032": "cancelled",
    "1037": "unreachable",
    "2001": "wrong_pin",
    "0001": "insufficient_funds",
    "1019": "expired",
    "0000": "no_callback",
    "0003": "triple_callback",
}

MSISDN = re.compile(r"^254[17]\d{8}$")
ALNUM = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class App:
    """A Daraja app: its consumer key and secret, and the shortcode and passkey it pushes for."""

    consumer_key: str
    consumer_secret: str
    shortcode: str
    passkey: str

    def __repr__(self) -> str:
        return f"App(consumer_key={self.consumer_key!r}, shortcode={self.shortcode!r})"


@dataclass
class SandboxConfig:
    consumer_key: str
    consumer_secret: str
    shortcode: str
    passkey: str
    host: str = "127.0.0.1"
    port: int = 8089
    callback_delay: float = 2.0  # seconds between the push and the callback
    callback_base: str = ""  # send callbacks here instead of the URLs' own host (`rerouted`)
    default_outcome: str = "success"
    # Other apps (an operator's own shortcode), added with POST /sandbox/apps.
    more_apps: list[App] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_outcome(self.default_outcome)

    def apps(self) -> list[App]:
        main = App(self.consumer_key, self.consumer_secret, self.shortcode, self.passkey)
        return [main, *self.more_apps]

    def __repr__(self) -> str:
        return (
            f"SandboxConfig(consumer_key={self.consumer_key!r}, shortcode={self.shortcode!r}, "
            f"host={self.host!r}, port={self.port!r}, callback_delay={self.callback_delay!r}, "
            f"default_outcome={self.default_outcome!r})"
        )


class SandboxError(Exception):
    """A request Daraja would refuse: becomes its `errorCode` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad_request(what: str) -> SandboxError:
    return SandboxError(400, "400.002.02", f"Bad Request - Invalid {what}")


def check_outcome(outcome: object) -> str:
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    return outcome


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def whole_number(value: object) -> int | None:
    """Daraja's own samples send Amount as "1"; accept that and integers, nothing fractional."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def error_body(code: str, message: str) -> dict[str, Any]:
    request_id = f"{secrets.randbelow(90000) + 10000}-{secrets.randbelow(10**8):08d}-1"
    return {"requestId": request_id, "errorCode": code, "errorMessage": message}
