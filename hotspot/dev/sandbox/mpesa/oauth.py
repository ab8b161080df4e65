"""Daraja's OAuth: access tokens issued for the consumer key and secret, checked on every call."""

from __future__ import annotations

import secrets
import string
import threading
import time
from typing import Any

from flask import g, request

from hotspot.dev.sandbox.mpesa.rules import App, SandboxConfig, SandboxError, bad_request

TOKEN_LIFETIME = 3599


class AccessTokens:
    """One valid token per app (each new one invalidates its last, as Daraja's FAQ says)."""

    def __init__(self, config: SandboxConfig, lock: threading.RLock) -> None:
        self.config = config
        self._lock = lock
        self._tokens: dict[str, tuple[App, float]] = {}  # token -> its app, when it expires
        self.issued = 0

    def issue(self) -> dict[str, Any]:
        if request.args.get("grant_type") != "client_credentials":
            raise SandboxError(400, "400.008.02", "Invalid grant type passed")
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise SandboxError(400, "400.008.01", "Invalid Authentication passed")
        app = next(
            (
                each
                for each in self.config.apps()
                if secrets.compare_digest(auth.username or "", each.consumer_key)
                and secrets.compare_digest(auth.password or "", each.consumer_secret)
            ),
            None,
        )
        if app is None:
            raise SandboxError(400, "400.008.01", "Invalid Authentication passed")
        with self._lock:
            # Daraja's FAQ: each token request invalidates the app's previous token.
            self._tokens = {t: held for t, held in self._tokens.items() if held[0] != app}
            token = "".join(secrets.choice(string.ascii_letters) for _ in range(28))
            self._tokens[token] = (app, time.monotonic() + TOKEN_LIFETIME)
            self.issued += 1
            return {"access_token": token, "expires_in": str(TOKEN_LIFETIME)}

    def expire(self) -> None:
        with self._lock:
            self._tokens.clear()

    def checked_body(self) -> dict[str, Any]:
        """Bearer token and JSON body, checked as Daraja does before reading any field."""
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        with self._lock:
            held = self._tokens.get(token) if header.startswith("Bearer ") else None
        if held is None or time.monotonic() >= held[1]:
            raise SandboxError(401, "404.001.03", "Invalid Access Token")
        g.daraja_app = held[0]  # whose credentials the body must carry
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        if not isinstance(body, dict):
            # What Daraja answers to a missing Content-Type.
            raise bad_request("BusinessShortCode")
        return body
