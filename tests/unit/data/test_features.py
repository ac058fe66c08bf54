"""Feature filters: sparseness counts, and a variance filter that looks at training rows only."""

from __future__ import annotations

import numpy as np
import pytest

from candle_lib.data.features import (
    select_features,
    sparseness_mask,
    top_variance_indices,
)
from candle_lib.errors import CandleInputError

# 6 samples x 4 features; rows 0-3 are training rows, rows 4-5 are held out.
#   col0: train [0, 0, 0, 0]  var 0      | all rows [0,0,0,0,100,-100]  var 20000/6 ~ 3333
#   col1: train [0, 1, 0, 1]  var 0.25   | all rows [0,1,0,1,0.5,0.5]   var 1/6
#   col2: train [0, 2, 0, 2]  var 1      | all rows [0,2,0,2,1,1]       var 2/3
#   col3: train [0, 0, 0, 1]  var 0.1875 | all rows [0,0,0,1,0,0]       var 5/36
# Train-row order: col2 > col1 > col3 > col0 -> top 2 = {1, 2}
# All-row order:   col0 > col2 > col1 > col3 -> top 2 = {0, 2}
VALUES = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 2.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 2.0, 1.0],
        [100.0, 0.5, 1.0, 0.0],
        [-100.0, 0.5, 1.0, 0.0],
    ]
)
TRAIN = np.array([True, True, True, True, False, False])


def test_sparseness_mask_counts_nonzero_samples():
    # non-zero samples per column: col0 2, col1 4, col2 4, col3 1
    np.testing.assert_array_equal(sparseness_mask(VALUES, 0), [True, True, True, True])
    np.testing.assert_array_equal(sparseness_mask(VALUES, 1), [True, True, True, True])
    np.testing.assert_array_equal(sparseness_mask(VALUES, 2), [True, True, True, False])
    np.testing.assert_array_equal(sparseness_mask(VALUES, 3), [False, True, True, False])
    np.testing.assert_array_equal(sparseness_mask(VALUES, 4), [False, True, True, False])
    np.testing.assert_array_equal(sparseness_mask(VALUES, 5), [False, False, False, False])


def test_top_variance_uses_given_rows_and_returns_column_order():
    # On the training rows the highest variance is col2 (1.0) then col1 (0.25): returned as [1, 2],
    # in column order although col2 ranks first.
    np.testing.assert_array_equal(top_variance_indices(VALUES[TRAIN], 2), [1, 2])
    # On all rows the answer would be different ([0, 2]): the filter must not see held-out rows.
    np.testing.assert_array_equal(top_variance_indices(VALUES, 2), [0, 2])
    np.testing.assert_array_equal(top_variance_indices(VALUES[TRAIN], 1), [2])
    np.testing.assert_array_equal(top_variance_indices(VALUES[TRAIN], 3), [1, 2, 3])


def test_top_variance_ties_go_to_earlier_column_and_large_k_keeps_all():
    # variances: col0 1, col1 1, col2 0, col3 1 -> top 2 with ties to the earlier columns = [0, 1]
    x = np.array([[0.0, 0.0, 5.0, 0.0], [2.0, 2.0, 5.0, 2.0]])
    np.testing.assert_array_equal(top_variance_indices(x, 2), [0, 1])
    np.testing.assert_array_equal(top_variance_indices(x, 4), [0, 1, 2, 3])
    np.testing.assert_array_equal(top_variance_indices(x, 10), [0, 1, 2, 3])


def test_select_features_variance_on_train_rows_only():
    np.testing.assert_array_equal(select_features(VALUES, TRAIN, top_variance=2), [1, 2])
    # the same with integer row indices
    np.testing.assert_array_equal(select_features(VALUES, np.array([0, 1, 2, 3]), top_variance=2), [1, 2])
    # no filters -> everything
    np.testing.assert_array_equal(select_features(VALUES, TRAIN), [0, 1, 2, 3])


def test_select_features_maps_back_to_original_columns():
    # min_nonzero_samples=3 keeps cols 1 and 2 only; the top-1 on training rows among them is col2,
    # which must come back as original index 2 (not its position 1 among the kept columns).
    np.testing.assert_array_equal(select_features(VALUES, TRAIN, min_nonzero_samples=3), [1, 2])
    np.testing.assert_array_equal(select_features(VALUES, TRAIN, min_nonzero_samples=3, top_variance=1), [2])
    # min_nonzero_samples=2 drops col3 (1 non-zero); the top-2 over training rows among 0,1,2 = [1, 2]
    np.testing.assert_array_equal(select_features(VALUES, TRAIN, min_nonzero_samples=2, top_variance=2), [1, 2])


def test_select_features_nothing_left_is_an_error():
    with pytest.raises(CandleInputError, match="non-zero in 7 samples"):
        select_features(VALUES, TRAIN, min_nonzero_samples=7)
