"""Local stand-ins for the outside services, for development and tests."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.serving import make_server

log = logging.getLogger(__name__)


class Controllable(Protocol):
    """What a sandbox lets tests and developers steer at run time."""

    def set_next_outcome(self, outcome: Any, phone: Any) -> ResponseReturnValue: ...

    def reconfigure(self, changes: dict[str, Any]) -> ResponseReturnValue: ...

    def close(self) -> None: ...


def rerouted(url: str, base: str) -> str:
    """`url` sent to `base`'s scheme and host instead, path kept: inside a compose network the
    public URL (the TLS proxy on the host's 127.0.0.1) is out of a sandbox container's reach, so
    the trial sends callbacks to the api service directly. An empty `base` changes nothing."""
    if not base:
        return url
    target = urlsplit(base)
    return urlunsplit(urlsplit(url)._replace(scheme=target.scheme, netloc=target.netloc))


def add_control_endpoints(app: Flask, sandbox: Controllable) -> None:
    """`POST /sandbox/next-outcome {"outcome", "phone"?}` and `POST /sandbox/config {...}`."""

    def with_body(action: Callable[[dict[str, Any]], ResponseReturnValue]) -> ResponseReturnValue:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return {"error": "send a JSON object"}, 400
        try:
            return action(body)
        except ValueError as exc:
            return {"error": str(exc)}, 400

    @app.post("/sandbox/next-outcome")
    def next_outcome() -> ResponseReturnValue:
        return with_body(
            lambda body: sandbox.set_next_outcome(body.get("outcome"), body.get("phone"))
        )

    @app.post("/sandbox/config")
    def change_config() -> ResponseReturnValue:
        return with_body(sandbox.reconfigure)


def serve_forever(app: Flask, sandbox: Controllable, host: str, port: int, what: str) -> None:
    """Runs a sandbox in the foreground until Ctrl-C (or SIGTERM from `hotspot run`)."""
    server = make_server(host, port, app, threaded=True)
    log.info("%s on http://%s:%s", what, *server.server_address[:2])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sandbox.close()
