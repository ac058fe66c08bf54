"""A finished trial as a predictor: its saved model (``model.keras``, loaded in Keras' safe
mode) and the scaler it fitted on its training rows, applied to new rows of the same features.

Used by MC-dropout sampling, ensembles and production inference; imports Keras when loading. A
model of the user's (:mod:`candle_lib.models.plugin`) gets 2-D input like the dense model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from candle_lib.trial.scaling import apply_scaler, scaler_from_json

CONV_MODELS = ("nt3", "tc1")


@dataclass
class TrialModel:
    model: object  # a Keras model
    scaler: object  # the fitted scaler (None for scaling: none)
    params: dict  # the trial's resolved hyperparameters

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """Rows of the prepared features -> the model's input: scaled, with a channel axis for
        the 1D-CNNs."""
        x = np.asarray(x, dtype=np.float32)
        if self.scaler is not None:
            x = np.asarray(apply_scaler(self.scaler, x), dtype=np.float32)
        return x[..., None] if self.params["model"] in CONV_MODELS else x

    def predict(self, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """The model's outputs (e.g. class probabilities) for rows ``x``, dropout off."""
        return np.asarray(self.model.predict(self.inputs(x), batch_size=batch_size, verbose=0), dtype=np.float64)

    def sample(self, x: np.ndarray, passes: int, *, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """MC dropout: ``passes`` forward passes with dropout on; shape (passes, rows, outputs)."""
        self._reseed_dropout(seed)
        inputs = self.inputs(x)
        out = np.empty((passes, len(inputs), self.model.output.shape[-1]), dtype=np.float64)
        for p in range(passes):
            for start in range(0, len(inputs), batch_size):
                batch = inputs[start : start + batch_size]
                out[p, start : start + len(batch)] = np.asarray(self.model(batch, training=True))
        return out

    def _reseed_dropout(self, seed: int) -> None:
        """Keras' dropout layers draw from their own seed generators, whose state advances
        with every call: set each one's state from ``seed`` so that the draws repeat."""
        layers = [layer for layer in self.model._flatten_layers() if getattr(layer, "seed_generator", None) is not None]
        for k, layer in enumerate(layers):
            state = layer.seed_generator.state
            state.assign(np.array([seed, k], dtype=state.dtype))


def load_trial_model(trial_dir) -> TrialModel:
    """The model and scaler a trial saved (its role must have saved the model). A model of the
    user's has its builder's module imported first, so that its custom layers are registered."""
    import keras

    from candle_lib.models.plugin import import_plugin

    trial_dir = Path(trial_dir)
    path = trial_dir / "model.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: this trial saved no model (its role needs save_model: true)")
    params = json.loads((trial_dir / "params.json").read_text())["params"]
    import_plugin(params)
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    scaler = scaler_from_json((trial_dir / "scaler.json").read_text())
    return TrialModel(model, scaler, params)
