"""Hostile input, on both engines: every one is a 4xx `{"detail": "..."}` saying what was wrong and
where, and changes nothing. Each case here once made a 500 (or a 503 on PostgreSQL), or stored
something that broke later reads; `test_fuzz.py` found most of them.

Sent raw with httpx: the SDK cannot send most of these.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import Running

T = "default"
BIG = [2**31, 2**63, 10**30]
TOO_BIG = "less than or equal to 2147483647"


@pytest.fixture
def http(running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url, timeout=60) as client:
        yield client


@pytest.fixture
def agent(http: httpx.Client) -> dict[str, Any]:
    body = {
        "name": "target",
        "persona": "Maya",
        "memory_blocks": [{"label": "human", "value": "Name: Bo"}],
        "metadata": {"k": "v"},
    }
    response = http.post("/v1/agents/", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    assert (
        http.post(f"/v1/agents/{created['id']}/archival-memory", json={"text": "likes tea"}).status_code
        == 200
    )
    return created


def snapshot(http: httpx.Client, running: Running, agent: dict[str, Any]) -> dict[str, Any]:
    """What bad input must not change."""
    store, agent_id = running.store, agent["id"]
    return {
        "counts": (store.count_agents(T), store.count_blocks(T), store.count_tools(T)),
        "messages": store.count_messages(T, agent_id),
        "passages": http.get(f"/v1/agents/{agent_id}/archival-memory").json(),
        "agent": http.get(f"/v1/agents/{agent_id}").json(),
        "labels": http.get("/v1/personas/Maya").json()["labels"],
    }


def refused(response: httpx.Response, status: int, *fragments: str) -> str:
    """The detail of a refusal with `status`, holding every fragment."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], str), body
    for fragment in fragments:
        assert fragment in body["detail"], (fragment, body["detail"])
    return body["detail"]


def raw(http: httpx.Client, method: str, path: str, content: bytes) -> httpx.Response:
    return http.request(method, path, content=content, headers={"content-type": "application/json"})


# --- text the store cannot keep -------------------------------------------------------------------


def test_nul_characters_are_refused_wherever_they_are_sent(
    http: httpx.Client, running: Running, agent: dict[str, Any]
) -> None:
    """PostgreSQL refuses NUL in text (a 503 once); SQLite would keep it. Both refuse it now."""
    a = agent["id"]
    before = snapshot(http, running, agent)
    for method, path, body, where in [
        ("POST", "/v1/blocks/", {"label": "a\x00b", "value": "v"}, "label"),
        ("POST", "/v1/blocks/", {"label": "ok", "value": "v\x00"}, "value"),
        ("POST", "/v1/blocks/", {"label": "ok", "value": "v", "metadata": {"k": ["\x00"]}}, "metadata.k[0]"),
        (
            "POST",
            "/v1/blocks/",
            {"label": "ok", "value": "v", "metadata": {"k\x00": 1}},
            "metadata key 'k\\x00'",
        ),
        ("POST", "/v1/agents/", {"name": "x\x00"}, "name"),
        (
            "POST",
            "/v1/agents/",
            {"name": "x", "memory_blocks": [{"label": "h", "value": "\x00"}]},
            "memory_blocks[0].value",
        ),
        ("PATCH", f"/v1/agents/{a}", {"tags": ["\x00"]}, "tags[0]"),
        ("PATCH", f"/v1/agents/{a}/core-memory/blocks/human", {"value": "\x00"}, "value"),
        ("POST", f"/v1/agents/{a}/messages", {"input": "hi\x00"}, "input"),
        (
            "POST",
            f"/v1/agents/{a}/messages",
            {"messages": [{"role": "user", "content": "\x00"}]},
            "messages[0].content",
        ),
        ("POST", f"/v1/agents/{a}/archival-memory", {"text": "\x00"}, "text"),
        ("POST", "/v1/personas/Maya/render", {"variables": {"user_name": "\x00"}}, "variables.user_name"),
    ]:
        refused(http.request(method, path, json=body), 422, f"{where} contains a NUL character")
    for path, params, where in [
        ("/v1/agents/a%00b", None, "path.agent_id"),
        ("/v1/personas/Ma%00ya", None, "path.name"),
        (f"/v1/agents/{a}/core-memory/blocks/hu%00man", None, "path.block_label"),
        ("/v1/agents/", {"name": "\x00"}, "query.name"),
        ("/v1/agents/", {"after": "agent-\x00"}, "query.after"),
        (f"/v1/agents/{a}/archival-memory/search", {"query": "tea\x00"}, "query.query"),
        ("/v1/blocks/", {"value_search": "\x00"}, "query.value_search"),
    ]:
        refused(http.get(path, params=params), 422, f"{where} contains a NUL character")
    refused(http.put("/v1/personas/Maya/labels/st%00able", json={"version": 1}), 422, "path.label")
    assert snapshot(http, running, agent) == before


