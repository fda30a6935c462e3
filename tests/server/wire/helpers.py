"""Helpers for the wire tests: bodies through JSON and the SDK's strict validation, and a fake server
that answers the real SDK client with our converted bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
from letta_client import Letta
from letta_client._models import validate_type
from pydantic import BaseModel

from llm_persona.agents import MessageCommitted, TextDelta, ToolCallDelta, TurnEnded
from llm_persona.agents import events as ev
from llm_persona.agents.tools.builtin import BUILTIN_TOOLS
from llm_persona.llm.types import Usage
from llm_persona.store.records import MessageRecord, ToolRecord


def wire(model: BaseModel | list[Any]) -> Any:
    """What goes over the wire: the model as JSON, read back."""
    if isinstance(model, list):
        return [wire(m) for m in model]
    return json.loads(model.model_dump_json())


def strict(sdk_type: Any, model: BaseModel | list[Any]) -> Any:
    """Validate our body with the SDK's type, as the strict client does."""
    return validate_type(type_=sdk_type, value=wire(model))


def builtin_tool(name: str) -> ToolRecord:
    spec = BUILTIN_TOOLS[name]
    schema = {"name": name, "description": spec.description, "parameters": spec.parameters}
    return ToolRecord(name=name, description=spec.description, json_schema=schema, tool_type="memory")


WEATHER_SOURCE = '''
def get_weather(city: str, days: int = 1, units: "str" = "metric") -> str:
    """Look up the weather forecast.

    Args:
        city (str): The city to look up,
            by its English name.
        days: How many days ahead.
    """
    return "sunny"
'''


def turn_events(turn: list[MessageRecord]) -> list[ev.TurnEvent]:
    assistant = turn[1]
    return [
        MessageCommitted(turn[0]),
        TextDelta(assistant.id, "Let me "),
        TextDelta(assistant.id, "check."),
        ToolCallDelta(assistant.id, "call_1", "memory_insert", '{"label": '),
        ToolCallDelta(assistant.id, None, None, '"human", "new_str": "Bo"}'),
        *(MessageCommitted(m) for m in turn[1:]),
        TurnEnded("end_turn", Usage(100, 20), 2),
    ]


Handler = Callable[[httpx.Request], httpx.Response]


class FakeServer:
    """Answers the SDK with our converted bodies and keeps every request body it was sent."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.bodies: list[dict[str, Any]] = []
        self.queries: list[httpx.QueryParams] = []

    def on(self, method: str, path: str, answer: Callable[[httpx.Request], Any]) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            result = answer(request)
            if isinstance(result, httpx.Response):
                return result
            return httpx.Response(200, json=wire(result) if not isinstance(result, dict) else result)

        self.routes.append((method, re.compile(path + "$"), handler))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content) if request.content else {})
        self.queries.append(request.url.params)
        for method, pattern, handler in self.routes:
            if method == request.method and pattern.match(request.url.path):
                return handler(request)
        return httpx.Response(404, json={"detail": f"no route {request.method} {request.url.path}"})

    def client(self) -> Letta:
        return Letta(
            base_url="http://wire.test",
            api_key="test",
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
            _strict_response_validation=True,
            max_retries=0,
        )


def sse(events: list[str]) -> httpx.Response:
    return httpx.Response(
        200, content="".join(events).encode(), headers={"content-type": "text/event-stream"}
    )
