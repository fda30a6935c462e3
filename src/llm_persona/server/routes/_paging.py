"""Cursor paging in memory, for lists the store returns whole (an agent's blocks and tools, the
agents holding a block) or filters the store cannot apply.

Same contract as the store's paging (`store.base.page`): `after` and `before` are ids of listed
items, exclusive, meant in the listing order; with only `before` and a limit, the `limit` items
nearest the cursor are kept. A cursor may be any item of the unfiltered list (as in the store, where
filters do not apply to cursors); an id that is not in it is the caller's not-found error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, TypeAlias, TypeVar

Order: TypeAlias = Literal["asc", "desc"]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def page_items(
    items: Sequence[T],
    *,
    after: str | None,
    before: str | None,
    limit: int | None,
    order: Order,
    not_found: Callable[[str], Exception],
    keep: Callable[[T], bool] | None = None,
) -> list[T]:
    """One page of `items` (given oldest first) listed in `order`, keeping only the items `keep`
    accepts (asked only until the page is full)."""
    listed = list(items) if order == "asc" else list(reversed(items))
    position = {item.id: i for i, item in enumerate(listed)}

    def index(cursor: str) -> int:
        if cursor not in position:
            raise not_found(cursor)
        return position[cursor]

    start = index(after) + 1 if after is not None else 0
    end = index(before) if before is not None else len(listed)
    window = listed[start:end]
    nearest_before = before is not None and after is None and limit is not None
    if nearest_before:
        window.reverse()
    page: list[T] = []
    for item in window:
        if limit is not None and len(page) >= limit:
            break
        if keep is None or keep(item):
            page.append(item)
    if nearest_before:
        page.reverse()
    return page
