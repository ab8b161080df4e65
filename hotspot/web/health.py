"""Is it alive, is it ready, how is it doing (for load balancers and Prometheus)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hotspot.adapters.health import queue_depth, readiness
from hotspot.adapters.metrics import readiness_gauge, render
from hotspot.web import services

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> Any:
    s = services()
    checks = readiness(s.engine, s.redis, s.settings)
    failing = [c.name for c in checks if not c.ok]
    body = {
        "status": "ready" if not failing else "not ready",
        "failing": failing,
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        "queue_depth": queue_depth(s.redis),
    }
    return jsonify(body), 200 if not failing else 503


@health.get("/metrics")
def metrics() -> Any:
    s = services()
    with s.sessions() as session:
        text = render(session, s.redis, s.counters_dir)
    ready = readiness_gauge(readiness(s.engine, s.redis, s.settings))
    return Response(text + "\n".join(ready) + "\n", mimetype="text/plain; version=0.0.4")
