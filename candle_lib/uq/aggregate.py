"""results/uq/ from finished member trials (and MC-dropout samples): members.tsv, summary.tsv,
predictions.parquet, intervals.tsv (regression) and the plots. A failed member is listed with
its reason in members.tsv and left out of the ensemble."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from candle_lib.atomic import write_table
from candle_lib.uq.members import (
    passes_as_members,
    stack_classification,
    stack_regression,
)
from candle_lib.uq.plots import (
    plot_calibration_curve,
    plot_reliability,
    plot_risk_coverage,
)
from candle_lib.uq.summary import UQTables, add_classification, add_regression


def members_table(members: list[dict], trials_root) -> pd.DataFrame:
    rows = []
    for member in members:
        result = json.loads((Path(trials_root) / member["trial_id"] / "metrics.json").read_text())
        rows.append(
            {
                **member,
                "status": result["status"],
                "failure_reason": result.get("failure_reason"),
                "epochs_run": result.get("epochs_run"),
                **result["metrics"],
            }
        )
    return pd.DataFrame(rows)


def uq_tables(task: str, member_frames: list, mc_frames: list, *, levels, bins: int) -> UQTables:
    tables = UQTables()
    for method, frames in (("ensemble", member_frames), ("mc_dropout", mc_frames)):
        if method == "mc_dropout" and not frames:
            continue
        if task == "classification":
            add_classification(tables, method, stack_classification(frames), bins)
        else:
            add_regression(tables, method, stack_regression(frames), levels)
    return tables


def write_uq_results(
    task: str,
    members: list[dict],
    trials_root,
    outputs: dict,
    *,
    mc_samples=None,
    levels=(0.5, 0.8, 0.9, 0.95),
    bins: int = 10,
) -> UQTables:
    """``outputs``: paths of members, summary, predictions and, by task, intervals and
    calibration_curve (regression) or reliability and risk_coverage (classification)."""
    table = members_table(members, trials_root)
    ok = table.loc[table["status"] == "ok", "trial_id"]
    frames = [pd.read_parquet(Path(trials_root) / tid / "predictions.parquet") for tid in ok]
    mc_frames = passes_as_members(pd.read_parquet(mc_samples)) if mc_samples else []
    tables = uq_tables(task, frames, mc_frames, levels=levels, bins=bins)
    write_table(outputs["members"], table)
    for name, frame in tables.frames().items():
        write_table(outputs[name], frame)
    if task == "classification":
        plot_reliability(tables.curves, outputs["reliability"])
        plot_risk_coverage(tables.curves, outputs["risk_coverage"])
    else:
        plot_calibration_curve(tables.curves, outputs["calibration_curve"])
    return tables
