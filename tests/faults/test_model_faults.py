"""The model misbehaves, seen through `llm-persona serve`: rate limits and server errors (retried with
backoff, then an error stop reason), timeouts, a stream cut mid-reply, a body that is not JSON, tool
calls to unknown tools or with bad arguments, empty replies. After each the agent answers the next
message and its history holds no half-written step.

Retries: `max_retries` and `timeout` come from the agent's llm_config; the backoff is the production
policy (about 0.25-0.5 s before the first retry, twice that before the second), or a provider's
Retry-After when it sends one. Tests that exhaust retries use one or two, so they take about a second.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from llm_persona.llm.types import ToolCall
from llm_persona.store import DEFAULT_TENANT, Store
from llm_persona.testing import (
    Drop,
    ErrorReply,
    FakeOpenAIServer,
    Garbage,
    Reply,
    context_length_exceeded,
    delayed,
    rate_limited,
    server_error,
)
from tests.faults.client import MODES, Mode, Outcome, create_agent, send
from tests.faults.history import check_history
from tests.faults.procs import ServerProcess
from tests.faults.replies import SUMMARY, ToolThenText, expected_reply
from tests.store.conftest import ENGINES, _empty_pg

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def model_fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(responder=ToolThenText(random.Random(5))) as server:
        yield server


@pytest.fixture(scope="module", params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("model-faults") / "llm-persona.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_migrated")
    _empty_pg(url)
    yield url
    _empty_pg(url)


@pytest.fixture(scope="module")
def server(
    db_url: str, model_fake: FakeOpenAIServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    process = ServerProcess(db_url, model_fake.base_url, tmp_path_factory.mktemp("serve"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def db(db_url: str) -> Iterator[Store]:
    with Store.open(db_url, migrate=False) as store:
        yield store


@pytest.fixture
def fake(model_fake: FakeOpenAIServer) -> FakeOpenAIServer:
    """The module's fake, with an empty script and record."""
    model_fake.reset()
    return model_fake


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield http


class Agent:
    """An agent on the server, with the llm_config a test wants, and what the client saw."""

    def __init__(self, client: httpx.AsyncClient, server: ServerProcess, db: Store, agent_id: str) -> None:
        self.client, self.server, self.db, self.id = client, server, db, agent_id
        self.acknowledged: dict[str, str] = {}
        self.count = 0

    async def send(self, text: str, mode: Mode = "json") -> Outcome:
        outcome = await send(self.client, self.server.url, self.id, text, mode)
        if outcome.acknowledged and outcome.stop_reason == "end_turn" and outcome.reply is not None:
            self.acknowledged[text] = outcome.reply
        return outcome

    async def still_usable(self) -> None:
        """Nothing half-written; the agent answers the next message (both ways)."""
        check_history(self.db, self.id, acknowledged=self.acknowledged)
        for mode in ("json", "tokens"):
            self.count += 1
            text = f"still there? {self.count}"
            outcome = await self.send(text, mode)
            assert (outcome.stop_reason, outcome.reply) == ("end_turn", expected_reply(text)), outcome
        check_history(self.db, self.id, acknowledged=self.acknowledged)


@pytest.fixture
async def agent(client: httpx.AsyncClient, server: ServerProcess, db: Store, fake: FakeOpenAIServer) -> Agent:
    agent_id = await create_agent(client, server.url, "faulty")
    return Agent(client, server, db, agent_id)


def configure(agent: Agent, **llm_config: Any) -> None:
    """Set the agent's llm_config in the database: the REST API does not take max_retries or timeout."""
    record = agent.db.get_agent(DEFAULT_TENANT, agent.id)
    agent.db.update_agent(DEFAULT_TENANT, agent.id, llm_config={**record.llm_config, **llm_config})


def assert_failed(outcome: Outcome, mode: Mode, stop_reason: str, *words: str) -> str:
    """A JSON turn is a 502 with a detail; a stream ends with `stop_reason` and an error event."""
    if mode == "json":
        assert outcome.status == 502, outcome
        assert f"({stop_reason})" in (outcome.detail or ""), outcome
    else:
        assert (outcome.status, outcome.acknowledged) == (200, True), outcome
        assert (outcome.stop_reason, outcome.error_type) == (stop_reason, stop_reason), outcome
    detail = outcome.detail or ""
    for word in words:
        assert word in detail, detail
    return detail


# --- rate limits, server errors, timeouts: retried, then reported ---------------------------------------


