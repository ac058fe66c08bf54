"""Typed hyperparameters: NT3 defaults, precedence, coercion, canonical JSON and trial ids.

Expected values are written out by hand (or computed with hashlib/json directly), never by
calling the function under test.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import NT3_DEFAULTS

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import PARAM_SPECS, SPECS_BY_NAME, canonical_json, resolve_params
from candle_lib.trial.spec import trial_id, trial_spec

HOLDOUT = {"kind": "holdout", "train": ["train"], "eval": "val"}


def sha12(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------- defaults


def test_defaults_are_nt3():
    resolved = resolve_params()
    assert resolved == NT3_DEFAULTS
    assert resolved["conv"] == [128, 20, 1, 128, 10, 1]
    assert resolved["dense"] == [200, 20]
    assert resolved["pool"] == [1, 10]
    assert resolved["epochs"] == 400
    assert resolved["batch_size"] == 20
    assert resolved["learning_rate"] == 0.001
    assert resolved["optimizer"] == "sgd"
    assert resolved["dropout"] == 0.1


def test_defaults_have_declared_types():
    resolved = resolve_params()
    assert type(resolved["learning_rate"]) is float
    assert type(resolved["dropout"]) is float
    assert type(resolved["timeout"]) is float
    assert type(resolved["batch_size"]) is int
    assert type(resolved["epochs"]) is int
    assert all(type(v) is int for v in resolved["conv"])


def test_every_spec_is_in_the_resolved_dict():
    always = {spec.name for spec in PARAM_SPECS if not spec.optional}
    assert set(resolve_params()) == always == set(NT3_DEFAULTS)
    # the settings of models run out of process appear only when set
    assert always | {"command", "benchmark", "benchmark_params", "interpreter", "environment"} == set(SPECS_BY_NAME)


def test_none_layer_is_ignored():
    assert resolve_params(None, {}) == NT3_DEFAULTS


def test_mutating_a_result_does_not_change_the_defaults():
    first = resolve_params()
    first["conv"].append(99)
    first["dense"][0] = 1
    first["pool"].clear()
    again = resolve_params()
    assert again["conv"] == [128, 20, 1, 128, 10, 1]
    assert again["dense"] == [200, 20]
    assert again["pool"] == [1, 10]


def test_input_layers_are_not_aliased():
    layer = {"dense": [64, 16]}
    resolved = resolve_params(layer)
    resolved["dense"].append(8)
    assert layer == {"dense": [64, 16]}


# --------------------------------------------------------------------------- precedence


def test_later_layers_win():
    config = {"epochs": 30, "batch_size": 32, "optimizer": "adam"}
    search_point = {"epochs": 5, "dropout": 0.4}
    resolved = resolve_params(config, search_point)
    assert resolved["epochs"] == 5  # search point beats config
    assert resolved["batch_size"] == 32  # config beats default
    assert resolved["optimizer"] == "adam"
    assert resolved["dropout"] == 0.4
    assert resolved["learning_rate"] == 0.001  # untouched default
    expected = dict(NT3_DEFAULTS, epochs=5, batch_size=32, optimizer="adam", dropout=0.4)
    assert resolved == expected


def test_three_layers_last_wins():
    resolved = resolve_params({"learning_rate": 0.1}, {"learning_rate": 0.01}, {"learning_rate": 0.5})
    assert resolved["learning_rate"] == 0.5


def test_resolved_dict_as_a_layer_is_idempotent():
    base = resolve_params({"epochs": 3, "dense": [8]})
    assert resolve_params(base) == base
    assert resolve_params(base, {"dropout": 0.2}) == dict(base, dropout=0.2)


# --------------------------------------------------------------------------- coercion


def test_int_for_float_is_coerced():
    resolved = resolve_params({"learning_rate": 1, "dropout": 0, "timeout": 60})
    assert resolved["learning_rate"] == 1.0 and type(resolved["learning_rate"]) is float
    assert resolved["dropout"] == 0.0 and type(resolved["dropout"]) is float
    assert resolved["timeout"] == 60.0 and type(resolved["timeout"]) is float


def test_tuple_for_int_list_becomes_list():
    resolved = resolve_params({"dense": (64, 16)})
    assert resolved["dense"] == [64, 16]
    assert type(resolved["dense"]) is list


@pytest.mark.parametrize(
    "name, value",
    [
        ("learning_rate", "0.01"),
        ("learning_rate", None),
        ("learning_rate", [0.01]),
        ("batch_size", 32.0),
        ("batch_size", "32"),
        ("epochs", 1.5),
        ("conv", [8, 20, 1.0]),
        ("conv", "8,20,1"),
        ("conv", 8),
        ("dense", [[32]]),
        ("activation", 1),
        ("optimizer", None),
    ],
)
def test_wrong_type_raises_naming_the_key(name, value):
    with pytest.raises(CandleInputError) as info:
        resolve_params({name: value}, where="model")
    assert f"model.{name}" in str(info.value)
    assert info.value.where == f"model.{name}"
    assert "not a valid" in str(info.value)


@pytest.mark.parametrize(
    "name, value",
    [
        ("batch_size", True),
        ("epochs", False),
        ("rng_seed", True),
        ("learning_rate", True),
        ("dropout", False),
        ("conv", [True, 20, 1]),
        ("dense", [200, False]),
    ],
)
def test_bools_are_not_numbers(name, value):
    with pytest.raises(CandleInputError, match=rf"model\.{name}"):
        resolve_params({name: value}, where="model")


@pytest.mark.parametrize(
    "name, value",
    [("optimizer", "adamw"), ("optimizer", "SGD"), ("scaling", "zscore")],
)
def test_bad_choice_raises_naming_the_key(name, value):
    with pytest.raises(CandleInputError) as info:
        resolve_params({name: value}, where="hpo.space")
    message = str(info.value)
    assert f"hpo.space.{name}" in message
    assert "is not one of" in message
    assert repr(value) in message


@pytest.mark.parametrize("value", ["p1b3", "my_model", "models/attention.py", "a.py:", ":build", "x y:build"])
def test_a_model_that_is_no_family_builder_or_command_names_the_key(value):
    with pytest.raises(CandleInputError) as info:
        resolve_params({"model": value}, where="model")
    assert str(info.value).startswith(f"model.model: {value!r} is not a model: use a built-in family")


@pytest.mark.parametrize("value", ["nt3", "dense", "my_models.attention:build", "models/attention.py:build", "m:f"])
def test_builders_and_families_are_models(value):
    assert resolve_params({"model": value})["model"] == value


def test_good_choices_pass():
    for optimizer in ("sgd", "adam", "rmsprop"):
        assert resolve_params({"optimizer": optimizer})["optimizer"] == optimizer
    for scaling in ("standard", "minmax", "maxabs", "robust", "none"):
        assert resolve_params({"scaling": scaling})["scaling"] == scaling


def test_unknown_name_raises_naming_the_key():
    with pytest.raises(CandleInputError) as info:
        resolve_params({"lr": 0.01}, where="model")
    assert "model.lr" in str(info.value)
    assert "unknown hyperparameter" in str(info.value)
    # the message lists the known names, so the user can fix the typo
    assert "learning_rate" in str(info.value)


def test_unknown_name_in_a_later_layer():
    with pytest.raises(CandleInputError, match=r"hpo\.space\.drop_out"):
        resolve_params({"epochs": 3}, {"drop_out": 0.2}, where="hpo.space")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_float_is_an_input_error(value):
    # a NaN/inf cannot be hashed into a trial id (canonical JSON refuses it), so it must be
    # reported as bad input naming the key, not crash later with a bare ValueError
    with pytest.raises(CandleInputError, match=r"model\.learning_rate"):
        resolve_params({"learning_rate": value}, where="model")


def test_code_in_a_string_is_never_evaluated(capfd, monkeypatch):
    import os

    def boom(*args, **kwargs):
        raise AssertionError("os.system was called: a config value was evaluated")

    monkeypatch.setattr(os, "system", boom)
    payload = "__import__('os').system('echo hi')"
    with pytest.raises(CandleInputError, match=r"model\.learning_rate"):
        resolve_params({"learning_rate": payload}, where="model")
    assert "hi" not in capfd.readouterr().out


# --------------------------------------------------------------------------- canonical JSON


def test_canonical_json_literal():
    spec = {"role": {"kind": "holdout"}, "params": {"b": 1.0, "a": [1, 2]}, "data": "prep-x"}
    assert canonical_json(spec) == '{"data":"prep-x","params":{"a":[1,2],"b":1.0},"role":{"kind":"holdout"}}'


def test_canonical_json_floats_in_repr_form():
    assert canonical_json({"x": 0.1, "y": 1e-05, "z": 2.0, "w": 0.0005}) == '{"w":0.0005,"x":0.1,"y":1e-05,"z":2.0}'


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


# --------------------------------------------------------------------------- trial ids


def test_trial_spec_shape():
    params = {"epochs": 3}
    assert trial_spec(params, role=HOLDOUT, data="prep-0") == {"params": params, "role": HOLDOUT, "data": "prep-0"}


def test_trial_id_of_a_tiny_spec_matches_sha256_of_literal_json():
    spec = {"params": {"learning_rate": 0.01, "dense": [64, 16]}, "role": {"kind": "holdout"}, "data": "prep-abc"}
    literal = '{"data":"prep-abc","params":{"dense":[64,16],"learning_rate":0.01},"role":{"kind":"holdout"}}'
    expected = hashlib.sha256(literal.encode()).hexdigest()[:12]
    assert trial_id(spec) == expected
    assert len(expected) == 12 and all(c in "0123456789abcdef" for c in expected)


def test_trial_id_of_full_resolved_spec_matches_independent_hash():
    params = resolve_params({"epochs": 3})
    spec = trial_spec(params, role=HOLDOUT, data="prep-12345678")
    text = json.dumps(
        {"data": "prep-12345678", "params": dict(NT3_DEFAULTS, epochs=3), "role": HOLDOUT},
        sort_keys=True,
        separators=(",", ":"),
    )
    assert trial_id(spec) == sha12(text)


def test_trial_id_is_independent_of_key_order():
    a = {"params": {"x": 1, "y": [1, 2], "z": {"p": 1, "q": 2}}, "role": {"kind": "cv", "fold": 0}, "data": "d"}
    b = {"data": "d", "role": {"fold": 0, "kind": "cv"}, "params": {"z": {"q": 2, "p": 1}, "y": [1, 2], "x": 1}}
    assert trial_id(a) == trial_id(b)


def test_int_and_float_for_a_float_param_give_one_id():
    one = trial_spec(resolve_params({"learning_rate": 1}), role=HOLDOUT, data="d")
    one_point_zero = trial_spec(resolve_params({"learning_rate": 1.0}), role=HOLDOUT, data="d")
    assert trial_id(one) == trial_id(one_point_zero)
    zero = trial_spec(resolve_params({"dropout": 0}), role=HOLDOUT, data="d")
    zero_point_zero = trial_spec(resolve_params({"dropout": 0.0}), role=HOLDOUT, data="d")
    assert trial_id(zero) == trial_id(zero_point_zero)


def test_resolved_defaults_and_explicit_defaults_give_one_id():
    implicit = trial_spec(resolve_params(), role=HOLDOUT, data="d")
    explicit = trial_spec(
        resolve_params({"epochs": 400, "learning_rate": 0.001, "dense": [200, 20]}), role=HOLDOUT, data="d"
    )
    assert trial_id(implicit) == trial_id(explicit)


@pytest.mark.parametrize(
    "change",
    [
        {"learning_rate": 0.0011},
        {"dropout": 0.2},
        {"epochs": 401},
        {"batch_size": 21},
        {"dense": [200]},
        {"dense": [20, 200]},
        {"conv": [128, 20, 1]},
        {"pool": [10, 1]},
        {"optimizer": "adam"},
        {"scaling": "standard"},
        {"rng_seed": 7103},
        {"timeout": 3599.0},
        {"activation": "tanh"},
    ],
)
def test_any_param_change_changes_the_id(change):
    base = trial_id(trial_spec(resolve_params(), role=HOLDOUT, data="d"))
    changed = trial_id(trial_spec(resolve_params(change), role=HOLDOUT, data="d"))
    assert changed != base


def test_role_changes_the_id():
    params = resolve_params()
    ids = {
        trial_id(trial_spec(params, role=role, data="d"))
        for role in (
            {"kind": "holdout", "train": ["train"], "eval": "val"},
            {"kind": "final", "train": ["train", "val"], "eval": "test"},
            {"kind": "cv", "fold": 0},
            {"kind": "cv", "fold": 1},
            {"kind": "uq", "seed": 1},
            {"kind": "uq", "seed": 2},
        )
    }
    assert len(ids) == 6


def test_data_id_changes_the_id():
    params = resolve_params()
    assert trial_id(trial_spec(params, role=HOLDOUT, data="prep-aaaaaaaa")) != trial_id(
        trial_spec(params, role=HOLDOUT, data="prep-aaaaaaab")
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("dropout", 1.5),
        ("dropout", -0.1),
        ("batch_size", 0),
        ("epochs", 0),
        ("learning_rate", -0.01),
        ("timeout", -1.0),
    ],
)
def test_out_of_range_values_are_rejected_with_the_key(name, value):
    with pytest.raises(CandleInputError, match=rf"model\.{name}: .*outside"):
        resolve_params({name: value}, where="model")


def test_exponent_without_dot_gets_a_yaml_hint():
    with pytest.raises(CandleInputError, match="write 1.0e-3"):
        resolve_params({"learning_rate": "1e-3"}, where="model")
