"""Validating persona files (placeholder)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from llm_persona.errors import Problem


def validate_file(path: str | os.PathLike[str], *, known: Iterable[str] = ()) -> list[Problem]:
    return []
