"""Classification metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from candle_lib.trial.metrics import (
    EPSILON,
    accuracy,
    auc,
    categorical_crossentropy,
    classification_metrics,
    majority_accuracy,
)

# Binary example: true classes and predicted probabilities (rows sum to 1).
BIN_CODES = np.array([0, 0, 1, 1])
BIN_PROBS = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])

# Three-class example (rows sum to 1).
TRI_CODES = np.array([0, 1, 2, 0, 1, 2])
TRI_PROBS = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.2, 0.6, 0.2],
        [0.1, 0.3, 0.6],
        [0.3, 0.4, 0.3],
        [0.5, 0.3, 0.2],
        [0.2, 0.2, 0.6],
    ]
)


# --------------------------------------------------------------------------- cross-entropy


def test_crossentropy_binary_is_minus_mean_log_p_true():
    # p_true = 0.9, 0.6, 0.35, 0.8
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert expected == pytest.approx(0.4722879, abs=1e-7)
    assert categorical_crossentropy(BIN_CODES, BIN_PROBS) == pytest.approx(expected, rel=1e-9)


def test_crossentropy_three_classes():
    # p_true = 0.7, 0.6, 0.6, 0.3, 0.3, 0.6
    expected = -(math.log(0.7) + 3 * math.log(0.6) + 2 * math.log(0.3)) / 6
    assert expected == pytest.approx(0.7161830, abs=1e-7)
    assert categorical_crossentropy(TRI_CODES, TRI_PROBS) == pytest.approx(expected, rel=1e-9)


def test_crossentropy_of_uniform_prediction_is_log_k():
    codes = np.array([0, 1, 2, 2])
    probs = np.full((4, 3), 1 / 3)
    assert categorical_crossentropy(codes, probs) == pytest.approx(math.log(3), rel=1e-12)


def test_crossentropy_clips_a_zero_probability_at_1e_minus_7():
    assert EPSILON == 1e-7
    # -log(1e-7) = 7 ln 10, finite instead of infinite
    loss = categorical_crossentropy(np.array([0]), np.array([[0.0, 1.0]]))
    assert math.isfinite(loss)
    assert loss == pytest.approx(7 * math.log(10), rel=1e-6)
    assert loss == pytest.approx(16.1180957, abs=1e-5)


def test_crossentropy_clips_a_one_probability_at_1_minus_1e_minus_7():
    loss = categorical_crossentropy(np.array([0]), np.array([[1.0, 0.0]]))
    # -log(1 - 1e-7) ~= 1e-7, not exactly 0
    assert loss == pytest.approx(1.0000000500e-7, rel=1e-6)
    assert loss > 0


def test_crossentropy_mixes_clipped_and_unclipped_rows():
    codes = np.array([0, 1])
    probs = np.array([[0.0, 1.0], [0.5, 0.5]])
    expected = (7 * math.log(10) + math.log(2)) / 2
    assert categorical_crossentropy(codes, probs) == pytest.approx(expected, rel=1e-6)


def test_crossentropy_float32_input():
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert categorical_crossentropy(BIN_CODES, BIN_PROBS.astype(np.float32)) == pytest.approx(expected, rel=1e-6)


def test_crossentropy_returns_python_float():
    assert type(categorical_crossentropy(BIN_CODES, BIN_PROBS)) is float


# --------------------------------------------------------------------------- accuracy


def test_accuracy_binary():
    # argmax: 0, 0, 0, 1 vs truth 0, 0, 1, 1 -> 3 of 4
    assert accuracy(BIN_CODES, BIN_PROBS) == 0.75


def test_accuracy_three_classes():
    # argmax: 0, 1, 2, 1, 0, 2 vs truth 0, 1, 2, 0, 1, 2 -> 4 of 6
    assert accuracy(TRI_CODES, TRI_PROBS) == pytest.approx(4 / 6)


def test_accuracy_perfect_and_zero():
    codes = np.array([1, 0])
    assert accuracy(codes, np.array([[0.1, 0.9], [0.8, 0.2]])) == 1.0
    assert accuracy(codes, np.array([[0.9, 0.1], [0.2, 0.8]])) == 0.0


def test_accuracy_tie_goes_to_the_first_class():
    assert accuracy(np.array([0]), np.array([[0.5, 0.5]])) == 1.0
    assert accuracy(np.array([1]), np.array([[0.5, 0.5]])) == 0.0


# --------------------------------------------------------------------------- AUC


def test_auc_binary_by_pair_counting():
    # positives score 0.35, 0.8; negatives 0.1, 0.4: pairs ranked right: 0.35>0.1, 0.8>0.1, 0.8>0.4
    assert auc(BIN_CODES, BIN_PROBS) == pytest.approx(3 / 4)


def test_auc_binary_ties_count_half():
    codes = np.array([0, 1])
    probs = np.array([[0.5, 0.5], [0.5, 0.5]])
    assert auc(codes, probs) == pytest.approx(0.5)


def test_auc_binary_perfect_and_inverted():
    codes = np.array([0, 0, 1, 1])
    good = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    assert auc(codes, good) == 1.0
    assert auc(codes, good[:, ::-1]) == 0.0


def test_auc_three_classes_one_vs_rest_macro():
    # class 0: pos 0.7, 0.3 vs neg 0.2, 0.1, 0.5, 0.2 -> 4 + 3 = 7/8
    # class 1: pos 0.6, 0.3 vs neg 0.2, 0.3, 0.4, 0.2 -> 4 + (1 + 0.5 + 0 + 1) = 6.5/8
    # class 2: pos 0.6, 0.6 vs neg 0.1, 0.2, 0.3, 0.2 -> 8/8
    expected = (7 / 8 + 6.5 / 8 + 8 / 8) / 3
    assert expected == pytest.approx(0.8958333, abs=1e-7)
    assert auc(TRI_CODES, TRI_PROBS) == pytest.approx(expected, rel=1e-12)


def test_auc_is_none_when_a_class_is_absent():
    assert auc(np.array([0, 0]), np.array([[0.9, 0.1], [0.4, 0.6]])) is None
    assert auc(np.array([0, 1, 1]), TRI_PROBS[:3]) is None


# --------------------------------------------------------------------------- majority


def test_majority_accuracy():
    # training majority is class 1 (two of four); evaluation has three 1s in five
    assert majority_accuracy(np.array([0, 1, 1, 2]), np.array([1, 1, 0, 2, 1])) == pytest.approx(3 / 5)


def test_majority_accuracy_tie_goes_to_the_lowest_class():
    assert majority_accuracy(np.array([0, 0, 1, 1]), np.array([1, 1, 0])) == pytest.approx(1 / 3)


def test_majority_uses_training_not_evaluation_rows():
    # evaluation is all 0 but training says 1 -> majority guess is always wrong
    assert majority_accuracy(np.array([1, 1, 0]), np.array([0, 0, 0])) == 0.0


# --------------------------------------------------------------------------- bundle


def test_classification_metrics_bundle():
    out = classification_metrics("val", list(BIN_CODES), BIN_PROBS, [1, 1, 1, 0])
    assert set(out) == {"val_loss", "val_accuracy", "val_auc", "val_majority_accuracy"}
    assert out["val_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4)
    assert out["val_accuracy"] == 0.75
    assert out["val_auc"] == pytest.approx(0.75)
    assert out["val_majority_accuracy"] == 0.5  # always guess 1; two of four are 1
    assert all(type(v) is float for v in out.values())


def test_classification_metrics_auc_none_when_a_class_is_missing():
    out = classification_metrics("test", [1, 1], np.array([[0.2, 0.8], [0.6, 0.4]]), [0, 1])
    assert out["test_auc"] is None
    assert out["test_accuracy"] == 0.5
