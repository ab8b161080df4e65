"""Returning devices: a device that logged in to an account before gets in again with no typing
while the account is valid, through the router's MAC login (RouterOS `login-by=mac`, or the
portal posting the device's MAC as its username).

The accounting sync remembers the account each device (its MAC, the session's
Calling-Station-Id) last logged in to; FreeRADIUS asks `hotspot_device_account` (devices.sql)
when a login's User-Name is the very MAC the router saw the request come from, and then treats
it as that account's login: its validity, quotas, block and device limit all hold, and the
Access-Accept names the account (RFC 2865: the router accounts for it under that name).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# The batch's new and ended sessions (acct_sync_batch, hotspot.access.accounting_batch), each
# device to the account of its newest; unchanged pairs are not written again.
REMEMBER_DEVICES = text(
    """
    INSERT INTO hotspot_devices AS d (mac, user_id, last_login_at)
    SELECT DISTINCT ON (b.mac) b.mac, b.user_id, COALESCE(b.started_at, now())
      FROM acct_sync_batch b
     WHERE b.stamped AND b.mac IS NOT NULL AND b.user_id IS NOT NULL
     ORDER BY b.mac, b.started_at DESC NULLS LAST
    ON CONFLICT (mac) DO UPDATE
       SET user_id = EXCLUDED.user_id, last_login_at = EXCLUDED.last_login_at
     WHERE d.user_id <> EXCLUDED.user_id OR d.last_login_at < EXCLUDED.last_login_at
    """
)


def remember_devices(session: Session) -> None:
    """After `apply_batch`: the devices of the batch's sessions, each to its account."""
    session.execute(REMEMBER_DEVICES)
