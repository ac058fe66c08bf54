"""The Tox21-like synthetic compounds: determinism, the three feature blocks, and labels that
the informative features predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from candle_lib.data.synthetic_tox21 import FEATURE_BLOCKS, TOX21_TASKS, synthetic_tox21


@pytest.fixture(scope="module")
def tox():
    return synthetic_tox21(
        n_compounds=400, n_fingerprint_bits=512, n_descriptors=20, n_scaffolds=6, n_toxicophores=6, n_tasks=2, seed=3
    )


def test_same_seed_same_set_other_seed_other_set(tox):
    again = synthetic_tox21(
        n_compounds=400, n_fingerprint_bits=512, n_descriptors=20, n_scaffolds=6, n_toxicophores=6, n_tasks=2, seed=3
    )
    for name in ("compounds", "descriptors", "similarities", "fingerprints", "labels"):
        pd.testing.assert_frame_equal(getattr(tox, name), getattr(again, name))
    assert tox.informative == again.informative
    other = synthetic_tox21(
        n_compounds=400, n_fingerprint_bits=512, n_descriptors=20, n_scaffolds=6, n_toxicophores=6, n_tasks=2, seed=4
    )
    assert not tox.fingerprints.equals(other.fingerprints)


def test_shapes_names_and_types(tox):
    assert list(tox.compounds.columns) == ["compound_id", "scaffold", "label"]
    assert tox.compounds["compound_id"].tolist()[:2] == ["TOX00001", "TOX00002"]
    assert (
        tox.descriptors.shape == (400, 20)
        and tox.descriptors.columns[0] == "DESC0001"
        and tox.descriptors.columns[-1] == "DESC0020"
    )
    assert list(tox.similarities.columns) == [f"TOXSIM{t:02d}" for t in range(1, 7)] + [
        f"SCAFSIM{s:02d}" for s in range(1, 7)
    ]
    assert tox.fingerprints.shape == (400, 512) and tox.fingerprints.columns[-1] == "ECFP0512"
    assert list(tox.labels.columns) == list(TOX21_TASKS[:2]) == ["NR-AR", "NR-AR-LBD"]
    assert tox.descriptors.dtypes.eq(np.float32).all() and tox.similarities.dtypes.eq(np.float32).all()
    assert tox.fingerprints.dtypes.eq(np.uint8).all() and tox.labels.dtypes.eq(np.int8).all()
    assert (tox.descriptors.index == tox.fingerprints.index).all() and tox.labels.index.name == "compound_id"
    assert set(tox.compounds["scaffold"]) <= {f"SCF{s:03d}" for s in range(1, 7)}


def test_fingerprints_are_sparse_bits_and_thresholds_bite(tox):
    bits = tox.fingerprints.to_numpy()
    assert set(np.unique(bits)) == {0, 1}
    assert 0.01 < bits.mean() < 0.15
    set_in = bits.sum(axis=0)
    kept = [(set_in >= n).sum() for n in (5, 10, 20)]
    assert kept[0] > kept[1] > kept[2] > 0 and kept[0] < 512


def test_descriptors_mix_continuous_and_counts(tox):
    values = tox.descriptors.to_numpy()
    continuous, counts = values[:, :10], values[:, 10:]
    assert (continuous != np.round(continuous)).mean() > 0.99
    assert (counts >= 0).all() and (counts == np.round(counts)).all() and (counts == 0).mean() > 0.3


def test_similarities_lie_in_unit_interval_and_flag_toxicophores(tox):
    sims = tox.similarities.to_numpy()
    assert sims.min() >= 0.0 and sims.max() <= 1.0
    task = "NR-AR"
    toxsims = [f for f in tox.informative[task] if f.startswith("TOXSIM")]
    assert len(toxsims) == 2
    active = tox.labels[task].to_numpy() == 1
    assert (
        tox.similarities.loc[active, toxsims].sum(axis=1).mean()
        > 2 * tox.similarities.loc[~active, toxsims].sum(axis=1).mean()
    )


def test_prevalence_is_exact(tox):
    assert tox.labels.sum().tolist() == [80, 80]  # 20% of 400, by quantile threshold
    assert (tox.compounds["label"] == "active").sum() == 80
    assert ((tox.compounds["label"] == "active").to_numpy() == (tox.labels["NR-AR"] == 1).to_numpy()).all()


def test_informative_features_predict_the_label(tox):
    train, test = slice(0, 300), slice(300, 400)
    for task, features in tox.informative.items():
        matrix = pd.concat([tox.descriptors, tox.similarities, tox.fingerprints], axis=1)[list(features)].to_numpy(
            dtype=float
        )
        matrix = (matrix - matrix[train].mean(axis=0)) / (matrix[train].std(axis=0) + 1e-9)
        y = tox.labels[task].to_numpy()
        model = LogisticRegression(max_iter=1000).fit(matrix[train], y[train])
        assert roc_auc_score(y[test], model.predict_proba(matrix[test])[:, 1]) > 0.9, task


def test_feature_matrix_stacks_blocks_in_order(tox):
    matrix, features = tox.feature_matrix(("similarities", "ecfp4"))
    assert matrix.dtype == np.float32 and matrix.shape == (400, 12 + 512)
    assert features["block"].tolist() == ["similarities"] * 12 + ["ecfp4"] * 512
    assert features["feature_id"].iloc[12] == "ECFP0001"
    np.testing.assert_array_equal(matrix[:, 12:], tox.fingerprints.to_numpy(dtype=np.float32))
    whole, all_features = tox.feature_matrix()
    assert whole.shape == (400, 20 + 12 + 512) and list(dict.fromkeys(all_features["block"])) == list(FEATURE_BLOCKS)
    single, _ = tox.feature_matrix("descriptors")
    assert single.shape == (400, 20)
    with pytest.raises(ValueError, match="feature block 'fingerprints'"):
        tox.feature_matrix("fingerprints")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_compounds": 5}, "n_compounds"),
        ({"n_tasks": 13}, "n_tasks"),
        ({"n_tasks": 0}, "n_tasks"),
        ({"n_toxicophores": 1}, "n_toxicophores"),
        ({"n_fingerprint_bits": 64}, "n_fingerprint_bits must be at least"),
        ({"active_fraction": 1.0}, "active_fraction"),
        ({"n_descriptors": 3, "n_tasks": 2}, "n_descriptors"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_tox21(**kwargs)
