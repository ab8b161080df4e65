"""The simulated NAS's web side, as a MikroTik hotspot serves it to a browser.

A browser that opens `/login.html` (or `/login`, or `/`) is sent on to the captive portal with
what a MikroTik's login.html hands over: `mac`, `ip`, `link-login-only`, `link-orig`, `chap-id`
and `chap-challenge`, the last two octal-escaped (`\\371…`) like RouterOS's `$(chap-id)` and
`$(chap-challenge)`. Every visit draws a fresh CHAP id and challenge, remembered for that client.
The portal then posts `username`, `password` (the hex MD5 of chap-id + password + challenge, or
the password itself for PAP) and `dst` to `/login`, which asks RADIUS through the simulator and
sends the browser to `dst` on an Access-Accept, or back to the portal with `error` on a reject.
`/status` shows the client's session, `/logout` ends it.

Clients are told apart by the address their requests come from, as a router knows its hotspot
clients by their address (and MAC), never by a cookie: a cookie set on `localhost` is not sent to
`127.0.0.1`, nor on the cross-site POST back from the portal. Each gets a random MAC and an
address from the simulator's client network.

PAP logins and their accounting go through `NasSimulator.login`. For CHAP the simulator would
need the answer the browser computed, which `NasSimulator.login` does not take: the
Access-Request is sent from here and no accounting session is started for it.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

from flask import Flask, redirect, request
from pyrad import packet
from pyrad.client import Timeout
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response

from radius.client import make_client
from radius.nas_sim import NasSimulator
from radius.nas_sim_command import NasSetup, foreground, shut_down, start_up
from radius.nas_sim_packets import reply_message
from radius.nas_sim_session import SimSession, random_mac

log = logging.getLogger(__name__)

CHAP_DIGEST = re.compile(r"^[0-9a-fA-F]{32}$")
# RouterOS's own words on its login page.
INVALID_LOGIN = "invalid username or password"
RADIUS_DOWN = "RADIUS server is not responding"
# What the portal gets from login.html, in this order.
PORTAL_PARAMETERS = (
    "mac",
    "ip",
    "link-login-only",
    "link-orig",
    "chap-id",
    "chap-challenge",
    "error",
)
_CONDITIONAL = re.compile(r"\$\(if ([\w-]+)\)(.*?)(?:\$\(else\)(.*?))?\$\(endif\)", re.DOTALL)
_VARIABLE = re.compile(r"\$\(([\w-]+)\)")


def mikrotik_escape(data: bytes) -> str:
    """Bytes as RouterOS writes `$(chap-id)` / `$(chap-challenge)`: every byte `\\ooo`."""
    return "".join(f"\\{byte:03o}" for byte in data)


def render_servlet_page(template: str, variables: Mapping[str, str]) -> str:
    """RouterOS's servlet-page substitution as far as a login.html needs it: `$(if name)` …
    [`$(else)` …] `$(endif)` on whether a variable is set, `$(name)`, and `$(name-esc)`
    URL-escaped (`123&456=1 2` → `123%26456%3D1+2`, as the RouterOS manual shows)."""

    def value(name: str) -> str:
        if name.endswith("-esc"):
            return quote_plus(variables.get(name.removesuffix("-esc"), ""))
        return variables.get(name, "")

    def conditional(match: re.Match[str]) -> str:
        return match.group(2) if value(match.group(1)) else match.group(3) or ""

    return _VARIABLE.sub(lambda m: value(m.group(1)), _CONDITIONAL.sub(conditional, template))


@dataclass
class HttpClient:
    """One browser behind the simulated hotspot."""

    source: str  # the address its requests come from
    mac: str
    ip: str
    chap_id: int | None = None
    challenge: bytes | None = None
    username: str | None = None
    session: SimSession | None = None  # the accounting session, when there is one
    online_since: float | None = None  # time.time() of the last Access-Accept
    error: str | None = None


@dataclass(frozen=True)
class LoginAttempt:
    """One POST /login and what RADIUS said."""

    at: float  # time.time() when the answer came
    monotonic: float
    username: str
    mac: str
    ip: str
    method: str  # "chap" or "pap"
    accepted: bool
    message: str | None
    accounting: bool  # a session with accounting was started


@dataclass
class HttpNas:
    """The web side of one NasSimulator. `secret` is the simulator's RADIUS secret (needed to
    send a CHAP Access-Request from here); `portal_url` is where login.html sends browsers.
    `hotspot_address` (host[:port]) is what the pages call themselves, in `link-login-only`
    above all, whatever address the browser used, as RouterOS uses the hotspot's dns-name or
    address: the portal posts logins only to a hotspot address registered in the `nas` table."""

    nas: NasSimulator
    secret: str
    portal_url: str
    chap: bool = True  # login-by=http-chap: login.html hands out a challenge
    default_orig: str | None = None  # link-orig when the browser asked for nothing
    login_page: str | None = None  # a login.html to serve (RouterOS variables); None: redirect
    hotspot_address: str | None = None  # None: the address HttpNasServer listens on
    clients: dict[str, HttpClient] = field(default_factory=dict)
    logins: list[LoginAttempt] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    @property
    def base_url(self) -> str:
        return f"http://{self.hotspot_address}/"

    # --- clients --------------------------------------------------------------------------------

    def client(self, source: str) -> HttpClient:
        """The client at this source address, new on its first request."""
        with self._lock:
            if source not in self.clients:
                self.clients[source] = HttpClient(source, random_mac(), self.nas.new_ip())
            return self.clients[source]

    def login_variables(
        self, client: HttpClient, link_login_only: str, orig: str
    ) -> dict[str, str]:
        """What RouterOS gives login.html, with a fresh challenge (empty without http-chap)."""
        variables = {
            "mac": client.mac,
            "ip": client.ip,
            "link-login-only": link_login_only,
            "link-login": f"{link_login_only}?{urlencode({'dst': orig})}",
            "link-orig": orig,
            "chap-id": "",
            "chap-challenge": "",
            "error": "",
        }
        with self._lock:
            if self.chap:
                client.chap_id = secrets.randbelow(256)
                client.challenge = secrets.token_bytes(16)
                variables["chap-id"] = mikrotik_escape(bytes([client.chap_id]))
                variables["chap-challenge"] = mikrotik_escape(client.challenge)
            else:
                client.chap_id = client.challenge = None
            variables["error"], client.error = client.error or "", None
        return variables

    def portal_redirect(self, variables: dict[str, str]) -> str:
        """The portal URL with what login.html hands over (what docs/mikrotik/login.html does)."""
        params = {name: variables[name] for name in PORTAL_PARAMETERS if variables.get(name)}
        separator = "&" if "?" in self.portal_url else "?"
        return f"{self.portal_url}{separator}{urlencode(params)}"

    # --- logins ---------------------------------------------------------------------------------

    def login(self, client: HttpClient, username: str, password: str) -> LoginAttempt:
        """What the router does with a POST to /login."""
        with self._lock:
            chap_id, challenge = client.chap_id, client.challenge
            client.chap_id = client.challenge = None  # a challenge answers one login
            previous = client.session
        if previous is not None and previous.live:
            self.nas.logout(previous, "User-Request")
        # login-by=http-chap,http-pap: the hex digest answers the challenge handed out, anything
        # else is a plain password.
        use_chap = chap_id is not None and challenge is not None and CHAP_DIGEST.match(password)
        method = "chap" if use_chap else "pap"
        if chap_id is not None and challenge is not None and use_chap:
            accepted, message, session = self._chap(
                client, username, chap_id, challenge, bytes.fromhex(password)
            )
        else:
            accepted, message, session = self._pap(client, username, password)
        attempt = LoginAttempt(
            at=time.time(),
            monotonic=time.monotonic(),
            username=username,
            mac=client.mac,
            ip=client.ip,
            method=method,
            accepted=accepted,
            message=message,
            accounting=session is not None,
        )
        with self._changed:
            if accepted:
                client.username, client.session = username, session
                client.online_since = attempt.at
            else:
                client.error = message or INVALID_LOGIN
            self.logins.append(attempt)
            self._changed.notify_all()
        log.info(
            "http login %s (%s) from %s %s: %s",
            username,
            method,
            client.mac,
            client.ip,
            "accepted" if accepted else f"rejected ({message})",
        )
        return attempt

    def _pap(
        self, client: HttpClient, username: str, password: str
    ) -> tuple[bool, str | None, SimSession | None]:
        try:
            result = self.nas.login(username, password, chap=False, mac=client.mac, ip=client.ip)
        except Timeout:
            return False, RADIUS_DOWN, None
        if not result.accepted:
            return False, result.reply_message or INVALID_LOGIN, None
        return True, result.reply_message, result.session

    def _chap(
        self, client: HttpClient, username: str, chap_id: int, challenge: bytes, digest: bytes
    ) -> tuple[bool, str | None, SimSession | None]:
        try:
            reply = self._chap_request(client, username, chap_id, challenge, digest)
        except Timeout:
            return False, RADIUS_DOWN, None
        message = reply_message(reply)
        if reply.code != packet.AccessAccept:
            return False, message or INVALID_LOGIN, None
        return True, message, None

    def _chap_request(
        self, client: HttpClient, username: str, chap_id: int, challenge: bytes, digest: bytes
    ) -> Any:
        """An Access-Request as a MikroTik sends it for an http-chap login."""
        nas = self.nas
        radius = make_client(
            nas.server,
            self.secret,
            auth_port=nas.auth_port,
            acct_port=nas.acct_port,
            timeout=nas.timeout,
            retries=nas.retries,
            source_address=nas.source_address,
        )
        request_packet = radius.CreateAuthPacket(
            code=packet.AccessRequest, message_authenticator=nas.message_authenticator
        )
        for name, value in (
            ("User-Name", username),
            ("CHAP-Password", bytes([chap_id]) + digest),
            ("CHAP-Challenge", challenge),
            ("Service-Type", "Login-User"),
            ("Calling-Station-Id", client.mac),
            ("Called-Station-Id", nas.called_station_id),
            ("NAS-Port-Type", "Wireless-802.11"),
            ("NAS-Port-Id", nas.nas_port_id),
            ("Acct-Session-Id", secrets.token_hex(4)),
            ("Framed-IP-Address", client.ip),
            ("NAS-Identifier", nas.nas_identifier),
            ("NAS-IP-Address", nas.nas_ip),
        ):
            request_packet[name] = value
        return radius.SendPacket(request_packet)

    def logout(self, client: HttpClient) -> None:
        with self._lock:
            session, client.session = client.session, None
            client.username = client.online_since = None
        if session is not None and session.live:
            self.nas.logout(session, "User-Request")

    def wait_for_login(
        self, since: int = 0, *, accepted: bool | None = True, timeout: float = 10.0
    ) -> LoginAttempt | None:
        """The first login attempt from number `since` on (0: the first ever) whose outcome is
        `accepted` (None: any), waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for attempt in self.logins[since:]:
                    if accepted is None or attempt.accepted is accepted:
                        return attempt
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)


