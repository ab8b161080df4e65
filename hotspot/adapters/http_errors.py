"""What an HTTP failure says about a request to a provider: whether it can have been acted on."""

from __future__ import annotations

import requests
from urllib3.exceptions import MaxRetryError


def never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never made, so the provider cannot have seen the request.

    requests retries nothing and urllib3 then wraps only connection-phase errors (refused,
    unresolvable, connect timeout, TLS handshake) in MaxRetryError; a connection lost after the
    request was written surfaces as a bare ProtocolError, and a read timeout as ReadTimeout.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return (
        isinstance(exc, requests.ConnectionError)
        and bool(exc.args)
        and isinstance(exc.args[0], MaxRetryError)
    )
