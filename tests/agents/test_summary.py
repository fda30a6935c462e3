"""When the context nears the window, the oldest messages are folded into a summary: in one step,
never splitting a tool call from its result, and everything stays in recall."""

from __future__ import annotations

from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import FunctionModel, tool_call
from llm_persona.llm.types import ModelRequest
from llm_persona.store import Store


def responder(request: ModelRequest):  # type: ignore[no-untyped-def]
    system = request.messages[0].content or ""
    if system.startswith("You summarise a conversation"):
        return "SUMMARY: the user sent numbered messages; the assistant noted each."
    last = request.messages[-1]
    if last.role == "user" and (last.content or "").endswith("!"):
        return [tool_call("conversation_search", query="message")]
    return "noted " + "x" * 200


async def test_old_messages_are_summarised_and_stay_searchable(store: Store) -> None:
    model = FunctionModel(responder)
    runtime = AgentRuntime(store, models=lambda handle: model)
    agent = await runtime.create_agent(name="s", model="scripted/t", llm_config={"context_window": 1500})
    for i in range(30):
        text = f"message {i} " + ("!" if i % 3 == 0 else ".") * 1
        result = await runtime.send(agent.id, text + "y" * 150)
        assert result.stop_reason == "end_turn"

    state = store.load_agent_state("default", agent.id)
    assert state.agent.context_start_seq > 1
    summaries = [m for m in store.list_messages("default", agent.id, limit=1000) if m.role == "summary"]
    assert summaries
    # the context the model sees: the newest summary first, then whole exchanges starting at a user message
    chat = model.requests[-1].messages
    assert chat[1].role == "user"
    assert (chat[1].content or "").startswith("(Summary of the earlier conversation) SUMMARY:")
    assert chat[2].role == "user"
    ids = {c.id for m in chat if m.role == "assistant" for c in m.tool_calls}
    assert ids == {m.tool_call_id for m in chat if m.role == "tool"}
    # nothing is lost from recall: every user message is still stored and searchable
    users = [m.content for m in store.list_messages("default", agent.id, limit=1000) if m.role == "user"]
    assert len(users) == 30
    assert store.search_messages("default", agent.id, "message 0")
    # and the prompt stays under the window
    assert sum(len(m.content or "") for m in chat) // 4 < 1500
