"""Search-space parsing, grid values of ranges, conditional grids and the seeded random stream.
Expected values are written out by hand or recomputed with numpy directly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from candle_lib.errors import CandleInputError
from candle_lib.search.grid import expand_grid
from candle_lib.search.random_search import random_points
from candle_lib.search.space import grid_values, is_active, parse_space, same_value

CONDITIONAL = {
    "dropout_on": [False, True],
    "dropout": {"values": [0.2, 0.5], "when": {"dropout_on": True}},
    "learning_rate": [0.01, 0.1],
}


def dimension(space: dict, name: str):
    return {d.name: d for d in parse_space(space)}[name]


# --------------------------------------------------------------------------- parsing


def test_list_and_values_mapping_are_the_same_dimension():
    assert parse_space({"a": [1, 2]}) == parse_space({"a": {"values": [1, 2]}})


@pytest.mark.parametrize(
    "entry, message",
    [
        ([], "non-empty list"),
        ({"values": []}, "non-empty list"),
        (0.1, "a list of values or a mapping"),
        ({"values": [1], "type": "int", "low": 0, "high": 1}, "either 'values'"),
        ({"type": "int", "low": 0}, "needs 'high'"),
        ({"type": "normal", "low": 0, "high": 1}, "range type 'normal'"),
        ({"type": "float", "low": 2.0, "high": 1.0}, "low 2.0 is above high 1.0"),
        ({"type": "log", "low": 0.0, "high": 1.0}, "low > 0"),
        ({"type": "int", "low": 0.5, "high": 3}, "integer low and high"),
        ({"type": "float", "low": "1e-3", "high": 1.0}, "write 1.0e-3"),
        ({"type": "int", "low": 1, "high": 3, "n": 4}, "4 grid points do not fit"),
        ({"type": "float", "low": 0.0, "high": 1.0, "n": 0}, "positive integer"),
        ({"values": [1], "n": 2}, "belong to ranges"),
        ({"values": [1], "step": 2}, "unknown key 'step'"),
    ],
)
def test_bad_entries_name_the_key(entry, message):
    with pytest.raises(CandleInputError, match=message) as error:
        parse_space({"learning_rate": [0.1], "l2": entry})
    assert str(error.value).startswith("hpo.space.l2")


def test_when_must_name_an_earlier_listed_dimension():
    with pytest.raises(
        CandleInputError, match=r"hpo\.space\.dropout\.when\.dropout_on: 'dropout_on' is not a dimension listed before"
    ):
        parse_space({"dropout": {"values": [0.5], "when": {"dropout_on": True}}, "dropout_on": [False, True]})
    with pytest.raises(CandleInputError, match=r"hpo\.space\.dropout\.when\.rate: 'rate' is a range"):
        parse_space(
            {"rate": {"type": "float", "low": 0.0, "high": 1.0}, "dropout": {"values": [0.5], "when": {"rate": 0.5}}}
        )


def test_when_value_must_be_one_of_the_parent_values():
    with pytest.raises(
        CandleInputError, match=r"hpo\.space\.dropout\.when\.dropout_on: 'true' is not one of the values"
    ):
        parse_space({"dropout_on": [False, True], "dropout": {"values": [0.5], "when": {"dropout_on": "true"}}})
    with pytest.raises(CandleInputError, match="1 is not one of the values"):  # 1 is not true
        parse_space({"dropout_on": [False, True], "dropout": {"values": [0.5], "when": {"dropout_on": 1}}})


def test_same_value_keeps_booleans_apart_from_numbers():
    assert same_value(True, True) and same_value(1, 1.0) and same_value([32], [32])
    assert not same_value(True, 1) and not same_value(0, False) and not same_value([1], [True])
    assert same_value({"a": 1}, {"a": 1.0}) and not same_value({"a": 1}, {"a": True})


def test_is_active_with_a_list_of_accepted_values():
    space = {
        "optimizer": ["sgd", "adam", "rmsprop"],
        "learning_rate": {"values": [0.1], "when": {"optimizer": ["sgd", "rmsprop"]}},
    }
    lr = dimension(space, "learning_rate")
    assert [is_active(lr, {"optimizer": o}) for o in ("sgd", "adam", "rmsprop")] == [True, False, True]
    assert not is_active(lr, {})


# --------------------------------------------------------------------------- grid values


def test_grid_values_of_ranges():
    assert grid_values(dimension({"x": {"type": "int", "low": 2, "high": 5}}, "x")) == (2, 3, 4, 5)
    assert grid_values(dimension({"x": {"type": "int", "low": 0, "high": 10, "n": 3}}, "x")) == (0, 5, 10)
    assert grid_values(dimension({"x": {"type": "float", "low": 0.0, "high": 1.0, "n": 5}}, "x")) == (
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
    )
    assert grid_values(dimension({"x": {"type": "float", "low": 0.1, "high": 0.3, "n": 3}}, "x")) == (0.1, 0.2, 0.3)
    assert grid_values(dimension({"x": {"type": "log", "low": 1.0e-6, "high": 1.0e-3, "n": 4}}, "x")) == (
        1e-6,
        1e-5,
        1e-4,
        1e-3,
    )
    assert grid_values(dimension({"x": {"type": "log", "low": 0.01, "high": 1.0, "n": 1}}, "x")) == (0.01,)


def test_grid_of_a_float_range_needs_n():
    with pytest.raises(CandleInputError, match=r"hpo\.space\.l2: a grid over a log range needs 'n'"):
        expand_grid({"l2": {"type": "log", "low": 1e-6, "high": 1e-3}})


def test_grid_of_a_huge_integer_range_needs_n():
    with pytest.raises(CandleInputError, match=r"hpo\.space\.batch_size: a grid over 100000 integers"):
        expand_grid({"batch_size": {"type": "int", "low": 1, "high": 100000}})


# --------------------------------------------------------------------------- conditional grids


def test_conditional_grid_branches_only_where_the_condition_holds():
    assert expand_grid(CONDITIONAL) == [
        {"dropout_on": False, "learning_rate": 0.01},
        {"dropout_on": False, "learning_rate": 0.1},
        {"dropout_on": True, "dropout": 0.2, "learning_rate": 0.01},
        {"dropout_on": True, "dropout": 0.2, "learning_rate": 0.1},
        {"dropout_on": True, "dropout": 0.5, "learning_rate": 0.01},
        {"dropout_on": True, "dropout": 0.5, "learning_rate": 0.1},
    ]


def test_a_condition_on_a_switched_off_dimension_is_false():
    space = {
        "a": ["x", "y"],
        "b": {"values": [1, 2], "when": {"a": "y"}},
        "c": {"values": [True], "when": {"b": 2}},
    }
    assert expand_grid(space) == [{"a": "x"}, {"a": "y", "b": 1}, {"a": "y", "b": 2, "c": True}]


def test_grid_mixes_ranges_and_lists():
    points = expand_grid(
        {"units": {"type": "int", "low": 1, "high": 2}, "l2": {"type": "log", "low": 1e-4, "high": 1e-2, "n": 3}}
    )
    assert points == [{"units": u, "l2": reg} for u in (1, 2) for reg in (1e-4, 1e-3, 1e-2)]


# --------------------------------------------------------------------------- random stream


def take(stream, n):
    return [next(stream) for _ in range(n)]


def test_random_stream_replays_numpy_draws_in_config_order():
    space = {
        "a": [10, 20, 30],
        "b": {"type": "float", "low": -1.0, "high": 1.0},
        "c": {"type": "int", "low": 3, "high": 5},
        "d": {"type": "log", "low": 1e-4, "high": 1.0},
    }
    rng = np.random.default_rng(5)
    expected = []
    for _ in range(3):
        a = [10, 20, 30][int(rng.integers(3))]
        b = float(rng.uniform(-1.0, 1.0))
        c = int(rng.integers(3, 6))
        d = math.exp(rng.uniform(math.log(1e-4), math.log(1.0)))
        expected.append({"a": a, "b": b, "c": c, "d": d})
    assert take(random_points(space, 5), 3) == expected


def test_random_stream_is_reproducible_and_seed_dependent():
    space = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "k": [1, 2, 3]}
    assert take(random_points(space, 1), 20) == take(random_points(space, 1), 20)
    assert take(random_points(space, 1), 20) != take(random_points(space, 2), 20)


def test_random_ranges_stay_inside_and_reach_both_integer_ends():
    space = {"n": {"type": "int", "low": 1, "high": 3}, "lr": {"type": "log", "low": 1e-5, "high": 1e-1}}
    points = take(random_points(space, 0), 300)
    assert {p["n"] for p in points} == {1, 2, 3}
    assert all(1e-5 <= p["lr"] <= 1e-1 for p in points)
    assert all(type(p["n"]) is int and type(p["lr"]) is float for p in points)
    decades = np.floor(np.log10([p["lr"] for p in points]))
    assert set(decades) == {-5.0, -4.0, -3.0, -2.0}  # log-uniform: every decade is drawn


def test_random_conditional_dimension_is_absent_when_switched_off():
    points = take(random_points(CONDITIONAL, 3), 200)
    assert all(("dropout" in p) == p["dropout_on"] for p in points)
    assert {p["dropout_on"] for p in points} == {False, True}
