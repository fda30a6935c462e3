"""Cursor paging, checked exhaustively against a reference on every listing that pages."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from llm_persona.store import BlockRecord, PassageRecord, Store, ToolRecord

from .helpers import TENANT, new_agent, say

LIMITS = (None, 0, 1, 2, 6)


def expected(
    ids: Sequence[str], order: str, after: str | None, before: str | None, limit: int | None
) -> list[str]:
    """The documented semantics: cursors are exclusive and meant in the listing order; with only
    `before` and a limit, the items nearest the cursor are kept."""
    listed = list(ids) if order == "asc" else list(reversed(ids))
    lo = listed.index(after) if after is not None else -1
    hi = listed.index(before) if before is not None else len(listed)
    window = [x for i, x in enumerate(listed) if lo < i < hi]
    if limit is None:
        return window
    if before is not None and after is None:
        return window[max(0, len(window) - limit) :]
    return window[:limit]


def check_all(ids: Sequence[str], listing: Callable[..., Sequence[Any]]) -> int:
    """Compare `listing` with `expected` for every order, cursor pair and limit; return the count."""
    cursors: list[str | None] = [None, *ids]
    checked = 0
    for order, after, before, limit in itertools.product(("asc", "desc"), cursors, cursors, LIMITS):
        got = [x.id for x in listing(after=after, before=before, limit=limit, order=order)]
        assert got == expected(ids, order, after, before, limit), (order, after, before, limit)
        checked += 1
    return checked


def test_reference_semantics() -> None:
    ids = ["a", "b", "c", "d"]
    assert expected(ids, "asc", "a", None, 2) == ["b", "c"]
    assert expected(ids, "desc", "d", None, 2) == ["c", "b"]
    assert expected(ids, "asc", None, "d", 2) == ["b", "c"]  # the page just before d
    assert expected(ids, "desc", None, "a", 2) == ["c", "b"]
    assert expected(ids, "asc", "c", "b", None) == []


def test_agents_page_exhaustively(store: Store) -> None:
    ids = [new_agent(store, name=f"a{i}", tags=["even" if i % 2 == 0 else "odd"]).id for i in range(5)]
    assert check_all(ids, lambda **kw: store.list_agents(TENANT, **kw)) == 2 * 36 * len(LIMITS)
    evens = ids[::2]
    check_all(evens, lambda **kw: store.list_agents(TENANT, tags=["even"], **kw))


def test_blocks_tools_passages_steps_and_messages_page_exhaustively(store: Store) -> None:
    agent = new_agent(store)
    blocks = [store.create_block(TENANT, BlockRecord(label=f"b{i}")).id for i in range(3)]
    tools = [store.create_tool(TENANT, ToolRecord(name=f"t{i}")).id for i in range(3)]
    passages = [
        p.id for p in store.insert_passages(TENANT, agent.id, [PassageRecord(text=str(i)) for i in range(3)])
    ]
    messages = [say(store, agent.id, str(i))[0].id for i in range(3)]
    steps = [s.id for s in store.list_steps(TENANT, agent.id)]
    assert len(steps) == 3
    check_all(blocks, lambda **kw: store.list_blocks(TENANT, **kw))
    check_all(tools, lambda **kw: store.list_tools(TENANT, **kw))
    check_all(passages, lambda **kw: store.list_passages(TENANT, agent.id, **kw))
    check_all(steps, lambda **kw: store.list_steps(TENANT, agent.id, **kw))
    check_all(messages, lambda **kw: store.list_messages(TENANT, agent.id, **kw))


def test_paging_walks_every_item_once_in_both_directions(store: Store) -> None:
    ids = [new_agent(store, name=str(i)).id for i in range(7)]
    for order in ("asc", "desc"):
        seen: list[str] = []
        after = None
        while page := store.list_agents(TENANT, after=after, limit=3, order=order):
            seen += [a.id for a in page]
            after = page[-1].id
        listed = ids if order == "asc" else ids[::-1]
        assert seen == listed
        seen, before = [listed[-1]], listed[-1]  # walk back from the last item
        while page := store.list_agents(TENANT, before=before, limit=3, order=order):
            seen = [a.id for a in page] + seen
            before = page[0].id
        assert seen == listed


def test_bad_order_or_limit_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="order must be 'asc' or 'desc'"):
        store.list_agents(TENANT, order="up")
    with pytest.raises(ValueError, match="limit must be 0 or more"):
        store.list_blocks(TENANT, limit=-1)
