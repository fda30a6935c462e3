"""One turn of an agent, as explicit states: prepare context -> call the model -> run its tool calls
-> commit the step -> repeat while the model calls tools (up to `max_steps`); plain text ends it.

Each step is committed in one store transaction (its messages, block edits, usage and persona
version), so a crash loses at most the step in flight. A turn is an async iterable of events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llm_persona.agents import events as ev
from llm_persona.agents.archive import Archive
from llm_persona.agents.context import (
    DEFAULT_CONTEXT_WINDOW,
    KEEP_AFTER_SUMMARY,
    SUMMARISE_AT,
    SUMMARY_INSTRUCTIONS,
    InContext,
    estimate_tokens,
    message_tokens,
    split_point,
    transcript,
)
from llm_persona.agents.memory import ToolError, WorkingMemory
from llm_persona.agents.persona_binding import ServedPersona, VersionCache, resolve_for
from llm_persona.agents.system_prompt import compile_system_prompt
from llm_persona.agents.tools.arguments import check_arguments
from llm_persona.agents.tools.builtin import BUILTIN_TOOLS, ToolContext
from llm_persona.agents.tools.sandbox import ToolExecutor
from llm_persona.errors import ModelError, ModelResponseError
from llm_persona.llm.base import Model
from llm_persona.llm.embeddings import EmbedderResolver
from llm_persona.llm.types import (
    ChatMessage,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ResponseDone,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSchema,
    Usage,
)
from llm_persona.store.records import AgentState, MessageRecord, StepRecord, ToolRecord, new_id

if TYPE_CHECKING:
    from llm_persona.store import Store


@dataclass(frozen=True)
class TurnOptions:
    max_steps: int = 10
    stream_tokens: bool = False
    tool_executor: ToolExecutor | None = None  # runs custom (source code) tools; None: they fail
    persona_versions: VersionCache | None = None  # shared by a runtime's turns
    embedders: EmbedderResolver | None = None  # embedding models; None: the process's shared ones


class Turn:
    """Runs one turn for one agent. The caller holds the agent's lock for the whole turn."""

    def __init__(
        self,
        store: Store,
        state: AgentState,
        model: Model,
        options: TurnOptions,
        context: InContext | None = None,
    ) -> None:
        self.store = store
        self.state = state
        self.agent = state.agent
        self.model = model
        self.options = options
        self.usage = Usage()
        self._identity: str | None = None
        self.context = context if context is not None else InContext(state.messages)
        self.archive = Archive(store, self.agent, options.embedders)

    async def run(self, inputs: list[MessageRecord]) -> AsyncIterator[ev.TurnEvent]:
        pending = list(inputs)
        steps = 0
        stop = ev.END_TURN
        error: str | None = None
        while True:
            steps += 1
            outcome: _StepOutcome | None = None
            try:
                async with aclosing(self._step(pending)) as step:
                    async for item in step:
                        if isinstance(item, _StepOutcome):
                            outcome = item
                        else:
                            yield item  # a piece of the reply, as the model sends it
            except ModelError as exc:
                stop = ev.INVALID_LLM_RESPONSE if isinstance(exc, ModelResponseError) else ev.LLM_API_ERROR
                error = str(exc)
                for message in await self._commit_failed_step(pending, exc):
                    yield ev.MessageCommitted(message)
                break
            assert outcome is not None, "a step ends with its outcome"
            for message in outcome.committed:
                yield ev.MessageCommitted(message)
            pending = []
            if not outcome.continues:
                break
            if steps >= self.options.max_steps:
                stop = ev.MAX_STEPS
                break
        yield ev.TurnEnded(stop, self.usage, steps, error)

    # --- one step --------------------------------------------------------------------------------

    async def _step(
        self, inputs: list[MessageRecord]
    ) -> AsyncGenerator[ev.TextDelta | ev.ToolCallDelta | _StepOutcome, None]:
        """One step: with `stream_tokens`, the reply's pieces as they arrive; last, what it committed."""
        persona, system, cache_prefix, memory = await asyncio.to_thread(self._prepare)
        tools = self._tool_schemas()
        if self._over_window(system, tools, inputs):
            await self._summarise(system)
        chat = [ChatMessage.system(system), *self.context.chat(), *InContext(inputs).chat()]
        started = time.perf_counter()
        assistant_id = new_id("message")
        request = ModelRequest(chat, tools, self._settings(), cache_prefix)
        response: ModelResponse | None = None
        if self.options.stream_tokens:
            async with aclosing(self._stream(request, assistant_id)) as pieces:
                async for item in pieces:
                    if isinstance(item, ModelResponse):
                        response = item
                    else:
                        yield item
            if response is None:
                raise ModelResponseError(
                    "The model's stream ended without a response.", model=self.model.handle
                )
        else:
            response = await self.model.request(request)
        latency = (time.perf_counter() - started) * 1000
        self.usage = self.usage + response.usage
        if not (response.text or "").strip() and not response.tool_calls:
            # Storing it would put an assistant message with nothing in it into every later request,
            # which providers reject (OpenAI: content is required without tool calls).
            raise ModelResponseError(
                f"{self.model.handle} answered with no text and no tool calls (finish reason "
                f"{response.finish_reason!r}); the reply was not stored. Send the message again; if this "
                "repeats, check the model's max_tokens and content filter.",
                model=self.model.handle,
            )

        step = StepRecord(
            agent_id=self.agent.id,
            model=response.model or self.model.handle,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cached_input_tokens=response.usage.cached_input_tokens,
            latency_ms=latency,
            persona_name=persona.name if persona else None,
            persona_version=persona.number if persona else None,
            persona_fingerprint=persona.fingerprint if persona else None,
        )
        assistant = MessageRecord(
            id=assistant_id,
            role="assistant",
            content=response.text,
            reasoning=response.reasoning,
            tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls],
        )
        results = [await self._run_tool(call, memory) for call in response.tool_calls]
        step.stop_reason = "tool_calls" if response.tool_calls else ev.END_TURN
        messages = [*inputs, assistant, *results]
        committed = await asyncio.to_thread(self._commit, step, messages, memory, system)
        self._advance(committed)
        yield _StepOutcome(committed, continues=bool(response.tool_calls))

    def _prepare(self) -> tuple[ServedPersona | None, str, str, WorkingMemory]:
        """Resolve the persona and reuse the compiled system prompt unless memory or persona changed."""
        persona = resolve_for(self.store, self.agent, self.options.persona_versions)
        identity = persona.text if persona else self.agent.system
        self._identity = identity
        compiled = self.agent.compiled_system
        memory = WorkingMemory(self.state.blocks)
        if compiled is not None and identity is not None and not compiled.startswith(identity):
            compiled = None  # the persona moved: recompile
        if compiled is None:
            compiled = self._compile(identity, memory)
            self.agent.compiled_system = compiled
        cache_prefix = identity or ""
        return persona, compiled, cache_prefix, memory

    def _compile(self, identity: str | None, memory: WorkingMemory) -> str:
        archival = self.store.count_passages(self.agent.tenant, self.agent.id)
        return compile_system_prompt(
            identity=identity,
            blocks=memory.blocks,
            now=datetime.now(UTC),
            recall_count=self.agent.last_seq,
            archival_count=archival,
        ).text

    def _commit(
        self, step: StepRecord, messages: list[MessageRecord], memory: WorkingMemory, system: str
    ) -> list[MessageRecord]:
        writes = memory.changes()
        changes: dict[str, Any] = {"compiled_system": system}
        if writes:  # memory changed: the next step sees the new blocks in a recompiled prompt
            changes["compiled_system"] = self._compile(self._identity, memory)
        committed = self.store.commit_step(
            self.agent.tenant,
            self.agent.id,
            expected_last_seq=self.agent.last_seq,
            step=step,
            messages=messages,
            block_writes=writes,
            # the versions this step read: a concurrent write to a block we wrote is a conflict, and
            # a prompt compiled from a block another agent has since changed reads back as stale
            block_versions={b.id: b.version for b in self.state.blocks},
            agent_changes=changes,
            passages=memory.new_passages,
        )
        if writes:
            self.state.blocks = self.store.agent_blocks(self.agent.tenant, self.agent.id)
        self.agent.compiled_system = changes["compiled_system"]
        return committed

    async def _commit_failed_step(self, inputs: list[MessageRecord], exc: ModelError) -> list[MessageRecord]:
        step = StepRecord(
            agent_id=self.agent.id, model=self.model.handle, stop_reason="error", error=str(exc)
        )
        system = self.agent.compiled_system or ""

        def commit() -> list[MessageRecord]:
            return self.store.commit_step(
                self.agent.tenant,
                self.agent.id,
                expected_last_seq=self.agent.last_seq,
                step=step,
                messages=inputs,
                block_writes={},
                agent_changes={"compiled_system": system} if system else {},
            )

        committed = await asyncio.to_thread(commit)
        self._advance(committed)
        return committed

    async def _stream(
        self, request: ModelRequest, message_id: str
    ) -> AsyncGenerator[ev.TextDelta | ev.ToolCallDelta | ModelResponse, None]:
        """The model's stream as turn events, as they arrive; last, the whole response."""
        events = self.model.stream(request)
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    yield ev.TextDelta(message_id, event.text)
                elif isinstance(event, ToolCallDelta):
                    yield ev.ToolCallDelta(message_id, event.id, event.name, event.arguments)
                elif isinstance(event, ResponseDone):
                    yield event.response
        finally:  # also when the turn's consumer stops early: close the provider's stream now
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    def _advance(self, committed: list[MessageRecord]) -> None:
        """Take in a committed step: position and context move together (a cache relies on it)."""
        if committed:
            self.agent.last_seq = committed[-1].seq
            self.context.extend(committed)

    # --- context window --------------------------------------------------------------------------

    def _over_window(self, system: str, tools: list[ToolSchema], inputs: list[MessageRecord]) -> bool:
        used = estimate_tokens(system) + estimate_tokens(json.dumps([t.parameters for t in tools]))
        used += self.context.tokens + sum(message_tokens(m) for m in inputs)
        return used > SUMMARISE_AT * self._window()

    def _window(self) -> int:
        return int(self.agent.llm_config.get("context_window") or DEFAULT_CONTEXT_WINDOW)

    async def _summarise(self, system: str) -> None:
        """Fold the oldest messages into a summary, committed in one step; they stay in recall."""
        keep_from = split_point(self.context.records, budget=int(KEEP_AFTER_SUMMARY * self._window()))
        if keep_from is None:
            return  # nothing can be folded without splitting a tool call from its result
        evicted, kept = self.context.records[:keep_from], self.context.records[keep_from:]
        request = ModelRequest(
            [ChatMessage.system(SUMMARY_INSTRUCTIONS), ChatMessage.user(transcript(evicted))],
            settings=self._settings(),
        )
        response = await self.model.request(request)
        self.usage = self.usage + response.usage
        if not (response.text or "").strip():
            # An empty summary would stand in for everything folded so far, earlier summaries too.
            raise ModelResponseError(
                f"{self.model.handle} answered the request to summarise older messages with no text "
                f"(finish reason {response.finish_reason!r}); nothing was folded. Send the message again; "
                "if this repeats, check the model's max_tokens and content filter.",
                model=self.model.handle,
            )
        summary = MessageRecord(role="summary", content=(response.text or "").strip())
        step = StepRecord(
            agent_id=self.agent.id, model=response.model or self.model.handle, stop_reason="summarised"
        )
        start = kept[0].seq if kept else self.agent.last_seq + 1

        def commit() -> list[MessageRecord]:
            return self.store.commit_step(
                self.agent.tenant,
                self.agent.id,
                expected_last_seq=self.agent.last_seq,
                step=step,
                messages=[summary],
                agent_changes={"context_start_seq": start, "compiled_system": system},
            )

        committed = await asyncio.to_thread(commit)
        self.agent.last_seq = committed[-1].seq
        self.agent.context_start_seq = start
        self.context = InContext([*kept, *committed])

    # --- tools -----------------------------------------------------------------------------------

    def _tool_records(self) -> dict[str, ToolRecord]:
        return {t.name: t for t in self.state.tools}

    def _tool_schemas(self) -> list[ToolSchema]:
        schemas = []
        for tool in self.state.tools:
            builtin = BUILTIN_TOOLS.get(tool.name)
            if builtin is not None and tool.tool_type != "custom":
                schemas.append(ToolSchema(builtin.name, builtin.description, builtin.parameters))
            else:
                params = tool.json_schema.get("parameters", {"type": "object", "properties": {}})
                schemas.append(ToolSchema(tool.name, tool.description or "", params))
        return schemas

    async def _run_tool(self, call: ToolCall, memory: WorkingMemory) -> MessageRecord:
        status: str = "success"
        try:
            output = await self._execute(call, memory)
        except ToolError as exc:
            status, output = "error", str(exc)
        payload = json.dumps({"status": "OK" if status == "success" else "Failed", "message": output})
        return MessageRecord(
            role="tool",
            content=payload,
            tool_call_id=call.id,
            tool_name=call.name,
            tool_status="success" if status == "success" else "error",
        )

    async def _execute(self, call: ToolCall, memory: WorkingMemory) -> str:
        tool = self._tool_records().get(call.name)
        if tool is None:
            names = ", ".join(sorted(self._tool_records())) or "none"
            raise ToolError(f"Tool `{call.name}` does not exist. Available tools: {names}.")
        try:
            args = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ToolError(
                f"Arguments for `{call.name}` are not valid JSON ({exc.msg}); send a JSON object."
            ) from exc
        if not isinstance(args, dict):
            raise ToolError(f"Arguments for `{call.name}` must be a JSON object, got {type(args).__name__}.")
        builtin = BUILTIN_TOOLS.get(call.name)
        if builtin is None or tool.tool_type == "custom":
            return await self._run_custom(tool, args)
        check_arguments(call.name, args, builtin.parameters)
        return await builtin.run(ToolContext(memory, self._search_messages, self.archive), args)

    async def _run_custom(self, tool: ToolRecord, args: dict[str, Any]) -> str:
        executor = self.options.tool_executor
        if executor is None or not tool.source_code:
            raise ToolError(f"Tool `{tool.name}` cannot run here: it has no source code or no executor.")
        check_arguments(tool.name, args, tool.json_schema.get("parameters") or {})
        name = tool.json_schema.get("name") or tool.name
        outcome = await executor.run(tool.source_code, name, args, return_char_limit=tool.return_char_limit)
        if outcome.status == "error":
            raise ToolError(outcome.output)
        return outcome.output

    async def _search_messages(self, query: str, limit: int) -> list[dict[str, Any]]:
        found = await asyncio.to_thread(
            self.store.search_messages, self.agent.tenant, self.agent.id, query, limit=limit
        )
        return [
            {"timestamp": m.created_at.isoformat(timespec="seconds"), "role": m.role, "content": m.content}
            for m in found
        ]

    def _settings(self) -> ModelSettings:
        config, defaults = self.agent.llm_config, _DEFAULT_SETTINGS
        timeout, retries = config.get("timeout"), config.get("max_retries")  # absent or null: default
        return ModelSettings(
            temperature=config.get("temperature"),
            max_tokens=config.get("max_tokens"),
            timeout=defaults.timeout if timeout is None else float(timeout),
            max_retries=defaults.max_retries if retries is None else int(retries),
        )


#: What a model call gets for the settings an agent's `llm_config` leaves out.
_DEFAULT_SETTINGS = ModelSettings()


@dataclass
class _StepOutcome:
    committed: list[MessageRecord]
    continues: bool
