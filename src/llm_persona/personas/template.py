"""`{variable}` templates: `{identifier}` is a placeholder, `{{` and `}}` are literal braces, and any
other brace (a JSON example, `{ spaced }`, `{0}`) is plain text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: What to do with a placeholder that has no value: raise, leave `{name}` in the text, or drop it.
MissingPolicy = Literal["error", "keep", "empty"]


@lru_cache(maxsize=65536)
def placeholders(text: str) -> tuple[str, ...]:
    """The variable names `text` uses, in order of first use."""
    if "{" not in text:
        return ()
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(text):
        name = match.group(1)
        if name is not None:
            seen.setdefault(name, None)
    return tuple(seen)


def render(text: str, values: Mapping[str, object], missing: MissingPolicy = "error") -> str:
    """Fill the placeholders of `text` from `values`.

    With `missing="error"` the caller must have checked `placeholders(text)` against `values` first;
    a name still missing here raises `KeyError`.
    """
    if "{" not in text and "}" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name in values:
            return str(values[name])
        if missing == "keep":
            return token
        if missing == "empty":
            return ""
        raise KeyError(name)

    return _TOKEN.sub(replace, text)
