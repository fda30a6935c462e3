"""`llm-persona db upgrade` migrates a fresh database and is idempotent."""

from pathlib import Path

from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from llm_persona.cli import app
from llm_persona.store import head_revision


def test_db_upgrade_creates_the_schema_and_can_run_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"{url} is at revision {head_revision()}"
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"agents", "blocks", "messages", "steps", "persona_versions", "tools", "passages"} <= tables


def test_db_upgrade_rejects_an_unknown_engine_clearly() -> None:
    result = CliRunner().invoke(app, ["db", "upgrade", "--db", "bogus://x"])
    assert result.exit_code == 1
    assert "Unsupported database 'bogus'" in result.output
