"""Grid search: the Cartesian product of every dimension's grid values, in config order.

A conditional dimension branches only the points where its condition holds; elsewhere it is
left out, so a switched-off dimension does not multiply the grid.
"""

from __future__ import annotations

from candle_lib.search.space import Dimension, grid_values, is_active, parse_space


def expand_grid(space: dict | tuple[Dimension, ...]) -> list[dict]:
    """All points of the grid; the last dimension varies fastest."""
    dimensions = parse_space(space)
    columns = [grid_values(d) for d in dimensions]  # checks every dimension before expanding
    points: list[dict] = [{}]
    for dimension, values in zip(dimensions, columns):
        name = dimension.name
        if not dimension.when:
            points = [{**point, name: value} for point in points for value in values]
        else:
            points = [
                extended
                for point in points
                for extended in (
                    [{**point, name: value} for value in values] if is_active(dimension, point) else [point]
                )
            ]
    return points
