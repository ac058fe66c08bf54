"""Models run out of process through Snakemake (docs/plugins.md): a grid over a training
command's own hyperparameter, one of whose values makes the command exit non-zero (a failed
trial, not a failed workflow), its final model, ``candle status`` and the report; and an
IMPROVE-style script searched over its own hyperparameter."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO, planned_jobs, snakemake, tiny_config, write_config

# A training command of the test's own (the contract of candle_lib/trial/command.py): a nearest
# class-mean classifier whose ``shrink`` pulls every probability towards uniform; ``shrink`` 1.0
# or more is refused with a message on stderr and exit status 3.
COMMAND = '''"""Nearest class mean, with class probabilities pulled towards uniform by ``shrink``."""

import json
import os
import sys
from pathlib import Path

import numpy as np

source, target = Path(os.environ["CANDLE_INPUT_DIR"]), Path(os.environ["CANDLE_OUTPUT_DIR"])
params = json.loads((source / "params.json").read_text())
task = json.loads((source / "task.json").read_text())
shrink = params["shrink"]
if shrink >= 1.0:
    print(f"shrink must be below 1, got {shrink}", file=sys.stderr)
    sys.exit(3)
x, y = np.load(source / "x_train.npy"), np.load(source / "y_train.npy")
means = np.stack([x[y[:, k] == 1].mean(axis=0) for k in range(y.shape[1])])


def probabilities(rows):
    distances = ((rows[:, None, :] - means[None]) ** 2).sum(axis=2)
    nearest = np.eye(len(means))[distances.argmin(axis=1)]
    return (1 - shrink) * nearest + shrink / len(means)


x_eval, y_eval = np.load(source / "x_eval.npy"), np.load(source / "y_eval.npy")
p = probabilities(x_eval)
loss = float(-np.mean(np.log(np.clip((p * y_eval).sum(axis=1), 1e-7, 1))))
prefix = task["eval_prefix"]
(target / "history.csv").write_text(f"epoch,{prefix}_loss\\n1,{loss!r}\\n")
(target / "metrics.json").write_text(json.dumps({f"{prefix}_loss": loss}))
np.save(target / "predictions.npy", probabilities(np.load(source / "x_predict.npy")))
'''

SHRINKS = [0.1, 0.5, 1.5]
REPORT_TABLES = ("results/report/hpo_trials.html", "results/report/final_metrics.html")


def class_mean_loss(accuracy: float, shrink: float, n_classes: int = 2) -> float:
    """The command's log loss, from its accuracy: a right row has probability 1 - shrink +
    shrink / n on its class, a wrong one shrink / n."""
    chance = shrink / n_classes
    return -(accuracy * math.log(1 - shrink + chance) + (1 - accuracy) * math.log(chance))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The 3-point grid over the command's ``shrink`` (one failing), its final model and the
    report's tables of the search."""
    workdir = tmp_path_factory.mktemp("plugin_command")
    (workdir / "class_mean.py").write_text(COMMAND)
    config = tiny_config(
        model={"model": "command", "command": "python class_mean.py", "shrink": 0.2, "timeout": 120},
        hyperparameters={"shrink": {"type": "float", "default": 0.2, "range": [0, None], "help": "towards uniform"}},
        hpo={"space": {"shrink": SHRINKS}},
    )
    path = write_config(workdir / "config.yaml", config)
    plan = planned_jobs(snakemake(workdir, path, "-n", "hpo"))
    snakemake(workdir, path, "hpo", *REPORT_TABLES)
    return workdir, path, plan


def trial_table(workdir) -> pd.DataFrame:
    return pd.read_csv(workdir / "results/hpo/trials.tsv", sep="\t").set_index("shrink")


def trial_metrics(workdir, trial_id: str) -> dict:
    return json.loads((workdir / "results/trials" / trial_id / "metrics.json").read_text())


def test_the_plan_is_three_trials_and_the_final_model(study):
    _, _, plan = study
    assert plan["train_trial"] == 3 and plan["train_final"] == 1


def test_a_failing_command_is_a_failed_trial_with_its_stderr(study):
    workdir, _, _ = study
    trials = trial_table(workdir)
    assert sorted(trials.index) == SHRINKS and trials.loc[1.5, "status"] == "failed"
    assert pd.isna(trials.loc[1.5, "objective"])
    metrics = trial_metrics(workdir, trials.loc[1.5, "trial_id"])
    assert metrics["status"] == "failed" and metrics["objective"]["value"] is None
    assert metrics["failure_reason"] == (
        "the command failed (exit status 3); last lines of stderr:\nshrink must be below 1, got 1.5"
    )
    assert trials.loc[1.5, "failure_reason"] == metrics["failure_reason"]


def test_the_other_points_are_ok_with_the_objective_of_their_predictions(study):
    workdir, _, _ = study
    trials = trial_table(workdir)
    for shrink in (0.1, 0.5):
        trial = workdir / "results/trials" / trials.loc[shrink, "trial_id"]
        metrics = trial_metrics(workdir, trials.loc[shrink, "trial_id"])
        assert metrics["status"] == "ok" and trials.loc[shrink, "status"] == "ok"
        assert json.loads((trial / "params.json").read_text())["params"]["shrink"] == shrink
        # the trial scores the predictions itself: the loss recomputed from their accuracy, the
        # command's own val_loss (its history) and trials.tsv's objective agree
        predictions = pd.read_parquet(trial / "predictions.parquet")
        assert len(predictions) == metrics["n_eval"] == 12 and set(predictions["split"]) == {"val"}
        accuracy = float((predictions["pred_code"] == predictions["label_code"]).mean())
        assert metrics["objective"] == {
            "metric": "val_loss",
            "direction": "minimize",
            "value": pytest.approx(class_mean_loss(accuracy, shrink), rel=1e-9),
        }
        history = pd.read_csv(trial / "history.csv")
        assert history["epoch"].tolist() == [1] and metrics["epochs_run"] == 1
        assert history["val_loss"].iloc[0] == pytest.approx(metrics["objective"]["value"], rel=1e-9)
        assert trials.loc[shrink, "objective"] == pytest.approx(metrics["objective"]["value"], rel=1e-12)
        assert not (trial / "command_input").exists() and not (trial / "command_checkpoint").exists()


