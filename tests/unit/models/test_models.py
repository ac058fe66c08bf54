"""The Pilot1 model families: shapes and parameter counts against hand counts, and P1B1
autoencoder trials scored by reconstruction error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import HOLDOUT, trial_spec


def trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_dense_classifier_count_input_dropout_and_l2():
    from candle_lib.models import build_model

    params = resolve_params({"model": "dense", "dense": [8, 4], "input_dropout": 0.2, "l2": 1e-4})
    model = build_model(params, n_features=10, n_outputs=3)
    assert trainable(model) == (10 * 8 + 8) + (8 * 4 + 4) + (4 * 3 + 3)
    assert model.get_layer("input_dropout").rate == 0.2
    assert model.get_layer("dense1").kernel_regularizer.l2 == pytest.approx(1e-4)
    assert model.output.shape[-1] == 3


def test_dense_regressor_has_a_linear_output():
    from candle_lib.models import build_model

    model = build_model(
        resolve_params({"model": "dense", "dense": [4]}), n_features=5, n_outputs=1, output_activation="linear"
    )
    assert model.get_layer("outputs").activation.__name__ == "linear"
    assert trainable(model) == (5 * 4 + 4) + (4 + 1)


def test_tc1_takes_its_class_count_from_the_data():
    from candle_lib.models import build_model

    params = resolve_params({"model": "tc1", "conv": [4, 5, 1], "pool": [2], "dense": [8]})
    model = build_model(params, n_features=50, n_outputs=11)
    # conv: 4*(5*1)+4; flatten (50-5+1)//2 = 23 positions x 4 filters; dense 92*8+8; out 8*11+11
    assert trainable(model) == 24 + (92 * 8 + 8) + (8 * 11 + 11)
    assert model.name == "tc1"


@pytest.mark.parametrize("vae", [False, True])
def test_p1b1_autoencoder_counts(vae):
    from candle_lib.models import build_model

    model = build_model(
        resolve_params({"model": "p1b1", "dense": [6], "latent_dim": 2, "vae": vae}), n_features=10, n_outputs=10
    )
    latent = 2 * (6 * 2 + 2) if vae else 6 * 2 + 2
    assert trainable(model) == (10 * 6 + 6) + latent + (2 * 6 + 6) + (6 * 10 + 10)
    assert model.output.shape[-1] == 10


@pytest.mark.parametrize("vae", [False, True])
def test_p1b1_trial_reports_reconstruction_error_and_correlation(tiny_prepared, tmp_path, vae):
    from candle_lib.trial.run import run_trial

    params = resolve_params(
        {
            "model": "p1b1",
            "dense": [16],
            "latent_dim": 4,
            "vae": vae,
            "epochs": 3,
            "batch_size": 8,
            "optimizer": "adam",
            "scaling": "standard",
        }
    )
    result = run_trial(
        tiny_prepared, trial_spec(params, role=HOLDOUT, data=tiny_prepared.name), tmp_path, log=lambda m: None
    )
    assert result["status"] == "ok", result["failure_reason"]
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    # val_mse is the mean over all values = the mean of the per-sample means (equal widths)
    assert result["metrics"]["val_mse"] == pytest.approx(predictions["reconstruction_mse"].mean(), rel=1e-9)
    assert -1.0 <= result["metrics"]["val_correlation"] <= 1.0
    assert result["objective"]["metric"] == "val_mse"
