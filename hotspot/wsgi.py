"""gunicorn entry point: `gunicorn hotspot.wsgi:app`."""

from hotspot.app import create_app
from hotspot.settings import Settings

app = create_app(Settings.from_env())
