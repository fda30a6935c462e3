"""Which `ModelError` a provider failure becomes, with a message that says what to do.

Shared by the provider modules, which catch their SDK's exceptions and raise these `from` them.
"""

from __future__ import annotations

from llm_persona.errors import (
    ContextWindowExceededError,
    ModelBadRequestError,
    ModelError,
    ModelRateLimitError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
)

# Phrases providers use when the prompt does not fit: OpenAI, vLLM, llama.cpp, Anthropic.
_CONTEXT_OVERFLOW = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "exceed_context_size",
    "exceeds the available context size",
    "prompt is too long",
)


def is_context_overflow(text: str) -> bool:
    """Whether an error text says the prompt is longer than the model's window."""
    lowered = text.lower()
    return any(marker in lowered for marker in _CONTEXT_OVERFLOW)


def for_status(
    status: int, detail: str, *, where: str, provider: str, model: str, auth_hint: str
) -> ModelError:
    """The error for an HTTP error answer `status` from `where` (e.g. "OpenAI")."""
    handle = f"{provider}/{model}"
    kw = {"provider": provider, "model": model}
    overflow = is_context_overflow(detail)
    detail = sentence(detail)
    subject = _capitalized(where)
    if status == 429:
        return ModelRateLimitError(
            f"{subject} rate-limited {handle} (429): {detail} "
            "Send fewer requests at once, or raise ModelSettings.max_retries to wait longer.",
            **kw,
        )
    if status == 408:
        return ModelTimeoutError(f"{subject} timed out answering {handle} (408): {detail}", **kw)
    if status >= 500:
        return ModelUnavailableError(
            f"{subject} failed with {status} for {handle}: {detail} "
            "This is on the provider's side; if it persists, check its status page.",
            **kw,
        )
    if status in (401, 403):
        return ModelBadRequestError(f"{subject} returned {status} for {handle}: {detail} {auth_hint}", **kw)
    if status == 404:
        return ModelBadRequestError(
            f"{subject} returned 404 for {handle}: {detail} Check the model name and the base URL.", **kw
        )
    if overflow:
        return ContextWindowExceededError(
            f"The prompt is too long for {handle} ({where} said: {detail}) "
            "Shorten the message history or the memory blocks.",
            **kw,
        )
    return ModelBadRequestError(
        f"{subject} rejected the request for {handle} ({status}): {detail} Retrying will not help; fix the request.",
        **kw,
    )


def sentence(text: str, limit: int = 500) -> str:
    """`text` trimmed to `limit` characters and ending with a full stop, for use inside a message."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text if text.endswith((".", "!", "?")) else text + "."


def transport_failure(exc: BaseException) -> str | None:
    """ "timeout" or "connection" for an HTTP transport exception (httpx, httpx2, httpcore), else None.

    By class name, so it holds whichever HTTP library the installed SDK uses underneath.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if type(exc).__module__.split(".")[0] not in ("httpx", "httpx2", "httpcore"):
        return None
    if "TimeoutException" in names:
        return "timeout"
    if names & {"TransportError", "RequestError", "NetworkError", "ProtocolError"}:
        return "connection"
    return None


def timed_out(*, where: str, provider: str, model: str, timeout: float) -> ModelTimeoutError:
    return ModelTimeoutError(
        f"{_capitalized(where)} did not answer {provider}/{model} within {timeout:g}s. "
        "Raise ModelSettings.timeout, or check the server is not overloaded.",
        provider=provider,
        model=model,
    )


def unreachable(*, where: str, provider: str, model: str, detail: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"Lost the connection to {where} for {provider}/{model} ({detail}). "
        "Check the base URL and that the server is running.",
        provider=provider,
        model=model,
    )


def unreadable(*, where: str, provider: str, model: str, detail: str) -> ModelResponseError:
    return ModelResponseError(
        f"{_capitalized(where)} answered {provider}/{model} with something that is not a chat completion: {detail}. "
        "Check the base URL points at a compatible API.",
        provider=provider,
        model=model,
    )


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
