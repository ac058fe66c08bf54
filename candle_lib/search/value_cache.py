"""Memoization by value for planning: a plan of 10^4 points reuses a few dozen values."""

from __future__ import annotations

from collections.abc import Callable

from candle_lib.params.specs import canonical_json


def content_key(value):
    """A hashable key that keeps 1, 1.0 and True apart and compares lists and dicts by content."""
    if value is None or isinstance(value, (str, int, float)):
        return type(value), value
    return "json", canonical_json(value)


class ValueCache:
    """``compute(name, value)``, once per distinct (name, value). Lists and dicts are looked up
    by identity first (grid points share their value objects), then by canonical content."""

    def __init__(self, compute: Callable):
        self._compute = compute
        self._by_content: dict = {}
        self._by_identity: dict = {}

    def __call__(self, name: str, value):
        scalar = value is None or isinstance(value, (str, int, float))
        if not scalar:
            hit = self._by_identity.get((name, id(value)))
            if hit is not None and hit[0] is value:
                return hit[1]
        key = (name, content_key(value))
        if key in self._by_content:
            result = self._by_content[key]
        else:
            result = self._by_content[key] = self._compute(name, value)
        if not scalar:
            self._by_identity[(name, id(value))] = (value, result)  # holds value: its id stays unique
        return result
