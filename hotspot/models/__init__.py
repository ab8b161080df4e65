"""The database schema, one module per area; every table is named here, so `hotspot.models` is
the one place code and migrations import tables from (and Alembic sees them all).

Money is NUMERIC, times are timestamptz. The FreeRADIUS tables (`radius`) keep their stock names.
"""

from hotspot.models.access import (
    DataUsageLog,
    HotspotCredential,
    HotspotDevice,
    HotspotUser,
    RadiusSession,
    SessionDisconnection,
    SessionStatus,
    SyncWatermark,
    UserStatus,
)
from hotspot.models.alerts import AlertEvent
from hotspot.models.base import INT32_MAX, INT64_MAX, MAX_MONEY, NAMING, Base, Money, Timestamp
from hotspot.models.billing import (
    CallbackTokenGeneration,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
    Voucher,
    VoucherStatus,
)
from hotspot.models.catalog import Package
from hotspot.models.ledger import LedgerPosting
from hotspot.models.messages import SmsMessage, SmsStatus
from hotspot.models.operators import (
    DEFAULT_OPERATOR_CODE,
    AdminRole,
    AdminToken,
    AuditEntry,
    Operator,
)
from hotspot.models.radius import (
    RADIUS_READ_TABLES,
    RADIUS_SEQUENCES,
    RADIUS_WRITE_TABLES,
    Nas,
    NasReload,
    RadAcct,
    RadCheck,
    RadGroupCheck,
    RadGroupReply,
    RadPostAuth,
    RadReply,
    RadUserGroup,
)
from hotspot.models.subscribers import Plan, Subscriber, SubscriberStatus

__all__ = [
    "DEFAULT_OPERATOR_CODE",
    "INT32_MAX",
    "INT64_MAX",
    "MAX_MONEY",
    "NAMING",
    "RADIUS_READ_TABLES",
    "RADIUS_SEQUENCES",
    "RADIUS_WRITE_TABLES",
    "AdminRole",
    "AdminToken",
    "AlertEvent",
    "AuditEntry",
    "Base",
    "CallbackTokenGeneration",
    "DataUsageLog",
    "HotspotCredential",
    "HotspotDevice",
    "HotspotUser",
    "LedgerPosting",
    "Money",
    "Nas",
    "NasReload",
    "Operator",
    "Package",
    "Payment",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentPurpose",
    "PaymentStatus",
    "Plan",
    "RadAcct",
    "RadCheck",
    "RadGroupCheck",
    "RadGroupReply",
    "RadPostAuth",
    "RadReply",
    "RadUserGroup",
    "RadiusSession",
    "SessionDisconnection",
    "SessionStatus",
    "SmsMessage",
    "SmsStatus",
    "Subscriber",
    "SubscriberStatus",
    "SyncWatermark",
    "Timestamp",
    "UserStatus",
    "Voucher",
    "VoucherStatus",
]
