"""One metric of a trial's predictions (predictions.parquet), on any subset of its rows, with
the same formulas as the trial's own metrics (:mod:`candle_lib.trial.metrics`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.trial.metrics import (
    accuracy,
    auc,
    categorical_crossentropy,
    regression_metrics,
)

CLASSIFICATION = {"accuracy": accuracy, "auc": auc, "loss": categorical_crossentropy}
REGRESSION = ("mse", "mae", "r2", "pearson")
METRICS = (*CLASSIFICATION, *REGRESSION)


def score(predictions: pd.DataFrame, metric: str) -> float:
    """``metric`` of these prediction rows; NaN when there are none or it is undefined (e.g. AUC
    with a class absent)."""
    if len(predictions) == 0:
        return math.nan
    if metric in CLASSIFICATION:
        probabilities = predictions[[c for c in predictions.columns if c.startswith("prob_")]].to_numpy(np.float64)
        value = CLASSIFICATION[metric](predictions["label_code"].to_numpy(), probabilities)
    elif metric in REGRESSION:
        value = regression_metrics("m", predictions["target"], predictions["prediction"])[f"m_{metric}"]
    else:
        raise ValueError(f"unknown metric {metric!r}; known: {list(METRICS)}")
    return math.nan if value is None else float(value)


def read_trial(trial_dir) -> tuple[dict, pd.DataFrame]:
    """(metrics.json, predictions) of a trial; predictions are empty for a failed trial."""
    trial_dir = Path(trial_dir)
    metrics = json.loads((trial_dir / "metrics.json").read_text())
    predictions = pd.read_parquet(trial_dir / "predictions.parquet") if metrics["status"] == "ok" else pd.DataFrame()
    return metrics, predictions


def scored_rows(predictions: pd.DataFrame, split: str, sample_ids=None) -> pd.DataFrame:
    """The rows of ``split``, optionally only those of ``sample_ids``."""
    if len(predictions) == 0:
        return predictions
    rows = predictions[predictions["split"] == split]
    return rows if sample_ids is None else rows[rows["sample_id"].isin(set(sample_ids))]


def trial_score(metrics: dict, predictions: pd.DataFrame, metric: str, split: str, sample_ids=None) -> dict:
    """One table row: status, failure reason, n_train, rows scored and the metric's value."""
    rows = scored_rows(predictions, split, sample_ids)
    ok = metrics["status"] == "ok"
    return {
        "status": metrics["status"],
        "failure_reason": metrics.get("failure_reason") or "",
        "n_train": metrics.get("n_train"),
        "n_scored": len(rows),
        "value": score(rows, metric) if ok else math.nan,
    }
