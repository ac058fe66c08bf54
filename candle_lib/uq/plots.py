"""The figures of results/uq/ (matplotlib, Agg backend), drawn from UQTables.curves, test rows:
reliability diagram and risk-coverage curve (classifiers), coverage against nominal level
before and after recalibration (regressors). One line per method (ensemble, mc_dropout)."""

from __future__ import annotations

import numpy as np

from candle_lib.atomic import atomic_path
from candle_lib.render import pyplot


def _save(figure, path) -> None:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def plot_reliability(curves: dict, path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for method, curve in curves.items():
        bins = curve["reliability"]
        used = bins.count > 0
        axes.plot(bins.confidence[used], bins.accuracy[used], marker="o", label=f"{method} (ECE {bins.ece:.3f})")
    axes.set_xlabel("mean confidence in bin")
    axes.set_ylabel("accuracy in bin")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="upper left")
    _save(figure, path)
    plt.close(figure)


def plot_risk_coverage(curves: dict, path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    for method, curve in curves.items():
        axes.step(curve["coverage"], curve["risk"], where="post", label=f"{method} (AURC {np.mean(curve['risk']):.3f})")
    axes.set_xlabel("coverage (share of test rows kept, most confident first)")
    axes.set_ylabel("risk (error rate of the kept rows)")
    axes.set_xlim(0, 1)
    axes.legend(loc="upper left")
    _save(figure, path)
    plt.close(figure)


def plot_calibration_curve(curves: dict, path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="nominal")
    for k, (method, curve) in enumerate(curves.items()):
        axes.plot(curve["level"], curve["observed"], marker="o", color=f"C{k}", label=f"{method}")
        axes.plot(
            curve["level"],
            curve["recalibrated"],
            marker="s",
            linestyle="--",
            color=f"C{k}",
            label=f"{method}, recalibrated on val",
        )
    axes.set_xlabel("nominal level of the Gaussian interval")
    axes.set_ylabel("observed coverage on test (PICP)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="upper left")
    _save(figure, path)
    plt.close(figure)
