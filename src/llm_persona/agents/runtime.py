"""`AgentRuntime`: create stateful agents on personas and message them. A route handler is a thin
call into this; so is a script.

    runtime = AgentRuntime(Store.open(), personas=PersonaRegistry.from_file("personas.yaml"))
    agent = await runtime.create_agent(name="maya-1", persona="Maya", persona_vars={"user_name": "Bo"})
    result = await runtime.send(agent.id, "hello")
"""

from __future__ import annotations

import asyncio
import copy
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from llm_persona.agents import events as ev
from llm_persona.agents.context import InContext
from llm_persona.agents.context_cache import ContextCache
from llm_persona.agents.loop import Turn, TurnOptions
from llm_persona.agents.persona_binding import LATEST, VersionCache, render_check, sync_registry
from llm_persona.agents.tools.builtin import BASE_TOOLS, BUILTIN_TOOLS
from llm_persona.agents.tools.sandbox import SubprocessToolExecutor, ToolExecutor
from llm_persona.errors import AgentError, ToolNotFoundError
from llm_persona.llm.base import Model
from llm_persona.llm.embeddings import EmbedderResolver, Embedders
from llm_persona.llm.handles import PerHandle
from llm_persona.llm.providers import get_model
from llm_persona.personas.registry import PersonaRegistry
from llm_persona.store import (
    DEFAULT_TENANT,
    AgentRecord,
    AgentState,
    BlockRecord,
    MessageRecord,
    Store,
    ToolRecord,
)

ModelResolver = Callable[[str], Model]

DEFAULT_MODEL = "openai/gpt-4o-mini"
#: Threads that take agents' store locks (and read their state): how many agents one process can be
#: waiting for at once before further turns queue for a thread. Few: with 64, 500 turns at once ran
#: ~10% slower (more threads contending for the GIL and the database).
LOCK_WAITERS = 8


class ProviderModels(PerHandle[Model]):
    """Resolve `provider/model` handles to real providers (with retries), one instance per handle.

    Credentials and base URLs come from the environment as each SDK reads them (OPENAI_API_KEY,
    OPENAI_BASE_URL, ANTHROPIC_API_KEY). `aclose()` closes their connections.
    """

    def __init__(self) -> None:
        super().__init__(get_model)  # each SDK loads when a model of its provider is first made


def default_models() -> ModelResolver:
    """The resolver an `AgentRuntime` uses when given none: a `ProviderModels`."""
    return ProviderModels()


@dataclass(frozen=True)
class DriftEntry:
    """An agent whose last step was served by another persona version than it would get now."""

    agent_id: str
    agent_name: str
    persona: str
    served_version: int | None  # None: the agent has not taken a step yet
    current_version: int | None  # None: what it follows no longer exists (a deleted label)
    follows: str  # "version 3", "label production" or "latest"


