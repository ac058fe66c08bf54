"""Workflow tests: Snakemake itself runs the project's Snakefile on tiny configs.

One tiny study is run once per module; tests that change the config work on a copy of it
(shutil.copytree keeps modification times, so Snakemake sees the same state).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import default_config, planned_jobs, snakemake, tiny_config, write_config

from candle_lib.trial.spec import trial_id

pytestmark = pytest.mark.workflow

FULL_PLAN = {
    "synthesize_cohort": 1,
    "ingest_data": 1,
    "assign_splits": 1,
    "prepare_dataset": 1,
    "train_trial": 2,
    "aggregate_hpo": 1,
    "train_final": 1,
    "data_summary": 1,
    "report_tables": 1,
    "all": 1,
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A finished tiny study: 2 grid trials, aggregation and the final retraining."""
    workdir = tmp_path_factory.mktemp("study")
    config = write_config(workdir / "config.yaml", tiny_config())
    snakemake(workdir, config)
    return workdir


def copy_study(study, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(study, target, symlinks=True)
    return target


def trial_dirs(workdir):
    return sorted(p for p in (workdir / "results" / "trials").iterdir() if p.is_dir())


def test_dry_run_previews_the_whole_plan_and_writes_nothing(tmp_path):
    config = write_config(tmp_path / "config.yaml", tiny_config())
    result = snakemake(tmp_path, config, "-n")
    assert planned_jobs(result) == FULL_PLAN
    assert not (tmp_path / "results").exists()


def test_trial_directories_follow_the_contract(study):
    dirs = trial_dirs(study)
    assert len(dirs) == 2
    samples = pd.read_parquet(next((study / "results" / "data" / "prepared").glob("prep-*")) / "samples.parquet")
    val_ids = set(samples.loc[samples["split"] == "val", "sample_id"])
    for d in dirs:
        spec = json.loads((d / "params.json").read_text())
        assert trial_id(spec) == d.name  # content-addressed
        metrics = json.loads((d / "metrics.json").read_text())
        assert metrics["status"] == "ok" and metrics["failure_reason"] is None
        assert metrics["epochs_run"] == 3
        history = pd.read_csv(d / "history.csv")
        assert list(history["epoch"]) == [1, 2, 3]
        predictions = pd.read_parquet(d / "predictions.parquet")
        assert set(predictions["sample_id"]) == val_ids
        accuracy = float(np.mean(predictions["pred_code"] == predictions["label_code"]))
        assert metrics["metrics"]["val_accuracy"] == pytest.approx(accuracy)
        assert "epoch 3/3" in (d / "trial.log").read_text()


def test_splits_keep_patients_together(study):
    samples = pd.read_parquet(next((study / "results" / "data" / "prepared").glob("prep-*")) / "samples.parquet")
    parts_per_patient = samples.groupby("group")["split"].nunique()
    assert parts_per_patient.max() == 1
    assert set(samples["split"]) == {"train", "val", "test"}
    folds_per_patient = samples[samples["split"] != "test"].groupby("group")["fold"].nunique()
    assert folds_per_patient.max() == 1


def test_aggregate_and_final_evaluation(study):
    table = pd.read_csv(study / "results" / "hpo" / "trials.tsv", sep="\t")
    assert len(table) == 2
    assert list(table.columns[:3]) == ["trial_id", "order", "learning_rate"]
    assert set(table["trial_id"]) == {d.name for d in trial_dirs(study)}
    best = json.loads((study / "results" / "hpo" / "best.json").read_text())
    expected = table.loc[table["val_loss"].idxmin()]
    assert best["trial_id"] == expected["trial_id"]
    assert best["params"]["learning_rate"] == expected["learning_rate"]

    final = study / "results" / "hpo" / "final"
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["role"] == "final" and metrics["status"] == "ok"
    predictions = pd.read_parquet(final / "predictions.parquet")
    assert set(predictions["split"]) == {"test"}
    assert metrics["metrics"]["test_accuracy"] == pytest.approx(
        float(np.mean(predictions["pred_code"] == predictions["label_code"]))
    )
    assert 0 < metrics["metrics"]["test_majority_accuracy"] < 1
    spec = json.loads((final / "params.json").read_text())
    assert spec["params"] == best["params"] and spec["role"]["train"] == ["train", "val"]


def test_running_again_does_nothing(study):
    assert planned_jobs(snakemake(study, study / "config.yaml", "-n")) == {}


def test_adding_a_grid_value_reruns_only_the_new_trial(study, tmp_path):
    workdir = copy_study(study, tmp_path)
    before = {d.name: (d / "metrics.json").stat().st_mtime_ns for d in trial_dirs(workdir)}
    config = tiny_config(hpo={"space": {"learning_rate": [0.001, 0.01, 0.003]}})
    write_config(workdir / "config.yaml", config)
    plan = planned_jobs(snakemake(workdir, workdir / "config.yaml", "-n"))
    assert plan == {"train_trial": 1, "aggregate_hpo": 1, "train_final": 1, "report_tables": 1, "all": 1}
    snakemake(workdir, workdir / "config.yaml")
    after = {d.name: (d / "metrics.json").stat().st_mtime_ns for d in trial_dirs(workdir)}
    assert len(after) == 3
    assert all(after[name] == mtime for name, mtime in before.items())  # old trials untouched
    assert len(pd.read_csv(workdir / "results" / "hpo" / "trials.tsv", sep="\t")) == 3
    assert planned_jobs(snakemake(workdir, workdir / "config.yaml", "-n")) == {}


def test_changing_the_generated_data_reruns_everything_downstream(study, tmp_path):
    workdir = copy_study(study, tmp_path)
    config = tiny_config(data={"synthetic": {"seed": 4}})
    write_config(workdir / "config.yaml", config)
    assert planned_jobs(snakemake(workdir, workdir / "config.yaml", "-n")) == FULL_PLAN


def test_changing_an_input_file_reruns_everything_downstream(study, tmp_path):
    """The same pipeline on the user's own files: a changed counts file re-runs all after it."""
    inputs = tmp_path / "inputs"
    shutil.copytree(study / "results" / "raw" / "synthetic", inputs)
    files = {
        "counts": str(inputs / "counts.tsv.gz"),
        "genes": str(inputs / "genes.tsv"),
        "samples": str(inputs / "samples.tsv"),
    }
    config = write_config(tmp_path / "config.yaml", tiny_config(data={"source": "counts", "files": files}))
    snakemake(tmp_path, config)
    assert planned_jobs(snakemake(tmp_path, config, "-n")) == {}

    counts = pd.read_csv(files["counts"], sep="\t")
    counts.iloc[0, 1] += 1
    counts.to_csv(files["counts"], sep="\t", index=False)
    expected = {k: v for k, v in FULL_PLAN.items() if k != "synthesize_cohort"}
    assert planned_jobs(snakemake(tmp_path, config, "-n")) == expected


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"data": {"normalisation": "fpkm"}}, "data.normalisation"),
        ({"data": {"synthetic": {"n_genes": "2000"}}}, "data.synthetic.n_genes"),
        ({"model": {"lr": 0.1}}, "model.lr"),
        ({"hpo": {"space": {"learning_rate": ["__import__('os').system('touch pwned')"]}}}, "hpo.space.learning_rate"),
    ],
)
def test_bad_config_stops_with_the_key_named(tmp_path, change, key):
    config = write_config(tmp_path / "config.yaml", tiny_config(**change))
    result = snakemake(tmp_path, config, "-n", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert key in output
    assert "Traceback" not in output
    assert not (tmp_path / "pwned").exists()


def test_default_config_learns_the_synthetic_task(tmp_path):
    """The main job on the embedded default config: the final test accuracy is at least 0.90
    and well above guessing the majority class."""
    config = write_config(tmp_path / "config.yaml", default_config())
    snakemake(tmp_path, config)
    final = json.loads((tmp_path / "results" / "hpo" / "final" / "metrics.json").read_text())["metrics"]
    assert final["test_accuracy"] >= 0.90
    assert final["test_majority_accuracy"] <= 0.70
    assert len(pd.read_csv(tmp_path / "results" / "hpo" / "trials.tsv", sep="\t")) == 8
