"""Shared fixtures: the repository root, tiny configs, and a Snakemake runner."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

# CANDLE NT3's nt3_default_model.txt, plus this project's defaults for the other model families
# and execution options,
# written out independently of candle_lib.params.specs.
NT3_DEFAULTS = {
    "model": "nt3",
    "task": "classification",
    "conv": [128, 20, 1, 128, 10, 1],
    "pool": [1, 10],
    "dense": [200, 20],
    "latent_dim": 2,
    "vae": False,
    "activation": "relu",
    "out_activation": "softmax",
    "dropout": 0.1,
    "input_dropout": 0.0,
    "l2": 0.0,
    "loss": "auto",
    "regression_head": "mean",
    "quantiles": [0.05, 0.5, 0.95],
    "optimizer": "sgd",
    "learning_rate": 0.001,
    "batch_size": 20,
    "epochs": 400,
    "early_stopping": 0,
    "reduce_lr": 0,
    "class_weight": "none",
    "scaling": "maxabs",
    "rng_seed": 7102,
    "timeout": 3600.0,
    "checkpoint_every": 1,
    "jit_compile": False,
    "mixed_precision": False,
    "strategy": "default",
}

# A tiny version of the default config: the same pipeline in seconds per trial.
TINY_OVERRIDES = {
    "data": {
        "synthetic": {"n_patients": 40, "n_genes": 200, "seed": 3},
        "filters": {"min_nonzero_samples": 5, "top_variance": 100},
        "splits": {"n_folds": 3},
    },
    "model": {"conv": [4, 10, 1], "pool": [5], "dense": [8], "epochs": 3, "batch_size": 16},
    "hpo": {"space": {"learning_rate": [0.001, 0.01]}},
}


def deep_update(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "space":
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def tiny_config(**overrides) -> dict:
    return deep_update(deep_update(default_config(), TINY_OVERRIDES), overrides)


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """The command line that runs the project's Snakefile in ``workdir`` with a complete config."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        "--scheduler",
        "greedy",
        *args,
    ]


def snakemake(workdir: Path, configfile: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the project's Snakefile in ``workdir`` with a complete config file."""
    command = snakemake_command(workdir, configfile, *args)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run; {} when nothing is to be done."""
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    lines = text.split("Job stats:", 1)[1].splitlines()
    counts = {}
    for line in lines[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    counts.pop("total", None)
    return counts


@pytest.fixture
def repo() -> Path:
    return REPO


def make_prepared(
    directory: Path, *, n_patients: int = 40, n_genes: int = 200, top_variance: int = 100, seed: int = 3
) -> Path:
    """A small prepared dataset (synthetic NT3 cohort, FPKM-UQ, log2, filters, grouped splits)."""
    from candle_lib.data.ingest import align_counts
    from candle_lib.data.prepared import prepare_matrix, write_prepared
    from candle_lib.data.split_methods import assign_splits
    from candle_lib.data.synthetic import synthetic_nt3_cohort

    cohort = synthetic_nt3_cohort(n_patients=n_patients, n_genes=n_genes, seed=seed)
    genes = cohort.genes.astype({"length": float})
    data = align_counts(cohort.counts.T, genes, cohort.samples, id_column="sample_id", counts_source="synthetic")
    samples = cohort.samples
    splits = assign_splits(samples["sample_id"], samples["label"], samples["patient_id"], n_folds=3, seed=7)
    options = {
        "normalization": "fpkm_uq",
        "transform": "log2p1",
        "filters": {"min_nonzero_samples": 5, "top_variance": top_variance},
        "labels": {"encoding": "one_hot"},
    }
    matrix, table, features, summary = prepare_matrix(
        data, splits, options, id_column="sample_id", label_column="label", group_column="patient_id"
    )
    write_prepared(directory, matrix, table, features, {"preparation": options, **summary})
    return directory


def fake_trial(directory, prepared, *, lambda_layer=False, regression=False):
    """A finished trial of a dense classifier: a Keras model, its scaler fitted on the training
    rows, params.json and metrics.json (untrained weights: inference does not care)."""
    import keras
    import numpy as np

    from candle_lib.atomic import write_json
    from candle_lib.data.prepared import load_prepared
    from candle_lib.params.specs import resolve_params
    from candle_lib.trial.scaling import fit_scaler, scaler_to_json
    from candle_lib.trial.spec import trial_spec

    data = load_prepared(prepared)
    n_features = data.matrix.shape[1]
    inputs = keras.Input((n_features,))
    hidden = keras.layers.Lambda(lambda t: t * 2.0)(inputs) if lambda_layer else inputs
    head = keras.layers.Dense(1) if regression else keras.layers.Dense(2, activation="softmax")
    model = keras.Model(inputs, head(hidden))
    directory.mkdir(parents=True)
    model.save(directory / "model.keras")
    scaler = fit_scaler("standard", np.asarray(data.matrix[data.rows("train")]))
    (directory / "scaler.json").write_text(scaler_to_json("standard", scaler))
    params = resolve_params(
        {
            "model": "dense",
            "dense": [4],
            "scaling": "standard",
            "task": "regression" if regression else "classification",
        }
    )
    write_json(
        directory / "params.json",
        trial_spec(params, role={"kind": "final", "train": ["train", "val"], "eval": "test"}, data=prepared.name),
    )
    write_json(directory / "metrics.json", {"status": "ok", "failure_reason": None})
    return directory


@pytest.fixture(scope="session")
def tiny_prepared(tmp_path_factory) -> Path:
    return make_prepared(tmp_path_factory.mktemp("prepared") / "prep-00000000")


def pytest_collection_modifyitems(items):
    """Every test under tests/workflow runs Snakemake end to end: mark it so that
    ``-m "not workflow"`` leaves them all out (tests/unit is the fast loop)."""
    workflow_dir = Path(__file__).parent / "workflow"
    for item in items:
        if workflow_dir in Path(item.fspath).parents:
            item.add_marker(pytest.mark.workflow)
