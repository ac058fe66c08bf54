"""Small shared pieces of the model builders."""

from __future__ import annotations

import keras


def kernel_regularizer(params: dict):
    """L2 weight decay of ``params['l2']`` on kernels, or none."""
    return keras.regularizers.L2(params["l2"]) if params["l2"] > 0 else None


def dense_block(x, units: int, params: dict, name: str):
    """Dense -> activation -> dropout (when ``params['dropout']`` > 0)."""
    x = keras.layers.Dense(units, kernel_regularizer=kernel_regularizer(params), name=name)(x)
    x = keras.layers.Activation(params["activation"], name=f"{name}_act")(x)
    if params["dropout"] > 0:
        x = keras.layers.Dropout(params["dropout"], seed=params["rng_seed"], name=f"{name}_dropout")(x)
    return x


def output_layer(x, n_outputs: int, activation: str):
    """The output units; computed in float32 so mixed precision never rounds probabilities."""
    x = keras.layers.Dense(n_outputs, name="logits")(x)
    return keras.layers.Activation(activation, dtype="float32", name="outputs")(x)


@keras.saving.register_keras_serializable(package="candle_lib")
class StopGradient(keras.layers.Layer):
    """Passes its input on, but no gradient back (safe-mode loadable, unlike a Lambda)."""

    def call(self, x):
        return keras.ops.stop_gradient(x)


def gaussian_output(x):
    """Mean and log-variance outputs. The log-variance reads the hidden features without
    training them: the hidden layers learn from the mean's gradient only (weighted by 1/σ² per
    row), so on unstandardized targets a growing variance cannot stall the mean's fit."""
    mean = keras.layers.Dense(1, name="mean")(x)
    log_variance = keras.layers.Dense(1, name="log_variance")(StopGradient(name="detach")(x))
    x = keras.layers.Concatenate(name="mean_log_variance")([mean, log_variance])
    return keras.layers.Activation("linear", dtype="float32", name="outputs")(x)