async def test_a_rate_limit_is_retried_after_the_providers_retry_after(
    agent: Agent, fake: FakeOpenAIServer
) -> None:
    fake.add(rate_limited(retry_after=0.05), rate_limited(retry_after=0.05))
    outcome = await agent.send("hello")
    assert (outcome.stop_reason, outcome.reply) == ("end_turn", expected_reply("hello"))
    assert len(fake.bodies(CHAT)) == 4  # two 429s, then the tool call and the answer
    await agent.still_usable()


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limits_past_max_retries_stop_the_turn(
    agent: Agent, fake: FakeOpenAIServer, mode: Mode
) -> None:
    configure(agent, max_retries=2)
    fake.add(*[rate_limited(retry_after=0.05)] * 3)
    outcome = await agent.send("hello", mode)
    assert_failed(outcome, mode, "llm_api_error", "429", "rate-limited")
    assert len(fake.bodies(CHAT)) == 3  # the first try and two retries
    await agent.still_usable()


@pytest.mark.parametrize("mode", MODES)
async def test_a_server_error_is_retried_with_backoff(
    agent: Agent, fake: FakeOpenAIServer, mode: Mode
) -> None:
    fake.add(
        ErrorReply(503, "Overloaded, try again.", "server_error", in_stream=True)
    )  # in a stream: its first event
    started = time.monotonic()
    outcome = await agent.send("hello", mode)
    assert (outcome.stop_reason, outcome.reply) == ("end_turn", expected_reply("hello"))
    assert time.monotonic() - started >= 0.25  # the first backoff waits at least half its base delay
    await agent.still_usable()


@pytest.mark.parametrize("mode", MODES)
async def test_server_errors_past_max_retries_stop_the_turn(
    agent: Agent, fake: FakeOpenAIServer, mode: Mode
) -> None:
    configure(agent, max_retries=1)
    fake.add(server_error(500), server_error(502))
    started = time.monotonic()
    outcome = await agent.send("hello", mode)
    assert_failed(outcome, mode, "llm_api_error", "502", "provider's side")
    assert time.monotonic() - started >= 0.25
    assert len(fake.bodies(CHAT)) == 2
    await agent.still_usable()


@pytest.mark.parametrize("mode", ["json", "tokens"])
async def test_a_model_slower_than_the_agents_timeout(
    agent: Agent, fake: FakeOpenAIServer, mode: Mode
) -> None:
    configure(agent, timeout=0.5, max_retries=1)
    fake.add(delayed(3, "too late"), delayed(3, "too late"))
    started = time.monotonic()
    outcome = await agent.send("hello", mode)
    assert_failed(outcome, mode, "llm_api_error", "did not answer", "within 0.5s", "ModelSettings.timeout")
    assert time.monotonic() - started < 3  # two tries of 0.5 s and a backoff, not the model's 3 s

    fake.add(delayed(3, "too late"))  # one timeout, then the retry is answered in time
    outcome = await agent.send("again", mode)
    assert (outcome.stop_reason, outcome.reply) == ("end_turn", expected_reply("again"))
    await agent.still_usable()


async def test_a_context_overflow_is_not_retried(agent: Agent, fake: FakeOpenAIServer) -> None:
    fake.add(context_length_exceeded())
    outcome = await agent.send("hello")
    assert_failed(outcome, "json", "llm_api_error", "too long", "Shorten")
    assert len(fake.bodies(CHAT)) == 1
    await agent.still_usable()


# --- broken answers ------------------------------------------------------------------------------------


async def test_a_stream_cut_mid_reply(agent: Agent, fake: FakeOpenAIServer) -> None:
    """The client saw the first tokens of an answer that never completed: the answer is not kept."""
    cuts = [
        (Drop(after_text="The first half of an ans"), "Lost the connection"),
        (Drop(after_text="Cut politely", clean=True), "the stream ended before the model finished its reply"),
    ]
    for drop, error in cuts:
        fake.add(drop)
        outcome = await agent.send(f"cut {drop.clean}", "tokens")
        assert_failed(outcome, "tokens", "llm_api_error", error)
        assert outcome.reply == drop.after_text  # the pieces reached the client as they came...
        streamed = {m["id"] for m in outcome.messages if m["message_type"] == "assistant_message"}
        history = check_history(agent.db, agent.id, acknowledged=agent.acknowledged)
        assert not streamed & {m.id for m in history}  # ...but no half-answer was stored
        assert len(fake.bodies(CHAT)) == 1  # not retried: the client has seen part of it
        fake.reset()
    await agent.still_usable()


@pytest.mark.parametrize("mode", MODES)
async def test_a_connection_cut_before_any_answer_is_retried(
    agent: Agent, fake: FakeOpenAIServer, mode: Mode
) -> None:
    fake.add(Drop())
    outcome = await agent.send("hello", mode)
    assert (outcome.stop_reason, outcome.reply) == ("end_turn", expected_reply("hello"))
    assert len(fake.bodies(CHAT)) == 3  # the cut try, then the tool call and the answer
    await agent.still_usable()