def test_best_json_is_the_ok_trial_of_smaller_loss(study):
    workdir, _, _ = study
    ok = trial_table(workdir).loc[[0.1, 0.5]]
    best = json.loads((workdir / "results/hpo/best.json").read_text())
    assert best["trial_id"] == ok.loc[ok["objective"].idxmin(), "trial_id"]
    assert best["params"]["model"] == "command" and best["params"]["shrink"] == ok["objective"].idxmin()


def test_the_final_model_is_the_command_trained_on_train_and_val(study):
    workdir, _, _ = study
    final = workdir / "results/hpo/final"
    metrics = json.loads((final / "metrics.json").read_text())
    best = json.loads((workdir / "results/hpo/best.json").read_text())
    spec = json.loads((final / "params.json").read_text())
    assert spec["params"] == best["params"] and spec["role"]["train"] == ["train", "val"]
    assert metrics["status"] == "ok" and metrics["role"] == "final" and metrics["n_train"] == 36 + 12
    predictions = pd.read_parquet(final / "predictions.parquet")
    assert set(predictions["split"]) == {"test"} and len(predictions) == metrics["n_eval"]
    accuracy = float((predictions["pred_code"] == predictions["label_code"]).mean())
    shrink = spec["params"]["shrink"]
    assert metrics["objective"]["metric"] == "test_loss"
    assert metrics["objective"]["value"] == pytest.approx(class_mean_loss(accuracy, shrink), rel=1e-9)


def test_candle_status_counts_the_ok_and_the_failed_trials(study):
    workdir, path, _ = study
    command = [sys.executable, "-m", "candle_lib", "status", "results", "--config", str(path)]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "trials: 3 of 3 done (2 ok, 1 failed), 0 running, 0 pending"
    failed = trial_table(workdir).loc[1.5, "trial_id"]
    at = lines.index("failed (1):")
    assert lines[at + 1] == f"  {failed}  the command failed (exit status 3); last lines of stderr:"
    assert lines[at + 2] == " " * (len(failed) + 4) + "shrink must be below 1, got 1.5"  # under the reason


def test_the_reports_tables_show_the_failed_trial_and_the_final_model(study):
    workdir, _, _ = study
    page = (workdir / REPORT_TABLES[0]).read_text()
    trials = trial_table(workdir)
    assert all(tid in page for tid in trials["trial_id"]) and "shrink must be below 1, got 1.5" in page
    final = (workdir / REPORT_TABLES[1]).read_text()
    assert "test_loss" in final and "class_mean.py" in final


# ---- an IMPROVE-style script (config/examples/models/improve_style_train.py) over its own l2_penalty

PENALTIES = [0.01, 1e9]


@pytest.fixture(scope="module")
def improve_study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("plugin_improve")
    shutil.copy(REPO / "config/examples/models/improve_style_train.py", workdir / "train.py")
    config = tiny_config(
        model={"model": "improve", "command": "python train.py", "timeout": 120},
        hyperparameters={"l2_penalty": {"type": "float", "default": 1.0, "range": [0, None]}},
        hpo={"space": {"l2_penalty": PENALTIES}},
    )
    path = write_config(workdir / "config.yaml", config)
    snakemake(workdir, path, "hpo")
    return workdir


def test_an_improve_script_gets_its_arguments_and_its_scores_become_metrics(improve_study):
    workdir = improve_study
    trials = pd.read_csv(workdir / "results/hpo/trials.tsv", sep="\t").set_index("l2_penalty")
    assert sorted(trials.index) == PENALTIES and set(trials["status"]) == {"ok"}
    for penalty in PENALTIES:
        trial = workdir / "results/trials" / trials.loc[penalty, "trial_id"]
        log = (trial / "trial.log").read_text()
        assert (
            f"train.py --epochs 3 --batch_size 16 --learning_rate 0.001 --l2_penalty {penalty!r} "
            f"--input_dir {trial}/command_input --output_dir {trial}/command_output"
        ) in log
        scores = json.loads((trial / "command_output/val_scores.json").read_text())
        metrics = trial_metrics(workdir, trials.loc[penalty, "trial_id"])
        assert metrics["metrics"]["val_acc"] == scores["acc"]
        assert metrics["objective"]["value"] == pytest.approx(scores["val_loss"], rel=1e-6)
    # a penalty of 1e9 leaves every weight ~0: both classes 1/2, a loss of ln 2
    assert trials.loc[1e9, "objective"] == pytest.approx(math.log(2), abs=1e-6)
    best = json.loads((workdir / "results/hpo/best.json").read_text())
    assert best["params"]["l2_penalty"] == 0.01 and trials.loc[0.01, "objective"] < math.log(2)
    final = json.loads((workdir / "results/hpo/final/metrics.json").read_text())
    assert final["status"] == "ok" and final["objective"]["metric"] == "test_loss"
