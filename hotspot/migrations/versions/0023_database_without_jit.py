"""The database runs without JIT compilation.

Revision ID: 0023
Revises: 0022
Create Date: 2027-03-09 09:00:00.000000

PostgreSQL compiles a query with LLVM once its estimated cost passes jit_above_cost (100 000),
inlining and optimizing past 500 000. The reports' estimates on a year of data pass both (the
live part's lower bound is unknown when planned, so it is costed as a range of radacct), while
the queries themselves run in milliseconds: on 30 M sessions with the compiler at full effort,
the funnel took 477 ms of which 409 compiling, 2 ms without; usage per user 694 ms of which
627, 68 ms without. On the year of bench/year the funnel took 334 ms and the top 20 users
711 ms for that reason. Nothing this application runs is the long CPU-bound query JIT pays off
for, so the database's default becomes jit = off (ALTER DATABASE … SET: every new session,
operators' psql included). Only the database's owner or a superuser may set it: run by another
role, this migration leaves it as it is and says so.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def set_jit(clause: str) -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF pg_has_role(current_user, (SELECT datdba FROM pg_database
                                           WHERE datname = current_database()), 'USAGE') THEN
                EXECUTE format('ALTER DATABASE %I {clause}', current_database());
            ELSE
                RAISE NOTICE 'jit left as it is: % does not own database %',
                    current_user, current_database();
            END IF;
        END $$
        """  # noqa: S608 - `clause` is one of this file's two constants
    )


def upgrade() -> None:
    set_jit("SET jit = off")


def downgrade() -> None:
    set_jit("RESET jit")
