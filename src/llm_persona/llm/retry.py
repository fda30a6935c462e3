"""Retries: a model wrapper that tries again on retryable `ModelError`s, with backoff and jitter.

`settings.max_retries` of each request says how many times. A stream is retried only if it failed
before yielding anything; after that the error propagates (the agent stops with an error).
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from llm_persona.errors import ModelError
from llm_persona.llm.base import Model
from llm_persona.llm.types import ModelRequest, ModelResponse, StreamEvent


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits about base_delay * 2**n, at most max_delay.

    A provider's Retry-After (seconds) is honoured instead, up to `max_retry_after`.
    """

    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, error: ModelError) -> float:
        """Seconds to wait before retry number `attempt` (0-based) after `error`."""
        hinted = retry_after(error)
        if hinted is not None:
            return min(hinted, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class RetryingModel(Model):
    """Wraps a model so retryable failures are tried again; the handle stays the inner model's."""

    def __init__(self, inner: Model, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.handle = inner.handle
        self.policy = policy or RetryPolicy()

    async def request(self, request: ModelRequest) -> ModelResponse:
        attempt = 0
        while True:
            try:
                return await self.inner.request(request)
            except ModelError as error:
                await self._wait_or_raise(error, attempt, request)
            attempt += 1

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        attempt = 0
        while True:
            started = False
            events = self.inner.stream(request)
            try:
                async for event in events:
                    started = True
                    yield event
                return
            except ModelError as error:
                if started:
                    raise
                await self._wait_or_raise(error, attempt, request)
            finally:
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
            attempt += 1

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def _wait_or_raise(self, error: ModelError, attempt: int, request: ModelRequest) -> None:
        if not error.retryable or attempt >= request.settings.max_retries:
            raise error
        await asyncio.sleep(self.policy.delay(attempt, error))


def retry_after(error: BaseException) -> float | None:
    """The wait the provider asked for (Retry-After / retry-after-ms of the HTTP response), if any.

    Looks at the SDK exception the `ModelError` was raised from; both SDKs keep the response there.
    """
    response = getattr(error.__cause__, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None
