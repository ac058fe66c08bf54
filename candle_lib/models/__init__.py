"""Keras 3 models built from CANDLE-style parameters.

- :func:`build_model` (here): the model named by ``params['model']``;
- :mod:`.conv1d`: NT3's and TC1's 1D-CNNs;
- :mod:`.dense`: a dense network (classification or regression heads);
- :mod:`.p1b1`: P1B1's autoencoder (optionally variational);
- :mod:`.layers`, :mod:`.losses`: shared blocks and output layers; Gaussian NLL and pinball
  losses of the regression heads;
- :mod:`.plugin`: a Keras model of the user's own (``params['model']`` a builder reference
  ``module:function`` or ``file.py:function``): its builder imported, called and checked.

Importing this package imports no Keras: a builder imports it when it builds, and the losses
load on first use.

``build_model`` returns an uncompiled model whose output has ``n_outputs`` units; the output
activation is the task's (softmax for one-hot classes, sigmoid for code words, linear for
regression and reconstruction) unless the caller leaves it to ``params['out_activation']``.
"""

from __future__ import annotations

from candle_lib.lazy_names import lazy_names as _lazy_names
from candle_lib.params.specs import model_form

_LAZY = {  # name -> module that imports Keras
    "GaussianNLL": "losses",
    "Pinball": "losses",
    "import_plugin": "plugin",  # these two import no Keras, but load only when used
    "builder_problem": "plugin",
}

__all__ = ["build_model", "GaussianNLL", "Pinball", "import_plugin", "builder_problem"]


def build_model(params: dict, n_features: int, n_outputs: int, output_activation: str | None = None):
    """Build the model named by ``params['model']``: a built-in family (uncompiled), or the
    user's builder (:mod:`.plugin`; compiled if the builder compiled it)."""
    activation = output_activation or params["out_activation"]
    name = params["model"]
    if model_form(name) == "keras":
        from candle_lib.models.plugin import build_plugin_model

        return build_plugin_model(params, n_features, n_outputs, activation)
    if name in ("nt3", "tc1"):
        from candle_lib.models.conv1d import build_conv1d

        return build_conv1d(params, n_features, n_outputs, activation, name=name)
    if name == "dense":
        from candle_lib.models.dense import build_dense

        return build_dense(params, n_features, n_outputs, activation)
    if name == "p1b1":
        from candle_lib.models.p1b1 import build_autoencoder

        return build_autoencoder(params, n_features)
    raise ValueError(f"unknown model '{name}'")


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
