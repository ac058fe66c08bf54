"""The tox21 compounds: feature-block normalizations (exact values from the formulas), block
selection, the sparseness threshold on raw values, reading the generated tables, and config
errors that name the key."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, default_config

from candle_lib.atomic import write_table
from candle_lib.config import validate_config
from candle_lib.data.block_normalize import normalize_block
from candle_lib.data.ingest import CountData
from candle_lib.data.prepared import preparation_options, prepare_matrix, select_block
from candle_lib.data.sources import ingest_options, read_source
from candle_lib.data.synthetic_tox21 import RAW_FILES, synthetic_tox21
from candle_lib.errors import CandleInputError

SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"

# 4 rows x 3 features; the first two rows are the training rows.
X = np.array([[1.0, 0.0, 4.0], [3.0, 0.0, 0.0], [5.0, 2.0, 2.0], [-1.0, 7.0, 9.0]])
TRAIN = np.array([True, True, False, False])
# by hand: train means (2, 0, 2), population sds (1, 0 -> 1, 2)
Z = np.array([[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0], [3.0, 2.0, 0.0], [-3.0, 7.0, 3.5]])


def test_standard_deviation_is_the_z_score_of_training_rows():
    out, fitted = normalize_block("standard_deviation", X, TRAIN)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, Z.astype(np.float32))
    assert fitted["mean"] == [2.0, 0.0, 2.0] and fitted["sd"] == [1.0, 1.0, 2.0]


def test_tanh_is_tanh_of_the_z_score():
    out, _ = normalize_block("tanh", X, TRAIN)
    expected = [[np.tanh(v) for v in row] for row in Z.tolist()]
    np.testing.assert_array_equal(out, np.array(expected, dtype=np.float32))
    assert out[2, 0] == np.float32(0.99505475368673)  # tanh(3)


def test_sqrt_is_the_signed_root_of_the_z_score():
    out, _ = normalize_block("sqrt", X, TRAIN)
    expected = [[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0], [3**0.5, 2**0.5, 0.0], [-(3**0.5), 7**0.5, 3.5**0.5]]
    np.testing.assert_array_equal(out, np.array(expected, dtype=np.float32))


def test_a_constant_feature_becomes_zero_and_unknown_methods_fail():
    out, _ = normalize_block("tanh", np.array([[2.0], [2.0], [5.0]]), [0, 1])
    np.testing.assert_array_equal(out[:, 0], np.float32([0.0, 0.0, np.tanh(3.0)]))
    with pytest.raises(CandleInputError, match="unknown feature normalization 'cube'"):
        normalize_block("cube", X, TRAIN)


@pytest.fixture(scope="module")
def compounds():
    return synthetic_tox21(
        n_compounds=80, n_descriptors=8, n_fingerprint_bits=200, n_scaffolds=4, n_toxicophores=3, n_tasks=1, seed=5
    )


@pytest.fixture(scope="module")
def ingested(compounds):
    matrix, features = compounds.feature_matrix()
    samples = pd.DataFrame(
        {
            "sample_id": compounds.compounds["compound_id"],
            "label": compounds.compounds["label"],
            "group": compounds.compounds["scaffold"],
        }
    )
    return CountData(matrix, samples, features.rename(columns={"feature_id": "gene_id"}))


def splits_of(ingested):
    n = len(ingested.samples)
    split = np.where(np.arange(n) % 5 == 0, "test", np.where(np.arange(n) % 5 == 1, "val", "train"))
    return pd.DataFrame({"sample_id": ingested.samples["sample_id"], "split": split, "fold": np.arange(n) % 3})


def prepare(ingested, **options):
    base = {
        "normalization": "standard_deviation",
        "transform": "none",
        "filters": {"min_nonzero_samples": 0},
        "labels": {"encoding": "one_hot"},
    }
    return prepare_matrix(
        ingested,
        splits_of(ingested),
        {**base, **options},
        id_column="sample_id",
        label_column="label",
        group_column="group",
    )


@pytest.mark.parametrize("block", ["descriptors", "similarities", "ecfp4"])
def test_each_block_selects_its_own_columns(compounds, ingested, block):
    matrix, _, features, summary = prepare(ingested, features=block)
    assert list(features["feature_id"]) == list(compounds.block(block).columns)
    assert set(features["block"]) == {block}
    assert matrix.shape == (80, compounds.block(block).shape[1]) and summary["n_genes_in"] == matrix.shape[1]


def test_no_block_means_all_three(compounds, ingested):
    matrix, _, features, _ = prepare(ingested)
    assert matrix.shape[1] == 8 + (3 + 4) + 200 and list(features["block"].unique()) == [
        "descriptors",
        "similarities",
        "ecfp4",
    ]


def test_the_threshold_counts_raw_non_zeros_and_stats_come_from_train_rows(compounds, ingested):
    raw = compounds.block("ecfp4")
    matrix, samples, features, _ = prepare(ingested, features="ecfp4", filters={"min_nonzero_samples": 10})
    expected = [c for c in raw.columns if (raw[c] != 0).sum() >= 10]
    assert 0 < len(expected) < raw.shape[1] and list(features["feature_id"]) == expected
    train = (samples["split"] == "train").to_numpy()
    values = raw[expected].to_numpy(dtype=np.float64)
    mean, sd = values[train].mean(axis=0), values[train].std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    np.testing.assert_allclose(matrix, (values - mean) / sd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(features["train_mean"], mean)
    np.testing.assert_allclose(features["train_sd"], sd)


def test_selecting_a_block_of_a_source_without_blocks_names_the_key():
    plain = np.ones((3, 2))
    with pytest.raises(CandleInputError, match="config key 'data.features'"):
        select_block(plain, pd.DataFrame({"gene_id": ["a", "b"]}), "ecfp4")


def test_the_generated_tables_read_back_as_the_same_matrix(compounds, tmp_path):
    inputs = {}
    for name, table in compounds.raw_tables().items():
        inputs[name] = str(tmp_path / RAW_FILES[name])
        write_table(inputs[name], table)
    config = tox21_config()
    data = read_source(ingest_options(config["data"]), inputs)
    matrix, features = compounds.feature_matrix()
    np.testing.assert_array_equal(data.counts, matrix)
    assert list(data.genes["block"]) == list(features["block"])
    assert list(data.samples.columns) == ["sample_id", "label", "group"]
    assert list(data.samples["group"]) == list(compounds.compounds["scaffold"])


def tox21_config(**data):
    config = default_config()
    config["data"].update(
        {
            "source": "synthetic",
            "synthetic": {
                "variant": "tox21",
                "n_compounds": 60,
                "n_descriptors": 6,
                "n_fingerprint_bits": 200,
                "n_scaffolds": 3,
                "n_toxicophores": 3,
                "n_tasks": 1,
                "seed": 1,
            },
            "normalization": "tanh",
            "transform": "none",
            "features": "ecfp4",
        }
    )
    config["data"].update(data)
    config["model"] = {"model": "dense", "task": "classification", "dense": [8]}
    config["hpo"] = {
        "method": "grid",
        "objective": {"metric": "val_auc", "direction": "maximize"},
        "space": {"learning_rate": [0.01]},
    }
    return config


def test_a_tox21_config_is_valid_and_its_options_record_the_block():
    config = validate_config(tox21_config(), SCHEMA)
    assert preparation_options(config["data"])["features"] == "ecfp4"
    nt3 = validate_config(default_config(), SCHEMA)
    assert "features" not in preparation_options(nt3["data"])  # other configs keep their options


@pytest.mark.parametrize(
    "edit, key",
    [
        ({"features": "fingerprints"}, "data.features"),
        ({"normalization": "fpkm_uq"}, "data.normalization"),
        ({"normalization": "zscore"}, "data.normalization"),
        ({"transform": "log2p1"}, "data.transform"),
        ({"synthetic": {"variant": "tox21", "n_genes": 100}}, "data.synthetic.n_genes"),
        ({"synthetic": {"variant": "tox21", "n_compounds": "many"}}, "data.synthetic.n_compounds"),
    ],
)
def test_tox21_config_errors_name_the_key(edit, key):
    with pytest.raises(CandleInputError, match=f"config key '{key}'"):
        validate_config(tox21_config(**edit), SCHEMA)


@pytest.mark.parametrize(
    "edit, key", [({"features": "ecfp4"}, "data.features"), ({"normalization": "tanh"}, "data.normalization")]
)
def test_expression_sources_reject_the_block_options(edit, key):
    config = copy.deepcopy(default_config())
    config["data"].update(edit)
    with pytest.raises(CandleInputError, match=f"config key '{key}'"):
        validate_config(config, SCHEMA)
