"""Feature scaling, fitted on a trial's training rows only and saved with the trial.

Scalers are scikit-learn's; their fitted state is saved as JSON (no pickle), so a saved trial
can be inspected and re-loaded safely.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

SCALERS = {
    "standard": StandardScaler,  # z-score: (x - mean) / sd
    "minmax": MinMaxScaler,  # (x - min) / (max - min)
    "maxabs": MaxAbsScaler,  # x / max|x|
    "robust": RobustScaler,  # (x - median) / IQR
}


def fit_scaler(kind: str, train_values: np.ndarray):
    """Fit the named scaler on training rows; ``none`` returns None."""
    if kind == "none":
        return None
    if kind not in SCALERS:
        raise ValueError(f"unknown scaling '{kind}'; choose one of {sorted(SCALERS) + ['none']}")
    return SCALERS[kind]().fit(train_values)


def apply_scaler(scaler, values: np.ndarray) -> np.ndarray:
    out = values if scaler is None else scaler.transform(values)
    return np.asarray(out, dtype=np.float32)


def scaler_to_json(kind: str, scaler) -> str:
    state = {}
    if scaler is not None:
        for name, value in vars(scaler).items():
            if name.endswith("_") and not name.startswith("_"):
                state[name] = value.tolist() if isinstance(value, np.ndarray) else value
    params = {} if scaler is None else scaler.get_params()
    return json.dumps({"kind": kind, "params": params, "state": state}, default=lambda v: v.item())


def scaler_from_json(text: str):
    spec = json.loads(text)
    if spec["kind"] == "none":
        return None
    scaler = SCALERS[spec["kind"]](**spec["params"])
    for name, value in spec["state"].items():
        setattr(scaler, name, np.asarray(value) if isinstance(value, list) else value)
    return scaler
