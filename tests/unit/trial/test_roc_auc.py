"""The NumPy ROC AUC against scikit-learn's roc_auc_score, to the bit: binary and one-vs-rest
macro over 5 classes, with ties, many equal scores and collinear points."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from candle_lib.trial.metrics import auc, roc_auc, roc_auc_binary


def probabilities(rng, rows: int, classes: int, levels: int | None) -> np.ndarray:
    """Softmax rows in float32; with ``levels``, logits on a coarse grid so that many scores tie."""
    logits = rng.normal(0.0, 2.0, (rows, classes))
    if levels is not None:
        logits = np.round(logits * levels / 4) / levels
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def codes_for(rng, p: np.ndarray) -> np.ndarray:
    """Labels loosely following the probabilities, every class present."""
    codes = np.array([rng.choice(p.shape[1], p=row / row.sum()) for row in p.astype(np.float64)])
    codes[: p.shape[1]] = np.arange(p.shape[1])
    return codes


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("levels", [None, 1, 3])
def test_binary_equals_scikit_learn(seed, levels):
    rng = np.random.default_rng(seed)
    p = probabilities(rng, int(rng.integers(5, 300)), 2, levels)
    codes = codes_for(rng, p)
    assert auc(codes, p) == roc_auc_score(codes, p[:, 1])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("levels", [None, 1, 3])
def test_five_classes_equal_scikit_learn(seed, levels):
    rng = np.random.default_rng(100 + seed)
    p = probabilities(rng, int(rng.integers(8, 300)), 5, levels)
    codes = codes_for(rng, p)
    assert auc(codes, p) == roc_auc_score(codes, p, multi_class="ovr")


@pytest.mark.parametrize("seed", range(20))
def test_few_distinct_scores_and_float64_equal_scikit_learn(seed):
    # scores from 2-6 values: long runs of ties, collinear curve points to drop
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(3, 200))
    scores = rng.choice(rng.random(int(rng.integers(2, 7))), size=n)
    positive = rng.random(n) < rng.random()
    positive[:2] = [True, False]
    assert roc_auc_binary(positive, scores) == roc_auc_score(positive, scores)


def test_hand_computed_values():
    # positives 0.35 and 0.8, negatives 0.1 and 0.4: 3 of the 4 pairs ranked right
    assert roc_auc_binary(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    # one tie between a positive and a negative counts a half
    assert roc_auc_binary(np.array([0, 1, 0, 1]), np.array([0.1, 0.5, 0.5, 0.9])) == 0.875
    # all scores equal: the diagonal
    assert roc_auc_binary(np.array([0, 1, 1, 0, 1]), np.zeros(5)) == 0.5
    # three classes, each ranked first by its own column: every one-vs-rest AUC is 1
    p = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.7, 0.2, 0.1]])
    assert roc_auc(np.array([0, 1, 2, 0]), p) == 1.0


def test_absent_class_undefined_and_bad_scores_refused():
    p = np.array([[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]])
    assert auc(np.array([1, 1, 1]), p) is None
    with pytest.warns(UserWarning, match="Only one class"):
        assert np.isnan(roc_auc_binary(np.array([1, 1]), np.array([0.2, 0.3])))
    with pytest.raises(ValueError, match="NaN"):
        auc(np.array([0, 1, 1]), np.array([[0.5, 0.5], [np.nan, np.nan], [0.9, 0.1]]))
    with pytest.raises(ValueError, match="sum up to 1"):
        roc_auc(np.array([0, 1, 2]), np.full((3, 3), 0.5))
