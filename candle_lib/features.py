"""Feature filters. Unsupervised filters that look at values use training rows only."""

from __future__ import annotations

import numpy as np

from .errors import CandleInputError


def sparseness_mask(values: np.ndarray, min_nonzero_samples: int) -> np.ndarray:
    """Keep features that are non-zero in at least ``min_nonzero_samples`` samples
    (CANDLE's sparseness threshold). Uses no labels."""
    return (np.asarray(values) != 0).sum(axis=0) >= int(min_nonzero_samples)


def top_variance_indices(train_values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` features of highest variance over the given (training) rows,
    in their original column order. Ties go to the earlier column."""
    variance = np.asarray(train_values, dtype=np.float64).var(axis=0)
    if k >= variance.size:
        return np.arange(variance.size)
    order = np.argsort(-variance, kind="stable")[:k]
    return np.sort(order)


def select_features(values, train_rows, *, min_nonzero_samples: int = 0, top_variance: int | None = None) -> np.ndarray:
    """Indices of the features that pass the sparseness filter, then the variance filter
    computed on ``train_rows`` only."""
    keep = np.flatnonzero(sparseness_mask(values, min_nonzero_samples))
    if keep.size == 0:
        raise CandleInputError(f"no feature is non-zero in {min_nonzero_samples} samples; lower the sparseness threshold")
    if top_variance:
        sub = np.asarray(values)[np.asarray(train_rows)][:, keep]
        keep = keep[top_variance_indices(sub, top_variance)]
    return keep
