"""Store errors that `llm_persona.errors` has no class for yet.

The not-found errors belong in `llm_persona.errors` beside BlockNotFoundError (the store only imports
from there); until they move, they are defined here with the same shape: an AgentError that is also a
LookupError. `UnstorableValueError` is a StoreError that is also a ValueError: the caller's value is
at fault, not the database.
"""

from __future__ import annotations

from llm_persona.errors import AgentError, StoreError


class _NotFound(AgentError, LookupError):
    def __str__(self) -> str:  # LookupError would quote the message like a KeyError; keep it readable
        return str(self.args[0]) if self.args else ""


class MessageNotFoundError(_NotFound):
    """Unknown message id (for this agent and tenant)."""


class PassageNotFoundError(_NotFound):
    """Unknown archival passage id (for this agent and tenant)."""


class StepNotFoundError(_NotFound):
    """Unknown step id (for this tenant)."""


class UnstorableValueError(StoreError, ValueError):
    """The database cannot hold a value it was given (a number out of its range, a date past year
    9999 in UTC, a NUL character in text on PostgreSQL); nothing was written."""
