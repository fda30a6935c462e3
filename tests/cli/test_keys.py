"""`llm-persona keys create / list / revoke`: the secret is printed once, only its hash is kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from llm_persona.cli import app
from llm_persona.store import Store

KEY = re.compile(r"lp-[A-Za-z0-9_-]{43}")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300", **(env or {})})


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'agents.db'}"


def create(db: str, *args: str) -> str:
    result = run("keys", "create", "--db", db, *args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_create_prints_the_key_alone_on_stdout_and_stores_its_hash(db: str) -> None:
    result = run("keys", "create", "--tenant", "acme", "--name", "ci", "--db", db)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert KEY.fullmatch(secret), result.stdout
    with Store.open(db) as store:
        [record] = store.list_api_keys()
        assert store.tenant_for_key(secret) == "acme"
    assert (record.tenant, record.name) == ("acme", "ci")
    assert f"Created API key {record.id} for tenant 'acme'" in result.stderr
    assert "only time it is shown" in result.stderr
    assert f"llm-persona keys revoke {record.id}" in result.stderr
    assert secret not in result.stderr
    assert secret.encode() not in Path(db.removeprefix("sqlite:///")).read_bytes()


def test_the_default_tenant_and_the_db_from_the_environment(db: str) -> None:
    result = run("keys", "create", env={"LLM_PERSONA_DB_URL": db})
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        assert store.tenant_for_key(result.stdout.strip()) == "default"


def test_a_bad_tenant_name_is_a_usage_error_and_creates_nothing(db: str) -> None:
    result = run("keys", "create", "--tenant", "acme corp", "--db", db)
    assert result.exit_code == 2
    assert "'acme corp' is not a tenant name" in result.output
    assert result.stdout == ""
    with Store.open(db) as store:
        assert not store.has_api_keys()


def test_list_shows_every_key_but_never_a_secret(db: str) -> None:
    first = create(db, "--tenant", "acme", "--name", "ci")
    second = create(db, "--tenant", "globex")
    with Store.open(db) as store:
        acme, globex = store.list_api_keys()
        store.tenant_for_key(first)
    result = run("keys", "list", "--db", db)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "TENANT", "NAME", "CREATED", "LAST", "USED", "STATUS"]
    assert lines[1].split()[:3] == [acme.id, "acme", "ci"]
    assert lines[1].split()[-1] == "active"
    assert lines[2].split()[:2] == [globex.id, "globex"]
    assert "never" in lines[2]
    assert first not in result.output
    assert second not in result.output

    only = run("keys", "list", "--tenant", "globex", "--json", "--db", db)
    listed = json.loads(only.stdout)
    assert [k["id"] for k in listed] == [globex.id]
    assert set(listed[0]) == {"id", "tenant", "name", "created_at", "last_used_at", "revoked_at"}


def test_list_without_keys_says_how_to_make_one(db: str) -> None:
    result = run("keys", "list", "--db", db)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No API keys. Create one with `llm-persona keys create --tenant NAME`." in result.stderr


def test_revoke_stops_the_key_and_says_when_servers_notice(db: str) -> None:
    secret = create(db, "--tenant", "acme")
    with Store.open(db) as store:
        [record] = store.list_api_keys()
    result = run("keys", "revoke", record.id, "--db", db)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"Revoked {record.id} (tenant 'acme'). Running servers refuse it within 5 seconds."
    )
    with Store.open(db) as store:
        assert store.tenant_for_key(secret) is None
    again = run("keys", "revoke", record.id, "--db", db)
    assert again.exit_code == 0
    assert "was already revoked" in again.stdout
    listed = run("keys", "list", "--db", db).stdout.splitlines()[1]
    assert "revoked 20" in listed


def test_revoking_an_unknown_id_fails_clearly(db: str) -> None:
    result = run("keys", "revoke", "key-nope", "--db", db)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "No API key 'key-nope'. List keys with `llm-persona keys list`." in result.stderr
    assert "Traceback" not in result.output
