"""Packages and the RADIUS group each one becomes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hotspot.core.errors import ConflictError, InvalidInputError, NotFoundError
from hotspot.models import DEFAULT_OPERATOR_CODE, Operator, Package, RadGroupCheck, RadGroupReply

GIGAWORD = 2**32
RATE_LIMIT = re.compile(r"^\d+[kKmMgG]?/\d+[kKmMgG]?( .*)?$")


@dataclass(frozen=True)
class RadiusAttribute:
    attribute: str
    op: str
    value: str


@dataclass(frozen=True)
class Quotas:
    """A package's usage limits besides its validity: hours of use (counted from accounting,
    spread over the validity) and data a day (back at local midnight)."""

    time_quota_seconds: int | None = None
    daily_data_bytes: int | None = None


NO_QUOTAS = Quotas()


def validate_quotas(quotas: Quotas, duration_seconds: int, data_cap: int | None) -> None:
    if quotas.time_quota_seconds is not None:
        if quotas.time_quota_seconds <= 0:
            raise InvalidInputError("usage time must be positive (or none)")
        if quotas.time_quota_seconds > duration_seconds:
            raise InvalidInputError("usage time cannot be longer than the validity")
    if quotas.daily_data_bytes is not None:
        if quotas.daily_data_bytes <= 0:
            raise InvalidInputError("daily data must be positive (or none)")
        if data_cap is not None:
            raise InvalidInputError("a package has a data cap or a daily data quota, not both")


def group_reply_attributes(package: Package, interim_interval: int) -> list[RadiusAttribute]:
    """What every Access-Accept for this package carries, whatever the NAS."""
    attributes = [
        RadiusAttribute("Mikrotik-Rate-Limit", ":=", package.rate_limit),
        RadiusAttribute("Acct-Interim-Interval", ":=", str(interim_interval)),
    ]
    if package.data_cap_bytes is not None:
        # Mikrotik-Total-Limit is 32 bits; the rest goes in gigawords (units of 4 GiB).
        gigawords, octets = divmod(package.data_cap_bytes, GIGAWORD)
        attributes.append(RadiusAttribute("Mikrotik-Total-Limit", ":=", str(octets)))
        if gigawords:
            attributes.append(
                RadiusAttribute("Mikrotik-Total-Limit-Gigawords", ":=", str(gigawords))
            )
    return attributes


def group_check_attributes(package: Package) -> list[RadiusAttribute]:
    """The quotas FreeRADIUS looks up at every login of the package's accounts (sites/hotspot:
    what is left of them, from the database, caps or rejects the login). Our own attributes
    (freeradius-config/dictionary), set into the request's control list."""
    attributes = []
    if package.time_quota_seconds is not None:
        attributes.append(
            RadiusAttribute("Hotspot-Usage-Quota", ":=", str(package.time_quota_seconds))
        )
    if package.daily_data_bytes is not None:
        attributes.append(
            RadiusAttribute("Hotspot-Daily-Quota", ":=", str(package.daily_data_bytes))
        )
    return attributes


def sync_group(session: Session, package: Package, interim_interval: int) -> None:
    """Rewrites the package's radgroupreply and radgroupcheck rows so RADIUS always matches the
    package."""
    group = package.group_name
    session.execute(delete(RadGroupReply).where(RadGroupReply.groupname == group))
    session.execute(delete(RadGroupCheck).where(RadGroupCheck.groupname == group))
    session.add_all(
        RadGroupReply(groupname=group, attribute=a.attribute, op=a.op, value=a.value)
        for a in group_reply_attributes(package, interim_interval)
    )
    session.add_all(
        RadGroupCheck(groupname=group, attribute=a.attribute, op=a.op, value=a.value)
        for a in group_check_attributes(package)
    )


def group_name_for(operator: Operator, name: str) -> str:
    """The package's RADIUS group: one namespace for every operator, so any other operator's is
    prefixed by its code (the default one's stay as they were before there were operators)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise InvalidInputError(f"package name {name!r} needs at least one letter or digit")
    return slug if operator.code == DEFAULT_OPERATOR_CODE else f"{operator.code.lower()}-{slug}"


def create_package(
    session: Session,
    operator: Operator,
    *,
    name: str,
    price: Decimal,
    duration_seconds: int,
    rate_limit: str,
    devices: int = 1,
    data_cap_bytes: int | None = None,
    quotas: Quotas = NO_QUOTAS,
    currency: str = "KES",
    interim_interval: int,
) -> Package:
    validate_package(price, duration_seconds, rate_limit, devices, data_cap_bytes)
    validate_quotas(quotas, duration_seconds, data_cap_bytes)
    group_name = group_name_for(operator, name)
    clash = session.scalar(
        select(Package).where(
            ((Package.operator_id == operator.id) & (Package.name == name))
            | (Package.group_name == group_name)
        )
    )
    if clash is not None:
        raise ConflictError(f"a package named {name!r} (group {group_name!r}) already exists")
    package = Package(
        operator_id=operator.id,
        name=name,
        group_name=group_name,
        price=price,
        currency=currency,
        duration_seconds=duration_seconds,
        data_cap_bytes=data_cap_bytes,
        time_quota_seconds=quotas.time_quota_seconds,
        daily_data_bytes=quotas.daily_data_bytes,
        rate_limit=rate_limit,
        devices=devices,
    )
    session.add(package)
    session.flush()
    sync_group(session, package, interim_interval)
    return package


def validate_package(
    price: Decimal, duration_seconds: int, rate_limit: str, devices: int, data_cap: int | None
) -> None:
    if price < 0:
        raise InvalidInputError("price must not be negative")
    if duration_seconds <= 0:
        raise InvalidInputError("duration must be positive")
    if devices <= 0:
        raise InvalidInputError("devices must be at least 1")
    if data_cap is not None and data_cap <= 0:
        raise InvalidInputError("data cap must be positive (or none)")
    if not RATE_LIMIT.match(rate_limit):
        raise InvalidInputError(f"rate limit {rate_limit!r} is not like '2M/5M' (upload/download)")


def package_by_name(session: Session, name: str, operator_id: int | None = None) -> Package:
    """The package of that name (of that operator, when names repeat across operators)."""
    stmt = select(Package).where(Package.name == name)
    if operator_id is not None:
        stmt = stmt.where(Package.operator_id == operator_id)
    found = list(session.scalars(stmt.limit(2)))
    if len(found) > 1:
        raise InvalidInputError(f"several operators have a package {name!r}: name the operator")
    package = found[0] if found else None
    if package is None:
        known = ", ".join(session.scalars(select(Package.name).order_by(Package.price)))
        raise NotFoundError(f"no package named {name!r} (known: {known or 'none'})")
    if not package.is_active:
        raise InvalidInputError(f"package {name!r} is retired")
    return package


def active_packages(session: Session, operator_id: int) -> list[Package]:
    """What the operator sells now (the portal shows its router's operator's)."""
    return list(
        session.scalars(
            select(Package)
            .where(Package.operator_id == operator_id, Package.is_active)
            .order_by(Package.price, Package.id)
        )
    )
