"""Memory blocks through the official SDK in strict mode, on both engines: shared blocks seen by every
agent holding them, an agent's core memory by label, attach and detach, paging and filters, and bad
input that must change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from letta_client import ConflictError, Letta, NotFoundError, UnprocessableEntityError

from tests.server.conftest import Running

T = "default"


def make_agent(client: Letta, name: str, **kwargs: Any) -> str:
    blocks = kwargs.pop("memory_blocks", [{"label": "human", "value": "Name: Bo"}])
    return client.agents.create(name=name, memory_blocks=blocks, **kwargs).id


def system_prompt_of_next_turn(client: Letta, running: Running, agent_id: str) -> str:
    running.model.add("Noted.")
    client.agents.messages.create(agent_id, messages=[{"role": "user", "content": "hi"}])
    first = running.model.last_request.messages[0]
    assert first.role == "system"
    return first.content or ""


def detail(error: pytest.ExceptionInfo[Any]) -> str:
    body = error.value.body
    assert isinstance(body, dict), body
    return str(body["detail"])


# --- shared blocks ----------------------------------------------------------------------------------


def test_a_shared_block_edited_once_is_seen_by_every_agent_holding_it(
    client: Letta, running: Running
) -> None:
    block = client.blocks.create(label="policies", value="Refunds under $50.", limit=200)
    assert (block.label, block.value, block.limit, block.read_only) == (
        "policies",
        "Refunds under $50.",
        200,
        False,
    )
    maya, leo = make_agent(client, "maya"), make_agent(client, "leo")
    for agent_id in (maya, leo):
        state = client.agents.blocks.attach(block.id, agent_id=agent_id)
        assert [b.label for b in state.blocks] == ["human", "policies"]
    assert sorted(a.id for a in client.blocks.agents.list(block.id)) == sorted([maya, leo])

    edited = client.blocks.update(block.id, value="Refunds under $100.")
    assert edited.value == "Refunds under $100."
    assert client.blocks.retrieve(block.id).value == "Refunds under $100."
    for agent_id in (maya, leo):
        assert client.agents.blocks.retrieve("policies", agent_id=agent_id).value == "Refunds under $100."
        system = system_prompt_of_next_turn(client, running, agent_id)
        assert "Refunds under $100." in system
        assert "Refunds under $50." not in system

    # ... and through one agent's core memory, for the other too
    client.agents.blocks.update("policies", agent_id=maya, value="No refunds.")
    assert client.agents.blocks.retrieve("policies", agent_id=leo).value == "No refunds."
    assert "No refunds." in system_prompt_of_next_turn(client, running, leo)


def test_detach_keeps_the_block_and_delete_takes_it_from_every_agent(client: Letta, running: Running) -> None:
    block = client.blocks.create(label="policies", value="Refunds under $50.")
    maya, leo = make_agent(client, "maya"), make_agent(client, "leo")
    client.agents.blocks.attach(block.id, agent_id=maya)
    client.agents.blocks.attach(block.id, agent_id=leo)

    state = client.agents.blocks.detach(block.id, agent_id=maya)
    assert [b.label for b in state.blocks] == ["human"]
    assert "Refunds" not in system_prompt_of_next_turn(client, running, maya)
    assert client.blocks.retrieve(block.id).value == "Refunds under $50."
    assert [a.id for a in client.blocks.agents.list(block.id)] == [leo]
    # attaching twice, or detaching a block the agent does not hold, changes nothing
    assert [b.label for b in client.agents.blocks.attach(block.id, agent_id=leo).blocks] == [
        "human",
        "policies",
    ]
    assert [b.label for b in client.agents.blocks.detach(block.id, agent_id=maya).blocks] == ["human"]

    assert client.blocks.delete(block.id) is None
    with pytest.raises(NotFoundError):
        client.blocks.retrieve(block.id)
    assert [b.label for b in client.agents.blocks.list(leo)] == ["human"]
    with pytest.raises(NotFoundError) as missing:
        client.agents.blocks.retrieve("policies", agent_id=leo)
    assert "'policies'" in detail(missing)


def test_blocks_list_pages_and_filters(client: Letta) -> None:
    made = [
        client.blocks.create(label=f"note-{i}", value=f"Fact number {i}.", description=f"about {i}")
        for i in range(5)
    ]
    ids = [b.id for b in made]
    assert [b.id for b in client.blocks.list(limit=2)] == ids  # auto-paged, oldest first
    assert [b.id for b in client.blocks.list(limit=2, order="desc")] == ids[::-1]
    first = client.blocks.list(limit=2)
    assert [b.id for b in first.items] == ids[:2]
    assert [b.id for b in client.blocks.list(after=ids[1], before=ids[4], limit=10).items] == ids[2:4]
    assert [b.id for b in client.blocks.list(before=ids[3], limit=2).items] == ids[1:3]

    assert [b.id for b in client.blocks.list(label="note-3")] == [ids[3]]
    assert [b.id for b in client.blocks.list(value_search="NUMBER 2")] == [ids[2]]
    assert [b.id for b in client.blocks.list(label_search="note", description_search="about 4")] == [ids[4]]
    assert [b.id for b in client.blocks.list(value_search="Fact", limit=2)] == ids  # filtered, auto-paged
    assert [b.id for b in client.blocks.list(value_search="Fact", before=ids[4], limit=2).items] == ids[2:4]
    # a cursor may be a block the filter leaves out, as on the store's own paging
    assert [b.id for b in client.blocks.list(value_search="number 4", after=ids[0])] == [ids[4]]

    held = make_agent(client, "maya")
    client.agents.blocks.attach(ids[1], agent_id=held)
    assert [b.id for b in client.blocks.list(connected_to_agents_count_gt=0, label_search="note")] == [ids[1]]
    assert ids[1] not in [b.id for b in client.blocks.list(connected_to_agents_count_eq=[0])]
    assert len(client.blocks.list(connected_to_agents_count_lt=1, label_search="note").items) == 4
    # filters on what this server does not keep match nothing
    assert client.blocks.list(templates_only=True).items == []
    assert client.blocks.list(tags=["x"]).items == []


def test_an_agents_blocks_page_newest_attached_first(client: Letta) -> None:
    labels = ["human", "persona", "tasks", "notes", "prefs"]
    agent_id = make_agent(client, "maya", memory_blocks=[{"label": x, "value": x} for x in labels])
    assert [b.label for b in client.agents.blocks.list(agent_id, limit=2)] == labels[::-1]
    assert [b.label for b in client.agents.blocks.list(agent_id, limit=2, order="asc")] == labels
    listed = client.agents.blocks.list(agent_id, order="asc").items
    page = client.agents.blocks.list(agent_id, order="asc", before=listed[4].id, limit=2)
    assert [b.label for b in page.items] == ["tasks", "notes"]


def test_read_only_blocks_can_be_edited_through_the_api(client: Letta) -> None:
    agent_id = make_agent(
        client, "maya", memory_blocks=[{"label": "rules", "value": "Be kind.", "read_only": True}]
    )
    edited = client.agents.blocks.update("rules", agent_id=agent_id, value="Be kind and brief.")
    assert (edited.value, edited.read_only) == ("Be kind and brief.", True)
    assert client.agents.blocks.update("rules", agent_id=agent_id, read_only=False).read_only is False


# --- bad input changes nothing ----------------------------------------------------------------------


def test_an_edit_over_the_limit_is_a_422_and_changes_nothing(client: Letta, running: Running) -> None:
    agent_id = make_agent(
        client, "maya", memory_blocks=[{"label": "human", "value": "Name: Bo", "limit": 20}]
    )
    block = client.agents.blocks.retrieve("human", agent_id=agent_id)
    before = running.store.get_block(T, block.id)

    with pytest.raises(UnprocessableEntityError) as too_long:
        client.agents.blocks.update("human", agent_id=agent_id, value="x" * 21)
    assert "21 characters" in detail(too_long)
    assert "limit of 20" in detail(too_long)
    with pytest.raises(UnprocessableEntityError) as too_small:
        client.blocks.update(block.id, limit=5)  # the stored value is 8 characters
    assert "limit" in detail(too_small)
    with pytest.raises(UnprocessableEntityError):
        client.blocks.update(block.id, value="y" * 30, limit=25)
    assert running.store.get_block(T, block.id) == before

    count = running.store.count_blocks(T)
    with pytest.raises(UnprocessableEntityError) as created:
        client.blocks.create(label="big", value="z" * 11, limit=10)
    assert "limit" in detail(created)
    with pytest.raises(UnprocessableEntityError) as unlabelled:
        client.blocks.create(label="", value="v")
    assert "label" in detail(unlabelled)
    assert running.store.count_blocks(T) == count


def test_unknown_ids_labels_and_cursors_are_404s(client: Letta, running: Running) -> None:
    agent_id = make_agent(client, "maya")
    block = client.blocks.create(label="policies", value="p")
    ghost_agent, ghost_block = (
        "agent-00000000-0000-4000-8000-000000000000",
        "block-00000000-0000-4000-8000-000000000000",
    )
    calls: list[Any] = [
        lambda: client.agents.blocks.list(ghost_agent),
        lambda: client.agents.blocks.retrieve("human", agent_id=ghost_agent),
        lambda: client.agents.blocks.retrieve("nope", agent_id=agent_id),
        lambda: client.agents.blocks.update("nope", agent_id=agent_id, value="v"),
        lambda: client.agents.blocks.attach(ghost_block, agent_id=agent_id),
        lambda: client.agents.blocks.attach(block.id, agent_id=ghost_agent),
        lambda: client.agents.blocks.detach(ghost_block, agent_id=agent_id),
        lambda: client.blocks.retrieve(ghost_block),
        lambda: client.blocks.update(ghost_block, value="v"),
        lambda: client.blocks.delete(ghost_block),
        lambda: client.blocks.agents.list(ghost_block),
        lambda: client.blocks.list(after=ghost_block),
        lambda: client.blocks.list(after=ghost_block, value_search="p"),
        lambda: client.agents.blocks.list(agent_id, before=ghost_block),
    ]
    before = (running.store.list_blocks(T), running.store.get_agent(T, agent_id))
    for call in calls:
        with pytest.raises(NotFoundError) as missing:
            call()
        assert detail(missing) != "Not Found"  # ours, not the route table's
    assert (running.store.list_blocks(T), running.store.get_agent(T, agent_id)) == before


def test_label_clashes_are_409s_and_change_nothing(client: Letta, running: Running) -> None:
    agent_id = make_agent(client, "maya")
    other = client.blocks.create(label="human", value="Name: Al")
    notes = client.blocks.create(label="notes", value="n")
    client.agents.blocks.attach(notes.id, agent_id=agent_id)
    before = (running.store.list_blocks(T), running.store.agent_blocks(T, agent_id))

    with pytest.raises(ConflictError) as clash:
        client.agents.blocks.attach(other.id, agent_id=agent_id)
    assert "'human'" in detail(clash)
    with pytest.raises(ConflictError):
        client.blocks.update(notes.id, label="human")
    with pytest.raises(ConflictError):
        client.agents.blocks.update("notes", agent_id=agent_id, label="human", value="changed")
    assert (running.store.list_blocks(T), running.store.agent_blocks(T, agent_id)) == before


def test_bad_query_and_body_values_are_422s_naming_the_field(client: Letta, running: Running) -> None:
    block = client.blocks.create(label="policies", value="p")
    before = running.store.get_block(T, block.id)
    with httpx.Client(base_url=running.url) as http:
        for url in (
            "/v1/blocks/?order=sideways",
            "/v1/blocks/?limit=-1",
            f"/v1/blocks/{block.id}/agents?limit=x",
        ):
            answer = http.get(url)
            assert answer.status_code == 422, url
            assert any(field in answer.json()["detail"] for field in ("order", "limit")), answer.json()
        answer = http.patch(f"/v1/blocks/{block.id}", json={"value": "v", "colour": "red"})
        assert answer.status_code == 422
        assert "colour" in answer.json()["detail"]
        answer = http.patch(f"/v1/blocks/{block.id}", json={"limit": 0})
        assert answer.status_code == 422
        assert "limit" in answer.json()["detail"]
    assert running.store.get_block(T, block.id) == before
