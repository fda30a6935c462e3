"""The system prompt: its whole layout, its size, and that it stays byte-identical (so provider
prompt caches hit) until memory or the persona changes."""

from __future__ import annotations

import re

from llm_persona import Persona, PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import ScriptedModel, tool_call
from llm_persona.store import Store

EXPECTED_SYSTEM = """\
You are Maya, a Customer Support Specialist at Acme Corp.

Tone: helpful, concise, empathetic

You can:
- Look up order status

The customer is Bob.

You have persistent memory. The memory blocks below are always in your context: keep them current \
with your memory tools when you learn something worth keeping (facts about the user, your own \
notes), and keep them short. Past messages that no longer fit your context stay searchable with \
conversation_search. Answer the user directly in plain text; do not narrate memory edits.

<memory_blocks>
The following memory blocks are currently engaged in your core memory unit:

<human>
<description>
What you know about the user.
</description>
<metadata>
- chars_current=9
- chars_limit=60
</metadata>
<value>
Name: Bob
</value>
</human>

<policy>
<description>

</description>
<metadata>
- read_only=true
- chars_current=17
- chars_limit=20000
</metadata>
<value>
Refunds under $50
</value>
</policy>

</memory_blocks>

<memory_metadata>
- The current system date is: DATE
- 0 previous messages between you and the user are stored in recall memory (use tools to access them)
- 0 total memories you created are stored in archival memory (use tools to access them)
</memory_metadata>"""


async def make(runtime: AgentRuntime, **extra: object):
    return await runtime.create_agent(
        name="ctx",
        persona="Maya",
        persona_vars={"user_name": "Bob"},
        memory_blocks=[
            {
                "label": "human",
                "value": "Name: Bob",
                "limit": 60,
                "description": "What you know about the user.",
            },
            {"label": "policy", "value": "Refunds under $50", "read_only": True},
        ],
        model="scripted/test",
        **extra,
    )


def system_of(model: ScriptedModel, call: int) -> str:
    content = model.requests[call].messages[0].content or ""
    return re.sub(r"(current system date is: ).*", r"\1DATE", content)


async def test_whole_system_prompt(runtime: AgentRuntime, model: ScriptedModel) -> None:
    agent = await make(runtime)
    model.add("Hi.")
    await runtime.send(agent.id, "hello")
    assert system_of(model, 0) == EXPECTED_SYSTEM
    assert model.requests[0].cache_prefix is not None
    assert system_of(model, 0).startswith(model.requests[0].cache_prefix)


async def test_fixed_prompt_is_lean(runtime: AgentRuntime, model: ScriptedModel) -> None:
    """System text (without block values) plus tool schemas of a default agent: well under 4,000 chars."""
    agent = await runtime.create_agent(
        name="lean", model="scripted/test", memory_blocks=[{"label": "human", "value": ""}]
    )
    model.add("Hi.")
    await runtime.send(agent.id, "hello")
    request = model.requests[0]
    import json

    tools = json.dumps(
        [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in request.tools]
    )
    fixed = len(request.messages[0].content or "") + len(tools)
    assert [t.name for t in request.tools] == [
        "memory_insert",
        "memory_replace",
        "conversation_search",
        "archival_memory_insert",
        "archival_memory_search",
    ]
    assert fixed < 3000, fixed


async def test_each_prompt_extends_the_previous_one_until_memory_changes(
    runtime: AgentRuntime, model: ScriptedModel
) -> None:
    agent = await make(runtime)
    model.add(
        "One.", "Two.", [tool_call("memory_insert", label="human", new_str="Likes tea")], "Noted.", "Four."
    )
    for text in ["first", "second", "I like tea", "fourth"]:
        await runtime.send(agent.id, text)

    def flat(call: int) -> list[tuple[str, str | None]]:
        return [(m.role, m.content) for m in model.requests[call].messages]

    # calls 0, 1, 2 share memory: each prompt is the previous one plus what is new, byte for byte
    assert flat(1)[: len(flat(0))] == flat(0)
    assert flat(2)[: len(flat(1))] == flat(1)
    # the memory edit (call 2) recompiles the system prompt for call 3; calls 3 and 4 extend again
    assert flat(3)[0] != flat(2)[0]
    assert "Likes tea" in (flat(3)[0][1] or "")
    assert flat(3)[1:][: len(flat(2)) - 1] == flat(2)[1:]
    assert flat(4)[: len(flat(3))] == flat(3)


