"""`anthropic/<model>`: the Messages API through the official `anthropic` SDK.

The key and base URL come from `api_key` / `base_url` or ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL,
as the SDK reads them. The SDK's own retries are off; `RetryingModel` retries.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from llm_persona.errors import ModelBadRequestError, ModelError
from llm_persona.llm import failures
from llm_persona.llm._sdk import as_json
from llm_persona.llm.anthropic_wire import StreamAccumulator, messages_params, parse_message
from llm_persona.llm.base import Model
from llm_persona.llm.types import ModelRequest, ModelResponse, ResponseDone, StreamEvent

_AUTH_HINT = "Set ANTHROPIC_API_KEY (or pass api_key=...)."
# An error event inside a 200 stream names its kind, not a status; these are the statuses it stands for.
_STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class AnthropicModel(Model):
    """A Claude model served over Anthropic's Messages API."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None) -> None:
        self.model = model
        self.provider = "anthropic"
        self.handle = f"anthropic/{model}"
        self._base_url = base_url
        self._api_key = api_key
        self._client: anthropic.AsyncAnthropic | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    async def request(self, request: ModelRequest) -> ModelResponse:
        messages: Any = self._connect().messages
        try:
            message = await messages.create(
                **messages_params(request, self.model), timeout=request.settings.timeout
            )
            return parse_message(as_json(message), fallback_model=self.model)
        except anthropic.AnthropicError as exc:
            raise self._map_error(exc, request.settings.timeout) from exc
        except TypeError as exc:  # how the SDK says it found no credentials
            if "authentication" not in str(exc):
                raise
            raise self._no_credentials() from exc
        except ValueError as exc:
            raise self._unreadable(exc) from exc

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        params = {**messages_params(request, self.model), "stream": True}
        messages: Any = self._connect().messages
        timeout = request.settings.timeout
        try:
            server_events = await messages.create(**params, timeout=timeout)
        except anthropic.AnthropicError as exc:
            raise self._map_error(exc, timeout) from exc
        except TypeError as exc:  # how the SDK says it found no credentials
            if "authentication" not in str(exc):
                raise
            raise self._no_credentials() from exc
        accumulator = StreamAccumulator(fallback_model=self.model)
        try:
            iterator = aiter(server_events)
            while True:
                try:
                    events = accumulator.feed(as_json(await anext(iterator)))
                except StopAsyncIteration:
                    break
                except anthropic.AnthropicError as exc:
                    raise self._map_error(exc, timeout) from exc
                except ValueError as exc:
                    raise self._unreadable(exc) from exc
                except Exception as exc:  # the SDK lets transport errors through mid-stream
                    error = self._transport_error(exc, timeout)
                    if error is None:
                        raise
                    raise error from exc
                for event in events:
                    yield event
        finally:
            await server_events.close()
        if not accumulator.finished:
            raise failures.unreachable(
                where=self._where(),
                provider=self.provider,
                model=self.model,
                detail="the stream ended before the model finished its reply",
            )
        yield ResponseDone(accumulator.response())

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.close()

    def _connect(self) -> anthropic.AsyncAnthropic:
        """The SDK client for the running event loop (connections cannot move between loops)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key, base_url=self._base_url, max_retries=0
            )
            self._client_loop = loop
        return self._client

    def _where(self) -> str:
        if self._client is None or self._client.base_url.host == "api.anthropic.com":
            return "Anthropic"
        return f"the Anthropic-compatible server at {str(self._client.base_url).rstrip('/')}"

    def _unreadable(self, exc: Exception) -> ModelError:
        detail = f"the body is not JSON ({exc})" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return failures.unreadable(
            where=self._where(), provider=self.provider, model=self.model, detail=detail
        )

    def _no_credentials(self) -> ModelError:
        return ModelBadRequestError(
            f"No credentials for {self.handle}. {_AUTH_HINT}", provider=self.provider, model=self.model
        )

    def _transport_error(self, exc: Exception, timeout: float) -> ModelError | None:
        """The error for an HTTP transport failure, or None if `exc` is something else."""
        kind = failures.transport_failure(exc)
        where, provider, model = self._where(), self.provider, self.model
        if kind == "timeout":
            return failures.timed_out(where=where, provider=provider, model=model, timeout=timeout)
        if kind == "connection":
            detail = str(exc) or type(exc).__name__
            return failures.unreachable(where=where, provider=provider, model=model, detail=detail)
        return None

    def _map_error(self, exc: anthropic.AnthropicError, timeout: float) -> ModelError:
        where, provider, model = self._where(), self.provider, self.model
        if isinstance(exc, anthropic.APITimeoutError):
            return failures.timed_out(where=where, provider=provider, model=model, timeout=timeout)
        if isinstance(exc, anthropic.APIConnectionError):
            detail = str(exc.__cause__ or exc) or type(exc.__cause__).__name__
            return failures.unreachable(where=where, provider=provider, model=model, detail=detail)
        if isinstance(exc, anthropic.APIResponseValidationError):
            return self._unreadable(exc)
        if isinstance(exc, anthropic.APIError):
            detail, kind = _detail(exc)
            status = getattr(exc, "status_code", 200)
            if status < 400:  # an error event in the middle of a stream
                status = _STATUS_BY_TYPE.get(kind, 500)
            return failures.for_status(
                status, detail, where=where, provider=provider, model=model, auth_hint=_AUTH_HINT
            )
        return ModelBadRequestError(
            f"The Anthropic SDK refused the request for {self.handle}: {failures.sentence(str(exc))} {_AUTH_HINT}",
            provider=provider,
            model=model,
        )


def _detail(exc: anthropic.APIError) -> tuple[str, str]:
    """The provider's explanation and error type, from a body like {"error": {"type", "message"}}."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or exc.message), str(error.get("type") or "")
    if isinstance(body, str) and body.strip():
        return body, ""
    return exc.message, ""
