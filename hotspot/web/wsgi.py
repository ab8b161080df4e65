"""gunicorn entry point: `gunicorn hotspot.web.wsgi:app`."""

import logging
import sys

from hotspot.core.logs import configure_logging
from hotspot.core.settings import ConfigurationError, Settings
from hotspot.web.app import create_app

# The API's threads mostly wait on PostgreSQL and Redis. With Python's default 5 ms switch
# interval a thread whose answer has arrived can wait 5 ms for each busy thread before it runs;
# at 1 ms, callback and event latency under load stays low (bench/payments measures it).
sys.setswitchinterval(0.001)

settings = Settings.from_env()
configure_logging(settings.log_level)
try:
    app = create_app(settings)
except ConfigurationError as exc:
    # One JSON line naming every problem; gunicorn then stops: a worker that cannot boot halts it.
    logging.getLogger("hotspot.api").critical(
        "%s", exc, extra={"fields": {"problems": exc.problems}}
    )
    raise
