"""Agents: `AgentState` and the bodies of `POST /v1/agents/` and `PATCH /v1/agents/{id}`.

On top of Letta's fields an agent has a bound persona: `persona` (its name), and either a
`persona_version` pin or a `persona_label` to follow (neither: follow the latest version), with
`persona_vars` filling the persona's template variables. They are sent and returned as top-level
keys; with the SDK, send them in `extra_body` and read them as attributes (`agent.persona`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from llm_persona.server.schemas.blocks import Block, CreateBlock
from llm_persona.server.schemas.common import MAX_INT, AgentType, RequestModel, StopReasonType, WireModel
from llm_persona.server.schemas.messages import LettaMessage
from llm_persona.server.schemas.passages import EmbeddingConfig
from llm_persona.server.schemas.tools import Tool

ModelEndpointType: TypeAlias = Literal[
    "openai",
    "anthropic",
    "google_ai",
    "google_vertex",
    "azure",
    "groq",
    "ollama",
    "webui",
    "webui-legacy",
    "lmstudio",
    "lmstudio-legacy",
    "lmstudio-chatcompletions",
    "llamacpp",
    "koboldcpp",
    "vllm",
    "hugging-face",
    "minimax",
    "moonshot",
    "moonshot_coding",
    "mistral",
    "together",
    "bedrock",
    "deepseek",
    "xai",
    "zai",
    "zai_coding",
    "baseten",
    "fireworks",
    "openrouter",
    "chatgpt_oauth",
]

PersonaVars: TypeAlias = dict[str, str | int | float | bool | None]

_PERSONA = "The persona the agent speaks as (a name in the persona registry)."
_PERSONA_VERSION = "Pin this version of the persona (not with persona_label)."
_PERSONA_LABEL = "Follow the version this label points at, e.g. 'production' (not with persona_version)."
_PERSONA_VARS = "Values for the persona's template variables, e.g. {'user_name': 'Bo'}."

#: Bounds of the per-agent `timeout` (seconds) and `max_retries` a client may set.
MAX_TIMEOUT = 3600.0
MAX_RETRIES = 10
_TIMEOUT = f"Seconds each network step of a model call may take (above 0, at most {MAX_TIMEOUT:g})."
_MAX_RETRIES = f"How often a failed model call is tried again (0 to {MAX_RETRIES})."


class LlmConfig(WireModel):
    """Letta's (deprecated but required) `llm_config`, derived from the agent's model handle."""

    model: str
    model_endpoint_type: ModelEndpointType
    context_window: int
    handle: str | None = None
    model_endpoint: str | None = None
    model_wrapper: str | None = None
    provider_name: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    parallel_tool_calls: bool | None = None
    put_inner_thoughts_in_kwargs: bool = False
    enable_reasoner: bool = False
    # ours (the SDK's `LlmConfig` has no such fields and keeps them as extra keys)
    timeout: float | None = Field(default=None, description=_TIMEOUT)
    max_retries: int | None = Field(default=None, description=_MAX_RETRIES)


class Memory(WireModel):
    """Letta's (deprecated) `memory`: the same blocks as `AgentState.blocks`."""

    blocks: list[Block]
    agent_type: AgentType = "letta_v1_agent"
    file_blocks: list[dict[str, Any]] = Field(default_factory=list)
    prompt_template: str | None = None


