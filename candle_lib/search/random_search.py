"""Seeded random search: a reproducible stream of points drawn from the space.

Dimensions are drawn in config order from one ``numpy`` generator seeded by ``hpo.seed``;
a conditional dimension that does not apply draws nothing. The stream for a seed never
changes, so asking for more trials keeps the first ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from candle_lib.search.space import Dimension, is_active, parse_space, sample_value


def random_points(space: dict | tuple[Dimension, ...], seed: int) -> Iterator[dict]:
    """An endless, reproducible stream of points (duplicates possible in small spaces)."""
    dimensions = parse_space(space)
    rng = np.random.default_rng(seed)
    while True:
        point: dict = {}
        for dimension in dimensions:
            if is_active(dimension, point):
                point[dimension.name] = sample_value(dimension, rng)
        yield point
