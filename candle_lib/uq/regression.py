"""Uncertainty of an ensemble of regressors: members' means ``mu`` and variances ``var`` of
shape (members, rows); a member without a variance head has variance 0.

- predictive mean μ̄ = mean_m μ_m;
- aleatoric = mean_m σ²_m; epistemic = var_m μ_m, the population variance (ddof = 0);
  total = aleatoric + epistemic (the variance of the equal-weight mixture);
- a Gaussian interval at level L is μ̄ ± z σ̄ with z = Φ⁻¹((1 + L) / 2) and σ̄ = √total;
- a quantile interval at level L = 1 - 2τ is [q_τ, q_{1-τ}], quantiles averaged over members;
- PICP = the share of rows whose y lies in the interval (ends included); width = mean width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class Decomposition:
    mean: np.ndarray
    aleatoric: np.ndarray
    epistemic: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.aleatoric + self.epistemic


def decompose(mu: np.ndarray, var: np.ndarray | None = None) -> Decomposition:
    mu = np.asarray(mu, dtype=np.float64)
    aleatoric = np.zeros(mu.shape[1]) if var is None else np.asarray(var, dtype=np.float64).mean(axis=0)
    return Decomposition(mu.mean(axis=0), aleatoric, mu.var(axis=0, ddof=0))


def z_score(level: float) -> float:
    return float(norm.ppf((1.0 + level) / 2.0))


def gaussian_interval(
    mean: np.ndarray, total: np.ndarray, level: float, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    half = scale * z_score(level) * np.sqrt(total)
    return mean - half, mean + half


def picp(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((y >= lower) & (y <= upper)))


def mean_width(lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean(upper - lower))


def quantile_levels(quantiles) -> dict[float, tuple[float, float]]:
    """{level: (τ, 1 - τ)} of the symmetric pairs in ``quantiles`` (e.g. 0.05, 0.95 -> 0.9)."""
    present = {round(float(q), 10) for q in quantiles}
    return {
        round(1.0 - 2.0 * q, 10): (q, round(1.0 - q, 10))
        for q in sorted(present)
        if q < 0.5 and round(1.0 - q, 10) in present
    }


def gaussian_nll(y: np.ndarray, mean: np.ndarray, total: np.ndarray) -> float:
    """Mean of 0.5 (log(2π σ²) + (y - μ)² / σ²) under the moment-matched Gaussian."""
    return float(np.mean(0.5 * (np.log(2.0 * np.pi * total) + (y - mean) ** 2 / total)))
