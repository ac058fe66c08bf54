"""The TC1-like and drug-response synthetic sets, and a pin on the NT3 cohort's exact output."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.synthetic import (
    TC1_TYPE_NAMES,
    synthetic_drug_response,
    synthetic_nt3_cohort,
    synthetic_tc1_cohort,
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Computed with the original synthetic_nt3_cohort before its count model was shared with the
# TC1 variant (numpy 2.4, little-endian int64). Any change here changes every NT3 result.
NT3_PINS = [
    (
        dict(seed=1),
        (2000, 600),
        "97660877e14cda69bccfd8c7acbb13405753e0e14edb159c35cae19313e424fc",
        "a3faa8cd28efe8b767576c616d2eb9bf20762ef0765c678613d4c99449fb2374",
    ),
    (
        dict(n_patients=40, n_genes=200, seed=3),
        (200, 60),
        "52c6bd3d99dfb9aab99b98c3467189e9622277037913239ef57cae66c715a198",
        "decf2d3a62e971b4ec41935711802c50aae79f964da80c56f51c3cb3868ebfe8",
    ),
]


@pytest.mark.parametrize("kwargs, shape, counts_sha, samples_sha", NT3_PINS)
def test_nt3_output_is_pinned(kwargs, shape, counts_sha, samples_sha):
    cohort = synthetic_nt3_cohort(**kwargs)
    values = cohort.counts.to_numpy()
    assert values.shape == shape and values.dtype == np.int64
    assert sha256(values.tobytes()) == counts_sha
    assert sha256(cohort.samples.to_csv(index=False).encode()) == samples_sha
    assert cohort.marker_genes == {}


# ------------------------------------------------------------------------------------------ TC1

TC1_SMALL = dict(samples_per_type=[12, 20, 8, 15, 10, 5], n_genes=400, markers_per_type=15)


@pytest.fixture(scope="module")
def tc1():
    return synthetic_tc1_cohort(**TC1_SMALL, seed=5)


def test_tc1_same_seed_identical_other_seed_differs(tc1):
    again = synthetic_tc1_cohort(**TC1_SMALL, seed=5)
    pd.testing.assert_frame_equal(tc1.counts, again.counts)
    pd.testing.assert_frame_equal(tc1.genes, again.genes)
    pd.testing.assert_frame_equal(tc1.samples, again.samples)
    assert tc1.marker_genes == again.marker_genes
    other = synthetic_tc1_cohort(**TC1_SMALL, seed=6)
    assert other.counts.shape == tc1.counts.shape
    assert not np.array_equal(other.counts.to_numpy(), tc1.counts.to_numpy())
    assert other.marker_genes != tc1.marker_genes


def test_tc1_classes_and_sizes(tc1):
    s = tc1.samples
    assert list(s.columns) == ["sample_id", "patient_id", "label"]
    assert tc1.counts.shape == (400, 70)  # 12 + 20 + 8 + 15 + 10 + 5
    assert tc1.counts.columns.tolist() == s["sample_id"].tolist()
    assert s["sample_id"].is_unique and s["patient_id"].is_unique  # one tumor per patient
    assert s["label"].value_counts().to_dict() == {"BRCA": 12, "LUAD": 20, "KIRC": 8, "COAD": 15, "PRAD": 10, "THCA": 5}
    # shuffled, not grouped by class
    first_change = (s["label"] != s["label"].iloc[0]).to_numpy().argmax()
    assert first_change < 12
    values = tc1.counts.to_numpy()
    assert np.issubdtype(values.dtype, np.integer) and (values >= 0).all()


def test_tc1_defaults_six_balanced_types():
    cohort = synthetic_tc1_cohort(samples_per_type=4, n_genes=200, markers_per_type=5, seed=0)
    assert sorted(cohort.samples["label"].value_counts().to_dict().items()) == sorted(
        (name, 4) for name in TC1_TYPE_NAMES[:6]
    )
    named = synthetic_tc1_cohort(
        n_types=3, samples_per_type=2, type_names=["a", "b", "c"], n_genes=50, markers_per_type=3
    )
    assert set(named.samples["label"]) == {"a", "b", "c"}
    many = synthetic_tc1_cohort(n_types=20, samples_per_type=1, n_genes=400, markers_per_type=5)
    assert set(many.samples["label"]) == {f"TYPE{k:02d}" for k in range(1, 21)}


def test_tc1_marker_sets_are_disjoint_and_complete(tc1):
    markers = tc1.marker_genes
    assert list(markers) == ["BRCA", "LUAD", "KIRC", "COAD", "PRAD", "THCA"]
    assert all(len(genes) == 15 for genes in markers.values())
    union = [g for genes in markers.values() for g in genes]
    assert len(set(union)) == 6 * 15  # disjoint
    assert sorted(union) == list(tc1.differential_genes)
    assert set(union) <= set(tc1.genes["gene_id"])


def test_tc1_each_type_up_regulates_its_own_markers(tc1):
    counts = tc1.counts.to_numpy(dtype=np.float64)
    # log2 CPM + 1, computed here independently of candle_lib.data.normalize
    log_cpm = np.log2(counts / counts.sum(axis=0, keepdims=True) * 1e6 + 1.0)
    labels = tc1.samples["label"].to_numpy()
    gene_row = {g: i for i, g in enumerate(tc1.genes["gene_id"])}
    types = list(tc1.marker_genes)
    # shift[m, t]: mean over type m's markers of (mean in type t samples - mean in the others)
    shift = np.empty((len(types), len(types)))
    for m, name in enumerate(types):
        rows = [gene_row[g] for g in tc1.marker_genes[name]]
        for t, other in enumerate(types):
            inside = labels == other
            shift[m, t] = (log_cpm[rows][:, inside].mean(axis=1) - log_cpm[rows][:, ~inside].mean(axis=1)).mean()
    # fold change ~2 log2 diluted by purity U(0.5, 1): the own-type shift is large and positive,
    # and every marker set is highest in its own type
    assert (np.diag(shift) > 0.8).all()
    assert (shift.argmax(axis=1) == np.arange(len(types))).all()
    off = shift[~np.eye(len(types), dtype=bool)]
    assert off.max() < 0.3


def test_tc1_bad_arguments():
    with pytest.raises(ValueError, match="n_types"):
        synthetic_tc1_cohort(n_types=1)
    with pytest.raises(ValueError, match="3 sizes for 6 types"):
        synthetic_tc1_cohort(samples_per_type=[1, 2, 3])
    with pytest.raises(ValueError, match="expressed genes"):
        synthetic_tc1_cohort(n_genes=50, markers_per_type=10)
    with pytest.raises(ValueError, match="purity_min"):
        synthetic_tc1_cohort(n_genes=50, markers_per_type=2, purity_min=2.0)
    with pytest.raises(ValueError, match="distinct"):
        synthetic_tc1_cohort(n_types=2, type_names=["a", "a"], n_genes=50, markers_per_type=2)


# ------------------------------------------------------------------------------- drug response

DRUG_SMALL = dict(n_cell_lines=12, n_drugs=9, n_genes=30, n_descriptors=6, n_fingerprint_bits=10, n_latent=3)


@pytest.fixture(scope="module")
def drugs():
    return synthetic_drug_response(**DRUG_SMALL, seed=4)


def test_drug_response_same_seed_identical_other_seed_differs(drugs):
    again = synthetic_drug_response(**DRUG_SMALL, seed=4)
    for name in ("cell_features", "drug_features", "responses", "cell_latent", "drug_latent"):
        pd.testing.assert_frame_equal(getattr(drugs, name), getattr(again, name))
    assert drugs.unprofiled_cell_lines == again.unprofiled_cell_lines
    other = synthetic_drug_response(**DRUG_SMALL, seed=5)
    assert not other.responses["growth"].equals(drugs.responses["growth"])


def test_drug_response_tables(drugs):
    cf, df, r = drugs.cell_features, drugs.drug_features, drugs.responses
    assert cf.shape == (12, 1 + 30) and list(cf.columns[:2]) == ["cell_line", "GENE0001"]
    assert df.shape == (9, 1 + 6 + 10) and list(df.columns[[0, 1, 7]]) == ["drug", "DESC0001", "FP0001"]
    assert (cf.iloc[:, 1:].dtypes == np.float32).all()
    assert set(np.unique(df.filter(like="FP").to_numpy())) <= {0, 1}
    assert cf["cell_line"].is_unique and df["drug"].is_unique
    assert list(r.columns) == ["cell_line", "drug", "dose", "growth"]
    assert set(r["dose"]) == {-8.0, -7.0, -6.0, -5.0, -4.0}
    # every measured pair has all five doses
    assert (r.groupby(["cell_line", "drug"]).size() == 5).all()
    assert r["growth"].between(-100, 100).all()
    # 2 unprofiled cell lines and 2 unprofiled drugs: in responses, absent from features
    assert len(drugs.unprofiled_cell_lines) == 2 and len(drugs.unprofiled_drugs) == 2
    assert set(drugs.unprofiled_cell_lines) <= set(r["cell_line"]) - set(cf["cell_line"])
    assert set(drugs.unprofiled_drugs) <= set(r["drug"]) - set(df["drug"])
    assert set(r["cell_line"]) - set(cf["cell_line"]) == set(drugs.unprofiled_cell_lines)
    assert len(drugs.cell_latent) == 14 and len(drugs.drug_latent) == 11


def expected_growth(data, hill=1.0):
    """The documented response function, written out independently."""
    r = data.responses
    u = data.cell_latent.loc[r["cell_line"]]
    v = data.drug_latent.loc[r["drug"]]
    factors = [c for c in data.cell_latent.columns if c.startswith("L")]
    dot = (u[factors].to_numpy() * v[factors].to_numpy()).sum(axis=1) / np.sqrt(len(factors))
    ec50 = -6.0 - (dot + v["potency"].to_numpy() - u["resistance"].to_numpy())
    return 200.0 / (1.0 + 10.0 ** (hill * (r["dose"].to_numpy() - ec50))) - 100.0


def test_drug_response_follows_the_documented_function():
    exact = synthetic_drug_response(**DRUG_SMALL, noise_sd=0.0, hill=1.5, seed=4)
    np.testing.assert_allclose(exact.responses["growth"], expected_growth(exact, hill=1.5), rtol=0, atol=1e-9)
    noisy = synthetic_drug_response(n_cell_lines=30, n_drugs=30, noise_sd=8.0, seed=2)
    residual = noisy.responses["growth"].to_numpy() - expected_growth(noisy)
    inside = np.abs(noisy.responses["growth"].to_numpy()) < 100  # not clipped
    assert abs(residual[inside].mean()) < 0.5
    assert 7.0 < residual[inside].std() < 9.0


def test_drug_response_features_carry_the_latents():
    data = synthetic_drug_response(n_cell_lines=200, n_genes=50, n_latent=3, feature_noise_sd=0.5, seed=1)
    cf = data.cell_features.set_index("cell_line")
    u = data.cell_latent.loc[cf.index, ["L1", "L2", "L3"]].to_numpy()
    x = cf.to_numpy(np.float64)
    design = np.column_stack([np.ones(len(u)), u])
    fitted, *_ = np.linalg.lstsq(design, x, rcond=None)
    residual = x - design @ fitted
    assert 0.4 < residual.std() < 0.6  # what is left is the feature noise


def test_drug_response_bad_arguments():
    with pytest.raises(ValueError, match="pair_fraction"):
        synthetic_drug_response(pair_fraction=0.0)
    with pytest.raises(ValueError, match="n_drugs"):
        synthetic_drug_response(n_drugs=0)
