"""Grid search: the Cartesian product of listed values, in config order."""

from __future__ import annotations

import itertools

from ..errors import CandleInputError


def expand_grid(space: dict[str, list]) -> list[dict]:
    """All combinations of the space's values; the last key varies fastest."""
    for name, values in space.items():
        if not isinstance(values, list) or not values:
            raise CandleInputError(f"grid dimension '{name}' needs a non-empty list of values", where=f"hpo.space.{name}")
    names = list(space)
    return [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))]