def test_lone_surrogates_are_refused(http: httpx.Client, running: Running, agent: dict[str, Any]) -> None:
    """A lone surrogate in a message was a 500 (it cannot be encoded to store or to answer)."""
    before = snapshot(http, running, agent)
    for path, body, where in [
        (f"/v1/agents/{agent['id']}/messages", b'{"input": "hi \\ud800"}', "input"),
        (f"/v1/agents/{agent['id']}/messages/stream", b'{"input": "\\udfff"}', "input"),
        ("/v1/blocks/", b'{"label": "x", "value": "v", "metadata": {"\\ud800": 1}}', "metadata key"),
        ("/v1/agents/", b'{"name": "x", "tags": ["\\udc00"]}', "tags[0]"),
    ]:
        refused(raw(http, "POST", path, body), 422, where, "lone UTF-16 surrogate")
    # a surrogate pair is one character, and welcome
    made = raw(http, "POST", "/v1/blocks/", b'{"label": "smile", "value": "\\ud83d\\ude00"}')
    assert made.status_code == 200
    assert made.json()["value"] == "😀"
    http.delete(f"/v1/blocks/{made.json()['id']}")
    assert snapshot(http, running, agent) == before


def test_nan_and_infinity_are_refused(http: httpx.Client, running: Running, agent: dict[str, Any]) -> None:
    """Python's JSON reads them; PostgreSQL's JSONB does not (and JSON cannot answer them)."""
    before = snapshot(http, running, agent)
    for path, body, where in [
        ("/v1/blocks/", b'{"label": "x", "value": "v", "metadata": {"a": Infinity}}', "metadata.a is inf"),
        ("/v1/blocks/", b'{"label": "x", "value": "v", "metadata": {"a": 1e400}}', "metadata.a is inf"),
        (
            "/v1/agents/",
            b'{"name": "x", "llm_config": {"temperature": NaN}}',
            "llm_config.temperature is nan",
        ),
        (
            "/v1/personas/Maya/render",
            b'{"variables": {"user_name": -Infinity}}',
            "variables.user_name is -inf",
        ),
    ]:
        refused(raw(http, "POST", path, body), 422, where, "finite number")
    assert snapshot(http, running, agent) == before


# --- shapes and sizes -----------------------------------------------------------------------------


def deep(levels: int) -> Any:
    nested: Any = "bottom"
    for _ in range(levels):
        nested = {"a": nested}
    return nested


def test_deeply_nested_json_is_refused_before_anything_is_written(
    http: httpx.Client, running: Running, agent: dict[str, Any]
) -> None:
    """300 levels of metadata were stored, then the answer failed to serialise: a 500, and an agent
    or block that had been written anyway."""
    before = snapshot(http, running, agent)
    refused(
        http.post("/v1/agents/", json={"name": "deep", "metadata": deep(300)}),
        422,
        "more than 64 levels deep",
    )
    refused(
        http.post("/v1/blocks/", json={"label": "d", "value": "v", "metadata": deep(300)}),
        422,
        "metadata.a.a",
    )
    refused(http.patch(f"/v1/agents/{agent['id']}", json={"metadata": deep(65)}), 422, "64 levels")
    deeper = b'{"label": "d", "value": "v", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused(raw(http, "POST", "/v1/blocks/", deeper), 400, "nested too deeply")
    assert snapshot(http, running, agent) == before
    # 64 levels are fine
    made = http.post("/v1/blocks/", json={"label": "d", "value": "v", "metadata": deep(63)})
    assert made.status_code == 200, made.text
    assert http.get(f"/v1/blocks/{made.json()['id']}").json()["metadata"] == deep(63)


