"""A customer ending its own session from the portal: `POST /api/hotspot/logout`.

The portal reaches us through the router's NAT, so the caller's address names no session; the
caller proves which account it is with the credentials it was handed (the password FreeRADIUS
checks), and may name its device (the MAC and IP the router's login page handed the portal) to
end only that device's session. Nobody ends another account's sessions without its password.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotspot.access.portal_status import normalize_mac
from hotspot.core.errors import AuthenticationError, InvalidInputError
from hotspot.models import RadAcct, RadCheck

WRONG_CREDENTIALS = "wrong username or password"
MAX_FIELD = 128  # longer than any username, password, MAC or IP we hand out
# Compared against when the account does not exist, so both answers take as long.
NO_PASSWORD = "\0" * 16


@dataclass(frozen=True)
class Logout:
    username: str
    password: str
    mac: str | None = None
    ip: str | None = None


def sessions_to_end(session: Session, command: Logout) -> list[str]:
    """The acct_unique_ids of the caller's open sessions (of its device, when named)."""
    username = command.username.strip().lower()
    if not username or not command.password:
        raise InvalidInputError("give the username and password you were given")
    if max(len(username), len(command.password)) > MAX_FIELD:
        raise InvalidInputError(f"username and password are at most {MAX_FIELD} characters")
    mac = normalize_mac(command.mac[:MAX_FIELD]) if command.mac else None
    ip = checked_ip(command.ip) if command.ip else None
    stored = session.scalar(
        select(RadCheck.value).where(
            RadCheck.username == username, RadCheck.attribute == "Cleartext-Password"
        )
    )
    matches = hmac.compare_digest((stored or NO_PASSWORD).encode(), command.password.encode())
    if stored is None or not matches:
        raise AuthenticationError(WRONG_CREDENTIALS)
    query = select(RadAcct.acctuniqueid).where(
        RadAcct.username == username, RadAcct.acctstoptime.is_(None)
    )
    if mac is not None:
        query = query.where(RadAcct.callingstationid == mac)
    if ip is not None:
        query = query.where(func.host(RadAcct.framedipaddress) == ip)
    return list(session.scalars(query))


def checked_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()[:MAX_FIELD]))
    except ValueError:
        raise InvalidInputError(f"{text[:MAX_FIELD]!r} is not an IP address") from None
