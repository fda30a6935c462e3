"""The persona routes (ours; the SDK has no persona resource, so plain httpx), on both engines:
list, versions, render, diff, moving a label that agents follow, and drift."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from letta_client import Letta

from llm_persona import Persona, PersonaRegistry
from llm_persona.personas.versions import fingerprint
from tests.server.conftest import MAYA, Running

T = "default"
WARM = dataclasses.replace(MAYA, tone="warm and patient", labels=[])
ADA = Persona(name="Ada", role="Tutor", custom_sections={"lesson": "Teach {topic} to {student}."})


@pytest.fixture
def http(running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url) as client:
        yield client


def publish(running: Running, registry: PersonaRegistry, *personas: Persona) -> None:
    """Define new versions and record them, as the server does with its persona file on start."""
    for p in personas:
        registry.define(p)
    running.runtime.sync_personas(registry)


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def fails(answer: httpx.Response, status: int, *named: str) -> str:
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str)
    for text in named:
        assert text in detail, detail
    return detail


def served_versions(running: Running, agent_id: str) -> list[int | None]:
    return [s.persona_version for s in running.store.list_steps(T, agent_id)]


def take_a_step(client: Letta, running: Running, agent_id: str) -> str:
    running.model.add("Hello!")
    client.agents.messages.create(agent_id, messages=[{"role": "user", "content": "hi"}])
    return running.model.last_request.messages[0].content or ""


# --- reading ----------------------------------------------------------------------------------------


def test_list_and_versions(http: httpx.Client, running: Running, registry: PersonaRegistry) -> None:
    assert ok(http.get("/v1/personas")) == [
        {"name": "Maya", "latest_version": 1, "version_count": 1, "labels": {"latest": 1, "production": 1}}
    ]
    publish(running, registry, WARM, ADA)
    assert ok(http.get("/v1/personas")) == [
        {"name": "Ada", "latest_version": 1, "version_count": 1, "labels": {"latest": 1}},
        {"name": "Maya", "latest_version": 2, "version_count": 2, "labels": {"latest": 2, "production": 1}},
    ]

    maya = ok(http.get("/v1/personas/Maya"))
    assert (maya["name"], maya["latest_version"], maya["labels"]) == (
        "Maya",
        2,
        {"latest": 2, "production": 1},
    )
    assert [(v["version"], v["labels"]) for v in maya["versions"]] == [(1, ["production"]), (2, ["latest"])]
    assert [v["fingerprint"] for v in maya["versions"]] == [fingerprint(MAYA), fingerprint(WARM)]
    assert ok(http.get("/v1/personas/Maya/versions")) == maya["versions"]

    second = ok(http.get("/v1/personas/Maya/versions/2"))
    assert second == maya["versions"][1]
    assert (second["content"]["tone"], second["content"]["role"]) == ("warm and patient", MAYA.role)


def test_render_fills_variables_and_names_the_missing_ones(
    http: httpx.Client, running: Running, registry: PersonaRegistry
) -> None:
    publish(running, registry, WARM, ADA)
    current = ok(http.post("/v1/personas/Maya/render", json={"variables": {"user_name": "Bo"}}))
    assert (current["name"], current["version"], current["fingerprint"]) == ("Maya", 2, fingerprint(WARM))
    assert current["prompt"] == WARM.build_system_prompt(user_name="Bo")
    assert "The customer is Bo." in current["prompt"]

    pinned = ok(http.post("/v1/personas/Maya/render", json={"version": 1}))
    assert pinned["prompt"] == MAYA.build_system_prompt()  # the declared default fills user_name
    labelled = ok(http.post("/v1/personas/Maya/render", json={"label": "production"}))
    assert labelled == pinned

    detail = fails(
        http.post("/v1/personas/Ada/render", json={"variables": {}}), 422, "student", "topic", "Ada"
    )
    assert "custom_sections.lesson" in detail
    fails(http.post("/v1/personas/Ada/render", json={"variables": {"topic": "maths"}}), 422, "student")
    fails(http.post("/v1/personas/Maya/render", json={"version": 1, "label": "production"}), 422, "not both")
    fails(http.post("/v1/personas/Maya/render", json={"variables": {"user_name": ["a"]}}), 422, "user_name")
    fails(http.post("/v1/personas/Maya/render", json={"colour": "red"}), 422, "colour")


def test_diff_between_versions_or_labels(
    http: httpx.Client, running: Running, registry: PersonaRegistry
) -> None:
    publish(running, registry, WARM)
    diff = ok(http.get("/v1/personas/Maya/diff", params={"a": "1", "b": "2"}))
    assert (diff["name"], diff["old"], diff["new"]) == ("Maya", 1, 2)
    assert diff["changes"] == [{"field": "tone", "before": MAYA.tone, "after": "warm and patient"}]
    lines = diff["prompt_diff"].splitlines()
    assert lines[:2] == ["--- Maya v1", "+++ Maya v2"]
    assert any(x.startswith("-") and MAYA.tone in x for x in lines[2:])
    assert any(x.startswith("+") and "warm and patient" in x for x in lines[2:])

    assert ok(http.get("/v1/personas/Maya/diff", params={"a": "production"})) == diff  # b: the current one
    same = ok(http.get("/v1/personas/Maya/diff", params={"a": "latest", "b": "2"}))
    assert (same["changes"], same["prompt_diff"]) == ([], "")
    fails(http.get("/v1/personas/Maya/diff"), 422, "a")
    fails(http.get("/v1/personas/Maya/diff", params={"a": "1", "b": "staging"}), 404, "staging")
    fails(http.get("/v1/personas/Maya/diff", params={"a": "7"}), 404, "7")


# --- labels and drift -------------------------------------------------------------------------------


def test_moving_a_label_reaches_its_followers_at_their_next_step(
    client: Letta, http: httpx.Client, running: Running, registry: PersonaRegistry
) -> None:
    follower = client.agents.create(
        name="prod", extra_body={"persona": "Maya", "persona_label": "production"}
    ).id
    latest = client.agents.create(name="edge", extra_body={"persona": "Maya"}).id
    pinned = client.agents.create(name="pinned", extra_body={"persona": "Maya", "persona_version": 1}).id
    for agent_id in (follower, latest, pinned):
        take_a_step(client, running, agent_id)
    assert ok(http.get("/v1/personas/drift")) == []

    publish(running, registry, WARM)
    assert ok(http.get("/v1/personas/drift")) == [
        {
            "agent_id": latest,
            "agent_name": "edge",
            "persona": "Maya",
            "served_version": 1,
            "current_version": 2,
            "follows": "latest",
        }
    ]

    moved = ok(http.put("/v1/personas/Maya/labels/production", json={"version": 2}))
    assert (moved["version"], moved["labels"]) == (2, ["latest", "production"])
    assert ok(http.get("/v1/personas/Maya"))["labels"] == {"latest": 2, "production": 2}
    drifting = {
        e["agent_id"]: (e["served_version"], e["current_version"], e["follows"])
        for e in ok(http.get("/v1/personas/drift"))
    }
    assert drifting == {latest: (1, 2, "latest"), follower: (1, 2, "label production")}

    for agent_id in (follower, latest, pinned):
        system = take_a_step(client, running, agent_id)
        assert ("warm and patient" in system) is (agent_id != pinned)
    assert served_versions(running, follower) == [1, 2]
    assert served_versions(running, pinned) == [1, 1]
    assert ok(http.get("/v1/personas/drift")) == []

    # roll back: the label moves back, and so do its followers
    ok(http.put("/v1/personas/Maya/labels/production", json={"version": 1}))
    assert [e["agent_id"] for e in ok(http.get("/v1/personas/drift"))] == [follower]
    assert "warm and patient" not in take_a_step(client, running, follower)
    assert served_versions(running, follower) == [1, 2, 1]

    created = ok(http.put("/v1/personas/Maya/labels/staging", json={"version": 2}))
    assert created["labels"] == ["latest", "staging"]


def test_drift_lists_agents_that_have_not_taken_a_step(client: Letta, http: httpx.Client) -> None:
    agent_id = client.agents.create(name="new", extra_body={"persona": "Maya"}).id
    client.agents.create(name="plain", system="You are plain.")  # no persona: never drifts
    assert ok(http.get("/v1/personas/drift")) == [
        {
            "agent_id": agent_id,
            "agent_name": "new",
            "persona": "Maya",
            "served_version": None,
            "current_version": 1,
            "follows": "latest",
        }
    ]


# --- bad input changes nothing ----------------------------------------------------------------------


def test_unknown_personas_versions_and_labels_are_404s_and_change_nothing(
    http: httpx.Client, running: Running
) -> None:
    before = (running.store.list_persona_versions(T, "Maya"), running.store.persona_labels(T, "Maya"))
    for answer in (
        http.get("/v1/personas/Nobody"),
        http.get("/v1/personas/Nobody/versions"),
        http.get("/v1/personas/Nobody/versions/1"),
        http.post("/v1/personas/Nobody/render", json={}),
        http.post("/v1/personas/Nobody/render", json={"label": "production"}),
        http.get("/v1/personas/Nobody/diff", params={"a": "1"}),
        http.put("/v1/personas/Nobody/labels/production", json={"version": 1}),
    ):
        fails(answer, 404, "Nobody")
    fails(http.get("/v1/personas/Maya/versions/9"), 404, "version 9")
    fails(http.post("/v1/personas/Maya/render", json={"label": "staging"}), 404, "staging")
    fails(http.put("/v1/personas/Maya/labels/production", json={"version": 9}), 404, "version 9")
    fails(http.put("/v1/personas/Maya/labels/production", json={"version": 0}), 422, "version")
    fails(http.put("/v1/personas/Maya/labels/production", json={}), 422, "version")
    fails(http.put("/v1/personas/Maya/labels/3", json={"version": 1}), 422, "label")
    fails(http.get("/v1/personas/Maya/versions/first"), 422, "number")
    assert (running.store.list_persona_versions(T, "Maya"), running.store.persona_labels(T, "Maya")) == before
    assert running.store.list_persona_names(T) == ["Maya"]