# --- the web pages -------------------------------------------------------------------------------


def create_http_app(nas: HttpNas) -> Flask:
    app = Flask(__name__)
    app.extensions["http_nas"] = nas

    def this_client() -> HttpClient:
        return nas.client(request.remote_addr or "")

    def to_portal(client: HttpClient) -> Response:
        orig = request.args.get("dst") or nas.default_orig or f"{nas.base_url}status"
        variables = nas.login_variables(client, f"{nas.base_url}login", orig)
        if nas.login_page is not None:
            page = render_servlet_page(nas.login_page, variables)
            return Response(page, mimetype="text/html")
        return redirect(nas.portal_redirect(variables), 302)

    @app.get("/")
    @app.get("/login.html")
    def login_page() -> Response:
        return to_portal(this_client())

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Response:
        client = this_client()
        username = request.values.get("username", "").strip()
        if not username:
            return to_portal(client)
        attempt = nas.login(client, username, request.values.get("password", ""))
        if not attempt.accepted:
            return to_portal(client)
        dst = request.values.get("dst", "")
        target = dst if dst.startswith(("http://", "https://")) else f"{nas.base_url}status"
        return redirect(target, 302)

    @app.get("/logout")
    def logout() -> Response:
        client = this_client()
        nas.logout(client)
        return redirect(f"{nas.base_url}login.html", 302)

    @app.get("/status")
    def status() -> Response:
        return Response(status_page(nas, this_client()), mimetype="text/html")

    return app


