"""Plots of training-data analysis (PNG, matplotlib's Agg backend): the learning curve and the
noise curves as mean +/- sd over draws, and the train group x test group heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from candle_lib.render import pyplot


def _curve(axes, summary: pd.DataFrame, x: str, label: str | None = None) -> None:
    part = summary[summary["n_ok"] > 0]
    axes.errorbar(part[x], part["mean"], yerr=part["sd"].fillna(0.0), marker="o", capsize=3, label=label)


def plot_learning_curve(summary: pd.DataFrame, metric: str, split: str, path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    _curve(axes, summary, "fraction")
    axes.set_xlabel("share of the training rows")
    axes.set_ylabel(f"{split} {metric} (mean ± sd over draws)")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
    plt.close(figure)


def plot_noise_curve(summary: pd.DataFrame, metric: str, split: str, path) -> None:
    """One panel per noise kind (their levels have different units)."""
    plt = pyplot()
    kinds = list(dict.fromkeys(summary["noise"]))
    figure, axes = plt.subplots(1, max(1, len(kinds)), figsize=(5 * max(1, len(kinds)), 4), squeeze=False, sharey=True)
    units = {
        "label": "share of training labels replaced",
        "feature": "sd of Gaussian noise on scaled training features",
    }
    for panel, kind in zip(axes[0], kinds):
        _curve(panel, summary[summary["noise"] == kind], "level")
        panel.set_title(f"{kind} noise")
        panel.set_xlabel(units.get(kind, "level"))
        panel.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{split} {metric} (mean ± sd over seeds)")
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
    plt.close(figure)


def plot_group_matrix(wide: pd.DataFrame, metric: str, split: str, path) -> None:
    plt = pyplot()
    values = wide.to_numpy(dtype=np.float64)
    figure, axes = plt.subplots(figsize=(1.2 * wide.shape[1] + 3, 0.5 * wide.shape[0] + 2))
    image = axes.imshow(values, cmap="viridis", aspect="auto")
    axes.set_xticks(range(wide.shape[1]), [str(c) for c in wide.columns], rotation=45, ha="right")
    axes.set_yticks(range(wide.shape[0]), [str(i) for i in wide.index])
    for (i, j), value in np.ndenumerate(values):
        axes.text(j, i, "—" if np.isnan(value) else f"{value:.3g}", ha="center", va="center", color="white", fontsize=8)
    axes.set_xlabel(f"test group ({split} rows)")
    axes.set_ylabel("trained on")
    figure.colorbar(image, ax=axes, label=metric)
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
    plt.close(figure)
