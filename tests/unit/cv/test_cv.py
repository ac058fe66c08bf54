"""Cross-validation: fold trials, the summary statistics by hand, out-of-fold predictions (the cv
target run by Snakemake is in tests/workflow/test_cv_workflow.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from candle_lib.cv import (
    cv_params,
    cv_summary,
    cv_trials,
    mean_sd_ci,
    out_of_fold_predictions,
)
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import fold_role, trial_id

T_975_DF2 = 4.302652729911275  # Student t, 97.5th percentile, 2 degrees of freedom (tables: 4.303)


def test_mean_sd_and_ci_of_three_folds_by_hand():
    got = mean_sd_ci([0.8, 0.9, 1.0])
    half = T_975_DF2 * 0.1 / math.sqrt(3)  # sd = sqrt(((-.1)^2 + 0 + .1^2) / 2) = 0.1
    assert got["n"] == 3 and got["mean"] == pytest.approx(0.9) and got["sd"] == pytest.approx(0.1)
    assert got["ci_low"] == pytest.approx(0.9 - half) and got["ci_high"] == pytest.approx(0.9 + half)
    assert math.isnan(mean_sd_ci([0.5])["sd"]) and mean_sd_ci([0.5])["mean"] == 0.5


def test_summary_skips_failed_folds_and_bookkeeping_columns():
    folds = pd.DataFrame(
        {
            "fold": [0, 1, 2, 3],
            "status": ["ok", "ok", "ok", "failed"],
            "n_train": [30, 30, 30, 30],
            "val_accuracy": [0.8, 0.9, 1.0, np.nan],
        }
    )
    summary = cv_summary(folds).set_index("metric")
    assert list(summary.index) == ["val_accuracy"]
    assert summary.loc["val_accuracy", "n"] == 3 and summary.loc["val_accuracy", "mean"] == pytest.approx(0.9)


def test_fold_trials_are_content_addressed_and_checked():
    params = cv_params({"params": "model", "overrides": {"epochs": 2}}, {"model": "nt3"})
    assert params["epochs"] == 2
    trials = cv_trials(params, "prep-00000000", 3)
    assert [spec["role"] for spec in trials.values()] == [fold_role(0), fold_role(1), fold_role(2)]
    assert all(tid == trial_id(spec) for tid, spec in trials.items())
    assert list(cv_trials(params, "prep-00000000", 3, folds=[1])) == [list(trials)[1]]
    with pytest.raises(CandleInputError) as error:
        cv_trials(params, "prep-00000000", 3, folds=[3])
    assert error.value.where == "cv.folds"
    with pytest.raises(CandleInputError):
        cv_params({"params": "best"}, {}, None)
    best = {"params": resolve_params({"dropout": 0.3})}
    assert cv_params({"params": "best", "overrides": {}}, {}, best)["dropout"] == 0.3


def test_out_of_fold_predictions_refuse_a_sample_predicted_twice(tmp_path):
    for fold, ids in enumerate([["a", "b"], ["b"]]):
        (tmp_path / str(fold)).mkdir()
        pd.DataFrame({"sample_id": ids, "split": "train"}).to_parquet(tmp_path / str(fold) / "predictions.parquet")
    samples = pd.DataFrame({"sample_id": ["a", "b"], "split": ["train", "val"]})
    with pytest.raises(ValueError, match="more than one fold"):
        out_of_fold_predictions({0: tmp_path / "0", 1: tmp_path / "1"}, samples)
