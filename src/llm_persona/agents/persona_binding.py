"""Which persona version serves an agent's next step: its pin, else the label it follows, else the
persona's latest version; recorded in the store so version numbers survive restarts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llm_persona.personas.registry import PersonaRegistry
from llm_persona.personas.versions import canonical_content, persona_from_content
from llm_persona.store.records import AgentRecord, PersonaVersionRecord

if TYPE_CHECKING:
    from llm_persona.store import Store

#: The label every synced persona carries on its current version; agents without pin or label follow it.
LATEST = "latest"


@dataclass(frozen=True)
class ServedPersona:
    name: str
    number: int
    fingerprint: str
    text: str  # rendered with the agent's variables, static blocks first


def sync_registry(store: Store, registry: PersonaRegistry, tenant: str) -> dict[str, int]:
    """Record every version of every persona in `registry` and its labels; name -> current number."""
    current: dict[str, int] = {}
    for name in registry.list_names():
        try:
            history = registry.history(name)
        except LookupError:
            continue
        numbers = {
            v.number: store.record_persona_version(tenant, name, v.fingerprint, canonical_content(v.persona))
            for v in history
        }
        for label, number in registry.labels(name).items():
            store.set_persona_label(tenant, name, label, numbers[number])
        latest = numbers[registry.lookup(name).number]
        store.set_persona_label(tenant, name, LATEST, latest)
        current[name] = latest
    return current


class VersionCache:
    """Recorded persona versions never change, so one store's versions are read once per process."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._records: dict[tuple[str, str, int], PersonaVersionRecord] = {}

    def get(self, store: Store, tenant: str, name: str, number: int) -> PersonaVersionRecord:
        key = (tenant, name, number)
        record = self._records.get(key)
        if record is None:
            record = store.get_persona_version(tenant, name, number)
            if len(self._records) >= self.max_entries:
                self._records.clear()
            self._records[key] = record
        return record


def resolve_for(
    store: Store, agent: AgentRecord, versions: VersionCache | None = None
) -> ServedPersona | None:
    """The persona version that serves `agent` now, rendered; None for an agent without a persona."""
    name = agent.persona_name
    if name is None:
        return None
    if agent.persona_version is not None:
        number = agent.persona_version
    else:
        number = store.get_persona_label(agent.tenant, name, agent.persona_label or LATEST)
    if versions is None:
        record = store.get_persona_version(agent.tenant, name, number)
    else:
        record = versions.get(store, agent.tenant, name, number)
    text = _render(record.fingerprint, record.content, agent.persona_vars)
    return ServedPersona(name, number, record.fingerprint, text)


def render_check(content: dict[str, object], variables: dict[str, object]) -> str:
    """Render once, raising MissingVariablesError if the agent's variables do not cover the persona."""
    return persona_from_content(content).render(variables, order="cache").text


_RENDERED: dict[tuple[str, str], str] = {}


def _render(fingerprint: str, content: dict[str, object], variables: dict[str, object]) -> str:
    """Render, cached by (fingerprint, variables): a version's content never changes."""
    key = (fingerprint, json.dumps(variables, sort_keys=True, default=str))
    text = _RENDERED.get(key)
    if text is None:
        text = render_check(content, variables)
        if len(_RENDERED) >= 4096:
            _RENDERED.clear()
        _RENDERED[key] = text
    return text
