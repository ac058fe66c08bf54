"""NT3 and TC1: CANDLE's Pilot1 1D-CNN classifiers, in Keras 3.

Conv1D -> activation -> MaxPooling1D for each [filters, kernel, stride] triple of ``conv``,
then Flatten, Dense -> activation -> Dropout for each entry of ``dense``, then the output layer
with one unit per class (or code bit). NT3 is the binary normal/tumor case; TC1 is the same
family with as many classes as the data has (CANDLE hard-codes 36).
"""

from __future__ import annotations

import keras

from candle_lib.models.layers import dense_block, kernel_regularizer, output_layer
from candle_lib.models.shapes import check_conv_fits, conv_triples


def build_conv1d(params: dict, n_features: int, n_outputs: int, out_activation: str, name: str = "nt3") -> keras.Model:
    check_conv_fits(params, n_features)  # a CandleInputError naming model.conv/pool, before any layer is made
    triples = conv_triples(params["conv"])
    pools = params["pool"]
    inputs = keras.Input(shape=(n_features, 1), name="expression")
    x = inputs
    for i, ((filters, kernel, stride), pool) in enumerate(zip(triples, pools)):
        x = keras.layers.Conv1D(
            filters,
            kernel,
            strides=stride,
            padding="valid",
            kernel_regularizer=kernel_regularizer(params),
            name=f"conv{i + 1}",
        )(x)
        x = keras.layers.Activation(params["activation"], name=f"conv{i + 1}_act")(x)
        if pool > 1:
            x = keras.layers.MaxPooling1D(pool_size=pool, name=f"pool{i + 1}")(x)
    x = keras.layers.Flatten()(x)
    for j, units in enumerate(params["dense"]):
        x = dense_block(x, units, params, name=f"dense{j + 1}")
    return keras.Model(inputs, output_layer(x, n_outputs, out_activation), name=name)
