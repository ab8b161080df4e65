"""Customers' passwords kept in cleartext no longer than they are needed.

A password is written in three places. radcheck's `Cleartext-Password` is the one copy
FreeRADIUS needs (CHAP is computed from it) and stays until the next purchase brings a new one.
The other two serve the minutes after a purchase: `hotspot_credentials.password` (the portal's
auto-login and the SMS job) and the body of the credentials SMS (`sms_messages`, the record of
what was sent).
After HOTSPOT_CLEARTEXT_RETENTION, `forget_passwords` (a periodic job) blanks the first and
replaces the password in the second with `MASK`, so the message still reads as it was sent.

A message still `claimed` (being sent, waiting for a retry, or with an outcome unknown for an
operator) keeps its body, since a retry sends the body recorded; and a credentials row keeps its
password while any message still shows it, since masking reads it from there. A credentials row
blanked before its SMS was ever claimed (a job lost for the whole retention) is not sent: see
`jobs.sms.send_credentials`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Update, func, literal_column, select, update
from sqlalchemy.orm import Session

from hotspot.models import HotspotCredential, SmsMessage, SmsStatus

MASK = "••••"
SETTLED = (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.FAILED)
GONE = "these credentials are no longer kept; they were sent by SMS"
# A credentials row whose password is not yet forgotten. A literal `''`, not a parameter: a plan
# made without its value could not use the partial index on `password <> ''` (migration 0008).
PASSWORD_KEPT = HotspotCredential.password != literal_column("''")


class CredentialsGoneError(Exception):
    """The password was forgotten after HOTSPOT_CLEARTEXT_RETENTION."""


def kept(password: str) -> str:
    """A credentials row's password, or CredentialsGoneError once it was forgotten."""
    if not password:
        raise CredentialsGoneError(GONE)
    return password


@dataclass(frozen=True)
class Forgotten:
    credentials: int
    messages: int

    def __str__(self) -> str:
        return f"passwords forgotten: {self.credentials} credentials, {self.messages} SMS"


def forget_passwords(session: Session, retention: dt.timedelta) -> Forgotten:
    """Blanks what is older than `retention` (by the database's clock); running it again
    changes nothing. Messages first: both read the same cutoff within the transaction."""
    cutoff = func.now() - retention
    return Forgotten(
        messages=_mask_settled_messages(session, cutoff),
        credentials=_blank_credentials(session, cutoff),
    )


def _mask_settled_messages(session: Session, cutoff: ColumnElement[Any]) -> int:
    """The password a message carries is its purchase's, which the account's credentials rows
    hold (a renewal brings a new one; a row keeps it while a message still shows it, see
    `_blank_credentials`). Every occurrence of it in the body (a random code: nothing else a
    message says matches it)."""
    return _changed(
        session,
        update(SmsMessage)
        .where(
            SmsMessage.status.in_(SETTLED),
            SmsMessage.created_at < cutoff,
            HotspotCredential.user_id == SmsMessage.user_id,
            PASSWORD_KEPT,
            func.strpos(SmsMessage.body, HotspotCredential.password) > 0,
        )
        .values(body=func.replace(SmsMessage.body, HotspotCredential.password, MASK)),
    )


def _blank_credentials(session: Session, cutoff: ColumnElement[Any]) -> int:
    # A message still carrying this password (one awaiting a retry, or settled later than the
    # credentials were made) needs it to be masked: the row keeps it until then.
    still_shown = select(SmsMessage.id).where(
        SmsMessage.user_id == HotspotCredential.user_id,
        func.strpos(SmsMessage.body, HotspotCredential.password) > 0,
    )
    return _changed(
        session,
        update(HotspotCredential)
        .where(
            PASSWORD_KEPT,
            HotspotCredential.created_at < cutoff,
            ~still_shown.exists(),
        )
        .values(password=""),
    )


def _changed(session: Session, statement: Update) -> int:
    """Rows `statement` changed; the session's objects are not synchronised (none are loaded)."""
    options = {"synchronize_session": False}
    return cast("CursorResult[Any]", session.execute(statement, execution_options=options)).rowcount
