"""Checking plain data (outbox payloads, live messages) against the TypedDict that is its schema.

Each context declares its events' schemas as TypedDicts in its own events
module (orders/events.py, kitchen/events.py, restaurant/sockets.py for the
socket's own replies); tests check what is recorded and sent against them.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict


def schema_errors(value: Any, schema: Any, where: str = "$") -> list[str]:
    """What in `value` does not fit `schema`: missing or unknown keys, wrong types. Empty if it fits."""
    if is_typeddict(schema):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        hints = get_type_hints(schema)
        errors = [f"{where}.{key}: missing" for key in sorted(schema.__required_keys__ - value.keys())]
        errors += [f"{where}.{key}: not in the schema" for key in sorted(value.keys() - hints.keys())]
        for key, item in value.items():
            if key in hints:
                errors += schema_errors(item, hints[key], f"{where}.{key}")
        return errors
    origin = get_origin(schema)
    if origin is Literal:
        return [] if value in get_args(schema) else [f"{where}: {value!r} is not one of {get_args(schema)}"]
    if origin in (Union, types.UnionType):
        fits = any(not schema_errors(value, option, where) for option in get_args(schema))
        return [] if fits else [f"{where}: {value!r} fits none of {schema}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        (item_schema,) = get_args(schema)
        return [e for i, item in enumerate(value) for e in schema_errors(item, item_schema, f"{where}[{i}]")]
    if schema is None or schema is type(None):
        return [] if value is None else [f"{where}: expected null, got {value!r}"]
    if schema is int:
        fits = isinstance(value, int) and not isinstance(value, bool)
    else:
        fits = isinstance(value, schema)
    return [] if fits else [f"{where}: expected {schema.__name__}, got {value!r}"]
