"""Representation check, as the CANDLE slides advise before any classifier: the P1B1
autoencoder's reconstruction beside PCA with as many components as the autoencoder's latent
size, and beside the training mean (no representation at all).

All three work on the same rows, scaled the trial's way by a scaler fitted on the trial's
training rows only: PCA is fitted on those scaled training rows and reconstructs the scored rows
as mean + (x - mean) V_k V_k^T. Scores on the scored rows X and reconstructions R:

- mse: mean over all values of (X - R)^2 (the trial's own ``<split>_mse``);
- correlation: Pearson correlation of all values of X and R at once (CANDLE P1B1's figure);
- mean_sample_correlation: the mean over rows of the Pearson correlation of x_i and r_i across
  features (rows where either is constant are left out).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from candle_lib.trial.metrics import pearson


def pca_reconstruction(x_train: np.ndarray, x_eval: np.ndarray, n_components: int) -> np.ndarray:
    """``x_eval`` projected on the first ``n_components`` principal axes of ``x_train`` and back."""
    pca = PCA(n_components=n_components, svd_solver="full").fit(np.asarray(x_train, dtype=np.float64))
    return pca.inverse_transform(pca.transform(np.asarray(x_eval, dtype=np.float64)))


def mean_sample_correlation(x: np.ndarray, reconstructed: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    r = np.asarray(reconstructed, dtype=np.float64)
    dx, dr = x - x.mean(axis=1, keepdims=True), r - r.mean(axis=1, keepdims=True)
    denominator = np.sqrt((dx * dx).sum(axis=1) * (dr * dr).sum(axis=1))
    defined = denominator > 0
    return float(np.mean((dx * dr).sum(axis=1)[defined] / denominator[defined])) if defined.any() else float("nan")


def reconstruction_scores(x: np.ndarray, reconstructed: np.ndarray) -> dict:
    x = np.asarray(x, dtype=np.float64)
    r = np.asarray(reconstructed, dtype=np.float64)
    correlation = pearson(x, r)
    return {
        "mse": float(np.mean((x - r) ** 2)),
        "correlation": float("nan") if correlation is None else correlation,
        "mean_sample_correlation": mean_sample_correlation(x, r),
    }


def compare_reconstructions(
    x_train: np.ndarray, x_eval: np.ndarray, latent_dim: int, autoencoder: np.ndarray | None
) -> pd.DataFrame:
    """One row per method (autoencoder, pca, training mean): its latent size and scores on
    ``x_eval`` (scaled rows); the autoencoder's row is NaN when its trial failed (None)."""
    mean = np.asarray(x_train, dtype=np.float64).mean(axis=0)
    methods = {
        "autoencoder": (latent_dim, autoencoder),
        "pca": (latent_dim, pca_reconstruction(x_train, x_eval, latent_dim)),
        "training mean": (0, np.broadcast_to(mean, np.shape(x_eval))),
    }
    rows = []
    for name, (size, reconstructed) in methods.items():
        scores = (
            reconstruction_scores(x_eval, reconstructed)
            if reconstructed is not None
            else dict.fromkeys(("mse", "correlation", "mean_sample_correlation"), np.nan)
        )
        rows.append({"method": name, "latent_dim": size, **scores})
    return pd.DataFrame(rows)


def representation_table(trial_dir, dataset_dir, split: str) -> pd.DataFrame:
    """The comparison on the rows of ``split`` for a finished P1B1 trial (imports Keras to run
    the saved autoencoder when the trial is ok)."""
    from candle_lib.data.prepared import load_prepared
    from candle_lib.data.row_reader import read_npy_rows
    from candle_lib.trial.roles import role_rows
    from candle_lib.trial.scaling import fit_scaler, scale_in_place

    trial_dir, dataset_dir = Path(trial_dir), Path(dataset_dir)
    spec = json.loads((trial_dir / "params.json").read_text())
    metrics = json.loads((trial_dir / "metrics.json").read_text())
    params = spec["params"]
    data = load_prepared(dataset_dir)
    train_rows = role_rows(data.samples, spec["role"]).train
    eval_rows = data.rows(split)
    x_train = read_npy_rows(dataset_dir / "matrix.npy", train_rows)
    scaler = fit_scaler(params["scaling"], x_train)
    scale_in_place(scaler, x_train)
    x_eval = scale_in_place(scaler, read_npy_rows(dataset_dir / "matrix.npy", eval_rows))
    autoencoder = None
    if metrics["status"] == "ok":
        from candle_lib.trial.saved_model import load_trial_model

        model = load_trial_model(trial_dir).model
        autoencoder = np.asarray(model.predict(x_eval, batch_size=256, verbose=0), dtype=np.float64)
    table = compare_reconstructions(x_train, x_eval, params["latent_dim"], autoencoder)
    return table.assign(
        split=split,
        n_train=len(train_rows),
        n_eval=len(eval_rows),
        trial=trial_dir.name,
        trial_status=metrics["status"],
    )
