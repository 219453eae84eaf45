"""Reading JSON that others wrote: one strict reader, and a depth measure.

``json.loads`` keeps the last of repeated keys, other readers the first: a file
with both could show a person one value while a signature or hash covers
another. Such a file is refused, not interpreted; so are NaN and Infinity.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (it has no JSON form)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKeyError(
                f'the file repeats the key "{key}" in one object (a duplicate key)'
            )
        document[key] = value
    return document


def loads_strict(data: bytes | str) -> Any:
    """JSON (UTF-8 when bytes) with no repeated keys and no NaN/Infinity;
    ValueError otherwise (DuplicateKeyError for a repeated key)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


def load_json_object(
    data: bytes | str, *, error: type[Exception], subject: str, kind: str
) -> dict[str, Any]:
    """The JSON object in ``data``, read strictly; ``error`` naming what is wrong
    otherwise (``subject`` is "the file", ``kind`` what it should have been)."""
    try:
        document = loads_strict(data)
    except DuplicateKeyError as problem:
        raise error(f"{problem}; it cannot be trusted") from problem
    except (UnicodeDecodeError, ValueError) as problem:
        raise error(f"{subject} is not valid UTF-8 JSON: {problem}") from problem
    except RecursionError:
        raise error(f"{subject} is nested too deeply to be {kind}") from None
    if not isinstance(document, dict):
        raise error(f"{subject} is not a JSON object")
    return document


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes (0 for a scalar), counted
    without recursion so that any depth can be measured."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
