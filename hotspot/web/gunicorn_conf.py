"""gunicorn's settings, derived from ours: the same for `hotspot run` and the api container.

gthread workers: every payment event stream (SSE) holds a thread for minutes, so a sync worker
would stall behind two waiting customers. gunicorn's `timeout` watches a gthread worker's own
loop, not its requests, so long streams are not killed; a stuck worker still is.
"""

from __future__ import annotations

from hotspot.core.settings import Settings

_settings = Settings.from_env()

bind = f"{_settings.api_host}:{_settings.api_port}"
workers = _settings.api_workers
threads = _settings.api_threads
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
# Longer than a reverse proxy's idle keep-alive, so the proxy closes first and never reuses a
# connection gunicorn is closing.
keepalive = 75
# gunicorn's control socket lives at one path per user ($HOME/.gunicorn): two APIs on a machine
# (a test run beside `hotspot run`) would take it from each other, and nothing here uses it.
control_socket_disable = True
# Requests are logged by the app itself (hotspot.logs: one JSON line each, secrets masked).
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hotspot.core.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "hotspot.core.logs.LineHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"handlers": ["stdout"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
