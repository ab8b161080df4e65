"""`/api/admin/nas`: the routers (NAS) FreeRADIUS serves and we send Disconnect-Requests to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hotspot.access.nas_admin import (
    NAS_FIELDS,
    ChangeNas,
    CreateNas,
    DeleteNas,
    change_nas,
    create_nas,
    delete_nas,
    get_nas,
    list_nas,
)
from hotspot.models import AdminRole, Nas
from hotspot.web import sessions, settings
from hotspot.web.admin.context import actor
from hotspot.web.admin.reading import Body, listing_page
from hotspot.web.admin.serializers import listing, nas_json
from hotspot.web.auth import requires

routers = Blueprint("routers", __name__)

FREERADIUS_NOTE = (
    "No restart needed: FreeRADIUS reads a router's nas row again at most {seconds} s after it "
    "last did (HOTSPOT_RADIUS_CLIENT_LIFETIME), so a new router is served, a changed secret "
    "holds and a deleted router is refused within {seconds} s."
)


def create_command() -> CreateNas:
    body = Body((*NAS_FIELDS, "operator"))
    body.require("nasname", "shortname", "secret")
    return CreateNas(
        nasname=body.ip("nasname"),
        shortname=body.text("shortname"),
        secret=body.text("secret"),
        type=body.get("type", body.text, CreateNas.type),
        coa_port=body.get("coa_port", body.integer, CreateNas.coa_port),
        description=body.optional_text("description"),
        require_message_authenticator=body.get(
            "require_message_authenticator",
            body.boolean,
            CreateNas.require_message_authenticator,
        ),
        hotspot_address=body.hotspot_address("hotspot_address"),
        operator=body.optional_text("operator"),
    )


def change_command(nas_id: int) -> ChangeNas:
    body = Body(NAS_FIELDS)
    return ChangeNas(
        nas_id,
        nasname=body.change("nasname", body.ip),
        shortname=body.change("shortname", body.text),
        secret=body.change("secret", body.text),
        type=body.change("type", body.text),
        coa_port=body.change("coa_port", body.integer),
        description=body.change("description", body.optional_text),
        require_message_authenticator=body.change("require_message_authenticator", body.boolean),
        hotspot_address=body.change("hotspot_address", body.hotspot_address),
    )


def nas_written(nas: Nas) -> dict[str, Any]:
    seconds = settings().radius_client_lifetime
    return {
        **nas_json(nas),
        "freeradius_reload_needed": False,
        "freeradius_applies_within_seconds": seconds,
        "note": FREERADIUS_NOTE.format(seconds=seconds),
    }


@routers.get("/nas")
@requires(AdminRole.VIEWER)
def list_all() -> Any:
    with sessions()() as session:
        found = list_nas(session, actor(), listing_page())
        return listing("nas", found, [nas_json(n) for n in found.items])


@routers.post("/nas")
@requires(AdminRole.ADMIN)
def create() -> Any:
    command = create_command()
    with sessions().begin() as session:
        shown = nas_written(create_nas(session, actor(), command))
    return jsonify(shown), 201


@routers.get("/nas/<int32:nas_id>")
@requires(AdminRole.VIEWER)
def show(nas_id: int) -> Any:
    with sessions()() as session:
        return jsonify(nas_json(get_nas(session, actor(), nas_id)))


@routers.patch("/nas/<int32:nas_id>")
@requires(AdminRole.ADMIN)
def change(nas_id: int) -> Any:
    command = change_command(nas_id)
    with sessions().begin() as session:
        shown = nas_written(change_nas(session, actor(), command))
    return jsonify(shown)


@routers.delete("/nas/<int32:nas_id>")
@requires(AdminRole.ADMIN)
def delete(nas_id: int) -> Any:
    with sessions().begin() as session:
        shown = nas_written(delete_nas(session, actor(), DeleteNas(nas_id)))
    return jsonify({**shown, "deleted": True})
