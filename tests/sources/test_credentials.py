"""Database passwords: split at the last "@" of the user info, and redacted from every message."""

from __future__ import annotations

from datetime import date

import pytest

from dhispatch.runtime.sources.model import Credentials
from dhispatch.runtime.sources.model import redact
from dhispatch.runtime.sources.model import split_credentials


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgres://postgres:ss@Canary99@db:5432/om failed",
         "postgres://postgres:***@db:5432/om failed"),
        ("postgresql://u:p/w@Canary99@db/om", "postgresql://u:***@db/om"),
        ("postgresql://u:my Canary99@db/om", "postgresql://u:***@db/om"),
        ('at "postgresql://u:Canary99@db/om": refused', 'at "postgresql://u:***@db/om": refused'),
        ("postgresql://u@db/om", "postgresql://u@db/om"),
        ("host=db password=Canary99 dbname=om", "host=db password=*** dbname=om"),
        ("host=db PASSWORD = Canary99", "host=db PASSWORD = ***"),
        ("host=db password='Canary99 \\' x' dbname=om", "host=db password=*** dbname=om"),
        ("password='Canary99 never closed", "password=***"),
        ("postgresql://db/om?sslmode=require&password=Canary99&x=1",
         "postgresql://db/om?sslmode=require&password=***&x=1"),
    ],
)  # fmt: skip
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown and "Canary99" not in redact(text)


def test_split_credentials_cuts_at_the_last_at() -> None:
    assert split_credentials("postgresql://postgres:ss@Canary99@db:5432/om?x=1") == Credentials(
        "postgresql://db:5432/om?x=1", "postgres", "ss@Canary99"
    )
    assert split_credentials("postgres://u%40x:p%2Fw@db/om") == Credentials(
        "postgres://db/om", "u@x", "p/w"
    )
    assert split_credentials("postgresql://u@db/om") == Credentials("postgresql://db/om", "u")
    assert split_credentials("postgresql://db/om") == Credentials("postgresql://db/om")
    assert split_credentials("omsupply.sqlite") == Credentials("omsupply.sqlite")


def test_a_password_with_at_signs_connects(postgres_server: str) -> None:
    import psycopg

    from dhispatch.runtime.demo.generator import generate_demo
    from dhispatch.runtime.sources import open_source

    base = split_credentials(postgres_server)
    password = "ss@Canary99/x:y"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS at_sign")
        conn.execute("DROP ROLE IF EXISTS at_sign_user")
        conn.execute(f"CREATE ROLE at_sign_user LOGIN PASSWORD '{password}'")
        conn.execute("CREATE DATABASE at_sign OWNER at_sign_user")
    host = base.url.partition("://")[2].rpartition("/")[0]
    url = f"postgresql://at_sign_user:{password}@{host}/at_sign"
    try:
        generate_demo(url, stores=1, items=1, months=1, seed=1, end=date(2024, 1, 31))
        with open_source(url) as source:
            assert source.dialect == "postgresql" and "Canary99" not in source.label
        # the outputs that name the database (explain's table and JSON, indicators) never show it
        from click.testing import CliRunner

        from dhispatch.runtime.cli.main import cli

        for args in (["explain", "--store", "S001", "--item", "I0001"],
                     ["explain", "--store", "S001", "--item", "I0001", "--format", "json"],
                     ["indicators", "--indicator", "stock_on_hand"]):  # fmt: skip
            run = CliRunner().invoke(cli, [*args, "--source", url, "--at", "2024-01-31"])
            assert run.exit_code == 0, run.output
            assert "Canary99" not in run.output + run.stderr
            assert args[0] != "explain" or "at_sign_user:***@" in run.output  # named, redacted
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS at_sign WITH (FORCE)")
            conn.execute("DROP ROLE IF EXISTS at_sign_user")
