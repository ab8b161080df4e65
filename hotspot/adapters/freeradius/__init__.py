"""Render and check the FreeRADIUS 3.2 configuration directory (raddb).

FreeRADIUS is configured by a whole directory tree, not by one file.  We take
the distribution's defaults (Debian's /etc/freeradius/3.0) as the base, so
dictionaries, policies and stock modules stay whatever the installed version
expects, and lay our own templates from ``freeradius-config/`` over them: the
``hotspot`` virtual server, the ``hotspot_clients`` one that looks routers up
in the ``nas`` table while the server runs (dynamic clients), the
``hotspot_status`` listener for the API's readiness probe, the PostgreSQL
``sql`` module and ``clients.conf``.  The result runs as whichever user starts
it, so tests and development need no root.

The templates ship inside the package (``hotspot/freeradius_config`` is a
symlink to the top-level ``freeradius-config/``, and pyproject.toml lists them
as package data), so an installed wheel finds them without a checkout.

The parts: `params` (what varies between deployments, validated), `quoting` (values made safe
for FreeRADIUS and libpq strings), `templates` (our files and their placeholders), `tree` (the
rendered directory on disk), `render` (putting it together) and `check` (`freeradius -XC`).
"""

from __future__ import annotations


class FreeRadiusConfigError(Exception):
    """The FreeRADIUS configuration cannot be rendered, or FreeRADIUS rejects it."""
