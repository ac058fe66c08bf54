"""What one trial is: its spec (resolved hyperparameters, role, prepared-data id), its
content-addressed id, and the roles every workflow builds trials from.

A role says which rows a trial trains on and is scored on (keys: :mod:`candle_lib.trial.roles`).
Every workflow takes its roles from here, so that one training two workflows ask for has one id
and runs once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from candle_lib.params.model_code import model_code
from candle_lib.params.specs import canonical_json

# The files every trial directory holds (DESIGN.md section 3), besides its log. A directory that
# lacks one of them is not a finished trial: it is run again, and no table reports it.
TRIAL_FILES = {
    "params": "params.json",
    "metrics": "metrics.json",
    "history": "history.csv",
    "predictions": "predictions.parquet",
    "scaler": "scaler.json",
}


def missing_trial_files(trial_dir) -> list[str]:
    """The files of TRIAL_FILES that ``trial_dir`` lacks (all of them when it does not exist)."""
    return [name for name in TRIAL_FILES.values() if not (Path(trial_dir) / name).is_file()]


# The search's trials: train on train, score (and monitor) val.
HOLDOUT = {"kind": "holdout", "train": ["train"], "eval": "val"}
# The final model: train on train+val, score test once.
FINAL = {"kind": "final", "train": ["train", "val"], "eval": "test"}

# Trains on train, monitors val, predicts val and test: ensemble members, learning-curve points,
# noise levels. Workflows add only the keys that change the training, so that one training that
# two workflows ask for has one id and runs once.
MEMBER = {"kind": "member", "train": ["train"], "eval": "val", "predict": ["test"]}


def fold_role(fold: int) -> dict:
    return {"kind": "fold", "train": ["train", "val"], "eval": "fold", "fold": int(fold)}


def trial_id(spec: dict) -> str:
    """12 hex digits of the SHA-256 of the canonical trial spec (params, role, data)."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:12]


def trial_spec(params: dict, *, role: dict, data: str) -> dict:
    """The full, hashable description of one training: resolved params, role, dataset id, and,
    for a model of the user's, the hash of its code (:func:`candle_lib.params.model_code.model_code`)
    so that a changed builder file makes its trials stale."""
    spec = {"params": params, "role": role, "data": data}
    code = model_code(params)
    if code:
        spec["code"] = code
    return spec