@pytest.mark.parametrize("mode", MODES)
async def test_a_body_that_is_not_json(agent: Agent, fake: FakeOpenAIServer, mode: Mode) -> None:
    fake.add(Garbage())
    outcome = await agent.send("hello", mode)
    assert_failed(outcome, mode, "invalid_llm_response", "not a chat completion")
    assert len(fake.bodies(CHAT)) == 1
    await agent.still_usable()


@pytest.mark.parametrize("mode", MODES)
async def test_an_empty_reply(agent: Agent, fake: FakeOpenAIServer, mode: Mode) -> None:
    """No text and no tool call: an invalid response, not an empty message that every later request
    would carry (OpenAI rejects an assistant message with neither content nor tool calls)."""
    fake.add(
        Reply(),
        [ToolCall("call_e1", "memory_insert", json.dumps({"label": "log", "new_str": "x"}))],
        Reply(text=" \n"),
    )
    outcome = await agent.send("first", mode)
    assert_failed(outcome, mode, "invalid_llm_response", "no text and no tool calls")
    outcome = await agent.send("second", mode)  # empty after a tool call: the tool step stays
    assert_failed(outcome, mode, "invalid_llm_response", "no text and no tool calls")
    history = check_history(agent.db, agent.id, acknowledged=agent.acknowledged)
    assert [m.role for m in history[-4:]] == ["user", "user", "assistant", "tool"]
    await agent.still_usable()
    for body in fake.bodies(CHAT):
        for message in body["messages"]:
            assert message["role"] != "assistant" or message.get("content") or message.get("tool_calls")


# --- bad tool calls go back to the model -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["json", "stream"])
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (ToolCall("call_u1", "no_such_tool", "{}"), "`no_such_tool` does not exist"),
        (ToolCall("call_u2", "", "{}"), "`` does not exist"),
        (ToolCall("call_b1", "memory_insert", '{"label": "log", "new_str": "x"'), "not valid JSON"),
        (ToolCall("call_b2", "memory_insert", '["log", "x"]'), "must be a JSON object"),
        (ToolCall("call_b3", "memory_insert", '{"label": "log"}'), "'new_str' is a required property"),
        (ToolCall("call_b4", "memory_insert", '{"label": "nope", "new_str": "x"}'), "nope"),
    ],
    ids=["unknown", "no-name", "bad-json", "not-an-object", "missing-argument", "unknown-block"],
)
async def test_a_bad_tool_call_is_an_error_the_model_sees(
    agent: Agent, fake: FakeOpenAIServer, mode: Mode, call: ToolCall, error: str
) -> None:
    fake.add([call])
    outcome = await agent.send("hello", mode)
    assert (outcome.stop_reason, outcome.reply) == ("end_turn", expected_reply("hello")), outcome
    [result] = [m for m in outcome.messages if m["message_type"] == "tool_return_message"]
    assert result["status"] == "error", result
    assert error in result["tool_return"], result
    seen = json.loads(fake.bodies(CHAT)[-1]["messages"][-1]["content"])  # the model got the error
    assert seen["status"] == "Failed"
    assert error in seen["message"]
    await agent.still_usable()


# --- summaries of older messages -------------------------------------------------------------------------


async def test_an_empty_summary_folds_nothing(
    client: httpx.AsyncClient, server: ServerProcess, db: Store, fake: FakeOpenAIServer
) -> None:
    """Near the end of the window older messages are folded into a summary, which then stands in for
    them and for earlier summaries: an empty one would erase them from the context. It is refused."""
    agent = Agent(
        client, server, db, await create_agent(client, server.url, "forgetful", context_window_limit=3000)
    )
    answer = fake.responder
    fake.responder = lambda body: Reply() if not body.get("tools") else answer(body)  # empty summaries
    try:
        for i in range(40):
            outcome = await agent.send(f"message {i}: " + "some words " * 20)
            if outcome.status != 200:
                break
    finally:
        fake.responder = answer
    assert_failed(outcome, "json", "invalid_llm_response", "summarise older messages with no text")
    assert not [
        m for m in check_history(db, agent.id, acknowledged=agent.acknowledged) if m.role == "summary"
    ]

    await agent.still_usable()  # now the model summarises
    [summary] = [
        m for m in check_history(db, agent.id, acknowledged=agent.acknowledged) if m.role == "summary"
    ]
    assert summary.content == SUMMARY
