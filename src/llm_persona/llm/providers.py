"""Handles to models: "openai/gpt-4o-mini" -> a ready `Model`, with retries.

The SDK behind a provider is imported only when a model of that provider is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llm_persona.errors import ModelBadRequestError
from llm_persona.llm.base import Model
from llm_persona.llm.retry import RetryingModel, RetryPolicy

OLLAMA_BASE_URL = "http://localhost:11434/v1"


def _openai(model: str, options: dict[str, Any]) -> Model:
    from llm_persona.llm.openai import OpenAIModel

    return OpenAIModel(model, **options)


def _ollama(model: str, options: dict[str, Any]) -> Model:
    from llm_persona.llm.openai import OpenAIModel

    options = {"base_url": OLLAMA_BASE_URL, "api_key": "ollama", "max_tokens_field": "max_tokens", **options}
    return OpenAIModel(model, provider="ollama", **options)


def _anthropic(model: str, options: dict[str, Any]) -> Model:
    from llm_persona.llm.anthropic import AnthropicModel

    return AnthropicModel(model, **options)


#: provider name -> factory(model name, options)
PROVIDERS: dict[str, Callable[[str, dict[str, Any]], Model]] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "ollama": _ollama,
}


def parse_handle(handle: str) -> tuple[str, str]:
    """("openai", "gpt-4o-mini") for "openai/gpt-4o-mini"; the model part may hold more slashes."""
    provider, _, model = handle.partition("/")
    if not provider or not model:
        raise ModelBadRequestError(
            f"Model handle {handle!r} is not 'provider/model'. Write e.g. 'openai/gpt-4o-mini' "
            f"(providers: {', '.join(PROVIDERS)})."
        )
    return provider, model


def get_model(handle: str, *, retry: RetryPolicy | None = None, **options: Any) -> Model:
    """The model behind `handle`, retrying per `ModelSettings.max_retries` with `retry`'s backoff.

    `options` go to the provider's model class, e.g. base_url= and api_key= for openai/anthropic.
    """
    provider, model = parse_handle(handle)
    if provider == "scripted":
        raise ModelBadRequestError(
            f"{handle!r}: scripted models are built in code, not by handle. Pass "
            "ScriptedModel([...]) or FunctionModel(fn) from llm_persona.llm where a model is expected.",
            provider=provider,
            model=model,
        )
    factory = PROVIDERS.get(provider)
    if factory is None:
        raise ModelBadRequestError(
            f"Unknown model provider {provider!r} in handle {handle!r}. Known providers: "
            f"{', '.join(PROVIDERS)}; for another OpenAI-compatible server use "
            f"get_model('openai/<model>', base_url=...) or set OPENAI_BASE_URL.",
            provider=provider,
            model=model,
        )
    try:
        inner = factory(model, dict(options))
    except TypeError as exc:
        raise ModelBadRequestError(
            f"Bad option for {handle!r}: {exc}. See the {provider} model class for the options it takes.",
            provider=provider,
            model=model,
        ) from exc
    return RetryingModel(inner, retry)
