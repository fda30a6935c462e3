"""The web page: served by the server at `/` with its own files only, public while the API is not,
holding the elements a user works with, and never turning API data into HTML.

These tests read the files and ask the app in process (on SQLite: the page does not care which
engine is behind it). How the page looks in a browser is checked by hand, not here: CI has no browser.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from llm_persona import PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import ScriptedModel
from llm_persona.server.app import create_app
from llm_persona.store import Store
from llm_persona.web import INDEX_HTML, STATIC_DIR, STATIC_PREFIX
from tests.server.conftest import MAYA

JS = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
CSS = (STATIC_DIR / "style.css").read_text(encoding="utf-8")
HTML = INDEX_HTML.read_text(encoding="utf-8")

CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".svg": ("image/svg+xml",),
}


class Page(HTMLParser):
    """What the tests need from index.html: elements by id, references to other files, form controls
    and whether each has a label."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, tuple[str, dict[str, str]]] = {}
        self.references: list[str] = []
        self.controls: list[tuple[str, dict[str, str], bool]] = []  # tag, attrs, inside a <label>
        self.label_for: set[str] = set()
        self._labels = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if "id" in attributes:
            self.by_id[attributes["id"]] = (tag, attributes)
        for name in ("src", "href", "action", "poster", "data"):
            if name in attributes and not attributes[name].startswith("#"):
                self.references.append(attributes[name])
        if tag == "label":
            self._labels += 1
            if "for" in attributes:
                self.label_for.add(attributes["for"])
        if tag in ("input", "select", "textarea"):
            self.controls.append((tag, attributes, self._labels > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._labels -= 1


PAGE = Page(HTML)


@contextmanager
def serving(db: Path) -> Iterator[tuple[TestClient, Store]]:
    """The app over a new SQLite store at `db`, and the store."""
    registry = PersonaRegistry()
    registry.define(MAYA)
    model = ScriptedModel([])
    with Store.open(f"sqlite:///{db}") as store:
        runtime = AgentRuntime(store, personas=registry, models=lambda handle: model)
        with TestClient(create_app(runtime)) as client:
            yield client, store


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app without API keys, shared by the tests that only read."""
    with serving(tmp_path_factory.mktemp("web") / "web.db") as (client, _):
        yield client


# --- serving ----------------------------------------------------------------------------------------


def test_the_page_is_served_at_the_root(http: TestClient) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == HTML
    assert "<title>llm-persona</title>" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy  # no inline scripts, nothing from elsewhere
    assert response.headers["x-content-type-options"] == "nosniff"
    assert http.head("/").status_code == 200


@pytest.mark.parametrize("reference", PAGE.references)
def test_every_file_the_page_references_is_ours_and_served_with_its_type(
    http: TestClient, reference: str
) -> None:
    assert reference.startswith(f"{STATIC_PREFIX}/"), f"{reference} is not one of our files"
    response = http.get(reference)
    assert response.status_code == 200
    kind = response.headers["content-type"].split(";")[0]
    assert kind in CONTENT_TYPES[Path(reference).suffix]
    assert response.content == (STATIC_DIR / reference.removeprefix(f"{STATIC_PREFIX}/")).read_bytes()
    assert response.headers["cache-control"] == "no-cache"  # revalidated: an upgrade is never stale


def test_the_page_loads_its_script_and_stylesheet() -> None:
    assert f"{STATIC_PREFIX}/app.js" in PAGE.references
    assert f"{STATIC_PREFIX}/style.css" in PAGE.references


def test_nothing_comes_from_elsewhere() -> None:
    """No CDN, font service or remote image: the page works without internet."""
    for name, text in (("index.html", HTML), ("app.js", JS), ("style.css", CSS)):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), name
    assert "@import" not in CSS
    assert not re.search(r"url\(\s*['\"]?(?!data:)", CSS)
    assert "<script>" not in HTML  # the policy forbids inline scripts; all code is in app.js


def test_the_page_is_public_while_the_api_needs_a_key(tmp_path: Path) -> None:
    """The page and its files hold no data, so they load without a key; the page then asks for one."""
    with serving(tmp_path / "keys.db") as (http, store):
        _, key = store.create_api_key("default", "web-test")
        assert http.get("/v1/agents/").status_code == 401
        assert http.get("/v1/agents/", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        for path in ["/", *PAGE.references]:
            assert http.get(path).status_code == 200, path


def test_the_page_does_not_hide_api_errors(http: TestClient) -> None:
    """Mounting the page leaves unknown API paths as JSON 404s, and serves nothing but its files."""
    missing = http.get("/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    assert http.get("/v1/agents/agent-1/messages/stream").status_code == 405  # a POST route
    assert http.get(f"{STATIC_PREFIX}/no-such-file.js").status_code == 404
    assert http.get(f"{STATIC_PREFIX}/../__init__.py").status_code == 404
    assert not (STATIC_DIR / "__init__.py").exists()  # the served folder holds the page's files only


# --- what the page holds ----------------------------------------------------------------------------

KEY_ELEMENTS = {
    # personas
    "persona-list": "ul",
    "version-table": "table",
    "render-form": "form",
    "render-version": "select",
    "render-output": "pre",
    "diff-form": "form",
    "diff-a": "select",
    "diff-b": "select",
    "diff-output": "div",
    # agents
    "agent-list": "ul",
    "agent-create": "form",
    "create-persona": "select",
    "create-binding": "select",
    "create-blocks": "div",
    "agent-delete": "button",
    # memory
    "block-list": "ul",
    # chat
    "chat-log": "ol",
    "chat-form": "form",
    "chat-input": "textarea",
    "chat-send": "button",
    # API key
    "key-form": "form",
    "api-key": "input",
}


@pytest.mark.parametrize(("element_id", "tag"), KEY_ELEMENTS.items())
def test_the_key_elements_exist(element_id: str, tag: str) -> None:
    assert element_id in PAGE.by_id, f"no element #{element_id}"
    assert PAGE.by_id[element_id][0] == tag
    assert f"'{element_id}'" in JS, f"app.js never uses #{element_id}"


def test_the_page_is_accessible_by_structure() -> None:
    assert re.search(r'<html lang="en">', HTML)
    assert "<main" in HTML
    assert 'name="viewport"' in HTML
    chat_log = PAGE.by_id["chat-log"][1]
    assert chat_log["role"] == "log"
    assert chat_log["aria-live"] == "polite"
    assert PAGE.by_id["status"][1]["role"] == "status"
    assert PAGE.by_id["alert"][1]["role"] == "alert"
    assert PAGE.by_id["api-key"][1]["type"] == "password"
    for tag, attrs, in_label in PAGE.controls:
        named = in_label or attrs.get("id") in PAGE.label_for or "aria-label" in attrs
        assert named, f"<{tag} {attrs}> has no label"


def test_the_api_key_is_kept_locally_and_sent_as_a_bearer_token() -> None:
    assert "localStorage" in JS
    assert "'Bearer ' + key" in JS


def test_the_chat_streams_tokens_over_sse() -> None:
    assert "/messages/stream" in JS
    assert "stream_tokens: true" in JS
    assert "'[DONE]'" in JS
    for kind in ("assistant_message", "tool_call_message", "tool_return_message", "stop_reason"):
        assert f"'{kind}'" in JS


# --- API data never becomes HTML ----------------------------------------------------------------------

HTML_SINKS = ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment"]


@pytest.mark.parametrize("sink", HTML_SINKS)
def test_the_script_never_parses_text_as_html(sink: str) -> None:
    """All text reaches the page through textContent or text nodes, so API data cannot inject markup."""
    assert sink not in JS


def test_the_script_never_evaluates_strings() -> None:
    assert not re.search(r"\beval\s*\(|new Function\s*\(|setTimeout\s*\(\s*['\"`]", JS)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_parses() -> None:
    result = subprocess.run(
        ["node", "--check", str(STATIC_DIR / "app.js")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
