"""Planning beyond plain grids: random search, conditional and bundled dimensions, data-
preparation dimensions (one prepared variant per combination), UPF import/export, check_hpo.

Expected ids are recomputed with hashlib/json from hand-built specs, as in test_search_plan.py.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.search.methods import (
    check_hpo,
    data_variants,
    plan_hpo,
    plan_search,
    prep_id,
    varied_keys,
)
from candle_lib.search.plan_builder import plan_points
from candle_lib.search.upf import read_upf, upf_rows, write_upf
from candle_lib.trial.spec import HOLDOUT, trial_id

REPO = Path(__file__).resolve().parents[3]


def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def with_hpo(**hpo) -> dict:
    config = default_config()
    config["hpo"] = {"method": "grid", "objective": {"metric": "val_loss", "direction": "minimize"}, **hpo}
    return config


def independent_id(params: dict, data: str) -> str:
    text = json.dumps({"data": data, "params": params, "role": HOLDOUT}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def independent_prep_id(data: dict) -> str:
    options = {k: data[k] for k in ("normalization", "transform", "filters", "labels")}
    if data.get("features") is not None:
        options["features"] = data["features"]
    text = json.dumps(options, sort_keys=True, separators=(",", ":"))
    return "prep-" + hashlib.sha256(text.encode()).hexdigest()[:8]


def base_params(config: dict) -> dict:
    return resolve_params(config["model"])


# --------------------------------------------------------------------------- random


RANDOM_SPACE = {
    "learning_rate": {"type": "log", "low": 1.0e-4, "high": 1.0e-1},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "batch_size": {"type": "int", "low": 16, "high": 64},
    "dense": [[32], [64, 16]],
}


def test_random_plans_n_distinct_reproducible_trials():
    config = with_hpo(method="random", n_trials=12, seed=4, space=RANDOM_SPACE)
    plan = plan_search(config)
    assert len(plan.trials) == 12
    assert list(plan_search(config).trials) == list(plan.trials)
    for tid, spec in plan.trials.items():
        point = plan.points[tid]
        assert spec["params"] == resolve_params(config["model"], point)
        assert tid == independent_id(spec["params"], prep_id(config["data"]))
        assert 1e-4 <= spec["params"]["learning_rate"] <= 1e-1 and 16 <= spec["params"]["batch_size"] <= 64


def test_random_seed_changes_every_trial():
    a = plan_hpo(with_hpo(method="random", n_trials=8, seed=1, space=RANDOM_SPACE))
    b = plan_hpo(with_hpo(method="random", n_trials=8, seed=2, space=RANDOM_SPACE))
    assert not set(a) & set(b)


def test_raising_n_trials_keeps_the_earlier_trials_in_order():
    small = plan_hpo(with_hpo(method="random", n_trials=5, seed=9, space=RANDOM_SPACE))
    large = plan_hpo(with_hpo(method="random", n_trials=9, seed=9, space=RANDOM_SPACE))
    assert list(large)[:5] == list(small)


def test_random_on_a_small_space_skips_repeats_and_can_fill_it():
    space = {"learning_rate": [0.1, 0.01], "dropout": [0.0, 0.5]}
    plan = plan_hpo(with_hpo(method="random", n_trials=4, seed=0, space=space))
    assert len(plan) == 4
    assert {(s["params"]["learning_rate"], s["params"]["dropout"]) for s in plan.values()} == {
        (0.1, 0.0),
        (0.1, 0.5),
        (0.01, 0.0),
        (0.01, 0.5),
    }


def test_random_asking_for_more_trials_than_the_space_holds_names_n_trials():
    config = with_hpo(method="random", n_trials=5, seed=0, space={"learning_rate": [0.1, 0.01]})
    with pytest.raises(CandleInputError, match=r"hpo\.n_trials: found only 2 distinct trials"):
        plan_hpo(config)


# --------------------------------------------------------------------------- conditional and bundled dimensions


def test_conditional_dropout_is_absent_when_switched_off():
    space = {
        "dropout_on": [False, True],
        "dropout": {"values": [0.3, 0.5], "when": {"dropout_on": True}},
        "learning_rate": [0.01, 0.1],
    }
    config = with_hpo(space=space)
    config["model"]["dropout"] = 0.0
    plan = plan_search(config)
    assert len(plan.trials) == 6  # 2 learning rates without dropout + 2 x 2 with
    off = [tid for tid, p in plan.points.items() if not p["dropout_on"]]
    assert len(off) == 2
    assert all("dropout" not in plan.points[tid] and plan.trials[tid]["params"]["dropout"] == 0.0 for tid in off)
    assert sorted(s["params"]["dropout"] for s in plan.trials.values()) == [0.0, 0.0, 0.3, 0.3, 0.5, 0.5]
    base = base_params(config)
    data = prep_id(config["data"])
    expected = [independent_id(dict(base, learning_rate=lr), data) for lr in (0.01, 0.1)]
    expected += [
        independent_id(dict(base, dropout=d, learning_rate=lr), data) for d in (0.3, 0.5) for lr in (0.01, 0.1)
    ]
    assert list(plan.trials) == expected


def test_a_switch_that_changes_nothing_shares_the_trial():
    # dropout_on false (base dropout 0.1) and dropout_on true with dropout 0.1 are one training
    space = {"dropout_on": [False, True], "dropout": {"values": [0.1, 0.5], "when": {"dropout_on": True}}}
    plan = plan_search(with_hpo(space=space))
    assert len(plan.trials) == 2
    assert sorted(s["params"]["dropout"] for s in plan.trials.values()) == [0.1, 0.5]


def test_a_name_that_is_no_hyperparameter_and_no_switch_is_refused():
    with pytest.raises(CandleInputError, match=r"hpo\.space\.dropout_on: unknown hyperparameter"):
        plan_hpo(with_hpo(space={"dropout_on": [False, True], "dropout": [0.1]}))
    with pytest.raises(CandleInputError, match=r"hpo\.space\.learning_rat: unknown hyperparameter"):
        plan_hpo(with_hpo(space={"learning_rat": {"type": "float", "low": 0.1, "high": 0.2}}))


def test_a_bundle_sets_several_hyperparameters_together():
    space = {
        "mode": [{"dropout": 0.0, "input_dropout": 0.0}, {"dropout": 0.5, "input_dropout": 0.2}],
        "l2": [0, 1.0e-4],
    }
    config = with_hpo(space=space)
    plan = plan_search(config)
    base, data = base_params(config), prep_id(config["data"])
    expected = [
        independent_id(dict(base, dropout=d, input_dropout=i, l2=l2), data)
        for d, i in ((0.0, 0.0), (0.5, 0.2))
        for l2 in (0.0, 1e-4)
    ]
    assert list(plan.trials) == expected
    assert type(plan.trials[expected[0]]["params"]["l2"]) is float  # 0 coerced to 0.0


def test_bundle_errors_name_the_key():
    with pytest.raises(CandleInputError, match=r"hpo\.space\.mode\.dropuot: unknown hyperparameter in a bundle"):
        plan_hpo(with_hpo(space={"mode": [{"dropuot": 0.5}]}))
    with pytest.raises(CandleInputError, match=r"hpo\.space\.mode\.dropout: 1\.5 is outside"):
        plan_hpo(with_hpo(space={"mode": [{"dropout": 1.5}]}))
    with pytest.raises(CandleInputError, match=r"hpo\.space\.mode: sets 'dropout', which dimension 'dropout' sets too"):
        plan_hpo(with_hpo(space={"dropout": [0.1], "mode": [{"dropout": 0.5}]}))


# --------------------------------------------------------------------------- data-preparation dimensions


def test_data_dimensions_make_one_prepared_variant_per_combination():
    space = {
        "data.normalization": ["fpkm", "tpm"],
        "data.filters.top_variance": [500, 1000],
        "learning_rate": [0.001, 0.01, 0.1],
    }
    config = with_hpo(space=space)
    plan = plan_search(config)
    assert len(plan.trials) == 12 and len(plan.variants) == 4
    base = base_params(config)
    expected_variants = {}
    for normalization in ("fpkm", "tpm"):
        for top in (500, 1000):
            data = copy.deepcopy(config["data"])
            data["normalization"] = normalization
            data["filters"]["top_variance"] = top
            expected_variants[independent_prep_id(data)] = data
    assert plan.variants == expected_variants
    used = [spec["data"] for spec in plan.trials.values()]
    assert {pid: used.count(pid) for pid in set(used)} == {pid: 3 for pid in expected_variants}
    first = next(iter(plan.trials.values()))
    assert first["data"] == independent_prep_id(
        dict(config["data"], normalization="fpkm", filters=dict(config["data"]["filters"], top_variance=500))
    )
    assert next(iter(plan.trials)) == independent_id(dict(base, learning_rate=0.001), first["data"])
    assert data_variants(config) == plan.variants
    assert config == with_hpo(space=space)  # nothing mutated


def test_a_plain_grid_has_one_variant_the_config_itself():
    config = default_config()
    assert data_variants(config) == {prep_id(config["data"]): config["data"]}


def test_feature_set_enters_the_prep_id_only_when_set():
    data = default_config()["data"]
    assert prep_id(dict(data, features=None)) == prep_id(data) == independent_prep_id(data)
    ids = {prep_id(dict(data, features=f)) for f in ("descriptors", "similarities", "ecfp4")}
    assert len(ids) == 3 and prep_id(data) not in ids
    assert prep_id(dict(data, features="ecfp4")) == independent_prep_id(dict(data, features="ecfp4"))


@pytest.mark.parametrize(
    "key, message",
    [
        ("data.splits.seed", "'data.splits.seed' is not a data-preparation option"),
        ("data.source", "is not a data-preparation option"),
        ("data.filters.deep.key", r"data\.filters\.deep is not a section"),
        ("data.", "is not a data-preparation option"),
    ],
)
def test_data_keys_outside_preparation_are_refused(key, message):
    with pytest.raises(CandleInputError, match=message) as error:
        plan_hpo(with_hpo(space={key: [1, 2]}))
    assert f"hpo.space.{key}" in str(error.value)


# --------------------------------------------------------------------------- UPF import and export


def test_upf_method_plans_each_line_and_keeps_its_id(tmp_path):
    path = tmp_path / "points.upf"
    path.write_text(
        '{"id": "run1", "learning_rate": 0.01, "dense": [64]}\n\n{"id": "run2", "learning_rate": 0.1, "data.normalization": "tpm"}\n'
    )
    config = with_hpo(method="upf", upf=str(path))
    plan = plan_search(config)
    base = base_params(config)
    tpm = dict(config["data"], normalization="tpm")
    first = independent_id(dict(base, learning_rate=0.01, dense=[64]), independent_prep_id(config["data"]))
    second = independent_id(dict(base, learning_rate=0.1), independent_prep_id(tpm))
    assert list(plan.trials) == [first, second]
    assert plan.labels == {first: "run1", second: "run2"}
    assert plan.points[first] == {"learning_rate": 0.01, "dense": [64]}


def test_upf_method_names_the_file_and_key_of_a_bad_line(tmp_path):
    path = tmp_path / "bad.upf"
    path.write_text('{"id": 1, "epoch": 5}\n')
    with pytest.raises(CandleInputError, match=r"bad\.upf\.epoch: unknown hyperparameter"):
        plan_hpo(with_hpo(method="upf", upf=str(path)))


@pytest.mark.parametrize(
    "space",
    [
        {"learning_rate": [0.01, 0.1], "dense": [[32], [64, 16]]},
        {"data.normalization": ["fpkm", "tpm"], "mode": [{"dropout": 0.0}, {"dropout": 0.5, "input_dropout": 0.2}]},
        {
            "dropout_on": [False, True],
            "dropout": {"values": [0.3], "when": {"dropout_on": True}},
            "l2": {"type": "log", "low": 1e-5, "high": 1e-3, "n": 3},
        },
    ],
)
def test_exported_plan_reimports_to_the_same_trials(tmp_path, space):
    config = with_hpo(space=space)
    plan = plan_search(config)
    path = tmp_path / "plan.upf"
    write_upf(path, upf_rows(plan.points))
    rows = read_upf(path)
    assert [row["id"] for row in rows] == list(plan.trials)
    again = plan_search(dict(config, hpo=dict(config["hpo"], method="upf", upf=str(path))))
    assert again.trials == plan.trials
    assert again.variants == plan.variants
    assert again.labels == {tid: tid for tid in plan.trials}
    assert plan_points(config, rows).trials == plan.trials


# --------------------------------------------------------------------------- check_hpo


def test_check_hpo_accepts_the_default_config():
    check_hpo(default_config())


@pytest.mark.parametrize(
    "hpo, message",
    [
        ({"space": {"dropout": {"type": "float", "low": 0.0, "high": 1.5}}}, r"hpo\.space\.dropout: 1\.5 is outside"),
        ({"space": {"dense": {"type": "int", "low": 1, "high": 3}}}, r"hpo\.space\.dense: 1 is not a valid int_list"),
        ({"space": {"optimizer": ["adam", "adamw"]}}, r"hpo\.space\.optimizer: 'adamw' is not one of"),
        (
            {"space": {"l2": {"type": "log", "low": 1e-6, "high": 1e-3}}},
            r"hpo\.space\.l2: a grid over a log range needs 'n'",
        ),
        ({"method": "random", "space": {"l2": [0.0]}}, r"hpo\.n_trials: required when hpo\.method is random"),
        ({"method": "upf", "upf": "/nonexistent/points.upf"}, r"/nonexistent/points\.upf: cannot read UPF file"),
        (
            {"method": "bayesian", "space": {"l2": [0.0]}, "bayesian": {"sampler": "smac"}},
            r"hpo\.bayesian\.sampler: sampler 'smac'",
        ),
    ],
)
def test_check_hpo_names_the_key(hpo, message):
    with pytest.raises(CandleInputError, match=message):
        check_hpo(with_hpo(**hpo))


def test_check_hpo_does_not_need_n_for_random_ranges():
    check_hpo(with_hpo(method="random", n_trials=3, space={"l2": {"type": "log", "low": 1e-6, "high": 1e-3}}))


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="PyTorch is installed here")
def test_check_hpo_says_the_gp_sampler_needs_pytorch():
    with pytest.raises(CandleInputError, match=r"hpo\.bayesian\.sampler: the gp sampler needs PyTorch"):
        check_hpo(with_hpo(method="bayesian", space={"l2": [0.0]}, bayesian={"sampler": "gp"}))


def test_fast_ids_equal_params_trial_id():
    space = {
        "data.transform": ["log2p1", "none"],
        "dense": [[32], [64, 16]],
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "n": 3},
    }
    plan = plan_search(with_hpo(space=space))
    assert len(plan.trials) == 12
    assert all(trial_id(spec) == tid for tid, spec in plan.trials.items())


def test_planning_a_grid_does_not_import_optuna():
    import subprocess
    import sys

    code = "import sys, yaml; from candle_lib.search.methods import plan_hpo; plan_hpo(yaml.safe_load(open('config/config.yaml'))); print('optuna' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_varied_keys_expand_bundles_and_leave_switches_out(tmp_path):
    space = {
        "data.normalization": ["fpkm", "tpm"],
        "dropout_on": [False, True],
        "dropout": {"values": [0.3], "when": {"dropout_on": True}},
        "mode": [{"input_dropout": 0.1, "l2": 0.0}, {"input_dropout": 0.2, "data.transform": "none"}],
    }
    assert varied_keys(with_hpo(space=space)) == [
        "data.normalization",
        "dropout",
        "input_dropout",
        "l2",
        "data.transform",
    ]
    assert varied_keys(default_config()) == ["learning_rate", "dropout", "dense"]
    path = tmp_path / "p.upf"
    path.write_text('{"id": 1, "epochs": 2}\n{"id": 2, "dense": [8], "data.normalization": "tpm"}\n')
    assert varied_keys(with_hpo(method="upf", upf=str(path))) == ["epochs", "dense", "data.normalization"]
