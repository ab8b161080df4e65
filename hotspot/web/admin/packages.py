"""`/api/admin/packages`: what is on sale."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hotspot.catalog.package_admin import (
    PACKAGE_FIELDS,
    ChangePackage,
    CreatePackage,
    RetirePackage,
    add_package,
    change_package,
    get_package,
    list_packages,
    retire_package,
)
from hotspot.models import AdminRole
from hotspot.operators.audit import jsonable
from hotspot.operators.followups import Followups
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor, finish, now
from hotspot.web.admin.reading import Body, bool_arg, listing_page
from hotspot.web.admin.serializers import listing, package_json
from hotspot.web.auth import requires

packages = Blueprint("packages", __name__)


def create_command() -> CreatePackage:
    body = Body((*PACKAGE_FIELDS, "operator"))
    body.require("name", "price", "duration_seconds", "rate_limit")
    return CreatePackage(
        name=body.text("name"),
        price=body.decimal("price"),
        duration_seconds=body.integer("duration_seconds"),
        rate_limit=body.text("rate_limit"),
        devices=body.get("devices", body.integer, CreatePackage.devices),
        data_cap_bytes=body.optional_integer("data_cap_bytes"),
        time_quota_seconds=body.optional_integer("time_quota_seconds"),
        daily_data_bytes=body.optional_integer("daily_data_bytes"),
        operator=body.optional_text("operator"),
    )


def change_command(package_id: int) -> ChangePackage:
    body = Body((*PACKAGE_FIELDS, "is_active"))
    return ChangePackage(
        package_id,
        name=body.change("name", body.text),
        price=body.change("price", body.decimal),
        duration_seconds=body.change("duration_seconds", body.integer),
        data_cap_bytes=body.change("data_cap_bytes", body.optional_integer),
        time_quota_seconds=body.change("time_quota_seconds", body.optional_integer),
        daily_data_bytes=body.change("daily_data_bytes", body.optional_integer),
        rate_limit=body.change("rate_limit", body.text),
        devices=body.change("devices", body.integer),
        is_active=body.change("is_active", body.boolean),
    )


@packages.get("/packages")
@requires(AdminRole.VIEWER)
def list_all() -> Any:
    with sessions()() as session:
        found = list_packages(session, actor(), bool_arg("active"), listing_page())
        return listing("packages", found, [package_json(p) for p in found.items])


@packages.post("/packages")
@requires(AdminRole.ADMIN)
def create() -> Any:
    s = settings()
    command = create_command()
    with sessions().begin() as session:
        package = add_package(
            session,
            actor(),
            command,
            currency=s.currency,
            interim_interval=s.acct_interim_interval,
        )
        shown = package_json(package)
    return jsonify(shown), 201


@packages.get("/packages/<int32:package_id>")
@requires(AdminRole.VIEWER)
def show(package_id: int) -> Any:
    with sessions()() as session:
        return jsonify(package_json(get_package(session, actor(), package_id)))


@packages.patch("/packages/<int32:package_id>")
@requires(AdminRole.ADMIN)
def change(package_id: int) -> Any:
    command = change_command(package_id)
    followups = Followups()
    with sessions().begin() as session:
        change = change_package(
            session,
            actor(),
            command,
            interim_interval=settings().acct_interim_interval,
            now=now(),
            followups=followups,
        )
        shown = {
            **package_json(change.package),
            "changed": jsonable(change.changed),
            "users_resynced": change.users_resynced,
        }
    finish(followups)
    return jsonify(shown)


@packages.post("/packages/<int32:package_id>/retire")
@requires(AdminRole.ADMIN)
def retire(package_id: int) -> Any:
    with sessions().begin() as session:
        shown = package_json(retire_package(session, actor(), RetirePackage(package_id), now()))
    return jsonify(shown)
