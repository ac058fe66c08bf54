"""Cross-validation of one configuration: one trial per fold, a summary of each metric over the
folds, and the out-of-fold predictions.

The folds are those of the prepared dataset's split table (column ``fold``: stratified by label,
grouped by ``data.sample_sheet.group_column`` when there is one, over the train+val rows; the
test split is never in a fold). Fold k's trial trains on the other folds and is scored on fold
k, which also serves as its validation data during training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import ParamSpecs, resolve_params
from candle_lib.trial.spec import fold_role, trial_id, trial_spec

CV_POOL = ["train", "val"]
CI_LEVEL = 0.95


def cv_params(cv: dict, model: dict, best: dict | None = None, *, specs: ParamSpecs | None = None) -> dict:
    """The configuration cross-validated: the model section (``cv.params: model``) or the HPO
    best trial's params (``cv.params: best``), then ``cv.overrides``."""
    if cv["params"] == "best":
        if best is None:
            raise CandleInputError("cv.params is best, but there is no HPO best yet", where="cv.params")
        base = best["params"]
    else:
        base = model
    return resolve_params(base, cv.get("overrides") or {}, where="cv.overrides", specs=specs)


def cv_trials(params: dict, data: str, n_folds: int, folds=None) -> dict[str, dict]:
    """{trial id: spec} of the fold trials, in fold order."""
    chosen = list(range(n_folds)) if folds is None else list(folds)
    bad = [k for k in chosen if not 0 <= k < n_folds]
    if bad:
        raise CandleInputError(f"folds {bad} are not in 0..{n_folds - 1} (data.splits.n_folds)", where="cv.folds")
    specs = [trial_spec(params, role=fold_role(k), data=data) for k in chosen]
    return {trial_id(spec): spec for spec in specs}


def mean_sd_ci(values, level: float = CI_LEVEL) -> dict:
    """Mean, sample sd (ddof 1) and the two-sided Student-t confidence interval of the mean:
    mean ± t_{(1+level)/2, n-1} · sd / √n. With one value, sd and the interval are NaN."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return {"n": n, "mean": mean, "sd": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * sd / np.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}


def fold_table(trial_dirs: dict[int, Path]) -> pd.DataFrame:
    """One row per fold: fold, trial id, status, failure reason, sizes and every metric."""
    rows = []
    for fold, directory in sorted(trial_dirs.items()):
        metrics = json.loads((Path(directory) / "metrics.json").read_text())
        rows.append(
            {
                "fold": fold,
                "trial_id": Path(directory).name,
                "status": metrics["status"],
                "failure_reason": metrics.get("failure_reason"),
                "n_train": metrics.get("n_train"),
                "n_eval": metrics.get("n_eval"),
                "epochs_run": metrics.get("epochs_run"),
                **metrics.get("metrics", {}),
            }
        )
    return pd.DataFrame(rows)


def cv_summary(folds: pd.DataFrame, level: float = CI_LEVEL) -> pd.DataFrame:
    """For each numeric metric column: n (finished folds), mean ± sd and the CI of the mean."""
    finished = folds[folds["status"] == "ok"]
    fixed = {"fold", "n_train", "n_eval", "epochs_run"}
    rows = []
    for column in folds.columns:
        if column in fixed or not pd.api.types.is_numeric_dtype(folds[column]):
            continue
        rows.append({"metric": column, **mean_sd_ci(finished[column].tolist(), level), "level": level})
    return pd.DataFrame(rows, columns=["metric", "n", "mean", "sd", "ci_low", "ci_high", "level"])


def out_of_fold_predictions(trial_dirs: dict[int, Path], samples: pd.DataFrame) -> pd.DataFrame:
    """Every fold's predictions with its fold number; each train+val sample must appear exactly
    once (a failed fold's samples are missing, and listed by the caller's fold table)."""
    parts = []
    for fold, directory in sorted(trial_dirs.items()):
        part = pd.read_parquet(Path(directory) / "predictions.parquet")
        part.insert(1, "fold", fold)
        parts.append(part)
    oof = pd.concat(parts, ignore_index=True)
    repeated = oof["sample_id"][oof["sample_id"].duplicated()]
    if len(repeated):
        raise ValueError(f"samples predicted by more than one fold: {repeated.head(5).tolist()}")
    pool = samples[samples["split"].isin(CV_POOL)]
    order = {sid: i for i, sid in enumerate(pool["sample_id"])}
    return oof.sort_values("sample_id", key=lambda ids: ids.map(order)).reset_index(drop=True)


def plot_fold_metric(folds: pd.DataFrame, summary: pd.DataFrame, metric: str, path) -> None:
    """The metric of each fold, with the mean and its confidence interval."""
    from candle_lib.render import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(folds["fold"].astype(str), folds[metric] if metric in folds else np.zeros(len(folds)), color="#8da0cb")
    row = summary[summary["metric"] == metric]
    if len(row):
        r = row.iloc[0]
        ax.axhline(r["mean"], color="black", label=f"mean {r['mean']:.3g}")
        if np.isfinite(r["ci_low"]):
            ax.axhspan(r["ci_low"], r["ci_high"], color="grey", alpha=0.25, label=f"{r['level']:.0%} CI")
        ax.legend(fontsize=8)
    ax.set_xlabel("fold")
    ax.set_ylabel(metric)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
