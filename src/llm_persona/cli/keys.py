"""`llm-persona keys`: the API keys that let clients reach the server, each acting for one tenant."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from llm_persona.cli._shared import err, out
from llm_persona.cli.db import DB_OPTION

if TYPE_CHECKING:
    from llm_persona.store.keys import ApiKeyRecord

keys_app = typer.Typer(
    help="API keys. While none exists the server answers everyone as tenant 'default' (and `serve` "
    "listens on loopback only); once one exists, every request needs a live key.",
    no_args_is_help=True,
)


def _check_tenant(value: str | None) -> str | None:
    from llm_persona.store.keys import check_tenant

    if value is None:
        return None
    try:
        return check_tenant(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@keys_app.command("create")
def create(
    tenant: Annotated[
        str,
        typer.Option(
            help="The tenant the key acts for: it sees only that tenant's agents.", callback=_check_tenant
        ),
    ] = "default",
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by in `keys list`.")] = None,
    db: Annotated[str | None, DB_OPTION] = None,
) -> None:
    """Create a key and print it, once: only its hash is stored."""
    from llm_persona.store import Store

    with Store.open(db) as store:
        record, secret = store.create_api_key(tenant, name)
    typer.echo(secret)  # alone on stdout, so KEY=$(llm-persona keys create) works
    err().print(
        f"Created API key {record.id} for tenant {record.tenant!r}. This is the only time it is shown: "
        f"store it now. Clients send it as `Authorization: Bearer <key>` (letta-client: "
        f"Letta(api_key=...)). Revoke it with `llm-persona keys revoke {record.id}`."
    )


@keys_app.command("list")
def list_keys(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's keys.", callback=_check_tenant, show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: Annotated[str | None, DB_OPTION] = None,
) -> None:
    """List keys (never their secrets): id, tenant, name, created, last used, status."""
    from llm_persona.store import Store

    with Store.open(db) as store:
        keys = store.list_api_keys(tenant)
    if as_json:
        typer.echo(json.dumps([_as_dict(k) for k in keys], indent=2))
        return
    if not keys:
        where = f" for tenant {tenant!r}" if tenant else ""
        err().print(f"No API keys{where}. Create one with `llm-persona keys create --tenant NAME`.")
        return
    rows = [("ID", "TENANT", "NAME", "CREATED", "LAST USED", "STATUS")]
    rows += [
        (
            k.id,
            k.tenant,
            k.name or "",
            _when(k.created_at),
            _when(k.last_used_at) or "never",
            f"revoked {_when(k.revoked_at)}" if k.revoked else "active",
        )
        for k in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    console = out()
    for row in rows:
        console.print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id, as `keys list` shows it.")],
    db: Annotated[str | None, DB_OPTION] = None,
) -> None:
    """Revoke a key for good; running servers refuse it within a few seconds."""
    from llm_persona.store import Store
    from llm_persona.store.keys import REVOCATION_SECONDS

    with Store.open(db) as store:
        before = store.get_api_key(key_id)
        record = store.revoke_api_key(key_id)
    if before.revoked:
        out().print(
            f"{record.id} (tenant {record.tenant!r}) was already revoked, at {_when(record.revoked_at)}."
        )
        return
    out().print(
        f"Revoked {record.id} (tenant {record.tenant!r}). Running servers refuse it within "
        f"{REVOCATION_SECONDS:g} seconds."
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else ""


def _as_dict(key: ApiKeyRecord) -> dict[str, str | None]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "id": key.id,
        "tenant": key.tenant,
        "name": key.name,
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
    }


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
