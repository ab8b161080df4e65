"""The FreeRADIUS templates ship inside the package."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from hotspot.freeradius import TEMPLATE_RESOURCE, template_resources, template_root

ROOT = Path(__file__).resolve().parent.parent
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
