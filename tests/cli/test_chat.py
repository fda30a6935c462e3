"""`llm-persona chat`: a REPL over the HTTP API, driven with CliRunner input against a real server on a
socket (the server tests' fixtures, both engines) with a scripted model behind the agent."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from llm_persona.cli import app
from llm_persona.cli.chat import TurnPrinter, sse_events
from llm_persona.errors import ModelUnavailableError
from llm_persona.llm.scripted import tool_call
from tests.server.conftest import *  # noqa: F403  (running, store, registry, model on both engines)
from tests.server.conftest import Running, free_port

HUMAN = "Name: Rob"


def make_agent(running: Running, name: str = "maya-1") -> str:
    response = httpx.post(
        f"{running.url}/v1/agents/",
        json={
            "name": name,
            "persona": "Maya",
            "memory_blocks": [
                {"label": "human", "value": HUMAN, "limit": 100, "description": "About the user."},
                {"label": "policy", "value": "No refunds on Sundays.", "read_only": True},
            ],
        },
    )
    response.raise_for_status()
    return str(response.json()["id"])


def chat(running: Running, agent: str, lines: list[str], *args: str) -> Result:
    env = {"LLM_PERSONA_API_KEY": None, "LLM_PERSONA_URL": None, "COLUMNS": "200"}
    command = ["chat", agent, "--url", running.url, *args]
    return CliRunner().invoke(app, command, input="".join(f"{line}\n" for line in lines), env=env)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    """(method, url, JSON body) of every request the chat sends."""
    requests: list[tuple[str, str, Any]] = []
    original = httpx.Client.stream

    def spy(self: httpx.Client, method: str, url: str, **kwargs: Any) -> Any:
        requests.append((method, url, kwargs.get("json")))
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(httpx.Client, "stream", spy)
    return requests


# --- the REPL ---------------------------------------------------------------------------------------


def test_one_exchange_streams_the_reply_then_memory_then_exit(
    running: Running, sent: list[tuple[str, str, Any]]
) -> None:
    agent_id = make_agent(running)
    running.model.add("Hello Rob, how can I help you today?")
    result = chat(running, "maya-1", ["I am Rob", "/memory", "/exit", "never sent"])

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"Chatting with maya-1 ({agent_id}) · persona Maya · model openai/gpt-4o-mini"
    assert "/memory" in lines[1]
    assert "you> maya-1> Hello Rob, how can I help you today?" in lines
    assert "[end_turn · 1 step · " in result.stdout
    memory = lines[lines.index("you> human  9/100 characters  About the user.") :]
    assert memory[1:4] == [
        "  Name: Rob",
        "policy  22/20,000 characters  read-only",
        "  No refunds on Sundays.",
    ]
    assert result.stdout.endswith("you> ")  # /exit leaves at once: nothing after it is read

    assert [m.content for m in running.model.last_request.messages if m.role == "user"] == ["I am Rob"]
    assert len(running.model.requests) == 1
    assert (
        "POST",
        f"/agents/{agent_id}/messages/stream",
        {"input": "I am Rob", "stream_tokens": True},
    ) in sent


def test_tool_calls_and_their_results_are_one_line_each(running: Running) -> None:
    make_agent(running)
    running.model.add([tool_call("memory_insert", label="human", new_str="Likes tea")], "Noted: tea.")
    result = chat(running, "maya-1", ["I like tea", "/memory"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index('you>   → memory_insert(label="human", new_str="Likes tea")')
    assert lines[start + 1].startswith("  ← ok: Memory block `human` edited")
    assert lines[start + 2] == "maya-1> Noted: tea."
    assert lines[start + 3].startswith("[end_turn · 2 steps · ")
    assert "  Likes tea" in lines  # /memory shows the edit


def test_ctrl_d_leaves(running: Running) -> None:
    make_agent(running)
    result = chat(running, "maya-1", [])
    assert result.exit_code == 0
    assert result.stdout.endswith("you> \n")
    assert running.model.requests == []


def test_an_agent_is_found_by_id_too(running: Running) -> None:
    agent_id = make_agent(running)
    result = chat(running, agent_id, ["/exit"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Chatting with maya-1 ({agent_id})")


def test_a_failed_turn_is_one_red_line_and_the_chat_goes_on(running: Running) -> None:
    make_agent(running)
    running.model.add(ModelUnavailableError("provider down", provider="scripted", model="model"), "Back.")
    result = chat(running, "maya-1", ["hello?", "again", "/nonsense", "/exit"])

    assert result.exit_code == 0
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("Error: ")
    assert "provider down" in errors[0]
    assert errors[1].startswith("Error: Unknown command /nonsense.")
    assert "maya-1> Back." in result.stdout


# --- failing before the chat starts -----------------------------------------------------------------


def test_an_unknown_agent_is_one_error_line_and_status_1(running: Running) -> None:
    make_agent(running)
    result = chat(running, "nobody", ["hello"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: No agent named 'nobody' or with that id at {running.url}. List them with "
        f"`curl {running.url}/v1/agents/`, or create one on the web page at {running.url}/."
    ]
    assert running.model.requests == []


def test_the_api_key_is_sent_as_a_bearer_token(running: Running) -> None:
    _, key = running.store.create_api_key("default", "chat-test")  # before the server's first request
    without = chat(running, "maya-1", ["/exit"])
    assert without.exit_code == 1
    assert without.stderr.startswith("Error: Missing API key: this server requires one.")
    assert len(without.stderr.splitlines()) == 1

    created = httpx.post(
        f"{running.url}/v1/agents/", json={"name": "maya-1"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 200
    with_key = chat(running, "maya-1", ["/exit"], "--api-key", key)
    assert with_key.exit_code == 0, with_key.output


def test_no_server_is_one_error_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app, ["chat", "maya-1", "--url", url], input="", env={"LLM_PERSONA_API_KEY": None}
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot reach the server at {url} (")
    assert result.stderr.rstrip().endswith("Start it with `llm-persona serve`, or point --url at it.")
    assert len(result.stderr.splitlines()) == 1


# --- pieces -----------------------------------------------------------------------------------------


def test_sse_events_are_read_as_the_spec_says() -> None:
    lines = [
        ": a comment",
        'data: {"a": 1}',
        "",
        "event: error",
        "data: line one",
        "data:line two",
        "",
        "",
        "data: [DONE]",
    ]
    assert list(sse_events(lines)) == [
        ("message", '{"a": 1}'),
        ("error", "line one\nline two"),
        ("message", "[DONE]"),
    ]


def test_token_pieces_of_one_message_print_as_one_line() -> None:
    console = Console(record=True, width=200, file=io.StringIO())
    printer = TurnPrinter(console, "maya")
    for piece in ["Hel", "lo ", "there"]:
        printer.event("message", f'{{"message_type": "assistant_message", "id": "m1", "content": "{piece}"}}')
    printer.event("message", '{"message_type": "ping", "id": "r"}')
    for delta in [
        '{"name": "memory_insert", "arguments": "", "tool_call_id": "c1"}',
        '{"arguments": "{\\"label\\": "}',
        '{"arguments": "\\"human\\"}"}',
    ]:
        printer.event("message", f'{{"message_type": "tool_call_message", "id": "m1", "tool_call": {delta}}}')
    printer.event("message", '{"message_type": "stop_reason", "stop_reason": "max_steps"}')
    printer.event("message", '{"message_type": "usage_statistics", "step_count": 3, "total_tokens": 1234}')
    printer.finish()
    assert console.export_text().splitlines() == [
        "maya> Hello there",
        '  → memory_insert(label="human")',
        "[max_steps · 3 steps · 1,234 tokens]",
    ]
