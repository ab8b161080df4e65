"""The new customer's one-call settlement, read from hotspot/billing/settle_new_customer.sql.

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-05 09:00:00.000000

`hotspot_settle_new_customer` was written out twice, in migrations 0005 and 0006. From here its
one definition is the .sql file beside the code that calls it, which tests/test_settlement_parity.py
loads too, so the function the database runs is the one the parity test checked against the
general path. The function itself is unchanged (0006's). A later change to the file comes with a
migration that loads it again; downgrading restores 0006's definition.
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
    op.execute(files("hotspot.billing").joinpath("settle_new_customer.sql").read_text())


def downgrade() -> None:
    op.execute(_0006_settle_new_customer())
