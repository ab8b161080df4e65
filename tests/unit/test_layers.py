"""The layers of docs/architecture.md, as a rule the code is checked against: which package may
import which. A new import that crosses a layer the wrong way fails here, named."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

DOMAIN = {"catalog", "billing", "access", "operators", "reports"}
ENTRY_POINTS = {"web", "cli"}

# For each layer, the layers it must never import.
FORBIDDEN: dict[str, set[str]] = {
    "models": {"core", *DOMAIN, "adapters", "services", *ENTRY_POINTS, "dev", "jobs", "radius"},
    "core": {*DOMAIN, "adapters", "services", *ENTRY_POINTS, "dev", "jobs", "radius"},
    "adapters": {*DOMAIN, "services", *ENTRY_POINTS, "dev", "jobs"},
    **{area: {"services", *ENTRY_POINTS, "dev", "jobs", "radius"} for area in DOMAIN},
    "services": {*ENTRY_POINTS, "dev", "jobs"},
    "web": {"cli", "dev", "jobs"},
    "jobs": {*ENTRY_POINTS, "dev"},
    "dev": {*ENTRY_POINTS},
    "radius": {"hotspot", "jobs"},
}


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "hotspot":
        return parts[1] if len(parts) > 1 else "hotspot"
    if parts[0] in ("jobs", "radius"):
        return parts[0]
    return None


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def crossings() -> list[str]:
    wrong = []
    for top in ("hotspot", "jobs", "radius"):
        for path in sorted((ROOT / top).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            source = layer(module)
            for imported in sorted(imports(path)):
                target = layer(imported)
                forbidden = FORBIDDEN.get(source or "", set())
                # `radius` forbids the whole `hotspot` package; the others name its layers.
                if target in forbidden or (
                    imported.startswith("hotspot") and "hotspot" in forbidden
                ):
                    wrong.append(f"{module} ({source}) imports {imported} ({target})")
    return wrong


def test_no_import_crosses_a_layer_the_wrong_way() -> None:
    assert crossings() == []


def test_only_the_cli_imports_the_development_tools() -> None:
    importers = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for top in ("hotspot", "jobs", "radius")
        for path in (ROOT / top).rglob("*.py")
        if any(layer(each) == "dev" for each in imports(path))
    }
    assert {m for m in importers if not m.startswith(("hotspot.dev", "hotspot.cli"))} == set()
