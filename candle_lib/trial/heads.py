"""Regression heads that predict their own uncertainty (``regression_head`` of the params):

- ``GaussianHeadTask``: two outputs, the mean μ and the log-variance log σ², trained by the
  Gaussian NLL; predictions.parquet gets ``prediction`` (μ) and ``variance`` (σ²);
- ``QuantileHeadTask``: one output per quantile level, trained by the pinball loss;
  predictions.parquet gets ``q_<level>`` per level and ``prediction`` (the level nearest 0.5).

Both score their point prediction like the mean head (MSE, MAE, R², Pearson) and add
``<split>_gaussian_nll`` (with its 0.5 log 2π) or ``<split>_pinball``. Keras is imported only
when the loss is asked for (training).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from candle_lib.trial.metrics import regression_metrics


def pinball_loss(y: np.ndarray, q: np.ndarray, quantiles) -> float:
    """Mean over rows and levels of max(τ e, (τ - 1) e), e = y - q_τ; ``q`` is (rows, levels)."""
    tau = np.asarray(quantiles, dtype=np.float64)
    error = np.asarray(y, dtype=np.float64)[:, None] - q
    return float(np.mean(np.maximum(tau * error, (tau - 1.0) * error)))


class _HeadTask:
    output_activation = "linear"
    keras_metrics: list = []

    def targets(self, samples: pd.DataFrame, x) -> np.ndarray:
        return samples["target"].to_numpy(dtype=np.float32)[:, None]

    def _frame(self, samples: pd.DataFrame) -> pd.DataFrame:
        return samples[["sample_id", "split", "target"]].reset_index(drop=True).copy()


class GaussianHeadTask(_HeadTask):
    n_outputs = 2

    @property
    def loss(self):
        from candle_lib.models.losses import GaussianNLL

        return GaussianNLL()

    def metrics(self, prefix, samples, x, outputs, train_samples) -> dict:
        y = samples["target"].to_numpy(dtype=np.float64)
        mean, log_var = outputs[:, 0], outputs[:, 1]
        nll = np.mean(0.5 * (np.log(2.0 * np.pi) + log_var + (y - mean) ** 2 * np.exp(-log_var)))
        return {**regression_metrics(prefix, y, mean), f"{prefix}_gaussian_nll": float(nll)}

    def predictions(self, samples, x, outputs) -> pd.DataFrame:
        frame = self._frame(samples)
        frame["prediction"] = outputs[:, 0].astype(np.float64)
        frame["variance"] = np.exp(outputs[:, 1].astype(np.float64))
        return frame


class QuantileHeadTask(_HeadTask):
    def __init__(self, quantiles):
        self.quantiles = [float(q) for q in quantiles]
        self.n_outputs = len(self.quantiles)
        self.point = int(np.argmin(np.abs(np.asarray(self.quantiles) - 0.5)))

    @property
    def loss(self):
        from candle_lib.models.losses import Pinball

        return Pinball(self.quantiles)

    def metrics(self, prefix, samples, x, outputs, train_samples) -> dict:
        y = samples["target"].to_numpy(dtype=np.float64)
        scores = regression_metrics(prefix, y, outputs[:, self.point])
        return {**scores, f"{prefix}_pinball": pinball_loss(y, outputs, self.quantiles)}

    def predictions(self, samples, x, outputs) -> pd.DataFrame:
        frame = self._frame(samples)
        frame["prediction"] = outputs[:, self.point].astype(np.float64)
        for k, q in enumerate(self.quantiles):
            frame[quantile_column(q)] = outputs[:, k].astype(np.float64)
        return frame


def quantile_column(level: float) -> str:
    return f"q_{level:g}"


def head_task(params: dict):
    """The task of a gaussian or quantile head (see candle_lib.params.specs: regression_head)."""
    if params["regression_head"] == "gaussian":
        return GaussianHeadTask()
    return QuantileHeadTask(params["quantiles"])
