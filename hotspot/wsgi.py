"""gunicorn entry point: `gunicorn hotspot.wsgi:app`."""

from hotspot.app import create_app
from hotspot.logs import configure_logging
from hotspot.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_app(settings)
