"""Autoencoder vs PCA: PCA's reconstruction against a by-hand SVD, the correlations against
numpy's, and the comparison table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from candle_lib.tda.representation import (
    compare_reconstructions,
    mean_sample_correlation,
    pca_reconstruction,
    reconstruction_scores,
)

RNG = np.random.default_rng(0)
X_TRAIN = RNG.normal(size=(30, 6)) @ RNG.normal(size=(6, 6))
X_EVAL = RNG.normal(size=(8, 6)) @ RNG.normal(size=(6, 6))


def svd_reconstruction(train, x, k):
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    v = vt[:k].T
    return mean + (x - mean) @ v @ v.T


@pytest.mark.parametrize("k", [1, 2, 4])
def test_pca_reconstruction_is_the_projection_on_the_top_singular_vectors(k):
    np.testing.assert_allclose(
        pca_reconstruction(X_TRAIN, X_EVAL, k), svd_reconstruction(X_TRAIN, X_EVAL, k), atol=1e-10
    )
    expected = np.mean((X_EVAL - svd_reconstruction(X_TRAIN, X_EVAL, k)) ** 2)
    assert reconstruction_scores(X_EVAL, pca_reconstruction(X_TRAIN, X_EVAL, k))["mse"] == pytest.approx(
        expected, rel=1e-10
    )


def test_all_components_reconstruct_exactly():
    assert reconstruction_scores(X_EVAL, pca_reconstruction(X_TRAIN, X_EVAL, 6))["mse"] == pytest.approx(0.0, abs=1e-20)


def test_correlations_match_numpy():
    r = X_EVAL + RNG.normal(scale=0.5, size=X_EVAL.shape)
    rows = [np.corrcoef(X_EVAL[i], r[i])[0, 1] for i in range(len(r))]
    assert mean_sample_correlation(X_EVAL, r) == pytest.approx(np.mean(rows), rel=1e-12)
    assert reconstruction_scores(X_EVAL, r)["correlation"] == pytest.approx(
        np.corrcoef(X_EVAL.ravel(), r.ravel())[0, 1], rel=1e-12
    )
    constant = r.copy()
    constant[0] = 1.0  # a constant row has no correlation and is left out of the mean
    assert mean_sample_correlation(X_EVAL, constant) == pytest.approx(np.mean(rows[1:]), rel=1e-12)


def test_comparison_table_rows():
    ae = X_EVAL * 0.5
    table = compare_reconstructions(X_TRAIN, X_EVAL, 2, ae).set_index("method")
    assert list(table.index) == ["autoencoder", "pca", "training mean"]
    assert table.loc["autoencoder", "mse"] == pytest.approx(np.mean((0.5 * X_EVAL) ** 2))
    assert table.loc["autoencoder", "mean_sample_correlation"] == pytest.approx(1.0)
    assert table.loc["training mean", "mse"] == pytest.approx(np.mean((X_EVAL - X_TRAIN.mean(axis=0)) ** 2))
    assert table.loc["training mean", "latent_dim"] == 0 and table.loc["pca", "latent_dim"] == 2
    failed = compare_reconstructions(X_TRAIN, X_EVAL, 2, None).set_index("method")
    assert math.isnan(failed.loc["autoencoder", "mse"]) and not math.isnan(failed.loc["pca", "mse"])
