"""``--database``'s value (privcloud.cli.database_url): env:NAME, and URLs carrying a password."""

from __future__ import annotations

import argparse

import pytest

from privcloud.cli.database_url import database_url, has_password
from privcloud.storage.database import child_database


@pytest.mark.parametrize(
    ("url", "carries"),
    [
        ("postgresql://privcloud:pw@db/privcloud", True),
        ("postgresql://db/privcloud?sslmode=verify-full&password=pw", True),
        ("postgresql://privcloud@db/privcloud", False),
        ("postgresql:///privcloud?host=/run/postgresql", False),
        ("sqlite:///var/lib/privcloud/issuer.sqlite3", False),
        ("postgresql://[::1", False),  # (not a URL: Database.from_url refuses it)
    ],
)
def test_a_password_in_a_database_url_is_seen(url: str, carries: bool) -> None:
    assert has_password(url) is carries


def test_env_names_the_variable_holding_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DATABASE_URL": "postgresql://privcloud:pw@db/privcloud"}
    assert database_url("env:DATABASE_URL", env) == env["DATABASE_URL"]
    assert capsys.readouterr().err == ""  # (from the environment: no warning)
    for bad in ("env:", "env:1X", "env:A-B", "env:" + "A" * 200):
        with pytest.raises(argparse.ArgumentTypeError, match="environment variable's name"):
            database_url(bad, env)
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        database_url("env:OTHER", env)
    assert "pw" not in str(refused.value)
    database_url(env["DATABASE_URL"], env)
    said = capsys.readouterr().err
    assert "carries a password" in said and "pw@" not in said


def test_children_get_the_url_in_their_environment_only() -> None:
    url = "postgresql://privcloud:pw@db/privcloud"
    argv, env = child_database(url)
    assert argv == ["--database", "env:PRIVCLOUD_DATABASE_URL"] and env == {
        "PRIVCLOUD_DATABASE_URL": url
    }
    assert child_database(None) == ([], {})
