"""Plots of a search: the objective against trial order (with the best so far), and the
objective against each searched hyperparameter. PNG files, drawn with matplotlib's Agg backend
(no display needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from candle_lib.render import pyplot


def _finished(table: pd.DataFrame) -> pd.DataFrame:
    values = pd.to_numeric(table["objective"], errors="coerce")
    return table.assign(objective=values)[(table["status"] == "ok") & values.notna()]


def best_so_far(values: pd.Series, direction: str) -> pd.Series:
    """The running best of ``values`` in order (cummin to minimize, cummax to maximize)."""
    return values.cummin() if direction == "minimize" else values.cummax()


def plot_objective_by_trial(table: pd.DataFrame, metric: str, direction: str, path) -> None:
    plt = pyplot()
    ok = _finished(table).sort_values("order")
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.scatter(ok["order"], ok["objective"], s=14, alpha=0.7, label="trial")
    axes.step(ok["order"], best_so_far(ok["objective"], direction), where="post", color="C3", label="best so far")
    failed = table[table["status"] != "ok"]
    if len(failed):
        axes.scatter(
            failed["order"],
            [ok["objective"].max() if len(ok) else 0.0] * len(failed),
            marker="x",
            color="grey",
            label=f"failed ({len(failed)})",
        )
    axes.set_xlabel("trial (search order)")
    axes.set_ylabel(f"{metric} ({direction})")
    axes.legend(loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _is_numeric(values: pd.Series) -> bool:
    return bool(len(values)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_objective_by_param(table: pd.DataFrame, name: str, metric: str, path) -> None:
    """A scatter over a numeric hyperparameter (log scale when its positive values span 100x or
    more), or one column of points per value of a categorical one."""
    plt = pyplot()
    ok = _finished(table)
    figure, axes = plt.subplots(figsize=(6, 4))
    values = ok[name]
    if _is_numeric(values):
        axes.scatter(values.astype(float), ok["objective"], s=14, alpha=0.7)
        positive = values[values > 0]
        if len(positive) == len(values) and len(values) and positive.max() / positive.min() >= 100:
            axes.set_xscale("log")
    else:
        labels = [str(v) for v in values]
        categories = list(dict.fromkeys(sorted(set(labels))))
        axes.scatter([categories.index(label) for label in labels], ok["objective"], s=14, alpha=0.7)
        axes.set_xticks(range(len(categories)), categories, rotation=30, ha="right", fontsize=8)
    axes.set_xlabel(name)
    axes.set_ylabel(metric)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_file_name(name: str) -> str:
    return "objective_by_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png"


def write_search_plots(table: pd.DataFrame, varied: list[str], metric: str, direction: str, directory) -> list[Path]:
    """objective_by_trial.png and objective_by_<name>.png for each searched name; the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "objective_by_trial.png"]
    plot_objective_by_trial(table, metric, direction, written[0])
    for name in varied:
        if name in table.columns:
            written.append(directory / plot_file_name(name))
            plot_objective_by_param(table, name, metric, written[-1])
    return written
