"""Transfer: a model of the source group fine-tuned on a fraction of the target group's
training rows, against a model trained from scratch on the same rows; both, and the source
model alone, scored on the target group's held-out rows."""

from __future__ import annotations

import pandas as pd

from candle_lib.tda.tables import group_ids, score_points, summarize

KEYS = ["source", "target", "fraction"]


def transfer_tables(
    points: list[dict], trials_root, samples: pd.DataFrame, metric: str, split: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, one row per trial). The summary has one row per (source, target, fraction):
    the mean and sd over draws of the fine-tuned and of the scratch trials, their difference
    fine_tuned_minus_scratch, and source_only, the source model's score on the target."""
    ids = group_ids(samples)
    trials = score_points(points, trials_root, metric, split, subset=lambda point: ids.get(point["target"], []))
    by_start = summarize(trials, [*KEYS, "start"])
    source_only = (
        by_start[by_start["start"] == "source only"].set_index(["source", "target"])["mean"].rename("source_only")
    )
    parts = []
    for start, name in (("fine-tuned", "fine_tuned"), ("scratch", "scratch")):
        part = by_start[by_start["start"] == start].set_index(KEYS)[["mean", "sd", "n_ok", "n_train"]]
        parts.append(part.rename(columns={c: f"{name}_{c}" for c in part.columns}))
    summary = pd.concat(parts, axis=1).reset_index()
    summary["fine_tuned_minus_scratch"] = summary["fine_tuned_mean"] - summary["scratch_mean"]
    summary = summary.join(source_only, on=["source", "target"])
    return summary, trials
