"""Tools on the wire: a schema read from source, and the SDK's create, upsert, update and list."""

from __future__ import annotations

import json

import httpx
from letta_client import types as lt

from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store.records import ToolRecord
from tests.server.wire.helpers import WEATHER_SOURCE, FakeServer, strict, wire


def test_tool_validates_and_a_schema_is_read_from_source(tools: list[ToolRecord]) -> None:
    for record in tools:
        sdk = strict(lt.Tool, convert.tool(record))
        assert sdk.id == record.id
        assert sdk.json_schema == record.json_schema
    weather = strict(lt.Tool, convert.tool(tools[-1]))
    assert weather.source_type == "python"
    assert weather.tags == ["weather"]
    assert weather.json_schema == {
        "name": "get_weather",
        "description": "Look up the weather forecast.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city to look up, by its English name."},
                "days": {"type": "integer", "description": "How many days ahead."},
                "units": {"type": "string"},
            },
            "required": ["city"],
        },
    }
    assert "metadata_" in wire(convert.tool(tools[0]))  # Letta's spelling on the wire


def test_sdk_tools_round_trip(tools: list[ToolRecord]) -> None:
    server = FakeServer()
    weather = convert.tool(tools[-1])

    def create(request: httpx.Request) -> w.Tool:
        return convert.tool(convert.tool_record(w.CreateTool.model_validate(json.loads(request.content))))

    server.on("POST", "/v1/tools/", create)
    server.on("PUT", "/v1/tools/", lambda r: weather)
    server.on("PATCH", f"/v1/tools/{tools[-1].id}", lambda r: weather)
    server.on(
        "GET", "/v1/tools/", lambda r: [] if r.url.params.get("after") else [convert.tool(t) for t in tools]
    )
    client = server.client()

    made = client.tools.create(
        source_code=WEATHER_SOURCE, tags=["weather"], pip_requirements=[{"name": "requests"}]
    )
    assert made.name == "get_weather"
    assert made.json_schema["parameters"]["required"] == ["city"]
    client.tools.upsert(source_code=WEATHER_SOURCE, description="Forecast for a city.")
    upsert = w.CreateTool.model_validate(server.bodies[-1])
    assert upsert.tool_schema()["description"] == "Forecast for a city."
    client.tools.update(tools[-1].id, description="Weather, any city.", metadata={"owner": "bo"})
    assert "metadata_" in server.bodies[-1]  # the SDK's alias; accepted and ignored
    changes = w.UpdateTool.model_validate(server.bodies[-1]).changes(tools[-1].json_schema)
    assert changes["description"] == changes["json_schema"]["description"] == "Weather, any city."
    assert [t.name for t in client.tools.list()] == [t.name for t in tools]
