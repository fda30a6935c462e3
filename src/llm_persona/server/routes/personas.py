"""Personas (`/v1/personas`, ours, not Letta's): the recorded versions of each persona, their labels,
rendering, diffs, and which agents run an outdated version.

Behaviour, decided here:

- Versions are the ones recorded in the store (the server syncs its persona file on start); they
  never change. `latest` is the label every synced persona carries on its current version: agents
  with neither a pin nor a label follow it.
- A version is named by its number or by a label, wherever a route takes one (`?a=2&b=production`).
- Render fills the version's variables as `Persona.build_system_prompt` does (declared defaults
  apply); variables it needs and was not given are a 422 naming each one and the fields using it.
  Without `version` or `label` it renders the current version (`latest`).
- Moving a label (`PUT .../labels/{label}`) writes nothing but the label: agents following it pick
  the new version up at their next step (and recompile their system prompt then). A version that
  was never recorded is a 404 and the label stays where it was.
- Drift lists the agents whose last step ran another version than the one they would get now
  (agents that have not taken a step yet too, with `served_version` null).
- `drift` is a route, so a persona named "drift" is reached by its versions:
  `GET /v1/personas/drift/versions`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from llm_persona.agents.persona_binding import LATEST
from llm_persona.errors import PersonaNotFoundError
from llm_persona.personas.diff import diff_versions
from llm_persona.personas.versions import PersonaVersion, persona_from_content
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.server.deps import Runtime
from llm_persona.store import PersonaVersionRecord, Store

router = APIRouter(prefix="/v1/personas", tags=["personas"])

VersionRef = Annotated[
    str, Query(min_length=1, description="A version number, or a label such as 'production'.")
]
VersionNumber = Annotated[int, Path(ge=1, le=w.MAX_INT, description="A version number (1 is the first).")]


class PersonaDetail(w.PersonaSummary):
    """`GET /v1/personas/{name}`: the persona's summary and every recorded version, oldest first."""

    versions: list[w.PersonaVersion]


# --- helpers (run in a worker thread) ---------------------------------------------------------------


def _versions(store: Store, tenant: str, name: str) -> list[PersonaVersionRecord]:
    """Every recorded version of the persona, oldest first; PersonaNotFoundError if it has none."""
    versions = store.list_persona_versions(tenant, name)
    if not versions:
        raise PersonaNotFoundError(
            f"No persona {name!r} (tenant {tenant!r}). List personas with GET /v1/personas; "
            "the server records the personas of its persona file when it starts."
        )
    return versions


def _current(store: Store, tenant: str, versions: Sequence[PersonaVersionRecord]) -> int:
    """The version `latest` points at (the newest recorded one if the label is missing)."""
    labels = store.persona_labels(tenant, versions[0].name)
    return labels.get(LATEST, versions[-1].number)


def _resolve(
    store: Store, tenant: str, name: str, *, version: int | None = None, label: str | None = None
) -> PersonaVersionRecord:
    """The version of the persona with this number, or this label points at; else the current one."""
    versions = _versions(store, tenant, name)
    if version is None:
        version = store.get_persona_label(tenant, name, label) if label else _current(store, tenant, versions)
    return store.get_persona_version(tenant, name, version)


def _ref(ref: str | None, field: str) -> dict[str, Any]:
    """A version number or a label (query parameter `field`), as keyword arguments of `_resolve`."""
    if ref is None:
        return {}
    if not ref.isdecimal():
        return {"label": ref}
    if len(ref) > len(str(w.MAX_INT)) or not 1 <= int(ref) <= w.MAX_INT:
        shown = ref if len(ref) <= 20 else f"{ref[:20]}... ({len(ref)} digits)"
        raise HTTPException(422, f"{field}: {shown} is not a version number (1 to {w.MAX_INT}) nor a label.")
    return {"version": int(ref)}


def _library_version(record: PersonaVersionRecord) -> PersonaVersion:
    persona = persona_from_content(record.content)
    return PersonaVersion(
        name=record.name,
        number=record.number,
        fingerprint=record.fingerprint,
        persona=persona,
        definition=persona,
        origins={},
        created_at=record.created_at,
    )


# --- routes -----------------------------------------------------------------------------------------


