"""gunicorn entry point: `gunicorn hotspot.wsgi:app`."""

import sys

from hotspot.app import create_app
from hotspot.logs import configure_logging
from hotspot.settings import Settings

# The API's threads mostly wait on PostgreSQL and Redis. With Python's default 5 ms switch
# interval a thread whose answer has arrived can wait 5 ms for each busy thread before it runs;
# at 1 ms, callback and event latency under load stays low (bench/payments measures it).
sys.setswitchinterval(0.001)

settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_app(settings)
