"""Tables of training-data analysis, rebuilt at any time from the trial directories: one row
per (point, scored subset) with the metric, and summaries over repeated draws."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from candle_lib.tda.scoring import read_trial, trial_score


def score_points(points: list[dict], trials_root, metric: str, split: str, subset=None) -> pd.DataFrame:
    """One row per point: the point's keys, then status, n_train, n_scored and ``value`` (the
    metric on the rows of ``split``; ``subset(point)`` may narrow them to a list of sample ids).
    Each trial directory is read once, however many points share it."""
    read = functools.cache(lambda tid: read_trial(Path(trials_root) / tid))
    rows = []
    for point in points:
        metrics, predictions = read(point["trial"])
        ids = subset(point) if subset else None
        rows.append({**point, **trial_score(metrics, predictions, metric, split, ids)})
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per ``by`` group: mean and sample sd (ddof 1; NaN with one draw) of ``value`` over the ok
    trials, their number, the failed ones, and the mean training rows."""
    ok = table["status"] == "ok"
    grouped = table.assign(ok=ok, value=table["value"].where(ok)).groupby(by, sort=True)
    out = grouped.agg(
        mean=("value", "mean"),
        sd=("value", "std"),
        n_ok=("ok", "sum"),
        n_failed=("ok", lambda s: int((~s).sum())),
        n_train=("n_train", "mean"),
    )
    return out.reset_index()


def curve_tables(
    points: list[dict], trials_root, metric: str, split: str, by: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary by ``by``, one row per point): the learning curve (by fraction) and the noise
    curves (by noise kind and level)."""
    trials = score_points(points, trials_root, metric, split)
    return summarize(trials, by), trials


def group_ids(samples: pd.DataFrame, column: str = "logo_group") -> dict[str, list]:
    """{group: its sample ids} of a prepared dataset's sample table."""
    return {str(g): list(part["sample_id"]) for g, part in samples.groupby(samples[column].astype(str))}
