"""llm-persona: one definition of every agent persona, many uses, no drift.

`import llm_persona` loads the persona layer only; the agent runtime, store and server load when
you import them (`llm_persona.agents`, `llm_persona.store`, `llm_persona.server`).
"""

from llm_persona.errors import (
    AgentError,
    AgentNotFoundError,
    BlockLimitError,
    BlockNotFoundError,
    ConflictError,
    ContextWindowExceededError,
    InheritanceError,
    LLMPersonaError,
    MissingVariablesError,
    ModelBadRequestError,
    ModelError,
    ModelRateLimitError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
    PersonaDefinitionError,
    PersonaError,
    PersonaFileError,
    PersonaNotFoundError,
    Problem,
    ReadOnlyBlockError,
    StoreError,
    ToolNotFoundError,
)
from llm_persona.personas.ab import Assignment, Split, Variant
from llm_persona.personas.diff import FieldChange, PersonaDiff
from llm_persona.personas.explain import ExplainedLine, Explanation
from llm_persona.personas.persona import Persona, PromptLine, RenderedPrompt, Variable
from llm_persona.personas.registry import PersonaRegistry
from llm_persona.personas.validation import validate_file
from llm_persona.personas.versions import PersonaVersion, fingerprint

__version__ = "0.1.0"

__all__ = [
    "AgentError",
    "AgentNotFoundError",
    "Assignment",
    "BlockLimitError",
    "BlockNotFoundError",
    "ConflictError",
    "ContextWindowExceededError",
    "ExplainedLine",
    "Explanation",
    "FieldChange",
    "InheritanceError",
    "LLMPersonaError",
    "MissingVariablesError",
    "ModelBadRequestError",
    "ModelError",
    "ModelRateLimitError",
    "ModelResponseError",
    "ModelTimeoutError",
    "ModelUnavailableError",
    "Persona",
    "PersonaDefinitionError",
    "PersonaDiff",
    "PersonaError",
    "PersonaFileError",
    "PersonaNotFoundError",
    "PersonaRegistry",
    "PersonaVersion",
    "Problem",
    "PromptLine",
    "ReadOnlyBlockError",
    "RenderedPrompt",
    "Split",
    "StoreError",
    "ToolNotFoundError",
    "Variable",
    "Variant",
    "__version__",
    "fingerprint",
    "validate_file",
]
