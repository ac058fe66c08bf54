"""The ``maxabs``, ``minmax`` and ``standard`` scalers in NumPy alone, bit for bit scikit-learn's.

A trial fits and applies one scaler; importing scikit-learn for it cost 1.5 s and ~60 MiB per
trial process (scikit-learn imports SciPy). These classes repeat the float operations of
scikit-learn 1.9.1's ``MaxAbsScaler``, ``MinMaxScaler`` and ``StandardScaler`` (dense input,
no sample weights) in the same order, so that their fitted state, their output and their saved
JSON (:func:`candle_lib.trial.scaling.scaler_to_json`) are identical to scikit-learn's:

- fitted state is set in scikit-learn's order (``n_features_in_`` first), so the JSON keys are
  too; ``get_params`` returns the constructor parameters sorted by name, as scikit-learn does;
- input is checked like scikit-learn's: two dimensions, at least one row and one column,
  float64/float32/float16 kept (anything else becomes float64), NaN allowed (ignored when
  fitting), infinity refused;
- max-abs and min-max: per-block ``nanmax``/``nanmin`` combined by maximum/minimum; a range
  below 10 machine epsilons of the data's dtype scales by 1;
- z-score: mean and variance by the corrected two-pass formula per block, float64
  accumulators, combined across blocks by Chan, Golub and LeVeque's update; a column whose
  variance is within the two-pass algorithm's error bound of zero scales by 1; the sample count
  is one number when every column saw the same number of values, else one per column.

``tests/unit/trial/test_numpy_scalers.py`` holds them equal to scikit-learn's on random data.
"""

from __future__ import annotations

import numpy as np

_KEPT_DTYPES = (np.float64, np.float32, np.float16)


def _all_finite_or_nan(x: np.ndarray) -> bool:
    """True unless ``x`` holds an infinity: one sum first (finite for almost every input), then
    row blocks, so that no temporary the size of ``x`` is made."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(x)):
            return True
    rows = max(1, 2**20 // max(1, x[:1].size))
    return not any(np.isinf(x[start : start + rows]).any() for start in range(0, len(x), rows))


def _checked(x, name: str, *, copy: bool = False, n_features: int | None = None) -> np.ndarray:
    """``x`` as a 2-D float array, as scikit-learn's input check gives it."""
    x = np.asarray(x)
    if x.dtype.type not in _KEPT_DTYPES:
        x, copy = x.astype(np.float64), False
    if x.ndim != 2:
        raise ValueError(f"Expected a 2D array, got an array of {x.ndim} dimension(s); reshape your data")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"Found array with shape {x.shape} while {name} needs at least 1 sample and 1 feature")
    if not _all_finite_or_nan(x):
        raise ValueError(f"Input X contains infinity or a value too large for {x.dtype}.")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"X has {x.shape[1]} features, but {name} is expecting {n_features} features as input.")
    if copy or not x.flags.writeable:
        x = np.array(x, copy=True)
    return x


def _ones_for_tiny(scale: np.ndarray, constant: np.ndarray | None = None) -> np.ndarray:
    """Scale 1 where a column is (near) constant: ``constant`` when given, else a scale below
    10 machine epsilons of its dtype. Returns ``scale`` itself when ``constant`` is given (the
    z-score's square roots are its own), a copy otherwise."""
    if constant is None:
        constant = scale < 10 * np.finfo(scale.dtype).eps
        scale = np.array(scale, copy=True)
    scale[constant] = 1.0
    return scale


class _NumpyScaler:
    """Parameters, fitting in blocks and the fitted check shared by the three scalers."""

    PARAMS: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in sorted(self.PARAMS)}

    def fit(self, x, y=None):
        for name in [name for name in vars(self) if name.endswith("_") and not name.startswith("_")]:
            delattr(self, name)
        return self.partial_fit(x)

    def _fit_input(self, x) -> np.ndarray:
        """The block to fit on; the first block sets ``n_features_in_``."""
        first = not hasattr(self, "n_samples_seen_")
        x = _checked(x, type(self).__name__, n_features=None if first else getattr(self, "n_features_in_", None))
        if first:
            self.n_features_in_ = x.shape[1]
        return x

    def _transform_input(self, x, copy: bool) -> np.ndarray:
        if not hasattr(self, "scale_"):
            raise ValueError(f"This {type(self).__name__} instance is not fitted yet")
        return _checked(x, type(self).__name__, copy=copy, n_features=getattr(self, "n_features_in_", None))


class MaxAbsScaler(_NumpyScaler):
    """x / max|x| per column (scikit-learn's ``MaxAbsScaler``)."""

    PARAMS = ("copy", "clip")

    def __init__(self, *, copy: bool = True, clip: bool = False):
        self.copy = copy
        self.clip = clip

    def partial_fit(self, x, y=None):
        first = not hasattr(self, "n_samples_seen_")
        x = self._fit_input(x)
        max_abs = np.asarray(np.nanmax(np.abs(x), axis=0))
        if first:
            self.n_samples_seen_ = x.shape[0]
        else:
            max_abs = np.maximum(self.max_abs_, max_abs)
            self.n_samples_seen_ += x.shape[0]
        self.max_abs_ = max_abs
        self.scale_ = _ones_for_tiny(max_abs)
        return self

    def transform(self, x):
        x = self._transform_input(x, self.copy)
        x /= self.scale_
        if self.clip:
            np.clip(x, np.asarray(-1.0, dtype=x.dtype), np.asarray(1.0, dtype=x.dtype), out=x)
        return x


