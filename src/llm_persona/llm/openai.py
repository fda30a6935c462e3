"""`openai/<model>`: chat completions through the official `openai` SDK.

Also any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio): pass `base_url`, or set
OPENAI_BASE_URL. The key comes from `api_key` or OPENAI_API_KEY, exactly as the SDK reads them.
The SDK's own retries are off; `RetryingModel` retries once, for every provider alike.

Requests go through the SDK client's `post()` with the JSON body `openai_wire` built: the SDK's
typed `chat.completions.create()` re-walks every message of the body against its TypedDicts, which
costs about 0.15 ms a message (60 ms for a 400-message history) and adds nothing to a plain dict.

The SDK runs on its aiohttp transport (`openai[aiohttp]`): about 0.8 ms of CPU per call here,
against 1.5 ms on its default httpx transport, whose connection pool probes every idle connection's
socket on each request (costly with hundreds of calls in flight).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from llm_persona.errors import ModelBadRequestError, ModelError
from llm_persona.llm import failures
from llm_persona.llm._sdk import as_json
from llm_persona.llm.base import Model
from llm_persona.llm.openai_wire import StreamAccumulator, chat_params, parse_completion
from llm_persona.llm.types import ModelRequest, ModelResponse, ResponseDone, StreamEvent

_OPENAI_HOST = "api.openai.com"


class OpenAIModel(Model):
    """A chat model served over the OpenAI chat-completions API.

    `max_tokens_field` is the request field that carries `ModelSettings.max_tokens`: OpenAI wants
    "max_completion_tokens"; some older compatible servers only know "max_tokens".
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        provider: str = "openai",
        max_tokens_field: str = "max_completion_tokens",
    ) -> None:
        self.model = model
        self.provider = provider
        self.handle = f"{provider}/{model}"
        self.max_tokens_field = max_tokens_field
        self._base_url = base_url
        self._api_key = api_key
        self._client: openai.AsyncOpenAI | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    async def request(self, request: ModelRequest) -> ModelResponse:
        params = chat_params(request, self.model, max_tokens_field=self.max_tokens_field)
        try:
            raw = await self._connect().post(
                "/chat/completions",
                cast_to=httpx2.Response,
                body=params,
                options={"timeout": request.settings.timeout},
            )
            data = raw.json()  # a body that is not JSON raises ValueError
            return parse_completion(data, fallback_model=self.model)
        except openai.OpenAIError as exc:
            raise self._map_error(exc, request.settings.timeout) from exc
        except ValueError as exc:  # not JSON, or JSON that is not a chat completion
            raise self._unreadable(exc) from exc

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        params = chat_params(request, self.model, max_tokens_field=self.max_tokens_field)
        params.update(stream=True, stream_options={"include_usage": True})
        try:
            chunks = await self._connect().post(
                "/chat/completions",
                cast_to=ChatCompletion,
                body=params,
                options={"timeout": request.settings.timeout},
                stream=True,
                stream_cls=openai.AsyncStream[ChatCompletionChunk],
            )
        except openai.OpenAIError as exc:
            raise self._map_error(exc, request.settings.timeout) from exc
        accumulator = StreamAccumulator(fallback_model=self.model)
        try:
            iterator = aiter(chunks)
            while True:
                try:
                    chunk = await anext(iterator)
                    events = accumulator.feed(as_json(chunk))
                except StopAsyncIteration:
                    break
                except openai.OpenAIError as exc:
                    raise self._map_error(exc, request.settings.timeout) from exc
                except ValueError as exc:
                    raise self._unreadable(exc) from exc
                for event in events:
                    yield event
        finally:
            await chunks.close()
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

    def _connect(self) -> openai.AsyncOpenAI:
        """The SDK client for the running event loop (connections cannot move between loops)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            try:
                self._client = openai.AsyncOpenAI(
                    api_key=self._api_key,
                    base_url=self._base_url,
                    max_retries=0,
                    http_client=openai.DefaultAioHttpClient(),
                )
            except openai.OpenAIError as exc:
                raise ModelBadRequestError(
                    f"Cannot call {self.handle}: {failures.sentence(str(exc))} {self._auth_hint()}",
                    provider=self.provider,
                    model=self.model,
                ) from exc
            self._client_loop = loop
        return self._client

    def _where(self) -> str:
        if self._client is None:
            return "the server"
        url = self._client.base_url
        if self.provider == "openai" and url.host == _OPENAI_HOST:
            return "OpenAI"
        return f"the OpenAI-compatible server at {str(url).rstrip('/')}"

    def _auth_hint(self) -> str:
        if self.provider == "openai":
            return "Set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)."
        return f"Pass api_key= to get_model({self.handle!r}, ...) if the server needs a key."

    def _unreadable(self, exc: Exception) -> ModelError:
        detail = f"the body is not JSON ({exc})" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return failures.unreadable(
            where=self._where(), provider=self.provider, model=self.model, detail=detail
        )

    def _map_error(self, exc: openai.OpenAIError, timeout: float) -> ModelError:
        where, provider, model = self._where(), self.provider, self.model
        if isinstance(exc, openai.APITimeoutError) and _waited_too_long(exc):
            return failures.timed_out(where=where, provider=provider, model=model, timeout=timeout)
        if isinstance(exc, openai.APIConnectionError):
            cause = _root_cause(exc)
            detail = str(cause) or type(cause).__name__
            return failures.unreachable(where=where, provider=provider, model=model, detail=detail)
        if isinstance(exc, openai.APIStatusError):
            return failures.for_status(
                exc.status_code,
                _detail(exc),
                where=where,
                provider=provider,
                model=model,
                auth_hint=self._auth_hint(),
            )
        if isinstance(exc, openai.APIResponseValidationError):
            return self._unreadable(exc)
        if isinstance(exc, openai.APIError):  # an error event in the middle of a stream
            return failures.for_status(
                500, _detail(exc), where=where, provider=provider, model=model, auth_hint=self._auth_hint()
            )
        return ModelBadRequestError(
            f"The OpenAI SDK refused the request for {self.handle}: {failures.sentence(str(exc))}",
            provider=provider,
            model=model,
        )


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc`, then what it was raised from, and so on."""
    chain = [exc]
    while chain[-1].__cause__ is not None:
        chain.append(chain[-1].__cause__)
    return chain


def _root_cause(exc: BaseException) -> BaseException:
    return _causes(exc)[-1]


def _waited_too_long(exc: openai.APITimeoutError) -> bool:
    """True if a timer ran out. The aiohttp transport also reports a connection the server dropped
    as a timeout; only an exception chain holding a TimeoutError is one."""
    return any(isinstance(cause, TimeoutError) for cause in _causes(exc))


def _detail(exc: openai.APIError) -> str:
    """The provider's own explanation: the error body's message and code, else the SDK's message."""
    body = exc.body
    if isinstance(body, dict):
        message = str(body.get("message") or exc.message)
        code = body.get("code")
        return f"{message} ({code})" if code and str(code) not in message else message
    if isinstance(body, str) and body.strip():
        return body
    return exc.message
