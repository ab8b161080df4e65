"""FreeRADIUS's own tables, under their stock PostgreSQL names and columns (lower case, as
PostgreSQL folds the stock schema's identifiers), so the stock `queries.conf` runs unchanged."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from hotspot.models.base import (
    Base,
    Timestamp,
)


class Nas(Base):
    __tablename__ = "nas"
    __table_args__ = (Index("nas_nasname", "nasname"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nasname: Mapped[str] = mapped_column(Text)
    # Ours (migration 0012): the operator whose router this is; its portal shows that operator.
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    shortname: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text, server_default="other")
    ports: Mapped[int | None] = mapped_column(Integer)
    secret: Mapped[str] = mapped_column(Text)
    server: Mapped[str | None] = mapped_column(Text)
    community: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # Ours, not stock (the stock queries name their columns): where Disconnect/CoA go.
    coa_port: Mapped[int] = mapped_column(Integer, server_default="3799")
    # Ours (migration 0006): BlastRADIUS protection, and where the portal may post logins.
    require_message_authenticator: Mapped[bool] = mapped_column(
        Boolean, server_default=text("true")
    )
    hotspot_address: Mapped[str | None] = mapped_column(
        Text, doc="host[:port] of the router's hotspot login page"
    )


class NasReload(Base):
    """Written by the stock Accounting-On query and read by the stock simultaneous-use count."""

    __tablename__ = "nasreload"

    nasipaddress: Mapped[str] = mapped_column(INET, primary_key=True)
    reloadtime: Mapped[dt.datetime] = mapped_column(Timestamp)


class _AttributeRow:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attribute: Mapped[str] = mapped_column(Text, server_default="")
    value: Mapped[str] = mapped_column(Text, server_default="")


class RadCheck(_AttributeRow, Base):
    __tablename__ = "radcheck"
    __table_args__ = (Index("radcheck_username", "username", "attribute"),)

    username: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="==")


class RadReply(_AttributeRow, Base):
    __tablename__ = "radreply"
    __table_args__ = (Index("radreply_username", "username", "attribute"),)

    username: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="=")


class RadGroupCheck(_AttributeRow, Base):
    __tablename__ = "radgroupcheck"
    __table_args__ = (Index("radgroupcheck_groupname", "groupname", "attribute"),)

    groupname: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="==")


class RadGroupReply(_AttributeRow, Base):
    __tablename__ = "radgroupreply"
    __table_args__ = (Index("radgroupreply_groupname", "groupname", "attribute"),)

    groupname: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="=")


class RadUserGroup(Base):
    __tablename__ = "radusergroup"
    __table_args__ = (Index("radusergroup_username", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(Text, server_default="")
    groupname: Mapped[str] = mapped_column(Text, server_default="")
    priority: Mapped[int] = mapped_column(Integer, server_default="0")


class RadAcct(Base):
    __tablename__ = "radacct"
    __table_args__ = (
        # The stock update/stop/simultaneous-use queries look up open sessions by unique id.
        Index(
            "radacct_active_session_idx",
            "acctuniqueid",
            postgresql_where=text("acctstoptime IS NULL"),
        ),
        # Accounting-On/Off closes every open session of one NAS.
        Index(
            "radacct_bulk_close",
            "nasipaddress",
            "acctstarttime",
            postgresql_where=text("acctstoptime IS NULL"),
        ),
        Index("radacct_start_user_idx", "acctstarttime", "username"),
        # Simultaneous-Use counts a user's open sessions on every login.
        Index(
            "radacct_active_user_idx",
            "username",
            postgresql_where=text("acctstoptime IS NULL"),
        ),
        Index("radacct_calss_idx", "class"),
        Index("radacct_sync_seq_idx", "sync_seq"),
        # Time quotas (quotas.sql): a user's sessions closed since the usage began. Closed rows
        # only: Starts and Interim-Updates add nothing to it (migration 0022).
        Index(
            "radacct_username_stop_idx",
            "username",
            "acctstoptime",
            postgresql_where=text("acctstoptime IS NOT NULL"),
        ),
        # No index for the reports: usage reads its live hours through radacct_start_user_idx,
        # a payment's first session comes from radius_sessions (migrations 0004 and 0022).
    )

    radacctid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    acctsessionid: Mapped[str] = mapped_column(Text)
    acctuniqueid: Mapped[str] = mapped_column(Text, unique=True)
    username: Mapped[str | None] = mapped_column(Text)
    realm: Mapped[str | None] = mapped_column(Text)
    nasipaddress: Mapped[str] = mapped_column(INET)
    nasportid: Mapped[str | None] = mapped_column(Text)
    nasporttype: Mapped[str | None] = mapped_column(Text)
    acctstarttime: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    acctupdatetime: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    acctstoptime: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    acctinterval: Mapped[int | None] = mapped_column(BigInteger)
    acctsessiontime: Mapped[int | None] = mapped_column(BigInteger)
    acctauthentic: Mapped[str | None] = mapped_column(Text)
    connectinfo_start: Mapped[str | None] = mapped_column(Text)
    connectinfo_stop: Mapped[str | None] = mapped_column(Text)
    acctinputoctets: Mapped[int | None] = mapped_column(BigInteger)
    acctoutputoctets: Mapped[int | None] = mapped_column(BigInteger)
    calledstationid: Mapped[str | None] = mapped_column(Text)
    callingstationid: Mapped[str | None] = mapped_column(Text)
    acctterminatecause: Mapped[str | None] = mapped_column(Text)
    servicetype: Mapped[str | None] = mapped_column(Text)
    framedprotocol: Mapped[str | None] = mapped_column(Text)
    framedipaddress: Mapped[str | None] = mapped_column(INET)
    framedipv6address: Mapped[str | None] = mapped_column(INET)
    framedipv6prefix: Mapped[str | None] = mapped_column(INET)
    framedinterfaceid: Mapped[str | None] = mapped_column(Text)
    delegatedipv6prefix: Mapped[str | None] = mapped_column(INET)
    class_: Mapped[str | None] = mapped_column("class", Text)
    # Ours, from a sequence: inserts take it as their default, and a trigger stamps every
    # update that leaves the row closed (migration 0003), so the accounting sync reads only the
    # sessions started or ended since its watermark, whatever clock the NAS has. Interim-Updates
    # leave it alone and call no trigger (the sync reads them from the open rows).
    sync_seq: Mapped[int | None] = mapped_column(
        BigInteger, server_default=text("nextval('radacct_sync_seq'::regclass)")
    )


class RadPostAuth(Base):
    __tablename__ = "radpostauth"
    # Monthly partitions by authdate (migration 0018, hotspot/adapters/partitions.py); the key
    # holds the partition column, as a partitioned table's must.
    __table_args__ = (
        Index("radpostauth_username_idx", "username"),
        Index("radpostauth_class_idx", "class"),
        {"postgresql_partition_by": "RANGE (authdate)"},
    )

    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("nextval('radpostauth_id_seq')")
    )
    username: Mapped[str] = mapped_column(Text)
    pass_: Mapped[str | None] = mapped_column("pass", Text)
    reply: Mapped[str | None] = mapped_column(Text)
    calledstationid: Mapped[str | None] = mapped_column(Text)
    callingstationid: Mapped[str | None] = mapped_column(Text)
    authdate: Mapped[dt.datetime] = mapped_column(
        Timestamp, primary_key=True, server_default=text("now()")
    )
    class_: Mapped[str | None] = mapped_column("class", Text)


# Tables FreeRADIUS reads (its database role gets SELECT) and writes (INSERT/UPDATE).
RADIUS_READ_TABLES = (
    "nas",
    "nasreload",
    "radcheck",
    "radreply",
    "radgroupcheck",
    "radgroupreply",
    "radusergroup",
    "radacct",
    "radpostauth",
)
RADIUS_WRITE_TABLES = ("radacct", "radpostauth", "nasreload")
RADIUS_SEQUENCES = ("radacct_radacctid_seq", "radpostauth_id_seq", "radacct_sync_seq")
