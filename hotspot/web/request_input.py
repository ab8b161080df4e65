"""What a request may carry: bodies up to `MAX_CONTENT_LENGTH`, text PostgreSQL can store.

A body with a Content-Length over the limit is refused by werkzeug before it is read. A streamed
one (chunked, no Content-Length) is read through a stream capped at the limit, and werkzeug's
cap stops `read()` quietly there: the handler would get the body cut short. `BoundedStream` looks
one byte further and answers 413 instead, so every reader (`get_json`, `get_data`, `form`) sees
either the whole body or a 413.

JSON bodies and the URL (path and query) are refused with a 422 when they hold a NUL character or
an unpaired surrogate (`hotspot.core.storable`), before any handler sends them to PostgreSQL.
Handlers that take a JSON object read it with `json_object`, the one body parser.
"""

from __future__ import annotations

from typing import IO, Any, cast

import flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from hotspot.core import storable
from hotspot.core.errors import InvalidInputError


class BoundedStream(LimitedStream):
    def __init__(self, source: IO[bytes], limit: int) -> None:
        super().__init__(source, limit, is_max=True)
        self.source = source

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self.source.read(1):
            raise RequestEntityTooLarge()
        return data


class Request(flask.Request):
    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        # Only read on where the server ends the input itself (chunked bodies, gunicorn).
        streamed = self.content_length is None and "wsgi.input_terminated" in self.environ
        if limit is not None and streamed:
            return cast(IO[bytes], BoundedStream(self.environ["wsgi.input"], limit))
        return get_input_stream(self.environ, max_content_length=limit)


class JSONProvider(DefaultJSONProvider):
    """`request.get_json()`: what is not JSON stays a ValueError (None when silent); unstorable
    text is an InvalidInputError, a 422 with the reason."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return storable.loads(s)


def json_object() -> dict[str, Any]:
    """The request's body, which must be a JSON object: anything else is a 422 saying so."""
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object")
    return body


def check_url() -> None:
    """A before_request hook."""
    request = flask.request
    storable.check(request.view_args or {}, "the path")
    storable.check(request.args.to_dict(flat=False), "the query")
