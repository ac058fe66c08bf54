"""Workflow test of the tox21 source: Snakemake generates the compounds once, ingests and splits
them once, and prepares each data variant of the search (one job per variant)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, planned_jobs, snakemake, tiny_config, write_config

from candle_lib.config import validate_config
from candle_lib.search.methods import data_variants

pytestmark = pytest.mark.workflow

CONFIG = {
    "data": {
        "source": "synthetic",
        "synthetic": {
            "variant": "tox21",
            "n_compounds": 90,
            "n_descriptors": 8,
            "n_fingerprint_bits": 200,
            "n_scaffolds": 5,
            "n_toxicophores": 3,
            "n_tasks": 1,
            "active_fraction": 0.3,
            "seed": 2,
        },
        "normalization": "standard_deviation",
        "transform": "none",
        "features": "descriptors",
        "filters": {"min_nonzero_samples": 5, "top_variance": None, "gene_list": None},
        "labels": {"encoding": "one_hot", "classes": None},
        "splits": {"test_fraction": 0.2, "val_fraction": 0.2, "n_folds": 3, "seed": 7},
    },
    "model": {
        "model": "dense",
        "task": "classification",
        "dense": [8],
        "epochs": 1,
        "batch_size": 32,
        "scaling": "none",
    },
    "hpo": {
        "method": "grid",
        "objective": {"metric": "val_auc", "direction": "maximize"},
        "space": {"data.normalization": ["sqrt"], "data.features": ["similarities", "ecfp4"], "learning_rate": [0.01]},
    },
}


def test_each_prep_variant_is_one_job_with_its_own_block(tmp_path):
    config_path = write_config(tmp_path / "config.yaml", CONFIG)
    plan = planned_jobs(snakemake(tmp_path, config_path, "-n"))
    assert plan["prepare_dataset"] == 2 and plan["train_trial"] == 2
    assert plan["synthesize_compounds"] == plan["ingest_data"] == plan["assign_splits"] == 1

    config = validate_config(CONFIG, REPO / "config" / "schema" / "config.schema.yaml")
    variants = data_variants(config)
    assert {v["features"] for v in variants.values()} == {"similarities", "ecfp4"}
    targets = [f"results/data/prepared/{prep}/manifest.json" for prep in variants]
    snakemake(tmp_path, config_path, *targets)  # data only: no training

    raw = pd.read_parquet(tmp_path / "results" / "raw" / "synthetic" / "tox21" / "matrix.parquet").set_index(
        "compound_id"
    )
    for prep, data in variants.items():
        directory = tmp_path / "results" / "data" / "prepared" / prep
        matrix = np.load(directory / "matrix.npy")
        features = pd.read_parquet(directory / "features.parquet")
        samples = pd.read_parquet(directory / "samples.parquet")
        manifest = json.loads((directory / "manifest.json").read_text())
        block = [
            c
            for c in raw.columns
            if c.startswith({"similarities": ("TOXSIM", "SCAFSIM"), "ecfp4": ("ECFP",)}[data["features"]])
        ]
        kept = [c for c in block if (raw[c] != 0).sum() >= 5]
        assert matrix.shape == (90, len(kept)) == tuple(manifest["shape"])
        assert list(features["feature_id"]) == kept and set(features["block"]) == {data["features"]}
        assert (
            manifest["preparation"]["normalization"] == "sqrt"
            and manifest["preparation"]["features"] == data["features"]
        )
        assert samples.groupby("group")["split"].nunique().max() == 1  # scaffolds never straddle splits
        # sign(z) sqrt(|z|), z fitted on the training rows
        train = (samples["split"] == "train").to_numpy()
        values = raw.loc[samples["sample_id"], kept].to_numpy(dtype=np.float64)
        sd = values[train].std(axis=0)
        z = (values - values[train].mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        np.testing.assert_allclose(matrix, np.sign(z) * np.sqrt(np.abs(z)), rtol=1e-5, atol=1e-6)
    # 3 + 5 similarities (toxicophores, scaffolds) vs the 200 sparse bits that pass: different shapes
    shapes = {np.load(tmp_path / "results" / "data" / "prepared" / prep / "matrix.npy").shape[1] for prep in variants}
    assert len(shapes) == 2


def test_a_searched_block_option_on_expression_data_fails_at_parse_time_naming_the_key(tmp_path):
    config = tiny_config(hpo={"space": {"data.normalization": ["fpkm_uq", "tanh"]}})
    result = snakemake(tmp_path, write_config(tmp_path / "config.yaml", config), "-n", check=False)
    assert result.returncode != 0
    assert "config key 'data.normalization': 'tanh' normalizes compound feature blocks" in result.stdout + result.stderr
