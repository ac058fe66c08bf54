"""The percent (percentile-rank) scaler, gene lists, and select_features with a gene list."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import rankdata

from candle_lib.data.features import read_gene_list, restrict_to_genes, select_features
from candle_lib.errors import CandleInputError
from candle_lib.trial.scaling import (
    SCALERS,
    apply_scaler,
    fit_scaler,
    scaler_from_json,
    scaler_to_json,
)

# --- percent scaler ----------------------------------------------------------------------------

# 8 training rows, 2 features. Ranks are (0-based sorted position) / (n - 1) = position / 7.
#   col0 with ties: sorted 2 2 5 5 5 7 9 9 -> 2 is the minimum -> 0; 5 holds positions 2..4 ->
#        mean 3 -> 3/7; 7 -> 5/7; 9 is the maximum -> 1.
#   col1 distinct:  sorted 1 1.5 2.6 3 3.3 4 5 9 -> positions 0..7.
TRAIN = np.array(
    [
        [5.0, 3.0],
        [2.0, 1.0],
        [2.0, 4.0],
        [7.0, 1.5],
        [5.0, 9.0],
        [5.0, 2.6],
        [9.0, 5.0],
        [9.0, 3.3],
    ]
)
EXPECTED_TRAIN = np.array(
    [
        [3 / 7, 3 / 7],
        [0.0, 0.0],
        [0.0, 5 / 7],
        [5 / 7, 1 / 7],
        [3 / 7, 1.0],
        [3 / 7, 2 / 7],
        [1.0, 6 / 7],
        [1.0, 4 / 7],
    ]
)


def test_percent_on_training_rows_with_ties():
    s = fit_scaler("percent", TRAIN)
    assert s.n_quantiles_ == 8  # min(1000, n_train)
    out = apply_scaler(s, TRAIN)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, EXPECTED_TRAIN, atol=1e-6)


def test_percent_between_and_outside_training_values():
    s = fit_scaler("percent", TRAIN)
    # col0: between adjacent distinct training values a < b, linear from a's largest rank to b's
    # smallest: 3.5 between 2 (1/7) and 5 (2/7) -> 1.5/7; 6 between 5 (4/7) and 7 (5/7) -> 4.5/7;
    # 8 between 7 (5/7) and 9 (6/7) -> 5.5/7. Outside the training range: clipped to 0 and 1.
    # col1: 1.25 between 1 (0) and 1.5 (1/7) -> 0.5/7; 7 between 5 (6/7) and 9 (1) -> 6.5/7.
    x = np.array(
        [
            [3.5, 1.25],
            [6.0, 7.0],
            [8.0, 0.0],
            [-100.0, 100.0],
            [1.999, 9.001],
        ]
    )
    expected = np.array(
        [
            [1.5 / 7, 0.5 / 7],
            [4.5 / 7, 6.5 / 7],
            [5.5 / 7, 0.0],
            [0.0, 1.0],
            [0.0, 1.0],
        ]
    )
    np.testing.assert_allclose(apply_scaler(s, x), expected, atol=1e-6)


def test_percent_matches_average_ranks_on_random_training_rows():
    # Independent formula: scipy's average rank (1-based) r -> (r - 1) / (n - 1), except that the
    # training minimum maps to 0 and the maximum to 1 even when tied.
    rng = np.random.default_rng(11)
    train = rng.integers(0, 12, (50, 6)).astype(float)  # many ties
    out = apply_scaler(fit_scaler("percent", train), train)
    expected = (rankdata(train, method="average", axis=0) - 1) / (len(train) - 1)
    expected[train == train.min(axis=0)] = 0.0
    expected[(train == train.max(axis=0))] = 1.0
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_percent_fitted_on_training_rows_only():
    held = np.array([[100.0, -50.0], [200.0, -60.0]])
    values = np.vstack([TRAIN, held])
    s = fit_scaler("percent", values[:8])
    np.testing.assert_array_equal(s.quantiles_, np.sort(TRAIN, axis=0))
    out = apply_scaler(s, values)
    np.testing.assert_allclose(out[:8], EXPECTED_TRAIN, atol=1e-6)
    np.testing.assert_array_equal(out[8:], [[1.0, 0.0], [1.0, 0.0]])
    # fitted on all rows the training rows would get other ranks
    other = apply_scaler(fit_scaler("percent", values), values)
    assert not np.allclose(other[:8], EXPECTED_TRAIN, atol=1e-3)


def test_percent_keeps_nan_and_caps_quantiles():
    s = fit_scaler("percent", TRAIN)
    out = apply_scaler(s, np.array([[np.nan, 3.0]]))
    assert np.isnan(out[0, 0]) and out[0, 1] == pytest.approx(3 / 7, abs=1e-6)
    big = np.random.default_rng(0).normal(size=(1500, 2))
    assert fit_scaler("percent", big).n_quantiles_ == 1000
    assert fit_scaler("percent", big, n_quantiles=101).quantiles_.shape == (101, 2)


def test_percent_json_round_trip():
    assert "percent" in SCALERS
    s = fit_scaler("percent", TRAIN)
    text = scaler_to_json("percent", s)
    spec = json.loads(text)
    assert spec["kind"] == "percent"
    assert spec["params"]["output_distribution"] == "uniform"
    assert spec["params"]["n_quantiles"] == 8
    assert spec["state"]["quantiles_"] == np.sort(TRAIN, axis=0).tolist()
    back = scaler_from_json(text)
    x = np.vstack([TRAIN, [[3.5, 1.25], [-1.0, 99.0]]])
    np.testing.assert_array_equal(apply_scaler(back, x), apply_scaler(s, x))
    assert json.loads(scaler_to_json("percent", back)) == spec


# --- gene lists --------------------------------------------------------------------------------


def test_restrict_to_genes_keeps_matrix_order_and_counts_missing():
    feature_ids = ["G5", "G1", "G3", "G9", "G2"]
    keep, missing = restrict_to_genes(feature_ids, ["G2", "G5", "G7", "G5", "G8"], "landmarks.txt")
    np.testing.assert_array_equal(keep, [0, 4])  # G5 (column 0) before G2 (column 4)
    assert keep.dtype == np.int64
    assert missing == 2  # G7 and G8; the repeated G5 counts once


def test_restrict_to_genes_repeated_feature_ids_all_kept():
    keep, missing = restrict_to_genes(["A", "B", "A"], ["A"])
    np.testing.assert_array_equal(keep, [0, 2])
    assert missing == 0


def test_restrict_to_genes_none_match_is_an_error():
    with pytest.raises(CandleInputError, match=r"^landmarks\.txt: none of the 2 genes in the list \(X1, X2\)"):
        restrict_to_genes(["G1", "G2"], ["X2", "X1"], "landmarks.txt")


def test_restrict_to_genes_ignoring_ensembl_versions():
    ids = ["ENSG00000141510.16", "ENSG00000012048.22", "TP53", "ENSG00000182378.14_PAR_Y"]
    genes = ["ENSG00000141510", "ENSG00000012048.5", "ENSG00000182378_PAR_Y"]
    with pytest.raises(CandleInputError, match="none of the 3 genes"):
        restrict_to_genes(ids, genes, "list.txt")
    keep, missing = restrict_to_genes(ids, genes, "list.txt", ignore_version=True)
    np.testing.assert_array_equal(keep, [0, 1, 3])
    assert missing == 0
    # a PAR_Y id is a different gene from the one without the suffix
    with pytest.raises(CandleInputError, match="none of the 1 genes"):
        restrict_to_genes(ids, ["ENSG00000182378"], ignore_version=True)


def test_read_gene_list(tmp_path):
    path = tmp_path / "landmarks.txt"
    path.write_text("# LINCS landmark genes\nTP53\n  EGFR  # a receptor\n\nBRCA1\nTP53\n")
    assert read_gene_list(path) == ["TP53", "EGFR", "BRCA1"]


def test_read_gene_list_errors(tmp_path):
    table = tmp_path / "table.tsv"
    table.write_text("TP53\nEGFR\tepidermal growth factor receptor\n")
    with pytest.raises(CandleInputError, match=r"table\.tsv: line 2: expected one gene id per line"):
        read_gene_list(table)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n\n")
    with pytest.raises(CandleInputError, match=r"empty\.txt: the gene list holds no gene id"):
        read_gene_list(empty)
    with pytest.raises(CandleInputError, match=r"absent\.txt: cannot read the gene list"):
        read_gene_list(tmp_path / "absent.txt")


# --- select_features with a gene list ----------------------------------------------------------

# The matrix of tests/unit/data/test_features.py. Training-row variances: col0 0, col1 0.25, col2 1,
# col3 0.1875; non-zero samples (all rows): col0 2, col1 4, col2 4, col3 1.
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
TRAIN_ROWS = np.array([True, True, True, True, False, False])
IDS = ["g0", "g1", "g2", "g3"]


def test_select_features_gene_list_alone():
    got = select_features(VALUES, TRAIN_ROWS, gene_list=["g3", "g0", "g1", "absent"], feature_ids=IDS)
    np.testing.assert_array_equal(got, [0, 1, 3])


def test_select_features_gene_list_comes_before_variance():
    # without the list the top-1 variance feature is col2; the list drops col2, so among
    # {0, 1, 3} the top-1 on training rows is col1 (0.25 > 0.1875 > 0)
    np.testing.assert_array_equal(select_features(VALUES, TRAIN_ROWS, top_variance=1), [2])
    got = select_features(VALUES, TRAIN_ROWS, top_variance=1, gene_list=["g0", "g1", "g3"], feature_ids=IDS)
    np.testing.assert_array_equal(got, [1])
    got = select_features(VALUES, TRAIN_ROWS, top_variance=2, gene_list=["g0", "g1", "g3"], feature_ids=IDS)
    np.testing.assert_array_equal(got, [1, 3])


def test_select_features_gene_list_comes_before_sparseness():
    # min 2 non-zero samples: of the listed g0 (2) and g3 (1) only g0 stays
    got = select_features(VALUES, TRAIN_ROWS, min_nonzero_samples=2, gene_list=["g0", "g3"], feature_ids=IDS)
    np.testing.assert_array_equal(got, [0])
    with pytest.raises(CandleInputError, match="non-zero in 2 samples"):
        select_features(VALUES, TRAIN_ROWS, min_nonzero_samples=2, gene_list=["g3"], feature_ids=IDS)


def test_select_features_gene_list_errors():
    with pytest.raises(ValueError, match="needs feature_ids"):
        select_features(VALUES, TRAIN_ROWS, gene_list=["g0"])
    with pytest.raises(CandleInputError, match=r"^genes\.txt: none of the 1 genes"):
        select_features(VALUES, TRAIN_ROWS, gene_list=["zz"], feature_ids=IDS, source="genes.txt")
