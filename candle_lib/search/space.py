"""Search-space dimensions as written in ``hpo.space``, parsed and checked.

Each entry of ``hpo.space`` is one dimension, in one of three forms:

- a list of values (categorical or ordinal): ``learning_rate: [0.01, 0.05, 0.1]``;
- a range: ``{type: int|float|log, low, high}``; ``log`` is log-uniform over positive floats.
  Random and Bayesian searches draw from the whole range. A grid needs points: ``n`` of them,
  evenly spaced (geometrically for ``log``, rounded for ``int``), or, for ``int`` without ``n``,
  every integer from ``low`` to ``high``;
- either of the above with ``when: {other: value}``: the dimension applies only where the named
  earlier dimension took that value (a list there means any of those values; to match a
  list-valued dimension, nest it: ``{dense: [[32]]}``). Where it does not apply, the point has no
  value for it and the model config's value stands. ``{values: [...]}`` is the list form written
  as a mapping, so that it can carry ``when``.

What a dimension's name means (a hyperparameter, a ``data.`` preparation option, a bundle of
settings, or a switch used only in conditions) is decided by :mod:`candle_lib.search.bindings`;
this module only knows the structure. A point is a dict {dimension name: value} of the
dimensions that apply, in space order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from candle_lib.errors import CandleInputError

RANGE_TYPES = ("int", "float", "log")
ENTRY_KEYS = {"values", "type", "low", "high", "n", "when"}
MAX_INTEGER_GRID = 10_000


@dataclass(frozen=True)
class Dimension:
    name: str
    values: tuple | None = None  # list form
    type: str | None = None  # range form: int, float or log
    low: float | None = None
    high: float | None = None
    n: int | None = None  # grid points of a range
    when: tuple[tuple[str, tuple], ...] = ()  # (dimension, accepted values), all must hold

    @property
    def is_range(self) -> bool:
        return self.values is None

    @property
    def where(self) -> str:
        return f"hpo.space.{self.name}"


def same_value(a, b) -> bool:
    """Equality that keeps booleans apart from numbers (YAML ``true`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


def is_active(dimension: Dimension, point: Mapping) -> bool:
    """Whether the dimension applies, given the values already chosen in ``point``."""
    return all(name in point and any(same_value(point[name], v) for v in accepted) for name, accepted in dimension.when)


def _number(entry: dict, key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        hint = "; YAML reads 1e-3 as text: write 1.0e-3" if isinstance(value, str) else ""
        raise CandleInputError(f"'{key}' must be a finite number, got {value!r}{hint}", where=where)
    return value


def _parse_range(name: str, entry: dict, where: str) -> Dimension:
    kind = entry["type"]
    if kind not in RANGE_TYPES:
        raise CandleInputError(f"range type {kind!r} is not one of {list(RANGE_TYPES)}", where=where)
    low, high = _number(entry, "low", where), _number(entry, "high", where)
    if kind == "int" and not (isinstance(low, int) and isinstance(high, int)):
        raise CandleInputError(f"an int range needs integer low and high, got {low!r} and {high!r}", where=where)
    if low > high:
        raise CandleInputError(f"low {low!r} is above high {high!r}", where=where)
    if kind == "log" and low <= 0:
        raise CandleInputError(f"a log range needs low > 0, got {low!r}", where=where)
    n = entry.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise CandleInputError(f"'n' (grid points) must be a positive integer, got {n!r}", where=where)
    if kind == "int" and n is not None and n > high - low + 1:
        raise CandleInputError(
            f"{n} grid points do not fit in the {high - low + 1} integers of [{low}, {high}]", where=where
        )
    if kind != "int":
        low, high = float(low), float(high)
    return Dimension(name, type=kind, low=low, high=high, n=n)


def _parse_entry(name: str, entry, where: str) -> Dimension:
    if isinstance(entry, list):
        entry = {"values": entry}
    if not isinstance(entry, dict):
        raise CandleInputError(
            f"a dimension is a list of values or a mapping (values, or type/low/high), got {entry!r}", where=where
        )
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise CandleInputError(f"unknown key {unknown[0]!r}; allowed: {sorted(ENTRY_KEYS)}", where=where)
    if ("values" in entry) == ("type" in entry):
        raise CandleInputError("give either 'values' (a list) or a range ('type', 'low', 'high')", where=where)
    if "values" in entry:
        values = entry["values"]
        if not isinstance(values, list) or not values:
            raise CandleInputError(f"grid dimension '{name}' needs a non-empty list of values", where=where)
        if "n" in entry or "low" in entry or "high" in entry:
            raise CandleInputError("'n', 'low' and 'high' belong to ranges, not to a list of values", where=where)
        return Dimension(name, values=tuple(values))
    missing = [key for key in ("low", "high") if key not in entry]
    if missing:
        raise CandleInputError(f"a range needs '{missing[0]}'", where=where)
    return _parse_range(name, entry, where)


def _parse_when(when, where: str, earlier: dict[str, Dimension]) -> tuple:
    if not isinstance(when, dict) or not when:
        raise CandleInputError(
            "'when' must map earlier dimensions to the value(s) that switch this one on", where=where
        )
    conditions = []
    for other, accepted in when.items():
        at = f"{where}.when.{other}"
        if other not in earlier:
            raise CandleInputError(f"'{other}' is not a dimension listed before this one", where=at)
        parent = earlier[other]
        if parent.is_range:
            raise CandleInputError(f"'{other}' is a range; a condition needs a dimension with listed values", where=at)
        accepted = tuple(accepted) if isinstance(accepted, list) else (accepted,)
        for value in accepted:
            if not any(same_value(value, v) for v in parent.values):
                raise CandleInputError(
                    f"{value!r} is not one of the values of '{other}': {list(parent.values)}", where=at
                )
        conditions.append((other, accepted))
    return tuple(conditions)


def parse_space(space) -> tuple[Dimension, ...]:
    """The dimensions of ``hpo.space`` in config order; errors name ``hpo.space.<name>``."""
    if isinstance(space, (tuple, list)) and all(isinstance(d, Dimension) for d in space):
        return tuple(space)
    if not isinstance(space, dict):
        raise CandleInputError("must map dimension names to values or ranges", where="hpo.space")
    dimensions: dict[str, Dimension] = {}
    for name, entry in space.items():
        where = f"hpo.space.{name}"
        dimension = _parse_entry(name, entry, where)
        if isinstance(entry, dict) and "when" in entry:
            dimension = replace(dimension, when=_parse_when(entry["when"], where, dimensions))
        dimensions[name] = dimension
    return tuple(dimensions.values())


def _clean(x: float) -> float:
    """12 significant digits, so that grid points read 1e-05 rather than 9.999999999999999e-06."""
    return float(f"{x:.12g}")


def grid_values(dimension: Dimension) -> tuple:
    """The values a grid takes along one dimension."""
    if not dimension.is_range:
        return dimension.values
    low, high, n = dimension.low, dimension.high, dimension.n
    if dimension.type == "int":
        if n is None:
            if high - low + 1 > MAX_INTEGER_GRID:
                raise CandleInputError(
                    f"a grid over {high - low + 1} integers: give 'n' (grid points)", where=dimension.where
                )
            return tuple(range(low, high + 1))
        points = np.rint(np.linspace(low, high, n)).astype(int)
        return tuple(dict.fromkeys(int(p) for p in points))
    if n is None:
        raise CandleInputError(
            f"a grid over a {dimension.type} range needs 'n' (number of grid points)", where=dimension.where
        )
    if n == 1:
        return (_clean(low),)
    if dimension.type == "log":
        return tuple(_clean(math.exp(x)) for x in np.linspace(math.log(low), math.log(high), n))
    return tuple(_clean(x) for x in np.linspace(low, high, n))


def sample_value(dimension: Dimension, rng: np.random.Generator) -> Any:
    """One value drawn uniformly (log-uniformly for ``log``) from the dimension."""
    if not dimension.is_range:
        return dimension.values[int(rng.integers(len(dimension.values)))]
    if dimension.type == "int":
        return int(rng.integers(dimension.low, dimension.high + 1))
    if dimension.type == "log":
        return float(
            min(
                dimension.high,
                max(dimension.low, math.exp(rng.uniform(math.log(dimension.low), math.log(dimension.high)))),
            )
        )
    return float(rng.uniform(dimension.low, dimension.high))
