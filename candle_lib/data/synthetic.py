"""A deterministic synthetic RNA-seq cohort shaped like CANDLE's NT3 task (normal vs tumor).

What is simulated, and why:
- raw integer read counts, gamma-Poisson (negative binomial) with dispersion ``dispersion``;
- per-sample library sizes, log-normal around ``library_size_median`` reads;
- a skewed (log-normal) baseline abundance per gene, a block of nearly silent genes, and reads
  proportional to gene length, so that length normalization (FPKM/TPM) matters;
- gene lengths and gene types (a ``protein_coding_fraction`` of protein-coding genes);
- patients: a ``paired_fraction`` of them give a matched normal and tumor sample, the others a
  tumor only; each patient has its own expression offset, shared by both samples of a pair, so
  a split that lets a pair straddle train and test leaks information;
- a minority of genes (``de_fraction``) differ between classes by about ``log2_fold_change``,
  diluted in each tumor by a purity drawn from U(``purity_min``, 1), so that low-purity tumors
  look like normals and the task is learnable but not trivial;
- optionally (``n_studies`` > 0) studies: each patient belongs to one of ``n_studies`` studies
  (``STUDY1``..., column ``study``), and each study shifts every gene's log expression by its
  own N(0, ``study_sd``^2) offset (a batch effect), for leave-one-group-out and transfer
  analyses. Studies are drawn from their own random stream, so with ``n_studies`` = 0 (the
  default) the cohort is exactly what it was without the option.

Two variants share the same count model:

- :func:`synthetic_tc1_cohort`, TC1-like (tumor type, several classes): one tumor per patient,
  each type up-regulating its own disjoint set of marker genes (diluted by purity);
- :func:`synthetic_drug_response`, P1B3/Uno/Combo-like: cell-line expression features, drug
  descriptors and fingerprints, and dose-response measurements (NCI60-style percent growth in
  [-100, 100]) generated from a known function of cell and drug latent factors plus noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

GENE_TYPES_OTHER = ("lncRNA", "processed_pseudogene", "misc_RNA", "snRNA")


@dataclass(frozen=True)
class SyntheticCohort:
    counts: pd.DataFrame  # genes x samples, integer read counts, index gene_id
    genes: pd.DataFrame  # gene_id, gene_type, length
    samples: pd.DataFrame  # sample_id, patient_id, label
    differential_genes: tuple[str, ...]  # ground truth, for tests and analysis
    # TC1 variant: class label -> its marker genes (ground truth); empty for NT3
    marker_genes: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _gene_model(rng: np.random.Generator, n_genes: int, protein_coding_fraction: float, silent_fraction: float):
    """Gene ids, types, lengths, and a skewed log baseline abundance with a silent block."""
    gene_ids = np.array([f"SYNG{i:06d}" for i in range(1, n_genes + 1)])
    n_pc = int(round(protein_coding_fraction * n_genes))
    gene_type = np.array(["protein_coding"] * n_pc + list(rng.choice(GENE_TYPES_OTHER, n_genes - n_pc)))
    rng.shuffle(gene_type)
    length = np.clip(rng.lognormal(np.log(2500.0), 0.8, n_genes), 150, 200_000).astype(np.int64)

    log_abundance = rng.normal(0.0, 1.3, n_genes)
    silent = rng.random(n_genes) < silent_fraction
    log_abundance[silent] -= 9.0
    return gene_ids, gene_type, length, log_abundance, silent


def _read_counts(
    rng: np.random.Generator, log_expr: np.ndarray, library_size_median: float, dispersion: float
) -> np.ndarray:
    """Samples x genes integer read counts: gamma-Poisson around ``exp(log_expr)`` scaled to a
    log-normal library size per sample."""
    rate = np.exp(log_expr - log_expr.max(axis=1, keepdims=True))
    rate /= rate.sum(axis=1, keepdims=True)
    library = rng.lognormal(np.log(library_size_median), 0.35, log_expr.shape[0])
    mu = rate * library[:, None]
    shape = 1.0 / dispersion
    lam = rng.gamma(shape, mu * dispersion)
    return rng.poisson(lam).astype(np.int64)


def _check_fractions(**values: float) -> None:
    for name, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value}")


def _studies(seed: int, n_studies: int, study_sd: float, n_patients: int, n_genes: int):
    """Each patient's study index and each study's per-gene log-expression offset, from a stream
    of their own (``[seed, 11]``), so that adding studies leaves the other draws unchanged."""
    if n_studies < 0 or study_sd < 0:
        raise ValueError(f"n_studies and study_sd cannot be negative, got {n_studies} and {study_sd}")
    if n_studies > n_patients:
        raise ValueError(f"{n_studies} studies need at least as many patients, got {n_patients}")
    rng = np.random.default_rng([int(seed), 11])
    study_of = rng.integers(0, n_studies, n_patients)
    study_of[rng.permutation(n_patients)[:n_studies]] = np.arange(n_studies)  # no study is empty
    return study_of, rng.normal(0.0, study_sd, (n_studies, n_genes))


def _with_studies(samples: pd.DataFrame, study_of_sample: np.ndarray) -> pd.DataFrame:
    return samples.assign(study=[f"STUDY{k + 1}" for k in study_of_sample])


def synthetic_nt3_cohort(
    *,
    n_patients: int = 400,
    paired_fraction: float = 0.5,
    n_genes: int = 2000,
    protein_coding_fraction: float = 0.6,
    silent_fraction: float = 0.1,
    de_fraction: float = 0.08,
    log2_fold_change: float = 1.5,
    purity_min: float = 0.3,
    patient_sd: float = 0.3,
    dispersion: float = 0.15,
    library_size_median: float = 2.0e7,
    n_studies: int = 0,
    study_sd: float = 0.5,
    seed: int = 0,
) -> SyntheticCohort:
    """Generate the cohort. The same arguments always give the same cohort. ``n_studies`` > 0
    adds the ``study`` column and its batch effect (module docstring)."""
    if n_patients < 2 or n_genes < 10:
        raise ValueError("need at least 2 patients and 10 genes")
    for name, value in (
        ("paired_fraction", paired_fraction),
        ("protein_coding_fraction", protein_coding_fraction),
        ("silent_fraction", silent_fraction),
        ("de_fraction", de_fraction),
        ("purity_min", purity_min),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value}")
    rng = np.random.default_rng(seed)

    gene_ids, gene_type, length, log_abundance, silent = _gene_model(
        rng, n_genes, protein_coding_fraction, silent_fraction
    )

    n_de = max(1, int(round(de_fraction * n_genes)))
    de_index = rng.choice(np.flatnonzero(~silent), size=n_de, replace=False)
    lfc = np.zeros(n_genes)
    lfc[de_index] = rng.choice([-1.0, 1.0], n_de) * rng.normal(log2_fold_change, 0.25 * log2_fold_change, n_de)

    n_paired = int(round(paired_fraction * n_patients))
    sample_ids, patient_of, is_tumor = [], [], []
    for p in range(n_patients):
        pid = f"P{p + 1:04d}"
        if p < n_paired:
            sample_ids += [f"{pid}-N", f"{pid}-T"]
            patient_of += [p, p]
            is_tumor += [False, True]
        else:
            sample_ids.append(f"{pid}-T")
            patient_of.append(p)
            is_tumor.append(True)
    patient_of = np.array(patient_of)
    is_tumor = np.array(is_tumor)
    n_samples = len(sample_ids)

    patient_offset = rng.normal(0.0, patient_sd, (n_patients, n_genes))
    purity = np.where(is_tumor, rng.uniform(purity_min, 1.0, n_samples), 0.0)
    log_expr = (
        log_abundance[None, :]
        + patient_offset[patient_of]
        + np.log(2.0) * purity[:, None] * lfc[None, :]
        + np.log(length)[None, :]
    )
    if n_studies:
        study_of, study_offset = _studies(seed, n_studies, study_sd, n_patients, n_genes)
        log_expr += study_offset[study_of[patient_of]]
    counts = _read_counts(rng, log_expr, library_size_median, dispersion)

    counts_df = pd.DataFrame(counts.T, index=pd.Index(gene_ids, name="gene_id"), columns=sample_ids)
    genes = pd.DataFrame({"gene_id": gene_ids, "gene_type": gene_type, "length": length})
    samples = pd.DataFrame(
        {
            "sample_id": sample_ids,
            "patient_id": [f"P{p + 1:04d}" for p in patient_of],
            "label": np.where(is_tumor, "tumor", "normal"),
        }
    )
    if n_studies:
        samples = _with_studies(samples, study_of[patient_of])
    return SyntheticCohort(counts_df, genes, samples, tuple(gene_ids[np.sort(de_index)]))


# TCGA project codes, used as TC1 class names (TC1 has 18 tumor types).
TC1_TYPE_NAMES = (
    "BRCA",
    "LUAD",
    "KIRC",
    "COAD",
    "PRAD",
    "THCA",
    "LUSC",
    "HNSC",
    "UCEC",
    "LGG",
    "SKCM",
    "STAD",
    "BLCA",
    "LIHC",
    "OV",
    "CESC",
    "KIRP",
    "SARC",
)


def synthetic_tc1_cohort(
    *,
    n_types: int = 6,
    samples_per_type: int | Sequence[int] = 100,
    type_names: Sequence[str] | None = None,
    n_genes: int = 2000,
    markers_per_type: int = 20,
    log2_fold_change: float = 2.0,
    protein_coding_fraction: float = 0.6,
    silent_fraction: float = 0.1,
    purity_min: float = 0.5,
    patient_sd: float = 0.3,
    dispersion: float = 0.15,
    library_size_median: float = 2.0e7,
    n_studies: int = 0,
    study_sd: float = 0.5,
    seed: int = 0,
) -> SyntheticCohort:
    """A TC1-like cohort: one tumor sample per patient, labelled by tumor type.

    ``samples_per_type`` is one size for every type or one size per type (unbalanced classes).
    Class names are ``type_names``, else the first ``n_types`` of :data:`TC1_TYPE_NAMES` (or
    ``TYPE01``... beyond 18). Each type up-regulates its own ``markers_per_type`` genes (disjoint
    between types, never silent genes) by about ``log2_fold_change``, diluted by a purity drawn
    from U(``purity_min``, 1). Samples come in a random order (not grouped by type); sample ids are
    ``P00001-T``..., patient ids ``P00001``.... ``differential_genes`` is the union of all markers,
    ``marker_genes`` the markers of each type. The same arguments always give the same cohort.
    ``n_studies`` > 0 adds the ``study`` column and its batch effect (module docstring).
    """
    if n_types < 2:
        raise ValueError(f"n_types must be at least 2, got {n_types}")
    if n_genes < 10:
        raise ValueError("need at least 10 genes")
    if isinstance(samples_per_type, (int, np.integer)):
        sizes = [int(samples_per_type)] * n_types
    else:
        sizes = [int(n) for n in samples_per_type]
        if len(sizes) != n_types:
            raise ValueError(f"samples_per_type has {len(sizes)} sizes for {n_types} types")
    if min(sizes) < 1:
        raise ValueError(f"every type needs at least 1 sample, got samples_per_type={samples_per_type}")
    if type_names is None:
        names = (
            list(TC1_TYPE_NAMES[:n_types])
            if n_types <= len(TC1_TYPE_NAMES)
            else [f"TYPE{k + 1:02d}" for k in range(n_types)]
        )
    else:
        names = [str(n) for n in type_names]
        if len(names) != n_types or len(set(names)) != n_types:
            raise ValueError(f"type_names must be {n_types} distinct names, got {names}")
    if markers_per_type < 1:
        raise ValueError(f"markers_per_type must be at least 1, got {markers_per_type}")
    _check_fractions(
        protein_coding_fraction=protein_coding_fraction, silent_fraction=silent_fraction, purity_min=purity_min
    )
    rng = np.random.default_rng(seed)

    gene_ids, gene_type, length, log_abundance, silent = _gene_model(
        rng, n_genes, protein_coding_fraction, silent_fraction
    )
    expressed = np.flatnonzero(~silent)
    if n_types * markers_per_type > expressed.size:
        raise ValueError(
            f"{n_types} types x {markers_per_type} markers need {n_types * markers_per_type} expressed genes; "
            f"only {expressed.size} of {n_genes} are not silent"
        )
    marker_index = rng.choice(expressed, size=(n_types, markers_per_type), replace=False)
    lfc = np.zeros((n_types, n_genes))
    effect = np.abs(rng.normal(log2_fold_change, 0.25 * log2_fold_change, (n_types, markers_per_type)))
    np.put_along_axis(lfc, marker_index, effect, axis=1)

    type_of = rng.permutation(np.repeat(np.arange(n_types), sizes))
    n_samples = type_of.size
    patient_offset = rng.normal(0.0, patient_sd, (n_samples, n_genes))
    purity = rng.uniform(purity_min, 1.0, n_samples)
    log_expr = (
        log_abundance[None, :] + patient_offset + np.log(2.0) * purity[:, None] * lfc[type_of] + np.log(length)[None, :]
    )
    if n_studies:
        study_of, study_offset = _studies(seed, n_studies, study_sd, n_samples, n_genes)
        log_expr += study_offset[study_of]
    counts = _read_counts(rng, log_expr, library_size_median, dispersion)

    patient_ids = [f"P{p + 1:05d}" for p in range(n_samples)]
    sample_ids = [f"{pid}-T" for pid in patient_ids]
    counts_df = pd.DataFrame(counts.T, index=pd.Index(gene_ids, name="gene_id"), columns=sample_ids)
    genes = pd.DataFrame({"gene_id": gene_ids, "gene_type": gene_type, "length": length})
    samples = pd.DataFrame(
        {"sample_id": sample_ids, "patient_id": patient_ids, "label": np.asarray(names, dtype=object)[type_of]}
    )
    if n_studies:
        samples = _with_studies(samples, study_of)
    markers = {names[k]: tuple(str(g) for g in gene_ids[np.sort(marker_index[k])]) for k in range(n_types)}
    differential = tuple(str(g) for g in gene_ids[np.sort(marker_index.ravel())])
    return SyntheticCohort(counts_df, genes, samples, differential, markers)


@dataclass(frozen=True)
class SyntheticDrugResponse:
    cell_features: pd.DataFrame  # cell_line, then expression columns GENE0001... (float32)
    drug_features: pd.DataFrame  # drug, then descriptors DESC0001... (float32) and fingerprint bits FP0001... (uint8)
    responses: pd.DataFrame  # cell_line, drug, dose (log10 molar), growth (percent, [-100, 100])
    cell_latent: pd.DataFrame  # ground truth, index cell_line (all, profiled or not): L1..Lk, resistance
    drug_latent: pd.DataFrame  # ground truth, index drug (all): L1..Lk, potency
    unprofiled_cell_lines: tuple[str, ...]  # in responses, absent from cell_features
    unprofiled_drugs: tuple[str, ...]  # in responses, absent from drug_features


def growth_curve(dose, log10_ec50, hill: float = 1.0):
    """Percent growth at ``dose`` (log10 molar): 100 far below the EC50, 0 at it (total growth
    inhibition), -100 far above it (all cells killed), as in NCI60's percent-growth scale."""
    return -100.0 + 200.0 / (1.0 + 10.0 ** (hill * (np.asarray(dose) - np.asarray(log10_ec50))))


