"""Grid expansion and trial planning: content-addressed ids that survive extending a search.

Expected ids are computed here with hashlib/json from hand-built specs, not with the functions
under test.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from conftest import NT3_DEFAULTS

from candle_lib.errors import CandleInputError
from candle_lib.search.grid import expand_grid
from candle_lib.search.methods import final_spec, plan_hpo, prep_id
from candle_lib.trial.spec import FINAL, HOLDOUT

REPO = Path(__file__).resolve().parents[3]


def load_default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def independent_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def independent_prep_id(data: dict) -> str:
    options = {
        "filters": data["filters"],
        "labels": data["labels"],
        "normalization": data["normalization"],
        "transform": data["transform"],
    }
    return "prep-" + hashlib.sha256(independent_json(options).encode()).hexdigest()[:8]


def independent_trial_id(params: dict, role: dict, data: str) -> str:
    text = independent_json({"data": data, "params": params, "role": role})
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- expand_grid


def test_grid_count_is_product_of_sizes():
    space = {"a": [1, 2, 3], "b": ["x", "y"], "c": [0.1, 0.2, 0.3, 0.4]}
    assert len(expand_grid(space)) == 3 * 2 * 4


def test_grid_last_key_varies_fastest():
    assert expand_grid({"a": [1, 2], "b": ["x", "y", "z"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 2, "b": "z"},
    ]


def test_grid_key_order_follows_the_config():
    points = expand_grid({"b": [1, 2], "a": ["x"]})
    assert points == [{"b": 1, "a": "x"}, {"b": 2, "a": "x"}]
    assert all(list(p) == ["b", "a"] for p in points)


def test_grid_values_that_are_lists():
    points = expand_grid({"dense": [[32], [64, 16]], "dropout": [0.1]})
    assert points == [{"dense": [32], "dropout": 0.1}, {"dense": [64, 16], "dropout": 0.1}]


def test_grid_single_dimension_and_single_value():
    assert expand_grid({"epochs": [5]}) == [{"epochs": 5}]
    assert expand_grid({"epochs": [5, 6]}) == [{"epochs": 5}, {"epochs": 6}]


def test_grid_empty_list_raises_naming_the_dimension():
    with pytest.raises(CandleInputError, match=r"hpo\.space\.dropout"):
        expand_grid({"learning_rate": [0.1], "dropout": []})


def test_grid_non_list_raises_naming_the_dimension():
    with pytest.raises(CandleInputError, match=r"hpo\.space\.learning_rate"):
        expand_grid({"learning_rate": 0.1})


# --------------------------------------------------------------------------- prep_id


def test_prep_id_matches_independent_hash():
    data = load_default_config()["data"]
    assert prep_id(data) == independent_prep_id(data)
    assert prep_id(data).startswith("prep-") and len(prep_id(data)) == len("prep-") + 8


def test_prep_id_changes_with_normalization():
    data = load_default_config()["data"]
    ids = set()
    for normalization in ("fpkm", "fpkm_uq", "tpm", "cpm", "none"):
        ids.add(prep_id(dict(data, normalization=normalization)))
    assert len(ids) == 5


def test_prep_id_changes_with_transform_filters_labels():
    data = load_default_config()["data"]
    base = prep_id(data)
    assert prep_id(dict(data, transform="none")) != base
    assert prep_id(dict(data, filters=dict(data["filters"], top_variance=500))) != base
    assert prep_id(dict(data, filters=dict(data["filters"], min_nonzero_samples=11))) != base
    assert prep_id(dict(data, filters=dict(data["filters"], top_variance=None))) != base


def test_prep_id_ignores_synthetic_seed_and_files():
    data = load_default_config()["data"]
    base = prep_id(data)
    other = copy.deepcopy(data)
    other["synthetic"]["seed"] = 12345
    other["synthetic"]["n_genes"] = 500
    other["files"]["counts"] = "elsewhere.tsv"
    assert prep_id(other) == base


def test_prep_id_independent_of_key_order():
    data = load_default_config()["data"]
    reordered = {k: data[k] for k in reversed(list(data))}
    reordered["filters"] = {k: data["filters"][k] for k in reversed(list(data["filters"]))}
    assert prep_id(reordered) == prep_id(data)


# --------------------------------------------------------------------------- plan_hpo


def test_default_config_plans_eight_distinct_trials():
    trials = plan_hpo(load_default_config())
    assert len(trials) == 8
    assert all(len(tid) == 12 and all(c in "0123456789abcdef" for c in tid) for tid in trials)
    assert len({independent_json(spec) for spec in trials.values()}) == 8


def test_plan_ids_match_independent_computation_in_search_order():
    config = load_default_config()
    data_id = independent_prep_id(config["data"])
    base = dict(NT3_DEFAULTS, **config["model"])
    base["timeout"] = float(base["timeout"])  # 600 in YAML, a float hyperparameter
    expected = []
    for lr in (0.0005, 0.002):
        for dropout in (0.1, 0.4):
            for dense in ([32], [64, 16]):
                params = dict(base, learning_rate=lr, dropout=dropout, dense=dense)
                expected.append(independent_trial_id(params, HOLDOUT, data_id))
    trials = plan_hpo(config)
    assert list(trials) == expected
    first = trials[expected[0]]
    assert first["data"] == data_id
    assert first["role"] == {"kind": "holdout", "train": ["train"], "eval": "val"}
    assert first["params"]["learning_rate"] == 0.0005
    assert first["params"]["dense"] == [32]
    assert first["params"]["timeout"] == 600.0 and type(first["params"]["timeout"]) is float
    assert first["params"]["epochs"] == 30


def test_extending_a_dimension_keeps_every_old_id():
    config = load_default_config()
    old = plan_hpo(config)
    extended = copy.deepcopy(config)
    extended["hpo"]["space"]["learning_rate"].append(0.01)
    new = plan_hpo(extended)
    assert len(new) == 12
    assert set(old) <= set(new)
    added = set(new) - set(old)
    assert len(added) == 4  # 1 new learning rate x 2 dropouts x 2 dense
    assert {new[tid]["params"]["learning_rate"] for tid in added} == {0.01}
    for tid in old:
        assert new[tid] == old[tid]


def test_extending_a_list_valued_dimension_keeps_every_old_id():
    config = load_default_config()
    old = plan_hpo(config)
    extended = copy.deepcopy(config)
    extended["hpo"]["space"]["dense"].insert(0, [128, 64, 8])  # even inserted first
    new = plan_hpo(extended)
    added = set(new) - set(old)
    assert set(old) <= set(new)
    assert len(added) == 4
    assert all(new[tid]["params"]["dense"] == [128, 64, 8] for tid in added)


def test_reordering_the_space_keeps_the_ids():
    config = load_default_config()
    reordered = copy.deepcopy(config)
    space = reordered["hpo"]["space"]
    reordered["hpo"]["space"] = {
        "dense": space["dense"][::-1],
        "dropout": space["dropout"][::-1],
        "learning_rate": space["learning_rate"],
    }
    assert set(plan_hpo(reordered)) == set(plan_hpo(config))


def test_int_and_float_in_the_space_give_the_same_ids():
    config = load_default_config()
    as_ints = copy.deepcopy(config)
    as_ints["hpo"]["space"]["dropout"] = [0, 0.4]
    as_floats = copy.deepcopy(config)
    as_floats["hpo"]["space"]["dropout"] = [0.0, 0.4]
    assert list(plan_hpo(as_ints)) == list(plan_hpo(as_floats))


def test_changing_a_base_model_param_changes_every_id():
    config = load_default_config()
    old = set(plan_hpo(config))
    changed = copy.deepcopy(config)
    changed["model"]["epochs"] = 31
    new = set(plan_hpo(changed))
    assert len(new) == 8
    assert not (old & new)


def test_changing_a_base_value_that_the_search_overrides_keeps_the_ids():
    config = load_default_config()
    changed = copy.deepcopy(config)
    changed["model"]["learning_rate"] = 0.1  # every trial sets its own learning_rate
    assert list(plan_hpo(changed)) == list(plan_hpo(config))


def test_changing_the_objective_keeps_every_id():
    config = load_default_config()
    old = list(plan_hpo(config))
    changed = copy.deepcopy(config)
    changed["hpo"]["objective"] = {"metric": "val_auc", "direction": "maximize"}
    assert list(plan_hpo(changed)) == old


def test_changing_resources_or_synthetic_seed_keeps_every_id():
    config = load_default_config()
    old = list(plan_hpo(config))
    changed = copy.deepcopy(config)
    changed["resources"] = {"trial_threads": 4, "trial_mem_mb": 8000}
    changed["data"]["synthetic"]["seed"] = 99
    assert list(plan_hpo(changed)) == old


def test_changing_normalization_changes_every_id():
    config = load_default_config()
    old = set(plan_hpo(config))
    changed = copy.deepcopy(config)
    changed["data"]["normalization"] = "tpm"
    new = plan_hpo(changed)
    assert not (old & set(new))
    assert {spec["data"] for spec in new.values()} == {independent_prep_id(changed["data"])}


def test_plan_rejects_a_bad_space_value_naming_the_key():
    config = load_default_config()
    config["hpo"]["space"]["optimizer"] = ["adam", "adamw"]
    with pytest.raises(CandleInputError, match=r"hpo\.space\.optimizer"):
        plan_hpo(config)


def test_plan_rejects_a_bad_model_value_naming_the_key():
    config = load_default_config()
    config["model"]["lr"] = 0.1
    with pytest.raises(CandleInputError, match=r"model\.lr"):
        plan_hpo(config)


def test_plan_rejects_unknown_methods_naming_the_key():
    config = load_default_config()
    config["hpo"]["method"] = "hyperband"
    with pytest.raises(CandleInputError, match=r"hpo\.method"):
        plan_hpo(config)


def test_plan_random_needs_n_trials():
    config = load_default_config()
    config["hpo"]["method"] = "random"
    with pytest.raises(CandleInputError, match=r"hpo\.n_trials"):
        plan_hpo(config)


def test_plan_does_not_mutate_the_config():
    config = load_default_config()
    before = copy.deepcopy(config)
    trials = plan_hpo(config)
    for spec in trials.values():
        spec["params"]["dense"].append(1)
    assert config == before


# --------------------------------------------------------------------------- final_spec


def test_final_spec_retrains_best_params_on_train_and_val():
    trials = plan_hpo(load_default_config())
    best_id, best = next(iter(trials.items()))
    spec = final_spec(best, prepared=best["data"])
    assert spec == {
        "params": best["params"],
        "role": {"kind": "final", "train": ["train", "val"], "eval": "test"},
        "data": best["data"],
    }
    assert spec["role"] == FINAL
    final_id = independent_trial_id(best["params"], FINAL, best["data"])
    assert final_id != best_id
    assert final_id not in trials


def test_final_spec_refuses_another_dataset():
    best = next(iter(plan_hpo(load_default_config()).values()))
    with pytest.raises(ValueError, match="prep-00000000"):
        final_spec(best, prepared="prep-00000000")
