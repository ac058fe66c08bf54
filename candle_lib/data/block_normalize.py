"""Normalizations of compound feature blocks (the DeepTox grid: standard deviation, tanh, sqrt).

Each feature's mean m and standard deviation s (population, ddof = 0) are fitted on the
training rows only (scikit-learn's fit/transform discipline), then every row is transformed:

- ``standard_deviation``: z = (x - m) / s
- ``tanh``:               tanh(z)
- ``sqrt``:               sign(z) * sqrt(|z|)

A feature constant on the training rows (s = 0) becomes 0 everywhere. tanh and sqrt squash the
z-score so that the heavy tails of descriptors and counts weigh less; on a binary block all
three keep the two levels apart. Arithmetic is float64; the result is float32.
"""

from __future__ import annotations

import numpy as np

from candle_lib.errors import CandleInputError

BLOCK_NORMALIZATIONS = ("standard_deviation", "tanh", "sqrt")


def fit_standardization(values, train_rows) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sd) of each column over ``train_rows`` (a boolean mask or row indices); sd is the
    population sd, and 1 where it is 0 (so that a constant feature maps to 0)."""
    train = np.asarray(values, dtype=np.float64)[np.asarray(train_rows)]
    if train.shape[0] == 0:
        raise CandleInputError("no training rows to fit the feature normalization on")
    mean = train.mean(axis=0)
    sd = train.std(axis=0)
    return mean, np.where(sd > 0, sd, 1.0)


def squash(method: str, z: np.ndarray) -> np.ndarray:
    """Apply ``method`` to z-scores, in place where possible."""
    if method == "standard_deviation":
        return z
    if method == "tanh":
        return np.tanh(z, out=z)
    if method == "sqrt":
        return np.copysign(np.sqrt(np.abs(z)), z)
    raise CandleInputError(f"unknown feature normalization '{method}'; choose one of {BLOCK_NORMALIZATIONS}")


def normalize_block(method: str, values, train_rows) -> tuple[np.ndarray, dict]:
    """Normalize a samples x features matrix with statistics of ``train_rows``; returns the
    float32 matrix and the fitted statistics ({"method", "mean", "sd"}, lists)."""
    if method not in BLOCK_NORMALIZATIONS:
        squash(method, np.zeros(0))  # raises, naming the choices
    mean, sd = fit_standardization(values, train_rows)
    z = (np.asarray(values, dtype=np.float64) - mean) / sd
    return squash(method, z).astype(np.float32), {"method": method, "mean": mean.tolist(), "sd": sd.tolist()}
