"""The uq target through Snakemake on tiny configs: a 3-member seed ensemble with MC dropout
of a classifier, and a 2-member gaussian-head ensemble on the synthetic drug-response set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import planned_jobs, snakemake, tiny_config, write_config

CLASSIFIER_UQ = {"members": 3, "mc_dropout": {"passes": 4, "seed": 1}}


def test_seed_ensemble_and_mc_dropout_of_a_classifier(tmp_path):
    config = tiny_config(uq=CLASSIFIER_UQ)
    config["model"]["epochs"] = 2
    path = write_config(tmp_path / "config.yaml", config)
    assert planned_jobs(snakemake(tmp_path, path, "-n", "uq")).get("train_trial") == 4  # 3 members + the saved one
    snakemake(tmp_path, path, "uq")

    uq = tmp_path / "results/uq"
    members = pd.read_csv(uq / "members.tsv", sep="\t")
    assert members["status"].tolist() == ["ok"] * 3 and members["rng_seed"].nunique() == 3
    for tid in members["trial_id"]:
        assert json.loads((tmp_path / "results/trials" / tid / "params.json").read_text())["role"] == {
            "kind": "member",
            "train": ["train"],
            "eval": "val",
            "predict": ["test"],
        }
    summary = pd.read_csv(uq / "summary.tsv", sep="\t").set_index(["method", "split", "metric"])["value"]
    predictions = pd.read_parquet(uq / "predictions.parquet")
    assert set(predictions["method"]) == {"ensemble", "mc_dropout"}
    # the summary's test NLL is the mean of -log p̄_y of the per-sample table (floor 1e-7)
    test = predictions[(predictions["method"] == "ensemble") & (predictions["split"] == "test")]
    probs = test.filter(like="prob_").to_numpy()
    chosen = probs[np.arange(len(test)), test["label_code"].to_numpy()]
    assert summary["ensemble", "test", "nll"] == pytest.approx(-np.mean(np.log(np.maximum(chosen, 1e-7))), rel=1e-9)
    assert summary["ensemble", "test", "n"] == len(test)
    assert (predictions["mutual_information"] >= -1e-12).all() and (predictions["entropy"] <= np.log(2) + 1e-12).all()
    samples = pd.read_parquet(uq / "mc_dropout/samples.parquet")
    assert sorted(samples["pass"].unique()) == [0, 1, 2, 3]
    assert summary["mc_dropout", "test", "mean_mutual_information"] > 0  # dropout masks disagree
    for name in ("reliability.png", "risk_coverage.png"):
        assert (uq / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # one more member: only its trial runs; the others are shared by id
    config["uq"]["members"] = 4
    assert (
        planned_jobs(snakemake(tmp_path, write_config(tmp_path / "config.yaml", config), "-n", "uq")).get("train_trial")
        == 1
    )


def test_gaussian_head_ensemble_on_drug_responses_recalibrates_its_intervals(tmp_path):
    config = tiny_config(data={"source": "synthetic", "normalization": "none"})
    config["data"]["synthetic"] = {"variant": "drug_response", "n_cell_lines": 20, "n_drugs": 12, "seed": 4}
    config["model"] = {
        "model": "dense",
        "task": "regression",
        "dense": [16],
        "dropout": 0.0,
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 64,
        "epochs": 8,
        "scaling": "standard",
    }
    config["hpo"] = {
        "method": "grid",
        "objective": {"metric": "val_mse", "direction": "minimize"},
        "space": {"learning_rate": [0.01]},
    }
    config["uq"] = {"members": 2, "model": {"regression_head": "gaussian"}, "levels": [0.5, 0.9]}
    snakemake(tmp_path, write_config(tmp_path / "config.yaml", config), "uq")

    uq = tmp_path / "results/uq"
    predictions = pd.read_parquet(uq / "predictions.parquet")
    np.testing.assert_allclose(predictions["total"], predictions["aleatoric"] + predictions["epistemic"])
    assert (predictions["aleatoric"] > 0).all() and (predictions["epistemic"] > 0).all()
    intervals = pd.read_csv(uq / "intervals.tsv", sep="\t")
    assert intervals["level"].tolist() == [0.5, 0.9] and set(intervals["interval"]) == {"gaussian"}
    assert (intervals["val_picp"] >= 0).all()
    # recalibrated on val: the val rows are covered at least at each level by construction, so
    # the test coverage moves towards the level
    assert (
        abs(intervals["test_picp_recalibrated"] - intervals["level"])
        <= abs(intervals["test_picp"] - intervals["level"]) + 0.1
    ).all()
    summary = pd.read_csv(uq / "summary.tsv", sep="\t").set_index(["method", "split", "metric"])["value"]
    test = predictions[predictions["split"] == "test"]
    assert summary["ensemble", "test", "mean_epistemic"] == pytest.approx(test["epistemic"].mean(), rel=1e-9)
    assert (uq / "calibration_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