class AgentRuntime:
    """Stateful agents on a store. Requests for one agent run one at a time, in arrival order:
    within this process (an asyncio lock) and across processes (the store's per-agent lock)."""

    def __init__(
        self,
        store: Store,
        *,
        personas: PersonaRegistry | None = None,
        models: ModelResolver | None = None,
        tenant: str = DEFAULT_TENANT,
        max_steps: int = 10,
        tool_executor: ToolExecutor | None = None,
        embedders: EmbedderResolver | None = None,
    ) -> None:
        self.store = store
        self.tool_executor = tool_executor or SubprocessToolExecutor()
        self.embedders = embedders or Embedders()
        self.tenant = tenant
        self.models = models or default_models()
        self.max_steps = max_steps
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Waiting for an agent another process holds blocks a thread: not one of the default pool's,
        # which the holders' own commits and releases need (two replicas could otherwise starve).
        self._lock_threads = ThreadPoolExecutor(LOCK_WAITERS, thread_name_prefix="llm-persona-agent-lock")
        self._contexts = ContextCache()
        self._persona_versions = VersionCache()
        # The personas given here (e.g. `serve --personas FILE`) serve every tenant: each tenant's
        # store gets them the first time this process acts for it (`for_tenant`).
        self._given_personas = personas
        self._synced_tenants: set[str] = set()  # shared by the tenant views
        self._sync_given_personas()

    async def aclose(self) -> None:
        """Close the models' and embedders' connections, where their resolvers can (the default ones
        can). The store stays open: it belongs to whoever opened it."""
        for resolver in (self.models, self.embedders):
            aclose = getattr(resolver, "aclose", None)
            if aclose is not None:
                await aclose()

    def for_tenant(self, tenant: str) -> AgentRuntime:
        """The same runtime (store, models, locks, executor) acting for `tenant`."""
        if tenant == self.tenant:
            return self
        view = copy.copy(self)
        view.tenant = tenant
        view._sync_given_personas()
        return view

    def _sync_given_personas(self) -> None:
        if self._given_personas is not None and self.tenant not in self._synced_tenants:
            self.sync_personas(self._given_personas)
            self._synced_tenants.add(self.tenant)

    # --- personas --------------------------------------------------------------------------------

    def sync_personas(self, registry: PersonaRegistry) -> dict[str, int]:
        """Record every version of `registry`'s personas and their labels; name -> current version."""
        return sync_registry(self.store, registry, self.tenant)

    def drift(self) -> list[DriftEntry]:
        """Agents whose last step used a persona version other than the one they would get now."""
        out = []
        for agent in self.store.list_agents(self.tenant):
            if agent.persona_name is None:
                continue
            follows = (
                f"version {agent.persona_version}"
                if agent.persona_version is not None
                else f"label {agent.persona_label}"
                if agent.persona_label
                else LATEST
            )
            current: int | None = agent.persona_version
            if current is None:
                try:
                    current = self.store.get_persona_label(
                        self.tenant, agent.persona_name, agent.persona_label or LATEST
                    )
                except LookupError:  # the label was deleted: the agent cannot take a step; report it
                    current = None
            last = self.store.list_steps(self.tenant, agent.id, limit=1, order="desc")
            served = last[0].persona_version if last else None
            if current is None or served != current:
                out.append(DriftEntry(agent.id, agent.name, agent.persona_name, served, current, follows))
        return out

    # --- agents ----------------------------------------------------------------------------------

    async def create_agent(
        self,
        *,
        name: str | None = None,
        persona: str | None = None,
        persona_version: int | None = None,
        persona_label: str | None = None,
        persona_vars: Mapping[str, Any] | None = None,
        memory_blocks: Sequence[Mapping[str, Any]] = (),
        block_ids: Sequence[str] = (),
        tools: Sequence[str] = (),
        tool_ids: Sequence[str] = (),
        include_base_tools: bool = True,
        model: str = DEFAULT_MODEL,
        system: str | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        llm_config: Mapping[str, Any] | None = None,
        embedding: str | None = None,
    ) -> AgentRecord:
        """Create an agent. Bad input (an unknown persona, version or label, variables the persona
        needs but were not given, an unknown block or tool) raises and creates nothing."""
        if persona_version is not None and persona_label is not None:
            raise AgentError("Give persona_version or persona_label, not both: a pin or a label to follow.")
        if persona is None and (persona_version is not None or persona_label is not None):
            raise AgentError("persona_version / persona_label need persona= (the persona's name).")
        variables = dict(persona_vars or {})
        return await asyncio.to_thread(
            self._create,
            AgentRecord(
                name=name or _generated_name(),
                model=model,
                system=system,
                description=description,
                persona_name=persona,
                persona_version=persona_version,
                persona_label=persona_label,
                persona_vars=variables,
                tags=list(tags),
                metadata=dict(metadata or {}),
                llm_config=dict(llm_config or {}),
                embedding=embedding,
                block_ids=list(block_ids),
            ),
            [_block(b) for b in memory_blocks],
            [*(BASE_TOOLS if include_base_tools else ()), *tools],
            list(tool_ids),
        )

    def _create(
        self, agent: AgentRecord, blocks: list[BlockRecord], tool_names: list[str], tool_ids: list[str]
    ) -> AgentRecord:
        self.check_persona(agent)
        agent.tool_ids = [*self._builtin_tool_ids(tool_names), *tool_ids]
        return self.store.create_agent(self.tenant, agent, new_blocks=blocks)

    def check_persona(self, agent: AgentRecord) -> None:
        """Raise unless the agent's persona binding resolves and its variables cover the persona
        (unknown persona, version or label; missing variables): fail now, not mid-turn."""
        if agent.persona_name is not None:
            number = agent.persona_version or self.store.get_persona_label(
                self.tenant, agent.persona_name, agent.persona_label or LATEST
            )
            version = self.store.get_persona_version(self.tenant, agent.persona_name, number)
            render_check(version.content, agent.persona_vars)

    def _builtin_tool_ids(self, names: Iterable[str]) -> list[str]:
        ids = []
        for name in dict.fromkeys(names):
            builtin = BUILTIN_TOOLS.get(name)
            if builtin is None:
                known = ", ".join(sorted(BUILTIN_TOOLS))
                raise ToolNotFoundError(f"No built-in tool {name!r}; built-in tools are: {known}.")
            record = ToolRecord(
                name=name,
                description=builtin.description,
                json_schema={
                    "name": name,
                    "description": builtin.description,
                    "parameters": builtin.parameters,
                },
                tool_type="memory",
            )
            ids.append(self.store.upsert_tool(self.tenant, record).id)
        return ids

    async def get_agent(self, agent_id: str) -> AgentRecord:
        return await asyncio.to_thread(self.store.get_agent, self.tenant, agent_id)

    async def delete_agent(self, agent_id: str) -> None:
        async with self._serialised(agent_id):
            await asyncio.to_thread(self.store.delete_agent, self.tenant, agent_id)

    async def reset_messages(self, agent_id: str) -> AgentRecord:
        """Empty the agent's context window (between turns): its messages stay in recall memory."""
        async with self._serialised(agent_id):

            def reset() -> AgentRecord:
                agent = self.store.get_agent(self.tenant, agent_id)
                return self.store.update_agent(self.tenant, agent_id, context_start_seq=agent.last_seq + 1)

            return await asyncio.to_thread(reset)

    # --- messages --------------------------------------------------------------------------------

    async def send(
        self, agent_id: str, message: str | Sequence[Mapping[str, Any]], *, max_steps: int | None = None
    ) -> ev.TurnResult:
        """Send a user message and run the turn to its end; the messages it added, the stop reason, usage."""
        result = ev.TurnResult()
        async for event in self.stream(agent_id, message, max_steps=max_steps):
            if isinstance(event, ev.MessageCommitted):
                result.messages.append(event.message)
            elif isinstance(event, ev.TurnEnded):
                result.stop_reason, result.usage = event.stop_reason, event.usage
                result.step_count, result.error = event.step_count, event.error
        return result

    async def stream(
        self,
        agent_id: str,
        message: str | Sequence[Mapping[str, Any]],
        *,
        max_steps: int | None = None,
        stream_tokens: bool = False,
    ) -> AsyncIterator[ev.TurnEvent]:
        """Run a turn, yielding its events as they happen (token deltas only with `stream_tokens`)."""
        inputs = _inputs(message)
        options = TurnOptions(
            max_steps=max_steps or self.max_steps,
            stream_tokens=stream_tokens,
            tool_executor=self.tool_executor,
            persona_versions=self._persona_versions,
            embedders=self.embedders,
        )
        async with self._serialised(agent_id) as (state, context):
            turn = Turn(self.store, state, self.models(state.agent.model), options, context)
            try:
                async for event in turn.run(inputs):
                    yield event
            finally:
                self._contexts.remember(self.tenant, turn.agent, turn.context)

    def _load_state(self, agent_id: str) -> tuple[AgentState, InContext]:
        """The agent's state; in-context messages this process already holds are not read again."""
        cached = self._contexts.get(self.tenant, agent_id)
        after = cached.last_seq if cached else 0
        state = self.store.load_agent_state(self.tenant, agent_id, after_seq=after)
        if cached is not None and cached.valid_for(state.agent):
            cached.context.extend(state.messages)  # what other processes added meanwhile
            return state, cached.context
        if cached is not None:  # history reset, summarised elsewhere or rewound: read it whole
            state = self.store.load_agent_state(self.tenant, agent_id)
        return state, InContext(state.messages)

    @asynccontextmanager
    async def _serialised(self, agent_id: str) -> AsyncIterator[tuple[AgentState, InContext]]:
        """Hold the agent's locks (this process's, then the store's) for the block, and give it the
        agent's state, read in the same worker-thread hop that took the store's lock."""
        lock = self._locks.get(agent_id)
        if lock is None:
            lock = self._locks[agent_id] = asyncio.Lock()
        async with lock:
            held = self.store.agent_lock(agent_id)

            def lock_and_load() -> tuple[AgentState, InContext]:
                held.__enter__()
                try:
                    return self._load_state(agent_id)
                except BaseException:
                    held.__exit__(None, None, None)
                    raise

            loop = asyncio.get_running_loop()
            loading = loop.run_in_executor(self._lock_threads, lock_and_load)
            try:
                loaded = await asyncio.shield(loading)
            except asyncio.CancelledError:  # the thread may still get the lock: release it then
                loading.add_done_callback(lambda done: _release_if_taken(done, held))
                raise
            try:
                yield loaded
            finally:
                await asyncio.to_thread(held.__exit__, None, None, None)


