"""What an operator does to packages: create, change and retire them, each audited.

The web and the CLI build the commands; the rules on their values are checked here, so both get
the same limits and reasons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotspot.catalog.packages import (
    Quotas,
    create_package,
    sync_group,
    validate_package,
    validate_quotas,
)
from hotspot.core.errors import ConflictError, InvalidInputError
from hotspot.core.values import UNCHANGED, Unchanged, bounded, given_fields, required_text
from hotspot.models import INT32_MAX, MAX_MONEY, HotspotUser, Package, RadCheck
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.followups import Followups
from hotspot.operators.listing import Listing, Page, paged

MAX_DATA_CAP = 2**62
MAX_DEVICES = 1000
PACKAGE_FIELDS = (
    "name",
    "price",
    "duration_seconds",
    "data_cap_bytes",
    "time_quota_seconds",
    "daily_data_bytes",
    "rate_limit",
    "devices",
)
# What a package edit changes for the sessions online (by CoA); the rest counts from the next
# purchase or login.
LIVE_FIELDS = frozenset({"rate_limit", "data_cap_bytes", "time_quota_seconds"})


@dataclass(frozen=True)
class CreatePackage:
    name: str
    price: Decimal
    duration_seconds: int
    rate_limit: str
    devices: int = 1
    data_cap_bytes: int | None = None
    time_quota_seconds: int | None = None
    daily_data_bytes: int | None = None
    operator: str | None = None  # the owner's code: a platform actor's choice


@dataclass(frozen=True)
class ChangePackage:
    """Only the fields given change; `data_cap_bytes=None` removes the cap."""

    package_id: int
    name: str | Unchanged = UNCHANGED
    price: Decimal | Unchanged = UNCHANGED
    duration_seconds: int | Unchanged = UNCHANGED
    data_cap_bytes: int | Unchanged | None = UNCHANGED
    time_quota_seconds: int | Unchanged | None = UNCHANGED
    daily_data_bytes: int | Unchanged | None = UNCHANGED
    rate_limit: str | Unchanged = UNCHANGED
    devices: int | Unchanged = UNCHANGED
    is_active: bool | Unchanged = UNCHANGED


@dataclass(frozen=True)
class RetirePackage:
    package_id: int


@dataclass(frozen=True)
class PackageChange:
    package: Package
    changed: dict[str, dict[str, Any]]
    users_resynced: int  # accounts whose Simultaneous-Use was rewritten


def _checked_price(price: Decimal) -> Decimal:
    if not Decimal(0) <= price <= MAX_MONEY:  # first: quantize fails on a huge number
        raise InvalidInputError(f"price must be between 0 and {MAX_MONEY}")
    if price != price.quantize(Decimal("0.01")):
        raise InvalidInputError("price has at most two decimals")
    return price.quantize(Decimal("0.01"))


def _optional(name: str, most: int) -> Callable[[int | None], int | None]:
    """A limit that may be removed (None)."""
    return lambda value: None if value is None else bounded(value, name, 1, most)


_RULES: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: required_text(v, "name", 100),
    "price": _checked_price,
    "duration_seconds": lambda v: bounded(v, "duration_seconds", 1, INT32_MAX),
    "data_cap_bytes": _optional("data_cap_bytes", MAX_DATA_CAP),
    "time_quota_seconds": _optional("time_quota_seconds", INT32_MAX),
    "daily_data_bytes": _optional("daily_data_bytes", MAX_DATA_CAP),
    "rate_limit": lambda v: required_text(v, "rate_limit", 100),
    "devices": lambda v: bounded(v, "devices", 1, MAX_DEVICES),
    "is_active": lambda v: v,
}


def list_packages(
    session: Session, actor: Actor, active: bool | None, page: Page
) -> Listing[Package]:
    stmt = actor.visible(select(Package), Package.operator_id)
    if active is not None:
        stmt = stmt.where(Package.is_active.is_(active))
    return paged(session, stmt.order_by(Package.price, Package.id), page)


def get_package(session: Session, actor: Actor, package_id: int, *, lock: bool = False) -> Package:
    package: Package = actor.found(
        session.get(Package, package_id, with_for_update=lock), f"no package {package_id}"
    )
    return package


def package_on_sale(session: Session, actor: Actor, package_id: int) -> Package:
    """The package, refused when retired: nothing new (an account, a voucher) is sold on it."""
    package = get_package(session, actor, bounded(package_id, "package_id", 1, INT32_MAX))
    if not package.is_active:
        raise InvalidInputError(f"package {package.name!r} is retired")
    return package


def add_package(
    session: Session,
    actor: Actor,
    command: CreatePackage,
    *,
    currency: str,
    interim_interval: int,
) -> Package:
    """A new package on sale and its RADIUS group."""
    owner = actor.owner(session, command.operator)
    package = create_package(
        session,
        owner,
        name=_RULES["name"](command.name),
        price=_RULES["price"](command.price),
        duration_seconds=_RULES["duration_seconds"](command.duration_seconds),
        rate_limit=_RULES["rate_limit"](command.rate_limit),
        devices=_RULES["devices"](command.devices),
        data_cap_bytes=_RULES["data_cap_bytes"](command.data_cap_bytes),
        quotas=Quotas(
            _RULES["time_quota_seconds"](command.time_quota_seconds),
            _RULES["daily_data_bytes"](command.daily_data_bytes),
        ),
        currency=owner.currency or currency,
        interim_interval=interim_interval,
    )
    audit(
        session,
        actor,
        "package.create",
        f"package:{package.id}",
        _package_detail(package),
        owner=package.operator_id,
    )
    return package


def _package_detail(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "group_name": package.group_name,
        "price": str(package.price),
        "duration_seconds": package.duration_seconds,
        "data_cap_bytes": package.data_cap_bytes,
        "time_quota_seconds": package.time_quota_seconds,
        "daily_data_bytes": package.daily_data_bytes,
        "rate_limit": package.rate_limit,
        "devices": package.devices,
        "is_active": package.is_active,
    }


def change_package(
    session: Session,
    actor: Actor,
    command: ChangePackage,
    *,
    interim_interval: int,
    now: dt.datetime,
    followups: Followups,
) -> PackageChange:
    """Changes what the package is; its RADIUS group follows at once (next login of each user),
    and a new speed or data limit reaches the sessions online by CoA-Requests after the commit.

    The group name stays what it was: it is the RADIUS identity every account's radusergroup
    row points at, so a rename changes only what customers see. A change of `devices` also
    rewrites `Simultaneous-Use` of every account on the package.
    """
    given = given_fields(command, "package_id")
    if not given:
        raise InvalidInputError(f"nothing to change (fields: {', '.join(PACKAGE_FIELDS)})")
    package = get_package(session, actor, command.package_id, lock=True)
    wanted = {name: _RULES[name](value) for name, value in given.items()}
    if "name" in wanted:
        clash = session.scalar(
            select(Package.id).where(
                Package.operator_id == package.operator_id,
                Package.name == wanted["name"],
                Package.id != package.id,
            )
        )
        if clash is not None:
            raise ConflictError(f"a package named {wanted['name']!r} already exists")
    merged = {f: wanted.get(f, getattr(package, f)) for f in PACKAGE_FIELDS}
    validate_package(
        merged["price"],
        merged["duration_seconds"],
        merged["rate_limit"],
        merged["devices"],
        merged["data_cap_bytes"],
    )
    validate_quotas(
        Quotas(merged["time_quota_seconds"], merged["daily_data_bytes"]),
        merged["duration_seconds"],
        merged["data_cap_bytes"],
    )
    changed = {
        name: {"from": getattr(package, name), "to": value}
        for name, value in wanted.items()
        if getattr(package, name) != value
    }
    for name in changed:
        setattr(package, name, wanted[name])
    users = 0
    if changed:
        package.updated_at = now
        session.flush()
        sync_group(session, package, interim_interval)
        if "devices" in changed:
            users = _resync_devices(session, package)
        entry = audit(
            session,
            actor,
            "package.change",
            f"package:{package.id}",
            {"changes": changed, "users_resynced": users},
            owner=package.operator_id,
        )
        if LIVE_FIELDS & changed.keys():
            followups.changed_packages.append((package.id, f"package-change-{entry.id}"))
    return PackageChange(package, changed, users)


def _resync_devices(session: Session, package: Package) -> int:
    result = session.execute(
        update(RadCheck)
        .where(
            RadCheck.attribute == "Simultaneous-Use",
            RadCheck.username.in_(
                select(HotspotUser.username).where(HotspotUser.package_id == package.id)
            ),
        )
        .values(value=str(package.devices))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def retire_package(
    session: Session, actor: Actor, command: RetirePackage, now: dt.datetime
) -> Package:
    """Off sale: no new purchases or vouchers; existing accounts keep working until they expire
    (its RADIUS group stays)."""
    package = get_package(session, actor, command.package_id, lock=True)
    if not package.is_active:
        raise ConflictError(f"package {package.name!r} is already retired")
    package.is_active = False
    package.updated_at = now
    audit(
        session,
        actor,
        "package.retire",
        f"package:{package.id}",
        {"name": package.name},
        owner=package.operator_id,
    )
    return package
