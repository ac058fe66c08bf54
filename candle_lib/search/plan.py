"""Turn a validated config into the trials it needs, keyed by content-addressed id."""

from __future__ import annotations

import hashlib

from ..params import canonical_json, resolve_params, trial_id, trial_spec
from .grid import expand_grid

HOLDOUT = {"kind": "holdout", "train": ["train"], "eval": "val"}
FINAL = {"kind": "final", "train": ["train", "val"], "eval": "test"}


def prep_id(data_config: dict) -> str:
    """Id of a prepared-dataset variant: a hash of the preparation options only (not of the
    input files, whose changes Snakemake tracks itself)."""
    options = {key: data_config[key] for key in ("normalization", "transform", "filters", "labels")}
    return "prep-" + hashlib.sha256(canonical_json(options).encode()).hexdigest()[:8]


def plan_hpo(config: dict) -> dict[str, dict]:
    """Trial specs of the configured search, in search order (dicts keep insertion order)."""
    data = prep_id(config["data"])
    hpo = config["hpo"]
    if hpo["method"] != "grid":
        raise NotImplementedError(f"search method '{hpo['method']}'")
    base = resolve_params(config["model"], where="model")
    trials = {}
    for point in expand_grid(hpo["space"]):
        params = resolve_params(base, point, where="hpo.space")
        spec = trial_spec(params, role=HOLDOUT, data=data)
        trials[trial_id(spec)] = spec
    return trials


def final_spec(best: dict, *, prepared: str) -> dict:
    """The spec of the production retraining: the best trial's params on train+val, test once."""
    if best["data"] != prepared:
        raise ValueError(f"best trial used dataset {best['data']} but {prepared} was given")
    return trial_spec(best["params"], role=FINAL, data=best["data"])
