"""An HTTP client of the admin API, as an operator's tools would be."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.harness import ApiUnderTest


class Admin:
    """An HTTP client of /api/admin with one bearer token."""

    def __init__(self, api: ApiUnderTest, token: str) -> None:
        self.api = api
        self.token = token

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.api.url}/api/admin{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
            **kwargs,
        )

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json()
