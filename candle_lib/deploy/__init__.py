"""Deploying a trained model: a production bundle, and predictions for new samples.

- :mod:`.export`: ``model.keras`` beside ``preprocessing.json``, every piece of fitted
  preprocessing its inputs went through;
- :mod:`.predict`: new samples through exactly that preprocessing, then the model (or an
  ensemble of bundles, with its uncertainty).

No TensorFlow on import: Keras loads when a model does. The names of :mod:`.predict` (which
imports pandas and the trial's scaler and task) load on first use.
"""

from candle_lib.deploy.export import export_bundle, preprocessing_record, read_bundle
from candle_lib.lazy_names import lazy_names as _lazy_names

_LAZY = {  # name -> module that imports Keras once it loads a model
    "predict_samples": "predict",
    "read_new_samples": "predict",
    "model_inputs": "predict",
    "load_bundle_model": "predict",
    "ensemble_uncertainty": "predict",
}

__all__ = [
    "export_bundle",
    "preprocessing_record",
    "read_bundle",
    "predict_samples",
    "read_new_samples",
    "model_inputs",
    "load_bundle_model",
    "ensemble_uncertainty",
]


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
