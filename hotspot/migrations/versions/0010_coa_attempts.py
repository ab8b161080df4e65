"""CoA-Requests are recorded like Disconnect-Requests: `session_disconnections.request`.

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-12 09:00:00.000000

Every Disconnect-Request and CoA-Request attempt is one row of `session_disconnections`; the new
column `request` says which (`disconnect`, the default, for every row before, or `coa`). The
view `report_failed_disconnects` (migration 0002) gains the column, so a failed CoA (answered
by the Disconnect-Request it falls back to) shows beside the failed disconnects.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = "report_failed_disconnects"


def _0002_view() -> str:
    path = Path(__file__).with_name("0002_operator_views.py")
    spec = importlib.util.spec_from_file_location("revision_0002", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    query: str = dict(module.REPORTS)[VIEW]
    return query


def _with_request(query: str) -> str:
    """0002's query with the new column last (CREATE OR REPLACE VIEW may only add at the end)."""
    last = "d.detail\n"
    assert query.count(last) == 1, "migration 0002's view changed"
    return query.replace(last, "d.detail,\n               d.request\n")


def upgrade() -> None:
    op.add_column(
        "session_disconnections",
        sa.Column("request", sa.Text(), server_default="disconnect", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_session_disconnections_request_known"),
        "session_disconnections",
        "request IN ('disconnect', 'coa')",
    )
    op.execute(f"CREATE OR REPLACE VIEW {VIEW} AS {_with_request(_0002_view())}")


def downgrade() -> None:
    op.execute(f"DROP VIEW {VIEW}")
    op.execute(f"CREATE VIEW {VIEW} AS {_0002_view()}")
    op.drop_constraint("ck_session_disconnections_request_known", "session_disconnections")
    op.drop_column("session_disconnections", "request")