def synthetic_drug_response(
    *,
    n_cell_lines: int = 60,
    n_drugs: int = 50,
    n_genes: int = 200,
    n_descriptors: int = 32,
    n_fingerprint_bits: int = 64,
    n_latent: int = 4,
    doses: Sequence[float] = (-8.0, -7.0, -6.0, -5.0, -4.0),
    pair_fraction: float = 0.7,
    n_unprofiled_cell_lines: int = 2,
    n_unprofiled_drugs: int = 2,
    hill: float = 1.0,
    noise_sd: float = 8.0,
    feature_noise_sd: float = 0.5,
    seed: int = 0,
) -> SyntheticDrugResponse:
    """A small P1B3/Uno/Combo-style drug-response set. The same arguments always give the same set.

    Every cell line c has latent factors u_c ~ N(0, I_k) and a resistance r_c ~ N(0, 0.5^2);
    every drug d has v_d ~ N(0, I_k) and a potency p_d ~ N(0, 0.7^2). The response to drug d
    at dose x (log10 molar, one of ``doses``) is

        log10_ec50 = -6 - (u_c . v_d / sqrt(k) + p_d - r_c)
        growth     = clip(growth_curve(x, log10_ec50, hill) + N(0, noise_sd^2), -100, 100)

    Features are noisy linear views of the latents: expression ``GENEnnnn`` = gene baseline
    U(2, 10) + u_c @ A + N(0, feature_noise_sd^2); descriptors ``DESCnnnn`` = v_d @ B + noise;
    fingerprint bits ``FPnnnn`` = 1 where v_d @ C + noise > 0.5. Each (cell line, drug) pair is
    measured at every dose with probability ``pair_fraction``.

    ``n_unprofiled_cell_lines`` of the ``n_cell_lines + n_unprofiled_cell_lines`` cell lines (and
    likewise for drugs), chosen at random, have responses but no feature rows, as in real
    collections where a screen covers lines or compounds without profiles.
    """
    for name, value in (
        ("n_cell_lines", n_cell_lines),
        ("n_drugs", n_drugs),
        ("n_genes", n_genes),
        ("n_latent", n_latent),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if n_unprofiled_cell_lines < 0 or n_unprofiled_drugs < 0 or n_descriptors < 0 or n_fingerprint_bits < 0:
        raise ValueError("counts of unprofiled cell lines/drugs, descriptors and fingerprint bits cannot be negative")
    if n_descriptors + n_fingerprint_bits < 1:
        raise ValueError("drugs need at least one descriptor or fingerprint bit")
    if not 0.0 < pair_fraction <= 1.0:
        raise ValueError(f"pair_fraction must lie in (0, 1], got {pair_fraction}")
    doses = np.asarray(doses, dtype=np.float64)
    if doses.ndim != 1 or doses.size < 1:
        raise ValueError("doses must be a non-empty list of log10 molar concentrations")
    rng = np.random.default_rng(seed)
    k = n_latent
    n_cells_all = n_cell_lines + n_unprofiled_cell_lines
    n_drugs_all = n_drugs + n_unprofiled_drugs
    cell_ids = np.array([f"CL{i:04d}" for i in range(1, n_cells_all + 1)], dtype=object)
    drug_ids = np.array([f"NSC{i:06d}" for i in range(1, n_drugs_all + 1)], dtype=object)

    u = rng.normal(0.0, 1.0, (n_cells_all, k))
    resistance = rng.normal(0.0, 0.5, n_cells_all)
    v = rng.normal(0.0, 1.0, (n_drugs_all, k))
    potency = rng.normal(0.0, 0.7, n_drugs_all)

    baseline = rng.uniform(2.0, 10.0, n_genes)
    a = rng.normal(0.0, 1.0, (k, n_genes))
    expression = baseline[None, :] + u @ a + rng.normal(0.0, feature_noise_sd, (n_cells_all, n_genes))
    b = rng.normal(0.0, 1.0, (k, n_descriptors))
    descriptors = v @ b + rng.normal(0.0, feature_noise_sd, (n_drugs_all, n_descriptors))
    c = rng.normal(0.0, 1.0, (k, n_fingerprint_bits))
    bits = (v @ c + rng.normal(0.0, feature_noise_sd, (n_drugs_all, n_fingerprint_bits)) > 0.5).astype(np.uint8)

    unprofiled_cells = np.sort(rng.choice(n_cells_all, n_unprofiled_cell_lines, replace=False))
    unprofiled_drugs = np.sort(rng.choice(n_drugs_all, n_unprofiled_drugs, replace=False))
    profiled_cells = np.setdiff1d(np.arange(n_cells_all), unprofiled_cells)
    profiled_drugs = np.setdiff1d(np.arange(n_drugs_all), unprofiled_drugs)

    measured = rng.random((n_cells_all, n_drugs_all)) < pair_fraction
    pair_cell, pair_drug = np.nonzero(measured)  # row-major: sorted by cell, then drug
    sensitivity = (
        np.einsum("ij,ij->i", u[pair_cell], v[pair_drug]) / np.sqrt(k) + potency[pair_drug] - resistance[pair_cell]
    )
    log10_ec50 = -6.0 - sensitivity
    resp_cell = np.repeat(pair_cell, doses.size)
    resp_drug = np.repeat(pair_drug, doses.size)
    resp_dose = np.tile(doses, pair_cell.size)
    growth = growth_curve(resp_dose, np.repeat(log10_ec50, doses.size), hill)
    growth = np.clip(growth + rng.normal(0.0, noise_sd, growth.size), -100.0, 100.0)

    gene_columns = [f"GENE{j:04d}" for j in range(1, n_genes + 1)]
    cell_features = pd.DataFrame(expression[profiled_cells].astype(np.float32), columns=gene_columns)
    cell_features.insert(0, "cell_line", cell_ids[profiled_cells])
    drug_features = pd.concat(
        [
            pd.DataFrame({"drug": drug_ids[profiled_drugs]}),
            pd.DataFrame(
                descriptors[profiled_drugs].astype(np.float32),
                columns=[f"DESC{j:04d}" for j in range(1, n_descriptors + 1)],
            ),
            pd.DataFrame(bits[profiled_drugs], columns=[f"FP{j:04d}" for j in range(1, n_fingerprint_bits + 1)]),
        ],
        axis=1,
    )
    responses = pd.DataFrame(
        {"cell_line": cell_ids[resp_cell], "drug": drug_ids[resp_drug], "dose": resp_dose, "growth": growth}
    )
    latent_columns = [f"L{j}" for j in range(1, k + 1)]
    cell_latent = pd.DataFrame(u, index=pd.Index(cell_ids, name="cell_line"), columns=latent_columns)
    cell_latent["resistance"] = resistance
    drug_latent = pd.DataFrame(v, index=pd.Index(drug_ids, name="drug"), columns=latent_columns)
    drug_latent["potency"] = potency
    return SyntheticDrugResponse(
        cell_features,
        drug_features,
        responses,
        cell_latent,
        drug_latent,
        tuple(cell_ids[unprofiled_cells]),
        tuple(drug_ids[unprofiled_drugs]),
    )