class AgentState(WireModel):
    """An agent as Letta returns it, plus the bound persona."""

    id: str
    name: str
    agent_type: AgentType = "letta_v1_agent"
    system: str
    description: str | None = None
    model: str
    embedding: str | None = None
    llm_config: LlmConfig
    embedding_config: EmbeddingConfig | None = None
    model_settings: dict[str, Any] | None = None
    blocks: list[Block]
    memory: Memory
    tools: list[Tool]
    sources: list[dict[str, Any]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    message_ids: list[str] = Field(default_factory=list)
    tool_rules: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    timezone: str = "UTC"
    message_buffer_autoclear: bool = False
    enable_sleeptime: bool = False
    last_stop_reason: StopReasonType | None = None
    last_run_completion: datetime | None = None
    last_run_duration_ms: int | None = None
    identity_ids: list[str] = Field(default_factory=list)
    secrets: list[dict[str, Any]] = Field(default_factory=list)
    tool_exec_environment_variables: list[dict[str, Any]] = Field(default_factory=list)
    response_format: dict[str, Any] | None = None
    compaction_settings: dict[str, Any] | None = None
    pending_approval: dict[str, Any] | None = None
    managed_group: dict[str, Any] | None = None
    multi_agent_group: dict[str, Any] | None = None
    max_files_open: int | None = None
    per_file_view_window_char_limit: int | None = None
    hidden: bool | None = None
    project_id: str | None = None
    template_id: str | None = None
    base_template_id: str | None = None
    deployment_id: str | None = None
    entity_id: str | None = None
    created_by_id: str | None = None
    last_updated_by_id: str | None = None
    # ours
    persona: str | None = Field(default=None, description=_PERSONA)
    persona_version: int | None = Field(default=None, description=_PERSONA_VERSION)
    persona_label: str | None = Field(default=None, description=_PERSONA_LABEL)
    persona_vars: PersonaVars = Field(default_factory=dict, description=_PERSONA_VARS)


# --- requests -------------------------------------------------------------------------------------

# Agent fields the SDK may send that this server accepts and does not use: templates, projects,
# identities, folders and sources, sleep-time agents, tool rules, secrets, response formats.
_AGENT_IGNORED = frozenset(
    {
        "agent_type",
        "base_template_id",
        "compaction_settings",
        "embedding_chunk_size",
        "enable_reasoner",
        "enable_sleeptime",
        "folder_ids",
        "hidden",
        "identity_ids",
        "max_files_open",
        "max_reasoning_tokens",
        "message_buffer_autoclear",
        "per_file_view_window_char_limit",
        "project_id",
        "reasoning",
        "response_format",
        "secrets",
        "source_ids",
        "template_id",
        "timezone",
        "tool_exec_environment_variables",
        "tool_rules",
    }
)


#: The model settings an agent keeps from `llm_config` and `model_settings`, and their types.
_SETTING_TYPES: dict[str, TypeAdapter[Any]] = {
    "temperature": TypeAdapter(Annotated[float, Field(allow_inf_nan=False)]),
    "max_tokens": TypeAdapter(Annotated[int, Field(gt=0, le=MAX_INT)]),
    "max_output_tokens": TypeAdapter(Annotated[int, Field(gt=0, le=MAX_INT)]),
    "context_window": TypeAdapter(Annotated[int, Field(gt=0, le=MAX_INT)]),
    "parallel_tool_calls": TypeAdapter(bool),
    "timeout": TypeAdapter(Annotated[float, Field(gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)]),
    "max_retries": TypeAdapter(Annotated[int, Field(ge=0, le=MAX_RETRIES)]),
}

#: What a setting means, added to its error where the bare bound would not say.
_SETTING_HINTS = {"timeout": _TIMEOUT, "max_retries": _MAX_RETRIES}


def typed_settings(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with the model settings an agent keeps (`_SETTING_TYPES`) checked and converted, so a
    stored agent never holds a temperature that is not a number; a ValueError names the bad one."""
    out = dict(config)
    for key, adapter in _SETTING_TYPES.items():
        if config.get(key) is None:
            continue
        try:
            out[key] = adapter.validate_python(config[key])
        except ValidationError as exc:
            hint = f". {_SETTING_HINTS[key]}" if key in _SETTING_HINTS else ""
            raise ValueError(f"{key}: {exc.errors()[0]['msg']}{hint}") from None
    return out


def _check_handle(handle: str | None, field: str) -> str | None:
    if handle is not None:
        provider, _, model = handle.partition("/")
        if not provider or not model:
            raise ValueError(
                f"{field} {handle!r} is not a 'provider/model' handle, e.g. 'openai/gpt-4o-mini'."
            )
    return handle


class _AgentBody(RequestModel):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    system: str | None = Field(default=None, description="A system prompt, used when there is no persona.")
    model: str | None = Field(default=None, description="Model handle, e.g. 'openai/gpt-4o-mini'.")
    embedding: str | None = Field(default=None, description="Embedding model handle.")
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    block_ids: list[str] | None = None
    tool_ids: list[str] | None = None
    llm_config: dict[str, Any] | None = None
    model_settings: dict[str, Any] | None = None
    embedding_config: dict[str, Any] | None = None
    context_window_limit: int | None = Field(default=None, gt=0, le=MAX_INT)
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_INT)
    parallel_tool_calls: bool | None = None
    persona: str | None = Field(default=None, min_length=1, description=_PERSONA)
    persona_version: int | None = Field(default=None, ge=1, le=MAX_INT, description=_PERSONA_VERSION)
    persona_label: str | None = Field(default=None, min_length=1, description=_PERSONA_LABEL)
    persona_vars: PersonaVars | None = Field(default=None, description=_PERSONA_VARS)

    @field_validator("model")
    @classmethod
    def _model_handle(cls, model: str | None) -> str | None:
        return _check_handle(model, "model")

    @field_validator("embedding")
    @classmethod
    def _embedding_handle(cls, embedding: str | None) -> str | None:
        return _check_handle(embedding, "embedding")

    @field_validator("llm_config", "model_settings")
    @classmethod
    def _settings_typed(cls, config: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if config is None else typed_settings(config)

    @model_validator(mode="after")
    def _one_persona_binding(self) -> _AgentBody:
        if self.persona_version is not None and self.persona_label is not None:
            raise ValueError("Give persona_version or persona_label, not both: a pin or a label to follow.")
        return self

    @model_validator(mode="after")
    def _readable_handles(self) -> _AgentBody:
        self.model_handle()  # a bad handle in llm_config or embedding_config is a 422, not a 500 later
        self.embedding_handle()
        return self

    def model_handle(self) -> str | None:
        """`model`, else the handle in `llm_config` (its `handle`, or endpoint type and model)."""
        if self.model is not None:
            return self.model
        config = self.llm_config or {}
        if isinstance(config.get("handle"), str):
            return _check_handle(config["handle"], "llm_config.handle")
        if isinstance(config.get("model"), str) and isinstance(config.get("model_endpoint_type"), str):
            return _check_handle(f"{config['model_endpoint_type']}/{config['model']}", "llm_config")
        return None

    def embedding_handle(self) -> str | None:
        """`embedding`, else the handle in `embedding_config`."""
        if self.embedding is not None:
            return self.embedding
        config = self.embedding_config or {}
        if isinstance(config.get("handle"), str):
            return _check_handle(config["handle"], "embedding_config.handle")
        model, kind = config.get("embedding_model"), config.get("embedding_endpoint_type")
        if isinstance(model, str) and isinstance(kind, str):
            return _check_handle(f"{kind}/{model}", "embedding_config")
        return None

    def llm_settings(self) -> dict[str, Any]:
        """Model settings for `AgentRecord.llm_config`, from `llm_config`, `model_settings`,
        `context_window_limit`, `max_tokens` and `parallel_tool_calls` (later ones win).

        `timeout` and `max_retries` (ours: Letta has neither) are read from `llm_config` and
        `model_settings`; the agent loop passes them on as `ModelSettings.timeout` / `.max_retries`.
        """
        out: dict[str, Any] = {}
        config = self.llm_config or {}
        for key in (
            "temperature",
            "max_tokens",
            "context_window",
            "parallel_tool_calls",
            "timeout",
            "max_retries",
        ):
            if config.get(key) is not None:
                out[key] = config[key]
        settings = self.model_settings or {}
        for key, ours in (
            ("temperature", "temperature"),
            ("max_output_tokens", "max_tokens"),
            ("parallel_tool_calls", "parallel_tool_calls"),
            ("timeout", "timeout"),
            ("max_retries", "max_retries"),
        ):
            if settings.get(key) is not None:
                out[ours] = settings[key]
        if self.context_window_limit is not None:
            out["context_window"] = self.context_window_limit
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.parallel_tool_calls is not None:
            out["parallel_tool_calls"] = self.parallel_tool_calls
        return out


class CreateAgent(_AgentBody):
    """`POST /v1/agents/`. Fields Letta has that this server does not use are accepted and ignored."""

    ignored = _AGENT_IGNORED | {
        "from_template",
        "include_base_tool_rules",
        "include_default_source",
        "initial_message_sequence",
        "memory_variables",
        "project",
        "template",
    }

    memory_blocks: list[CreateBlock] | None = None
    tools: list[str] | None = Field(default=None, description="Tools to attach, by name.")
    include_base_tools: bool = True

    @model_validator(mode="after")
    def _persona_named(self) -> CreateAgent:
        if self.persona is None and (self.persona_version is not None or self.persona_label is not None):
            raise ValueError("persona_version / persona_label need persona (the persona's name).")
        return self

    def runtime_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `AgentRuntime.create_agent` (everything but `embedding`)."""
        kwargs: dict[str, Any] = {
            "name": self.name,
            "persona": self.persona,
            "persona_version": self.persona_version,
            "persona_label": self.persona_label,
            "persona_vars": self.persona_vars or {},
            "memory_blocks": [b.fields() for b in self.memory_blocks or ()],
            "block_ids": list(self.block_ids or ()),
            "tools": list(self.tools or ()),
            "tool_ids": list(self.tool_ids or ()),
            "include_base_tools": self.include_base_tools,
            "system": self.system,
            "description": self.description,
            "tags": list(self.tags or ()),
            "metadata": self.metadata or {},
            "llm_config": self.llm_settings(),
        }
        model = self.model_handle()
        if model is not None:
            kwargs["model"] = model
        return kwargs


class UpdateAgent(_AgentBody):
    """`PATCH /v1/agents/{id}`: a missing or null field is left as it is.

    A new `persona` follows its latest version unless `persona_version` or `persona_label` says
    otherwise; a new pin drops the label to follow and the other way round.
    """

    ignored = _AGENT_IGNORED | {
        "last_run_completion",
        "last_run_duration_ms",
        "last_stop_reason",
        "message_ids",
    }

    def changes(self, current_llm_config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for `Store.update_agent`; model settings are merged into
        `current_llm_config`."""
        out: dict[str, Any] = self.model_dump(
            exclude_none=True,
            include={
                "name",
                "description",
                "system",
                "tags",
                "metadata",
                "block_ids",
                "tool_ids",
                "persona_vars",
            },
        )
        model, embedding = self.model_handle(), self.embedding_handle()
        if model is not None:
            out["model"] = model
        if embedding is not None:
            out["embedding"] = embedding
        settings = self.llm_settings()
        if settings:
            out["llm_config"] = {**(current_llm_config or {}), **settings}
        if self.persona is not None:
            out.update(persona_name=self.persona, persona_version=None, persona_label=None)
        if self.persona_version is not None:
            out.update(persona_version=self.persona_version, persona_label=None)
        if self.persona_label is not None:
            out.update(persona_label=self.persona_label, persona_version=None)
        return out


# --- context window -------------------------------------------------------------------------------


class ContextWindowOverview(WireModel):
    """`GET /v1/agents/{id}/context`: what fills the context window, in (estimated) tokens.

    Letta's field names; the SDK (1.12.1) has no method or type for this route.
    """

    context_window_size_max: int
    context_window_size_current: int
    num_messages: int
    num_archival_memory: int
    num_recall_memory: int
    num_tokens_external_memory_summary: int
    external_memory_summary: str
    num_tokens_system: int
    system_prompt: str
    num_tokens_core_memory: int
    core_memory: str
    num_tokens_summary_memory: int
    summary_memory: str | None = None
    num_tokens_functions_definitions: int
    functions_definitions: list[dict[str, Any]] | None = None
    num_tokens_messages: int
    messages: list[LettaMessage]
