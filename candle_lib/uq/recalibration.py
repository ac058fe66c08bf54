"""Empirical recalibration of prediction intervals on a held-out calibration split (here the
validation rows every member was monitored on, never trained on), then applied to test rows.

- Gaussian intervals μ̄ ± s·z·σ̄: the scale s at level L is q_L / z_L, where q_L is the
  empirical L-quantile of r = |y - μ̄| / σ̄ on the calibration rows (numpy's "higher" method:
  an observed value, so at least a share L of the calibration rows is covered);
- quantile intervals [q_lo - m, q_hi + m] (conformalized quantile regression, Romano et al.
  2019): m is the empirical L-quantile ("higher") of E = max(q_lo - y, y - q_hi).
"""

from __future__ import annotations

import numpy as np

from candle_lib.uq.regression import z_score


def gaussian_scale(y: np.ndarray, mean: np.ndarray, total: np.ndarray, level: float) -> float:
    sd = np.sqrt(total)
    if np.any(sd <= 0):
        raise ValueError("recalibration needs a positive predictive variance on every calibration row")
    residuals = np.abs(y - mean) / sd
    return float(np.quantile(residuals, level, method="higher") / z_score(level))


def quantile_margin(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> float:
    scores = np.maximum(lower - y, y - upper)
    return float(np.quantile(scores, level, method="higher"))
