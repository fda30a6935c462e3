"""Health (an SDK type) and the persona routes' bodies (ours: the SDK has no type for them)."""

from __future__ import annotations

import pytest
from letta_client import types as lt
from pydantic import ValidationError

from llm_persona import Persona, PersonaRegistry
from llm_persona.agents.runtime import DriftEntry
from llm_persona.personas.diff import diff_versions
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store.records import PersonaVersionRecord
from tests.server.wire.helpers import FakeServer, strict, wire


def test_health_validates() -> None:
    sdk = strict(lt.HealthResponse, convert.health())
    assert sdk.status == "ok"
    assert sdk.version


def test_sdk_health() -> None:
    server = FakeServer()
    server.on("GET", "/v1/health/", lambda r: convert.health())
    assert server.client().health().status == "ok"


def test_persona_bodies(persona_records: list[PersonaVersionRecord]) -> None:
    labels = {"production": 1, "staging": 2}
    version = convert.persona_version(persona_records[0], labels)
    assert (version.version, version.labels, version.content["tone"]) == (1, ["production"], "warm")
    summary = convert.persona_summary("Maya", persona_records, labels)
    assert (summary.latest_version, summary.version_count, summary.labels) == (2, 2, labels)
    registry = PersonaRegistry()
    registry.define(Persona(name="Maya", role="Support", tone="warm"))
    registry.define(Persona(name="Maya", role="Support", tone="brisk"))
    diff = convert.persona_diff(
        diff_versions(registry.lookup("Maya", version=1), registry.lookup("Maya", version=2))
    )
    assert [(c.field, c.before, c.after) for c in diff.changes] == [("tone", "warm", "brisk")]
    assert "-" in diff.prompt_diff
    assert wire(diff)["old"] == 1
    drift = convert.drift_entry(DriftEntry("agent-1", "maya-1", "Maya", 1, 2, "label production"))
    assert wire(drift)["follows"] == "label production"
    with pytest.raises(ValidationError, match="not both"):
        w.RenderPersona(version=1, label="production")
    assert w.RenderPersona.model_validate({"variables": {"user_name": "Bo"}}).variables == {"user_name": "Bo"}
