"""The dense DNN of CANDLE's hyperparameter table: optional input dropout, then one
Dense -> activation -> dropout block per entry of ``dense``, L2 weight decay on the kernels,
then a classifier (softmax/sigmoid) or regression (linear) head: one output, one per quantile,
or a mean and a log-variance (``regression_head``, :mod:`candle_lib.trial.heads`)."""

from __future__ import annotations

import keras

from candle_lib.models.layers import dense_block, gaussian_output, output_layer


def build_dense(params: dict, n_features: int, n_outputs: int, out_activation: str) -> keras.Model:
    inputs = keras.Input(shape=(n_features,), name="features")
    x = inputs
    if params["input_dropout"] > 0:
        x = keras.layers.Dropout(params["input_dropout"], seed=params["rng_seed"] + 1, name="input_dropout")(x)
    for j, units in enumerate(params["dense"]):
        x = dense_block(x, units, params, name=f"dense{j + 1}")
    if params["regression_head"] == "gaussian" and params["task"] == "regression":
        return keras.Model(inputs, gaussian_output(x), name="dense")
    return keras.Model(inputs, output_layer(x, n_outputs, out_activation), name="dense")