def test_oversized_bodies_are_413s(http: httpx.Client, running: Running, agent: dict[str, Any]) -> None:
    before = snapshot(http, running, agent)
    huge = json.dumps({"label": "x", "value": "v" * (16 * 1024 * 1024), "limit": 2**31 - 1}).encode()
    refused(raw(http, "POST", "/v1/blocks/", huge), 413, "over 16777216 bytes", "POST /v1/blocks/")

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the bytes pass the limit
        yield b'{"label": "x", "value": "'
        for _ in range(17):
            yield b"v" * 1024 * 1024
        yield b'"}'

    response = http.post("/v1/blocks/", content=chunks(), headers={"content-type": "application/json"})
    refused(response, 413, "over 16777216 bytes")
    assert snapshot(http, running, agent) == before


def test_bodies_that_are_not_json_say_why(
    http: httpx.Client, running: Running, agent: dict[str, Any]
) -> None:
    before = snapshot(http, running, agent)
    refused(raw(http, "POST", "/v1/blocks/", b'{"label": "\xff"}'), 400, "not UTF-8 (byte 0xff")
    refused(raw(http, "POST", "/v1/blocks/", b'{"label": '), 422, "body: not valid JSON")
    refused(
        raw(http, "POST", "/v1/blocks/", b'{"label": "x", "value": "v", "limit": 1' + b"0" * 5000 + b"}"),
        400,
        "body: not readable as JSON",
    )
    refused(raw(http, "POST", "/v1/blocks/", b"[]"), 422, "body: Input should be a valid dictionary")
    assert snapshot(http, running, agent) == before


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("big", BIG)
def test_numbers_past_what_the_store_holds_are_refused(
    http: httpx.Client, running: Running, agent: dict[str, Any], big: int
) -> None:
    """Stored integers are PostgreSQL INTEGERs: past 2**31-1 was a 500 on SQLite (past 2**63) and a
    503 on PostgreSQL."""
    a = agent["id"]
    block = http.post("/v1/blocks/", json={"label": "b", "value": "v"}).json()
    source = 'def roll(sides: int) -> str:\n    """Roll."""\n'
    tool = http.post("/v1/tools/", json={"source_code": source}).json()
    before = snapshot(http, running, agent)
    for method, path, body, where in [
        ("POST", "/v1/blocks/", {"label": "x", "value": "v", "limit": big}, "limit"),
        ("PATCH", f"/v1/blocks/{block['id']}", {"limit": big}, "limit"),
        ("PATCH", f"/v1/agents/{a}/core-memory/blocks/human", {"limit": big}, "limit"),
        (
            "POST",
            "/v1/agents/",
            {"name": "x", "memory_blocks": [{"label": "h", "value": "", "limit": big}]},
            "limit",
        ),
        ("POST", "/v1/agents/", {"name": "x", "persona": "Maya", "persona_version": big}, "persona_version"),
        ("PATCH", f"/v1/agents/{a}", {"persona_version": big}, "persona_version"),
        ("PATCH", f"/v1/agents/{a}", {"context_window_limit": big}, "context_window_limit"),
        ("PATCH", f"/v1/agents/{a}", {"max_tokens": big}, "max_tokens"),
        ("PATCH", f"/v1/agents/{a}", {"llm_config": {"context_window": big}}, "llm_config"),
        ("PATCH", f"/v1/agents/{a}", {"model_settings": {"max_output_tokens": big}}, "model_settings"),
        ("POST", "/v1/tools/", {"source_code": source, "return_char_limit": big}, "return_char_limit"),
        ("PATCH", f"/v1/tools/{tool['id']}", {"return_char_limit": big}, "return_char_limit"),
        ("POST", "/v1/personas/Maya/render", {"version": big}, "version"),
        ("PUT", "/v1/personas/Maya/labels/stable", {"version": big}, "version"),
    ]:
        refused(http.request(method, path, json=body), 422, where, TOO_BIG)
    assert http.get(f"/v1/blocks/{block['id']}").json() == block
    assert http.get(f"/v1/tools/{tool['id']}").json() == tool
    assert snapshot(http, running, agent) == before


