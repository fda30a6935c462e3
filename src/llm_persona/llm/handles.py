"""Resolving `provider/model` handles to clients, one per handle, made on first use and kept (so
their connections are reused); `aclose()` closes them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerHandle(Generic[T]):
    """`resolver(handle)`: the client for `handle`, made by `make` the first time it is asked for."""

    def __init__(self, make: Callable[[str], T]) -> None:
        self._make = make
        self._cache: dict[str, T] = {}

    def __call__(self, handle: str) -> T:
        found = self._cache.get(handle)
        if found is None:
            found = self._cache[handle] = self._make(handle)
        return found

    async def aclose(self) -> None:
        """Close every client made so far (those that have connections to close)."""
        made, self._cache = list(self._cache.values()), {}
        for client in made:
            aclose = getattr(client, "aclose", None)
            if aclose is not None:
                await aclose()
