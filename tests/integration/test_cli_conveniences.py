"""Everyday commands: the version, the database's URL and a psql into it, and one clear line
with exit code 69 (not a traceback) when the database or Redis does not answer."""

from __future__ import annotations

import importlib.metadata
import subprocess

from sqlalchemy.engine import make_url

from hotspot.dev.stack import free_port
from tests.support.cli import run_hotspot
from tests.support.stack import StackUnderTest

UNAVAILABLE = 69


hotspot = run_hotspot


def test_version_is_the_installed_package_version(stack: StackUnderTest) -> None:
    result = hotspot(stack.env(), "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"hotspot, version {importlib.metadata.version('hotspot')}"


def test_db_url_is_what_psql_takes_and_masked_on_request(stack: StackUnderTest) -> None:
    url = hotspot(stack.env(), "db", "url").stdout.strip()
    expected = make_url(stack.settings.effective_database_url)
    assert url.startswith("postgresql://")
    psql = subprocess.run(
        ["psql", url, "-XAtc", "select current_database(), current_user"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert psql.stdout.strip() == f"{expected.database}|{expected.username}"
    masked = hotspot(stack.env(), "db", "url", "--masked").stdout
    assert expected.password
    assert expected.password not in masked
    assert ":***@" in masked


def test_db_shell_is_psql_in_the_applications_database_as_its_role(
    stack: StackUnderTest,
) -> None:
    result = hotspot(stack.env(), "db", "shell", "-XAtc", "select current_user, 6 * 7")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{make_url(stack.settings.effective_database_url).username}|42"


def test_db_shell_keeps_the_urls_options(stack: StackUnderTest) -> None:
    """e.g. sslmode=verify-full: psql gets the URL (without its password), options and all."""
    url = make_url(stack.settings.effective_database_url)
    env = {
        **stack.env(),
        "HOTSPOT_DATABASE_URL": url.update_query_dict(
            {"application_name": "from-the-url"}
        ).render_as_string(hide_password=False),
    }
    result = hotspot(env, "db", "shell", "-XAtc", "show application_name")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-the-url"


def test_a_database_that_does_not_answer_is_one_line_and_exit_69(stack: StackUnderTest) -> None:
    port = free_port()
    env = {
        **stack.env(),
        "HOTSPOT_DATABASE_URL": f"postgresql+psycopg://hotspot:hunter2@127.0.0.1:{port}/hotspot",
    }
    result = hotspot(env, "packages", "list")
    assert result.returncode == UNAVAILABLE
    assert result.stderr.splitlines() == [
        f"error: the database does not answer: connection failed: connection to server at "
        f'"127.0.0.1", port {port} failed: Connection refused'
    ]
    assert "hunter2" not in result.stderr


def test_redis_that_does_not_answer_is_one_line_and_exit_69(
    stack: StackUnderTest,
) -> None:
    port = free_port()
    env = {**stack.env(), "HOTSPOT_REDIS_URL": f"redis://:hunter2@127.0.0.1:{port}/0"}
    result = hotspot(env, "jobs", "list")
    assert result.returncode == UNAVAILABLE
    assert result.stderr.splitlines() == [
        f"error: Redis does not answer: Error 111 connecting to 127.0.0.1:{port}. "
        "Connection refused."
    ]
    assert "hunter2" not in result.stderr
