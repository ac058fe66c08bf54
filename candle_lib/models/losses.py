"""Losses of the uncertainty heads, registered with Keras so that a saved model.keras that
refers to them loads in safe mode. Importing this module imports Keras.

- ``GaussianNLL``: outputs (μ, log σ²); its value is 0.5 (log σ² + (y - μ)² / σ²), the
  Gaussian negative log-likelihood without its constant 0.5 log 2π. Its gradient is that of
  the NLL for log σ² (with the residual held fixed) and that of 0.5 (y - μ)² for μ: the plain
  NLL weights each row's mean gradient by 1/σ², and on unstandardized targets (drug growth
  in -100..100) a variance that grows first stalls the mean's fit (R² ~0 after 25 epochs where
  the mean head reaches 0.85). The fixed points are the NLL's: μ = E[y|x], σ² = E[(y - μ)²|x];
- ``Pinball``: one output per quantile level τ; loss mean_τ max(τ e, (τ - 1) e), e = y - q_τ.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="candle_lib")
class GaussianNLL(keras.losses.Loss):
    def __init__(self, name="gaussian_nll", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        mean, log_var = y_pred[:, :1], y_pred[:, 1:2]
        squared = ops.square(y_true - mean)  # value: the NLL; gradients: see the module docstring
        nll = 0.5 * (log_var + ops.stop_gradient(squared) * ops.exp(-log_var))
        return ops.mean(nll + 0.5 * (squared - ops.stop_gradient(squared)), axis=-1)


@keras.saving.register_keras_serializable(package="candle_lib")
class Pinball(keras.losses.Loss):
    def __init__(self, quantiles, name="pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = [float(q) for q in quantiles]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        tau = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
        error = y_true - y_pred  # (batch, 1) against (batch, quantiles)
        return ops.mean(ops.maximum(tau * error, (tau - 1.0) * error), axis=-1)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}
