"""The public API is declared once, in `llm_persona.__all__`; this pins it, so a change is deliberate."""

from __future__ import annotations

import llm_persona

PUBLIC_API = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert llm_persona.__all__ == PUBLIC_API
    assert sorted(PUBLIC_API) == PUBLIC_API


def test_every_public_name_is_importable() -> None:
    namespace: dict[str, object] = {}
    exec("from llm_persona import *", namespace)
    for name in PUBLIC_API:
        assert namespace[name] is getattr(llm_persona, name), name


def test_public_classes_say_they_live_in_llm_persona() -> None:
    for name in PUBLIC_API:
        value = getattr(llm_persona, name)
        if isinstance(value, type):
            assert value.__module__.startswith("llm_persona."), name


def test_errors_share_one_root() -> None:
    errors = [getattr(llm_persona, n) for n in PUBLIC_API if n.endswith("Error")]
    assert all(issubclass(e, llm_persona.LLMPersonaError) for e in errors)
