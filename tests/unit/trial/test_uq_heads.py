"""Regression heads that predict their own uncertainty: the losses against hand values, the
parameter checks, and real trials on the synthetic drug-response set (model.keras reloads
with its loss in Keras' safe mode)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_drug_training import MODEL, drug_set  # noqa: F401 -- the module's fixture

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.trial.heads import pinball_loss
from candle_lib.trial.spec import MEMBER, trial_spec

MEMBER_SAVED = {**MEMBER, "save_model": True}


def test_gaussian_nll_loss_by_hand():
    from candle_lib.models.losses import GaussianNLL

    y = np.array([[1.0], [0.0]], dtype=np.float32)
    outputs = np.array([[0.0, 0.0], [2.0, math.log(4.0)]], dtype=np.float32)
    # row 1: 0.5 (0 + 1 / 1) = 0.5; row 2: 0.5 (log 4 + 4 / 4) = 0.5 log 4 + 0.5
    expected = (0.5 + 0.5 * math.log(4.0) + 0.5) / 2
    assert float(GaussianNLL()(y, outputs)) == pytest.approx(expected, rel=1e-6)


def test_gaussian_nll_gradients_are_the_squared_error_for_the_mean_and_the_nll_for_the_variance():
    import tensorflow as tf

    from candle_lib.models.losses import GaussianNLL

    y = tf.constant([[2.0], [0.0]])
    outputs = tf.Variable([[0.0, 0.0], [2.0, math.log(4.0)]])
    with tf.GradientTape() as tape:
        loss = GaussianNLL()(y, outputs)
    grad = tape.gradient(loss, outputs).numpy() * 2  # mean over 2 rows
    # d/dμ 0.5 (y - μ)² = μ - y: -2 and 2; d/dlog σ² 0.5 (log σ² + r² e^-log σ²) = 0.5 (1 - r²/σ²):
    # 0.5 (1 - 4/1) = -1.5 and 0.5 (1 - 4/4) = 0
    np.testing.assert_allclose(grad, [[-2.0, -1.5], [2.0, 0.0]], atol=1e-6)


def test_pinball_loss_by_hand():
    from candle_lib.models.losses import Pinball

    y = np.array([[1.0], [3.0]], dtype=np.float32)
    q = np.array([[0.0, 2.0], [1.0, 4.0]], dtype=np.float32)
    # tau 0.1, 0.9. row 1: e = 1, -1 -> 0.1, 0.1; row 2: e = 2, -1 -> 0.2, 0.1
    expected = (0.1 + 0.1 + 0.2 + 0.1) / 4
    assert float(Pinball([0.1, 0.9])(y, q)) == pytest.approx(expected, rel=1e-6)
    assert pinball_loss(y[:, 0], q.astype(np.float64), [0.1, 0.9]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "layer, where",
    [
        ({"regression_head": "gaussian"}, "model.regression_head"),  # an nt3 classifier
        ({**MODEL, "regression_head": "quantile", "loss": "mae"}, "model.loss"),
        ({**MODEL, "quantiles": [0.5, 0.1]}, "model.quantiles"),
        ({**MODEL, "quantiles": [0.0, 0.5]}, "model.quantiles"),
        ({**MODEL, "regression_head": "median"}, "model.regression_head"),
    ],
)
def test_heads_that_do_not_fit_are_config_errors(layer, where):
    with pytest.raises(CandleInputError, match=where.replace(".", r"\.")):
        resolve_params(layer, where="model")


def _run(drug_set, tmp_path, **params):  # noqa: F811
    from candle_lib.trial.run import run_trial

    spec = trial_spec(resolve_params(MODEL, params), role=MEMBER_SAVED, data=drug_set[0].name)
    result = run_trial(drug_set[0], spec, tmp_path, log=lambda message: None)
    assert result["status"] == "ok", result["failure_reason"]
    return result, pd.read_parquet(tmp_path / "predictions.parquet")


def _reload(tmp_path):
    import keras

    return keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)  # compiled: the loss too


def test_gaussian_head_trial_predicts_a_variance_it_scores(drug_set, tmp_path):  # noqa: F811
    result, predictions = _run(drug_set, tmp_path, regression_head="gaussian")
    assert set(predictions["split"]) == {"val", "test"}
    assert (predictions["variance"] > 0).all()
    val = predictions[predictions["split"] == "val"]
    y, mu, var = val["target"].to_numpy(), val["prediction"].to_numpy(), val["variance"].to_numpy()
    assert result["metrics"]["val_gaussian_nll"] == pytest.approx(
        np.mean(0.5 * (np.log(2 * np.pi * var) + (y - mu) ** 2 / var)), rel=1e-6
    )
    assert result["metrics"]["val_r2"] > 0.5  # the mean fits as the mean head's does
    model = _reload(tmp_path)
    assert model.output.shape[-1] == 2 and type(model.loss).__name__ == "GaussianNLL"


def test_quantile_head_trial_predicts_ordered_levels_that_cover(drug_set, tmp_path):  # noqa: F811
    result, predictions = _run(drug_set, tmp_path, regression_head="quantile", quantiles=[0.1, 0.5, 0.9])
    val = predictions[predictions["split"] == "val"]
    q = val[["q_0.1", "q_0.5", "q_0.9"]].to_numpy()
    y = val["target"].to_numpy()
    np.testing.assert_array_equal(val["prediction"], val["q_0.5"])
    assert result["metrics"]["val_pinball"] == pytest.approx(pinball_loss(y, q, [0.1, 0.5, 0.9]), rel=1e-9)
    assert np.mean((q[:, 0] <= q[:, 1]) & (q[:, 1] <= q[:, 2])) > 0.9  # the pinball loss orders them
    assert 0.5 < np.mean((y >= q[:, 0]) & (y <= q[:, 2])) <= 1.0  # a nominal 80 % interval
    model = _reload(tmp_path)
    assert model.loss.quantiles == [0.1, 0.5, 0.9]
