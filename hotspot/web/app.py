"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hotspot.core.deployment import require_startable
from hotspot.core.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    HotspotError,
    NotFoundError,
)
from hotspot.core.logs import log_requests, mask_path
from hotspot.core.settings import ConfigurationError, Settings
from hotspot.services import Services
from hotspot.web import ID_CONVERTERS
from hotspot.web.admin import admin
from hotspot.web.alerts import alerts
from hotspot.web.captive import captive
from hotspot.web.dashboard import dashboard
from hotspot.web.health import health
from hotspot.web.payments import payments
from hotspot.web.portal import portal
from hotspot.web.proxies import TrustedProxies, parse_proxies
from hotspot.web.request_input import JSONProvider, Request, check_url
from hotspot.web.sms import sms

OPENAPI = Path(__file__).resolve().parent / "openapi.json"


ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


class HotspotFlask(Flask):
    def log_exception(self, exc_info: ExcInfo) -> None:
        """Flask's own line names the path: masked, as in the request log."""
        self.logger.error(
            "Exception on %s [%s]", mask_path(request.path), request.method, exc_info=exc_info
        )


def create_app(settings: Settings) -> Flask:
    """Refuses (ConfigurationError) a sandbox or production configuration that cannot start, and a
    production database holding a router with a demo secret."""
    services = Services(settings)
    try:
        require_startable(settings, services.sessions)
    except ConfigurationError:
        services.engine.dispose()
        raise
    app = HotspotFlask(__name__)
    app.request_class = Request  # a streamed body over the limit is a 413, never cut short
    app.json = JSONProvider(app)  # and JSON bodies, like the URL, hold only storable text
    app.url_map.converters.update(ID_CONVERTERS)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["hotspot"] = services
    proxies = parse_proxies(settings.trusted_proxies)
    if proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, proxies)  # type: ignore[method-assign]
    log_requests(app)
    app.before_request(check_url)
    app.register_blueprint(health)
    app.register_blueprint(portal)
    app.register_blueprint(payments)
    app.register_blueprint(sms)
    app.register_blueprint(alerts)
    app.register_blueprint(admin)
    app.register_blueprint(captive)
    app.register_blueprint(dashboard)

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        return app.response_class(OPENAPI.read_bytes(), mimetype="application/json")

    @app.errorhandler(HotspotError)
    def domain_error(error: HotspotError) -> Any:
        status = (
            404
            if isinstance(error, NotFoundError)
            else 409
            if isinstance(error, ConflictError)
            else 401
            if isinstance(error, AuthenticationError)
            else 403
            if isinstance(error, ForbiddenError)
            else 422
        )
        return jsonify(error=str(error)), status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Any:
        return jsonify(error=f"the body is larger than {settings.max_request_bytes} bytes"), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        response = jsonify(error=error.description)
        response.status_code = error.code or 500
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    return app