@router.get("", response_model=list[w.PersonaSummary])
async def list_personas(runtime: Runtime) -> list[w.PersonaSummary]:
    store, tenant = runtime.store, runtime.tenant

    def read() -> list[w.PersonaSummary]:
        out = []
        for name in store.list_persona_names(tenant):
            versions = store.list_persona_versions(tenant, name)
            out.append(convert.persona_summary(name, versions, store.persona_labels(tenant, name)))
        return out

    return await asyncio.to_thread(read)


@router.get("/drift", response_model=list[w.DriftEntry])
async def drift(runtime: Runtime) -> list[w.DriftEntry]:
    """Agents whose last step ran another persona version than the one they would get now."""
    return [convert.drift_entry(e) for e in await asyncio.to_thread(runtime.drift)]


@router.get("/{name}", response_model=PersonaDetail)
async def retrieve_persona(name: str, runtime: Runtime) -> PersonaDetail:
    store, tenant = runtime.store, runtime.tenant

    def read() -> PersonaDetail:
        versions = _versions(store, tenant, name)
        labels = store.persona_labels(tenant, name)
        summary = convert.persona_summary(name, versions, labels)
        return PersonaDetail(
            **summary.model_dump(), versions=[convert.persona_version(v, labels) for v in versions]
        )

    return await asyncio.to_thread(read)


@router.get("/{name}/versions", response_model=list[w.PersonaVersion])
async def list_versions(name: str, runtime: Runtime) -> list[w.PersonaVersion]:
    store, tenant = runtime.store, runtime.tenant

    def read() -> list[w.PersonaVersion]:
        versions = _versions(store, tenant, name)
        labels = store.persona_labels(tenant, name)
        return [convert.persona_version(v, labels) for v in versions]

    return await asyncio.to_thread(read)


@router.get("/{name}/versions/{number}", response_model=w.PersonaVersion)
async def retrieve_version(name: str, number: VersionNumber, runtime: Runtime) -> w.PersonaVersion:
    store, tenant = runtime.store, runtime.tenant

    def read() -> w.PersonaVersion:
        _versions(store, tenant, name)
        record = store.get_persona_version(tenant, name, number)
        return convert.persona_version(record, store.persona_labels(tenant, name))

    return await asyncio.to_thread(read)


@router.post("/{name}/render", response_model=w.RenderedPersona)
async def render(name: str, body: w.RenderPersona, runtime: Runtime) -> w.RenderedPersona:
    store, tenant = runtime.store, runtime.tenant

    def rendered() -> w.RenderedPersona:
        record = _resolve(store, tenant, name, version=body.version, label=body.label)
        prompt = persona_from_content(record.content).render(body.variables).text
        return w.RenderedPersona(
            name=record.name, version=record.number, fingerprint=record.fingerprint, prompt=prompt
        )

    return await asyncio.to_thread(rendered)


@router.get("/{name}/diff", response_model=w.PersonaDiff)
async def diff(
    name: str,
    runtime: Runtime,
    a: VersionRef,
    b: Annotated[str | None, Query(min_length=1, description="Default: the current version.")] = None,
) -> w.PersonaDiff:
    """What changed from version `a` to version `b` (numbers or labels): the fields, then the
    prompt as a unified diff with placeholders left as `{name}`."""
    store, tenant = runtime.store, runtime.tenant
    ref_a, ref_b = _ref(a, "a"), _ref(b, "b")

    def compare() -> w.PersonaDiff:
        old, new = _resolve(store, tenant, name, **ref_a), _resolve(store, tenant, name, **ref_b)
        return convert.persona_diff(diff_versions(_library_version(old), _library_version(new)))

    return await asyncio.to_thread(compare)


@router.put("/{name}/labels/{label}", response_model=w.PersonaVersion)
async def set_label(name: str, label: str, body: w.SetPersonaLabel, runtime: Runtime) -> w.PersonaVersion:
    """Point `label` at `version` (moving it if it exists; `latest` too, for a rollback). Answers
    with the version the label now points at."""
    if label.isdecimal():
        raise HTTPException(
            422, f"label: {label!r} is a number, which names a version; pick a word, e.g. 'production'."
        )
    store, tenant = runtime.store, runtime.tenant

    def move() -> w.PersonaVersion:
        _versions(store, tenant, name)
        store.set_persona_label(tenant, name, label, body.version)
        record = store.get_persona_version(tenant, name, body.version)
        return convert.persona_version(record, store.persona_labels(tenant, name))

    return await asyncio.to_thread(move)
