"""Plumbing shared by the providers that sit on an official SDK."""

from __future__ import annotations

from typing import Any


def as_json(obj: object) -> dict[str, Any]:
    """An SDK response object (or the raw dict) as plain JSON data; ValueError if it is no JSON object.

    The SDKs build their objects without validation, so a strange answer arrives as a strange object
    (or as the raw text); the wire parsers check the shapes they read.
    """
    if isinstance(obj, dict):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is None:
        raise ValueError(f"not a JSON object: {obj!r:.200}")
    data = to_dict(warnings=False)
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object: {obj!r:.200}")
    return data
