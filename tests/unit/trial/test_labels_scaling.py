"""Label encodings, and scalers fitted on training rows only with a JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from candle_lib.data.labels import encode_ordinal, fit_classes, one_hot
from candle_lib.trial.scaling import (
    SCALERS,
    apply_scaler,
    fit_scaler,
    scaler_from_json,
    scaler_to_json,
)

# --- labels ------------------------------------------------------------------------------------


def test_classes_are_sorted_and_codes_follow_them():
    labels = ["tumor", "normal", "metastatic", "tumor", "normal"]
    classes = fit_classes(labels)
    assert classes == ["metastatic", "normal", "tumor"]
    np.testing.assert_array_equal(encode_ordinal(labels, classes), [2, 1, 0, 2, 1])
    assert encode_ordinal(labels, classes).dtype == np.int64
    # order of appearance does not matter
    assert fit_classes(list(reversed(labels))) == classes


def test_classes_from_non_string_labels():
    # numbers are compared as strings: "10" < "2" < "3"
    assert fit_classes([3, 2, 10, 2]) == ["10", "2", "3"]
    np.testing.assert_array_equal(encode_ordinal([3, 2, 10], ["10", "2", "3"]), [2, 1, 0])


def test_one_hot_exact():
    expected = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32)
    got = one_hot(np.array([2, 1, 0, 2]), 3)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(one_hot(np.array([0, 1]), 4), [[1, 0, 0, 0], [0, 1, 0, 0]])


def test_unknown_label_raises():
    with pytest.raises(ValueError, match="'benign' is not one of the classes"):
        encode_ordinal(["normal", "benign"], ["normal", "tumor"])


# --- scaling -----------------------------------------------------------------------------------

RNG = np.random.default_rng(5)
VALUES = RNG.normal(3.0, 2.0, (40, 4))
VALUES[30:] += 100.0  # held-out rows look very different: a scaler fitted on them would differ
TRAIN = np.arange(30)
HELD = np.arange(30, 40)


def test_standard_scaler_fitted_on_train_rows_only():
    train = VALUES[TRAIN]
    s = fit_scaler("standard", train)
    np.testing.assert_allclose(s.mean_, train.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.scale_, train.std(axis=0), rtol=1e-12)  # population sd (ddof=0)
    assert not np.allclose(s.mean_, VALUES.mean(axis=0))
    z = apply_scaler(s, VALUES)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z, (VALUES - train.mean(0)) / train.std(0), rtol=1e-5, atol=1e-5)


def test_minmax_scaler_fitted_on_train_rows_only():
    train = VALUES[TRAIN]
    s = fit_scaler("minmax", train)
    np.testing.assert_array_equal(s.data_min_, train.min(axis=0))
    np.testing.assert_array_equal(s.data_max_, train.max(axis=0))
    out = apply_scaler(s, VALUES)
    np.testing.assert_allclose(out[TRAIN].min(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out[TRAIN].max(0), 1.0, atol=1e-6)
    assert (out[HELD] > 1.0).all()  # held-out rows are not squeezed into [0, 1]


def test_maxabs_scaler_fitted_on_train_rows_only():
    train = VALUES[TRAIN]
    s = fit_scaler("maxabs", train)
    np.testing.assert_array_equal(s.max_abs_, np.abs(train).max(axis=0))
    np.testing.assert_allclose(apply_scaler(s, VALUES), VALUES / np.abs(train).max(0), rtol=1e-6)


def test_robust_scaler_fitted_on_train_rows_only():
    train = VALUES[TRAIN]
    s = fit_scaler("robust", train)
    np.testing.assert_allclose(s.center_, np.median(train, axis=0), rtol=1e-12)
    q75, q25 = np.percentile(train, [75, 25], axis=0)
    np.testing.assert_allclose(s.scale_, q75 - q25, rtol=1e-12)


def test_no_scaling_and_unknown_scaling():
    assert fit_scaler("none", VALUES) is None
    out = apply_scaler(None, VALUES)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, VALUES.astype(np.float32))
    with pytest.raises(ValueError, match="unknown scaling 'zscore'"):
        fit_scaler("zscore", VALUES)


@pytest.mark.parametrize("kind", sorted(SCALERS) + ["none"])
def test_json_round_trip_gives_identical_transform(kind):
    scaler = fit_scaler(kind, VALUES[TRAIN])
    text = scaler_to_json(kind, scaler)
    spec = json.loads(text)  # plain JSON, no pickle
    assert spec["kind"] == kind
    back = scaler_from_json(text)
    if kind == "none":
        assert back is None
    else:
        assert type(back) is type(scaler)
    np.testing.assert_array_equal(apply_scaler(back, VALUES), apply_scaler(scaler, VALUES))
    # the round trip is stable: serializing the loaded scaler gives the same JSON
    assert json.loads(scaler_to_json(kind, back)) == spec
