"""Cross-validation: the cv target run by Snakemake (from the model section and from the HPO best)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import planned_jobs, snakemake, tiny_config, write_config

from candle_lib.trial.spec import fold_role


@pytest.mark.workflow
def test_cv_target_runs_every_fold_and_summarizes(tmp_path):
    config = write_config(tmp_path / "config.yaml", tiny_config(cv={"overrides": {"epochs": 2}}))
    plan = planned_jobs(snakemake(tmp_path, config, "cv", "-n"))
    assert plan["train_trial"] == 3 and plan["aggregate_cv"] == 1 and "aggregate_hpo" not in plan
    snakemake(tmp_path, config, "cv")
    folds = pd.read_csv(tmp_path / "results/cv/folds.tsv", sep="\t")
    summary = pd.read_csv(tmp_path / "results/cv/summary.tsv", sep="\t").set_index("metric")
    oof = pd.read_parquet(tmp_path / "results/cv/oof_predictions.parquet")
    prep = next((tmp_path / "results/data/prepared").iterdir())
    samples = pd.read_parquet(prep / "samples.parquet")
    pool = samples[samples["split"].isin(["train", "val"])]
    assert folds["fold"].tolist() == [0, 1, 2] and set(folds["status"]) == {"ok"}
    assert sorted(oof["sample_id"]) == sorted(pool["sample_id"])  # every train+val sample once
    expected_fold = pool.set_index("sample_id")["fold"]
    assert (oof.set_index("sample_id")["fold"] == expected_fold.loc[oof["sample_id"]]).all()
    assert (folds["n_eval"] + folds["n_train"] == len(pool)).all()
    acc = folds["val_accuracy"]
    assert summary.loc["val_accuracy", "mean"] == pytest.approx(acc.mean())
    assert summary.loc["val_accuracy", "sd"] == pytest.approx(acc.std(ddof=1))
    for fold, group in oof.groupby("fold"):  # each fold's accuracy is its own out-of-fold rows'
        assert folds.set_index("fold").loc[fold, "val_accuracy"] == pytest.approx(
            (group["pred_label"] == group["label"]).mean()
        )
    assert (tmp_path / "results/cv/plots/fold_metric.png").stat().st_size > 1000
    page = (tmp_path / "results/report/cv/summary.html").read_text()  # the report's table
    assert "<th>ci_low</th>" in page and repr(float(summary.loc["val_accuracy", "mean"])) in page
    assert planned_jobs(snakemake(tmp_path, config, "cv", "-n")) == {}


@pytest.mark.workflow
def test_cv_of_the_hpo_best_runs_after_the_search(tmp_path):
    config = write_config(tmp_path / "config.yaml", tiny_config(cv={"params": "best", "folds": [0]}))
    snakemake(tmp_path, config, "cv")
    best = json.loads((tmp_path / "results/hpo/best.json").read_text())
    folds = pd.read_csv(tmp_path / "results/cv/folds.tsv", sep="\t")
    spec = json.loads((tmp_path / "results/trials" / folds["trial_id"][0] / "params.json").read_text())
    assert spec["params"] == best["params"] and spec["role"] == fold_role(0)
    assert planned_jobs(snakemake(tmp_path, config, "cv", "-n")) == {}
