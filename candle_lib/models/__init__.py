"""Keras 3 models built from CANDLE-style parameters. Importing a builder imports Keras."""

from __future__ import annotations


def build_model(params: dict, n_features: int, n_classes: int):
    """Build (not compile) the model named by ``params['model']``."""
    if params["model"] == "nt3":
        from .nt3 import build_nt3

        return build_nt3(params, n_features, n_classes)
    raise ValueError(f"unknown model '{params['model']}'")
