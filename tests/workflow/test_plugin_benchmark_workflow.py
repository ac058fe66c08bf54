"""An unmodified CANDLE-style benchmark module (model: candle_benchmark) through Snakemake: a grid
over a hyperparameter of its own parameter file, each trial's objective the last val_loss of the
History its run() returns, the best of the two, and its final model."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import planned_jobs, snakemake, tiny_config, write_config

# CANDLE's benchmark interface: initialize_parameters() reads tiny_default_model.txt, run(params)
# trains and returns a Keras History. It reads the rows the trial prepared ($CANDLE_INPUT_DIR) and
# records the parameters it was given in its output_dir.
BENCHMARK = '''"""tiny: a dense classifier as a CANDLE benchmark."""

import ast
import configparser
import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def initialize_parameters():
    parser = configparser.ConfigParser()
    parser.read(HERE / "tiny_default_model.txt")
    return {key: ast.literal_eval(value) for key, value in parser["Global_Params"].items()}


def run(params):
    import keras

    keras.utils.set_random_seed(params["rng_seed"])
    source = Path(os.environ["CANDLE_INPUT_DIR"])
    x, y = np.load(source / "x_train.npy"), np.load(source / "y_train.npy")
    x_val, y_val = np.load(source / "x_eval.npy"), np.load(source / "y_eval.npy")
    layers = [keras.layers.Dense(units, activation="relu") for units in params["dense"]]
    model = keras.Sequential([keras.Input((x.shape[1],)), *layers, keras.layers.Dense(y.shape[1], activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]), loss="categorical_crossentropy")
    (Path(params["output_dir"]) / "received.json").write_text(json.dumps(params))
    return model.fit(x, y, validation_data=(x_val, y_val), epochs=params["epochs"], batch_size=params["batch_size"], verbose=0)
'''

DEFAULTS = """[Global_Params]
model_name = 'tiny'
dense = [4]
learning_rate = 0.01
epochs = 2
batch_size = 16
rng_seed = 2017
save_path = 'save'
"""

DENSE = [[2], [16]]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The 2-point grid over the benchmark's ``dense`` and its final model."""
    workdir = tmp_path_factory.mktemp("plugin_benchmark")
    (workdir / "tiny").mkdir()
    (workdir / "tiny" / "tiny_baseline_keras2.py").write_text(BENCHMARK)
    (workdir / "tiny" / "tiny_default_model.txt").write_text(DEFAULTS)
    config = tiny_config(hpo={"space": {"dense": DENSE}, "objective": {"metric": "val_loss"}})
    # the benchmark's own parameter file gives every other value: no built-in model settings
    config["model"] = {"model": "candle_benchmark", "benchmark": "tiny/tiny_baseline_keras2.py", "timeout": 300}
    path = write_config(workdir / "config.yaml", config)
    plan = planned_jobs(snakemake(workdir, path, "-n", "hpo"))
    snakemake(workdir, path, "hpo")
    trials = pd.read_csv(workdir / "results/hpo/trials.tsv", sep="\t")
    return workdir, plan, trials


def test_the_plan_is_two_trials_and_the_final_model(study):
    _, plan, _ = study
    assert plan["train_trial"] == 2 and plan["train_final"] == 1


def test_each_trial_ran_the_benchmark_with_its_value_over_the_files_defaults(study):
    workdir, _, trials = study
    assert set(trials["status"]) == {"ok"} and len(trials) == 2
    seen = []
    for tid in trials["trial_id"]:
        trial = workdir / "results/trials" / tid
        params = json.loads((trial / "params.json").read_text())["params"]
        received = json.loads((trial / "command_output/received.json").read_text())
        assert received["dense"] == params["dense"]
        assert (received["learning_rate"], received["epochs"], received["batch_size"]) == (0.01, 2, 16)
        assert received["output_dir"] == received["save_path"] == str(trial / "command_output")
        seen.append(params["dense"])
    assert sorted(seen) == DENSE


def test_the_objective_is_the_last_val_loss_of_each_history(study):
    workdir, _, trials = study
    for tid, objective in zip(trials["trial_id"], trials["objective"], strict=True):
        trial = workdir / "results/trials" / tid
        history = pd.read_csv(trial / "history.csv")
        metrics = json.loads((trial / "metrics.json").read_text())
        assert history["epoch"].tolist() == [1, 2] and metrics["epochs_run"] == 2
        assert metrics["objective"]["metric"] == "val_loss"
        assert metrics["objective"]["value"] == history["val_loss"].iloc[-1] == pytest.approx(objective, rel=1e-12)
        # the benchmark writes no predictions
        assert len(pd.read_parquet(trial / "predictions.parquet")) == 0


def test_best_json_is_the_trial_of_smaller_val_loss(study):
    workdir, _, trials = study
    best = json.loads((workdir / "results/hpo/best.json").read_text())
    smaller = trials.loc[trials["objective"].idxmin()]
    assert best["trial_id"] == smaller["trial_id"]
    assert best["params"]["dense"] == json.loads(smaller["dense"])
    assert best["params"]["benchmark"] == "tiny/tiny_baseline_keras2.py"


def test_the_final_model_runs_the_benchmark_with_the_best_values(study):
    workdir, _, _ = study
    final = workdir / "results/hpo/final"
    best = json.loads((workdir / "results/hpo/best.json").read_text())
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["role"] == "final"
    received = json.loads((final / "command_output/received.json").read_text())
    assert received["dense"] == best["params"]["dense"]
    history = pd.read_csv(final / "history.csv")
    assert metrics["objective"]["value"] == history[f"{metrics['objective']['metric']}"].iloc[-1]
