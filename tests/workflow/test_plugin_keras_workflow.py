"""A Keras model of the user's own (a builder file in the workflow directory, with a custom layer
and a hyperparameter the project does not know) through Snakemake: a grid over that
hyperparameter, cross-validation and a UQ ensemble of it, sharing one tiny study; then a changed
builder file makes exactly its trials stale."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import planned_jobs, snakemake, tiny_config, write_config

BUILDER = '''"""A gated dense classifier: a learned per-feature gate, then one hidden layer."""

import keras

HYPERPARAMETERS = {
    "units": {"type": "int", "default": 8, "range": [1, 256], "help": "units of the hidden layer"},
}


@keras.saving.register_keras_serializable(package="workflow_test")
class FeatureGate(keras.layers.Layer):
    def build(self, input_shape):
        self.gate = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gate")

    def call(self, inputs):
        return inputs * keras.ops.sigmoid(self.gate)


def build(params, input_width, output_width, output_activation):
    inputs = keras.Input((input_width,))
    hidden = keras.layers.Dense(params["units"], activation=params["activation"])(FeatureGate()(inputs))
    hidden = keras.layers.Dropout(params["dropout"])(hidden)
    return keras.Model(inputs, keras.layers.Dense(output_width, activation=output_activation)(hidden))
'''


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The grid (2 trials + the final model), 3 CV folds and a 2-member ensemble, run once."""
    workdir = tmp_path_factory.mktemp("plugin_keras")
    (workdir / "models").mkdir()
    (workdir / "models" / "gated.py").write_text(BUILDER)
    config = tiny_config(
        model={"model": "models/gated.py:build", "optimizer": "adam", "learning_rate": 0.01, "epochs": 3},
        hpo={"space": {"units": [4, 8]}},
        cv={"params": "model"},
        uq={"members": 2},
    )
    path = write_config(workdir / "config.yaml", config)
    plan = planned_jobs(snakemake(workdir, path, "-n", "hpo", "cv", "uq"))
    snakemake(workdir, path, "hpo", "cv", "uq")
    return workdir, path, plan


def test_the_plan_counts_every_training_of_the_plugin(study):
    _, _, plan = study
    assert plan["train_trial"] == 2 + 3 + 2 and plan["train_final"] == 1


def test_the_grid_over_the_plugins_own_hyperparameter_is_a_table_column(study):
    workdir, _, _ = study
    trials = pd.read_csv(workdir / "results/hpo/trials.tsv", sep="\t")
    assert sorted(trials["units"]) == [4, 8] and set(trials["status"]) == {"ok"}
    best = json.loads((workdir / "results/hpo/best.json").read_text())
    assert best["params"]["units"] in (4, 8) and best["params"]["model"] == "models/gated.py:build"
    source = hashlib.sha256((workdir / "models/gated.py").read_bytes()).hexdigest()[:16]
    for tid in trials["trial_id"]:
        spec = json.loads((workdir / "results/trials" / tid / "params.json").read_text())
        assert spec["code"] == {"models/gated.py": source}


def test_cross_validation_and_the_ensemble_of_the_plugin(study):
    workdir, _, _ = study
    folds = pd.read_csv(workdir / "results/cv/folds.tsv", sep="\t")
    assert folds["fold"].tolist() == [0, 1, 2] and set(folds["status"]) == {"ok"}
    members = pd.read_csv(workdir / "results/uq/members.tsv", sep="\t")
    assert members["status"].tolist() == ["ok", "ok"] and members["rng_seed"].nunique() == 2
    summary = pd.read_csv(workdir / "results/uq/summary.tsv", sep="\t")
    assert {"ensemble"} <= set(summary["method"])


def test_the_final_model_with_its_custom_layer_loads_in_safe_mode(study):
    workdir, _, _ = study
    final = workdir / "results/hpo/final"
    code = f"""
import json, sys
sys.path.insert(0, {str(workdir)!r})
from candle_lib.models.plugin import import_plugin
params = json.loads(open({str(final / "params.json")!r}).read())["params"]
import_plugin(params)
import keras
model = keras.saving.load_model({str(final / "model.keras")!r}, safe_mode=True)
print(type(model.layers[1]).__name__)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "FeatureGate"


def test_inference_through_the_exported_plugin_gives_the_final_trials_probabilities(study):
    workdir, path, _ = study
    final = pd.read_parquet(workdir / "results/hpo/final/predictions.parquet")
    test = final[final["split"] == "test"]
    ids = list(test["sample_id"])[:8]
    counts = pd.read_csv(workdir / "results/raw/synthetic/counts.tsv.gz", sep="\t", index_col=0)
    counts.loc[:, ids].to_csv(workdir / "new_counts.tsv", sep="\t")
    config = yaml.safe_load(path.read_text())
    config["infer"] = {"input": "new_counts.tsv", "format": "counts"}
    snakemake(workdir, write_config(workdir / "infer.yaml", config), "infer")
    got = pd.read_csv(workdir / "results/infer/predictions.tsv", sep="\t").set_index("sample_id")
    expected = test.set_index("sample_id").loc[ids]
    columns = [c for c in got.columns if c.startswith("prob_")]
    assert len(columns) == 2
    np.testing.assert_allclose(got.loc[ids, columns].to_numpy(), expected[columns].to_numpy(), atol=1e-5, rtol=0)


def test_a_changed_builder_makes_its_trials_stale_and_another_file_does_not(study):
    workdir, path, _ = study
    (workdir / "models" / "unrelated.py").write_text("X = 1\n")
    assert planned_jobs(snakemake(workdir, path, "-n", "hpo", "cv", "uq")) == {}
    builder = workdir / "models" / "gated.py"
    builder.write_text(builder.read_text() + "\n# a changed builder\n")
    plan = planned_jobs(snakemake(workdir, path, "-n", "hpo", "cv", "uq"))
    assert plan["train_trial"] == 2 + 3 + 2 and plan["train_final"] == 1