class MinMaxScaler(_NumpyScaler):
    """(x - min) / (max - min) per column, mapped onto ``feature_range`` (scikit-learn's
    ``MinMaxScaler``)."""

    PARAMS = ("feature_range", "copy", "clip")

    def __init__(self, feature_range=(0, 1), *, copy: bool = True, clip: bool = False):
        self.feature_range = feature_range
        self.copy = copy
        self.clip = clip

    def _range(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.feature_range[0], dtype=dtype), np.asarray(self.feature_range[1], dtype=dtype)

    def partial_fit(self, x, y=None):
        if self.feature_range[0] >= self.feature_range[1]:
            raise ValueError(
                f"Minimum of desired feature range must be smaller than maximum. Got {self.feature_range}."
            )
        first = not hasattr(self, "n_samples_seen_")
        x = self._fit_input(x)
        low, high = self._range(x.dtype)
        data_min = np.asarray(np.nanmin(x, axis=0))
        data_max = np.asarray(np.nanmax(x, axis=0))
        if first:
            self.n_samples_seen_ = x.shape[0]
        else:
            data_min = np.minimum(self.data_min_, data_min)
            data_max = np.maximum(self.data_max_, data_max)
            self.n_samples_seen_ += x.shape[0]
        data_range = data_max - data_min
        self.scale_ = (high - low) / _ones_for_tiny(data_range)
        self.min_ = low - data_min * self.scale_
        self.data_min_ = data_min
        self.data_max_ = data_max
        self.data_range_ = data_range
        return self

    def transform(self, x):
        x = self._transform_input(x, self.copy)
        x *= self.scale_
        x += self.min_
        if self.clip:
            np.clip(x, *self._range(x.dtype), out=x)
        return x


def _float64_sum(total, x: np.ndarray) -> np.ndarray:
    """Column sums with a float64 accumulator (``total`` is np.sum or np.nansum)."""
    if x.dtype.itemsize < 8:
        return total(x, axis=0, dtype=np.float64)
    return total(x, axis=0)


def update_mean_and_var(x: np.ndarray, last_mean, last_var, last_count):
    """Mean, variance (None when ``last_var`` is None) and per-column count of the values seen
    so far, updated with the rows ``x`` (NaN ignored): the block's own sums by the corrected
    two-pass formula, combined with the previous ones by Chan, Golub and LeVeque's update."""
    last_count = np.asarray(last_count, dtype=np.float64)
    last_sum = last_mean * last_count
    nan_mask = np.isnan(x)
    total = np.nansum if nan_mask.any() else np.sum
    new_sum = _float64_sum(total, x)
    new_count = x.shape[0] - _float64_sum(total, nan_mask.astype(x.dtype))
    count = last_count + new_count
    mean = (last_sum + new_sum) / count
    if last_var is None:
        return mean, None, count
    deviation = x - new_sum / new_count
    correction = total(deviation, axis=0)
    deviation **= 2
    new_unnormalized = total(deviation, axis=0)
    new_unnormalized -= correction**2 / new_count
    last_unnormalized = last_var * last_count
    with np.errstate(divide="ignore", invalid="ignore"):
        last_over_new = last_count / new_count
        unnormalized = (
            last_unnormalized + new_unnormalized + last_over_new / count * (last_sum / last_over_new - new_sum) ** 2
        )
    first = last_count == 0
    unnormalized[first] = new_unnormalized[first]
    return mean, unnormalized / count, count


def near_constant(var, mean, n_samples):
    """Columns whose variance is within the two-pass algorithm's float64 error bound of 0."""
    eps = np.finfo(np.float64).eps
    return var <= n_samples * eps * var + (n_samples * mean * eps) ** 2


class StandardScaler(_NumpyScaler):
    """(x - mean) / sd per column, population sd (scikit-learn's ``StandardScaler``)."""

    PARAMS = ("with_mean", "with_std", "copy")

    def __init__(self, *, copy: bool = True, with_mean: bool = True, with_std: bool = True):
        self.with_mean = with_mean
        self.with_std = with_std
        self.copy = copy

    def partial_fit(self, x, y=None):
        first = not hasattr(self, "n_samples_seen_")
        x = self._fit_input(x)
        if first:
            self.n_samples_seen_ = np.zeros(x.shape[1], dtype=np.int64)
        elif np.size(self.n_samples_seen_) == 1:
            self.n_samples_seen_ = np.repeat(self.n_samples_seen_, x.shape[1]).astype(np.int64, copy=False)
        if not hasattr(self, "scale_"):
            self.mean_ = 0.0
            self.var_ = 0.0 if self.with_std else None
        if not self.with_mean and not self.with_std:
            self.mean_ = None
            self.var_ = None
            self.n_samples_seen_ += x.shape[0] - np.isnan(x).sum(axis=0)
        else:
            self.mean_, self.var_, self.n_samples_seen_ = update_mean_and_var(
                x, self.mean_, self.var_, self.n_samples_seen_
            )
        if np.max(self.n_samples_seen_) == np.min(self.n_samples_seen_):
            self.n_samples_seen_ = self.n_samples_seen_[0]
        if self.with_std:
            constant = near_constant(self.var_, self.mean_, self.n_samples_seen_)
            self.scale_ = _ones_for_tiny(np.sqrt(self.var_), constant)
        else:
            self.scale_ = None
        return self

    def transform(self, x, copy: bool | None = None):
        x = self._transform_input(x, self.copy if copy is None else copy)
        if self.with_mean:
            x -= np.asarray(self.mean_).astype(x.dtype)
        if self.with_std:
            x /= np.asarray(self.scale_).astype(x.dtype)
        return x


NUMPY_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "maxabs": MaxAbsScaler}
