"""Feature scaling, fitted on a trial's training rows only and saved with the trial.

``maxabs``, ``minmax`` and ``standard`` are NumPy re-implementations of scikit-learn's scalers
(:mod:`candle_lib.trial.numpy_scalers`: the same fitted state, output and saved JSON, bit for
bit), so that a trial process does not import scikit-learn and SciPy (1.5 s and ~60 MiB);
``robust`` and ``percent`` are scikit-learn's, imported only when one of them is asked for.
Fitted state is saved as JSON (no pickle), so a saved trial can be inspected and re-loaded
safely; :func:`scaler_from_json` reads the JSON written by either implementation.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from candle_lib.trial.numpy_scalers import NUMPY_SCALERS

if TYPE_CHECKING:
    from sklearn.preprocessing import QuantileTransformer


def _robust_scaler(**options):
    from sklearn.preprocessing import RobustScaler

    return RobustScaler(**options)


def _quantile_transformer(**options):
    from sklearn.preprocessing import QuantileTransformer

    return QuantileTransformer(**options)


# Each kind's constructor (keyword options, as the scaler's own).
SCALERS = {
    "standard": NUMPY_SCALERS["standard"],  # z-score: (x - mean) / sd
    "minmax": NUMPY_SCALERS["minmax"],  # (x - min) / (max - min)
    "maxabs": NUMPY_SCALERS["maxabs"],  # x / max|x|
    "robust": _robust_scaler,  # (x - median) / IQR
    "percent": _quantile_transformer,  # percentile rank in [0, 1] among the training rows
}

# The percent scaler keeps at most this many quantiles per feature (scikit-learn's default).
# Its saved JSON holds n_quantiles x n_features numbers: ~20 bytes each, so 1,000 quantiles of
# 60,000 genes is ~1.2 GB. Filter features first, or pass a smaller n_quantiles.
PERCENT_MAX_QUANTILES = 1000

# Scalers with partial_fit (z-score, min-max, max-abs) are fitted on row blocks of about this
# size. Max and min are the same either way; the z-score's mean and variance are combined
# across blocks by scikit-learn's update formula (the NumPy scalers repeat it), equal to a
# one-shot fit up to float rounding.
FIT_BLOCK_BYTES = 4 * 2**20


def percent_scaler(n_train: int, n_quantiles: int | None = None) -> QuantileTransformer:
    """The unfitted ``percent`` scaler (CANDLE's name): each value becomes its percentile rank
    among the training rows, per feature, in [0, 1].

    It is scikit-learn's ``QuantileTransformer(output_distribution="uniform",
    n_quantiles=min(1000, n_train), random_state=0)``. Fitted on n training rows with q = n
    quantiles (n <= 1000), the sorted training values x_(0) <= ... <= x_(n-1) of a feature are
    its quantiles, x_(i) having rank i / (n - 1). A value v then maps to:

    - a training value held by sorted positions i..j (j > i when tied): (i + j) / 2 / (n - 1),
      the mean of the tied ranks (i.e. (average rank - 1) / (n - 1) in 1-based ranks), except
      that every value equal to the training minimum maps to exactly 0 and every value equal to
      the training maximum to exactly 1;
    - a value between two adjacent distinct training values a < b: linear interpolation between
      the largest rank of a and the smallest rank of b;
    - a value below the training minimum: 0; above the training maximum: 1 (clipped, never
      outside [0, 1]); NaN stays NaN (NaN is ignored when fitting).

    These statements are exact (the stored quantiles are the sorted training values) when the
    training rows hold no NaN. With more than 1000 training rows, 1000 evenly spaced quantiles (linear-interpolated
    percentiles of the training rows) stand in for the training values, so ranks are approximate
    to about 1/1000; above 10,000 rows scikit-learn estimates them from a 10,000-row subsample
    drawn with ``random_state=0`` (deterministic).
    """
    q = min(PERCENT_MAX_QUANTILES if n_quantiles is None else int(n_quantiles), int(n_train))
    return _quantile_transformer(output_distribution="uniform", n_quantiles=max(q, 1), random_state=0)


def fit_scaler(kind: str, train_values: np.ndarray, **options):
    """Fit the named scaler on training rows; ``none`` returns None.

    ``options`` are passed to the scaler's constructor (for ``percent``: ``n_quantiles``, see
    :func:`percent_scaler`)."""
    if kind == "none":
        return None
    if kind not in SCALERS:
        raise ValueError(f"unknown scaling '{kind}'; choose one of {sorted(SCALERS) + ['none']}")
    if kind == "percent":
        scaler = percent_scaler(np.shape(train_values)[0], **options).fit(train_values)
        train = np.asarray(train_values, dtype=np.float64)
        if scaler.n_quantiles_ == train.shape[0] and not np.isnan(train).any():
            # scikit-learn's quantiles are np.nanpercentile at linspace(0, 100, n); with n
            # quantiles of n rows they are the sorted rows up to float rounding (7 can come back
            # as 6.999999999999998, which splits a tie). Store the exact sorted values.
            scaler.quantiles_ = np.sort(train, axis=0)
        return scaler
    scaler = SCALERS[kind](**options)
    if not hasattr(scaler, "partial_fit"):
        return scaler.fit(train_values)
    # fit is reset + partial_fit in scikit-learn: fed in row blocks, the z-score's float64
    # temporaries stay the size of a block rather than twice the training rows
    rows = max(1, FIT_BLOCK_BYTES // max(1, train_values[:1].nbytes))
    for start in range(0, max(1, len(train_values)), rows):
        scaler.partial_fit(train_values[start : start + rows])
    return scaler


def apply_scaler(scaler, values: np.ndarray) -> np.ndarray:
    out = values if scaler is None else scaler.transform(values)
    return np.asarray(out, dtype=np.float32)


def scale_in_place(scaler, values: np.ndarray) -> np.ndarray:
    """Scale a float32 array in place (the same numbers as :func:`apply_scaler`) and return it.

    Every scaler here transforms in place when its ``copy`` is False, so a trial's training
    rows are never held twice."""
    if scaler is None:
        return values
    if values.dtype != np.float32 or not values.flags.writeable:
        raise ValueError("scale_in_place needs a writeable float32 array")
    saved = scaler.copy
    scaler.copy = False
    try:
        out = scaler.transform(values)
    finally:
        scaler.copy = saved
    if out is not values:  # an input the scaler had to convert: keep the caller's buffer
        values[...] = out
    return values


def scaler_to_json(kind: str, scaler) -> str:
    state = {}
    if scaler is not None:
        for name, value in vars(scaler).items():
            if name.endswith("_") and not name.startswith("_"):
                state[name] = value.tolist() if isinstance(value, np.ndarray) else value
    params = {} if scaler is None else scaler.get_params()
    return json.dumps({"kind": kind, "params": params, "state": state}, default=lambda v: v.item())


def scaler_from_json(text: str):
    spec = json.loads(text)
    if spec["kind"] == "none":
        return None
    scaler = SCALERS[spec["kind"]](**spec["params"])
    for name, value in spec["state"].items():
        setattr(scaler, name, np.asarray(value) if isinstance(value, list) else value)
    return scaler
