"""Daraja's OAuth: access tokens issued for the consumer key and secret, checked on every call."""

from __future__ import annotations

import secrets
import string
import threading
import time
from typing import Any

from flask import request

from hotspot.dev.sandbox.mpesa.rules import SandboxConfig, SandboxError, bad_request

TOKEN_LIFETIME = 3599


class AccessTokens:
    """The one valid token (each new one invalidates the last, as Daraja's FAQ says)."""

    def __init__(self, config: SandboxConfig, lock: threading.RLock) -> None:
        self.config = config
        self._lock = lock
        self._token: str | None = None
        self._expires = 0.0
        self.issued = 0

    def issue(self) -> dict[str, Any]:
        if request.args.get("grant_type") != "client_credentials":
            raise SandboxError(400, "400.008.02", "Invalid grant type passed")
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise SandboxError(400, "400.008.01", "Invalid Authentication passed")
        cfg = self.config
        good_key = secrets.compare_digest(auth.username or "", cfg.consumer_key)
        good_secret = secrets.compare_digest(auth.password or "", cfg.consumer_secret)
        if not (good_key and good_secret):
            raise SandboxError(400, "400.008.01", "Invalid Authentication passed")
        with self._lock:
            # Daraja's FAQ: each token request invalidates the previous token.
            self._token = "".join(secrets.choice(string.ascii_letters) for _ in range(28))
            self._expires = time.monotonic() + TOKEN_LIFETIME
            self.issued += 1
            return {"access_token": self._token, "expires_in": str(TOKEN_LIFETIME)}

    def expire(self) -> None:
        with self._lock:
            self._token = None

    def checked_body(self) -> dict[str, Any]:
        """Bearer token and JSON body, checked as Daraja does before reading any field."""
        header = request.headers.get("Authorization", "")
        with self._lock:
            valid = (
                self._token is not None
                and time.monotonic() < self._expires
                and secrets.compare_digest(header, f"Bearer {self._token}")
            )
        if not valid:
            raise SandboxError(401, "404.001.03", "Invalid Access Token")
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        if not isinstance(body, dict):
            # What Daraja answers to a missing Content-Type.
            raise bad_request("BusinessShortCode")
        return body