async def test_a_moved_label_reaches_followers_and_pins_stay(
    store: Store, registry: PersonaRegistry, model: ScriptedModel
) -> None:
    runtime = AgentRuntime(store, personas=registry, models=lambda handle: model)
    follower = await runtime.create_agent(
        name="f",
        persona="Maya",
        persona_label="production",
        persona_vars={"user_name": "A"},
        model="scripted/t",
    )
    pinned = await runtime.create_agent(
        name="p", persona="Maya", persona_version=1, persona_vars={"user_name": "B"}, model="scripted/t"
    )
    latest = await runtime.create_agent(
        name="l", persona="Maya", persona_vars={"user_name": "C"}, model="scripted/t"
    )
    model.add("a", "b", "c")
    for agent in (follower, pinned, latest):
        await runtime.send(agent.id, "hi")

    registry.define(
        Persona(
            name="Maya", role="Senior Support Lead", custom_sections={"customer": "Customer: {user_name}."}
        )
    )
    runtime.sync_personas(registry)  # v2 is now latest; production still points at v1
    assert {d.agent_name: (d.served_version, d.current_version, d.follows) for d in runtime.drift()} == {
        "l": (1, 2, "latest")
    }
    store.set_persona_label("default", "Maya", "production", 2)
    assert {d.agent_name for d in runtime.drift()} == {"f", "l"}

    model.add("d", "e", "f")
    for agent in (follower, pinned, latest):
        await runtime.send(agent.id, "again")
    systems = [r.messages[0].content or "" for r in model.requests[3:]]
    assert ["Senior Support Lead" in s for s in systems] == [True, False, True]
    assert runtime.drift() == []
    served = [
        store.list_steps("default", a.id, order="desc", limit=1)[0].persona_version
        for a in (follower, pinned, latest)
    ]
    assert served == [2, 1, 2]


async def test_a_runtime_sees_what_another_runtime_added_and_a_reset(store: Store) -> None:
    first, second = ScriptedModel(["one", "three"]), ScriptedModel(["two"])
    a = AgentRuntime(store, models=lambda handle: first)
    b = AgentRuntime(store, models=lambda handle: second)  # another process, as far as caches go
    agent = await a.create_agent(name="shared", model="scripted/t")
    await a.send(agent.id, "from a")
    await b.send(agent.id, "from b")
    store.update_agent(
        "default", agent.id, context_start_seq=3
    )  # a reset: the first exchange leaves the window
    await a.send(agent.id, "a again")
    seen = [(m.role, m.content) for m in first.requests[-1].messages[1:]]
    assert seen == [("user", "from b"), ("assistant", "two"), ("user", "a again")]


async def test_messages_added_by_another_runtime_join_the_cached_context(store: Store) -> None:
    first, second = ScriptedModel(["one", "three"]), ScriptedModel(["two"])
    a = AgentRuntime(store, models=lambda handle: first)
    b = AgentRuntime(store, models=lambda handle: second)
    agent = await a.create_agent(name="shared", model="scripted/t")
    await a.send(agent.id, "from a")
    await b.send(agent.id, "from b")
    await a.send(agent.id, "a again")
    seen = [m.content for m in first.requests[-1].messages[1:]]
    assert seen == ["from a", "one", "from b", "two", "a again"]


async def test_drift_flags_an_agent_whose_label_was_deleted(store: Store, registry: PersonaRegistry) -> None:
    runtime = AgentRuntime(store, personas=registry, models=lambda handle: ScriptedModel([]))
    agent = await runtime.create_agent(
        name="orphan",
        persona="Maya",
        persona_label="production",
        persona_vars={"user_name": "A"},
        model="scripted/t",
    )
    store.delete_persona_label("default", "Maya", "production")
    assert [(d.agent_id, d.current_version, d.follows) for d in runtime.drift()] == [
        (agent.id, None, "label production")
    ]
