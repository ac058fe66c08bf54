"""The NumPy scalers against scikit-learn's, bit for bit: fitted state, transform, in-place
scaling and the saved scaler.json text, fitted in one block and in many."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import preprocessing

from candle_lib.trial import numpy_scalers, scaling
from candle_lib.trial.scaling import apply_scaler, fit_scaler, scale_in_place, scaler_from_json, scaler_to_json

SKLEARN = {
    "maxabs": preprocessing.MaxAbsScaler,
    "minmax": preprocessing.MinMaxScaler,
    "standard": preprocessing.StandardScaler,
}
KINDS = sorted(SKLEARN)


def sklearn_fit(kind: str, values: np.ndarray, **options):
    """fit_scaler's blocks, with scikit-learn's scaler."""
    scaler = SKLEARN[kind](**options)
    rows = max(1, scaling.FIT_BLOCK_BYTES // max(1, values[:1].nbytes))
    for start in range(0, max(1, len(values)), rows):
        scaler.partial_fit(values[start : start + rows])
    return scaler


def awkward_matrix(seed: int, rows: int = 60, columns: int = 12, nan_fraction: float = 0.1) -> np.ndarray:
    """float32 values over several magnitudes, with NaN, a constant column, a column of one
    value plus float noise, an all-but-one NaN column and a column of large values."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(0.0, 1.0, (rows, columns)) * 10.0 ** rng.integers(-3, 4, columns)).astype(np.float32)
    x[rng.random((rows, columns)) < nan_fraction] = np.nan
    x[:, 0] = 2.5  # constant
    x[:, 1] = np.float32(1e4) + rng.integers(0, 2, rows).astype(np.float32) * np.float32(1e-3)  # tiny variance
    x[:, 2] = np.float32(0.1) + np.float32(np.spacing(np.float32(0.1))) * rng.integers(0, 2, rows)  # near constant
    x[1:, 3] = np.nan  # one value seen
    x[:, 4] = rng.normal(1e6, 1.0, rows).astype(np.float32)  # large mean, small spread
    x[:, 5] = 0.0  # all zero
    return x


def state(scaler) -> dict:
    return {name: value for name, value in vars(scaler).items() if name.endswith("_") and not name.startswith("_")}


def assert_same_state(ours, theirs):
    ours, theirs = state(ours), state(theirs)
    assert list(ours) == list(theirs)
    for name, value in theirs.items():
        mine = ours[name]
        assert type(mine) is type(value), name
        if isinstance(value, np.ndarray):
            assert mine.dtype == value.dtype and np.array_equal(mine, value, equal_nan=True), name
        else:
            assert mine == value, name


def assert_same_scaler(kind, ours, theirs, data):
    assert_same_state(ours, theirs)
    assert ours.get_params() == theirs.get_params()
    assert scaler_to_json(kind, ours) == scaler_to_json(kind, theirs)
    expected = theirs.transform(data)
    assert np.array_equal(ours.transform(data), expected, equal_nan=True)
    assert expected.dtype == ours.transform(data).dtype
    if data.dtype == np.float32:  # scale_in_place takes float32 only
        in_place = data.copy()
        assert scale_in_place(ours, in_place) is in_place
        assert np.array_equal(in_place, expected, equal_nan=True)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():  # all-NaN columns: both warn alike
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("block_rows", [None, 1, 7])
def test_same_bits_as_scikit_learn(monkeypatch, kind, seed, block_rows):
    x = awkward_matrix(seed)
    if block_rows is not None:
        monkeypatch.setattr(scaling, "FIT_BLOCK_BYTES", block_rows * x[:1].nbytes)
    ours, theirs = fit_scaler(kind, x), sklearn_fit(kind, x)
    assert type(ours).__module__ == numpy_scalers.__name__
    held_out = awkward_matrix(seed + 100, rows=25)
    assert_same_scaler(kind, ours, theirs, held_out)


@pytest.mark.parametrize("kind", KINDS)
def test_same_bits_without_nan_and_on_one_row(monkeypatch, kind):
    x = awkward_matrix(9, nan_fraction=0.0)
    x[:, 3] = np.linspace(-1, 1, len(x))
    monkeypatch.setattr(scaling, "FIT_BLOCK_BYTES", 13 * x[:1].nbytes)
    assert_same_scaler(kind, fit_scaler(kind, x), sklearn_fit(kind, x), x)
    assert_same_scaler(kind, fit_scaler(kind, x[:1]), sklearn_fit(kind, x[:1]), x)


def test_standard_sample_count_is_one_number_without_nan_and_per_column_with():
    x = awkward_matrix(2, nan_fraction=0.0)
    x[:, 3] = 1.0
    assert fit_scaler("standard", x).n_samples_seen_ == len(x)
    x[0, 6] = np.nan
    np.testing.assert_array_equal(fit_scaler("standard", x).n_samples_seen_[5:8], [len(x), len(x) - 1, len(x)])


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("minmax", {"feature_range": (-2, 3), "clip": True}),
        ("maxabs", {"clip": True}),
        ("standard", {"with_mean": False}),
        ("standard", {"with_std": False}),
        ("standard", {"with_mean": False, "with_std": False}),
    ],
)
def test_same_bits_with_options(kind, options):
    x = awkward_matrix(5)
    assert_same_scaler(kind, fit_scaler(kind, x, **options), sklearn_fit(kind, x, **options), awkward_matrix(6) * 3)


@pytest.mark.parametrize("kind", KINDS)
def test_float64_and_integer_input(kind):
    x = awkward_matrix(7).astype(np.float64)
    assert_same_scaler(kind, fit_scaler(kind, x), sklearn_fit(kind, x), x)
    counts = np.random.default_rng(1).integers(0, 50, (20, 4))
    ours, theirs = fit_scaler(kind, counts), sklearn_fit(kind, counts)
    assert_same_state(ours, theirs)
    assert np.array_equal(apply_scaler(ours, counts), apply_scaler(theirs, counts))


@pytest.mark.parametrize("kind", KINDS)
def test_float64_far_from_zero(monkeypatch, kind):
    # the two-pass correction term only shows in the last bits when the mean dwarfs the spread
    x = np.random.default_rng(8).normal(1e9, 1.0, (50, 40))
    monkeypatch.setattr(scaling, "FIT_BLOCK_BYTES", 20 * x[:1].nbytes)
    assert_same_scaler(kind, fit_scaler(kind, x), sklearn_fit(kind, x), x)


@pytest.mark.parametrize("kind", KINDS)
def test_json_written_by_scikit_learn_reads_back_to_the_same_numbers(kind):
    x = awkward_matrix(3)
    theirs = sklearn_fit(kind, x)
    text = scaler_to_json(kind, theirs)
    back = scaler_from_json(text)
    assert type(back).__module__ == numpy_scalers.__name__
    assert scaler_to_json(kind, back) == text
    assert np.array_equal(apply_scaler(back, x), apply_scaler(theirs, x), equal_nan=True)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_refused_as_scikit_learn_refuses_it(kind):
    x = awkward_matrix(1)
    scaler = fit_scaler(kind, x)
    with pytest.raises(ValueError, match="12 features"):
        scaler.transform(x[:, :5])
    with pytest.raises(ValueError, match="infinity"):
        fit_scaler(kind, np.array([[1.0, np.inf]], dtype=np.float32))
    with pytest.raises(ValueError, match="2D"):
        fit_scaler(kind, np.ones(3, dtype=np.float32))
