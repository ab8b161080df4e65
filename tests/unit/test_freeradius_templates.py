"""The FreeRADIUS templates ship inside the package, and what the renderer makes of the settings
that reach them (no FreeRADIUS process here: tests/e2e/test_freeradius.py runs one)."""

from __future__ import annotations

import dataclasses
import fnmatch
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hotspot.adapters.freeradius import FreeRadiusConfigError
from hotspot.adapters.freeradius.params import RaddbParams
from hotspot.adapters.freeradius.render import render_raddb
from hotspot.adapters.freeradius.templates import (
    TEMPLATE_RESOURCE,
    template_resources,
    template_root,
)
from tests.support.paths import ROOT

TEMPLATES = ROOT / "freeradius-config"


def template_files() -> list[Path]:
    return sorted(p.relative_to(TEMPLATES) for p in TEMPLATES.rglob("*") if p.is_file())


def test_every_template_is_reachable_as_a_package_resource() -> None:
    files = template_files()
    assert Path("sites/hotspot") in files
    for rel in files:
        resource = template_root().joinpath(*rel.parts)
        assert resource.is_file(), rel
        assert resource.read_bytes() == (TEMPLATES / rel).read_bytes(), rel
    assert [rel for rel, _ in template_resources()] == files


def test_the_package_resource_is_the_top_level_directory() -> None:
    link = ROOT / "hotspot" / TEMPLATE_RESOURCE
    assert link.is_symlink()
    assert link.resolve() == TEMPLATES.resolve()


def test_the_wheel_carries_every_template() -> None:
    """pyproject's package-data globs match every template file (a deeper directory would need
    another glob), so a non-editable install renders the same raddb."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["hotspot"]
    for rel in template_files():
        packaged = f"{TEMPLATE_RESOURCE}/{rel.as_posix()}"
        assert any(
            fnmatch.fnmatch(packaged, g) and g.count("/") == packaged.count("/") for g in globs
        ), f"{packaged} is not package data"


# --- rendering ------------------------------------------------------------------------------


def params(**changes: Any) -> RaddbParams:
    base = RaddbParams(
        listen_address="127.0.0.1",
        auth_port=1812,
        acct_port=1813,
        status_port=18121,
        status_secret="status-secret-123",
        db_host="127.0.0.1",
        db_port=5432,
        db_name="hotspot",
        db_user="radius",
        db_password="pw",
    )
    return dataclasses.replace(base, **changes)


def test_routers_are_dynamic_clients_and_the_status_listener_has_its_own(tmp_path: Path) -> None:
    out = render_raddb(
        tmp_path / "raddb",
        params(
            client_lifetime=7,
            status_clients=("172.16.0.0/12", " ::1 ", ""),
            status_secret='with "quotes"',
        ),
    )
    clients = (out / "clients.conf").read_text()
    assert clients.count("dynamic_clients = hotspot_clients") == 2
    assert "ipaddr = 0.0.0.0/0" in clients
    assert "ipv6addr = ::/0" in clients
    assert clients.count("lifetime = 7") == 2
    assert "ipv4addr = 172.16.0.0/12" in clients
    assert "ipv6addr = ::1/128" in clients
    assert clients.count('secret = "with \\"quotes\\""') == 2
    assert "read_clients = no" in (out / "mods-available" / "sql").read_text()
    status = (out / "sites-enabled" / "hotspot-status").read_text()
    assert "port = 18121" in status
    assert "clients = hotspot_status" in status
    assert (out / "sites-enabled" / "hotspot-clients").is_symlink()


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"client_lifetime": 0}, "client_lifetime"),
        ({"client_lifetime": True}, "client_lifetime"),
        ({"status_port": 1812}, "must differ"),
        ({"status_port": 0}, "status_port"),
        ({"status_secret": ""}, "status_secret"),
        ({"status_secret": "a\\b"}, "backslash"),
        ({"status_secret": "x${confdir}"}, "expand"),
        ({"status_secret": "line\nbreak"}, "control character"),
        ({"status_clients": ()}, "at least one"),
        ({"status_clients": ("10.0.0.1/8",)}, "not an IP network"),
        ({"status_clients": ("10.0.0.0/8 }",)}, "not an IP network"),
        ({"status_clients": ("everyone",)}, "not an IP network"),
    ],
)
def test_values_that_would_break_or_open_the_config_are_refused(
    tmp_path: Path, changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(FreeRadiusConfigError, match=complaint):
        render_raddb(tmp_path / "raddb", params(**changes))
    assert not (tmp_path / "raddb").exists()
