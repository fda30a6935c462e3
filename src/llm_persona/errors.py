"""Every error llm-persona raises, in one tree, grouped by who must act.

    LLMPersonaError
    ├── PersonaError                    the persona definitions or how they are used
    │   ├── PersonaNotFoundError        unknown persona, version or label (also a LookupError)
    │   ├── PersonaDefinitionError      a field holds the wrong kind of value
    │   ├── InheritanceError            a parent is missing or the chain loops
    │   ├── MissingVariablesError       a template needs variables nobody passed
    │   └── PersonaFileError            a persona file has problems (carries all of them)
    ├── ModelError                      the model provider failed (mapped once, at the llm boundary)
    │   ├── ModelRateLimitError         429: retried with backoff, then raised
    │   ├── ModelTimeoutError           no answer in time: retried, then raised
    │   ├── ModelUnavailableError       5xx, connection refused, dropped stream: retried, then raised
    │   ├── ModelBadRequestError        the provider rejected the request; retrying will not help
    │   ├── ContextWindowExceededError  the prompt no longer fits the model's window
    │   └── ModelResponseError          the provider answered something we cannot read
    ├── AgentError                      the agent runtime
    │   ├── AgentNotFoundError          unknown agent id or name (also a LookupError)
    │   ├── BlockNotFoundError          unknown memory block (also a LookupError)
    │   ├── BlockLimitError             a block value over its character limit
    │   ├── ReadOnlyBlockError          an edit to a read-only block
    │   ├── ToolNotFoundError           unknown tool (also a LookupError)
    │   └── ConflictError               a name or id that must be unique is taken
    └── StoreError                      the database could not do what was asked

Tool errors that the model caused (a bad `old_string`, an over-long value) are not raised to the
caller: they go back to the model as the tool's result, so it can fix its call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class LLMPersonaError(Exception):
    """Root of every error llm-persona raises on purpose."""


# --- personas -------------------------------------------------------------------------------------


class PersonaError(LLMPersonaError):
    """A persona definition, or the way it was used, is wrong."""


class PersonaNotFoundError(PersonaError, LookupError):
    """No persona, version or label by that name."""

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError; keep it readable
        return str(self.args[0]) if self.args else ""


class PersonaDefinitionError(PersonaError, ValueError):
    """A persona field holds the wrong kind of value."""


class InheritanceError(PersonaError):
    """A persona's parent is missing, or its chain of parents loops."""

    def __init__(self, message: str, chain: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.chain = tuple(chain)


class MissingVariablesError(PersonaError, KeyError):
    """Rendering needs variables that were neither passed nor given a default."""

    def __init__(self, persona: str, missing: dict[str, list[str]]) -> None:
        self.persona = persona
        #: variable name -> the fields that use it, e.g. {"user_name": ["custom_sections.escalation"]}
        self.missing = missing
        names = ", ".join(sorted(missing))
        where = sorted({f for fields in missing.values() for f in fields})
        message = (
            f"Missing variables {{{names}}} for persona {persona!r} ({', '.join(where)}). "
            "Pass them to build_system_prompt() or declare defaults under 'variables:'."
        )
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a persona file, and where."""

    file: str
    line: int | None
    column: int | None
    path: str  # field path, e.g. "Maya.capabilities[2]"; "" for the whole file
    message: str
    hint: str | None = None

    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def __str__(self) -> str:
        where = f" ({self.path})" if self.path else ""
        hint = f" Hint: {self.hint}" if self.hint else ""
        return f"{self.location()}: {self.message}{where}.{hint}"


class PersonaFileError(PersonaError):
    """A persona file (or folder) has problems; `problems` lists every one of them."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{count} {noun} in persona file(s); fix them and load again "
            f"(`llm-persona validate FILE` lists them):\n{lines}"
        )


# --- models ---------------------------------------------------------------------------------------


class ModelError(LLMPersonaError):
    """The model provider failed; `provider` and `model` say which."""

    retryable: bool = False

    def __init__(self, message: str, *, provider: str = "", model: str = "") -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model


class ModelRateLimitError(ModelError):
    retryable = True


class ModelTimeoutError(ModelError):
    retryable = True


class ModelUnavailableError(ModelError):
    retryable = True


class ModelBadRequestError(ModelError):
    pass


class ContextWindowExceededError(ModelBadRequestError):
    pass


class ModelResponseError(ModelError):
    pass


# --- agents ---------------------------------------------------------------------------------------


class AgentError(LLMPersonaError):
    """The agent runtime refused or failed an operation."""


class AgentNotFoundError(AgentError, LookupError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BlockNotFoundError(AgentError, LookupError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BlockLimitError(AgentError, ValueError):
    pass


class ReadOnlyBlockError(AgentError):
    pass


class ToolNotFoundError(AgentError, LookupError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConflictError(AgentError):
    pass


# --- store ----------------------------------------------------------------------------------------


class StoreError(LLMPersonaError):
    """The database could not do what was asked."""
