"""Bayesian rounds through Optuna ask/tell: deterministic given seed and history, failures told
as FAIL, known points never proposed again, rounds planned from configs and metrics files."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import optuna
import pytest
import yaml

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.search.bayesian import _replayed, distribution, encode, suggest_points
from candle_lib.search.grid import expand_grid
from candle_lib.search.methods import data_variants, plan_hpo, plan_round, round_history
from candle_lib.search.objective import objective_value
from candle_lib.search.space import parse_space

REPO = Path(__file__).resolve().parents[3]

SPACE = {
    "learning_rate": {"type": "log", "low": 1.0e-4, "high": 1.0e-1},
    "dense": [[16], [32], [64, 16]],
    "dropout_on": [False, True],
    "dropout": {"type": "float", "low": 0.1, "high": 0.6, "when": {"dropout_on": True}},
    "batch_size": {"type": "int", "low": 8, "high": 64},
}


def toy(point) -> float:
    """A smooth objective with its minimum near lr 1e-2, dense [32], dropout 0.3."""
    lr = math.log10(point["learning_rate"])
    width = {16: 0, 32: 1, 64: 2}[point["dense"][0]]
    dropout = point.get("dropout", 0.0)
    return (lr + 2) ** 2 + 0.5 * (width - 1) ** 2 + (dropout - 0.3) ** 2 + 0.001 * point["batch_size"]


def rounds(space, seed, n_rounds, per_round, objective=toy, fail=lambda r, i: False):
    history = []
    for r in range(n_rounds):
        for i, point in enumerate(
            suggest_points(space, round_index=r, seed=seed, n_proposals=per_round, history=history)
        ):
            history.append((point, None if fail(r, i) else objective(point)))
    return history


# --------------------------------------------------------------------------- determinism


def test_same_space_round_seed_and_history_give_the_same_points():
    history = rounds(SPACE, seed=11, n_rounds=2, per_round=3)
    first = suggest_points(SPACE, round_index=2, seed=11, n_proposals=3, history=history)
    again = suggest_points(SPACE, round_index=2, seed=11, n_proposals=3, history=list(history))
    assert first == again and len(first) == 3
    assert rounds(SPACE, seed=11, n_rounds=3, per_round=3) == rounds(SPACE, seed=11, n_rounds=3, per_round=3)


def test_seed_round_and_history_each_change_the_points():
    history = rounds(SPACE, seed=11, n_rounds=2, per_round=3)
    base = suggest_points(SPACE, round_index=2, seed=11, n_proposals=3, history=history)
    assert suggest_points(SPACE, round_index=2, seed=12, n_proposals=3, history=history) != base
    assert suggest_points(SPACE, round_index=3, seed=11, n_proposals=3, history=history) != base
    changed = [(p, -v) for p, v in history]  # the ranking reversed: other points look good
    assert suggest_points(SPACE, round_index=2, seed=11, n_proposals=3, history=changed) != base


def test_round_r_uses_seed_plus_r():
    assert suggest_points(SPACE, round_index=3, seed=4, n_proposals=4, history=[]) == suggest_points(
        SPACE, round_index=0, seed=7, n_proposals=4, history=[]
    )


def test_proposals_lie_in_the_space_and_respect_conditions():
    points = [p for p, _ in rounds(SPACE, seed=2, n_rounds=3, per_round=4)]
    assert len(points) == 12
    for p in points:
        assert 1e-4 <= p["learning_rate"] <= 1e-1 and p["dense"] in ([16], [32], [64, 16])
        assert type(p["batch_size"]) is int and 8 <= p["batch_size"] <= 64
        assert ("dropout" in p) == p["dropout_on"]
        resolve_params({k: v for k, v in p.items() if k != "dropout_on"})  # every value is a valid hyperparameter


# --------------------------------------------------------------------------- history


def test_failures_are_told_as_fail_and_values_as_complete():
    dims = {d.name: d for d in parse_space(SPACE)}
    point = {"learning_rate": 0.01, "dense": [32], "dropout_on": False, "batch_size": 16}
    assert _replayed(dims, point, None).state == optuna.trial.TrialState.FAIL
    assert _replayed(dims, point, float("nan")).state == optuna.trial.TrialState.FAIL
    done = _replayed(dims, point, 0.25)
    assert done.state == optuna.trial.TrialState.COMPLETE and done.value == 0.25
    assert done.params == {"learning_rate": 0.01, "dense": 1, "dropout_on": 0, "batch_size": 16}


def test_history_points_outside_the_space_are_left_out():
    dims = {d.name: d for d in parse_space(SPACE)}
    assert _replayed(dims, {"learning_rate": 0.5, "dense": [32], "dropout_on": False, "batch_size": 16}, 1.0) is None
    assert _replayed(dims, {"learning_rate": 0.01, "dense": [128], "dropout_on": False, "batch_size": 16}, 1.0) is None
    assert _replayed(dims, {"learning_rate": 0.01, "momentum": 0.9}, 1.0) is None
    stale = [({"learning_rate": 0.5, "dense": [128], "dropout_on": False, "batch_size": 16}, 1.0)]
    assert len(suggest_points(SPACE, round_index=1, seed=0, n_proposals=2, history=stale)) == 2


def test_known_points_failed_or_not_are_never_proposed_again():
    space = {"learning_rate": [0.001, 0.01, 0.1], "dense": [[16], [32]]}
    grid = expand_grid(space)
    history = [(p, None if i == 1 else float(i)) for i, p in enumerate(grid[:5])]  # one failure among them
    assert suggest_points(space, round_index=1, seed=0, n_proposals=3, history=history) == [grid[5]]


def test_a_round_never_repeats_a_point():
    space = {"learning_rate": [0.001, 0.01, 0.1], "dense": [[16], [32]]}
    points = suggest_points(space, round_index=0, seed=5, n_proposals=6, history=[])
    assert sorted(map(str, points)) == sorted(map(str, expand_grid(space)))


def test_encoding_ordinal_categorical_and_ranges():
    dims = {
        d.name: d
        for d in parse_space(
            {
                "lr": [0.001, 0.01, 0.1],
                "opt": ["sgd", "adam"],
                "shuffled": [3, 1, 2],
                "n": {"type": "int", "low": 1, "high": 4},
            }
        )
    }
    assert isinstance(distribution(dims["lr"]), optuna.distributions.IntDistribution)  # ordinal: index
    assert isinstance(distribution(dims["opt"]), optuna.distributions.CategoricalDistribution)
    assert isinstance(distribution(dims["shuffled"]), optuna.distributions.CategoricalDistribution)
    assert (encode(dims["lr"], 0.01), encode(dims["opt"], "adam"), encode(dims["n"], 3), encode(dims["n"], 3.5)) == (
        1,
        1,
        3,
        None,
    )


def test_failed_trials_do_not_stop_the_search():
    history = rounds(SPACE, seed=3, n_rounds=4, per_round=3, fail=lambda r, i: i == 0)
    assert len(history) == 12 and sum(v is None for _, v in history) == 4


def test_bad_arguments_name_the_key():
    with pytest.raises(CandleInputError, match=r"hpo\.objective\.direction"):
        suggest_points(SPACE, round_index=0, seed=0, n_proposals=2, history=[], direction="max")
    with pytest.raises(CandleInputError, match=r"hpo\.bayesian\.per_round"):
        suggest_points(SPACE, round_index=0, seed=0, n_proposals=0, history=[])
    with pytest.raises(CandleInputError, match=r"hpo\.bayesian\.sampler"):
        suggest_points(SPACE, round_index=0, seed=0, n_proposals=2, history=[], sampler="cmaes")


# --------------------------------------------------------------------------- quality


GRID_SPACE = {
    "learning_rate": [1e-4, 3e-4, 1e-3, 3e-3],
    "dropout": [0.0, 0.1, 0.3, 0.5],
    "dense": [[16], [32], [64, 16], [128, 32]],
}


def bowl(point) -> float:
    lr, d, w = math.log10(point["learning_rate"]), point["dropout"], {16: 0, 32: 1, 64: 2, 128: 3}[point["dense"][0]]
    return 0.2 + 0.08 * (lr + 3.2) ** 2 + 0.3 * (d - 0.25) ** 2 + 0.02 * (w - 2) ** 2


def test_sixteen_bayesian_trials_come_within_two_percent_of_the_64_point_grid():
    best = min(bowl(p) for p in expand_grid(GRID_SPACE))
    gaps = [min(v for _, v in rounds(GRID_SPACE, seed, 4, 4, objective=bowl)) / best - 1 for seed in range(5)]
    assert statistics.median(gaps) <= 0.02


def test_maximize_seeks_the_top():
    history = rounds(GRID_SPACE, 0, 4, 4, objective=lambda p: -bowl(p))
    maximized = [
        suggest_points(GRID_SPACE, round_index=4, seed=0, n_proposals=4, history=history, direction="maximize")
    ]
    assert maximized and len(maximized[0]) == 4


# --------------------------------------------------------------------------- plan_round and round_history


def bayes_config(**bayesian) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["hpo"] = {
        "method": "bayesian",
        "seed": 5,
        "objective": {"metric": "val_auc", "direction": "maximize"},
        "space": {"learning_rate": {"type": "log", "low": 1e-4, "high": 1e-2}, "dropout": [0.1, 0.3, 0.5]},
        "bayesian": {"rounds": 3, "per_round": 2, **bayesian},
    }
    return config


def test_plan_round_gives_per_round_trials_deterministically():
    config = bayes_config()
    first = plan_round(config, 0, [])
    assert len(first.trials) == 2 and first.trials == plan_round(config, 0, []).trials
    assert all(
        spec["params"]["learning_rate"] == first.points[tid]["learning_rate"] for tid, spec in first.trials.items()
    )
    metrics = {tid: {"status": "ok", "metrics": {"val_auc": 0.9}} for tid in first.trials}
    metrics[next(iter(first.trials))] = {"status": "failed", "metrics": {}}
    history = round_history(
        [[{"id": tid, **p} for tid, p in first.points.items()]], metrics, config["hpo"]["objective"]
    )
    assert [v for _, v in history] == [None, 0.9]
    second = plan_round(config, 1, history)
    assert len(second.trials) == 2 and not set(second.trials) & set(first.trials)
    assert second.trials == plan_round(config, 1, history).trials


def test_plan_round_refuses_rounds_beyond_the_config():
    with pytest.raises(CandleInputError, match=r"hpo\.bayesian\.rounds: round 3 is outside 0\.\.2"):
        plan_round(bayes_config(), 3, [])


def test_plan_hpo_points_bayesian_searches_to_plan_round():
    with pytest.raises(CandleInputError, match="plan_round"):
        plan_hpo(bayes_config())


@pytest.mark.parametrize(
    "metrics, value",
    [
        ({"status": "ok", "metrics": {"val_auc": 0.75}}, 0.75),
        ({"status": "ok", "metrics": {"val_auc": 1}}, 1.0),
        ({"status": "failed", "metrics": {"val_auc": 0.75}}, None),
        ({"status": "ok", "metrics": {"val_loss": 0.3}}, None),
        ({"status": "ok", "metrics": {"val_auc": float("nan")}}, None),
        ({"status": "ok", "metrics": {"val_auc": True}}, None),
        ({"status": "ok"}, None),
    ],
)
def test_objective_value_of_a_metrics_file(metrics, value):
    assert objective_value(metrics, {"metric": "val_auc", "direction": "maximize"}) == value


def test_data_variants_of_a_bayesian_search_cover_every_allowed_combination():
    config = bayes_config()
    config["hpo"]["space"].update(
        {"data.normalization": ["fpkm", "tpm"], "mode": [{"dropout": 0.1}, {"dropout": 0.5, "data.transform": "none"}]}
    )
    config["hpo"]["space"].pop("dropout")
    variants = data_variants(config)
    combos = {(d["normalization"], d["transform"]) for d in variants.values()}
    assert combos == {("fpkm", "log2p1"), ("fpkm", "none"), ("tpm", "log2p1"), ("tpm", "none")}
    history = []
    for r in range(3):
        plan = plan_round(config, r, history)
        assert set(plan.variants) <= set(variants)
        assert all(spec["data"] in variants for spec in plan.trials.values())
        history += [(point, 0.5) for point in plan.points.values()]


def test_a_bayesian_float_range_over_a_data_option_is_refused():
    config = bayes_config()
    config["hpo"]["space"]["data.filters.top_variance"] = {"type": "float", "low": 10.0, "high": 100.0}
    with pytest.raises(
        CandleInputError, match=r"hpo\.space\.data\.filters\.top_variance: a data-preparation dimension"
    ):
        data_variants(config)
