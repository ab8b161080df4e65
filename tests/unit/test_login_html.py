"""docs/mikrotik/login.html with RouterOS's variables filled in, as the NAS simulator serves it."""

from __future__ import annotations

from radius.nas_sim_http import render_servlet_page
from tests.support.paths import LOGIN_HTML


def test_login_html_variables_are_filled_in_as_routeros_does() -> None:
    page = render_servlet_page(
        LOGIN_HTML.read_text(),
        {
            "mac": "AA:BB:CC:DD:EE:FF",
            "ip": "10.5.50.7",
            "link-login-only": "http://10.5.50.1/login",
            "link-orig": "http://example.com/a?b=1&c=2",
            "chap-id": "\\371",
            "chap-challenge": "\\357\\015",
            "error": "",
        },
    )
    assert "$(" not in page
    assert 'name="chap-challenge" value="\\357\\015"' in page
    assert 'name="error"' not in page
    assert "link-orig=http%3A%2F%2Fexample.com%2Fa%3Fb%3D1%26c%3D2" in page
    assert "mac=AA%3ABB%3ACC%3ADD%3AEE%3AFF" in page
