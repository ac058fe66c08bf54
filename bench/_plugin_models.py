"""The plug-in models of bench/bench_plugin.py: the benched dense DNN and NT3-style 1D-CNN,
written as a user's Keras builder (``model: "bench/_plugin_models.py:build"``).

:func:`build` gets what every Keras builder gets (the resolved hyperparameters, the input width,
the output width and the output activation) and returns the same architecture as the built-in
family, built by the same code:

- ``layout: dense``: :func:`candle_lib.models.dense.build_dense` on a copy of the
  hyperparameters whose ``model`` is ``dense``: the same layers, names and seeds as ``model: dense``;
- ``layout: nt3``: an input of ``input_width`` values, a ``Reshape((input_width, 1))`` layer,
  then the model :func:`candle_lib.models.conv1d.build_conv1d` builds for ``model: nt3`` (the
  same conv/pool/dense stack), called as one nested layer. What differs from the built-in nt3:
  a plug-in gets 2-D input rows (only the built-in nt3/tc1 get a channel axis added by the
  trial's feed), so the channel axis is added inside the model, by the Reshape; the nested
  model adds one level of layer names (the trial's model summary shows it as one layer).

The two hyperparameters this module declares (read by candle_lib.params.declared without
importing it) are there so that the bench goes through the declared-hyperparameter path too:
``layout`` picks the architecture, ``width_multiplier`` scales the dense layers' units (1, the
bench's value, keeps them as the built-in model has them).
"""

from __future__ import annotations

HYPERPARAMETERS = {
    "layout": {"type": "str", "default": "dense", "choices": ["dense", "nt3"], "help": "the architecture to build"},
    "width_multiplier": {
        "type": "int",
        "default": 1,
        "range": [1, 16],
        "help": "multiplies the units of every dense layer",
    },
}


def build(params: dict, input_width: int, output_width: int, output_activation: str):
    """The benched model of ``params['layout']``, as the built-in family of that name builds it."""
    import keras

    from candle_lib.models.conv1d import build_conv1d
    from candle_lib.models.dense import build_dense

    family = {**params, "dense": [units * params["width_multiplier"] for units in params["dense"]]}
    if params["layout"] == "dense":
        return build_dense({**family, "model": "dense"}, input_width, output_width, output_activation)
    conv_stack = build_conv1d({**family, "model": "nt3"}, input_width, output_width, output_activation, name="nt3")
    inputs = keras.Input(shape=(input_width,), name="features")
    channels = keras.layers.Reshape((input_width, 1), name="channel_axis")(inputs)
    return keras.Model(inputs, conv_stack(channels), name="plugin_nt3")
