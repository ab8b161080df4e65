"""FreeRADIUS's database role reads the auth tables and writes only accounting rows."""

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.stack import StackUnderTest


@pytest.fixture
def radius_conn(stack: StackUnderTest) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    url = make_url(stack.settings.effective_database_url)
    with psycopg.connect(
        host=url.host,
        port=url.port,
        dbname=url.database,
        user=stack.settings.radius_db_user,
        password=stack.settings.radius_db_password,
    ) as conn:
        yield conn
        conn.rollback()


def test_it_reads_the_auth_tables(radius_conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for table in ("radcheck", "radreply", "radgroupreply", "radusergroup", "nas"):
        radius_conn.execute(f"SELECT count(*) FROM {table}")


def test_it_writes_accounting(radius_conn: psycopg.Connection[tuple[object, ...]]) -> None:
    radius_conn.execute(
        "INSERT INTO radacct (acctsessionid, acctuniqueid, nasipaddress) "
        "VALUES ('s', 'role-test', '127.0.0.1')"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM payments",
        "UPDATE payments SET status = 'paid'",
        "INSERT INTO radcheck (username, attribute, value) VALUES ('x', 'Auth-Type', 'Accept')",
        "DELETE FROM radacct",
        "SELECT * FROM hotspot_users",
    ],
)
def test_it_cannot_touch_anything_else(
    radius_conn: psycopg.Connection[tuple[object, ...]], statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        radius_conn.execute(statement)
