"""Models and trials: shapes and parameter counts by hand, reproducibility, failures as results."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.prepared import load_prepared
from candle_lib.params.specs import resolve_params
from candle_lib.trial.scaling import scaler_from_json
from candle_lib.trial.spec import FINAL, HOLDOUT, trial_spec

TINY_MODEL = {
    "conv": [4, 10, 1],
    "pool": [5],
    "dense": [8],
    "epochs": 3,
    "batch_size": 16,
    "optimizer": "adam",
    "scaling": "standard",
}


@pytest.fixture
def prepared(tiny_prepared):
    return tiny_prepared


def spec(role=HOLDOUT, **changes):
    return trial_spec(resolve_params(TINY_MODEL, changes), role=role, data="prep-00000000")


def run(prepared, out, trial):
    from candle_lib.trial.run import run_trial

    return run_trial(prepared, trial, out, threads=1, log=lambda message: None)


def test_nt3_shapes_and_parameter_count_match_a_hand_count():
    from candle_lib.models import build_model

    model = build_model(resolve_params(TINY_MODEL), n_features=100, n_outputs=2)
    assert model.get_layer("conv1").output.shape[1:] == (91, 4)  # 100 - 10 + 1 positions
    assert model.get_layer("pool1").output.shape[1:] == (18, 4)  # 91 // 5
    # conv: 10*1*4 + 4 = 44; dense: 72*8 + 8 = 584; logits: 8*2 + 2 = 18
    assert model.count_params() == 44 + 584 + 18
    assert model.output.shape[-1] == 2


def test_nt3_takes_the_class_count_from_the_data():
    from candle_lib.models import build_model

    assert build_model(resolve_params(TINY_MODEL), n_features=100, n_outputs=7).output.shape[-1] == 7


def test_candle_default_nt3_is_built_from_the_defaults():
    from candle_lib.models import build_model

    model = build_model(resolve_params(), n_features=1000, n_outputs=2)
    # conv1 128x20 -> 981 positions, conv2 128x10 -> 972, pool 10 -> 97; dense 200 then 20
    assert model.get_layer("conv2").output.shape[1:] == (972, 128)
    assert model.get_layer("dense1").output.shape[-1] == 200
    assert model.get_layer("dense2").output.shape[-1] == 20


def test_trial_writes_its_directory_and_is_reproducible(prepared, tmp_path):
    first = run(prepared, tmp_path / "a", spec())
    second = run(prepared, tmp_path / "b", spec())
    assert first["status"] == "ok"
    assert first["metrics"] == second["metrics"]  # same seed, same CPU result
    for name in ("params.json", "metrics.json", "history.csv", "predictions.parquet", "scaler.json"):
        assert (tmp_path / "a" / name).exists()
    history = pd.read_csv(tmp_path / "a" / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3] and "val_loss" in history.columns


def test_scaler_is_fitted_on_training_rows_only(prepared, tmp_path):
    run(prepared, tmp_path, spec())
    scaler = scaler_from_json((tmp_path / "scaler.json").read_text())
    data = load_prepared(prepared)
    train = np.asarray(data.matrix[data.rows("train")], dtype=np.float64)
    np.testing.assert_allclose(scaler.mean_, train.mean(axis=0), rtol=1e-6)
    everything = np.asarray(data.matrix, dtype=np.float64)
    assert not np.allclose(scaler.mean_, everything.mean(axis=0), rtol=1e-6)


def test_final_role_trains_on_train_and_val_and_sees_test_once(prepared, tmp_path):
    metrics = run(prepared, tmp_path, spec(role=FINAL))
    data = load_prepared(prepared)
    assert metrics["n_train"] == len(data.rows(("train", "val")))
    assert metrics["n_eval"] == len(data.rows("test"))
    assert "test_accuracy" in metrics["metrics"]
    assert not any(c.startswith("val_") for c in pd.read_csv(tmp_path / "history.csv").columns)


def test_model_error_is_a_failed_result_not_a_crash(prepared, tmp_path):
    metrics = run(prepared, tmp_path, spec(conv=[4, 500, 1]))
    assert metrics["status"] == "failed"
    assert "model.conv': layer 1 has kernel 500" in metrics["failure_reason"]
    assert "the largest kernel that fits layer 1 is" in metrics["failure_reason"]
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "failed" and saved["metrics"] == {}
    assert len(pd.read_parquet(tmp_path / "predictions.parquet")) == 0


def test_diverging_loss_is_recorded_as_failed(prepared, tmp_path):
    metrics = run(prepared, tmp_path, spec(optimizer="sgd", learning_rate=1e30, scaling="none"))
    assert metrics["status"] == "failed"
    assert "loss became" in metrics["failure_reason"]
    assert metrics["epochs_run"] <= 1


def test_timeout_stops_training_cleanly_and_says_so(prepared, tmp_path):
    metrics = run(prepared, tmp_path, spec(timeout=0.0, epochs=50))
    assert metrics["status"] == "failed"
    assert metrics["failure_reason"].startswith("timeout")
    assert metrics["epochs_run"] == 1


def test_early_stopping_restores_the_best_epoch(prepared, tmp_path):
    result = run(prepared, tmp_path, spec(epochs=60, learning_rate=0.05, early_stopping=3))
    history = pd.read_csv(tmp_path / "history.csv")
    assert result["stopped_early"] is True
    assert result["epochs_run"] == len(history) < 60
    best = int(history["val_loss"].idxmin())
    assert result["best_epoch"] == best + 1
    assert result["epochs_run"] == result["best_epoch"] + 3  # stopped after 3 epochs without improvement
    # the scored model is the best epoch's: its val loss (float64 here) equals Keras' (float32)
    assert result["metrics"]["val_loss"] == pytest.approx(history["val_loss"][best], rel=1e-4)


def test_reduce_lr_halves_the_learning_rate_after_a_plateau(prepared, tmp_path):
    run(prepared, tmp_path, spec(epochs=40, learning_rate=0.05, reduce_lr=2))
    history = pd.read_csv(tmp_path / "history.csv")
    rates = history["learning_rate"].to_numpy()
    assert rates[0] == pytest.approx(0.05)
    drops = rates[1:] / rates[:-1]
    assert set(np.round(drops, 6)) <= {1.0, 0.5} and (drops < 1).any()


def test_balanced_class_weights_follow_n_over_k_n_c():
    from candle_lib.trial.feeds import balanced_weights

    codes = np.array([0, 0, 0, 1, 2, 2])  # n = 6, k = 3, n_c = 3, 1, 2
    np.testing.assert_allclose(balanced_weights(codes, 3), [6 / 9, 6 / 9, 6 / 9, 6 / 3, 6 / 6, 6 / 6], rtol=1e-6)


@pytest.mark.parametrize(
    "option",
    [
        {"jit_compile": True},
        {"mixed_precision": True},
        {"class_weight": "balanced", "optimizer": "rmsprop"},
        {"optimizer": "sgd"},
    ],
)
def test_training_options_run_on_cpu(prepared, tmp_path, option, recwarn):
    result = run(prepared, tmp_path, spec(**option))
    assert not [w for w in recwarn if "jit_compile" in str(w.message)]  # XLA really used when asked
    assert result["status"] == "ok", result["failure_reason"]
    assert result["device"] == "cpu"  # mixed precision is a GPU option; on CPU it stays float32
