"""Config validation against config/schema/config.schema.yaml: messages name the key path,
defaults are filled, and nothing is ever evaluated."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from candle_lib.config import load_config, validate_config
from candle_lib.errors import CandleInputError

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"


def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def error_of(config: dict) -> str:
    with pytest.raises(CandleInputError) as info:
        validate_config(config, SCHEMA)
    return str(info.value)


# --------------------------------------------------------------------------- valid configs

# the placement defaults every resources section gets (GPU binding, node-local staging, the workers
# of a multi-worker trial, the training environment's TensorFlow)
PLACEMENT_DEFAULTS = {
    "gpus_per_trial": 1,
    "gpu_fallback": "error",
    "gpu_lock_dir": None,
    "local_storage": None,
    "workers_per_trial": 1,
    "worker_launcher": "local",
    "tensorflow": "cpu",
    "envmodules": [],
}


def test_repo_config_is_valid():
    config = default_config()
    checked = validate_config(config, SCHEMA)
    assert checked["data"]["normalization"] == "fpkm_uq"
    assert checked["hpo"]["space"] == {
        "learning_rate": [0.0005, 0.002],
        "dropout": [0.1, 0.4],
        "dense": [[32], [64, 16]],
    }
    assert checked["resources"] == {"trial_threads": 1, "trial_mem_mb": 2000, **PLACEMENT_DEFAULTS}


def test_validate_returns_a_copy_and_leaves_input_alone():
    config = default_config()
    del config["resources"]
    before = copy.deepcopy(config)
    checked = validate_config(config, SCHEMA)
    assert config == before
    assert checked is not config
    checked["hpo"]["space"]["dropout"].append(0.9)
    assert config == before


def test_load_config_reads_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text((REPO / "config" / "config.yaml").read_text())
    assert load_config(path, SCHEMA) == validate_config(default_config(), SCHEMA)


def test_load_config_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CandleInputError, match="nope.yaml"):
        load_config(missing, SCHEMA)


def test_load_config_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(CandleInputError, match="broken.yaml"):
        load_config(path, SCHEMA)


# --------------------------------------------------------------------------- defaults


def test_missing_resource_key_takes_its_default():
    config = default_config()
    del config["resources"]["trial_mem_mb"]
    checked = validate_config(config, SCHEMA)
    assert checked["resources"] == {"trial_threads": 1, "trial_mem_mb": 2000, **PLACEMENT_DEFAULTS}


def test_missing_resources_section_takes_its_defaults():
    # the rules read config["resources"]["trial_threads"], so the section must exist after
    # validation even when a user's config leaves it out entirely
    config = default_config()
    del config["resources"]
    checked = validate_config(config, SCHEMA)
    assert checked["resources"] == {"trial_threads": 1, "trial_mem_mb": 2000, **PLACEMENT_DEFAULTS}


def test_given_resources_are_kept():
    config = default_config()
    config["resources"] = {"trial_threads": 4}
    checked = validate_config(config, SCHEMA)
    assert checked["resources"] == {"trial_threads": 4, "trial_mem_mb": 2000, **PLACEMENT_DEFAULTS}


def test_an_absent_section_gets_only_its_defaulted_keys():
    config = default_config()
    del config["data"]["synthetic"]
    checked = validate_config(config, SCHEMA)
    assert checked["data"]["synthetic"] == {"variant": "nt3"}


# --------------------------------------------------------------------------- unknown keys


def test_unknown_data_key_is_named():
    config = default_config()
    config["data"]["normalisation"] = "tpm"
    message = error_of(config)
    assert "data.normalisation" in message
    assert "unknown key" in message


def test_misspelled_data_key_is_named():
    # a typo both adds an unknown key and removes a required one; the unknown key is reported
    config = default_config()
    config["data"]["normalisation"] = config["data"].pop("normalization")
    assert "data.normalisation" in error_of(config)


def test_unknown_top_level_key_is_named():
    config = default_config()
    config["hpo_space"] = {}
    assert "hpo_space" in error_of(config)


@pytest.mark.parametrize(
    "section, key",
    [
        (("data", "synthetic"), "n_gene"),
        (("data", "filters"), "top_var"),
        (("data", "splits"), "folds"),
        (("hpo",), "metric"),
        (("hpo", "objective"), "mode"),
        (("resources",), "gpus"),
    ],
)
def test_unknown_nested_keys_are_named(section, key):
    config = default_config()
    target = config
    for part in section:
        target = target[part]
    target[key] = 1
    assert ".".join(section + (key,)) in error_of(config)


def test_unknown_hyperparameter_in_model_is_named():
    config = default_config()
    config["model"]["lr"] = 0.01
    message = error_of(config)
    assert "model.lr" in message
    assert "unknown hyperparameter" in message


def test_unknown_hyperparameter_in_space_is_named():
    config = default_config()
    config["hpo"]["space"]["lr"] = [0.01]
    assert "hpo.space.lr" in error_of(config)


# --------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize("value", ["2000", 2000.5, True, None, [2000]])
def test_wrong_type_is_named(value):
    config = default_config()
    config["data"]["synthetic"]["n_genes"] = value
    assert "data.synthetic.n_genes" in error_of(config)


def test_out_of_range_is_named():
    config = default_config()
    config["data"]["splits"]["test_fraction"] = 1.0
    assert "data.splits.test_fraction" in error_of(config)
    config = default_config()
    config["resources"]["trial_threads"] = 0
    assert "resources.trial_threads" in error_of(config)


def test_bad_enum_is_named():
    config = default_config()
    config["data"]["normalization"] = "rpkm"
    assert "data.normalization" in error_of(config)
    config = default_config()
    config["hpo"]["objective"]["direction"] = "max"
    assert "hpo.objective.direction" in error_of(config)


def test_missing_required_section():
    config = default_config()
    del config["hpo"]
    assert "'hpo' is a required property" in error_of(config)


def test_wrong_model_type_is_named():
    config = default_config()
    config["model"]["batch_size"] = 32.5
    assert "model.batch_size" in error_of(config)
    config = default_config()
    config["model"]["optimizer"] = "adamw"
    assert "model.optimizer" in error_of(config)


# --------------------------------------------------------------------------- search space values


@pytest.mark.parametrize(
    "values",
    [["fast"], [0.001, "0.01"], [True], [None]],
)
def test_bad_space_value_is_named(values):
    config = default_config()
    config["hpo"]["space"]["learning_rate"] = values
    assert "hpo.space.learning_rate" in error_of(config)


def test_space_value_that_is_not_a_list_is_named():
    config = default_config()
    config["hpo"]["space"]["learning_rate"] = 0.01
    assert "hpo.space.learning_rate" in error_of(config)


def test_empty_space_dimension_is_named():
    config = default_config()
    config["hpo"]["space"]["learning_rate"] = []
    assert "hpo.space.learning_rate" in error_of(config)


def test_empty_space_is_rejected():
    config = default_config()
    config["hpo"]["space"] = {}
    assert "hpo.space" in error_of(config)


def test_list_valued_space_needs_lists():
    config = default_config()
    config["hpo"]["space"]["dense"] = [32, 64]  # should be [[32], [64]]
    assert "hpo.space.dense" in error_of(config)


def test_bad_choice_in_space_is_named():
    config = default_config()
    config["hpo"]["space"]["optimizer"] = ["sgd", "adamw"]
    message = error_of(config)
    assert "hpo.space.optimizer" in message
    assert "adamw" in message


# --------------------------------------------------------------------------- never evaluated


PAYLOAD = "__import__('os').system('echo hi')"


def _forbid_evaluation(monkeypatch):
    import os

    def boom(*args, **kwargs):
        raise AssertionError("os.system was called: a config value was evaluated")

    monkeypatch.setattr(os, "system", boom)


def test_code_string_for_learning_rate_is_a_type_error(capfd, monkeypatch):
    _forbid_evaluation(monkeypatch)
    config = default_config()
    config["model"]["learning_rate"] = PAYLOAD
    message = error_of(config)
    assert "model.learning_rate" in message
    assert "not a valid float" in message
    assert "hi" not in capfd.readouterr().out


def test_code_string_in_space_is_a_type_error(capfd, monkeypatch):
    _forbid_evaluation(monkeypatch)
    config = default_config()
    config["hpo"]["space"]["learning_rate"] = [0.001, PAYLOAD]
    message = error_of(config)
    assert "hpo.space.learning_rate" in message
    assert "not a valid float" in message
    assert "hi" not in capfd.readouterr().out


def test_code_string_in_a_yaml_file_is_not_evaluated(tmp_path, capfd, monkeypatch):
    _forbid_evaluation(monkeypatch)
    text = (
        (REPO / "config" / "config.yaml")
        .read_text()
        .replace("  learning_rate: 0.001\n", f'  learning_rate: "{PAYLOAD}"\n')
    )
    assert PAYLOAD in text
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    with pytest.raises(CandleInputError, match=r"model\.learning_rate"):
        load_config(path, SCHEMA)
    assert "hi" not in capfd.readouterr().out


def test_python_tags_in_yaml_are_refused(tmp_path, monkeypatch):
    _forbid_evaluation(monkeypatch)
    path = tmp_path / "tag.yaml"
    path.write_text("data: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(CandleInputError, match="tag.yaml"):
        load_config(path, SCHEMA)


def test_a_multi_worker_trial_cannot_train_in_a_bundle():
    config = default_config()
    config["resources"]["workers_per_trial"] = 2
    config["hpo"]["trials_per_job"] = 4
    with pytest.raises(
        CandleInputError, match=r"resources.workers_per_trial': 2 workers per trial cannot train in a bundle"
    ):
        validate_config(config, SCHEMA)
