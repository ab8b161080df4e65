"""The report rollups refreshed through a function of their owner's, so a role that does not own
them (the application role of a production deployment) can refresh them.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-04 09:00:00.000000

`REFRESH MATERIALIZED VIEW` (and `ANALYZE`) may only be run by the view's owner: the role that ran
the migrations. In production the API and the workers connect as an application role with row
privileges only (`hotspot db provision`), so `hotspot_refresh_rollup(name)` runs as its owner
(SECURITY DEFINER) with a fixed search_path, and refreshes (CONCURRENTLY) and analyzes one of the
three rollups, named exactly; any other name is refused. EXECUTE is taken from PUBLIC: only roles
granted it (the owner, the application role) may call it; FreeRADIUS's may not.

A function only: nothing is rewritten or locked.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = ("report_revenue_closed", "report_funnel_closed", "report_usage_closed")
SIGNATURE = "hotspot_refresh_rollup(text)"


def upgrade() -> None:
    known = ", ".join(f"'{name}'" for name in ROLLUPS)
    op.execute(
        f"""
        CREATE FUNCTION hotspot_refresh_rollup(p_name text) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        BEGIN
            IF p_name IS NULL OR p_name NOT IN ({known}) THEN
                RAISE EXCEPTION 'not a report rollup: %', p_name
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY public.%I', p_name);
            EXECUTE format('ANALYZE public.%I', p_name);
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
