"""Settlement SQL read from files beside the code: renewals get the one-call settlement too.

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-05 09:00:00.000000

- `hotspot_renew_user` (hotspot/access/renew_user.sql): a renewal, the one definition every
  writer runs; the general path's `extend_user` calls it, so the rule is not written twice.
- `hotspot_settle_paid_callback` (hotspot/billing/settle_paid_callback.sql) replaces
  `hotspot_settle_new_customer` (written out in migrations 0005 and 0006): a paid callback in one
  call for a new customer as before, and now for a renewal the money and credit cover.
  tests/integration/test_settlement_parity.py loads the same file and holds it to the general
  path.

A later change to a file comes with a migration that loads it again; downgrading restores 0006's
function and drops these two.
"""

import importlib.util
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _0006_settle_new_customer() -> str:
    path = Path(__file__).with_name("0006_security_columns.py")
    spec = importlib.util.spec_from_file_location("revision_0006", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    definition: str = module.SETTLE_NEW_CUSTOMER
    return definition


def upgrade() -> None:
    op.execute(files("hotspot.access").joinpath("renew_user.sql").read_text())
    op.execute(files("hotspot.billing").joinpath("settle_paid_callback.sql").read_text())
    op.execute(
        "DROP FUNCTION hotspot_settle_new_customer"
        "(text, text, numeric, jsonb, text[], text, timestamptz)"
    )


def downgrade() -> None:
    op.execute(_0006_settle_new_customer())
    op.execute(
        "DROP FUNCTION hotspot_settle_paid_callback"
        "(text, text, numeric, jsonb, text[], text, timestamptz)"
    )
    op.execute("DROP FUNCTION hotspot_renew_user(bigint, int, int, text, timestamptz)")