def status_page(nas: HttpNas, client: HttpClient) -> str:
    """A plain page like RouterOS's status.html: who this client is and its session."""
    rows: list[tuple[str, str]] = [("MAC", client.mac), ("IP", client.ip)]
    session = client.session
    if client.username is None:
        state = "not logged in"
    elif session is not None and not session.live:
        state = f"logged out ({session.terminate_cause})"
    else:
        state = "logged in"
        rows.append(("User", client.username))
        if client.online_since is not None:
            rows.append(("Uptime", f"{int(time.time() - client.online_since)} s"))
    if session is not None and session.live:
        left = (
            f"{max(0, session.session_timeout - session.elapsed())} s"
            if session.session_timeout
            else "no limit"
        )
        rows += [
            ("Session", session.session_id),
            ("Session time left", left),
            ("Rate limit", session.rate_limit or "-"),
            ("Bytes up / down", f"{session.input_octets} / {session.output_octets}"),
        ]
    elif client.username is not None:
        rows.append(("Accounting", "none (CHAP answer computed by the browser)"))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>hotspot status</title></head><body><h1 id='state'>{html.escape(state)}</h1>"
        f"<table>{body}</table><p>{len(nas.nas.sessions())} session(s) on "
        f"{html.escape(nas.nas.nas_identifier)}. <a href='/logout'>log out</a></p></body></html>"
    )


class HttpNasServer:
    """The pages served over HTTP from a background thread."""

    def __init__(self, nas: HttpNas, host: str = "127.0.0.1", port: int = 0) -> None:
        self.nas = nas
        self.server: BaseWSGIServer = make_server(host, port, create_http_app(nas), threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        if nas.hotspot_address is None:
            nas.hotspot_address = f"{host}:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="nas-sim-http", daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run(
    setup: NasSetup,
    *,
    http_port: int,
    portal_url: str,
    http_host: str = "127.0.0.1",
    chap: bool = True,
) -> None:
    """`hotspot nas-sim --http-port N`: a simulated NAS with its web pages, in the foreground until
    Ctrl-C or SIGTERM; on exit the remaining sessions are stopped (Admin-Reboot)."""
    stop = foreground()
    nas = setup.simulator()
    web: HttpNasServer | None = None
    try:
        start_up(nas, setup.accounting_on)
        web = HttpNasServer(HttpNas(nas, setup.secret, portal_url, chap=chap), http_host, http_port)
        log.info(
            "hotspot pages on %s/login.html -> portal %s; the portal logs customers in here only "
            "while a NAS row has hotspot_address %s",
            web.url,
            portal_url,
            web.nas.hotspot_address,
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if web is not None:
            web.close()
        shut_down(nas)
