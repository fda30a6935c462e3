"""Request bodies: every key the SDK may send is accepted, and a bad body is an error naming its field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from letta_client import types as lt
from letta_client.types import agents as lta
from letta_client.types.agents import message_create_params
from pydantic import BaseModel, ValidationError

from llm_persona.server import schemas as w


def keys(params: type) -> set[str]:
    return set(getattr(params, "__required_keys__", ())) | set(getattr(params, "__optional_keys__", ()))


def accepted(model: type[w.RequestModel]) -> set[str]:
    return set(model.model_fields) | set(model.ignored)


@pytest.mark.parametrize(
    ("params", "model", "not_in_body"),
    [
        (lt.AgentCreateParams, w.CreateAgent, set()),
        (lt.AgentUpdateParams, w.UpdateAgent, set()),
        (lt.CreateBlockParam, w.CreateBlock, set()),
        (lt.BlockCreateParams, w.CreateBlock, set()),
        (lt.BlockUpdateParams, w.UpdateBlock, set()),
        (lta.BlockUpdateParams, w.UpdateBlock, {"agent_id"}),  # a path parameter
        (lt.ToolCreateParams, w.CreateTool, set()),
        (lt.ToolUpsertParams, w.CreateTool, set()),
        (lt.ToolUpdateParams, w.UpdateTool, set()),
        (lta.PassageCreateParams, w.CreatePassage, set()),
        (message_create_params.MessageCreateParamsStreaming, w.LettaRequest, set()),
        (lt.MessageCreateParam, w.MessageCreate, set()),
        (lta.TextContentParam, w.TextPart, set()),
    ],
)
def test_every_key_the_sdk_sends_is_accepted(
    params: type, model: type[w.RequestModel], not_in_body: set[str]
) -> None:
    missing = keys(params) - not_in_body - accepted(model)
    assert not missing, f"{model.__name__} would reject SDK keys {sorted(missing)}"


def test_ignored_keys_are_dropped_whatever_their_value() -> None:
    body = w.CreateAgent.model_validate(
        {
            "tool_rules": [{"type": "weird"}],
            "secrets": {"A": "b"},
            "initial_message_sequence": [{"role": "user"}],
        }
    )
    assert body.model_dump(exclude_unset=True) == {}


def error_at(model: type[BaseModel], data: Any) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    first = info.value.errors()[0]
    return tuple(first["loc"]), first["msg"]


@pytest.mark.parametrize(
    ("model", "data", "loc", "says"),
    [
        (w.CreateAgent, {"memory_block": []}, ("memory_block",), "Extra inputs are not permitted"),
        (
            w.CreateAgent,
            {"memory_blocks": [{"label": "human", "value": "x", "lmit": 5}]},
            ("memory_blocks", 0, "lmit"),
            "Extra",
        ),
        (
            w.CreateAgent,
            {"memory_blocks": [{"label": "human", "value": "x" * 9, "limit": 5}]},
            ("memory_blocks", 0, "limit"),
            "over the block's limit",
        ),
        (w.CreateAgent, {"memory_blocks": [{"value": "x"}]}, ("memory_blocks", 0, "label"), "required"),
        (w.CreateAgent, {"model": "gpt-4o-mini"}, ("model",), "'provider/model'"),
        (
            w.CreateAgent,
            {"persona": "Maya", "persona_version": 2, "persona_label": "production"},
            (),
            "not both",
        ),
        (w.CreateAgent, {"persona_version": 2}, (), "need persona"),
        (
            w.CreateAgent,
            {"persona": "Maya", "persona_version": 0},
            ("persona_version",),
            "greater than or equal to 1",
        ),
        (w.CreateAgent, {"tags": "support"}, ("tags",), "list"),
        (
            w.CreateAgent,
            {"llm_config": {"timeout": -1}},
            ("llm_config",),
            "timeout: Input should be greater than 0. Seconds each network step",
        ),
        (
            w.UpdateAgent,
            {"model_settings": {"max_retries": 11}},
            ("model_settings",),
            "max_retries: Input should be less than or equal to 10",
        ),
        (w.UpdateAgent, {"nme": "x"}, ("nme",), "Extra"),
        (w.LettaRequest, {}, (), "No message to send"),
        (
            w.LettaRequest,
            {"messages": [{"role": "assistant", "content": "hi"}]},
            ("messages", 0, "role"),
            "'user' or 'system'",
        ),
        (
            w.LettaRequest,
            {"messages": [{"role": "user", "content": "  "}]},
            ("messages", 0, "content"),
            "no text",
        ),
        (
            w.LettaRequest,
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {"url": "u"}}]}]},
            ("messages", 0, "content"),
            "text only",
        ),
        (
            w.LettaRequest,
            {"messages": [{"type": "approval", "approve": True}]},
            ("messages", 0, "type"),
            "'message'",
        ),
        (w.LettaRequest, {"input": "hi", "max_steps": 0}, ("max_steps",), "greater than or equal to 1"),
        (w.LettaRequest, {"input": "hi", "stream_token": True}, ("stream_token",), "Extra"),
        (w.CreateTool, {}, (), "source_code"),
        (w.CreateTool, {"source_code": "def f(:"}, ("source_code",), "syntax error at line 1, column 7"),
        (w.CreateTool, {"source_code": "x = 1"}, ("source_code",), "No function found"),
        (w.CreateTool, {"json_schema": {"name": "bad name"}}, ("json_schema",), "identifier"),
        (w.CreatePassage, {"text": ""}, ("text",), "at least 1 character"),
        (w.UpdateBlock, {"value": "x" * 9, "limit": 5}, ("limit",), "over the block's limit"),
    ],
)
def test_bad_bodies_name_the_field(
    model: type[BaseModel], data: Any, loc: tuple[Any, ...], says: str
) -> None:
    where, message = error_at(model, data)
    assert where == loc
    assert says in message


def test_a_fastapi_route_answers_422_naming_the_key() -> None:
    app = FastAPI()

    @app.post("/v1/agents/")
    def create(body: w.CreateAgent) -> dict[str, Any]:
        return body.runtime_kwargs()

    client = TestClient(app)
    bad = client.post("/v1/agents/", json={"name": "maya", "memory_block": []})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "memory_block"]
    good = client.post("/v1/agents/", json={"name": "maya", "project_id": "p-1", "tools": ["memory_insert"]})
    assert good.status_code == 200
    assert good.json()["tools"] == ["memory_insert"]
