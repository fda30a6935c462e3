"""`llm-persona db`: the database behind agents (SQLite by default, or PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

from llm_persona.cli._shared import out

DB_OPTION = typer.Option(
    "--db",
    envvar="LLM_PERSONA_DB_URL",
    help="Database URL: a SQLite path or sqlite:///FILE, or postgresql://... "
    "[default: ~/.llm-persona/llm-persona.db]",
)

db_app = typer.Typer(help="The agent database: migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(db: Annotated[str | None, DB_OPTION] = None) -> None:
    """Apply every pending migration (the server does this on start too)."""
    from llm_persona.store.engine import resolve_url
    from llm_persona.store.migrate import upgrade as run_upgrade

    revision = run_upgrade(db)
    shown = resolve_url(db).render_as_string(hide_password=True)
    out().print(f"{shown} is at revision {revision}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
