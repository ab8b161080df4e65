"""Believing X-Forwarded-For only from the reverse proxies an operator named.

Anyone can send the header; behind no proxy, believing it would let each request pick its own
address (and its own rate-limit bucket). werkzeug's ProxyFix rewrites the client address from
the header's last entry (and the scheme from X-Forwarded-Proto), and runs only on requests whose
connection comes from a trusted proxy (`HOTSPOT_TRUSTED_PROXIES`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(text: str) -> list[Network]:
    """`10.0.0.5, 172.16.0.0/12` → networks; raises ValueError naming a malformed entry."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"HOTSPOT_TRUSTED_PROXIES: {item!r} is not an address") from None
    return networks


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests from `networks`, the request as it came otherwise."""

    def __init__(self, app: WSGIApplication, networks: Iterable[Network]) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)
        self.networks = tuple(networks)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.trusts(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)

    def trusts(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in self.networks)
