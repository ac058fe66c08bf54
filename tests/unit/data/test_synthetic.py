"""The synthetic NT3-like cohort: deterministic, well-formed, and with real differential genes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.synthetic import GENE_TYPES_OTHER, synthetic_nt3_cohort

SMALL = dict(n_patients=40, n_genes=300, paired_fraction=0.5)


@pytest.fixture(scope="module")
def cohort():
    return synthetic_nt3_cohort(**SMALL, seed=11)


def test_same_seed_identical_other_seed_differs(cohort):
    again = synthetic_nt3_cohort(**SMALL, seed=11)
    pd.testing.assert_frame_equal(cohort.counts, again.counts)
    pd.testing.assert_frame_equal(cohort.genes, again.genes)
    pd.testing.assert_frame_equal(cohort.samples, again.samples)
    assert cohort.differential_genes == again.differential_genes
    other = synthetic_nt3_cohort(**SMALL, seed=12)
    assert other.counts.shape == cohort.counts.shape
    assert not np.array_equal(other.counts.to_numpy(), cohort.counts.to_numpy())
    assert other.differential_genes != cohort.differential_genes


def test_shapes_and_ids(cohort):
    # 40 patients, 20 paired (2 samples) + 20 tumor-only -> 60 samples
    assert cohort.counts.shape == (300, 60)
    assert cohort.counts.index.tolist() == cohort.genes["gene_id"].tolist()
    assert cohort.counts.columns.tolist() == cohort.samples["sample_id"].tolist()
    assert cohort.samples["sample_id"].is_unique
    assert cohort.genes["gene_id"].is_unique
    assert cohort.genes["gene_id"].iloc[0] == "SYNG000001"


def test_matched_pairs_share_a_patient_one_normal_one_tumor(cohort):
    s = cohort.samples
    per_patient = s.groupby("patient_id")["label"].apply(sorted)
    paired = per_patient[per_patient.apply(len) == 2]
    single = per_patient[per_patient.apply(len) == 1]
    assert len(paired) == 20 and len(single) == 20
    assert all(labels == ["normal", "tumor"] for labels in paired)
    assert all(labels == ["tumor"] for labels in single)
    assert set(s["label"]) == {"normal", "tumor"}
    assert (s["label"] == "normal").sum() == 20
    # sample ids carry their patient
    assert all(sid.startswith(pid + "-") for sid, pid in zip(s["sample_id"], s["patient_id"]))


def test_counts_are_non_negative_integers(cohort):
    values = cohort.counts.to_numpy()
    assert np.issubdtype(values.dtype, np.integer)
    assert (values >= 0).all()
    assert values.sum(axis=0).min() > 0  # every sample has reads


def test_gene_annotation(cohort):
    g = cohort.genes
    assert list(g.columns) == ["gene_id", "gene_type", "length"]
    # 0.6 * 300 = 180 protein-coding genes, the rest from the other types
    assert (g["gene_type"] == "protein_coding").sum() == 180
    assert set(g["gene_type"]) - {"protein_coding"} <= set(GENE_TYPES_OTHER)
    assert (g["length"] >= 150).all() and (g["length"] <= 200_000).all()
    assert np.issubdtype(g["length"].dtype, np.integer)


def test_differential_genes_really_differ(cohort):
    de = list(cohort.differential_genes)
    # round(0.08 * 300) = 24 ground-truth genes, all real gene ids
    assert len(de) == 24 and set(de) <= set(cohort.genes["gene_id"])
    counts = cohort.counts.to_numpy(dtype=np.float64)
    # log2 CPM + 1, computed here independently of candle_lib.data.normalize
    log_cpm = np.log2(counts / counts.sum(axis=0, keepdims=True) * 1e6 + 1.0)
    tumor = (cohort.samples["label"] == "tumor").to_numpy()
    diff = np.abs(log_cpm[:, tumor].mean(axis=1) - log_cpm[:, ~tumor].mean(axis=1))
    is_de = cohort.genes["gene_id"].isin(de).to_numpy()
    # fold change ~1.5 log2 diluted by purity U(0.3, 1) (mean 0.65) -> ~1 log2 for DE genes;
    # non-DE genes differ only by noise.
    assert diff[is_de].mean() > 3 * diff[~is_de].mean()
    assert diff[is_de].mean() > 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="paired_fraction"):
        synthetic_nt3_cohort(n_patients=10, n_genes=20, paired_fraction=1.5)
    with pytest.raises(ValueError, match="at least"):
        synthetic_nt3_cohort(n_patients=1, n_genes=20)
