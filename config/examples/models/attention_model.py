"""A Keras model of your own for expression rows: a gated feature weighting, a dense layer, dropout.

Use it with ``model: {model: config/examples/models/attention_model.py:build}``. The trial calls
``build(params, input_width, output_width, output_activation)`` and compiles the model it returns
with the configured optimizer, the task's loss and metrics (see docs/plugins.md).
"""

import keras

# The hyperparameters this model adds to the built-in ones: read from the file (never imported)
# to validate the config and the search space; the trial's params hold their values.
HYPERPARAMETERS = {
    "attention_units": {"type": "int", "default": 16, "range": [1, 512], "help": "units of the gate's hidden layer"},
    "gate": {
        "type": "str",
        "default": "softmax",
        "choices": ["softmax", "sigmoid"],
        "help": "how features are weighted",
    },
}


@keras.saving.register_keras_serializable(package="attention_model")
class FeatureGate(keras.layers.Layer):
    """Weights each input feature by a gate computed from the whole row (softmax: the weights of a
    row sum to 1, scaled back by the width; sigmoid: each weight in 0..1)."""

    def __init__(self, units, gate="softmax", **kwargs):
        super().__init__(**kwargs)
        self.units, self.gate = units, gate

    def build(self, input_shape):
        self.hidden = keras.layers.Dense(self.units, activation="tanh")
        self.scores = keras.layers.Dense(input_shape[-1])
        self.hidden.build(input_shape)
        self.scores.build((input_shape[0], self.units))

    def call(self, inputs):
        scores = self.scores(self.hidden(inputs))
        if self.gate == "softmax":
            weights = keras.ops.softmax(scores, axis=-1) * keras.ops.cast(keras.ops.shape(inputs)[-1], inputs.dtype)
        else:
            weights = keras.ops.sigmoid(scores)
        return inputs * weights

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gate": self.gate}


def build(params, input_width, output_width, output_activation):
    inputs = keras.Input(shape=(input_width,), name="features")
    x = FeatureGate(params["attention_units"], params["gate"], name="feature_gate")(inputs)
    for j, units in enumerate(params["dense"]):
        x = keras.layers.Dense(units, activation=params["activation"])(x)
        x = keras.layers.Dropout(params["dropout"], seed=params["rng_seed"] + j)(x)
    outputs = keras.layers.Dense(output_width, activation=output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name="attention_model")
