"""agent_overviews: a page of agents with their blocks, tools and in-context message ids, in one read."""

from __future__ import annotations

from llm_persona.store import AgentRecord, BlockRecord, MessageRecord, Store, ToolRecord

from .helpers import OTHER, TENANT, new_agent, say


def test_overviews_match_each_agents_own_state_in_the_order_asked(store: Store) -> None:
    shared = store.create_block(TENANT, BlockRecord(label="org", value="Acme"))
    tool = store.create_tool(TENANT, ToolRecord(name="lookup", json_schema={"name": "lookup"}))
    a = new_agent(store, name="a", block_ids=[shared.id], tool_ids=[tool.id])
    b = store.create_agent(
        TENANT,
        AgentRecord(name="b", model="openai/gpt-4o-mini", block_ids=[shared.id]),
        new_blocks=[BlockRecord(label="human", value="Bob"), BlockRecord(label="persona", value="Maya")],
    )
    c = new_agent(store, name="c")
    say(store, a.id, "1", "2", "3")
    store.commit_step(  # a summary: a's context now starts at seq 3
        TENANT,
        a.id,
        expected_last_seq=3,
        step=None,
        messages=[MessageRecord(role="summary", content="Counted.")],
        agent_changes={"context_start_seq": 3},
    )
    say(store, b.id, "hello")

    overviews = store.agent_overviews(TENANT, [c.id, a.id, b.id])

    assert [o.agent.id for o in overviews] == [c.id, a.id, b.id]
    for overview in overviews:
        state = store.load_agent_state(TENANT, overview.agent.id)
        assert overview.agent == state.agent
        assert overview.blocks == state.blocks
        assert overview.tools == state.tools
        assert overview.message_ids == [m.id for m in state.messages]
    assert len(overviews[1].message_ids) == 2  # seq 3 and the summary: not what was folded
    assert [t.name for t in overviews[1].tools] == ["lookup"]
    assert [blk.label for blk in overviews[2].blocks] == ["org", "human", "persona"]


def test_unknown_deleted_and_other_tenants_agents_are_left_out(store: Store) -> None:
    kept = new_agent(store, name="kept")
    gone = new_agent(store, name="gone")
    theirs = new_agent(store, OTHER, name="theirs")
    store.delete_agent(TENANT, gone.id)
    overviews = store.agent_overviews(TENANT, ["agent-nope", gone.id, theirs.id, kept.id, kept.id])
    assert [o.agent.id for o in overviews] == [kept.id]
    assert store.agent_overviews(TENANT, []) == []
