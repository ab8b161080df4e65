"""The OpenAPI document and the Flask routes describe the same API: every route (but static
files) is documented with its methods, and every documented operation exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import schemathesis
from flask import Flask
from schemathesis.core.result import Err

from hotspot.web.app import OPENAPI, create_app
from tests.support.stack import make_test_settings

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}  # Flask answers them for every GET route


def routed_operations(app: Flask) -> set[tuple[str, str]]:
    """(METHOD, /path/{name}) of every route, in OpenAPI's spelling of path parameters."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found |= {(method, path) for method in (rule.methods or set()) - IMPLICIT_METHODS}
    return found


def documented_operations(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_route_is_documented_and_every_documented_operation_exists(
    tmp_path: Path,
) -> None:
    app = create_app(make_test_settings(tmp_path))
    document = json.loads(OPENAPI.read_text())
    routed, documented = routed_operations(app), documented_operations(document)
    assert sorted(routed - documented) == [], "routes missing from the document"
    assert sorted(documented - routed) == [], "documented operations without a route"


def test_the_document_is_well_formed() -> None:
    """Every operation resolves (references, parameters, bodies) as a client would load it."""
    schema = schemathesis.openapi.from_path(str(OPENAPI))
    results = list(schema.get_all_operations())
    assert [r.err() for r in results if isinstance(r, Err)] == []
    assert len(results) == len(documented_operations(json.loads(OPENAPI.read_text())))