def test_paging_limits_and_cursors(http: httpx.Client, running: Running, agent: dict[str, Any]) -> None:
    a = agent["id"]
    lists = [
        "/v1/agents/",
        "/v1/blocks/",
        "/v1/tools/",
        f"/v1/agents/{a}/messages",
        f"/v1/agents/{a}/archival-memory",
        f"/v1/agents/{a}/core-memory/blocks",
        f"/v1/agents/{a}/tools",
        f"/v1/blocks/{agent['blocks'][0]['id']}/agents",
    ]
    for path in lists:
        for big in BIG:  # a 500 once: the database could not bind the number
            refused(http.get(path, params={"limit": big}), 422, "query.limit", TOO_BIG)
        refused(http.get(path, params={"limit": -1}), 422, "query.limit", "greater than or equal to 0")
        refused(http.get(path, params={"limit": "many"}), 422, "query.limit", "valid integer")
        for cursor in ("after", "before"):
            refused(http.get(path, params={cursor: "nope"}), 404, "'nope'")
        assert http.get(path, params={"limit": 2**31 - 1}).status_code == 200
    for top_k in (0, 2**31):
        refused(
            http.get(f"/v1/agents/{a}/archival-memory/search", params={"query": "tea", "top_k": top_k}),
            422,
            "query.top_k",
        )


def test_version_numbers_past_what_the_store_holds(http: httpx.Client) -> None:
    for number in ("0", "-1", str(2**31), str(10**30)):  # a 500 once past 2**63
        refused(http.get(f"/v1/personas/Maya/versions/{number}"), 422, "path.number")
    assert http.get("/v1/personas/Maya/versions/1").status_code == 200
    refused(
        http.get("/v1/personas/Maya/diff", params={"a": str(2**31)}),
        422,
        "a: 2147483648 is not a version number",
    )
    detail = refused(
        http.get("/v1/personas/Maya/diff", params={"a": "1", "b": "9" * 5000}),
        422,
        "b: 99999",
        "(5000 digits)",
    )
    assert len(detail) < 200  # not the whole number back
    assert http.get("/v1/personas/Maya/diff", params={"a": "1", "b": "production"}).status_code == 200


def test_dates_past_year_9999_in_utc_are_refused(
    http: httpx.Client, running: Running, agent: dict[str, Any]
) -> None:
    """9999-12-31T23:59:59-14:00 is in year 10000 in UTC, which Python cannot hold: a 500 once."""
    passages = f"/v1/agents/{agent['id']}/archival-memory"
    before = snapshot(http, running, agent)
    for when in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        refused(
            http.post(passages, json={"text": "x", "created_at": when}),
            422,
            "created_at",
            "outside years 1 to 9999",
        )
        refused(
            http.get(f"{passages}/search", params={"query": "x", "start_datetime": when}),
            422,
            "query.start_datetime",
        )
    assert snapshot(http, running, agent) == before
    made = http.post(passages, json={"text": "late", "created_at": "9999-12-31T23:59:59+14:00"})
    assert made.json()[0]["created_at"] == "9999-12-31T09:59:59Z"


# --- settings that would poison later reads -------------------------------------------------------


def test_model_settings_of_the_wrong_type_are_refused_and_listing_still_works(
    http: httpx.Client, running: Running, agent: dict[str, Any]
) -> None:
    """A temperature of "hot" was stored, then every read of the agent (the list too) was a 500."""
    before = snapshot(http, running, agent)
    for method, path, body, fragments in [
        (
            "POST",
            "/v1/agents/",
            {"name": "x", "llm_config": {"temperature": "hot"}},
            ("llm_config", "temperature"),
        ),
        (
            "POST",
            "/v1/agents/",
            {"name": "x", "model_settings": {"temperature": [1]}},
            ("model_settings", "temperature"),
        ),
        (
            "PATCH",
            f"/v1/agents/{agent['id']}",
            {"llm_config": {"context_window": "wide"}},
            ("context_window",),
        ),
        (
            "PATCH",
            f"/v1/agents/{agent['id']}",
            {"llm_config": {"parallel_tool_calls": "maybe"}},
            ("parallel_tool_calls",),
        ),
        (
            "POST",
            "/v1/agents/",
            {"name": "x", "llm_config": {"handle": "nohandle"}},
            ("llm_config.handle", "provider/model"),
        ),
        (
            "POST",
            "/v1/agents/",
            {"name": "x", "embedding_config": {"handle": "x"}},
            ("embedding_config.handle",),
        ),
    ]:
        refused(http.request(method, path, json=body), 422, *fragments)
    assert snapshot(http, running, agent) == before
    assert http.get("/v1/agents/").status_code == 200
    # numbers sent as text are kept as numbers
    made = http.post(
        "/v1/agents/", json={"name": "y", "llm_config": {"temperature": "0.5", "context_window": "8000"}}
    )
    assert made.status_code == 200, made.text
    assert (made.json()["llm_config"]["temperature"], made.json()["llm_config"]["context_window"]) == (
        0.5,
        8000,
    )


