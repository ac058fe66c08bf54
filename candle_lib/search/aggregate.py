"""Aggregate trial directories into one table and pick the best trial. Rebuildable at any time
from the trial directories alone; nothing is appended to a shared file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from candle_lib.errors import CandleInputError
from candle_lib.trial.spec import missing_trial_files


def _cell(value):
    """Lists and dicts go into one TSV cell as canonical JSON."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def read_trial(trial_dir) -> dict:
    """A finished trial's spec and metrics. A directory that lacks one of the trial files
    (deleted, or cut short) is refused: a table never reports a trial that is not on disk."""
    d = Path(trial_dir)
    missing = missing_trial_files(d)
    if missing:
        what = "does not exist" if not d.is_dir() else f"lacks {', '.join(missing)}"
        raise CandleInputError(
            f"trial directory {what}: the trial is incomplete; run the workflow again to re-run it", source=str(d)
        )
    try:
        spec = json.loads((d / "params.json").read_text())
        metrics = json.loads((d / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CandleInputError(f"unreadable trial ({exc})", source=str(d)) from exc
    return {"trial_id": d.name, "spec": spec, "metrics": metrics}


def trials_table(
    trial_dirs, objective_metric: str, varied: list[str] | None = None, data_columns: dict | None = None
) -> pd.DataFrame:
    """One row per trial: trial_id, each hyperparameter (searched ones first, ``data.*`` ones
    from ``data_columns``: {prep id: {data key: value}}), the prepared variant, status,
    objective (the configured metric), every final metric, epochs, seconds, failure reason."""
    rows = []
    varied = list(varied or [])
    for order, trial_dir in enumerate(trial_dirs):
        trial = read_trial(trial_dir)
        params, m = trial["spec"]["params"], trial["metrics"]
        value = m["metrics"].get(objective_metric) if m["status"] == "ok" else None
        row = {"trial_id": trial["trial_id"], "order": order}
        data_values = (data_columns or {}).get(trial["spec"]["data"], {})
        for name in varied:
            row[name] = _cell(data_values.get(name) if name.startswith("data.") else params[name])
        row.update({name: _cell(params[name]) for name in params if name not in varied})
        row["data"] = trial["spec"]["data"]
        row.update({"status": m["status"], "objective": value})
        row.update(m["metrics"])
        row.update(
            {"epochs_run": m["epochs_run"], "wall_seconds": m["wall_seconds"], "failure_reason": m["failure_reason"]}
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _failure_summary(table: pd.DataFrame, shown: int = 3) -> str:
    """The most common failure reasons with their counts, e.g. "3 x NaN loss at epoch 2"."""
    if "failure_reason" not in table.columns:
        return "no failure reason recorded"
    counts = table["failure_reason"].fillna("no reason recorded").astype(str).value_counts(sort=False)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # most common, then by name
    parts = [f"{n} x {reason}" for reason, n in ranked[:shown]]
    more = len(counts) - shown
    return "; ".join(parts) + (f"; and {more} other reason(s)" if more > 0 else "")


def best_trial(table: pd.DataFrame, direction: str, metric: str | None = None) -> pd.Series:
    """The ok trial with the best objective; ties go to the earlier trial in search order.
    With no such trial, the error says whether trials failed or the ``metric`` is what is missing."""
    if direction not in ("minimize", "maximize"):
        raise CandleInputError(
            f"direction must be minimize or maximize, not '{direction}'", where="hpo.objective.direction"
        )
    ok = table[(table["status"] == "ok") & table["objective"].map(lambda v: v is not None and not math.isnan(v))]
    if ok.empty:
        n_ok = int((table["status"] == "ok").sum())
        if n_ok:  # the trials are fine: the objective's metric is what is missing
            name = f"'{metric}'" if metric else "the objective metric"
            why = (
                "it is null in each" if metric in table.columns else f"they report {', '.join(_metric_columns(table))}"
            )
            raise CandleInputError(
                f"{n_ok} trial(s) finished with status ok, but none has a finite value of {name} ({why})",
                where="hpo.objective.metric",
            )
        raise CandleInputError(
            f"no trial finished with status ok ({len(table)} failed); {_failure_summary(table)}; "
            "every reason is in the failure_reason column of trials.tsv"
        )
    values = ok["objective"].astype(float)
    position = values.idxmin() if direction == "minimize" else values.idxmax()
    return ok.loc[position]


def _metric_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith(("val_", "test_", "train_"))]


def best_summary(table: pd.DataFrame, trial_dirs, metric: str, direction: str) -> dict:
    best = best_trial(table, direction, metric)
    spec = read_trial(Path(trial_dirs[int(best["order"])]))["spec"]
    return {
        "trial_id": best["trial_id"],
        "objective": {"metric": metric, "direction": direction, "value": float(best["objective"])},
        "params": spec["params"],
        "data": spec["data"],
        "n_trials": int(len(table)),
        "n_ok": int((table["status"] == "ok").sum()),
    }
