"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from hotspot.db import make_engine, session_factory
from hotspot.errors import ConflictError, HotspotError, NotFoundError
from hotspot.settings import Settings
from hotspot.web.portal import portal


def create_app(settings: Settings) -> Flask:
    app = Flask(__name__)
    engine = make_engine(settings.effective_database_url)
    app.extensions["hotspot"] = {
        "settings": settings,
        "sessions": session_factory(engine),
    }
    app.register_blueprint(portal)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    @app.errorhandler(HotspotError)
    def domain_error(error: HotspotError) -> Any:
        status = (
            404
            if isinstance(error, NotFoundError)
            else 409
            if isinstance(error, ConflictError)
            else 422
        )
        return jsonify(error=str(error)), status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify(error=error.description), error.code or 500

    return app
