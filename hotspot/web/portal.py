"""What the captive portal reads: the public API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hotspot.models import Package
from hotspot.packages import active_packages
from hotspot.web import sessions

portal = Blueprint("portal", __name__, url_prefix="/api")


def package_json(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "name": package.name,
        "price": str(package.price),
        "currency": package.currency,
        "duration_seconds": package.duration_seconds,
        "data_cap_bytes": package.data_cap_bytes,
        "rate_limit": package.rate_limit,
        "devices": package.devices,
    }


@portal.get("/packages")
def list_packages() -> Any:
    with sessions()() as session:
        return jsonify(packages=[package_json(p) for p in active_packages(session)])
