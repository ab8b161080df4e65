"""Our templates (package data) and their @@NAME@@ placeholders, written into a raddb."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from hotspot.adapters.freeradius import FreeRadiusConfigError
from hotspot.adapters.freeradius.params import RaddbParams, status_networks
from hotspot.adapters.freeradius.quoting import conf_quoted, libpq_quoted, quoted_status_secret
from hotspot.adapters.freeradius.tree import remove

TEMPLATE_PACKAGE = "hotspot"
TEMPLATE_RESOURCE = "freeradius_config"
"""Our templates: package data of `hotspot` (a symlink to ../freeradius-config in a checkout)."""

_PLACEHOLDER = re.compile(r"@@([A-Za-z0-9_]*)@@")


def template_root() -> Traversable:
    """The templates as package resources (a directory in a checkout or an installed wheel)."""
    return files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_RESOURCE)


def template_resources() -> Iterator[tuple[Path, Traversable]]:
    """(path relative to the template root, resource) of every file there, sorted."""

    def walk(node: Traversable, rel: Path) -> Iterator[tuple[Path, Traversable]]:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                yield from walk(child, rel / child.name)
            elif child.is_file():
                yield rel / child.name, child

    root = template_root()
    if root.is_dir():
        yield from walk(root, Path())


@dataclass(frozen=True)
class _Template:
    source: Path  # relative to the template root
    resource: Traversable
    target: Path  # relative to the raddb


def _template_files() -> list[_Template]:
    """Every template and where it goes; fails if the templates are missing."""
    root = template_root()
    if not root.joinpath("sites", "hotspot").is_file():
        raise FreeRadiusConfigError(
            f"FreeRADIUS templates not found in the package ({TEMPLATE_PACKAGE}/"
            f"{TEMPLATE_RESOURCE}: {root})"
        )
    templates: list[_Template] = []
    for rel, resource in template_resources():
        if any(p.startswith(".") or p.endswith("~") for p in rel.parts):
            continue
        if len(rel.parts) == 1:
            if rel.suffix.lower() == ".md":
                continue  # documentation
            target = rel
        elif len(rel.parts) == 2 and rel.parts[0] in ("sites", "mods"):
            target = Path(f"{rel.parts[0]}-available", rel.name)
        else:
            raise FreeRadiusConfigError(
                f"unexpected template location {TEMPLATE_RESOURCE}/{rel} "
                "(use sites/, mods/ or the top level)"
            )
        templates.append(_Template(rel, resource, target))
    return templates


def write_templates(stage: Path, params: RaddbParams) -> None:
    """Render every template; sites/ and mods/ ones are enabled by symlink."""
    values = _placeholder_values(params)
    for template in _template_files():
        source = f"{TEMPLATE_RESOURCE}/{template.source}"
        text = _substitute(template.resource.read_text(encoding="utf-8"), values, source)
        rel = template.target
        dest = stage / rel
        remove(dest)
        dest.write_text(text, encoding="utf-8")
        kind = rel.parts[0].removesuffix("-available")
        if kind in ("sites", "mods") and len(rel.parts) == 2:
            link = stage / f"{kind}-enabled" / rel.name
            remove(link)
            link.symlink_to(Path("..") / rel)


def _placeholder_values(params: RaddbParams) -> dict[str, str]:
    """The @@NAME@@ values; string ones are pre-escaped for their quoted context."""

    def db(value: str) -> str:
        return conf_quoted(libpq_quoted(value))

    detail = (
        "#  Every accounting packet is also written to ${radacctdir} (detail_accounting).\n\tdetail"
        if params.detail_accounting
        else "#  detail: off (RaddbParams.detail_accounting is False)"
    )
    return {
        "LISTEN_ADDRESS": params.listen_address,
        "AUTH_PORT": str(params.auth_port),
        "ACCT_PORT": str(params.acct_port),
        "STATUS_PORT": str(params.status_port),
        "STATUS_CLIENTS": _status_clients(params),
        "CLIENT_LIFETIME": str(params.client_lifetime),
        "DB_HOST": db(params.db_host),
        "DB_PORT": str(params.db_port),
        "DB_NAME": db(params.db_name),
        "DB_USER": db(params.db_user),
        "DB_PASSWORD": db(params.db_password),
        "DETAIL_ACCOUNTING": detail,
        "TIMEZONE": params.timezone,
    }


def _status_clients(params: RaddbParams) -> str:
    """One client section per network; validated networks are written unquoted."""
    secret = quoted_status_secret(params.status_secret)
    sections = []
    for number, network in enumerate(status_networks(params.status_clients), start=1):
        family = "ipv4addr" if network.version == 4 else "ipv6addr"
        sections.append(
            f"\tclient status{number} {{\n"
            f"\t\t{family} = {network.with_prefixlen}\n"
            f'\t\tsecret = "{secret}"\n'
            "\t\trequire_message_authenticator = yes\n"
            "\t}"
        )
    return "\n".join(sections)


def _substitute(text: str, values: Mapping[str, str], source: str) -> str:
    """Replace @@NAME@@ placeholders; unknown or malformed ones are errors."""
    stray = _PLACEHOLDER.sub("", text)
    if "@@" in stray:
        line = stray[: stray.index("@@")].count("\n") + 1
        raise FreeRadiusConfigError(f"{source}: malformed placeholder near line {line}")

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise FreeRadiusConfigError(f"{source}: unknown placeholder @@{key}@@")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)