def _release_if_taken(loading: asyncio.Future[Any], held: AbstractContextManager[None]) -> None:
    """After a cancelled wait: if the worker thread got the lock (and the state), release it."""
    if not loading.cancelled() and loading.exception() is None:
        asyncio.get_running_loop().run_in_executor(None, held.__exit__, None, None, None)


def _inputs(message: str | Sequence[Mapping[str, Any]]) -> list[MessageRecord]:
    """User input as messages: a string, or Letta-style dicts with `role` and `content` (or `text`)."""
    if isinstance(message, str):
        items: Sequence[Mapping[str, Any]] = [{"role": "user", "content": message}]
    else:
        items = message
    out = []
    for i, item in enumerate(items):
        role = item.get("role", "user")
        if role not in ("user", "system"):
            raise AgentError(f"messages[{i}].role is {role!r}; send 'user' (or 'system') messages.")
        content = item.get("content", item.get("text"))
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        if not isinstance(content, str) or not content:
            raise AgentError(f"messages[{i}] has no text: give it a non-empty 'content' string.")
        out.append(MessageRecord(role="user", content=content, otid=item.get("otid")))
    if not out:
        raise AgentError("No messages to send: give at least one user message.")
    return out


def _block(spec: Mapping[str, Any]) -> BlockRecord:
    known = {"label", "value", "limit", "description", "read_only", "metadata"}
    unknown = set(spec) - known
    if unknown:
        raise AgentError(f"memory block has unknown fields {sorted(unknown)}; use {sorted(known)}.")
    if not spec.get("label"):
        raise AgentError("Every memory block needs a label (e.g. 'human' or 'persona').")
    fields = {k: v for k, v in spec.items() if v is not None}
    return BlockRecord(**fields)


def _generated_name() -> str:
    import secrets

    return f"agent-{secrets.token_hex(4)}"
