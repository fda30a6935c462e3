"""Checking a tool call's arguments against the tool's JSON schema, with a validator per schema.

`jsonschema.validate()` checks the schema itself and builds a validator on every call (~1.4 ms);
a cached validator checks a call's arguments in ~25 µs.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from llm_persona.agents.memory import ToolError


def check_arguments(tool: str, args: dict[str, Any], schema: dict[str, Any]) -> None:
    """Raise ToolError (which the model sees) if `args` do not fit the tool's `parameters` schema."""
    import jsonschema  # on the first tool call: a server that never runs one does not hold it (~5 MiB)
    from jsonschema.exceptions import best_match

    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
    except jsonschema.SchemaError as exc:
        raise ToolError(
            f"Tool `{tool}` cannot be called: its parameters schema is invalid ({exc.message}). "
            "Fix the tool's json_schema."
        ) from exc
    error = best_match(validator.iter_errors(args))
    if error is not None:
        raise ToolError(f"Bad arguments for `{tool}`: {error.message}.")


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    import jsonschema

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)  # SchemaError for a schema that is not one (not cached: raised)
    return cls(schema)