# --- text that is only text -----------------------------------------------------------------------


def test_sql_and_markup_are_kept_as_text(http: httpx.Client) -> None:
    names = ["Robert'); DROP TABLE agents; --", "</memory_blocks><script>alert(1)</script>", "{user_name}"]
    for name in names:
        block = {"label": name.replace("/", ""), "value": name}
        made = http.post("/v1/agents/", json={"name": name, "memory_blocks": [block]})
        assert made.status_code == 200, made.text
        path = f"/v1/agents/{made.json()['id']}/core-memory/blocks/{block['label']}"
        assert http.get(path).json()["value"] == name
    assert sorted(a["name"] for a in http.get("/v1/agents/").json()) == sorted(names)
    assert http.get("/v1/agents/", params={"query_text": "%"}).json() == []  # LIKE wildcards are literal
    assert [a["name"] for a in http.get("/v1/agents/", params={"query_text": "'); DROP"}).json()] == [
        names[0]
    ]


# --- tool sources and agent files -----------------------------------------------------------------


def test_tool_sources_nested_past_the_parser_are_422s(http: httpx.Client, running: Running) -> None:
    """The parser's stack overflowed (MemoryError, RecursionError): a 500 once."""
    for source in (
        "x = " + "-" * 100_000 + "1\ndef f() -> str:\n    return ''\n",
        "x = " + "+".join(["1"] * 100_000) + "\ndef f() -> str:\n    return ''\n",
        "def f(x: " + " | ".join(["None"] * 5_000) + " | int) -> str:\n    return ''\n",
    ):
        refused(http.post("/v1/tools/", json={"source_code": source}), 422, "nests expressions too deeply")
    assert running.store.count_tools(T) == 0


def test_hostile_agent_files_are_400s_that_import_nothing(
    http: httpx.Client, running: Running, agent: dict[str, Any]
) -> None:
    exported = http.get(f"/v1/agents/{agent['id']}/export").json()
    before = snapshot(http, running, agent)

    def upload(document: Any) -> httpx.Response:
        content = document if isinstance(document, bytes) else json.dumps(document).encode()
        return http.post("/v1/agents/import", content=content, headers={"content-type": "application/json"})

    nul = json.loads(json.dumps(exported))
    nul["agents"][0]["name"] = "evil\x00twin"
    refused(upload(nul), 400, "agents[0].name contains a NUL character")
    big = json.loads(json.dumps(exported))
    big["blocks"][0]["limit"] = 2**40
    refused(upload(big), 400, "blocks.0.limit", TOO_BIG)
    hot = json.loads(json.dumps(exported))
    hot["agents"][0]["llm_config"] = {"temperature": "hot"}
    refused(upload(hot), 400, "llm_config", "temperature")
    late = json.loads(json.dumps(exported))
    late["agents"][0]["messages"] = [
        {"id": "m", "role": "user", "content": "hi", "created_at": "9999-12-31T23:00:00-14:00"}
    ]
    late["agents"][0]["in_context_message_ids"] = ["m"]
    refused(upload(late), 400, "created_at", "outside years 1 to 9999")
    refused(upload(b"[" * 100_000 + b"]" * 100_000), 400, "nests objects and arrays too deeply")
    refused(upload(b'{"format": 1' + b"0" * 5000 + b"}"), 400, "not JSON")
    refused(
        upload({"format": "llm-persona/agent-file", "nested": deep(100)}), 400, "more than 64 levels deep"
    )
    form = http.post(
        "/v1/agents/import", files={"file": ("twin.af", json.dumps(exported))}, data={"name": "evil\x00twin"}
    )
    refused(form, 422, "form field 'name' contains a NUL character")
    assert snapshot(http, running, agent) == before
