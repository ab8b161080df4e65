"""Router login URLs the captive portal may post a customer's credentials to.

The router hands the portal its login URL (`link-login-only`) in the query string, which anyone
can write: a phishing link could name any server. The portal posts only to an http(s) URL whose
host[:port] is the hotspot address an operator registered for a NAS (`nas.hotspot_address`,
e.g. `10.5.50.1`, `wifi.example.net` or `127.0.0.1:8088`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotspot.models import Nas

DEFAULT_PORTS = {"http": 80, "https": 443}
_BRACKETED_HOST = re.compile(r"\[([0-9a-f:.]+)\](?::(\w*))?")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True)
class RouterLogin:
    url: str  # where the login form goes
    origin: str  # scheme://host[:port], for the page's Content-Security-Policy form-action
    nas_id: int
    operator_id: int  # whose portal the customer sees: the router's operator


def registered_login(session: Session, url: str | None) -> RouterLogin | None:
    """`url` when it is an http(s) URL on a registered hotspot address, else None."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    try:
        netloc = canonical_address(parts.netloc)
    except ValueError:
        return None
    nas = session.execute(
        select(Nas.id, Nas.operator_id)
        .where(func.lower(Nas.hotspot_address).in_(address_spellings(scheme, netloc)))
        .order_by(Nas.id)
        .limit(1)
    ).one_or_none()
    if nas is None:
        return None
    return RouterLogin(
        url=urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")),
        origin=f"{scheme}://{netloc}",
        nas_id=nas.id,
        operator_id=nas.operator_id,
    )


def canonical_address(text: str) -> str:
    """host or host:port as registered and compared: lower case, IP addresses canonical (IPv6 in
    brackets), the port a plain number. ValueError for anything else: a scheme, a path, user
    info, spaces or separators that could end a CSP source."""
    text = text.strip().lower()
    port: str | None
    bracketed = _BRACKETED_HOST.fullmatch(text)
    if bracketed:
        host, port = bracketed.group(1), bracketed.group(2)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:  # no port: a name, an IPv4 address or a bare IPv6 address
        host, port = text, None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if bracketed or not _is_dns_name(host):
            raise ValueError(f"{text!r} is not host or host:port") from None
        shown = host
    else:
        shown = f"[{address}]" if address.version == 6 else str(address)
    if port is None:
        return shown
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} has no valid port")
    return f"{shown}:{int(port)}"


def _is_dns_name(host: str) -> bool:
    return len(host) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in host.split("."))


def address_spellings(scheme: str, netloc: str) -> set[str]:
    """How a hotspot address may be registered for this host and port: with the scheme's default
    port written out or left out (`10.5.50.1` and `10.5.50.1:80` for http)."""
    host, colon, port = netloc.rpartition(":") if not netloc.endswith("]") else ("", "", "")
    if not colon or not port.isdigit():
        return {netloc, f"{netloc}:{DEFAULT_PORTS[scheme]}"}
    if int(port) == DEFAULT_PORTS[scheme]:
        return {netloc, host}
    return {netloc}
